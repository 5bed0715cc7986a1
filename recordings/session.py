"""The stridecue session on disk (format version 1).

A session is a folder::

    SESSION/
      session.json               metadata (atomically rewritten; see below)
      raw.log                    every notification as it arrived (recordings.rawlog), append-only
      journal.jsonl              append-only session events: laps, cues, link changes, notes
      samples/<placement>.parquet  decoded sample table per sensor (stridecue.constants.SAMPLE_COLUMNS)
      source/                    imported files, byte for byte (imported sessions only)
      truth/                     simulator ground truth (simulated sessions only)

``session.json`` holds ``format`` ("stridecue-session"), ``format_version``, ``software_version``,
``created_utc``, ``source`` (``live`` | ``simulated`` | ``import``), ``athlete`` (name, height_m,
sensor_height_m, leg_length_m, lap_distance_m), ``sensors`` (one entry per sensor: index,
placement, protocol, address, name, sampling_rate_hz, axes), ``calibration``, ``laps``, ``cues``,
``stats`` (per-sensor ingest statistics), ``finalized`` (bool).

The raw log and the journal are the record of truth; the sample tables and the summaries in
``session.json`` are derived from them. A session whose process was killed (``finalized`` false or
sample tables missing) is repaired on open by decoding the raw log again, so at most the last
second (the writer's fsync interval) is lost. Any sample table reads with pandas in one call::

    pandas.read_parquet("SESSION/samples/sacrum.parquet")
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import stridecue
from recordings.rawlog import Channel, RawLogWriter, RawRecord, ReadReport, read_raw_log
from stridecue import constants as c
from stridecue.errors import SessionError

logger = logging.getLogger(__name__)

FORMAT_NAME = "stridecue-session"
FORMAT_VERSION = 1
META_FILE = "session.json"
RAW_FILE = "raw.log"
JOURNAL_FILE = "journal.jsonl"
SAMPLES_DIR = "samples"
TRUTH_DIR = "truth"
SOURCE_DIR = "source"


@dataclass
class SensorInfo:
    """One sensor of a session, as listed in ``session.json``."""

    placement: str
    protocol: str = "stridecue"  # stridecue | movesense | import
    address: str = ""
    name: str = ""
    sampling_rate_hz: float | None = None
    index: int = 0
    #: ``sensor``: the axes are the sensor's own, mounted in any orientation; ``anatomical``: the
    #: axes were already aligned with the body by whoever made the recording (x forward, y to the
    #: wearer's left, z up), as in imported files with ``acc_ap/acc_ml/acc_vertical`` columns.
    axes: str = "sensor"
    extra: dict[str, Any] = field(default_factory=dict)


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, default=_json_default)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in session.json")


class SessionWriter:
    """Create a session folder and record into it.

    Use as a context manager; :meth:`finalize` decodes the raw log into the sample tables.
    """

    def __init__(
        self,
        path: Path,
        *,
        sensors: list[SensorInfo],
        source: str,
        athlete: Mapping[str, Any] | None = None,
        extra_meta: Mapping[str, Any] | None = None,
        raw_log: bool = True,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and any(self.path.iterdir()):
            raise SessionError(
                f"{self.path} already exists and is not empty: choose a new --out folder"
            )
        placements = [s.placement for s in sensors]
        if len(set(placements)) != len(placements):
            raise SessionError(f"two sensors share a placement in {placements}: give each its own")
        self.path.mkdir(parents=True, exist_ok=True)
        for i, s in enumerate(sensors):
            s.index = i
        self.sensors = sensors
        self.start_monotonic_ns = time.monotonic_ns()
        self.meta: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "software_version": stridecue.__version__,
            "session_id": f"{_dt.datetime.now(_dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
            "created_utc": _utc_now(),
            "source": source,
            "athlete": dict(athlete or {}),
            "sensors": [asdict(s) for s in sensors],
            "calibration": {},
            "laps": [],
            "cues": [],
            "stats": {},
            "finalized": False,
            **dict(extra_meta or {}),
        }
        _write_json_atomic(self.path / META_FILE, self.meta)
        self.raw = RawLogWriter(self.path / RAW_FILE) if raw_log else None
        self._journal = open(self.path / JOURNAL_FILE, "a", encoding="utf-8")  # noqa: SIM115

    # --- recording -------------------------------------------------------------------------
    def sensor_index(self, placement: str) -> int:
        """Index of a placement in the sensors list."""
        for s in self.sensors:
            if s.placement == placement:
                return s.index
        raise KeyError(placement)

    def append_raw(self, host_time_ns: int, placement: str, channel: Channel, payload: bytes) -> None:
        """Write one notification to the raw log (before anything else happens to it)."""
        if self.raw is None:
            raise SessionError("this session has no raw log (it was imported)")
        self.raw.append(host_time_ns, self.sensor_index(placement), channel, payload)

    def journal(self, kind: str, **fields: Any) -> None:
        """Append one session event (lap, cue, link, note) to the journal; flushed at once."""
        line = json.dumps({"kind": kind, **fields}, default=_json_default)
        self._journal.write(line + "\n")
        self._journal.flush()

    def update_meta(self, **fields: Any) -> None:
        """Merge fields into session.json (atomic rewrite)."""
        self.meta.update(fields)
        _write_json_atomic(self.path / META_FILE, self.meta)

    def write_samples(self, placement: str, table: pd.DataFrame) -> None:
        """Write a decoded sample table directly (imports, or tables decoded elsewhere)."""
        write_sample_table(self.path, placement, table)

    # --- closing ---------------------------------------------------------------------------
    def finalize(self) -> Session:
        """Close the logs, decode the raw log into sample tables, and mark the session complete."""
        self.close_logs()
        session = Session(self.path, _repair=False)
        if self.raw is not None:
            session.rebuild_samples()
        session.meta.update(
            {
                "laps": session.laps.to_dict("records"),
                "cues": session.cues.to_dict("records"),
                "finalized": True,
            }
        )
        session.save_meta()
        return session

    def close_logs(self) -> None:
        """Flush and close the raw log and the journal (safe to call twice)."""
        if self.raw is not None:
            self.raw.close()
        if not self._journal.closed:
            self._journal.close()

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_logs()


def write_sample_table(session_path: Path, placement: str, table: pd.DataFrame) -> None:
    """Write one decoded sample table (atomic: a killed process leaves the old table or none)."""
    missing = [col for col in c.SAMPLE_COLUMNS if col not in table.columns]
    if missing:
        raise SessionError(f"sample table for {placement} lacks columns {missing}")
    folder = Path(session_path) / SAMPLES_DIR
    folder.mkdir(exist_ok=True)
    final = folder / f"{placement}.parquet"
    tmp = folder / f".{placement}.parquet.tmp"
    table.loc[:, list(c.SAMPLE_COLUMNS)].to_parquet(tmp, index=False)
    os.replace(tmp, final)


class Session:
    """An opened session. Repairs a session left by a killed process (see module docs)."""

    def __init__(self, path: Path, *, _repair: bool = True) -> None:
        self.path = Path(path)
        meta_path = self.path / META_FILE
        if not meta_path.is_file():
            raise SessionError(
                f"{self.path} is not a stridecue session (no {META_FILE}): "
                "give the folder written by record, import or demo"
            )
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SessionError(f"{meta_path} is damaged ({exc.msg}): restore it from a backup") from exc
        if self.meta.get("format") != FORMAT_NAME:
            raise SessionError(f"{meta_path} is not a stridecue session file")
        if int(self.meta.get("format_version", 0)) > FORMAT_VERSION:
            raise SessionError(
                f"{self.path} was written by a newer stridecue (format "
                f"{self.meta['format_version']}): upgrade stridecue"
            )
        self.read_report = ReadReport()
        if _repair and self.needs_repair():
            logger.warning("session %s was not closed cleanly: decoding the raw log again", path)
            self.rebuild_samples()
            self.meta["laps"] = self.laps.to_dict("records")
            self.meta["cues"] = self.cues.to_dict("records")
            self.meta["repaired"] = True
            self.meta["finalized"] = True
            self.save_meta()

    # --- metadata --------------------------------------------------------------------------
    @property
    def sensors(self) -> list[SensorInfo]:
        """Sensors in index order."""
        return [SensorInfo(**s) for s in self.meta.get("sensors", [])]

    @property
    def placements(self) -> list[str]:
        """Placements of the sensors, in index order."""
        return [s.placement for s in self.sensors]

    @property
    def session_id(self) -> str:
        """Stable id of the session (older sessions: the folder name)."""
        return str(self.meta.get("session_id") or self.path.name)

    @property
    def athlete(self) -> dict[str, Any]:
        """Athlete settings (name, height_m, sensor_height_m, leg_length_m, lap_distance_m)."""
        return dict(self.meta.get("athlete", {}))

    def save_meta(self) -> None:
        """Rewrite session.json atomically."""
        _write_json_atomic(self.path / META_FILE, self.meta)

    def needs_repair(self) -> bool:
        """True when the session was not finalised or a sample table is missing."""
        has_raw = (self.path / RAW_FILE).is_file()
        if not has_raw:
            return False
        if not self.meta.get("finalized", False):
            return True
        return any(not (self.path / SAMPLES_DIR / f"{p}.parquet").is_file() for p in self.placements)

    # --- raw log and journal ---------------------------------------------------------------
    @property
    def has_raw_log(self) -> bool:
        """True when the session has a raw notification log (recorded, not imported)."""
        return (self.path / RAW_FILE).is_file()

    def raw_records(self) -> Iterator[RawRecord]:
        """Every intact raw record in arrival order (damage is counted in ``read_report``)."""
        if not self.has_raw_log:
            return iter(())
        self.read_report = ReadReport()
        return read_raw_log(self.path / RAW_FILE, self.read_report)

    def journal(self) -> list[dict[str, Any]]:
        """Every journal entry; a partly written last line is ignored."""
        path = self.path / JOURNAL_FILE
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                logger.warning("journal %s: ignored a damaged line", path)
        return out

    @property
    def laps(self) -> pd.DataFrame:
        """Lap marks: ``time_s`` (session clock) and ``source`` (key | double_tap | import)."""
        rows = [
            {"time_s": e["time_s"], "source": e.get("source", "key")}
            for e in self.journal()
            if e.get("kind") == "lap"
        ]
        if not rows:
            rows = list(self.meta.get("laps", []))
        return pd.DataFrame(rows, columns=["time_s", "source"])

    @property
    def cues(self) -> pd.DataFrame:
        """Cues given during the session (as recorded live)."""
        rows = [{k: v for k, v in e.items() if k != "kind"} for e in self.journal() if e.get("kind") == "cue"]
        return pd.DataFrame(rows)

    # --- samples ---------------------------------------------------------------------------
    def samples(self, placement: str) -> pd.DataFrame:
        """The decoded sample table of one sensor (columns ``SAMPLE_COLUMNS``)."""
        path = self.path / SAMPLES_DIR / f"{placement}.parquet"
        if placement not in self.placements:
            raise SessionError(
                f"this session has no {placement} sensor (it has {', '.join(self.placements)})"
            )
        if not path.is_file():
            raise SessionError(f"{path} is missing: run `stridecue info {self.path}` to repair it")
        return pd.read_parquet(path)

    def rebuild_samples(self) -> None:
        """Decode the raw log into the per-sensor sample tables (the raw log is the truth)."""
        from recordings.decode import decode_raw_records

        tables, stats = decode_raw_records(self.raw_records(), self.sensors)
        for placement, table in tables.items():
            write_sample_table(self.path, placement, table)
        stats["raw_log"] = {
            "records": self.read_report.records,
            "damaged_bytes": self.read_report.damaged_bytes,
            "truncated_tail_bytes": self.read_report.truncated_tail_bytes,
        }
        self.meta["stats"] = stats

    @property
    def truth_dir(self) -> Path | None:
        """The simulator's ground truth folder, if this session was simulated."""
        p = self.path / TRUTH_DIR
        return p if p.is_dir() else None

    @property
    def duration_s(self) -> float:
        """Span of the sacrum (or first) sensor's samples."""
        placement = c.SACRUM if c.SACRUM in self.placements else self.placements[0]
        t = self.samples(placement)[c.TIME_S]
        return float(t.iloc[-1] - t.iloc[0]) if len(t) else 0.0


def open_session(path: Path | str) -> Session:
    """Open a session folder (repairing it if its recording was interrupted)."""
    return Session(Path(path))


def copy_source_files(session_path: Path, files: Mapping[str, Path]) -> dict[str, str]:
    """Copy imported files into SESSION/source byte for byte; returns placement -> stored name."""
    folder = Path(session_path) / SOURCE_DIR
    folder.mkdir(exist_ok=True)
    out = {}
    for placement, f in files.items():
        name = f"{placement}{Path(f).suffix}"
        shutil.copyfile(f, folder / name)
        out[placement] = name
    return out
