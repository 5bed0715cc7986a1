"""Import other people's recordings (generic CSV with declared units) into a stridecue session.

Accepted CSV: a ``time_s`` column (seconds, strictly increasing) and any of ``acc_x, acc_y,
acc_z, gyr_x, gyr_y, gyr_z, mag_x, mag_y, mag_z``. Accelerometer units are declared with
``acc_unit`` (``mps2`` default, or ``g``), gyroscope units with ``gyr_unit`` (``radps`` default,
or ``dps``); magnetometer values are taken as microtesla. Missing axes become NaN columns with a
warning (the analysis reports what it can). Unknown columns, a non-increasing time, or values that
contradict the declared unit raise :class:`stridecue.errors.InputError` with a one-line fix.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recordings.session import SensorInfo, Session, SessionWriter, copy_source_files
from stridecue import constants as c
from stridecue.errors import InputError

logger = logging.getLogger(__name__)

ACC_AXES = ("acc_x", "acc_y", "acc_z")
GYR_AXES = ("gyr_x", "gyr_y", "gyr_z")
MAG_AXES = ("mag_x", "mag_y", "mag_z")
KNOWN_COLUMNS = (c.TIME_S, *ACC_AXES, *GYR_AXES, *MAG_AXES)
ACC_UNITS = {"mps2": 1.0, "g": c.GRAVITY_MPS2}
GYR_UNITS = {"radps": 1.0, "dps": np.pi / 180.0}


class ImportWarning(UserWarning):
    """An imported file is usable but incomplete (missing axes, irregular sampling)."""


@dataclass(frozen=True)
class ImportUnits:
    """Declared units of the CSV columns."""

    acc_unit: str = "mps2"
    gyr_unit: str = "radps"

    def __post_init__(self) -> None:
        if self.acc_unit not in ACC_UNITS:
            raise InputError(f"unknown accelerometer unit {self.acc_unit!r}: use mps2 or g")
        if self.gyr_unit not in GYR_UNITS:
            raise InputError(f"unknown gyroscope unit {self.gyr_unit!r}: use radps or dps")


def read_imu_csv(path: Path, units: ImportUnits) -> pd.DataFrame:
    """Read one CSV into a sample table (``SAMPLE_COLUMNS``, SI units), validating it.

    Raises
    ------
    InputError
        With a one-line message saying what is wrong and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path.name}: not a readable CSV ({first}): export it as plain CSV") from exc
    raw.columns = [str(col).strip() for col in raw.columns]
    unknown = [col for col in raw.columns if col not in KNOWN_COLUMNS]
    if unknown:
        raise InputError(
            f"{path.name}: unknown column(s) {', '.join(unknown)}: rename them to time_s, "
            "acc_x/y/z, gyr_x/y/z or mag_x/y/z (units go in --acc-unit/--gyr-unit), or drop them"
        )
    if c.TIME_S not in raw.columns:
        raise InputError(f"{path.name}: no time_s column: add the sample time in seconds as time_s")
    acc_present = [a for a in ACC_AXES if a in raw.columns]
    if not acc_present:
        raise InputError(f"{path.name}: no accelerometer column: at least one of acc_x/y/z is needed")
    if len(raw) < 10:
        raise InputError(f"{path.name}: only {len(raw)} rows: a recording needs at least a few seconds")
    numeric = raw.apply(pd.to_numeric, errors="coerce")
    bad = [col for col in raw.columns if numeric[col].isna().sum() > raw[col].isna().sum()]
    if bad:
        row = int(np.flatnonzero(numeric[bad[0]].isna() & raw[bad[0]].notna())[0]) + 2
        raise InputError(
            f"{path.name}: non-numeric value in column {bad[0]} (line {row}): fix or remove that row"
        )
    t = numeric[c.TIME_S].to_numpy(float)
    if np.isnan(t).any():
        line = int(np.flatnonzero(np.isnan(t))[0]) + 2
        raise InputError(f"{path.name}: empty time_s at line {line}: every row needs a time")
    dt = np.diff(t)
    if (dt <= 0).any():
        line = int(np.flatnonzero(dt <= 0)[0]) + 3
        raise InputError(
            f"{path.name}: time_s does not increase at line {line}: sort the rows by time "
            "and remove duplicates"
        )
    median_dt = float(np.median(dt))
    if np.mean(np.abs(dt - median_dt) > 0.1 * median_dt) > 0.05:
        warnings.warn(
            f"{path.name}: irregular sampling (more than 5 % of intervals differ from the median "
            f"{median_dt * 1000:.2f} ms by >10 %)",
            ImportWarning,
            stacklevel=2,
        )

    table = pd.DataFrame(index=range(len(t)))
    table[c.TIME_S] = t
    table[c.SENSOR_TIME_S] = t
    acc_scale = ACC_UNITS[units.acc_unit]
    gyr_scale = GYR_UNITS[units.gyr_unit]
    for src, dst in zip(ACC_AXES, c.ACC_MPS2, strict=True):
        table[dst] = numeric[src].to_numpy(float) * acc_scale if src in raw else np.nan
    for src, dst in zip(GYR_AXES, c.GYR_RADPS, strict=True):
        table[dst] = numeric[src].to_numpy(float) * gyr_scale if src in raw else np.nan
    for src, dst in zip(MAG_AXES, c.MAG_UT, strict=True):
        table[dst] = numeric[src].to_numpy(float) if src in raw else np.nan

    _check_units(path.name, table, units, acc_present, [g for g in GYR_AXES if g in raw])
    missing = [a for a in ACC_AXES if a not in raw.columns]
    if missing:
        warnings.warn(
            f"{path.name}: only {', '.join(acc_present)} present; measures that need "
            f"{', '.join(missing)} will be empty",
            ImportWarning,
            stacklevel=2,
        )
    gyr_present = [g for g in GYR_AXES if g in raw.columns]
    if not gyr_present:
        warnings.warn(
            f"{path.name}: no gyroscope: pelvis and thigh angles will be empty",
            ImportWarning,
            stacklevel=2,
        )
    elif len(gyr_present) < 3:
        warnings.warn(
            f"{path.name}: gyroscope incomplete ({', '.join(gyr_present)}): orientation and angles "
            "will be empty",
            ImportWarning,
            stacklevel=2,
        )
    return table


def _check_units(
    name: str, table: pd.DataFrame, units: ImportUnits, acc_present: list[str], gyr_present: list[str]
) -> None:
    """Reject values that contradict the declared units (gravity of 1 where m/s^2 was declared)."""
    cols = [c.ACC_MPS2[ACC_AXES.index(a)] for a in acc_present]
    norm = np.sqrt(np.nansum(table[cols].to_numpy() ** 2, axis=1))
    # The mean specific force over a recording is gravity; its norm is robust to movement.
    mean_vec = np.nanmean(table[cols].to_numpy(), axis=0)
    gravity_like = float(np.linalg.norm(mean_vec)) if len(acc_present) > 1 else float(np.nanmedian(norm))
    if len(acc_present) >= 2:
        if units.acc_unit == "mps2" and 0.4 < gravity_like < 2.5:
            raise InputError(
                f"{name}: gravity reads {gravity_like:.2f} but m/s^2 was declared: the file is in g, "
                "pass --acc-unit g"
            )
        if units.acc_unit == "g" and 4 * c.GRAVITY_MPS2 < gravity_like < 25 * c.GRAVITY_MPS2:
            raise InputError(
                f"{name}: gravity reads {gravity_like / c.GRAVITY_MPS2:.1f} g but g was declared: "
                "the file is in m/s^2, pass --acc-unit mps2"
            )
    if gyr_present:
        gcols = [c.GYR_RADPS[GYR_AXES.index(g)] for g in gyr_present]
        p99 = float(np.nanpercentile(np.abs(table[gcols].to_numpy()), 99))
        if units.gyr_unit == "radps" and p99 > 40.0:
            raise InputError(
                f"{name}: gyroscope reaches {p99:.0f} rad/s, which no body segment does: the file "
                "is in degrees per second, pass --gyr-unit dps"
            )


def import_csv_session(
    files: Mapping[str, Path],
    out: Path,
    *,
    units: ImportUnits,
    athlete: Mapping[str, object] | None = None,
) -> Session:
    """Import CSV files (one per placement) into a new session folder.

    Parameters
    ----------
    files
        Placement (``sacrum``, ``thigh_left``, ``thigh_right``) to CSV path; ``sacrum`` required.
    out
        The session folder to create (must not exist or be empty).
    units
        Declared units of the CSVs.
    athlete
        Athlete settings to store (``height_m``, ``sensor_height_m``, ...).
    """
    if c.SACRUM not in files:
        raise InputError("no sacrum file: pass --sacrum FILE (the thigh files are optional)")
    tables = {placement: read_imu_csv(Path(f), units) for placement, f in files.items()}
    sensors = []
    for placement, table in tables.items():
        rate = 1.0 / float(np.median(np.diff(table[c.TIME_S].to_numpy())))
        sensors.append(
            SensorInfo(
                placement=placement,
                protocol="import",
                name=Path(files[placement]).name,
                sampling_rate_hz=round(rate, 6),
            )
        )
    writer = SessionWriter(
        Path(out),
        sensors=sensors,
        source="import",
        athlete=athlete,
        extra_meta={"import": {"acc_unit": units.acc_unit, "gyr_unit": units.gyr_unit}},
        raw_log=False,
    )
    with writer:
        stored = copy_source_files(writer.path, files)
        writer.update_meta(import_files=stored)
        for placement, table in tables.items():
            writer.write_samples(placement, table)
    return writer.finalize()
