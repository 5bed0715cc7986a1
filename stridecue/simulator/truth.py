"""Ground-truth tables derived from the kinematic model (events, strides, angles, laps)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stridecue.constants import (
    EVENT,
    INITIAL_CONTACT,
    LEFT,
    RIGHT,
    RUNNING,
    SIDE,
    TIME_S,
    TOE_OFF,
    WALKING,
)

from .kinematics import Kinematics
from .sensors import TAP_INTERVAL_S

#: Gait amplitude weight above which events and strides are reported.
MIN_GAIT_WEIGHT = 0.5
STRIDE_COLUMNS = (
    "start_s", "end_s", "side", "stride_time_s", "step_time_s", "cadence_spm", "contact_time_s",
    "flight_time_s", "duty_factor", "stride_length_m", "step_length_m", "speed_mps",
    "vertical_oscillation_m", "braking_mps", "pelvis_tilt_mean_deg", "pelvis_tilt_range_deg",
    "pelvis_tilt_peak_anterior_deg", "pelvis_obliquity_range_deg", "pelvis_drop_deg",
    "pelvis_rotation_range_deg", "thigh_angle_ic_deg", "hip_flexion_ic_deg",
    "hip_flexion_peak_deg", "hip_extension_peak_deg", "foot_contact_distance_m", "activity",
    "lap",
)


def _crossings(kin: Kinematics, g: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Times where ``g - offset`` crosses an integer upwards, and that integer."""
    k = np.floor(g - offset)
    i = np.flatnonzero(np.diff(k) > 0)
    n = k[i + 1]
    frac = (n + offset - g[i]) / (g[i + 1] - g[i])
    return kin.t0 + (i + frac) * kin.dt, n.astype(int)


def event_arrays(kin: Kinematics) -> dict[str, np.ndarray]:
    """IC and TO times per side, indexed by stride number (NaN where not reported).

    Right IC at stride phase n, left IC at n + 1/2, right TO at n + duty, left TO at
    n + 1/2 + duty (the duty factor is ramped like every other parameter).
    """
    t_all = kin.time(np.arange(kin.n))
    duty = kin.schedule.params(t_all, ("duty_factor",))["duty_factor"]
    size = int(np.floor(kin.phi[-1])) + 2
    out = {}
    for name, g, off in (
        ("ic_right", kin.phi, 0.0),
        ("ic_left", kin.phi, 0.5),
        ("to_right", kin.phi - duty, 0.0),
        ("to_left", kin.phi - duty, 0.5),
    ):
        t, n = _crossings(kin, g, off)
        gw = kin.schedule.params(t, ("gait",))["gait"]
        ok = (gw >= MIN_GAIT_WEIGHT) & (t >= 0.0) & (t <= kin.schedule.duration_s) & (n >= 0)
        arr = np.full(size, np.nan)
        arr[n[ok]] = t[ok]
        out[name] = arr
    return out


def events_table(ev: dict[str, np.ndarray]) -> pd.DataFrame:
    """The events table: ``time_s``, ``event``, ``side`` sorted by time."""
    parts = []
    for key, event, side in (
        ("ic_right", INITIAL_CONTACT, RIGHT),
        ("ic_left", INITIAL_CONTACT, LEFT),
        ("to_right", TOE_OFF, RIGHT),
        ("to_left", TOE_OFF, LEFT),
    ):
        t = ev[key][np.isfinite(ev[key])]
        parts.append(pd.DataFrame({TIME_S: t, EVENT: event, SIDE: side}))
    df = pd.concat(parts, ignore_index=True)
    return df.sort_values(TIME_S, kind="stable").reset_index(drop=True)


def lap_boundaries(kin: Kinematics) -> np.ndarray:
    """True times at which the distance since the lap origin crosses multiples of a lap."""
    lap = kin.plan.lap_length_m
    g = (kin.s - kin.lap_origin_m) / lap
    t, n = _crossings(kin, g, 0.0)
    keep = (n >= 1) & (t <= kin.schedule.duration_s)
    return np.concatenate([[kin.lap_origin_s], t[keep]])


def laps_table(bounds: np.ndarray, lap_length_m: float) -> pd.DataFrame:
    """Complete laps: ``lap``, ``start_s``, ``end_s``, ``duration_s``, ``distance_m``."""
    start, end = bounds[:-1], bounds[1:]
    return pd.DataFrame(
        {
            "lap": np.arange(1, len(start) + 1),
            "start_s": start,
            "end_s": end,
            "duration_s": end - start,
            "distance_m": np.full(len(start), lap_length_m),
        }
    )


def lap_marks_table(bounds: np.ndarray, method: str | None) -> pd.DataFrame:
    """Lap marks at every lap boundary: ``time_s`` (first tap / key press), ``second_tap_s``,
    ``lap_starting`` and ``method``."""
    if method is None:
        bounds = bounds[:0]
    return pd.DataFrame(
        {
            TIME_S: bounds,
            "second_tap_s": bounds + TAP_INTERVAL_S if method == "double_tap" else np.nan,
            "lap_starting": np.arange(1, len(bounds) + 1),
            "method": method or "",
        }
    )


def strides_table(kin: Kinematics, ev: dict[str, np.ndarray], bounds: np.ndarray) -> pd.DataFrame:
    """One row per stride (IC to next IC of the same foot) with the truth metrics.

    Definitions follow ``stridecue.constants.STRIDE_METRIC_COLUMNS``; see docs/simulator.md.
    """
    rows = []
    n = len(ev["ic_right"]) - 1
    cand = []
    for k in range(n):
        cand.append((RIGHT, ev["ic_right"][k], ev["ic_right"][k + 1], ev["ic_left"][k],
                     ev["to_right"][k]))
        cand.append((LEFT, ev["ic_left"][k], ev["ic_left"][k + 1], ev["ic_right"][k + 1],
                     ev["to_left"][k]))
    cand = [c for c in cand if np.isfinite(c[1:]).all()]
    cand.sort(key=lambda c: c[1])
    geo = kin.geometry
    block: list[tuple] = []

    def flush(block: list[tuple]) -> None:
        if not block:
            return
        idx = kin.index_range(block[0][1], max(c[2] for c in block), margin_s=0.01)
        st = kin.state(idx)
        t = st["time_s"]
        deg = 180.0 / np.pi
        for side, t0, t1, t_opp, t_to in block:
            m = (t >= t0) & (t <= t1)
            mc = (t >= t0) & (t <= t_to)

            def at(key: str, tq: float, st=st) -> float:
                return float(np.interp(tq, t, st[key]))

            tilt = st["pelvis_tilt"][m] * deg
            obl = st["pelvis_obliquity"][m] * deg
            obl_c = st["pelvis_obliquity"][mc] * deg
            obl_ic = at("pelvis_obliquity", t0) * deg
            drop = obl_ic - obl_c.min() if side == RIGHT else obl_c.max() - obl_ic
            hip = st[f"hip_flexion_{side}"][m] * deg
            theta_ic = at(f"thigh_{side}", t0)
            knee_ic = np.deg2rad(at("param_knee_flexion_ic_deg", t0))
            run = at("param_run", t0) >= 0.5
            stride_time = t1 - t0
            step_time = t_opp - t0
            contact = t_to - t0
            stride_len = at("s", t1) - at("s", t0)
            rows.append(
                {
                    "start_s": t0, "end_s": t1, "side": side, "stride_time_s": stride_time,
                    "step_time_s": step_time, "cadence_spm": 120.0 / stride_time,
                    "contact_time_s": contact,
                    "flight_time_s": step_time - contact if run else 0.0,
                    "duty_factor": contact / stride_time,
                    "stride_length_m": stride_len,
                    "step_length_m": at("s", t_opp) - at("s", t0),
                    "speed_mps": stride_len / stride_time,
                    "vertical_oscillation_m": float(np.ptp(st["pos_sacrum"][m, 2])),
                    "braking_mps": at("v_fwd", t0) - float(st["v_fwd"][mc].min()),
                    "pelvis_tilt_mean_deg": float(tilt.mean()),
                    "pelvis_tilt_range_deg": float(np.ptp(tilt)),
                    "pelvis_tilt_peak_anterior_deg": float(tilt.max()),
                    "pelvis_obliquity_range_deg": float(np.ptp(obl)),
                    "pelvis_drop_deg": float(drop),
                    "pelvis_rotation_range_deg": float(np.ptp(st["pelvis_rotation"][m]) * deg),
                    "thigh_angle_ic_deg": theta_ic * deg,
                    "hip_flexion_ic_deg": at(f"hip_flexion_{side}", t0) * deg,
                    "hip_flexion_peak_deg": float(hip.max()),
                    "hip_extension_peak_deg": float(-hip.min()),
                    "foot_contact_distance_m": geo.thigh_length_m * np.sin(theta_ic)
                    + geo.shank_length_m * np.sin(theta_ic - knee_ic),
                    "activity": RUNNING if run else WALKING,
                    "lap": int(np.searchsorted(bounds, t0, side="right")),
                }
            )

    for c in cand:
        if block and c[2] - block[0][1] > 60.0:
            flush(block)
            block = []
        block.append(c)
    flush(block)
    return pd.DataFrame(rows, columns=list(STRIDE_COLUMNS))


def angles_table(kin: Kinematics, rate_hz: float) -> pd.DataFrame:
    """Per-sample truth angles (degrees) on the true session clock at ``rate_hz``."""
    step = max(int(round(1.0 / (rate_hz * kin.dt))), 1)
    i0 = int(round(-kin.t0 / kin.dt))
    i1 = int(round((kin.schedule.duration_s - kin.t0) / kin.dt))
    parts = []
    deg = 180.0 / np.pi
    for a in range(i0, i1 + 1, step * 20000):
        idx = np.arange(a, min(a + step * 20000, i1 + 1), step)
        st = kin.state(idx)
        parts.append(
            pd.DataFrame(
                {
                    TIME_S: st["time_s"],
                    "pelvis_tilt_deg": st["pelvis_tilt"] * deg,
                    "pelvis_obliquity_deg": st["pelvis_obliquity"] * deg,
                    "pelvis_rotation_deg": st["pelvis_rotation"] * deg,
                    "thigh_angle_left_deg": st["thigh_left"] * deg,
                    "thigh_angle_right_deg": st["thigh_right"] * deg,
                    "hip_flexion_left_deg": st["hip_flexion_left"] * deg,
                    "hip_flexion_right_deg": st["hip_flexion_right"] * deg,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
