"""Export an analysis to plain files: strides.csv/.parquet, events.csv, bouts.csv, summary.json.

The layout is a stable, versioned schema documented in ``docs/report_schema.md``: every column
carries its unit in its name; ``summary.json`` carries ``schema_version``. ``export_tables`` and
``summary_document`` are pure; ``export_strides`` writes the files.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gait.result import AnalysisResult
from stridecue.constants import EVENT_COLUMNS, STRIDE_CONTRACT_COLUMNS, STRIDE_METRIC_COLUMNS
from stridecue.errors import SessionError
from stridecue.report import findings as fnd

#: Version of the export schema (strides/events columns, summary.json keys). Bump on any
#: incompatible change and describe it in docs/report_schema.md.
SCHEMA_VERSION = "1.0"


#: Session-clock columns of strides.csv, written like events.csv's ``time_s`` (6 decimals): six
#: significant digits would round a stride at 1000 s to 10 ms, and one in unix time to 100 s.
STRIDE_TIME_COLUMNS = ("start_s", "end_s")


def ordered_stride_columns(columns: list[str] | pd.Index) -> list[str]:
    """Contract columns first, then ``STRIDE_METRIC_COLUMNS``, then the rest in their order."""
    present = list(columns)
    head = [c for c in (*STRIDE_CONTRACT_COLUMNS, *STRIDE_METRIC_COLUMNS) if c in present]
    return head + [c for c in present if c not in head]


def stride_table(result: AnalysisResult) -> pd.DataFrame:
    """The strides table in export order; missing contract columns are added as NaN."""
    s = result.strides.copy() if result.strides is not None else pd.DataFrame()
    for c in STRIDE_CONTRACT_COLUMNS:
        if c not in s:
            s[c] = np.nan
    return s[ordered_stride_columns(s.columns)].reset_index(drop=True)


def event_table(result: AnalysisResult) -> pd.DataFrame:
    """The events table with exactly ``time_s``, ``event``, ``side``, sorted by time."""
    e = result.events if result.events is not None else pd.DataFrame()
    e = e.reindex(columns=list(EVENT_COLUMNS))
    return e.sort_values("time_s", kind="stable").reset_index(drop=True)


#: Columns of bouts.csv, in order (see docs/report_schema.md).
BOUT_COLUMNS = ("bout", "activity", "start_s", "end_s", "duration_s", "n_strides",
                "cadence_spm_mean", "stride_length_m_mean", "speed_mps_mean")


def bout_table(result: AnalysisResult) -> pd.DataFrame:
    """One row per still / walking / running bout, with the means of its whole strides.

    ``bout`` is the number the strides carry in their ``bout`` column; the means are over the
    bout's strides that do not cross a data gap (NaN when it has none): cadence, stride length,
    and speed as stride length over stride time.
    """
    b = result.bouts if result.bouts is not None else pd.DataFrame()
    b = b.reindex(columns=["start_s", "end_s", "activity"]).reset_index(drop=True)
    out = pd.DataFrame({"bout": np.arange(len(b)), "activity": b["activity"],
                        "start_s": b["start_s"], "end_s": b["end_s"],
                        "duration_s": b["end_s"] - b["start_s"]})
    s = stride_table(result)
    if "bout" in s:
        whole = fnd.whole_strides(s)
        by = whole.assign(speed_mps=whole["stride_length_m"] / whole["stride_time_s"]).groupby("bout")
        means = by[["cadence_spm", "stride_length_m", "speed_mps"]].mean().add_suffix("_mean")
        out = out.join(means, on="bout").join(s.groupby("bout").size().rename("n_strides"), on="bout")
    out["n_strides"] = out.reindex(columns=["n_strides"])["n_strides"].fillna(0).astype(int)
    return out.reindex(columns=list(BOUT_COLUMNS))


def _csv_cells(column: pd.Series, float_format: str) -> list[Any] | None:
    """The cells of one column as ``DataFrame.to_csv`` hands them to its csv writer.

    Floats are formatted with ``float_format`` (NaN -> empty), integers and booleans stay Python
    numbers, text and other objects stay objects with missing values empty. ``None`` for a dtype
    handled otherwise by pandas (dates, categories, nullable extension types).
    """
    dtype = column.dtype
    kind = dtype.kind if isinstance(dtype, np.dtype) else None
    if kind == "f":
        values = column.to_numpy()
        cells: list[Any] = list(map(float_format.__mod__, values.tolist()))
        for i in np.flatnonzero(np.isnan(values)).tolist():
            cells[i] = ""
        return cells
    if kind is not None and kind in "iub":
        return column.tolist()
    if kind == "O" or isinstance(dtype, pd.StringDtype):
        return column.astype(object).where(column.notna(), "").tolist()
    return None


def with_fixed_decimals(table: pd.DataFrame, columns: tuple[str, ...],
                        float_format: str = "%.6f") -> pd.DataFrame:
    """A copy of ``table`` whose float ``columns`` are text in ``float_format`` (NaN empty)."""
    out = table.copy()
    for col in columns:
        if col in out and out[col].dtype.kind == "f":
            cells = _csv_cells(out[col], float_format)
            out[col] = pd.Series(cells, index=out.index, dtype=object)
    return out


def write_csv(table: pd.DataFrame, path: Path, *, float_format: str) -> None:
    """Write ``table`` exactly as ``table.to_csv(path, index=False, float_format=...)`` would.

    Each float column is formatted in one pass and the rows go to the csv writer in one call,
    instead of pandas' per-value formatter; a table with a column of another dtype is written
    by pandas itself.
    """
    columns = [_csv_cells(table.iloc[:, j], float_format) for j in range(table.shape[1])]
    if not columns or any(c is None for c in columns):
        table.to_csv(path, index=False, float_format=float_format)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator=os.linesep)
        writer.writerow([str(c) for c in table.columns])
        writer.writerows(zip(*columns, strict=True))


def _jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and NaN to JSON-safe values (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def summary_document(result: AnalysisResult) -> dict[str, Any]:
    """The content of ``summary.json`` (JSON-safe; see docs/report_schema.md for every key)."""
    strides = result.strides if result.strides is not None else pd.DataFrame()
    laps = result.laps if result.laps is not None else pd.DataFrame()
    cues = result.cues if result.cues is not None else pd.DataFrame()
    session = fnd.session_summary(strides, laps, cues, result.summary)
    splits = fnd.lap_splits(strides, laps)
    table = fnd.lap_side_table(strides) if len(strides) else pd.DataFrame()
    cues_by_rule = (cues["rule"].astype(str).value_counts().sort_index().to_dict()
                    if "rule" in cues else {})
    return _jsonable({
        "schema_version": SCHEMA_VERSION,
        "session": session,
        "laps": splits.to_dict(orient="records"),
        "measures": table.to_dict(orient="records"),
        "cues_by_rule": cues_by_rule,
        "analysis_summary": dict(result.summary),
        "quality": dict(result.quality),
        "settings": dict(result.settings),
    })


def export_strides(result: AnalysisResult, out_dir: str | Path) -> dict[str, Path]:
    """Write strides.csv, strides.parquet, events.csv, bouts.csv and summary.json into ``out_dir``.

    Parameters
    ----------
    result
        The analysis of one session.
    out_dir
        Folder to write into (created if missing; existing files of the same names replaced).

    Returns
    -------
    dict of str to pathlib.Path
        Keys ``strides_csv``, ``strides_parquet``, ``events_csv``, ``bouts_csv``,
        ``summary_json``.

    Raises
    ------
    SessionError
        When the folder cannot be written.
    """
    out = Path(out_dir)
    paths = {
        "strides_csv": out / "strides.csv",
        "strides_parquet": out / "strides.parquet",
        "events_csv": out / "events.csv",
        "bouts_csv": out / "bouts.csv",
        "summary_json": out / "summary.json",
    }
    strides = stride_table(result)
    events = event_table(result)
    doc = summary_document(result)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_csv(with_fixed_decimals(strides, STRIDE_TIME_COLUMNS), paths["strides_csv"],
                  float_format="%.6g")
        strides.to_parquet(paths["strides_parquet"], index=False)
        write_csv(events, paths["events_csv"], float_format="%.6f")
        write_csv(with_fixed_decimals(bout_table(result), STRIDE_TIME_COLUMNS),
                  paths["bouts_csv"], float_format="%.6g")
        paths["summary_json"].write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n",
                                         encoding="utf-8")
    except OSError as exc:
        raise SessionError(f"cannot write exports to {out}: {exc.strerror}; "
                           "choose a writable output folder") from exc
    return paths
