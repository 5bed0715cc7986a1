"""Session on disk -> analysis -> output files (the ``analyse`` output contract).

``DIR/events.csv``, ``DIR/strides.csv`` (+ ``strides.parquet``), ``DIR/summary.json`` and
``DIR/report.html``; columns and keys are documented in ``docs/metrics.md`` and
``docs/report_schema.md``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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
    calibration = session.meta.get("calibration") or None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyse_tables(
            tables,
            athlete=athlete,
            lap_marks_s=marks,
            calibration=calibration,
            settings=settings,
        )
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    for m in messages:
        (on_warning or logger.warning)(m)
    result.quality["warnings"] = messages
    result.quality["ingest"] = session.meta.get("stats", {})
    return result


def write_outputs(
    result: AnalysisResult,
    out_dir: Path,
    *,
    session: Session | None = None,
    report: bool = True,
) -> AnalysisOutputs:
    """Write the contract files for a result into ``out_dir`` (created if needed)."""
    from stridecue.exports import export_strides

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = export_strides(result, out_dir)
    report_path = out_dir / "report.html"
    if report:
        from stridecue.report import write_report

        write_report(
            result,
            report_path,
            athlete=session.athlete if session is not None else None,
            session_meta=session.meta if session is not None else None,
            mobility=(session.meta.get("mobility") if session is not None else None),
        )
    return AnalysisOutputs(
        events_csv=paths.get("events_csv", out_dir / "events.csv"),
        strides_csv=paths.get("strides_csv", out_dir / "strides.csv"),
        summary_json=paths.get("summary_json", out_dir / "summary.json"),
        report_html=report_path,
        extra={k: v for k, v in paths.items() if k not in ("events_csv", "strides_csv", "summary_json")},
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
    """Replay a session through the live decode path (online clock fit), then analyse it.

    Deterministic: the same session gives the same result on every replay.
    """
    from firmware_bridge.ingest import assemble_samples
    from recordings.replay import replay_blocks

    blocks: dict[str, list[Any]] = {p: [] for p in session.placements}
    for placement, block in replay_blocks(session, realtime=realtime, speed=speed, progress=progress):
        blocks[placement].append(block)
    tables = {p: assemble_samples(b) for p, b in blocks.items() if b}
    laps = session.laps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse_tables(
            tables,
            athlete=session.athlete,
            lap_marks_s=laps["time_s"].to_numpy(float) if len(laps) else None,
            calibration=session.meta.get("calibration") or None,
            settings=settings,
        )
