"""The analysis of a whole session: per-sensor sample tables in, :class:`~gait.result.AnalysisResult` out.

:func:`analyse_tables` feeds the whole session, in one piece, to the same
:class:`gait.stream.StreamAnalyser` the live session feeds block by block (see its module docs
for the steps), then :func:`finish_analysis` adds what needs the whole session: laps (key
presses or double taps), running stride length scaled from a marked lap, lap numbers, bouts,
the summary and the data-quality report. A live session that ends and a batch run of its tables
therefore give the same stride table and the same cues.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from gait.cues import CUE_COLUMNS, CueRule
from gait.laps import laps_from_marks
from gait.result import AnalysisResult
from gait.stream import PipelineSettings, StreamAnalyser, bouts_from_labels
from gait.stride_length_running import (
    fit_scale_from_laps,
    leg_length_m,
    running_stride_length_m,
)
from gait.stride_length import DEFAULT_HEIGHT_M, pendulum_length_m
from gait.strides import MetricWarning
from stridecue import constants as c

__all__ = ["PipelineSettings", "analyse_tables", "feed_tables", "finish_analysis"]

logger = logging.getLogger(__name__)


def table_rate_hz(table: pd.DataFrame) -> float:
    """Sampling rate of a sample table from its median sample interval, Hz."""
    t = table[c.TIME_S].to_numpy(float)
    if len(t) < 50:
        raise ValueError("the sacrum recording is too short to analyse (fewer than 50 samples)")
    return 1.0 / float(np.median(np.diff(t)))


def feed_tables(analyser: StreamAnalyser, tables: Mapping[str, pd.DataFrame],
                *, block_s: float | None = None) -> None:
    """Feed sample tables to an analyser: all at once (``block_s`` None) or in time blocks."""
    arrays = {}
    for placement, table in tables.items():
        t = table[c.TIME_S].to_numpy(float)
        order = np.argsort(t, kind="stable")
        acc = table.loc[:, list(c.ACC_MPS2)].to_numpy(float)[order]
        gyr = table.loc[:, list(c.GYR_RADPS)].to_numpy(float)[order]
        gyr_ok = np.isfinite(gyr).all(axis=1).mean() > 0.5
        arrays[placement] = (t[order], acc, gyr if gyr_ok else None)
    placements = [c.SACRUM, *[p for p in arrays if p != c.SACRUM]]
    if block_s is None:
        for p in placements:
            analyser.add(p, *arrays[p])
        return
    t0 = min(a[0][0] for a in arrays.values() if len(a[0]))
    t1 = max(a[0][-1] for a in arrays.values() if len(a[0]))
    edge = t0
    while edge <= t1:
        for p in placements:
            t, acc, gyr = arrays[p]
            i0, i1 = np.searchsorted(t, [edge, edge + block_s])
            if i1 > i0:
                analyser.add(p, t[i0:i1], acc[i0:i1], None if gyr is None else gyr[i0:i1])
        analyser.advance()
        edge += block_s


def analyse_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    athlete: Mapping[str, Any] | None = None,
    lap_marks_s: np.ndarray | None = None,
    calibration: Mapping[str, Any] | None = None,
    settings: PipelineSettings | None = None,
    cue_rules: list[CueRule] | None = None,
    cue_baseline: Mapping[str, float] | None = None,
    sampling_rate_hz: float | None = None,
    anatomical_axes: Collection[str] = (),
    sensor_rates_hz: Mapping[str, float] | None = None,
) -> AnalysisResult:
    """Analyse one session's sample tables (see module docs).

    ``sampling_rate_hz`` is the analysis grid's rate: the sacrum's nominal rate when known (the
    live session uses it), else the median rate of the sacrum table. ``anatomical_axes``: the
    placements whose axes are already the body's (``SensorInfo.axes``; see
    :class:`gait.stream.StreamAnalyser`); ``sensor_rates_hz``: each sensor's own rate, where
    known (``SensorInfo.sampling_rate_hz``).
    """
    if c.SACRUM not in tables:
        raise ValueError("the analysis needs a sacrum sensor")
    fs = sampling_rate_hz or table_rate_hz(tables[c.SACRUM])
    analyser = StreamAnalyser(
        sampling_rate_hz=fs, placements=list(tables), athlete=athlete, calibration=calibration,
        settings=settings, cue_rules=cue_rules, cue_baseline=cue_baseline,
        anatomical_axes=anatomical_axes, sensor_rates_hz=sensor_rates_hz,
    )
    feed_tables(analyser, tables)
    analyser.finish()
    return finish_analysis(analyser, lap_marks_s=lap_marks_s)


def finish_analysis(analyser: StreamAnalyser, *, lap_marks_s: np.ndarray | None = None) -> AnalysisResult:
    """Session-level results from a finished analyser that retained its strides."""
    if not analyser.retain:
        raise ValueError("finish_analysis needs an analyser created with retain=True")
    settings = analyser.settings
    athlete = analyser.athlete
    origin = analyser.origin_s or 0.0
    end_s = origin + (analyser._n - 1) / analyser.fs if analyser._n else origin
    time_range = np.array([origin, end_s])
    events = pd.DataFrame(analyser.events, columns=list(c.EVENT_COLUMNS))
    events = events.sort_values(c.TIME_S, kind="stable").reset_index(drop=True)
    bouts = bouts_from_labels(analyser.block_labels, origin_s=origin, block_s=settings.block_s,
                              min_bout_s=settings.min_bout_s, end_s=end_s)
    marks = [] if lap_marks_s is None else list(np.asarray(lap_marks_s, float))
    lap_source = "key"
    if not marks and settings.detect_double_taps:
        marks, lap_source = list(analyser.taps_s), "double_tap"
    lap_distance = float(athlete.get("lap_distance_m", settings.lap_distance_m))
    laps = laps_from_marks(np.asarray(marks), lap_distance_m=lap_distance, source=lap_source)
    strides = pd.DataFrame(analyser.rows)
    if len(strides):
        starts = strides[c.STRIDE_START_S].to_numpy()
        strides["bout"] = np.clip(np.searchsorted(bouts["start_s"].to_numpy(), starts, side="right") - 1,
                                  0, None)
        strides = _stride_lengths(strides, athlete, laps, settings)
        strides["lap"] = 0
        for lap in laps.itertuples(index=False):
            inside = (strides[c.STRIDE_START_S] >= lap.start_s) & (strides[c.STRIDE_START_S] < lap.end_s)
            strides.loc[inside, "lap"] = lap.lap
        strides = _order_columns(strides)
    else:
        strides = pd.DataFrame(columns=[*c.STRIDE_CONTRACT_COLUMNS, "activity", "bout", "lap"])
    cues = pd.DataFrame([cue.as_dict() for cue in analyser.cues], columns=list(CUE_COLUMNS))
    quality = analyser.quality()
    summary = summarise(strides, laps, bouts, events, cues, time_range)
    cal = analyser.calibration if analyser.calibration_source in ("stored", "auto") else None
    return AnalysisResult(
        events=events,
        strides=strides,
        bouts=bouts,
        laps=laps.drop(columns=["source"]) if "source" in laps else laps,
        cues=cues,
        summary=summary,
        quality=quality,
        settings={
            **settings.as_dict(),
            "sampling_rate_hz": analyser.fs,
            "calibration": cal.to_dict() if cal is not None else None,
            "cue_baseline": dict(analyser.engine.baseline),
            "cue_baseline_source": analyser.baseline_source,
            "stride_length": strides.attrs.get("stride_length", {}),
        },
        angles=None,
    )


def _stride_lengths(
    strides: pd.DataFrame,
    athlete: Mapping[str, Any],
    laps: pd.DataFrame,
    settings: PipelineSettings,
) -> pd.DataFrame:
    """Running stride length (scaled from a lap), step length, speed, foot-contact distance."""
    out = strides.copy()
    info: dict[str, Any] = {}
    run = (out["activity"] == c.RUNNING).to_numpy()
    if run.any():
        leg = leg_length_m(dict(athlete))
        yaw = out.loc[run, "stride_yaw_rate_radps"].to_numpy(float)
        yaw = yaw if np.isfinite(yaw).any() else None
        raw, model = running_stride_length_m(
            out.loc[run], leg_length_m=leg, stride_yaw_rate_radps=yaw
        )
        # One scale per model (thigh geometry, sacrum geometry): each has its own bias.
        scaled = np.full(len(raw), np.nan)
        scales: dict[str, Any] = {}
        for name in sorted(set(model) - {""}):
            mask = model == name
            scale = settings.stride_length_scale
            source = "profile" if scale else ""
            if not scale:
                tmp = out.loc[run].loc[mask].copy()
                tmp["_raw"] = raw[mask]
                scale, lap_used = fit_scale_from_laps(tmp, laps, "_raw")
                source = f"lap {lap_used}" if lap_used else "uncalibrated"
            if not scale or not math.isfinite(scale):
                scale = 1.0
                warnings.warn(
                    "running stride length is uncalibrated (no marked lap of known distance): "
                    "expect errors of 10-20 %; mark a lap (double tap or key) to calibrate it",
                    MetricWarning,
                    stacklevel=2,
                )
            scaled[mask] = raw[mask] * scale
            scales[name] = {"scale": scale, "source": source, "strides": int(mask.sum())}
        out.loc[run, c.STRIDE_LENGTH_M] = scaled
        info["running"] = {
            "model": "track-bend speed anchoring (yaw rate x bend radius) / constant contact length",
            "leg_length_m": leg,
            "scales": scales,
        }
    if (out["activity"] == c.WALKING).any():
        pendulum_m, source = pendulum_length_m(athlete)
        info["walking"] = {"model": "inverted pendulum, Mobilise-D correction K = 4.739/4 (per stride)",
                           "pendulum_length_m": pendulum_m, "pendulum_length_from": source}
        if source == "assumed":
            warnings.warn(
                f"walking stride length assumes a sacrum {pendulum_m:.2f} m above the ground (a "
                f"runner {DEFAULT_HEIGHT_M} m tall): give the athlete's height_m (and "
                "sensor_height_m) for this runner's lengths", MetricWarning, stacklevel=2)
    out["step_length_m"] = out[c.STRIDE_LENGTH_M] * out["step_time_s"] / out[c.STRIDE_TIME_S]
    out["speed_mps"] = out[c.STRIDE_LENGTH_M] / out[c.STRIDE_TIME_S]
    out.attrs["stride_length"] = info
    return out


def _order_columns(strides: pd.DataFrame) -> pd.DataFrame:
    first = [col for col in (*c.STRIDE_CONTRACT_COLUMNS, *c.STRIDE_METRIC_COLUMNS) if col in strides]
    rest = [col for col in strides.columns if col not in first]
    return strides[first + rest]


def _mean(strides: pd.DataFrame, col: str) -> float | None:
    if col not in strides or strides[col].isna().all():
        return None
    return float(strides[col].mean())


def summarise(
    strides: pd.DataFrame,
    laps: pd.DataFrame,
    bouts: pd.DataFrame,
    events: pd.DataFrame,
    cues: pd.DataFrame,
    time_s: np.ndarray,
) -> dict[str, Any]:
    """Session-level numbers (JSON-serialisable)."""
    running = strides[strides["activity"] == c.RUNNING] if "activity" in strides else strides
    walking = (strides[strides["activity"] == c.WALKING] if "activity" in strides
               else strides.iloc[0:0])
    distance = None
    if len(strides) and c.STRIDE_LENGTH_M in strides and strides[c.STRIDE_LENGTH_M].notna().any():
        distance = float(np.nansum(strides[c.STRIDE_LENGTH_M]) / 2.0)
    per_lap = []
    for lap in laps.itertuples(index=False):
        s = strides[strides["lap"] == lap.lap] if "lap" in strides else strides.iloc[0:0]
        per_lap.append(
            {
                "lap": int(lap.lap),
                "start_s": float(lap.start_s),
                "duration_s": float(lap.duration_s),
                "distance_m": None if not math.isfinite(lap.distance_m) else float(lap.distance_m),
                "strides": int(len(s)),
                **{
                    key: _mean(s, key)
                    for key in (
                        c.CADENCE_SPM,
                        c.STRIDE_LENGTH_M,
                        c.CONTACT_TIME_S,
                        "thigh_angle_ic_deg",
                        "pelvis_tilt_mean_deg",
                        "hip_extension_peak_deg",
                        "pelvis_rotation_range_deg",
                    )
                },
            }
        )
    bout_time = {
        act: float((bouts["end_s"] - bouts["start_s"])[bouts["activity"] == act].sum())
        for act in c.ACTIVITIES
    }
    return {
        "schema_version": 1,
        "duration_s": float(time_s[-1] - time_s[0]) if len(time_s) else 0.0,
        "distance_m": distance,
        "strides": int(len(strides)),
        "running_strides": int(len(running)),
        "initial_contacts": int((events[c.EVENT] == c.INITIAL_CONTACT).sum()) if len(events) else 0,
        "time_by_activity_s": bout_time,
        "laps": per_lap,
        "cues": int(len(cues)),
        "means_running": {
            key: _mean(running, key)
            for key in (
                c.CADENCE_SPM,
                c.STRIDE_LENGTH_M,
                c.CONTACT_TIME_S,
                "flight_time_s",
                "vertical_oscillation_m",
                "thigh_angle_ic_deg",
                "hip_extension_peak_deg",
                "pelvis_tilt_mean_deg",
                "pelvis_obliquity_range_deg",
                "pelvis_rotation_range_deg",
            )
        },
        "means_walking": {
            key: _mean(walking, key) for key in (c.CADENCE_SPM, c.STRIDE_LENGTH_M, c.CONTACT_TIME_S)
        },
    }
