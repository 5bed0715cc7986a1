"""Running gait events refined by a thigh IMU: the side of every contact, toe-off of its own leg.

The sacrum detector (:mod:`gait.events_running`) finds every contact and times it against force
plates; a thigh sensor sees its own leg's swing directly. This module takes the sacrum's initial
contacts of one running bout and one thigh's sagittal angle (``thigh_angle_deg``, + flexion, 0 in
the standing calibration pose, as :func:`gait.angles.thigh_angles` gives it) and returns:

Side
    A thigh extends (negative flexion rate) through its own leg's stance and swings forward
    through the other leg's stance. The mean flexion rate over the 0.15 s after each contact is
    the vote of :func:`gait.events_running.assign_running_sides`, with alternation enforced
    within each run of regular steps. One thigh decides the side of both legs' contacts.
Initial contact
    Kept from the sacrum. Moving each contact of the thigh's leg to the instant the thigh passes,
    retracting, through the bout's median contact angle was tried: on the simulator, where every
    stride of a phase lands at exactly one thigh angle, it still widened the timing spread
    (3.8 -> 4.4 ms SD vertical only, 2.3 -> 3.1 ms with AP) because the estimated thigh angle
    carries orientation and calibration errors of about a degree, 3 ms at running retraction
    rates; and it cannot remove the sacrum's mean bias. The force-plate-validated sacrum timing
    is the better clock.
Toe-off and contact time of the thigh's leg
    The instant of peak thigh extension (the angle minimum) between the leg's contact and its
    next one (at most 1.2 median strides on), with parabolic sub-sample interpolation; the
    contact time is that toe-off minus the sacrum's contact. In running the thigh reaches its
    peak extension at about toe-off (how close on real runners is not measured here); in walking
    it peaks clearly before toe-off, so the function is for running bouts only.

There is no real running recording with a thigh sensor and a force reference in ``../shared``:
the module is validated on the simulator (``bench/bench_events_thigh.py``), whose thigh model
reaches peak extension exactly at toe-off, which favours the toe-off rule there; what the
simulator does test is the mechanics under random mountings, noise, bias drift, orientation-filter
and calibration errors. Accuracy on real runners is not measured.

With two thigh sensors call it once per thigh and take each leg's toe-off from its own thigh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gait.events_running import assign_running_sides
from gait.signal import parabolic_peak_offset
from stridecue.constants import LEFT, RIGHT, UNKNOWN
from stridecue.errors import InputError

__all__ = ["ThighRefinedEvents", "refine_running_events_with_thigh"]


@dataclass(frozen=True)
class ThighRefinedEvents:
    """Initial contacts of one running bout with what one thigh adds.

    Attributes
    ----------
    ic_s
        Initial-contact times, s (session clock): the sacrum's, one per input contact.
    side
        ``left`` | ``right`` | ``unknown`` per contact.
    to_s
        Toe-off time of the contact's foot, s; NaN for the other leg's contacts (this thigh
        does not see them) and where no clear peak extension was found.
    contact_time_s
        ``to_s - ic_s``, s (NaN where ``to_s`` is).
    """

    ic_s: np.ndarray
    side: np.ndarray
    to_s: np.ndarray
    contact_time_s: np.ndarray


def _check(
    ic_s: np.ndarray, time_s: np.ndarray, angle_deg: np.ndarray, thigh_side: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if thigh_side not in (LEFT, RIGHT):
        raise InputError(
            f"thigh_side={thigh_side!r} is not 'left' or 'right'; name the thigh's leg"
        )
    t = np.asarray(time_s, dtype=float)
    a = np.asarray(angle_deg, dtype=float)
    ic = np.asarray(ic_s, dtype=float)
    if t.ndim != 1 or a.shape != t.shape or len(t) < 3:
        raise InputError(
            f"thigh time {t.shape} and angle {a.shape} must be 1-D, of equal length "
            "(>= 3 samples); pass the thigh_angle_deg column and its time_s"
        )
    if not np.all(np.diff(t) > 0):
        raise InputError("thigh time_s is not strictly increasing; sort the samples by time first")
    if ic.ndim != 1 or (len(ic) > 1 and not np.all(np.diff(ic) > 0)):
        raise InputError("initial contacts must be a 1-D array of increasing times in seconds")
    return ic, t, a


def _peak_extension_s(t: np.ndarray, a: np.ndarray, lo: int, hi: int) -> float:
    """Time of the angle minimum strictly inside ``lo..hi`` (parabolic refinement), else NaN."""
    if hi - lo < 3 or not np.isfinite(a[lo : hi + 1]).all():
        return float("nan")
    m = lo + int(np.argmin(a[lo : hi + 1]))
    if m in (lo, hi):
        return float("nan")
    off = parabolic_peak_offset(-a[m - 1], -a[m], -a[m + 1])  # a minimum: the negated peak
    return float(np.interp(m + off, np.arange(len(t)), t))


def refine_running_events_with_thigh(
    ic_s: np.ndarray,
    time_s: np.ndarray,
    thigh_angle_deg: np.ndarray,
    *,
    thigh_side: str,
    max_step_time_s: float = 0.6,
) -> ThighRefinedEvents:
    """Side of every contact and the toe-off of the thigh's leg, for one running bout.

    Parameters
    ----------
    ic_s
        The sacrum's initial contacts of one running bout (both feet), s, increasing; e.g.
        ``t[i0] + detect_running_events(...).ic_pos / fs``.
    time_s
        Thigh sample times on the same clock, s, strictly increasing (NaN angles are allowed:
        the affected toe-offs are NaN).
    thigh_angle_deg
        Sagittal thigh angle to the vertical, deg, + flexion (``thigh_angle_deg`` of
        :func:`gait.angles.thigh_angles`).
    thigh_side
        The thigh's leg, ``"left"`` or ``"right"``.
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
    to = np.full(n, np.nan)
    if n == 0:
        return ThighRefinedEvents(ic, np.full(0, UNKNOWN, dtype=object), to, to.copy())
    rate = np.gradient(np.radians(a), t)
    fs = float((len(t) - 1) / (t[-1] - t[0]))
    pos = np.clip(np.searchsorted(t, ic), 0, len(t) - 1)
    flex = {f"thigh_{thigh_side}_flexion_radps": rate}
    side = assign_running_sides(pos, sampling_rate_hz=fs, max_step_time_s=max_step_time_s, **flex)
    own = np.flatnonzero(side == thigh_side)
    own_strides = np.diff(ic[own])
    own_strides = own_strides[own_strides <= 2 * max_step_time_s]
    stride_s = float(np.median(own_strides)) if len(own_strides) else 2 * max_step_time_s
    for j, k in enumerate(own):
        # peak extension before the leg's next contact (at most 1.2 median strides on)
        end_s = ic[k] + 1.2 * stride_s
        if j + 1 < len(own):
            end_s = min(end_s, ic[own[j + 1]])
        lo, hi = np.searchsorted(t, [ic[k], end_s])
        to[k] = _peak_extension_s(t, a, int(lo), min(int(hi), len(t) - 1))
    return ThighRefinedEvents(ic_s=ic.copy(), side=side, to_s=to, contact_time_s=to - ic)
