"""Import other people's recordings (generic CSV with declared units) into a stridecue session.

Accepted CSV: a ``time_s`` column (seconds, strictly increasing) and measurement columns named
``QUANTITY_AXIS`` or ``QUANTITY_AXIS_UNIT``:

- quantity ``acc`` (specific force, gravity included), ``gyr`` (angular rate) or ``mag``;
- axis ``x``, ``y``, ``z`` (the sensor's own axes, mounted in any orientation) or ``ap``, ``ml``,
  ``vertical`` (axes already aligned with the body by whoever made the recording: forward, to
  the wearer's left, up); one file uses one kind;
- unit, optional: ``mps2`` or ``g`` for acc, ``radps`` or ``dps`` for gyr, ``ut`` for mag. A unit
  in the name is the unit; without one, ``acc_unit`` / ``gyr_unit`` (``--acc-unit``/
  ``--gyr-unit``) say it, else m/s^2 and rad/s. A name and a flag that disagree are an error.

So ``acc_x, acc_y, acc_z, gyr_x, gyr_y, gyr_z`` (m/s^2, rad/s) and ``acc_vertical_g, acc_ap_g``
(two body axes in g, no gyroscope) are both complete headers. Body axes are stored as x = ap,
y = ml, z = vertical with the sensor marked ``axes="anatomical"``, so that an
accelerometer-only sacrum still gives the analysis its vertical and forward signals. Missing axes
become NaN columns with a warning (the analysis reports what it can). Unknown columns, a
non-increasing time, or values that contradict the units raise
:class:`stridecue.errors.InputError` with a one-line fix.
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

#: Axis names of the two kinds of axes, in stored order (x, y, z).
AXES = {"sensor": ("x", "y", "z"), "anatomical": ("ap", "ml", "vertical")}
#: Stored columns per quantity, in axis order.
STORED = {"acc": c.ACC_MPS2, "gyr": c.GYR_RADPS, "mag": c.MAG_UT}
ACC_UNITS = {"mps2": 1.0, "g": c.GRAVITY_MPS2}
GYR_UNITS = {"radps": 1.0, "dps": np.pi / 180.0}
UNITS = {"acc": ACC_UNITS, "gyr": GYR_UNITS, "mag": {"ut": 1.0}}
DEFAULT_UNIT = {"acc": "mps2", "gyr": "radps", "mag": "ut"}
FLAG = {"acc": "--acc-unit", "gyr": "--gyr-unit"}


class ImportWarning(UserWarning):
    """An imported file is usable but incomplete (missing axes, irregular sampling)."""


@dataclass(frozen=True)
class ImportUnits:
    """Units declared for the CSV columns that do not name theirs (None: not declared)."""

    acc_unit: str | None = None
    gyr_unit: str | None = None

    def __post_init__(self) -> None:
        if self.acc_unit is not None and self.acc_unit not in ACC_UNITS:
            raise InputError(f"unknown accelerometer unit {self.acc_unit!r}: use mps2 or g")
        if self.gyr_unit is not None and self.gyr_unit not in GYR_UNITS:
            raise InputError(f"unknown gyroscope unit {self.gyr_unit!r}: use radps or dps")


@dataclass(frozen=True)
class ImportedFile:
    """One CSV read into a sample table (``SAMPLE_COLUMNS``, SI units) and what its header said."""

    table: pd.DataFrame
    axes: str  # "sensor" or "anatomical" (see the module docs)
    acc_unit: str
    gyr_unit: str | None  # None: no gyroscope column


@dataclass(frozen=True)
class _Column:
    quantity: str  # acc | gyr | mag
    axes: str  # sensor | anatomical
    index: int  # 0, 1, 2: stored x, y, z
    unit: str | None  # from the name, or None


def parse_column(name: str) -> _Column | None:
    """What a measurement column's name says (None: not a measurement column we know)."""
    quantity, _, rest = name.partition("_")
    if quantity not in STORED or not rest:
        return None
    for axes, names in AXES.items():
        for index, axis in enumerate(names):
            if rest == axis:
                return _Column(quantity, axes, index, None)
            if rest.startswith(axis + "_") and rest[len(axis) + 1 :] in UNITS[quantity]:
                return _Column(quantity, axes, index, rest[len(axis) + 1 :])
    return None


def _header(
    name: str, columns: list[str], units: ImportUnits
) -> tuple[dict[str, _Column], str, dict[str, str]]:
    """Parse and check a header: its measurement columns, their kind of axes and units."""
    parsed = {col: parse_column(col) for col in columns if col != c.TIME_S}
    unknown = [col for col, spec in parsed.items() if spec is None]
    if unknown:
        raise InputError(
            f"{name}: unknown column(s) {', '.join(unknown)}: name them time_s and acc/gyr/mag "
            "with _x/_y/_z (sensor axes) or _ap/_ml/_vertical (body axes), optionally with a "
            "unit (acc_x_g, gyr_z_dps), or drop them"
        )
    specs: dict[str, _Column] = {col: spec for col, spec in parsed.items() if spec is not None}
    kinds = sorted({spec.axes for spec in specs.values()})
    if len(kinds) > 1:
        raise InputError(
            f"{name}: mixes sensor axes (_x/_y/_z) and body axes (_ap/_ml/_vertical): a file "
            "must use one kind; rename the columns"
        )
    seen: dict[tuple[str, int], str] = {}
    for col, spec in specs.items():
        key = (spec.quantity, spec.index)
        if key in seen:
            raise InputError(f"{name}: columns {seen[key]} and {col} are the same axis: keep one")
        seen[key] = col
    resolved: dict[str, str] = {}
    for quantity in STORED:
        named = sorted({s.unit for s in specs.values() if s.quantity == quantity and s.unit})
        declared = getattr(units, f"{quantity}_unit", None)
        if len(named) > 1:
            raise InputError(f"{name}: the {quantity} columns name different units "
                             f"({', '.join(named)}): give them one unit")
        if named and declared is not None and named[0] != declared:
            raise InputError(
                f"{name}: the column names say {quantity} in {named[0]} but {FLAG[quantity]} "
                f"{declared} was given: drop {FLAG[quantity]} or rename the columns"
            )
        resolved[quantity] = named[0] if named else declared or DEFAULT_UNIT[quantity]
    return specs, kinds[0] if kinds else "sensor", resolved


def read_imu_csv(path: Path, units: ImportUnits) -> ImportedFile:
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
    specs, axes, unit = _header(path.name, list(raw.columns), units)
    if c.TIME_S not in raw.columns:
        raise InputError(f"{path.name}: no time_s column: add the sample time in seconds as time_s")
    names = AXES[axes]
    present = {q: [s.index for s in specs.values() if s.quantity == q] for q in STORED}
    if not present["acc"]:
        raise InputError(
            f"{path.name}: no accelerometer column: at least one of "
            f"{', '.join('acc_' + n for n in names)} is needed"
        )
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
    for stored in STORED.values():
        for dst in stored:
            table[dst] = np.nan
    for col, spec in specs.items():
        scale = UNITS[spec.quantity][unit[spec.quantity]]
        table[STORED[spec.quantity][spec.index]] = numeric[col].to_numpy(float) * scale
    table = table[list(c.SAMPLE_COLUMNS)]

    _check_units(path.name, table, unit, present["acc"], present["gyr"])
    missing = [i for i in range(3) if i not in present["acc"]]
    if missing:
        warnings.warn(
            f"{path.name}: only {', '.join('acc_' + names[i] for i in sorted(present['acc']))} "
            f"present; measures that need {', '.join('acc_' + names[i] for i in missing)} will be "
            "empty",
            ImportWarning,
            stacklevel=2,
        )
    if not present["gyr"]:
        warnings.warn(
            f"{path.name}: no gyroscope: pelvis and thigh angles will be empty",
            ImportWarning,
            stacklevel=2,
        )
    elif len(present["gyr"]) < 3:
        warnings.warn(
            f"{path.name}: gyroscope incomplete "
            f"({', '.join('gyr_' + names[i] for i in sorted(present['gyr']))}): orientation and "
            "angles will be empty",
            ImportWarning,
            stacklevel=2,
        )
    return ImportedFile(table=table, axes=axes, acc_unit=unit["acc"],
                        gyr_unit=unit["gyr"] if present["gyr"] else None)


def _check_units(
    name: str, table: pd.DataFrame, unit: Mapping[str, str], acc_present: list[int],
    gyr_present: list[int],
) -> None:
    """Reject values that contradict the units (gravity of 1 where m/s^2 was declared)."""
    cols = [c.ACC_MPS2[i] for i in acc_present]
    norm = np.sqrt(np.nansum(table[cols].to_numpy() ** 2, axis=1))
    # The mean specific force over a recording is gravity; its norm is robust to movement.
    mean_vec = np.nanmean(table[cols].to_numpy(), axis=0)
    gravity_like = float(np.linalg.norm(mean_vec)) if len(acc_present) > 1 else float(np.nanmedian(norm))
    if len(acc_present) >= 2:
        if unit["acc"] == "mps2" and 0.4 < gravity_like < 2.5:
            raise InputError(
                f"{name}: gravity reads {gravity_like:.2f} but m/s^2 was declared: the file is in g, "
                "pass --acc-unit g"
            )
        if unit["acc"] == "g" and 4 * c.GRAVITY_MPS2 < gravity_like < 25 * c.GRAVITY_MPS2:
            raise InputError(
                f"{name}: gravity reads {gravity_like / c.GRAVITY_MPS2:.1f} g but g was declared: "
                "the file is in m/s^2, pass --acc-unit mps2"
            )
    if gyr_present:
        gcols = [c.GYR_RADPS[i] for i in gyr_present]
        p99 = float(np.nanpercentile(np.abs(table[gcols].to_numpy()), 99))
        if unit["gyr"] == "radps" and p99 > 40.0:
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
    read = {placement: read_imu_csv(Path(f), units) for placement, f in files.items()}
    sensors = []
    for placement, imported in read.items():
        rate = 1.0 / float(np.median(np.diff(imported.table[c.TIME_S].to_numpy())))
        sensors.append(
            SensorInfo(
                placement=placement,
                protocol="import",
                name=Path(files[placement]).name,
                sampling_rate_hz=round(rate, 6),
                axes=imported.axes,
                extra={"acc_unit": imported.acc_unit, "gyr_unit": imported.gyr_unit},
            )
        )
    writer = SessionWriter(
        Path(out),
        sensors=sensors,
        source="import",
        athlete=athlete,
        extra_meta={"import": {"acc_unit_flag": units.acc_unit, "gyr_unit_flag": units.gyr_unit}},
        raw_log=False,
    )
    with writer:
        stored = copy_source_files(writer.path, files)
        writer.update_meta(import_files=stored)
        for placement, imported in read.items():
            writer.write_samples(placement, imported.table)
    return writer.finalize()
