"""Import other people's recordings (CSV exported by any tool) into a stridecue session.

**Columns.** A time column and measurement columns named ``QUANTITY_AXIS`` or
``QUANTITY_AXIS_UNIT``; names are matched after lower-casing, trimming and turning spaces, dots
and dashes into ``_`` (``Acc X``, ``ACC_X``, ``acc_x `` are all ``acc_x``), and a unit may also
stand in brackets (``Acc X (m/s^2)``, ``gyr_z [deg/s]``):

- time: ``time`` or ``timestamp`` with a unit ``s``, ``ms``, ``us`` or ``ns`` (``time_s``,
  ``timestamp_ms``). Without a unit the unit is read from the steps (a sampling rate of 10 to
  2000 Hz tells seconds, milliseconds and microseconds apart) and a warning says which. The
  file's clock is kept: a recording in unix time stays in unix time.
- quantity ``acc`` (specific force, gravity included; also ``accel``, ``accelerometer``,
  ``acceleration``), ``gyr`` (angular rate; also ``gyro``, ``gyroscope``) or ``mag``
  (``magnetometer``);
- axis ``x``, ``y``, ``z`` (the sensor's own axes, mounted in any orientation) or ``ap``, ``ml``,
  ``vertical`` (axes already aligned with the body by whoever made the recording: forward, to
  the wearer's left, up); one file uses one kind;
- unit, optional: ``mps2`` (``m/s^2``), ``g`` or ``mg`` (milli-g) for acc, ``radps`` (``rad/s``) or ``dps``
  (``deg/s``) for gyr, ``ut`` for mag. A unit in the name is the unit; without one,
  ``acc_unit`` / ``gyr_unit`` (``--acc-unit``/``--gyr-unit``) say it, else m/s^2 and rad/s. A
  name and a flag that disagree are an error.

So ``acc_x, acc_y, acc_z, gyr_x, gyr_y, gyr_z`` (m/s^2, rad/s) and ``acc_vertical_g, acc_ap_g``
(two body axes in g, no gyroscope) are both complete headers. Body axes are stored as x = ap,
y = ml, z = vertical with the sensor marked ``axes="anatomical"``. Other columns (an index, a
temperature) are ignored with a warning; a column that names a quantity and axis but a unit we do
not know is an error.

**Layout.** The delimiter (``,``, ``;``, tab or ``|``) and a decimal comma are read from the
header and first data line; a UTF-8 byte-order mark, CRLF line ends, quoted fields and lines
before the header (an exporter's preamble) are accepted, the skipped lines reported.

**Rows: nothing is dropped or changed silently.** Every repair is counted in a warning and in
the session's ``import_report``:

- rows without a time, and rows holding no measurement at all (blank, or a last line cut short),
  are dropped;
- rows out of time order are sorted when they are few (at most :data:`MAX_DISORDER_FRACTION` of
  the rows) and none jumps back more than :data:`MAX_BACKWARD_STEP_S`; otherwise the file is
  refused (a clock reset or two recordings in one file must be split by the user);
- repeated rows are dropped; rows repeating a time with other values keep the first;
- empty or non-numeric cells are filled by linear interpolation in time between their
  neighbours when the hole spans at most :data:`MAX_FILLED_SPAN_S`; longer holes (and holes at
  either end) drop their rows, which the analysis then treats as a gap;
- columns holding no numbers or never changing are taken as not recorded;
- gaps in time (intervals over :data:`GAP_PERIODS` sampling periods) are reported; the analysis
  flags the strides that cross them. A rate below the analysis' minimum
  (``stridecue.constants.MIN_SAMPLING_RATE_HZ``) is refused.

**Physics.** Values that contradict the declared units are refused with the unit to give:
gravity (the norm of the mean acceleration, or the vertical's median) must read 0.4-2.5 g: when
another unit would make it so, that unit is named (a file in g, milli-g or m/s^2), and more
than 2.5 g in every unit is refused too (less may be missing axes); a gyroscope in the
wrong unit, found from its size and by comparing its rate with the rate at which gravity's
direction turns in the accelerometer (:func:`gyro_to_tilt_rate_ratio`, 0.47-1.82 on real walking,
a rigid body and the simulator, 57 times that for deg/s read as rad/s). Body axes are checked
against their names: a vertical reading -1 g points down and is negated; an ``ap`` column that
runs backwards while running (the trunk brakes while the vertical acceleration rises, see
:func:`gait.signal.running_forward_axis`) is negated; both with a warning.

**Several files.** Each placement's file is read alone, then the files are checked together:
the same file (or the same samples) for two placements is an error, and so are files whose
times do not overlap (not on one clock), and a sacrum that turns clearly faster than a thigh
(the files swapped); partial overlap is reported. Files may have different rates and lengths: the
analysis puts every sensor on the sacrum's time grid. A clock offset (and drift) of a thigh file
against the sacrum's is measured from the foot contacts' transients
(:func:`gait.sync.estimate_clock_offset`): when it is measured and over
:data:`gait.sync.THRESHOLD_MS`, the thigh's times are corrected in the session (the copied source
file is untouched) unless ``correct_sync=False``, with a warning; when it cannot be measured (too
little running, no start or stop), a warning says so. The import report of each thigh stores
the estimate under ``sync`` and the correction applied (``sync_correction``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gait.activity import activity_label
from gait.signal import lowpass_zero_phase, running_forward_axis
from gait.sync import estimate_clock_offset
from recordings.session import SensorInfo, Session, SessionWriter, copy_source_files
from stridecue import constants as c
from stridecue.errors import InputError

logger = logging.getLogger(__name__)

#: Axis names of the two kinds of axes, in stored order (x, y, z).
AXES = {"sensor": ("x", "y", "z"), "anatomical": ("ap", "ml", "vertical")}
#: Stored columns per quantity, in axis order.
STORED = {"acc": c.ACC_MPS2, "gyr": c.GYR_RADPS, "mag": c.MAG_UT}
ACC_UNITS = {"mps2": 1.0, "g": c.GRAVITY_MPS2, "mg": c.GRAVITY_MPS2 / 1000.0}
GYR_UNITS = {"radps": 1.0, "dps": np.pi / 180.0}
UNITS = {"acc": ACC_UNITS, "gyr": GYR_UNITS, "mag": {"ut": 1.0}}
DEFAULT_UNIT = {"acc": "mps2", "gyr": "radps", "mag": "ut"}
FLAG = {"acc": "--acc-unit", "gyr": "--gyr-unit"}
UNIT_TEXT = {"mps2": "m/s^2", "g": "g", "mg": "milli-g", "radps": "rad/s", "dps": "deg/s"}
#: The norm of the mean specific force over a recording (gravity), in g, for a plausible unit.
GRAVITY_RANGE_G = (0.4, 2.5)
#: Names of a quantity in other tools' headers.
QUANTITY_NAMES = {
    "acc": "acc", "accel": "acc", "accelerometer": "acc", "acceleration": "acc",
    "gyr": "gyr", "gyro": "gyr", "gyroscope": "gyr", "mag": "mag", "magnetometer": "mag",
}
#: Spellings of the units (lower case, without ``/``, ``^``, ``_``, spaces) -> unit name.
UNIT_NAMES = {
    "mps2": "mps2", "ms2": "mps2", "ms-2": "mps2", "g": "g", "mg": "mg",
    "radps": "radps", "rads": "radps", "radsec": "radps", "rads-1": "radps",
    "dps": "dps", "degs": "dps", "degps": "dps", "degsec": "dps", "degs-1": "dps", "ut": "ut",
}
TIME_NAMES = ("time", "timestamp")
#: Time units -> seconds per unit.
TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Sampling rates a time column without a unit may have, Hz (s, ms and us do not overlap here).
INFERRED_RATE_HZ = (10.0, 2000.0)
DELIMITERS = (",", ";", "\t", "|")
#: Lines searched for the header (a time column) at the top of a file.
HEADER_SEARCH_LINES = 64
#: Fewer rows than this (at any stage of the reading) is not a recording.
MIN_ROWS = 10
#: Holes in a column up to this span (from the sample before to the sample after) are filled.
MAX_FILLED_SPAN_S = 0.05
#: A step back in time larger than this is a clock reset or two recordings, not disorder.
MAX_BACKWARD_STEP_S = 1.0
#: More rows out of order (or repeating a time with other values) than this fraction: refused.
MAX_DISORDER_FRACTION = 0.01
#: An interval longer than this many sampling periods is a gap.
GAP_PERIODS = 1.5
#: Gyroscope / gravity-turn rate ratio outside [1/GYRO_RATIO_LIMIT, GYRO_RATIO_LIMIT]: wrong unit.
GYRO_RATIO_LIMIT = 10.0
#: Accelerometer tilt rate below which a sample says nothing about the gyroscope's unit, rad/s.
TILT_RATE_MIN_RADPS = 0.05
#: Low-pass of both signals in the gyroscope check (below the step rhythm), Hz.
TILT_LOWPASS_HZ = 1.0
#: A sacrum turning this many times faster than a thigh (RMS angular rate over their common
#: time, while the sacrum turns faster than SWAP_MIN_RMS_RADPS) is a thigh: the files are swapped.
SWAP_RATIO = 1.5
SWAP_MIN_RMS_RADPS = 0.5
#: Windows voting on the sign of a declared ``ap`` axis (running windows only), s.
AP_VOTE_WINDOW_S = 10.0


class ImportWarning(UserWarning):
    """An imported file is usable but was incomplete or repaired (the message says how)."""


@dataclass(frozen=True)
class ImportUnits:
    """Units declared for the CSV columns that do not name theirs (None: not declared)."""

    acc_unit: str | None = None
    gyr_unit: str | None = None

    def __post_init__(self) -> None:
        if self.acc_unit is not None and self.acc_unit not in ACC_UNITS:
            raise InputError(f"unknown accelerometer unit {self.acc_unit!r}: use mps2, g or mg")
        if self.gyr_unit is not None and self.gyr_unit not in GYR_UNITS:
            raise InputError(f"unknown gyroscope unit {self.gyr_unit!r}: use radps or dps")


@dataclass(frozen=True)
class ImportedFile:
    """One CSV read into a sample table (``SAMPLE_COLUMNS``, SI units) and what was done to it."""

    table: pd.DataFrame
    axes: str  # "sensor" or "anatomical" (see the module docs)
    acc_unit: str
    gyr_unit: str | None  # None: no gyroscope column
    sampling_rate_hz: float = float("nan")
    #: What the import read, ignored and repaired (JSON-serialisable; stored in session.json).
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Column:
    quantity: str  # acc | gyr | mag
    axes: str  # sensor | anatomical
    index: int  # 0, 1, 2: stored x, y, z
    unit: str | None  # from the name, or None


_MEASUREMENT = re.compile(
    r"^(?P<q>" + "|".join(sorted(QUANTITY_NAMES, key=len, reverse=True)) + r")_?"
    r"(?P<axis>vertical|ap|ml|x|y|z)(?:_(?P<unit>.+))?$"
)
_TIME = re.compile(r"^(?P<t>" + "|".join(TIME_NAMES) + r")(?:_(?P<unit>.+))?$")
_BRACKETED_UNIT = re.compile(r"\s*[\(\[]([^\)\]]*)[\)\]]\s*$")


def _split_name(name: str) -> tuple[str, str | None]:
    """A header name as (normalised base, unit in brackets or None)."""
    text = str(name).strip().strip('"').strip().lower()
    unit = None
    m = _BRACKETED_UNIT.search(text)
    if m:
        unit, text = m.group(1).strip(), text[: m.start()]
    return re.sub(r"[\s.\-]+", "_", text.strip()).strip("_"), unit


def _unit_token(text: str) -> str:
    """A unit as written, reduced to a key of :data:`UNIT_NAMES` / :data:`TIME_UNITS`."""
    t = text.strip().lower().replace("µ", "u").replace("μ", "u").replace("°", "deg")
    return re.sub(r"[\s/^_*()\[\]]", "", t.replace("²", "2"))


def _named_unit(base_unit: str | None, bracket_unit: str | None) -> str | None:
    units = {u for u in (base_unit, bracket_unit) if u}
    return units.pop() if len(units) == 1 else (f"{base_unit}|{bracket_unit}" if units else None)


def parse_column(name: str) -> _Column | None:
    """What a measurement column's name says (None: not a measurement column).

    Raises
    ------
    InputError
        When the name gives a quantity and an axis with a unit we do not know.
    """
    base, bracket = _split_name(name)
    m = _MEASUREMENT.match(base)
    if not m:
        return None
    quantity = QUANTITY_NAMES[m.group("q")]
    axis = m.group("axis")
    axes = "sensor" if axis in AXES["sensor"] else "anatomical"
    written = _named_unit(m.group("unit"), bracket)
    unit = None
    if written is not None:
        unit = UNIT_NAMES.get(_unit_token(written))
        if unit not in UNITS[quantity]:
            raise InputError(
                f"unknown column(s) {str(name).strip()}: the unit {written!r} is not one for "
                f"{quantity} (use {' or '.join(UNITS[quantity])}, e.g. {quantity}_x_"
                f"{next(iter(UNITS[quantity]))}); rename or drop the column"
            )
    return _Column(quantity, axes, AXES[axes].index(axis), unit)


def parse_time_column(name: str) -> tuple[bool, float | None]:
    """Whether a column is a time column, and its seconds per unit (None: no unit given).

    Raises
    ------
    InputError
        When the name gives a time unit we do not know.
    """
    base, bracket = _split_name(name)
    m = _TIME.match(base)
    if not m:
        return False, None
    written = _named_unit(m.group("unit"), bracket)
    if written is None:
        return True, None
    scale = TIME_UNITS.get(_unit_token(written))
    if scale is None:
        raise InputError(
            f"time column {str(name).strip()!r}: unknown unit {written!r}: name it time_s, "
            "time_ms, time_us or time_ns"
        )
    return True, scale


# --------------------------------------------------------------------------------------------
# reading the text
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    encoding: str
    header_line: int  # 0-based index of the header line
    delimiter: str
    decimal: str


def _names_time(field: str) -> bool:
    try:
        return parse_time_column(field)[0]
    except InputError:  # a time column with a unit we do not know: the header, to say so
        return True


def _names_measurement(field: str) -> bool:
    try:
        return parse_column(field) is not None
    except InputError:  # a measurement column with a unit we do not know: likewise
        return True


def _is_header(fields: list[str]) -> bool:
    """Whether a line's fields name a time column and a measurement column."""
    return any(map(_names_time, fields)) and any(map(_names_measurement, fields))


def _layout(path: Path) -> _Layout:
    """Encoding, header line, delimiter and decimal mark of a CSV file."""
    raw = path.read_bytes()[: 1 << 16]
    try:
        raw.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # a cut in the middle of a character at the end of the sample is not a bad encoding
        encoding = "utf-8-sig" if exc.start >= len(raw) - 3 else "latin-1"
    text = raw.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()[:HEADER_SEARCH_LINES]

    def fields(line: str, delim: str) -> list[str]:
        return [f.strip().strip('"').strip() for f in line.split(delim)]

    def best_delimiter(line: str) -> str:
        return max(DELIMITERS, key=lambda d: len(fields(line, d)))

    header = next(
        (i for i, line in enumerate(lines) if _is_header(fields(line, best_delimiter(line)))), 0)
    delim = best_delimiter(lines[header]) if lines else ","
    decimal = "."
    data = [ln for ln in lines[header + 1 :] if ln.strip()]
    if delim != "," and data and re.search(r"\d,\d", data[0]):
        decimal = ","
    return _Layout(encoding, header, delim, decimal)


def _read_table(path: Path) -> tuple[pd.DataFrame, _Layout]:
    """The file as a table (index = 0-based data row, blank lines included as empty rows)."""
    layout = _layout(path)
    try:
        raw = pd.read_csv(
            path, sep=layout.delimiter, decimal=layout.decimal, skiprows=layout.header_line,
            encoding=layout.encoding, skip_blank_lines=False, low_memory=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path.name}: not a readable CSV ({first}): export it as plain CSV") from exc
    raw.columns = [str(col).strip() for col in raw.columns]
    return raw, layout


# --------------------------------------------------------------------------------------------
# the header
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Header:
    time_column: str
    time_scale: float | None  # seconds per unit; None: read from the steps
    specs: dict[str, _Column]
    axes: str
    units: dict[str, str]
    unit_named: dict[str, bool]  # the unit came from the column names (not a flag or default)
    ignored: list[str]


def _header(name: str, columns: list[str], units: ImportUnits) -> _Header:
    """Parse and check a header: its time column, measurement columns, axes and units."""
    times: dict[str, float | None] = {}
    specs: dict[str, _Column] = {}
    ignored: list[str] = []
    for col in columns:
        is_time, scale = parse_time_column(col)
        if is_time:
            times[col] = scale
            continue
        spec = parse_column(col)
        if spec is None:
            ignored.append(col)
        else:
            specs[col] = spec
    if not times:
        raise InputError(
            f"{name}: no time column (found {', '.join(columns[:8])}"
            f"{', ...' if len(columns) > 8 else ''}): add the sample time as time_s "
            "(or time_ms)"
        )
    if len(times) > 1:
        raise InputError(f"{name}: several time columns ({', '.join(times)}): keep one")
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
    unit_named: dict[str, bool] = {}
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
        unit_named[quantity] = bool(named)
    (time_column, time_scale), = times.items()
    return _Header(time_column, time_scale, specs, kinds[0] if kinds else "sensor", resolved,
                   unit_named, ignored)


# --------------------------------------------------------------------------------------------
# the rows
# --------------------------------------------------------------------------------------------
class _Notes:
    """What the import did to a file: warnings to give and counts to store."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[str] = []
        self.counts: dict[str, Any] = {}

    def add(self, key: str, value: Any, message: str) -> None:
        self.counts[key] = value
        self.messages.append(f"{self.name}: {message}")


def _numeric(raw: pd.DataFrame, col: str) -> np.ndarray:
    """A column as float (cells that are empty or not numbers, and infinities, as NaN)."""
    values = raw[col]
    if values.dtype.kind not in "fiu":
        values = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    x = values.to_numpy(dtype=float, na_value=np.nan, copy=True)
    x[~np.isfinite(x)] = np.nan
    return x


def _line(row: int | np.integer, layout: _Layout) -> int:
    """1-based file line number of a 0-based data row."""
    return int(row) + layout.header_line + 2


def _infer_time_scale(name: str, col: str, t: np.ndarray, notes: _Notes) -> float:
    """Seconds per unit of a time column that does not name its unit, from its steps."""
    dt = np.diff(np.sort(t[np.isfinite(t)]))
    dt = dt[dt > 0]
    if not len(dt):
        raise InputError(f"{name}: time column {col!r} does not advance: name it time_s")
    step = float(np.median(dt))
    for unit in ("s", "ms", "us"):
        rate = 1.0 / (step * TIME_UNITS[unit])
        if INFERRED_RATE_HZ[0] <= rate <= INFERRED_RATE_HZ[1]:
            notes.add("time_unit_inferred", unit,
                      f"time column {col!r} names no unit: its steps ({step:g}) make it {unit} "
                      f"({rate:.4g} Hz); rename it time_{unit} to say so")
            return TIME_UNITS[unit]
    raise InputError(
        f"{name}: time column {col!r} names no unit and its steps ({step:g}) fit no sampling "
        f"rate of {INFERRED_RATE_HZ[0]:g}-{INFERRED_RATE_HZ[1]:g} Hz in s, ms or us: name it "
        "time_s, time_ms or time_us"
    )


def _order_rows(name: str, t: np.ndarray, x: np.ndarray, rows: np.ndarray, layout: _Layout,
                notes: _Notes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows in time order without repeats (see the module docs for what is refused)."""
    dt = np.diff(t)
    back = np.flatnonzero(dt < 0)
    if len(back):
        worst = back[np.argmin(dt[back])]
        line = _line(rows[worst + 1], layout)
        if -dt[worst] > MAX_BACKWARD_STEP_S:
            raise InputError(
                f"{name}: time jumps back {-dt[worst]:.3g} s at line {line} (a clock reset, or "
                "two recordings in one file): split the file there"
            )
        if len(back) > MAX_DISORDER_FRACTION * len(t):
            raise InputError(
                f"{name}: time goes back at {len(back)} of {len(t)} rows (first at line "
                f"{_line(rows[back[0] + 1], layout)}): sort the file by time"
            )
        first = _line(rows[back[0] + 1], layout)
        order = np.argsort(t, kind="stable")
        t, x, rows = t[order], x[order], rows[order]
        notes.add("rows_sorted", int(len(back)),
                  f"{len(back)} row(s) out of time order (first at line {first}): sorted")
    same = np.flatnonzero(np.diff(t) == 0) + 1  # rows repeating the time of the row before
    if len(same):
        equal = np.array([np.array_equal(x[i], x[i - 1], equal_nan=True) for i in same], bool)
        repeats, conflicts = same[equal], same[~equal]
        if len(conflicts) > MAX_DISORDER_FRACTION * len(t):
            raise InputError(
                f"{name}: {len(conflicts)} rows repeat the time of the row before with other "
                f"values (first at line {_line(rows[conflicts[0]], layout)}; times of packets, "
                "or rounded too coarsely?): give every sample its own time"
            )
        if len(repeats):
            notes.add("rows_repeated", int(len(repeats)),
                      f"{len(repeats)} repeated row(s) dropped (first at line "
                      f"{_line(rows[repeats[0]], layout)})")
        if len(conflicts):
            notes.add("rows_same_time", int(len(conflicts)),
                      f"{len(conflicts)} row(s) with the time of the row before but other values "
                      f"dropped, the first kept (first at line "
                      f"{_line(rows[conflicts[0]], layout)})")
        keep = np.ones(len(t), bool)
        keep[same] = False
        t, x, rows = t[keep], x[keep], rows[keep]
    return t, x, rows


def _holes(missing: np.ndarray, t: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Runs ``[a, b)`` of missing values that can be filled, and the rows of those that cannot.

    A run can be filled when it has a row on either side and those rows are in time order and at
    most :data:`MAX_FILLED_SPAN_S` apart.
    """
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
    fill, drop = [], np.zeros(len(missing), bool)
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if a > 0 and b < len(t) and 0 < t[b] - t[a - 1] <= MAX_FILLED_SPAN_S + 1e-9:
            fill.append((a, b))
        else:
            drop[a:b] = True
    return fill, drop


def _fill_times(t: np.ndarray, rows: np.ndarray, layout: _Layout, notes: _Notes) -> np.ndarray:
    """Times missing between two close rows in order, spread evenly between them."""
    missing = np.isnan(t)
    if not missing.any():
        return t
    fill, _ = _holes(missing, t)
    t = t.copy()
    for a, b in fill:
        t[a:b] = np.linspace(t[a - 1], t[b], b - a + 2)[1:-1]
    n = sum(b - a for a, b in fill)
    if n:
        notes.add("times_filled", n,
                  f"{n} missing time(s) (first at line {_line(rows[fill[0][0]], layout)}) "
                  "spread evenly between the rows around them")
    return t


def _fill_holes(t: np.ndarray, x: np.ndarray, cols: list[str], rows: np.ndarray,
                layout: _Layout, notes: _Notes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill short holes in each column by linear interpolation; drop the rows of longer ones."""
    drop = np.zeros(len(t), bool)
    filled = 0
    first_line: int | None = None
    for j in range(x.shape[1]):
        nan = np.isnan(x[:, j])
        if not nan.any():
            continue
        first_line = min(first_line or 10**12, _line(rows[np.argmax(nan)], layout))
        fill, unfilled = _holes(nan, t)
        drop |= unfilled
        for a, b in fill:
            x[a:b, j] = np.interp(t[a:b], [t[a - 1], t[b]], [x[a - 1, j], x[b, j]])
            filled += b - a
    if filled:
        notes.add("cells_filled", int(filled),
                  f"{filled} empty or non-numeric cell(s) (first at line {first_line}) filled by "
                  f"interpolation between their neighbours")
    if drop.any():
        n = int(drop.sum())
        notes.add("rows_dropped_holes", n,
                  f"{n} row(s) dropped where cells are empty or non-numeric for longer than "
                  f"{MAX_FILLED_SPAN_S * 1000:.0f} ms or at the file's ends (first at line "
                  f"{_line(rows[np.argmax(drop)], layout)}); the analysis treats them as a gap")
    keep = ~drop
    return t[keep], x[keep], rows[keep]


def _sampling(t: np.ndarray, notes: _Notes) -> float:
    """The sampling rate (mean of the intervals that are not gaps), reporting gaps and jitter."""
    dt = np.diff(t)
    median_dt = float(np.median(dt))
    gap = dt > GAP_PERIODS * median_dt
    rate = 1.0 / float(np.mean(dt[~gap]))
    if gap.any():
        longest = int(np.argmax(np.where(gap, dt, 0.0)))
        notes.add("gaps", int(gap.sum()),
                  f"{int(gap.sum())} gap(s) in time, {float(dt[gap].sum()):.3g} s in all (longest "
                  f"{dt[longest]:.3g} s after time {t[longest]:.6g} s): strides across a gap are "
                  "flagged and get no metrics")
    period = 1.0 / rate
    irregular = float(np.mean(np.abs(dt[~gap] - period) > 0.1 * period))
    if irregular > 0.05:
        notes.add("irregular_fraction", round(irregular, 4),
                  f"irregular sampling ({100 * irregular:.0f} % of intervals differ from "
                  f"{period * 1000:.3g} ms by more than 10 %): the analysis interpolates the "
                  f"samples onto a uniform {rate:.6g} Hz grid")
    return rate


def _require_rows(name: str, t: np.ndarray, what: str) -> None:
    """Refuse a file left with fewer than :data:`MIN_ROWS` rows (``what`` names which rows)."""
    if len(t) < MIN_ROWS:
        raise InputError(f"{name}: only {len(t)} {what}: a recording needs at least a few seconds")


def read_imu_csv(path: Path, units: ImportUnits) -> ImportedFile:
    """Read one CSV into a sample table (``SAMPLE_COLUMNS``, SI units), validating it.

    Warns (:class:`ImportWarning`) once for every repair and every missing part, see the module
    docs; the same is in the returned ``report``.

    Raises
    ------
    InputError
        With a one-line message saying what is wrong and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    raw, layout = _read_table(path)
    name = path.name
    header = _header(name, list(raw.columns), units)
    notes = _Notes(name)
    if layout.header_line:
        notes.add("lines_before_header", layout.header_line,
                  f"{layout.header_line} line(s) before the header skipped")
    if header.ignored:
        notes.add("ignored_columns", header.ignored,
                  f"column(s) {', '.join(header.ignored)} ignored (not a time, acc, gyr or mag "
                  "column)")

    cols = list(header.specs)
    t = _numeric(raw, header.time_column)
    x = np.column_stack([_numeric(raw, col) for col in cols]) if cols else np.zeros((len(raw), 0))
    rows = np.arange(len(raw))
    blank = raw.isna().all(axis=1).to_numpy()
    t, x, rows = t[~blank], x[~blank], rows[~blank]
    _require_rows(name, t, "rows")
    for j, col in enumerate(list(cols)):
        if np.isnan(x[:, j]).all() or np.nanmin(x[:, j]) == np.nanmax(x[:, j]):
            what = ("holds no numbers" if np.isnan(x[:, j]).all()
                    else f"never changes ({np.nanmin(x[:, j]):g})")
            notes.add(f"column_unused:{col}", what, f"column {col} {what}: taken as not recorded")
    usable = [j for j, col in enumerate(cols) if f"column_unused:{col}" not in notes.counts]
    cols, x = [cols[j] for j in usable], x[:, usable]
    specs = {col: header.specs[col] for col in cols}
    present = {q: sorted(s.index for s in specs.values() if s.quantity == q) for q in STORED}
    names = AXES[header.axes]
    if not present["acc"]:
        raise InputError(
            f"{name}: no accelerometer column: at least one of "
            f"{', '.join('acc_' + n for n in names)} with numbers that change is needed"
            + (f" (ignored: {', '.join(header.ignored)})" if header.ignored else "")
        )

    t = t * (header.time_scale or _infer_time_scale(name, header.time_column, t, notes))
    t = _fill_times(t, rows, layout, notes)
    no_time = np.isnan(t)
    empty = np.isnan(x).all(axis=1) & ~no_time
    for key, mask, why in (("rows_without_time", no_time, "without a time"),
                           ("rows_without_values", empty, "without any measurement")):
        if mask.any():
            notes.add(key, int(mask.sum()),
                      f"{int(mask.sum())} row(s) {why} dropped (first at line "
                      f"{_line(rows[np.argmax(mask)], layout)})")
    keep = ~(no_time | empty)
    t, x, rows = t[keep], x[keep], rows[keep]
    _require_rows(name, t, "rows with data")
    t, x, rows = _order_rows(name, t, x, rows, layout, notes)
    t, x, rows = _fill_holes(t, x, cols, rows, layout, notes)
    _require_rows(name, t, "usable rows")
    rate = _sampling(t, notes)
    if rate < c.MIN_SAMPLING_RATE_HZ:
        raise InputError(
            f"{name}: sampled at {rate:.3g} Hz: the analysis needs at least "
            f"{c.MIN_SAMPLING_RATE_HZ:g} Hz: export the recording at its full rate"
        )

    table = pd.DataFrame(index=range(len(t)))
    table[c.TIME_S] = t
    table[c.SENSOR_TIME_S] = t
    for stored in STORED.values():
        for dst in stored:
            table[dst] = np.nan
    unit = header.units
    for j, col in enumerate(cols):
        spec = specs[col]
        scale = UNITS[spec.quantity][unit[spec.quantity]]
        table[STORED[spec.quantity][spec.index]] = x[:, j] * scale
    table = table[list(c.SAMPLE_COLUMNS)]

    _check_units(name, table, header, present["acc"], present["gyr"], rate)
    if header.axes == "anatomical":
        _check_body_axes(table, present["acc"], rate, notes)
    missing = [i for i in range(3) if i not in present["acc"]]
    if missing:
        notes.add("acc_axes_missing", [f"acc_{names[i]}" for i in missing],
                  f"only {', '.join('acc_' + names[i] for i in present['acc'])} present; measures "
                  f"that need {', '.join('acc_' + names[i] for i in missing)} will be empty")
    if not present["gyr"]:
        notes.add("gyroscope", "none", "no gyroscope: pelvis and thigh angles will be empty")
    elif len(present["gyr"]) < 3:
        notes.add("gyroscope", "incomplete",
                  f"gyroscope incomplete ({', '.join('gyr_' + names[i] for i in present['gyr'])}): "
                  "orientation and angles will be empty")
    for message in notes.messages:
        warnings.warn(message, ImportWarning, stacklevel=2)
    report = {
        "rows_read": int(len(raw)),
        "samples": int(len(t)),
        "columns": {col: STORED[specs[col].quantity][specs[col].index] for col in cols},
        "time_column": header.time_column,
        "delimiter": layout.delimiter,
        "decimal": layout.decimal,
        **notes.counts,
    }
    return ImportedFile(table=table, axes=header.axes, acc_unit=unit["acc"],
                        gyr_unit=unit["gyr"] if present["gyr"] else None,
                        sampling_rate_hz=rate, report=report)


# --------------------------------------------------------------------------------------------
# physics
# --------------------------------------------------------------------------------------------
def gyro_to_tilt_rate_ratio(acc_mps2: np.ndarray, gyr_radps: np.ndarray, *,
                            sampling_rate_hz: float) -> float | None:
    """How fast the gyroscope says gravity turns in the sensor frame, over how fast it does.

    Gravity is fixed in the world, so in the sensor frame its direction ``u`` turns as
    ``du/dt = -omega x u``. Both sides are taken from signals low-passed at
    :data:`TILT_LOWPASS_HZ` (below the step rhythm, where the accelerometer is mostly gravity),
    over the samples whose direction moves faster than :data:`TILT_RATE_MIN_RADPS`, and the
    ratio of their RMS is returned. It does not depend on the sign of either, and is 0.47-1.82 on
    real lower-back walking, the BROAD rigid-body trials and simulated running (sacrum and
    thigh); a gyroscope in deg/s read as rad/s gives 57 times that.

    Parameters
    ----------
    acc_mps2, gyr_radps
        Sensor-frame specific force and angular rate, shape (N, 3), finite.
    sampling_rate_hz
        Sampling rate, Hz.

    Returns
    -------
    float or None
        The ratio; None when fewer than 2 s of samples move (a still recording says nothing).
    """
    fs = float(sampling_rate_hz)
    if len(acc_mps2) < 4 * fs:
        return None
    a = lowpass_zero_phase(acc_mps2, sampling_rate_hz=fs, cutoff_hz=TILT_LOWPASS_HZ)
    w = lowpass_zero_phase(gyr_radps, sampling_rate_hz=fs, cutoff_hz=TILT_LOWPASS_HZ)
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-9)
    du = np.gradient(u, 1.0 / fs, axis=0)
    predicted = np.cross(w, u)
    observed = np.einsum("ij,ij->i", du, du)
    moving = observed > TILT_RATE_MIN_RADPS**2
    if moving.sum() < 2 * fs:
        return None
    return float(np.sqrt(np.einsum("ij,ij->i", predicted, predicted)[moving].sum()
                         / observed[moving].sum()))


def _unit_advice(quantity: str, unit: str, named: bool) -> str:
    """How to say a unit: by the flag, or by the column names when they name one."""
    if named:
        return f"rename the columns {quantity}_..._{unit}"
    return f"pass {FLAG[quantity]} {unit}"


def _check_units(
    name: str, table: pd.DataFrame, header: _Header, acc_present: list[int],
    gyr_present: list[int], sampling_rate_hz: float,
) -> None:
    """Reject values that contradict the units (gravity of 1 where m/s^2 was declared)."""
    unit = header.units
    cols = [c.ACC_MPS2[i] for i in acc_present]
    # The mean specific force over a recording is gravity; its norm is robust to movement. One
    # axis says it only when it is the vertical (its median).
    if len(acc_present) >= 2 or (header.axes == "anatomical" and acc_present == [2]):
        values = table[cols].to_numpy()
        gravity_g = (float(np.linalg.norm(np.nanmean(values, axis=0))) if len(cols) > 1
                     else float(np.nanmedian(np.abs(values)))) / c.GRAVITY_MPS2
        in_file = gravity_g * c.GRAVITY_MPS2 / ACC_UNITS[unit["acc"]]
        fits = [u for u, scale in ACC_UNITS.items()
                if GRAVITY_RANGE_G[0] < in_file * scale / c.GRAVITY_MPS2 < GRAVITY_RANGE_G[1]]
        # Too little gravity with no unit to explain it: axes missing (or a sensor turning over),
        # not a unit; too much is never right.
        if fits and fits[0] != unit["acc"] or not fits and gravity_g > GRAVITY_RANGE_G[1]:
            advice = (f"the file is in {UNIT_TEXT[fits[0]]}, "
                      f"{_unit_advice('acc', fits[0], header.unit_named['acc'])}" if fits
                      else "check the accelerometer's unit and scale")
            raise InputError(
                f"{name}: gravity reads {in_file:.3g}, which is {gravity_g:.3g} g in "
                f"{UNIT_TEXT[unit['acc']]}, not about 1 g: {advice}"
            )
    if not gyr_present:
        return
    gcols = [c.GYR_RADPS[i] for i in gyr_present]
    p99 = float(np.nanpercentile(np.abs(table[gcols].to_numpy()), 99))
    dps = _unit_advice("gyr", "dps", header.unit_named["gyr"])
    if unit["gyr"] == "radps" and p99 > 40.0:
        raise InputError(
            f"{name}: gyroscope reaches {p99:.0f} rad/s, which no body segment does: the file "
            f"is in degrees per second, {dps}"
        )
    if len(acc_present) < 3 or len(gyr_present) < 3:
        return
    ratio = gyro_to_tilt_rate_ratio(table[list(c.ACC_MPS2)].to_numpy(),
                                    table[list(c.GYR_RADPS)].to_numpy(),
                                    sampling_rate_hz=sampling_rate_hz)
    if ratio is None:
        return
    if ratio > GYRO_RATIO_LIMIT and unit["gyr"] == "radps":
        raise InputError(
            f"{name}: the gyroscope turns {ratio:.0f} times faster than gravity turns in the "
            f"accelerometer: the file is in degrees per second, {dps}"
        )
    if ratio < 1.0 / GYRO_RATIO_LIMIT and unit["gyr"] == "dps":
        raise InputError(
            f"{name}: the gyroscope turns {1.0 / ratio:.0f} times slower than gravity turns in "
            f"the accelerometer: the file is in radians per second, "
            f"{_unit_advice('gyr', 'radps', header.unit_named['gyr'])}"
        )


def _check_body_axes(table: pd.DataFrame, acc_present: list[int], sampling_rate_hz: float,
                     notes: _Notes) -> None:
    """Negate declared body axes that point the wrong way (module docs), in place."""
    ap, vertical = c.ACC_MPS2[0], c.ACC_MPS2[2]
    if 2 in acc_present:
        mean_g = float(np.mean(table[vertical])) / c.GRAVITY_MPS2
        if mean_g < -0.5:
            table[vertical] = -table[vertical]
            notes.add("negated", ["acc_vertical"],
                      f"acc_vertical reads {mean_g:.2f} g on average: it points down; negated "
                      "(vertical is up, +1 g standing)")
    if not {0, 2} <= set(acc_present):
        return
    fs = float(sampling_rate_hz)
    acc = table[list(c.ACC_MPS2)].to_numpy().copy()
    acc[:, 1] = np.where(np.isfinite(acc[:, 1]), acc[:, 1], 0.0)
    n = int(round(AP_VOTE_WINDOW_S * fs))
    votes = []
    for start in range(0, max(1, len(acc) - n // 2), n):
        window = acc[start : start + n]
        if activity_label(window, sampling_rate_hz=fs)[0] != c.RUNNING:
            continue
        up = np.tile([0.0, 0.0, 1.0], (len(window), 1))
        forward = running_forward_axis(window, up, sampling_rate_hz=fs)
        if forward is not None and abs(forward[0]) > 0.7:
            votes.append(float(np.sign(forward[0])))
    if votes and all(v < 0 for v in votes):
        table[ap] = -table[ap]
        notes.add("negated", [*notes.counts.get("negated", []), "acc_ap"],
                  f"acc_ap points backwards: in {len(votes)} running window(s) it reads the trunk "
                  "speeding up while the vertical load rises at each landing, where the trunk "
                  "brakes; negated")


# --------------------------------------------------------------------------------------------
# several files
# --------------------------------------------------------------------------------------------
def _check_together(files: Mapping[str, Path], read: Mapping[str, ImportedFile]) -> list[str]:
    """Check the placements' files against each other; returns warnings (errors raise)."""
    digests: dict[str, str] = {}
    for placement, imported in read.items():
        t = imported.table
        h = hashlib.sha256(t[list(c.ACC_MPS2)].to_numpy().tobytes())
        h.update(t[c.TIME_S].to_numpy().tobytes())
        digest = h.hexdigest()
        if digest in digests:
            other = digests[digest]
            same = Path(files[other]).resolve() == Path(files[placement]).resolve()
            raise InputError(
                f"the {placement} and {other} files "
                + ("are the same file" if same else "hold the same samples")
                + f" ({Path(files[placement]).name}): give each sensor its own recording"
            )
        digests[digest] = placement
    sacrum = read[c.SACRUM].table[c.TIME_S].to_numpy()
    s0, s1 = float(sacrum[0]), float(sacrum[-1])
    messages = []
    for placement, imported in read.items():
        if placement == c.SACRUM:
            continue
        t = imported.table[c.TIME_S].to_numpy()
        overlap = min(s1, float(t[-1])) - max(s0, float(t[0]))
        if overlap <= 0:
            raise InputError(
                f"the {placement} file's time ({t[0]:.6g}-{t[-1]:.6g} s) does not overlap the "
                f"sacrum's ({s0:.6g}-{s1:.6g} s): the files must share one clock; shift one of "
                "them"
            )
        share = overlap / (s1 - s0) if s1 > s0 else 1.0
        if share < 0.99:
            messages.append(
                f"{Path(files[placement]).name}: the {placement} sensor covers "
                f"{100 * share:.0f} % of the sacrum's recording ({t[0]:.6g}-{t[-1]:.6g} s of "
                f"{s0:.6g}-{s1:.6g} s): its measures are empty elsewhere"
            )
        turn = {p: _gyro_rms_radps(read[p].table, max(s0, float(t[0])), min(s1, float(t[-1])))
                for p in (c.SACRUM, placement)}
        if turn[c.SACRUM] > max(SWAP_RATIO * turn[placement], SWAP_MIN_RMS_RADPS):
            raise InputError(
                f"the sacrum file turns faster than the {placement} file (gyroscope RMS "
                f"{turn[c.SACRUM]:.2f} vs {turn[placement]:.2f} rad/s), which a pelvis does not "
                f"(the thigh swings): swap the two files, or leave the {placement} file out"
            )
    return messages


def _check_sync(files: Mapping[str, Path], read: Mapping[str, ImportedFile], *,
                correct: bool) -> list[str]:
    """Measure each thigh's clock against the sacrum's; correct it when out of sync (in place:
    the tables and import reports of ``read``). Returns the warnings."""
    sac = read[c.SACRUM]
    messages = []
    for placement, imported in read.items():
        if placement == c.SACRUM:
            continue
        t = imported.table[c.TIME_S].to_numpy(float)
        est = estimate_clock_offset(
            sac.table[c.TIME_S].to_numpy(float), sac.table[list(c.ACC_MPS2)].to_numpy(float),
            t, imported.table[list(c.ACC_MPS2)].to_numpy(float),
            sampling_rate_hz=sac.sampling_rate_hz,
            rates_hz={"ref": sac.sampling_rate_hz, "other": imported.sampling_rate_hz},
        )
        imported.report["sync"] = est.as_dict()
        imported.report["sync_correction"] = None
        name = Path(files[placement]).name
        if est.verdict == "unknown":
            messages.append(f"{name}: could not check that the {placement} clock is in sync with "
                            f"the sacrum's ({est.reason}); make sure both recorders share one "
                            "clock")
            continue
        if est.verdict != "out of sync":
            continue
        what = (f"{name}: the {placement} clock is {1e3 * est.offset_s:+.0f} ms off the sacrum's "
                f"(drift {est.drift_ppm:+.0f} ppm), measured from the foot contacts")
        if not correct:
            messages.append(f"{what}; not corrected (--no-sync-correction): its angles at contact "
                            "will be off")
            continue
        shift = np.asarray(est.offset_at_s(t), float)
        imported.table[c.TIME_S] = t - shift
        imported.report["sync_correction"] = {
            "offset_ms": round(1e3 * est.offset_s, 3), "drift_ppm": round(est.drift_ppm, 2),
            "reference_time_s": est.reference_time_s,
            "rule": "time_s = file time_s - (offset + drift (time_s - reference_time_s))",
        }
        messages.append(f"{what}; its times are corrected in the session (the file is "
                        "untouched; --no-sync-correction keeps them)")
    return messages


def _gyro_rms_radps(table: pd.DataFrame, t0: float, t1: float) -> float:
    """RMS angular rate between two times (NaN without a complete gyroscope)."""
    t = table[c.TIME_S].to_numpy()
    gyr = table[list(c.GYR_RADPS)].to_numpy()[(t >= t0) & (t <= t1)]
    if not len(gyr) or not np.isfinite(gyr).all():
        return float("nan")
    return float(np.sqrt(np.mean(np.sum(gyr**2, axis=1))))


def import_csv_session(
    files: Mapping[str, Path],
    out: Path,
    *,
    units: ImportUnits,
    athlete: Mapping[str, object] | None = None,
    lap_marks_s: Sequence[float] = (),
    correct_sync: bool = True,
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
    lap_marks_s
        Lap marks on the sacrum file's clock (the start of the first lap and the end of every
        lap, as a key press or a double tap would mark them), stored as the session's laps
        (source ``import``); each must lie within the sacrum recording.
    correct_sync
        Correct a thigh clock measured out of sync with the sacrum's (see module docs).
    """
    if c.SACRUM not in files:
        raise InputError("no sacrum file: pass --sacrum FILE (the thigh files are optional)")
    read = {placement: read_imu_csv(Path(f), units) for placement, f in files.items()}
    sacrum_time_s = read[c.SACRUM].table[c.TIME_S]
    first_s, last_s = float(sacrum_time_s.iloc[0]), float(sacrum_time_s.iloc[-1])
    marks = sorted(float(t) for t in lap_marks_s)
    outside = [t for t in marks if not first_s <= t <= last_s]
    if outside:
        raise InputError(
            f"lap mark {outside[0]:g} s is outside the sacrum recording ({first_s:g}-{last_s:g} s "
            "on its clock): give the lap marks in the file's time column's seconds"
        )
    for message in _check_together(files, read):
        warnings.warn(message, ImportWarning, stacklevel=2)
    for message in _check_sync(files, read, correct=correct_sync):
        warnings.warn(message, ImportWarning, stacklevel=2)
    sensors = []
    for placement, imported in read.items():
        sensors.append(
            SensorInfo(
                placement=placement,
                protocol="import",
                name=Path(files[placement]).name,
                sampling_rate_hz=round(imported.sampling_rate_hz, 6),
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
        writer.update_meta(import_files=stored,
                           import_report={p: imported.report for p, imported in read.items()})
        for placement, imported in read.items():
            writer.write_samples(placement, imported.table)
        for t in marks:
            writer.journal("lap", time_s=t, source="import")
    return writer.finalize()
