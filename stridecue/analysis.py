"""Session on disk -> analysis -> output files (the ``analyse`` output contract).

``DIR/events.csv``, ``DIR/strides.csv`` (+ ``strides.parquet``), ``DIR/summary.json`` and
``DIR/report.html``; columns and keys are documented in ``docs/metrics.md`` and
``docs/report_schema.md``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from gait.cues import CUE_COLUMNS, CueRule
from gait.pipeline import PipelineSettings, analyse_tables
from gait.result import AnalysisResult
from recordings.session import Session
from stridecue import constants as c
from stridecue.errors import SessionError

logger = logging.getLogger(__name__)


@dataclass
class AnalysisOutputs:
    """Paths written by :func:`write_outputs`."""

    events_csv: Path
    strides_csv: Path
    summary_json: Path
    report_html: Path
    extra: dict[str, Path]


def session_tables(session: Session) -> dict[str, Any]:
    """The decoded sample tables of every sensor of a session."""
    tables = {p: session.samples(p) for p in session.placements}
    if c.SACRUM not in tables:
        raise SessionError(
            f"{session.path} has no sacrum sensor (it has {', '.join(tables)}): "
            "the analysis needs the sacrum; import or record one"
        )
    return tables


def analyse_session(
    session: Session,
    *,
    settings: PipelineSettings | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Analyse a session: sample tables, lap marks and stored calibration in; result out.

    Analysis warnings (a metric that cannot be measured, an uncalibrated stride length) are
    collected and passed to ``on_warning`` once each (default: logged), and stored in the
    result's ``quality["warnings"]``.
    """
    tables = session_tables(session)
    laps = session.laps
    marks = laps["time_s"].to_numpy(float) if len(laps) else None
    athlete = session.athlete
    live = session.meta.get("live") or {}
    calibration = session.meta.get("calibration") or live.get("calibration") or None
    rules = cue_rules_of(live) if live.get("cue_rules") else None
    if live.get("cue_min_gap_s") is not None:
        settings = replace(settings or PipelineSettings(), cue_min_gap_s=float(live["cue_min_gap_s"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyse_tables(
            tables,
            athlete=athlete,
            lap_marks_s=marks,
            calibration=calibration,
            settings=settings,
            cue_rules=rules,
            cue_baseline=live.get("cue_baseline"),
            sampling_rate_hz=nominal_rate_hz(session),
            **sensor_options(session),
        )
    if live:
        # The cues the runner was given are the ones recorded live (the batch run, on the
        # whole-session clock fit, is kept under quality for comparison).
        recorded = session.cues
        result.quality["cues_batch"] = int(len(result.cues))
        result.cues = recorded.reindex(columns=list(CUE_COLUMNS)) if len(recorded) else result.cues.iloc[0:0]
        result.summary["cues"] = int(len(result.cues))
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    for m in messages:
        (on_warning or logger.warning)(m)
    result.quality["warnings"] = messages
    result.quality["ingest"] = session.meta.get("stats", {})
    return result


def sensor_options(session: Session) -> dict[str, Any]:
    """What the session's sensor descriptions tell the stream analysis: the placements whose
    axes are the body's (``anatomical_axes``) and each sensor's own rate (``sensor_rates_hz``)."""
    return {
        "anatomical_axes": [s.placement for s in session.sensors if s.axes == "anatomical"],
        "sensor_rates_hz": {s.placement: float(s.sampling_rate_hz) for s in session.sensors
                            if s.sampling_rate_hz},
    }


def nominal_rate_hz(session: Session) -> float | None:
    """The sacrum's nominal rate (the live analysis grid), when the session states it."""
    live_rate = (session.meta.get("live") or {}).get("sampling_rate_hz")
    if live_rate and np.isfinite(live_rate):
        return float(live_rate)
    for sensor in session.sensors:
        if sensor.placement == c.SACRUM and sensor.sampling_rate_hz:
            return float(sensor.sampling_rate_hz)
    return None


def cue_rules_of(live: dict[str, Any]) -> list[CueRule]:
    """The cue rules stored with a live session."""
    return [CueRule(**{**r, "activities": tuple(r.get("activities", (c.RUNNING,)))})
            for r in live["cue_rules"]]


def write_outputs(
    result: AnalysisResult,
    out_dir: Path,
    *,
    session: Session | None = None,
    report: bool = True,
) -> AnalysisOutputs:
    """Write the contract files for a result into ``out_dir`` (created if needed).

    The report's header names the session, when and how it was recorded and its sensors; the
    rest of ``session.json`` (ingest statistics, lap marks, simulator plan) is not repeated there.
    """
    from stridecue.exports import export_strides

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = export_strides(result, out_dir)
    report_path = out_dir / "report.html"
    if report:
        from stridecue.report import write_report

        header = None
        if session is not None:
            header = {"session_id": session.session_id,
                      "recorded_utc": session.meta.get("created_utc"),
                      "source": session.meta.get("source"),
                      "sensors": ", ".join(session.placements)}
            header = {k: v for k, v in header.items() if v}
        write_report(
            result,
            report_path,
            athlete=session.athlete if session is not None else None,
            session_meta=header,
            mobility=(session.meta.get("mobility") if session is not None else None),
        )
    main = ("events_csv", "strides_csv", "summary_json")
    return AnalysisOutputs(
        events_csv=paths.get("events_csv", out_dir / "events.csv"),
        strides_csv=paths.get("strides_csv", out_dir / "strides.csv"),
        summary_json=paths.get("summary_json", out_dir / "summary.json"),
        report_html=report_path,
        extra={k: v for k, v in paths.items() if k not in main},
    )


def lap_table_text(result: AnalysisResult) -> str:
    """A few lines per lap for the terminal."""
    lines = []
    for lap in result.summary.get("laps", []):
        parts = [f"lap {lap['lap']}: {lap['duration_s']:.0f} s"]
        if lap.get(c.CADENCE_SPM):
            parts.append(f"{lap[c.CADENCE_SPM]:.0f} spm")
        if lap.get(c.STRIDE_LENGTH_M):
            parts.append(f"stride {lap[c.STRIDE_LENGTH_M]:.2f} m")
        if lap.get("thigh_angle_ic_deg") is not None and np.isfinite(lap["thigh_angle_ic_deg"]):
            parts.append(f"thigh at contact {lap['thigh_angle_ic_deg']:.1f} deg")
        lines.append(", ".join(parts))
    return "\n".join(lines)


def replay_session(
    session: Session,
    *,
    realtime: bool = False,
    speed: float = 1.0,
    progress: Callable[[float], None] | None = None,
    settings: PipelineSettings | None = None,
) -> AnalysisResult:
    """Replay a session through the live path: raw records -> ingest (online clock fit) ->
    the stream analysis, record by record, as ``stridecue run`` does live.

    Deterministic: the same session gives the same result on every replay; for a session
    recorded by ``stridecue run`` the strides and cues are those given live.
    """
    from gait.pipeline import finish_analysis
    from gait.stream import StreamAnalyser
    from stridecue.live_session import LiveAnalysis, analyser_from_config

    live = session.meta.get("live") or {}

    def make(rate_hz: float, options: Mapping[str, Any] | None = None) -> StreamAnalyser:
        return analyser_from_config(
            live, athlete=session.athlete, placements=session.placements, retain=True,
            settings=settings, sampling_rate_hz=nominal_rate_hz(session) or rate_hz,
            calibration=session.meta.get("calibration") or None, sensor_options=options,
        )

    laps = session.laps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if session.has_raw_log:
            analysis = LiveAnalysis(make, session.sensors)
            records = list(session.raw_records())
            for i, record in enumerate(records):
                analysis.feed(record)
                if progress is not None and i % 5000 == 0:
                    progress(i / max(len(records), 1))
            analysis.finish()
            if analysis.failed:
                raise SessionError(f"the replay of {session.path} failed: {analysis.failed}")
            analyser = analysis.analyser
        else:
            from gait.pipeline import feed_tables, table_rate_hz

            tables = session_tables(session)
            # an imported session: its sensors' axes and rates, as `analyse` reads them
            analyser = make(table_rate_hz(tables[c.SACRUM]), sensor_options(session))
            feed_tables(analyser, tables, block_s=0.05)
            analyser.finish()
        if progress is not None:
            progress(1.0)
        if analyser is None:
            raise SessionError(f"{session.path}: the raw log holds no sacrum samples to replay")
        return finish_analysis(analyser, lap_marks_s=laps["time_s"].to_numpy(float) if len(laps) else None)
