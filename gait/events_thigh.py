"""Running gait events refined by a thigh IMU: side, initial-contact timing and toe-off of its leg.

The sacrum detector (:mod:`gait.events_running`) finds every contact and times it against force
plates; a thigh sensor sees its own leg's swing directly. This module takes the sacrum's initial
contacts of one running bout and one thigh's sagittal angle (``thigh_angle_deg``, + flexion, 0 in
the standing calibration pose, as :func:`gait.angles.thigh_angles` gives it) and returns:

Side
    A thigh extends (negative flexion rate) through its own leg's stance and swings forward
    through the other leg's stance. The mean flexion rate over the 0.15 s after each contact is
    the vote of :func:`gait.events_running.assign_running_sides`, with alternation enforced
    within each run of regular steps. One thigh decides the side of both legs' contacts.
Initial contact of the thigh's leg
    In running the foot lands while the thigh retracts from its peak flexion, and within a bout
    a runner lands with a consistent thigh angle (the overstride metric). The refined contact is
    the instant the thigh passes, descending, through the bout's median angle at the sacrum's
    contacts of that leg, taken nearest the sacrum contact and at most ``max_shift_s`` from it,
    and only where the thigh retracts faster than ``min_retraction_radps`` (there the crossing
    time is well conditioned: 1 deg of contact-angle variation is 2-3 ms at 6-8 rad/s). This
    replaces the sacrum's stride-to-stride timing noise by the stride-to-stride variation of the
    contact angle and keeps the sacrum's mean timing (the median level is taken at its contacts).
    Where the thigh moves slowly at contact (walking: the foot lands near peak thigh flexion)
    the sacrum time is kept.
Toe-off of the thigh's leg
    The instant of peak thigh extension (the angle minimum) between the leg's contact and its
    next one, with parabolic sub-sample interpolation. In running the hip reaches its peak
    extension at toe-off; in walking it peaks roughly 0.1 stride before toe-off, so this toe-off
    is early there.

There is no real running recording with a thigh sensor and a force reference in ``../shared``:
the module is validated on the simulator (``bench/bench_events_thigh.py``), whose thigh model
reaches peak extension exactly at toe-off and lands every stride of a phase at the same thigh
angle. Those two properties favour this method on the simulator; what the simulator does test is
the mechanics under random mountings, noise, bias drift, orientation-filter and calibration
errors. Accuracy on real runners is not measured.

With two thigh sensors call it once per thigh and take each leg's contact and toe-off from its
own thigh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gait.events_running import assign_running_sides
from stridecue.constants import LEFT, RIGHT
from stridecue.errors import InputError

__all__ = ["ThighRefinedEvents", "refine_running_events_with_thigh"]


@dataclass(frozen=True)
class ThighRefinedEvents:
    """Initial contacts of one running bout after refinement by one thigh.

    Attributes
    ----------
    ic_s
        Initial-contact times, s (session clock), one per input contact, in the input order.
    side
        ``left`` | ``right`` | ``unknown`` per contact.
    to_s
        Toe-off time of the contact's foot, s; NaN for the other leg's contacts (this thigh
        does not see them) and where no clear peak extension was found.
    ic_shift_s
        ``ic_s`` minus the sacrum contact time, s (0 where the contact was not refined).
    refined
        True where the thigh moved the contact (the thigh's own leg, retracting fast enough, a
        crossing within ``max_shift_s``).
    """

    ic_s: np.ndarray
    side: np.ndarray
    to_s: np.ndarray
    ic_shift_s: np.ndarray
    refined: np.ndarray


def _check(
    ic_s: np.ndarray, time_s: np.ndarray, angle_deg: np.ndarray, thigh_side: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if thigh_side not in (LEFT, RIGHT):
        raise InputError(f"thigh_side={thigh_side!r} is not 'left' or 'right'; name the thigh's leg")
    t = np.asarray(time_s, dtype=float)
    a = np.asarray(angle_deg, dtype=float)
    ic = np.asarray(ic_s, dtype=float)
    if t.ndim != 1 or a.shape != t.shape or len(t) < 3:
        raise InputError(
            f"thigh time {t.shape} and angle {a.shape} must be 1-D, of equal length (>= 3 samples); "
            "pass the thigh_angle_deg column and its time_s"
        )
    if not np.all(np.diff(t) > 0):
        raise InputError("thigh time_s is not strictly increasing; sort the samples by time first")
    if ic.ndim != 1 or (len(ic) > 1 and not np.all(np.diff(ic) > 0)):
        raise InputError("initial contacts must be a 1-D array of increasing times in seconds")
    return ic, t, a


def _descending_crossing(t: np.ndarray, a: np.ndarray, level: float, lo: int, hi: int) -> np.ndarray:
    """Times in samples ``lo..hi`` where ``a`` passes downwards through ``level`` (interpolated)."""
    seg = a[lo : hi + 1]
    k = np.flatnonzero((seg[:-1] >= level) & (seg[1:] < level))
    i = lo + k
    frac = (a[i] - level) / (a[i] - a[i + 1])
    return t[i] + frac * (t[i + 1] - t[i])


def _peak_extension_s(t: np.ndarray, a: np.ndarray, lo: int, hi: int) -> float:
    """Time of the angle minimum strictly inside ``lo..hi`` (parabolic refinement), else NaN."""
    if hi - lo < 3 or not np.isfinite(a[lo : hi + 1]).all():
        return float("nan")
    m = lo + int(np.argmin(a[lo : hi + 1]))
    if m in (lo, hi):
        return float("nan")
    y0, y1, y2 = a[m - 1], a[m], a[m + 1]
    den = y0 - 2 * y1 + y2
    off = 0.5 * (y0 - y2) / den if den > 0 else 0.0
    return float(np.interp(m + off, np.arange(len(t)), t))


def refine_running_events_with_thigh(
    ic_s: np.ndarray,
    time_s: np.ndarray,
    thigh_angle_deg: np.ndarray,
    *,
    thigh_side: str,
    max_shift_s: float = 0.03,
    min_retraction_radps: float = 2.0,
    max_step_time_s: float = 0.6,
) -> ThighRefinedEvents:
    """Side, refined initial contacts and toe-offs of one running bout from one thigh's angle.

    Parameters
    ----------
    ic_s
        The sacrum's initial contacts of one running bout (both feet), s, increasing; e.g.
        ``t[i0] + detect_running_events(...).ic_pos / fs``.
    time_s
        Thigh sample times on the same clock, s, strictly increasing (a uniform rate is not
        required; NaN angles are allowed and leave the affected contacts unrefined).
    thigh_angle_deg
        Sagittal thigh angle to the vertical, deg, + flexion (``thigh_angle_deg`` of
        :func:`gait.angles.thigh_angles`).
    thigh_side
        The thigh's leg, ``"left"`` or ``"right"``.
    max_shift_s
        Largest move of a contact, s.
    min_retraction_radps
        The thigh must extend at least this fast at the contact for its timing to be refined,
        rad/s.
    max_step_time_s
        A longer gap between contacts breaks the left/right alternation, s.

    Returns
    -------
    ThighRefinedEvents
        One entry per input contact; see the module docstring for each rule.

    Raises
    ------
    InputError
        If the thigh side is not ``left``/``right``, the arrays do not match, or the times are
        not increasing.
    """
    ic, t, a = _check(ic_s, time_s, thigh_angle_deg, thigh_side)
    n = len(ic)
    side = np.full(n, "unknown", dtype=object)
    to = np.full(n, np.nan)
    new_ic = ic.copy()
    refined = np.zeros(n, bool)
    if n == 0:
        return ThighRefinedEvents(new_ic, side, to, new_ic - ic, refined)
    rate = np.gradient(np.radians(a), t)
    fs = float((len(t) - 1) / (t[-1] - t[0]))
    pos = np.clip(np.searchsorted(t, ic), 0, len(t) - 1)
    flex = {f"thigh_{thigh_side}_flexion_radps": rate}
    side = assign_running_sides(
        pos, sampling_rate_hz=fs, max_step_time_s=max_step_time_s, **flex
    )
    own = np.flatnonzero(side == thigh_side)
    angle_at_ic = np.interp(ic, t, a, left=np.nan, right=np.nan)
    rate_at_ic = np.interp(ic, t, rate, left=np.nan, right=np.nan)
    ok = own[np.isfinite(angle_at_ic[own])]
    level = float(np.median(angle_at_ic[ok])) if len(ok) else float("nan")
    own_strides = np.diff(ic[own])
    own_strides = own_strides[own_strides <= 2 * max_step_time_s]
    stride_s = float(np.median(own_strides)) if len(own_strides) else 2 * max_step_time_s
    for j, k in enumerate(own):
        if np.isfinite(level) and rate_at_ic[k] <= -min_retraction_radps:
            lo, hi = np.searchsorted(t, [ic[k] - max_shift_s, ic[k] + max_shift_s])
            lo, hi = max(int(lo) - 1, 0), min(int(hi), len(t) - 1)
            cross = _descending_crossing(t, a, level, lo, hi)
            cross = cross[np.abs(cross - ic[k]) <= max_shift_s]
            if len(cross):
                new_ic[k] = cross[np.argmin(np.abs(cross - ic[k]))]
                refined[k] = True
        # toe-off: peak extension before the leg's next contact (at most 1.2 median strides on)
        end_s = ic[k] + 1.2 * stride_s
        if j + 1 < len(own):
            end_s = min(end_s, ic[own[j + 1]])
        lo, hi = np.searchsorted(t, [ic[k], end_s])
        to[k] = _peak_extension_s(t, a, int(lo), min(int(hi), len(t) - 1))
    return ThighRefinedEvents(
        ic_s=new_ic, side=side, to_s=to, ic_shift_s=new_ic - ic, refined=refined
    )
