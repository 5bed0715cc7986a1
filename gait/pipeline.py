"""The analysis pipeline: per-sensor sample tables in, :class:`~gait.result.AnalysisResult` out.

Steps (each a plain function below, so the live session can run them on a growing buffer):

1. :func:`prepare_signals` puts every sensor on one uniform time grid at the sacrum's rate
   (linear interpolation; grid points further than 0.75 sample from a real sample are gaps).
2. Orientation per sensor with a full gyroscope (``gait.orientation``, VQF by default).
3. Calibration: the stored one, else ``calibration.alignment.auto_calibrate`` on the session's
   first standing period and the movement after it. Anatomical angles (``gait.angles``).
4. Sacrum acceleration in the travel frame (vertical, forward, left); accelerometer-only data
   gets its vertical from gravity and no forward/left.
5. Activity bouts (``gait.activity``), events per bout with the running or walking detector,
   sides, strides (``gait.strides``), per-stride metrics, stride length (walking: inverted
   pendulum; running: ``gait.stride_length_running`` scaled from a marked lap), stability
   (``gait.stability``), asymmetry, laps, data quality, cues (``gait.cues``).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibration.alignment import auto_calibrate
from calibration.model import Calibration, CalibrationError
from gait import quaternion as quat
from gait.activity import classify_activity
from gait.angles import hip_angles, pelvis_angles, thigh_angles, travel_heading_rad
from gait.cues import CueRule, run_cues
from gait.events_running import assign_running_sides, detect_running_events
from gait.events_walking import detect_walking_events
from gait.laps import detect_double_taps, laps_from_marks
from gait.orientation import estimate_orientation
from gait.result import AnalysisResult
from gait.signal import project_on_vertical, vertical_axis_from_gravity
from gait.stability import StabilitySettings, add_stability
from gait.stride_length import walking_stride_length_m
from gait.stride_length_running import (
    fit_scale_from_laps,
    leg_length_m,
    running_stride_length_m,
    stride_yaw_rate_radps,
)
from gait.strides import (
    MetricWarning,
    add_angle_metrics,
    add_asymmetry,
    add_trunk_metrics,
    build_strides,
)
from stridecue import constants as c

logger = logging.getLogger(__name__)

#: Sensor height above the ground as a fraction of body height (L5/S1 level).
SENSOR_HEIGHT_PER_HEIGHT = 0.55


@dataclass(frozen=True)
class PipelineSettings:
    """Settings of one analysis run (stored in ``summary.json`` under ``settings``)."""

    orientation_method: str = "vqf"
    lap_distance_m: float = 400.0
    detect_double_taps: bool = True
    stride_length_scale: float | None = None  # per-runner scale from an earlier session
    stability: StabilitySettings = field(default_factory=StabilitySettings)
    cue_min_gap_s: float = 6.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = asdict(self)
        d["stability"] = self.stability.as_dict()
        return d


@dataclass
class SensorSignals:
    """One sensor on the common grid."""

    acc_mps2: np.ndarray
    gyr_radps: np.ndarray | None
    mag_ut: np.ndarray | None
    valid: np.ndarray  # bool per grid sample: a real sample is near
    q_sensor_to_earth: np.ndarray | None = None


@dataclass
class Signals:
    """All sensors on one uniform grid."""

    time_s: np.ndarray
    sampling_rate_hz: float
    sensors: dict[str, SensorSignals]
    gaps: list[dict[str, Any]]
    quality: dict[str, Any]


def _effective_rate(t: np.ndarray) -> float:
    return float((len(t) - 1) / (t[-1] - t[0])) if len(t) > 1 and t[-1] > t[0] else math.nan


def prepare_signals(tables: Mapping[str, pd.DataFrame]) -> Signals:
    """Put every sensor on a uniform grid at the sacrum's rate; find gaps; describe quality."""
    if c.SACRUM not in tables:
        raise ValueError("the analysis needs a sacrum sensor")
    sac = tables[c.SACRUM]
    t_sac = sac[c.TIME_S].to_numpy(float)
    if len(t_sac) < 50:
        raise ValueError("the sacrum recording is too short to analyse (fewer than 50 samples)")
    fs = 1.0 / float(np.median(np.diff(t_sac)))
    n = int(math.floor((t_sac[-1] - t_sac[0]) * fs)) + 1
    grid = t_sac[0] + np.arange(n) / fs
    sensors: dict[str, SensorSignals] = {}
    gaps: list[dict[str, Any]] = []
    quality: dict[str, Any] = {"sampling_rate_hz": fs, "sensors": {}}
    for placement, table in tables.items():
        t = table[c.TIME_S].to_numpy(float)
        order = np.argsort(t, kind="stable")
        t = t[order]

        def cols(names: tuple[str, ...], tbl: pd.DataFrame = table, o: np.ndarray = order) -> np.ndarray:
            return tbl.loc[:, list(names)].to_numpy(float)[o]

        acc, gyr, mag = cols(c.ACC_MPS2), cols(c.GYR_RADPS), cols(c.MAG_UT)
        idx = np.searchsorted(t, grid)
        near = np.minimum(
            np.abs(grid - t[np.clip(idx - 1, 0, len(t) - 1)]), np.abs(t[np.clip(idx, 0, len(t) - 1)] - grid)
        )
        valid = near <= 0.75 / fs

        def interp(x: np.ndarray, t: np.ndarray = t) -> np.ndarray:
            out = np.empty((n, 3))
            for k in range(3):
                col = x[:, k]
                ok = np.isfinite(col)
                out[:, k] = np.interp(grid, t[ok], col[ok]) if ok.sum() > 1 else np.nan
            return out

        acc_g = interp(acc)
        gyr_ok = np.isfinite(gyr).all(axis=1).mean() > 0.5
        mag_ok = np.isfinite(mag).all(axis=1).mean() > 0.5
        sensors[placement] = SensorSignals(
            acc_mps2=acc_g,
            gyr_radps=interp(gyr) if gyr_ok else None,
            mag_ut=interp(mag) if mag_ok else None,
            valid=valid,
        )
        dt = np.diff(t)
        big = np.flatnonzero(dt > 1.5 / fs)
        sensor_gaps = [
            {"placement": placement, "start_s": float(t[i]), "end_s": float(t[i + 1]),
             "duration_s": float(dt[i])}
            for i in big
        ]
        gaps.extend(sensor_gaps)
        quality["sensors"][placement] = {
            "samples": int(len(t)),
            "effective_rate_hz": _effective_rate(t),
            "gaps": len(sensor_gaps),
            "gap_time_s": float(sum(g["duration_s"] for g in sensor_gaps)),
            "coverage": float(valid.mean()),
            "has_gyroscope": bool(gyr_ok),
            "has_magnetometer": bool(mag_ok),
            "accelerometer_axes": int(np.isfinite(acc).all(axis=0).sum()),
        }
    return Signals(time_s=grid, sampling_rate_hz=fs, sensors=sensors, gaps=gaps, quality=quality)


def estimate_orientations(signals: Signals, *, method: str) -> None:
    """Fill ``q_sensor_to_earth`` of every sensor with a gyroscope (6D: heading arbitrary)."""
    for s in signals.sensors.values():
        if s.gyr_radps is not None and np.isfinite(s.acc_mps2).all():
            s.q_sensor_to_earth = estimate_orientation(
                s.acc_mps2, s.gyr_radps, sampling_rate_hz=signals.sampling_rate_hz, method=method
            )


def calibrate(signals: Signals, stored: Mapping[str, Any] | None) -> tuple[Calibration | None, str]:
    """The stored calibration, else one from the session's first standing period + movement."""
    if stored:
        return Calibration.from_dict(dict(stored)), "stored"
    usable = {
        p: (s.acc_mps2, s.gyr_radps)
        for p, s in signals.sensors.items()
        if s.gyr_radps is not None and s.q_sensor_to_earth is not None
    }
    if c.SACRUM not in usable:
        return None, "no gyroscope on the sacrum: angles not measured"
    try:
        return auto_calibrate(usable, sampling_rate_hz=signals.sampling_rate_hz), "auto"
    except CalibrationError as exc:
        warnings.warn(f"calibration failed, angles not measured: {exc}", MetricWarning, stacklevel=2)
        return None, f"failed: {exc}"


def anatomical_angles(signals: Signals, cal: Calibration | None) -> pd.DataFrame:
    """Per-sample anatomical angles on the grid (``time_s`` + ``*_deg`` columns)."""
    out = pd.DataFrame({c.TIME_S: signals.time_s})
    if cal is None:
        return out
    sac = signals.sensors[c.SACRUM]
    fs = signals.sampling_rate_hz
    if sac.q_sensor_to_earth is not None and c.SACRUM in cal:
        pel = pelvis_angles(sac.q_sensor_to_earth, cal[c.SACRUM], sampling_rate_hz=fs)
        for col in pel:
            out[col] = pel[col].to_numpy()
    for placement, side in ((c.THIGH_LEFT, c.LEFT), (c.THIGH_RIGHT, c.RIGHT)):
        s = signals.sensors.get(placement)
        if s is None or s.q_sensor_to_earth is None or placement not in cal:
            continue
        th = thigh_angles(s.q_sensor_to_earth, cal[placement])
        out[f"thigh_angle_{side}_deg"] = th[c.THIGH_ANGLE_DEG].to_numpy()
        if c.PELVIS_TILT_DEG in out:
            hip = hip_angles(out[c.PELVIS_TILT_DEG].to_numpy(), th[c.THIGH_ANGLE_DEG].to_numpy())
            out[f"hip_flexion_{side}_deg"] = hip[c.HIP_FLEXION_DEG].to_numpy()
    return out


@dataclass
class TrunkSignals:
    """Sacrum specific force in the travel frame (forward/left None without orientation)."""

    vertical_mps2: np.ndarray
    forward_mps2: np.ndarray | None
    left_mps2: np.ndarray | None
    yaw_rate_radps: np.ndarray | None


def trunk_signals(signals: Signals, cal: Calibration | None) -> TrunkSignals:
    """Vertical / forward / left sacrum specific force, and the yaw rate about the vertical."""
    sac = signals.sensors[c.SACRUM]
    fs = signals.sampling_rate_hz
    if sac.q_sensor_to_earth is None:
        acc = np.where(np.isfinite(sac.acc_mps2), sac.acc_mps2, 0.0)
        up = vertical_axis_from_gravity(acc, sampling_rate_hz=fs)
        return TrunkSignals(project_on_vertical(acc, up), None, None, None)
    acc_e = quat.rotate(sac.q_sensor_to_earth, sac.acc_mps2)
    yaw_rate = quat.rotate(sac.q_sensor_to_earth, sac.gyr_radps)[:, 2]
    if cal is not None and c.SACRUM in cal:
        q_seg = quat.multiply(sac.q_sensor_to_earth, quat.conjugate(cal[c.SACRUM].q_sensor_to_segment))
        fwd = quat.rotate(q_seg, np.tile([1.0, 0.0, 0.0], (len(q_seg), 1)))
        yaw = np.arctan2(fwd[:, 1], fwd[:, 0])
        heading = travel_heading_rad(yaw, sampling_rate_hz=fs, heading_window_s=2.0)
        f = np.stack([np.cos(heading), np.sin(heading)], axis=1)
        forward = acc_e[:, 0] * f[:, 0] + acc_e[:, 1] * f[:, 1]
        left = -acc_e[:, 0] * f[:, 1] + acc_e[:, 1] * f[:, 0]
        return TrunkSignals(acc_e[:, 2], forward, left, yaw_rate)
    return TrunkSignals(acc_e[:, 2], None, None, yaw_rate)


def detect_events(
    signals: Signals, trunk: TrunkSignals, angles: pd.DataFrame, bouts: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and strides of every walking/running bout."""
    fs = signals.sampling_rate_hz
    t = signals.time_s
    sac = signals.sensors[c.SACRUM]
    events, strides = [], []
    thigh_rates = {}
    for side in (c.LEFT, c.RIGHT):
        col = f"thigh_angle_{side}_deg"
        if col in angles:
            thigh_rates[side] = np.gradient(np.radians(angles[col].to_numpy()), 1.0 / fs)
    for bout_no, bout in enumerate(bouts.itertuples(index=False)):
        if bout.activity not in (c.RUNNING, c.WALKING):
            continue
        i0, i1 = np.searchsorted(t, [bout.start_s, bout.end_s])
        if i1 - i0 < int(2 * fs):
            continue
        sl = slice(i0, i1)
        if bout.activity == c.RUNNING:
            ev = detect_running_events(
                trunk.vertical_mps2[sl],
                sampling_rate_hz=fs,
                acc_ap_mps2=None if trunk.forward_mps2 is None else trunk.forward_mps2[sl],
            )
            ic, to_pos = ev.ic_pos, ev.to_pos
            sides = assign_running_sides(
                ev.ic_idx,
                sampling_rate_hz=fs,
                gyr_vertical_radps=None if trunk.yaw_rate_radps is None else trunk.yaw_rate_radps[sl],
                acc_ml_mps2=None if trunk.left_mps2 is None else trunk.left_mps2[sl],
                thigh_left_flexion_radps=thigh_rates[c.LEFT][sl] if c.LEFT in thigh_rates else None,
                thigh_right_flexion_radps=thigh_rates[c.RIGHT][sl] if c.RIGHT in thigh_rates else None,
            )
            ic_s = t[i0] + ic / fs
            to_s = t[i0] + to_pos / fs
        else:
            acc = np.where(np.isfinite(sac.acc_mps2[sl]), sac.acc_mps2[sl], 0.0)
            ev = detect_walking_events(
                acc, sampling_rate_hz=fs, gyr_radps=None if sac.gyr_radps is None else sac.gyr_radps[sl]
            )
            ic_s = t[i0] + ev.ic_idx / fs
            sides = ev.side
            # The walking detector's toe-off is the opposite foot's; contact time of this foot
            # is not measured while walking (left NaN, see docs/metrics.md).
            to_s = np.full(len(ic_s), np.nan)
        ic_sides = np.asarray(sides, dtype=object)
        for k in range(len(ic_s)):
            events.append({c.TIME_S: ic_s[k], c.EVENT: c.INITIAL_CONTACT, c.SIDE: ic_sides[k]})
            if math.isfinite(to_s[k]):
                events.append({c.TIME_S: to_s[k], c.EVENT: c.TOE_OFF, c.SIDE: ic_sides[k]})
        st = build_strides(ic_s, ic_sides, to_s, activity=bout.activity, bout=bout_no)
        if len(st):
            strides.append(st)
    ev_df = pd.DataFrame(events, columns=list(c.EVENT_COLUMNS))
    ev_df = ev_df.sort_values(c.TIME_S, kind="stable").reset_index(drop=True)
    st_df = pd.concat(strides, ignore_index=True) if strides else pd.DataFrame(
        columns=[*c.STRIDE_CONTRACT_COLUMNS, "activity", "bout"]
    )
    return ev_df, st_df


def _mark_gaps(strides: pd.DataFrame, gaps: list[dict[str, Any]]) -> pd.DataFrame:
    out = strides.copy()
    crossed = np.zeros(len(out), bool)
    for g in gaps:
        crossed |= (out[c.STRIDE_START_S] < g["end_s"]).to_numpy() & (
            out[c.STRIDE_END_S] > g["start_s"]
        ).to_numpy()
    out["gap_crossed"] = crossed
    keep = {*c.STRIDE_CONTRACT_COLUMNS, "activity", "bout", "lap", "gap_crossed"} - {
        c.STRIDE_TIME_S, c.CADENCE_SPM, c.CONTACT_TIME_S, c.STRIDE_LENGTH_M
    }
    if crossed.any():
        numeric = [col for col in out.columns if col not in keep and out[col].dtype.kind == "f"]
        out.loc[crossed, numeric] = np.nan
    return out


def analyse_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    athlete: Mapping[str, Any] | None = None,
    lap_marks_s: np.ndarray | None = None,
    calibration: Mapping[str, Any] | None = None,
    settings: PipelineSettings | None = None,
    cue_rules: list[CueRule] | None = None,
    cue_baseline: Mapping[str, float] | None = None,
) -> AnalysisResult:
    """Analyse one session's sample tables (see module docs)."""
    settings = settings or PipelineSettings()
    athlete = dict(athlete or {})
    signals = prepare_signals(tables)
    fs = signals.sampling_rate_hz
    t = signals.time_s
    estimate_orientations(signals, method=settings.orientation_method)
    cal, cal_source = calibrate(signals, calibration)
    angles = anatomical_angles(signals, cal)
    trunk = trunk_signals(signals, cal)
    sac = signals.sensors[c.SACRUM]
    acc_for_activity = np.where(np.isfinite(sac.acc_mps2), sac.acc_mps2, 0.0)
    bouts = classify_activity(acc_for_activity, sampling_rate_hz=fs, start_time_s=float(t[0]))
    events, strides = detect_events(signals, trunk, angles, bouts)

    # Laps: key presses from the session journal, plus double taps on the sacrum sensor.
    marks = [] if lap_marks_s is None else list(np.asarray(lap_marks_s, float))
    lap_source = "key"
    if settings.detect_double_taps and not marks:
        taps = detect_double_taps(sac.acc_mps2, sampling_rate_hz=fs)
        marks = list(t[taps])
        lap_source = "double_tap"
    lap_distance = float(athlete.get("lap_distance_m", settings.lap_distance_m))
    laps = laps_from_marks(np.asarray(marks), lap_distance_m=lap_distance, source=lap_source)

    if len(strides):
        named = {col: (t, angles[col].to_numpy()) for col in angles.columns if col != c.TIME_S}
        strides = add_angle_metrics(strides, named)
        strides = add_trunk_metrics(strides, t, trunk.vertical_mps2, trunk.forward_mps2)
        strides = _stride_lengths(strides, signals, trunk, athlete, laps, settings)
        strides = add_stability(
            strides, t, trunk.vertical_mps2, trunk.forward_mps2, trunk.left_mps2, settings.stability
        )
        strides = add_asymmetry(
            strides, ("hip_extension_peak_deg", "thigh_angle_ic_deg", c.CONTACT_TIME_S)
        )
        strides["lap"] = 0
        for lap in laps.itertuples(index=False):
            inside = (strides[c.STRIDE_START_S] >= lap.start_s) & (strides[c.STRIDE_START_S] < lap.end_s)
            strides.loc[inside, "lap"] = lap.lap
        strides = _mark_gaps(strides, signals.gaps)
        strides = _order_columns(strides)
    cues = run_cues(strides, rules=cue_rules, baseline=cue_baseline, min_gap_s=settings.cue_min_gap_s)
    quality = signals.quality
    quality["gaps"] = signals.gaps
    quality["calibration"] = cal_source
    summary = summarise(strides, laps, bouts, events, cues, t)
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
            "calibration": cal.to_dict() if cal is not None else None,
            "stride_length": strides.attrs.get("stride_length", {}),
        },
        angles=angles,
    )


def _stride_lengths(
    strides: pd.DataFrame,
    signals: Signals,
    trunk: TrunkSignals,
    athlete: Mapping[str, Any],
    laps: pd.DataFrame,
    settings: PipelineSettings,
) -> pd.DataFrame:
    out = strides.copy()
    t = signals.time_s
    fs = signals.sampling_rate_hz
    out[c.STRIDE_LENGTH_M] = np.nan
    info: dict[str, Any] = {}
    run = (out["activity"] == c.RUNNING).to_numpy()
    if run.any():
        leg = leg_length_m(dict(athlete))
        yaw = None
        if trunk.yaw_rate_radps is not None:
            yaw = stride_yaw_rate_radps(out.loc[run], t, trunk.yaw_rate_radps)
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
    walk = (out["activity"] == c.WALKING).to_numpy()
    if walk.any():
        height = float(athlete.get("height_m") or 1.75)
        sensor_h = float(athlete.get("sensor_height_m") or SENSOR_HEIGHT_PER_HEIGHT * height)
        sac = signals.sensors[c.SACRUM]
        starts = out.loc[walk, c.STRIDE_START_S].to_numpy()
        for bout_no in np.unique(out.loc[walk, "bout"]):
            rows = np.flatnonzero(walk & (out["bout"] == bout_no).to_numpy())
            ic_s = np.unique(np.concatenate([out[c.STRIDE_START_S].to_numpy()[rows],
                                             out[c.STRIDE_END_S].to_numpy()[rows]]))
            ic_idx = np.clip(np.round((ic_s - t[0]) * fs).astype(int), 0, len(t) - 1)
            acc = np.where(np.isfinite(sac.acc_mps2), sac.acc_mps2, 0.0)
            lengths = walking_stride_length_m(
                acc, ic_idx, sampling_rate_hz=fs, sensor_height_m=sensor_h
            )
            by_start = dict(zip(ic_s, lengths, strict=True))
            out.loc[out.index[rows], c.STRIDE_LENGTH_M] = [by_start.get(s, np.nan) for s in starts[np.isin(starts, ic_s)][: len(rows)]]
        info["walking"] = {"model": "inverted pendulum, Mobilise-D correction K = 4.739/4", "sensor_height_m": sensor_h}
    out["step_length_m"] = out[c.STRIDE_LENGTH_M] * out["step_time_s"] / out[c.STRIDE_TIME_S]
    out["speed_mps"] = out[c.STRIDE_LENGTH_M] / out[c.STRIDE_TIME_S]
    if "thigh_angle_ic_deg" in out:
        leg = leg_length_m(dict(athlete))
        out["foot_contact_distance_m"] = leg * np.sin(np.radians(out["thigh_angle_ic_deg"]))
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
    }
