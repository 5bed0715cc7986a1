"""Strides from gait events, and the per-stride metrics computed from per-sample signals.

A stride runs from the initial contact (IC) of one foot to the next IC of the same foot; its
``side`` is that foot. Where sides are unknown (accelerometer-only sacrum data), a stride is IC
``i`` to IC ``i + 2``; where they are known, the three contacts must alternate feet
(:func:`stride_side`). Definitions of every column are in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from stridecue import constants as c

#: Strides longer than this are not strides (a pause, a missed event).
MAX_STRIDE_TIME_S = {c.RUNNING: 1.2, c.WALKING: 2.5}
#: A step whose time differs from its neighbours' median by more than this fraction marks a
#: missed or extra event; the strides around it are dropped.
STEP_TIME_TOLERANCE = 0.35


class MetricWarning(UserWarning):
    """A metric could not be measured for some strides (left NaN)."""


def stride_side(first: str, middle: str, last: str) -> str | None:
    """The foot of a stride from the sides of its three contacts, or None if they do not alternate.

    A stride runs from a contact to the next contact of the same foot, two steps on: where the
    sides are known, consecutive contacts must be of different feet and the first and last of the
    same foot (two contacts of one foot in a row mean a missed or mislabelled event, and the
    stride would be a step and a half or end on the other foot). The stride's side is the first
    contact's, or the last one's when only that is known; ``unknown`` when neither is.
    """
    known = [s != c.UNKNOWN for s in (first, middle, last)]
    if (known[0] and known[1] and first == middle) or (known[1] and known[2] and middle == last):
        return None
    if known[0] and known[2] and first != last:
        return None
    return first if known[0] else last


def build_strides(
    ic_s: np.ndarray,
    ic_side: np.ndarray,
    to_s: np.ndarray | None,
    *,
    activity: str,
    bout: int = 0,
) -> pd.DataFrame:
    """Strides, step and contact times from the ICs (and TOs) of one bout.

    Parameters
    ----------
    ic_s
        Initial-contact times, increasing (s, session clock).
    ic_side
        Side of each IC (``left`` | ``right`` | ``unknown``).
    to_s
        Toe-off time following each IC (NaN where none), same length as ``ic_s``; or None.
    activity
        ``running`` or ``walking``: sets the longest plausible stride.
    bout
        Bout number stored in the ``bout`` column.
    """
    ic_s = np.asarray(ic_s, float)
    ic_side = np.asarray(ic_side, dtype=object)
    n = len(ic_s)
    to = np.full(n, np.nan) if to_s is None else np.asarray(to_s, float)
    rows = []
    step = np.diff(ic_s)
    max_stride = MAX_STRIDE_TIME_S.get(activity, 2.5)
    for i in range(n - 2):
        # The next IC of the same foot: two steps on (alternating feet).
        j = i + 2
        side = stride_side(ic_side[i], ic_side[i + 1], ic_side[j])
        if side is None:
            continue  # two contacts of one foot in a row: a missed event, skip
        stride_time = ic_s[j] - ic_s[i]
        if not 0 < stride_time <= max_stride:
            continue
        local = step[max(0, i - 3) : i + 5]
        med = float(np.median(local))
        if any(abs(s - med) > STEP_TIME_TOLERANCE * med for s in step[i : i + 2]):
            continue
        contact = to[i] - ic_s[i] if math.isfinite(to[i]) else math.nan
        if not (0 < contact < step[i]):
            contact = math.nan
        step_time = float(step[i])
        flight = step_time - contact if math.isfinite(contact) else math.nan
        if activity == c.WALKING:
            flight = math.nan
        rows.append(
            {
                c.STRIDE_START_S: ic_s[i],
                c.STRIDE_END_S: ic_s[j],
                c.SIDE: side,
                c.STRIDE_TIME_S: stride_time,
                c.CADENCE_SPM: 120.0 / stride_time,
                c.CONTACT_TIME_S: contact,
                "activity": activity,
                "bout": bout,
                "step_time_s": step_time,
                "flight_time_s": flight,
                "duty_factor": contact / stride_time if math.isfinite(contact) else math.nan,
            }
        )
    return pd.DataFrame(rows)


#: Columns of :func:`angle_metrics`, in order.
ANGLE_METRICS = (
    "pelvis_tilt_mean_deg", "pelvis_tilt_range_deg", "pelvis_tilt_peak_anterior_deg",
    "pelvis_obliquity_range_deg", "pelvis_drop_deg", "pelvis_rotation_range_deg",
    "thigh_angle_ic_deg", "thigh_angle_to_deg", "thigh_excursion_deg", "hip_flexion_ic_deg",
    "hip_flexion_peak_deg", "hip_extension_peak_deg",
)


def add_angle_metrics(
    strides: pd.DataFrame,
    angles: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> pd.DataFrame:
    """Per-stride pelvic, thigh and hip metrics from per-sample angle series.

    Parameters
    ----------
    strides
        Output of :func:`build_strides` (needs ``start_s``, ``end_s``, ``side``,
        ``contact_time_s``).
    angles
        Name to ``(time_s, values_deg)``. Recognised names: ``pelvis_tilt_deg``,
        ``pelvis_obliquity_deg``, ``pelvis_rotation_deg``, ``thigh_angle_left_deg``,
        ``thigh_angle_right_deg``, ``hip_flexion_left_deg``, ``hip_flexion_right_deg``.
        Missing series leave their metrics NaN.

    Returns
    -------
    pandas.DataFrame
        A copy of ``strides`` with the columns :data:`ANGLE_METRICS` (:func:`angle_metrics`).
    """
    out = strides.copy()
    cols = angle_metrics(
        strides[c.STRIDE_START_S].to_numpy(float), strides[c.STRIDE_END_S].to_numpy(float),
        strides[c.SIDE].to_numpy(), strides[c.CONTACT_TIME_S].to_numpy(float), angles,
    )
    for name, values in cols.items():
        out[name] = values
    return out


def angle_metrics(
    start_s: np.ndarray,
    end_s: np.ndarray,
    side: np.ndarray,
    contact_time_s: np.ndarray,
    angles: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> dict[str, np.ndarray]:
    """The arrays behind :func:`add_angle_metrics`: one value per stride and metric.

    Parameters
    ----------
    start_s, end_s, side, contact_time_s
        (M,) each: the strides' start and end (s), side and contact time (s, NaN unknown).
    angles
        Name to ``(time_s, values_deg)`` as in :func:`add_angle_metrics`.

    Returns
    -------
    dict
        :data:`ANGLE_METRICS` name to an (M,) float array.
    """
    cols: dict[str, list[float]] = {name: [] for name in ANGLE_METRICS}

    def window(name: str, t0: float, t1: float) -> np.ndarray:
        if name not in angles:
            return np.empty(0)
        t, v = angles[name]
        i0, i1 = np.searchsorted(t, [t0, t1])
        return v[i0:i1]

    for t0, t1, side_k, contact_k in zip(start_s, end_s, side, contact_time_s, strict=True):
        tilt = window(c.PELVIS_TILT_DEG, t0, t1)
        obl = window(c.PELVIS_OBLIQUITY_DEG, t0, t1)
        rot = window(c.PELVIS_ROTATION_DEG, t0, t1)
        valid_tilt = tilt[np.isfinite(tilt)] if len(tilt) else tilt
        cols["pelvis_tilt_mean_deg"].append(float(np.mean(valid_tilt)) if len(valid_tilt) else math.nan)
        cols["pelvis_tilt_range_deg"].append(float(np.ptp(valid_tilt)) if len(valid_tilt) else math.nan)
        cols["pelvis_tilt_peak_anterior_deg"].append(
            float(np.max(valid_tilt)) if len(valid_tilt) else math.nan
        )
        cols["pelvis_obliquity_range_deg"].append(float(np.ptp(obl)) if len(obl) else math.nan)
        cols["pelvis_rotation_range_deg"].append(float(np.ptp(rot)) if len(rot) else math.nan)
        # Drop of the swing side during this foot's contact: stance on the left -> the right side
        # (swing) drops -> obliquity rises (+ = left side up); stance right -> obliquity falls.
        contact = contact_k if math.isfinite(contact_k) else 0.5 * (t1 - t0) * 0.5
        stance = window(c.PELVIS_OBLIQUITY_DEG, t0, t0 + contact)
        if len(stance) and side_k in (c.LEFT, c.RIGHT):
            sign = 1.0 if side_k == c.LEFT else -1.0
            cols["pelvis_drop_deg"].append(float(np.max(sign * (stance - stance[0]))))
        else:
            cols["pelvis_drop_deg"].append(math.nan)

        th = window(f"thigh_angle_{side_k}_deg", t0, t1)
        cols["thigh_excursion_deg"].append(float(np.ptp(th)) if len(th) else math.nan)
        hip = window(f"hip_flexion_{side_k}_deg", t0, t1)
        cols["hip_flexion_peak_deg"].append(float(np.max(hip)) if len(hip) else math.nan)
        cols["hip_extension_peak_deg"].append(float(-np.min(hip)) if len(hip) else math.nan)
    # Values at IC and toe-off: one interpolation per series for all strides.
    starts = np.asarray(start_s, float)
    to_s = starts + np.asarray(contact_time_s, float)
    sides = np.asarray(side)
    out = {name: np.asarray(values, float) for name, values in cols.items()}
    for key, prefix, at in (
        ("thigh_angle_ic_deg", "thigh_angle", starts),
        ("thigh_angle_to_deg", "thigh_angle", to_s),
        ("hip_flexion_ic_deg", "hip_flexion", starts),
    ):
        values = np.full(len(starts), np.nan)
        for side_k in (c.LEFT, c.RIGHT):
            name = f"{prefix}_{side_k}_deg"
            if name not in angles:
                continue
            t, v = angles[name]
            mask = (sides == side_k) & np.isfinite(at)
            if len(t) and mask.any():
                inside = mask & (at >= t[0]) & (at <= t[-1])
                values[inside] = np.interp(at[inside], t, v)
        out[key] = values
    return out


def add_trunk_metrics(
    strides: pd.DataFrame,
    time_s: np.ndarray,
    acc_vertical_mps2: np.ndarray,
    acc_forward_mps2: np.ndarray | None,
) -> pd.DataFrame:
    """Vertical oscillation and braking per stride from the sacrum's earth-frame acceleration.

    Vertical oscillation: the specific force minus its stride mean (over a whole stride the mean
    vertical specific force is gravity) integrated twice with the velocity's mean and the position's
    linear trend removed; peak-to-trough of the sacrum. Braking: the forward acceleration, minus
    its stride mean, integrated from IC; the forward speed lost from IC to its minimum during
    contact (m/s, positive). The columns ``vertical_oscillation_m`` and ``braking_mps`` of
    :func:`trunk_metrics`, added to a copy of ``strides``.
    """
    out = strides.copy()
    out["vertical_oscillation_m"], out["braking_mps"] = trunk_metrics(
        strides[c.STRIDE_START_S].to_numpy(float), strides[c.STRIDE_END_S].to_numpy(float),
        strides[c.CONTACT_TIME_S].to_numpy(float), time_s, acc_vertical_mps2, acc_forward_mps2,
    )
    return out


def trunk_metrics(
    start_s: np.ndarray,
    end_s: np.ndarray,
    contact_time_s: np.ndarray,
    time_s: np.ndarray,
    acc_vertical_mps2: np.ndarray,
    acc_forward_mps2: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The arrays behind :func:`add_trunk_metrics`.

    Parameters
    ----------
    start_s, end_s, contact_time_s
        (M,) each: the strides' start and end and their contact time (NaN unknown), s.
    time_s, acc_vertical_mps2, acc_forward_mps2
        (N,) samples: time, earth-vertical and forward specific force (m/s^2; forward None
        without orientation).

    Returns
    -------
    vertical_oscillation_m, braking_mps : numpy.ndarray
        (M,) each; NaN where the stride holds fewer than 10 samples (braking also without a
        forward signal or a contact time).
    """
    osc, brk = [], []
    for t0, t1, contact in zip(start_s, end_s, contact_time_s, strict=True):
        i0, i1 = np.searchsorted(time_s, [t0, t1])
        if i1 - i0 < 10:
            osc.append(math.nan)
            brk.append(math.nan)
            continue
        t = time_s[i0:i1]
        dt = np.diff(t, prepend=t[0])
        az = acc_vertical_mps2[i0:i1]
        a = az - np.mean(az)
        v = np.cumsum(a * dt)
        v -= np.mean(v)
        p = np.cumsum(v * dt)
        # remove the least-squares line (the drift of the double integration)
        x = t - t[0]
        x -= x.mean()
        p -= x * (np.dot(x, p) / np.dot(x, x))
        osc.append(float(p.max() - p.min()))
        if acc_forward_mps2 is None or not math.isfinite(contact):
            brk.append(math.nan)
            continue
        af = acc_forward_mps2[i0:i1]
        vf = np.cumsum((af - np.mean(af)) * dt)
        n_contact = max(2, int(np.searchsorted(t, t0 + contact)))
        brk.append(float(vf[0] - np.min(vf[:n_contact])))
    return np.asarray(osc, float), np.asarray(brk, float)


def asymmetry_name(metric: str) -> str:
    for unit in ("_deg", "_m", "_s", "_spm", "_mps"):
        if metric.endswith(unit):
            return metric[: -len(unit)] + "_asymmetry" + unit
    return metric + "_asymmetry"
