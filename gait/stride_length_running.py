"""Running stride length from the sacrum events (and, on a track, its yaw rate), per-runner scale.

Models
------
A stride covers ``stride_length = speed * stride_time``; stride time is measured well (the
events), so everything rests on the speed. Two models, both scaled by one per-runner factor
fitted on a lap of known distance:

``contact`` (any running, sacrum events only)
    Constant contact length (approximately so across speeds in Weyand et al. 2000, J Appl
    Physiol 89:1991): the forward distance the body travels over its stance foot, ``L_c``,
    changes much less between strides and speeds than contact time does, so
    ``speed = L_c / contact_time`` and
    ``stride_length = L_c * stride_time / contact_time``. ``L_c`` starts at
    :data:`CONTACT_LENGTH_PER_LEG_LENGTH` x leg length and the lap scale makes it the runner's.
    Measured on real treadmill running (one runner, 2.5-4.2 m/s, slopes -10..+10 deg,
    leave-one-trial-out calibration, ``bench/results/stride_length_running.md``): 14 % mean
    absolute error with the sacrum events (10 % with force-plate contacts); it does not follow
    contact length changes at constant speed (a cadence change of 7 % that shortens contact
    time by 9 % reads as 9 % more speed).
``track`` (running on a standard 400 m track, sacrum yaw rate available)
    On a bend the body's heading turns at ``speed / R`` (``R`` = :data:`TRACK_BEND_RADIUS_M`, the
    lane-1 measuring line), so the stride's mean yaw rate about the vertical gives the speed
    directly (pelvic rotation cancels over a stride). Each bend re-anchors the runner's contact
    length (median of ``speed * contact_time`` over its strides); strides on the straights use
    the nearest bend's contact length with their own contact time. The lap scale absorbs a
    constant lane offset (running 0.3 m wider is +0.8 %). Within 1 % per lap on the simulator
    (randomised mountings, noise, bias, drift); not measured on real track data.

The thigh-geometry and stance-drop models of earlier versions were dropped: the drop geometry
was worse than a constant contact length on the real recordings (21 % against 14 %), and the
thigh geometry cannot be validated on either source (no real thigh data; the simulator does not
link thigh angles to the distance the pelvis travels over the foot).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gait.stride_length import DEFAULT_HEIGHT_M
from gait.strides import MetricWarning
from stridecue import constants as c

#: Leg length (greater trochanter to floor) as a fraction of body height (anthropometric tables).
LEG_LENGTH_PER_HEIGHT = 0.53

#: Contact length / leg length used before calibration: 0.70-0.89 on the real treadmill runner
#: (2.5-4.2 m/s, force-plate contact times; it rises with speed there, 0.65 -> 0.82 m).
CONTACT_LENGTH_PER_LEG_LENGTH = 0.8

#: Bend radius of lane 1 of a standard 400 m track at its measuring line (36.50 m + 0.30 m), m.
TRACK_BEND_RADIUS_M = 36.80

#: A stride is on a bend when the 5-stride mean of its yaw rate exceeds this in magnitude, rad/s
#: (2.5 m/s on lane 1 turns at 0.068 rad/s; straights at 0).
BEND_MIN_RATE_RADPS = 0.045

#: Strides whose 9-stride mean |yaw rate| is below this count as straight (gyro bias), rad/s.
STRAIGHT_MAX_RATE_RADPS = 0.03

#: Strides dropped at each end of a bend (they straddle the join with the straight).
BEND_TRIM_STRIDES = 2

#: Fewest strides left in a bend to give it a speed (a lane-1 bend at 5.5 m/s holds ~60).
BEND_MIN_STRIDES = 20

#: Straight strides take the contact length of bend strides within this time, s.
ANCHOR_WINDOW_S = 60.0


def leg_length_m(athlete: dict[str, float] | None) -> float:
    """Leg length from the athlete settings.

    Parameters
    ----------
    athlete
        Settings with ``leg_length_m`` or ``height_m`` (either may be missing).

    Returns
    -------
    float
        ``leg_length_m``, else 0.53 x ``height_m``, else 0.53 x ``DEFAULT_HEIGHT_M`` (1.75 m).
    """
    athlete = athlete or {}
    if athlete.get("leg_length_m"):
        return float(athlete["leg_length_m"])
    if athlete.get("height_m"):
        return LEG_LENGTH_PER_HEIGHT * float(athlete["height_m"])
    return LEG_LENGTH_PER_HEIGHT * DEFAULT_HEIGHT_M


def contact_model_speed_mps(
    contact_time_s: float, stride_time_s: float, *, leg_length_m: float, scale: float = 1.0
) -> float:
    """Running speed of one stride from the ``contact`` model: contact length / contact time.

    Parameters
    ----------
    contact_time_s, stride_time_s
        The stride's contact time and duration, s.
    leg_length_m
        Leg length, m (:func:`leg_length_m`).
    scale
        Per-runner scale of the contact length (1.0 = uncalibrated).

    Returns
    -------
    float
        Speed, m/s; NaN where the contact time is missing or implausible (outside 0.05 s .. 0.6 x
        stride time, as in :func:`running_stride_length_m`).
    """
    if not (0.05 < contact_time_s < 0.6 * stride_time_s):  # False for NaN
        return math.nan
    return scale * CONTACT_LENGTH_PER_LEG_LENGTH * leg_length_m / contact_time_s


def stride_yaw_rate_radps(
    strides: pd.DataFrame | Mapping[str, Any], time_s: np.ndarray, yaw_rate_radps: np.ndarray
) -> np.ndarray:
    """Mean yaw rate about the earth vertical over each stride (IC to IC of the same foot).

    Over a whole stride the pelvic rotation cancels, so what remains is the turning of the path
    (plus any uncorrected gyro bias).

    Parameters
    ----------
    strides
        Stride table with ``start_s`` and ``end_s`` (or a mapping of those columns to arrays).
    time_s
        Sample times, s, shape (N,).
    yaw_rate_radps
        Angular rate about the earth vertical (+ counter-clockwise seen from above), rad/s,
        shape (N,).

    Returns
    -------
    numpy.ndarray
        Mean yaw rate per stride, rad/s; NaN where the stride holds missing samples.
    """
    yaw = np.asarray(yaw_rate_radps, float)
    t = np.asarray(time_s, float)
    start = np.asarray(strides[c.STRIDE_START_S], float)
    end = np.asarray(strides[c.STRIDE_END_S], float)
    out = np.full(len(start), np.nan)
    if len(t) < 2:
        return out
    # Trapezoid cumulative integral: the stride mean is a difference of two lookups.
    dt = np.diff(t)
    seg = 0.5 * (yaw[1:] + yaw[:-1]) * dt
    bad = ~np.isfinite(seg)
    cum = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, seg))])
    cum_bad = np.concatenate([[0], np.cumsum(bad)])
    ok = np.isfinite(start) & np.isfinite(end) & (end > start) & (start >= t[0]) & (end <= t[-1])
    i0 = np.clip(np.searchsorted(t, start), 0, len(t) - 1)
    i1 = np.clip(np.searchsorted(t, end), 0, len(t) - 1)
    ok &= (i1 - i0) >= 2
    ok &= (cum_bad[np.clip(i1, 0, len(t) - 1)] - cum_bad[np.clip(i0 - 1, 0, None)]) == 0
    # The heading at the exact IC times (interpolated), so the rotation cancels to the sample.
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.interp(end, t, cum) - np.interp(start, t, cum)) / (end - start)
    out[ok] = mean[ok]
    return out


def bend_speed_mps(
    stride_yaw_rate_radps: np.ndarray,
    *,
    stride_time_s: np.ndarray,
    track_radius_m: float = TRACK_BEND_RADIUS_M,
) -> np.ndarray:
    """Speed on the bends of a track from the strides' mean yaw rate, NaN off the bends.

    A single stride's mean yaw rate carries the stride-to-stride variation of pelvic rotation
    (a 2 deg difference between its two ICs is 0.05 rad/s), so the speed is taken per bend:
    strides in time order whose 5-stride mean yaw rate exceeds :data:`BEND_MIN_RATE_RADPS` in
    magnitude form a bend; its first and last :data:`BEND_TRIM_STRIDES` strides (partly on the
    straight) are dropped, and the time-weighted mean rate of the rest (the heading change over
    the bend divided by its duration: the per-stride endpoints telescope) times the radius is
    the speed given to each of them. A residual gyro bias is taken out first: the same
    time-weighted mean over the straights (9-stride mean rate below
    :data:`STRAIGHT_MAX_RATE_RADPS`, ends trimmed), whose true heading change is zero on a track.

    Parameters
    ----------
    stride_yaw_rate_radps
        Mean yaw rate per stride, rad/s (strides in time order, both sides).
    stride_time_s
        Stride durations, s.
    track_radius_m
        Radius of the line run on the bends, m.

    Returns
    -------
    numpy.ndarray
        Speed per stride on the bends, m/s; NaN elsewhere, and everywhere when the session has
        no bend of at least :data:`BEND_MIN_STRIDES` strides.
    """
    w = np.asarray(stride_yaw_rate_radps, float).copy()
    dur = np.asarray(stride_time_s, float)
    out = np.full(w.shape, np.nan)
    finite = np.isfinite(w) & np.isfinite(dur)
    w0 = np.where(finite, w, 0.0)

    def runs(mask: np.ndarray, min_len: int) -> list[slice]:
        edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
        out_runs = []
        for s0, s1 in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            i0, i1 = s0 + BEND_TRIM_STRIDES, s1 - BEND_TRIM_STRIDES
            if i1 - i0 >= min_len:
                out_runs.append(slice(i0, i1))
        return out_runs

    smooth = np.abs(pd.Series(w).rolling(5, center=True, min_periods=1).mean().to_numpy())
    # Residual bias: the heading change over the straights (zero on a track) per unit time.
    smooth9 = np.abs(pd.Series(w).rolling(9, center=True, min_periods=1).mean().to_numpy())
    straights = runs(finite & (smooth9 < STRAIGHT_MAX_RATE_RADPS), 10)
    t_straight = sum(float(np.sum(dur[r][finite[r]])) for r in straights)
    if straights and t_straight > 0:
        bias = sum(float(np.sum((w0 * dur)[r][finite[r]])) for r in straights) / t_straight
        w0 = w0 - bias
        smooth = pd.Series(w - bias).rolling(5, center=True, min_periods=1).mean().abs().to_numpy()
    for sel in runs(finite & (smooth > BEND_MIN_RATE_RADPS), BEND_MIN_STRIDES):
        ok = finite[sel]
        rate = np.sum(w0[sel][ok] * dur[sel][ok]) / np.sum(dur[sel][ok])
        out[sel] = np.where(ok, abs(rate) * track_radius_m, np.nan)
    return out


def _anchored_contact_length_m(
    start_s: np.ndarray, contact_time_s: np.ndarray, bend_speed: np.ndarray
) -> np.ndarray:
    """Contact length per stride anchored on the bends (speed x contact time measured there).

    Bend strides take their own bend's median ``speed x contact time``; other strides take the
    bend (previous or next, within :data:`ANCHOR_WINDOW_S`) whose median contact time is closest
    to theirs (a 5-stride median), so a pace change at a lap start follows the bend run at the
    new pace rather than the one before it.
    """
    lc_bend = bend_speed * contact_time_s
    have = np.isfinite(lc_bend)
    out = np.full(len(start_s), np.nan)
    if not have.any():
        return out
    idx = np.flatnonzero(have)
    cut = np.flatnonzero(np.diff(idx) > 1) + 1
    groups = [idx[g] for g in np.split(np.arange(len(idx)), cut)]
    lo = np.array([start_s[g[0]] for g in groups])
    hi = np.array([start_s[g[-1]] for g in groups])
    value = np.array([np.median(lc_bend[g]) for g in groups])
    tc_bend = np.array([np.median(contact_time_s[g]) for g in groups])
    tc_local = pd.Series(contact_time_s).rolling(5, center=True, min_periods=1).median().to_numpy()
    for k, t in enumerate(start_s):
        if not (math.isfinite(t) and math.isfinite(tc_local[k])):
            continue
        inside = np.flatnonzero((lo <= t) & (t <= hi))
        if inside.size:
            out[k] = value[inside[0]]
            continue
        before = np.flatnonzero((hi < t) & (t - hi <= ANCHOR_WINDOW_S))
        after = np.flatnonzero((lo > t) & (lo - t <= ANCHOR_WINDOW_S))
        cands = [i for i in (before[-1:].tolist() + after[:1].tolist())]
        if not cands:
            continue
        best = min(cands, key=lambda i: abs(math.log(tc_local[k] / tc_bend[i])))
        out[k] = value[best]
    return out


def running_stride_length_m(
    strides: pd.DataFrame,
    *,
    leg_length_m: float,
    scale: float = 1.0,
    stride_yaw_rate_radps: np.ndarray | None = None,
    track_radius_m: float = TRACK_BEND_RADIUS_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated-or-scaled stride length per running stride and the model used.

    Parameters
    ----------
    strides
        Running strides (any order) with ``start_s``, ``stride_time_s`` and
        ``contact_time_s``.
    leg_length_m
        Leg length, m (sets the uncalibrated contact length).
    scale
        Per-runner scale (1.0 = uncalibrated), fitted per model by :func:`fit_scale_from_laps`.
    stride_yaw_rate_radps
        Per-stride mean yaw rate (:func:`stride_yaw_rate_radps`); when given and the session
        shows track bends, strides within :data:`ANCHOR_WINDOW_S` of a bend use ``track``.
    track_radius_m
        Bend radius of the line run, m.

    Returns
    -------
    stride_length_m, model
        Lengths (m; NaN where contact or stride time is missing or implausible) and per-stride
        ``track`` | ``contact`` | ``""``.
    """
    n = len(strides)
    contact = strides[c.CONTACT_TIME_S].to_numpy(float)
    stride_time = strides[c.STRIDE_TIME_S].to_numpy(float)
    ok = (
        np.isfinite(contact) & np.isfinite(stride_time)
        & (contact > 0.05) & (contact < 0.6 * stride_time)
    )
    if (~ok & np.isfinite(contact) & np.isfinite(stride_time)).any():
        warnings.warn(
            f"{int((~ok & np.isfinite(contact)).sum())} running strides have an implausible "
            "contact time (outside 0.05 s .. 0.6 x stride time): no stride length for them",
            MetricWarning,
            stacklevel=2,
        )
    lc = np.full(n, np.nan)
    model = np.full(n, "", dtype=object)
    lc[ok] = CONTACT_LENGTH_PER_LEG_LENGTH * leg_length_m
    model[ok] = "contact"
    if stride_yaw_rate_radps is not None and n:
        # Bends are runs of consecutive strides: work in time order, whatever the table's order.
        start = strides[c.STRIDE_START_S].to_numpy(float)
        order = np.argsort(start, kind="stable")
        yaw = np.asarray(stride_yaw_rate_radps, float)[order]
        v_bend = bend_speed_mps(
            yaw, stride_time_s=stride_time[order], track_radius_m=track_radius_m
        )
        v_bend[~ok[order]] = np.nan
        anchored = np.full(n, np.nan)
        anchored[order] = _anchored_contact_length_m(start[order], contact[order], v_bend)
        use = ok & np.isfinite(anchored)
        lc[use] = anchored[use]
        model[use] = "track"
    with np.errstate(invalid="ignore", divide="ignore"):
        length = scale * lc * stride_time / contact
    length[~np.isfinite(length)] = np.nan
    return length, model


def fit_scale_from_laps(
    strides: pd.DataFrame, laps: pd.DataFrame, length_column: str
) -> tuple[float, int | None]:
    """Scale from the first complete lap: known distance / predicted distance.

    Strides overlap by one step, so the distance covered in a lap is half the sum of the stride
    lengths that start in it; strides missing inside the lap (NaN lengths, skipped events) are
    accounted for by the fraction of the lap's time the measured strides cover.

    Parameters
    ----------
    strides
        Stride table with ``start_s``, ``stride_time_s`` and ``length_column``.
    laps
        Lap table with ``lap``, ``start_s``, ``end_s``, ``distance_m``.
    length_column
        Column of ``strides`` holding the unscaled stride lengths, m.

    Returns
    -------
    scale, lap
        ``(scale, lap number)``, or ``(nan, None)`` when no lap has 20 measured strides.
    """
    if not len(laps) or not len(strides):
        return math.nan, None
    for lap in laps.itertuples(index=False):
        if not math.isfinite(lap.distance_m):
            continue
        start = strides[c.STRIDE_START_S]
        inside = (start >= lap.start_s) & (start < lap.end_s)
        lengths = strides.loc[inside, length_column].to_numpy(float)
        covered = np.isfinite(lengths)
        if covered.sum() < 20:
            continue
        t_cov = strides.loc[inside, c.STRIDE_TIME_S].to_numpy(float)[covered].sum()
        predicted = lengths[covered].sum() * (lap.end_s - lap.start_s) / t_cov
        if predicted > 0:
            return float(lap.distance_m / predicted), int(lap.lap)
    return math.nan, None
