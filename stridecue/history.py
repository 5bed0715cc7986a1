"""The athlete history: an embedded SQLite database of athletes, sessions and key measures.

Answers the coach's question "is the overstride shrinking week by week, beyond the smallest real
change?". The database is created on first use; its schema is versioned in a ``migrations``
table. Default location: ``$STRIDECUE_HOME/history.sqlite`` when ``STRIDECUE_HOME`` is set, else
``~/.local/share/stridecue/history.sqlite``.

Smallest real change across sessions
------------------------------------
For a measure with baseline sessions ``B`` (``set_baseline``)::

    SRC = max(1.96 * sqrt(2) * SD_between, 1.96 * sqrt(2) * SE_within, floor)

``SD_between`` is the SD of the baseline sessions' means (needs two or more baseline sessions),
``SE_within`` the pooled stride-to-stride SD of the baseline sessions divided by the square root
of their mean stride count, ``floor`` the per-measure minimum of
``stridecue.report.findings.KEY_MEASURES``. Without a baseline the first session is the baseline.

Mobility checks
---------------
The results of ``stridecue mobility`` (straight-leg raise, kneeling hip-flexor test, standing
posture) are kept per athlete in their own table (schema version 2), one row per check and side
with the value, its target and whether it was met, so the history shows them across sessions
(``mobility``, ``format_mobility`` and the ``mobility-history`` section of the report).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gait.result import AnalysisResult
from stridecue.errors import SessionError, StridecueError
from stridecue.report import findings as fnd

log = logging.getLogger(__name__)

#: Key measures tracked by default in trends and the history report.
TREND_MEASURES: tuple[str, ...] = (
    "thigh_angle_ic_deg",
    "foot_contact_distance_m",
    "stride_length_m",
    "cadence_spm",
    "pelvis_tilt_mean_deg",
    "hip_extension_peak_deg",
    "pelvis_rotation_sd_deg",
)

_MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "athletes, sessions, measures, baselines", """
        CREATE TABLE athletes (
            athlete_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            athlete_id INTEGER NOT NULL REFERENCES athletes(athlete_id),
            started_at TEXT NOT NULL,
            summary_json TEXT NOT NULL,
            added_at TEXT NOT NULL
        );
        CREATE INDEX sessions_by_athlete ON sessions(athlete_id, started_at);
        CREATE TABLE measures (
            session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
            measure TEXT NOT NULL,
            lap INTEGER NOT NULL,
            side TEXT NOT NULL,
            mean REAL, sd REAL, n INTEGER NOT NULL,
            PRIMARY KEY (session_id, measure, lap, side)
        );
        CREATE TABLE baselines (
            athlete_id INTEGER NOT NULL REFERENCES athletes(athlete_id),
            session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE,
            PRIMARY KEY (athlete_id, session_id)
        );
    """),
    (2, "mobility check results per athlete", """
        CREATE TABLE mobility (
            session_id TEXT NOT NULL,
            athlete_id INTEGER NOT NULL REFERENCES athletes(athlete_id),
            measured_at TEXT NOT NULL,
            test TEXT NOT NULL,
            side TEXT NOT NULL,
            value REAL,
            unit TEXT NOT NULL,
            target REAL,
            target_text TEXT NOT NULL,
            passed INTEGER NOT NULL,
            flags TEXT NOT NULL,
            note TEXT NOT NULL,
            PRIMARY KEY (session_id, test, side)
        );
        CREATE INDEX mobility_by_athlete ON mobility(athlete_id, measured_at);
    """),
)
#: Columns of :meth:`HistoryDB.mobility`.
MOBILITY_COLUMNS: tuple[str, ...] = (
    "session_id", "measured_at", "test", "side", "value", "unit", "target", "target_text",
    "passed", "flags", "note",
)
#: The schema version a fresh database gets.
SCHEMA_VERSION: int = _MIGRATIONS[-1][0]


class HistoryError(StridecueError):
    """The history database cannot answer: unknown athlete or session, bad baseline spec."""


def default_history_path() -> Path:
    """``$STRIDECUE_HOME/history.sqlite`` or ``~/.local/share/stridecue/history.sqlite``."""
    home = os.environ.get("STRIDECUE_HOME")
    if home:
        return Path(home).expanduser() / "history.sqlite"
    return Path.home() / ".local" / "share" / "stridecue" / "history.sqlite"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(started_at: Any) -> str:
    if isinstance(started_at, datetime | pd.Timestamp):
        ts = pd.Timestamp(started_at)
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return ts.isoformat()
    text = str(started_at)
    try:
        return _iso(pd.Timestamp(text))
    except ValueError as exc:
        raise HistoryError(f"started_at {text!r} is not a date/time; give an ISO 8601 time "
                           "such as 2024-05-01T18:30:00") from exc


def session_measures(result: AnalysisResult) -> pd.DataFrame:
    """The key measures of an analysis in the layout ``add_session`` stores.

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``lap`` (0 = whole session), ``side`` (``left``/``right``/``both``),
        ``mean``, ``sd``, ``n``.
    """
    return fnd.lap_side_table(result.strides)


class HistoryDB:
    """An athlete-history database (SQLite, created on first use).

    Parameters
    ----------
    path
        Database file; ``None`` uses ``default_history_path()``. ``":memory:"`` works for tests.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = default_history_path() if path is None else path
        if str(self.path) != ":memory:":
            p = Path(self.path)
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SessionError(f"cannot create the history folder {p.parent}: "
                                   f"{exc.strerror}; set STRIDECUE_HOME to a writable "
                                   "folder") from exc
        try:
            self._con = sqlite3.connect(str(self.path))
        except sqlite3.Error as exc:
            raise SessionError(f"cannot open the history database {self.path}: {exc}; "
                               "set STRIDECUE_HOME to a writable folder") from exc
        self._con.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    # --- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def __enter__(self) -> HistoryDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        con = self._con
        with con:
            con.execute("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, "
                        "description TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {row[0] for row in con.execute("SELECT version FROM migrations")}
        if done and max(done) > SCHEMA_VERSION:
            raise SessionError(f"the history database {self.path} has schema version "
                               f"{max(done)}, newer than this stridecue ({SCHEMA_VERSION}); "
                               "upgrade stridecue")
        for version, description, sql in _MIGRATIONS:
            if version in done:
                continue
            with con:
                for statement in sql.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute("INSERT INTO migrations VALUES (?, ?, ?)",
                            (version, description, _now()))
            log.info("history database %s migrated to version %s", self.path, version)

    @property
    def schema_version(self) -> int:
        """The highest applied migration."""
        row = self._con.execute("SELECT MAX(version) FROM migrations").fetchone()
        return int(row[0])

    # --- writing --------------------------------------------------------------------------
    def _athlete_id(self, athlete: str, *, create: bool = False) -> int:
        row = self._con.execute("SELECT athlete_id FROM athletes WHERE name = ?",
                                (athlete,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            raise HistoryError(f"no athlete {athlete!r} in the history; add a session for them "
                               "first")
        cur = self._con.execute("INSERT INTO athletes (name, created_at) VALUES (?, ?)",
                                (athlete, _now()))
        return int(cur.lastrowid)

    def _other_owner(self, table: str, session_id: str, athlete_id: int) -> str | None:
        """Name of the athlete other than ``athlete_id`` whose rows in ``table`` hold the id."""
        row = self._con.execute(f"SELECT athlete_id FROM {table} WHERE session_id = ? LIMIT 1",
                                (session_id,)).fetchone()
        if row is None or int(row[0]) == athlete_id:
            return None
        return str(self._con.execute("SELECT name FROM athletes WHERE athlete_id = ?",
                                     (row[0],)).fetchone()[0])

    def add_session(
        self,
        athlete: str,
        session_id: str,
        started_at: Any,
        summary: Mapping[str, Any],
        measures: pd.DataFrame | AnalysisResult | None = None,
    ) -> None:
        """Store (or replace) one session of an athlete; idempotent for the same session id.

        Parameters
        ----------
        athlete
            Athlete name (created on first use).
        session_id
            Unique session id; adding it again replaces its summary and measures.
        started_at
            Session start (datetime or ISO 8601 text).
        summary
            Session-level numbers (JSON-serialisable), e.g. ``summary.json``'s ``session``.
        measures
            Key measures per lap and side (``session_measures`` layout: ``measure``, ``lap``,
            ``side``, ``mean``, ``sd``, ``n``) or the ``AnalysisResult`` to compute them from.

        Raises
        ------
        HistoryError
            When the session id already belongs to another athlete.
        """
        if isinstance(measures, AnalysisResult):
            measures = session_measures(measures)
        if measures is None:
            measures = pd.DataFrame(columns=["measure", "lap", "side", "mean", "sd", "n"])
        missing = {"measure", "lap", "side", "mean", "sd", "n"} - set(measures.columns)
        if missing:
            raise HistoryError(f"measures lack columns {sorted(missing)}; pass "
                               "session_measures(result)")
        from stridecue.exports import _jsonable

        summary_json = json.dumps(_jsonable(dict(summary)), allow_nan=False)
        rows = [(session_id, str(r.measure), int(r.lap), str(r.side),
                 None if not np.isfinite(r.mean) else float(r.mean),
                 None if not np.isfinite(r.sd) else float(r.sd), int(r.n))
                for r in measures.astype({"mean": float, "sd": float}).itertuples(index=False)]
        con = self._con
        with con:
            athlete_id = self._athlete_id(athlete, create=True)
            owner = self._other_owner("sessions", session_id, athlete_id)
            if owner is not None:
                raise HistoryError(f"session {session_id!r} already belongs to {owner!r}; use "
                                   "another session id")
            con.execute("DELETE FROM measures WHERE session_id = ?", (session_id,))
            con.execute(
                "INSERT INTO sessions (session_id, athlete_id, started_at, summary_json, "
                "added_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
                "started_at = excluded.started_at, summary_json = excluded.summary_json",
                (session_id, athlete_id, _iso(started_at), summary_json, _now()))
            con.executemany("INSERT INTO measures VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def add_result(self, athlete: str, session_id: str, started_at: Any,
                   result: AnalysisResult) -> None:
        """``add_session`` with the summary and measures computed from an analysis."""
        from stridecue.exports import summary_document

        self.add_session(athlete, session_id, started_at, summary_document(result)["session"],
                         session_measures(result))

    def add_mobility(self, athlete: str, session_id: str, measured_at: Any,
                     results: Mapping[str, Mapping[str, Any]]) -> None:
        """Store (or replace) the mobility-check results of one session of an athlete.

        Parameters
        ----------
        athlete
            Athlete name (created on first use).
        session_id
            The mobility session's id; adding it again replaces its results.
        measured_at
            When the checks were done (datetime or ISO 8601 text).
        results
            ``key -> row`` as written by ``stridecue.mobility_cli.measure_mobility``: ``test``,
            ``side``, ``value``, ``unit``, ``target``, ``target_text``, ``passed``, ``flags``,
            ``note``.

        Raises
        ------
        HistoryError
            When the session's results already belong to another athlete.
        """
        rows = []
        for key, r in results.items():
            value, target = _f(r.get("value")), _f(r.get("target"))
            rows.append((session_id, str(r.get("test", key)), str(r.get("side", "")),
                         value if np.isfinite(value) else None, str(r.get("unit", "deg")),
                         target if np.isfinite(target) else None, str(r.get("target_text", "")),
                         int(bool(r.get("passed", False))), ",".join(r.get("flags", [])),
                         str(r.get("note", ""))))
        con = self._con
        with con:
            athlete_id = self._athlete_id(athlete, create=True)
            owner = self._other_owner("mobility", session_id, athlete_id)
            if owner is not None:
                raise HistoryError(f"mobility session {session_id!r} already belongs to "
                                   f"{owner!r}, another athlete; use another session id")
            con.execute("DELETE FROM mobility WHERE session_id = ?", (session_id,))
            iso = _iso(measured_at)
            con.executemany("INSERT INTO mobility VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [(r[0], athlete_id, iso, *r[1:]) for r in rows])

    def mobility(self, athlete: str) -> pd.DataFrame:
        """The athlete's mobility-check results across sessions, oldest first.

        Returns
        -------
        pandas.DataFrame
            ``MOBILITY_COLUMNS``: ``measured_at`` as a UTC timestamp, ``passed`` as bool,
            ``flags`` as comma-separated text.
        """
        athlete_id = self._athlete_id(athlete)
        df = pd.read_sql_query(
            f"SELECT {', '.join(MOBILITY_COLUMNS)} FROM mobility WHERE athlete_id = ? "
            "ORDER BY measured_at, session_id, test, side", self._con, params=(athlete_id,))
        df["measured_at"] = pd.to_datetime(df["measured_at"], utc=True, format="ISO8601")
        df["passed"] = df["passed"].astype(bool)
        return df

    def set_baseline(self, athlete: str, sessions: Sequence[str] | str) -> list[str]:
        """Choose the baseline sessions of an athlete.

        Parameters
        ----------
        athlete
            Athlete name.
        sessions
            Session ids, or ``"first:N"`` for the athlete's first N sessions by start time.

        Returns
        -------
        list of str
            The baseline session ids.
        """
        athlete_id = self._athlete_id(athlete)
        known = self.sessions(athlete)["session_id"].tolist()
        if isinstance(sessions, str):
            if not sessions.startswith("first:"):
                raise HistoryError(f"baseline {sessions!r} not understood; give session ids or "
                                   "'first:N'")
            try:
                n = int(sessions.split(":", 1)[1])
            except ValueError as exc:
                raise HistoryError(f"baseline {sessions!r}: N must be a whole number, e.g. "
                                   "'first:3'") from exc
            if n < 1:
                raise HistoryError("baseline 'first:N' needs N >= 1")
            ids = known[:n]
        else:
            ids = list(sessions)
            unknown = [s for s in ids if s not in known]
            if unknown:
                raise HistoryError(f"sessions {unknown} are not in {athlete!r}'s history; list "
                                   "them with sessions()")
        with self._con:
            self._con.execute("DELETE FROM baselines WHERE athlete_id = ?", (athlete_id,))
            self._con.executemany("INSERT INTO baselines VALUES (?, ?)",
                                  [(athlete_id, s) for s in ids])
        return ids

    # --- reading --------------------------------------------------------------------------
    def athletes(self) -> list[str]:
        """All athlete names, sorted."""
        return [r[0] for r in self._con.execute("SELECT name FROM athletes ORDER BY name")]

    def sessions(self, athlete: str) -> pd.DataFrame:
        """The athlete's sessions by start time.

        Returns
        -------
        pandas.DataFrame
            ``session_id``, ``started_at`` (UTC timestamp), ``in_baseline``, ``distance_m``,
            ``duration_s``, ``n_strides`` and the whole summary as ``summary`` (dict).
        """
        athlete_id = self._athlete_id(athlete)
        rows = self._con.execute(
            "SELECT s.session_id, s.started_at, s.summary_json, b.session_id IS NOT NULL "
            "FROM sessions s LEFT JOIN baselines b ON b.session_id = s.session_id "
            "AND b.athlete_id = s.athlete_id WHERE s.athlete_id = ? "
            "ORDER BY s.started_at, s.session_id", (athlete_id,)).fetchall()
        out = []
        for sid, started, summary_json, in_base in rows:
            summary = json.loads(summary_json)
            out.append({"session_id": sid, "started_at": pd.Timestamp(started),
                        "in_baseline": bool(in_base),
                        "distance_m": _f(summary.get("distance_m")),
                        "duration_s": _f(summary.get("duration_s")),
                        "n_strides": summary.get("n_strides"), "summary": summary})
        return pd.DataFrame(out, columns=["session_id", "started_at", "in_baseline",
                                          "distance_m", "duration_s", "n_strides", "summary"])

    def _measure_rows(self, athlete_id: int, measures: Sequence[str], side: str,
                      lap: int = 0) -> pd.DataFrame:
        marks = ",".join("?" * len(measures))
        return pd.read_sql_query(
            f"SELECT s.session_id, s.started_at, m.measure, m.mean, m.sd, m.n "
            f"FROM measures m JOIN sessions s ON s.session_id = m.session_id "
            f"WHERE s.athlete_id = ? AND m.lap = ? AND m.side = ? AND m.measure IN ({marks}) "
            f"ORDER BY s.started_at, s.session_id",
            self._con, params=(athlete_id, lap, side, *measures))

    def baseline(self, athlete: str, measures: Iterable[str] | None = None,
                 side: str = fnd.BOTH) -> pd.DataFrame:
        """Per-measure baseline mean and smallest real change (see the module docstring).

        Returns
        -------
        pandas.DataFrame
            ``measure``, ``mean``, ``sd_between``, ``sd_within``, ``n_sessions``, ``src``,
            ``sessions`` (the baseline session ids, comma separated).
        """
        athlete_id = self._athlete_id(athlete)
        measures = list(measures) if measures is not None else list(TREND_MEASURES)
        ids = [r[0] for r in self._con.execute(
            "SELECT b.session_id FROM baselines b JOIN sessions s ON s.session_id = b.session_id"
            " WHERE b.athlete_id = ? ORDER BY s.started_at", (athlete_id,))]
        rows = self._measure_rows(athlete_id, measures, side)
        if not ids and not rows.empty:
            ids = [rows["session_id"].iloc[0]]
        base = rows[rows["session_id"].isin(ids)]
        out = []
        for measure in measures:
            b = base[base["measure"] == measure].dropna(subset=["mean"])
            spec = fnd.MEASURES_BY_COLUMN.get(measure)
            floor = spec.floor if spec else 0.0
            if b.empty:
                out.append({"measure": measure, "mean": np.nan, "sd_between": np.nan,
                            "sd_within": np.nan, "n_sessions": 0, "src": floor,
                            "sessions": ""})
                continue
            sd_between = float(b["mean"].std(ddof=1)) if len(b) >= 2 else np.nan
            sd = b["sd"].fillna(0).to_numpy()
            n = b["n"].to_numpy().clip(min=1)
            sd_within = float(np.sqrt(np.sum(sd**2 * (n - 1)) / max(np.sum(n - 1), 1)))
            se_within = sd_within / np.sqrt(float(np.mean(n)))
            candidates = [floor, fnd.Z95 * np.sqrt(2) * se_within]
            if np.isfinite(sd_between):
                candidates.append(fnd.Z95 * np.sqrt(2) * sd_between)
            out.append({"measure": measure, "mean": float(b["mean"].mean()),
                        "sd_between": sd_between, "sd_within": sd_within,
                        "n_sessions": len(b), "src": float(max(candidates)),
                        "sessions": ",".join(b["session_id"])})
        return pd.DataFrame(out)

    def trend(self, athlete: str, measures: Iterable[str] | None = None,
              side: str = fnd.BOTH) -> pd.DataFrame:
        """Each key measure, session by session, against the baseline and the previous session.

        Parameters
        ----------
        athlete
            Athlete name.
        measures
            Measure columns; ``TREND_MEASURES`` by default.
        side
            ``"both"`` (default), ``"left"`` or ``"right"``.

        Returns
        -------
        pandas.DataFrame
            One row per (session, measure): ``session_id``, ``started_at``, ``measure``,
            ``mean``, ``sd``, ``n``, ``baseline_mean``, ``src``, ``change`` (from baseline),
            ``beyond_src``, ``improved`` / ``worse`` (beyond SRC in the better / worse
            direction; False for neutral measures), ``change_previous`` (from the previous
            session), ``setback`` (worse than the previous session beyond SRC).
        """
        athlete_id = self._athlete_id(athlete)
        measures = list(measures) if measures is not None else list(TREND_MEASURES)
        rows = self._measure_rows(athlete_id, measures, side)
        base = self.baseline(athlete, measures, side).set_index("measure")
        rows["started_at"] = pd.to_datetime(rows["started_at"], utc=True, format="ISO8601")
        rows["baseline_mean"] = rows["measure"].map(base["mean"]).astype(float)
        rows["src"] = rows["measure"].map(base["src"]).astype(float)
        better = rows["measure"].map(
            lambda m: fnd.MEASURES_BY_COLUMN[m].better if m in fnd.MEASURES_BY_COLUMN else 0)
        rows["change"] = rows["mean"] - rows["baseline_mean"]
        rows["beyond_src"] = rows["change"].abs() > rows["src"]
        signed = np.sign(rows["change"]) * better
        rows["improved"] = rows["beyond_src"] & (signed > 0)
        rows["worse"] = rows["beyond_src"] & (signed < 0)
        rows["change_previous"] = rows.groupby("measure")["mean"].diff()
        rows["setback"] = ((rows["change_previous"].abs() > rows["src"])
                           & (np.sign(rows["change_previous"]) * better < 0))
        order = {m: i for i, m in enumerate(measures)}
        rows = rows.sort_values(["measure", "started_at"],
                                key=lambda s: s.map(order) if s.name == "measure" else s,
                                kind="stable")
        return rows.reset_index(drop=True)

    def compare(self, session_a: str, session_b: str,
                measures: Iterable[str] | None = None, side: str = fnd.BOTH) -> pd.DataFrame:
        """Session b against session a, measure by measure.

        The SRC is the larger of the stride-level SRC of the two sessions
        (``findings.smallest_real_change``) and the athlete's baseline SRC.

        Returns
        -------
        pandas.DataFrame
            ``measure``, ``a``, ``b``, ``change`` (b - a), ``src``, ``beyond_src``,
            ``direction`` (``better`` | ``worse`` | ``-``).
        """
        owners = dict(self._con.execute(
            "SELECT session_id, athlete_id FROM sessions WHERE session_id IN (?, ?)",
            (session_a, session_b)).fetchall())
        for sid in (session_a, session_b):
            if sid not in owners:
                raise HistoryError(f"no session {sid!r} in the history; list sessions with "
                                   "sessions(athlete)")
        measures = list(measures) if measures is not None else list(TREND_MEASURES)
        athlete = self._con.execute("SELECT name FROM athletes WHERE athlete_id = ?",
                                    (owners[session_b],)).fetchone()[0]
        base = self.baseline(athlete, measures, side).set_index("measure")["src"]
        marks = ",".join("?" * len(measures))
        df = pd.read_sql_query(
            f"SELECT session_id, measure, mean, sd, n FROM measures WHERE lap = 0 AND side = ? "
            f"AND session_id IN (?, ?) AND measure IN ({marks})", self._con,
            params=(side, session_a, session_b, *measures))
        out = []
        for measure in measures:
            a = df[(df["measure"] == measure) & (df["session_id"] == session_a)]
            b = df[(df["measure"] == measure) & (df["session_id"] == session_b)]
            if a.empty or b.empty:
                continue
            ra, rb = a.iloc[0], b.iloc[0]
            spec = fnd.MEASURES_BY_COLUMN.get(measure)
            floor = spec.floor if spec else 0.0
            src = max(fnd.smallest_real_change(_f(ra["sd"]), ra["n"], _f(rb["sd"]), rb["n"],
                                               floor), _f(base.get(measure, floor)))
            change = _f(rb["mean"]) - _f(ra["mean"])
            beyond = bool(abs(change) > src)
            better = spec.better if spec else 0
            direction = "-"
            if beyond and better:
                direction = "better" if np.sign(change) == better else "worse"
            out.append({"measure": measure, "a": _f(ra["mean"]), "b": _f(rb["mean"]),
                        "change": change, "src": src, "beyond_src": beyond,
                        "direction": direction})
        return pd.DataFrame(out, columns=["measure", "a", "b", "change", "src", "beyond_src",
                                          "direction"])


def _f(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


# --- plain-text renderers ---------------------------------------------------------------------


def _label(measure: str) -> str:
    spec = fnd.MEASURES_BY_COLUMN.get(measure)
    return spec.label if spec else measure


def _unit(measure: str) -> str:
    spec = fnd.MEASURES_BY_COLUMN.get(measure)
    return spec.unit if spec else ""


def format_trend(df: pd.DataFrame) -> str:
    """Plain-text trend table for the CLI: one block per measure, one line per session.

    Flags: ``+`` better than baseline beyond SRC, ``-`` worse than baseline beyond SRC,
    ``!`` setback (worse than the previous session beyond SRC).
    """
    if df is None or df.empty:
        return "no sessions"
    lines = []
    for measure, g in df.groupby("measure", sort=False):
        unit = _unit(str(measure))
        first = g.iloc[0]
        lines.append(f"{_label(str(measure))} [{unit or '-'}]  baseline "
                     f"{fnd.format_value(first['baseline_mean'], unit)}, SRC "
                     f"{fnd.format_value(first['src'], unit)}")
        for r in g.itertuples(index=False):
            flags = ("+" if r.improved else "") + ("-" if r.worse else "") + (
                "!" if r.setback else "")
            date = pd.Timestamp(r.started_at).strftime("%Y-%m-%d")
            lines.append(f"  {date}  {r.session_id:<16} {fnd.format_value(r.mean, unit):>10}  "
                         f"change {fnd.format_value(r.change, unit):>10}  {flags}")
    lines.append("flags: + better than baseline beyond SRC, - worse than baseline beyond SRC, "
                 "! setback vs previous session")
    return "\n".join(lines)


def format_comparison(df: pd.DataFrame) -> str:
    """Plain-text comparison of two sessions for the CLI."""
    if df is None or df.empty:
        return "no common measures"
    head = f"{'measure':<48} {'a':>10} {'b':>10} {'change':>10} {'SRC':>9}  verdict"
    lines = [head, "-" * len(head)]
    for r in df.itertuples(index=False):
        unit = _unit(r.measure)
        verdict = (f"real change ({r.direction})" if r.direction != "-" else "real change") \
            if r.beyond_src else "within SRC"
        lines.append(f"{_label(r.measure):<48} {fnd.format_value(r.a, unit):>10} "
                     f"{fnd.format_value(r.b, unit):>10} {fnd.format_value(r.change, unit):>10} "
                     f"{fnd.format_value(r.src, unit):>9}  {verdict}")
    return "\n".join(lines)


#: Display names of the mobility tests.
MOBILITY_LABELS = {
    "straight_leg_raise": "Straight-leg raise",
    "kneeling_hip_flexor": "Kneeling hip-flexor test",
    "standing_pelvis_tilt": "Standing pelvic tilt",
    "standing_sway": "Standing sway",
}


def format_mobility(df: pd.DataFrame) -> str:
    """Plain-text mobility results across sessions: one block per check and side.

    Each line: date, session, value, the target and whether it was met; the last line of a
    block says the change from the first session.
    """
    if df is None or df.empty:
        return "no mobility checks"
    lines = []
    for (test, side), g in df.groupby(["test", "side"], sort=False):
        head = MOBILITY_LABELS.get(str(test), str(test)) + (f" ({side})" if side else "")
        lines.append(f"{head}  target {g['target_text'].iloc[-1]}")
        for r in g.itertuples(index=False):
            value = f"{r.value:.1f} {r.unit}" if r.value is not None and np.isfinite(r.value) \
                else "-"
            verdict = "met" if r.passed else "not met"
            flags = f"  [{r.flags}]" if r.flags else ""
            note = f"  ({r.note})" if r.note else ""
            lines.append(f"  {pd.Timestamp(r.measured_at):%Y-%m-%d}  {r.session_id:<26} "
                         f"{value:>10}  {verdict}{note}{flags}")
        first, last = _f(g["value"].iloc[0]), _f(g["value"].iloc[-1])
        if len(g) > 1 and np.isfinite(first) and np.isfinite(last):
            lines.append(f"  change since the first check: {last - first:+.1f} "
                         f"{g['unit'].iloc[-1]}")
    return "\n".join(lines)


def _mobility_section(db: HistoryDB, athlete: str) -> str:
    from stridecue.report.html import _esc, html_table

    mob = db.mobility(athlete)
    if mob.empty:
        return ("<section id='mobility-history'><h2>Mobility checks</h2><p class='not-measured' "
                "id='mobility-history-table'>No mobility checks recorded: run `stridecue "
                "mobility --athlete NAME`.</p></section>")
    shown = pd.DataFrame({
        "date": mob["measured_at"].dt.strftime("%Y-%m-%d"),
        "session": mob["session_id"],
        "check": mob["test"].map(lambda t: MOBILITY_LABELS.get(t, t)),
        "side": mob["side"],
        "value": mob["value"].map(lambda v: f"{v:.1f}" if v is not None and np.isfinite(v)
                                  else "-") + " " + mob["unit"],
        "target": mob["target_text"],
        "verdict": mob["passed"].map({True: "met", False: "not met"}),
        "note": mob["note"],
        "flags": mob["flags"],
    })
    return ("<section id='mobility-history'><h2>Mobility checks</h2>"
            + html_table(shown, "mobility-history-table")
            + f"<pre class='meta'>{_esc(format_mobility(mob))}</pre></section>")


# --- HTML history report ----------------------------------------------------------------------


def build_history_html(db: HistoryDB, athlete: str,
                       measures: Sequence[str] | None = None) -> str:
    """The history report markup (see ``write_history_report``)."""
    from stridecue.report import plots
    from stridecue.report.html import _CSS, _JS, _esc, html_table

    measures = list(measures) if measures is not None else list(TREND_MEASURES)
    sessions = db.sessions(athlete)
    trend = db.trend(athlete, measures)
    base = db.baseline(athlete, measures)
    parts = [f"<header><h1>History: {_esc(athlete)}</h1><p class='meta'>{len(sessions)} "
             "sessions. A session is highlighted only when it differs from the baseline (or "
             "the previous session) by more than the smallest real change (SRC).</p></header>"]
    notes: list[tuple[str, str]] = []
    for measure in measures:
        g = trend[trend["measure"] == measure]
        if g.empty or g["mean"].isna().all():
            notes.append(("info", f"{_label(measure)}: not measured in these sessions"))
            continue
        last = g.dropna(subset=["mean"]).iloc[-1]
        unit = _unit(measure)
        now = fnd.format_value(last["mean"], unit)
        if last["improved"]:
            notes.append(("good", f"{_label(measure)}: {now} in the "
                         f"latest session, better than the baseline "
                         f"{fnd.format_value(last['baseline_mean'], unit)} beyond the SRC "
                         f"({fnd.format_value(last['src'], unit)})"))
        elif last["worse"]:
            notes.append(("attention", f"{_label(measure)}: {now} in the "
                         f"latest session, worse than the baseline "
                         f"{fnd.format_value(last['baseline_mean'], unit)} beyond the SRC"))
        for r in g[g["setback"]].itertuples(index=False):
            notes.append(("attention", f"{_label(measure)}: setback in session {r.session_id} "
                         f"({pd.Timestamp(r.started_at):%Y-%m-%d}): "
                         f"{fnd.format_value(r.mean, unit)}, "
                         f"{fnd.format_value(abs(r.change_previous), unit)} worse than the "
                         "session before"))
    parts.append("<section id='history-findings'><h2>Findings</h2><ul class='findings' "
                 "id='history-findings-list'>" + "".join(
                     f"<li class='finding finding-{sev}'>{_esc(n[0].upper() + n[1:])}</li>"
                     for sev, n in notes) + "</ul></section>")
    parts.append("<section id='trends'><h2>Trends</h2>")
    for measure in measures:
        g = trend[trend["measure"] == measure]
        pid = f"plot-trend-{measure}"
        if g.empty or g["mean"].isna().all():
            parts.append(f"<figure class='plot plot-missing' id='{pid}'><p class='not-measured'>"
                         f"{_esc(_label(measure))}: not measured</p></figure>")
            continue
        b = base.set_index("measure").loc[measure]
        unit = _unit(measure)
        svg = plots.trend_svg(g, ylabel=unit or "-", plot_id=pid,
                              baseline_mean=float(b["mean"]), src=float(b["src"]))
        parts.append(f"<figure class='plot' id='{pid}'><h3>{_esc(_label(measure))}</h3>{svg}"
                     "</figure>")
    parts.append("</section>")
    shown = sessions.drop(columns=["summary"]).assign(
        started_at=sessions["started_at"].astype(str))
    parts.append("<section id='sessions'><h2>Sessions</h2>" + html_table(shown, "sessions-table")
                 + "<h3>Baseline</h3>" + html_table(base, "baseline-table") + "</section>")
    parts.append(_mobility_section(db, athlete))
    tshow = trend.assign(started_at=trend["started_at"].dt.strftime("%Y-%m-%d"))
    parts.append("<section id='trend-data'><details><summary>All trend numbers</summary>"
                 + html_table(tshow, "trend-table") + "</details></section>")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>History: {_esc(athlete)}</title><style>{_CSS}</style>"
            f"<script>{_JS}</script></head><body>" + "\n".join(parts)
            + "<div id='script-errors'></div></body></html>\n")


def write_history_report(db: HistoryDB, athlete: str, path: str | Path,
                         measures: Sequence[str] | None = None) -> Path:
    """Write the athlete's history as one self-contained HTML file.

    Parameters
    ----------
    db
        The history database.
    athlete
        Athlete name.
    path
        Output ``.html`` file (folder created if missing).
    measures
        Measures to plot; ``TREND_MEASURES`` by default.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    text = build_history_html(db, athlete, measures)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SessionError(f"cannot write the history report to {path}: {exc.strerror}; "
                           "choose a writable output folder") from exc
    return path
