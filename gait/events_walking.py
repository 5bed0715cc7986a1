"""Walking gait events (initial contact, toe-off, side) from one lower-back (sacrum/L5) IMU.

Method
------
1. The vertical (up) axis is the direction of the low-pass (0.25 Hz) accelerometer reading: at
   rest an accelerometer reads +1 g along "up". The vertical specific force minus 1 g is the
   vertical acceleration ``a_v``.
2. Steps: peaks of ``a_v`` low-passed at 2 Hz (at least 0.25 s apart, prominence >= 0.5 m/s^2). In
   walking the pelvis is lowest and decelerates upwards during double support, so every step gives
   one such peak 30-60 ms after the initial contact.
   Steps that load the pelvis less (turns, the first and last steps of a walk, slow shuffling)
   are recovered from the walker's own rhythm (:func:`complete_step_rhythm`): an interval of
   more than 1.75 local step times (a missed step makes it about two; a long single step in a
   turn stays nearer one and a half) holds missed steps, and every walk is extended by one step at
   each end, each taken at a weaker peak (prominence >= 0.1 m/s^2) near the expected time.
3. Initial contact: the instant of steepest rise of ``a_v`` (low-passed at 5 Hz) in the 300 ms
   before the step peak (the heel-strike loading transient), the idea behind Zijlstra/McCamley-style
   detectors but located on the slope instead of a wavelet extremum.
4. Toe-off of the opposite foot (the end of the double support the contact starts): the first
   instant after the step peak, before the next contact and within 0.5 s, at which the 2 Hz step
   signal falls back through zero (1 g): the trailing foot has left and the body vaults over the
   single stance leg. The stance of a foot ends at the toe-off found after the *next* contact
   (:func:`walking_toe_offs`). On the Mobilise-D lab walks the stance time is 29 ms (mean
   absolute) off the reference on straight walks, 69 ms in simulated daily living; McCamley's
   published CWT rule, 31 and 114 ms (``bench/results/walking.md``).
5. Side, sign rules (with up, anterior, left axes from :func:`lower_back_axes`):
   - the medio-lateral (left-positive) acceleration, band-passed 0.3-3 Hz and averaged over
     [+0.05, +0.3] s after the IC, is negative after a left initial contact (the new stance foot,
     lateral to the body, pushes the body towards the midline, i.e. to the right), positive after
     a right one;
   - with a gyroscope, also the yaw rate (about up, positive counter-clockwise seen from above),
     band-passed and averaged over [-0.1, +0.2] s, is negative at a left contact (the left
     hemipelvis is still advancing with the left leg, the pelvis turns clockwise).
   The standardised scores are summed; each IC is compared with the mean of its neighbours (< 2 s
   away) so that turning and posture offsets do not bias the decision. The axes are those of the
   whole input, or given (the stream keeps them over the recent walking with a
   :class:`LowerBackAxesTracker`: from a few seconds alone they tilt in turns and shuffling, and
   on the Mobilise-D lab trials the accelerometer-only sides fell from 0.93 to 0.82 correct).

All thresholds are fixed for every recording. The three numbers of steps 2-3 (step low-pass,
slope low-pass, prominence) were selected from a grid of 36 settings on the four referenced
Mobilise-D lab trials by the mean of the F1 scores at +-100 ms and +-50 ms. The rhythm completion
is not selected by that score: the reference of those trials itself misses contacts in turns
and shuffling, where the completed steps land, so it cannot reward them; it is kept because it
brings the cadence of the slow daily-living bouts to the reference (see
``bench/results/walking.md``, which also reports the leave-one-trial-out selection with
"no completion" among the choices).

Bouts
-----
:func:`walking_bouts_from_steps` groups the contacts into walking bouts (at least four contacts,
no step longer than 2 s), so that the detector can run over every stretch that is not running
and keep the slow and turning walks that a window-based activity classifier calls still.

Cadence
-------
:func:`walking_cadence_spm` turns the initial contacts of one walking bout into one cadence. Step
times longer than 2 s (pauses) are dropped, outliers beyond 3 scaled median absolute deviations of
the remaining step times are dropped (the Hampel rule mobgap applies to step times: a missed or an
extra contact makes one step twice too long or two steps too short), and the cadence is
``60 / mean(step time)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal

from gait.signal import butter_sos, filtfilt_butter
from stridecue.constants import (
    EVENT,
    GRAVITY_MPS2,
    INITIAL_CONTACT,
    LEFT,
    MIN_SAMPLING_RATE_HZ,
    RIGHT,
    SIDE,
    TIME_S,
    TOE_OFF,
    UNKNOWN,
)
from stridecue.errors import InputError

__all__ = [
    "MAX_WALKING_STEP_S",
    "MIN_WALKING_CONTACTS",
    "AxisMoments",
    "LowerBackAxesTracker",
    "axes_from_moments",
    "axis_moments",
    "WalkingEvents",
    "complete_step_rhythm",
    "first_fall_through_zero",
    "detect_walking_events",
    "lower_back_axes",
    "vertical_acceleration",
    "walking_bouts_from_steps",
    "walking_cadence_spm",
    "walking_toe_offs",
]

_GRAVITY_LOWPASS_HZ = 0.25
_STEP_LOWPASS_HZ = 2.0
_IC_LOWPASS_HZ = 5.0
_MIN_STEP_S = 0.25
_STEP_PROMINENCE_MPS2 = 0.5
_WEAK_PROMINENCE_MPS2 = 0.1
_FILL_RATIO = 1.75
_FILL_TOLERANCE = 0.35
_NEIGHBOUR_STEPS = 3
_MAX_STEP_S = 2.0
#: A walking bout: at least this many initial contacts...
MIN_WALKING_CONTACTS = 4
#: ...with no step (interval between consecutive contacts) longer than this, seconds.
MAX_WALKING_STEP_S = _MAX_STEP_S
_HAMPEL_N_MAD = 3.0
_IC_SEARCH_S = 0.30
_TO_SEARCH_S = 0.50
_SIDE_WINDOW_GYR_S = (-0.1, 0.2)
_SIDE_WINDOW_ACC_S = (0.05, 0.3)
_SIDE_BAND_HZ = (0.3, 3.0)


@dataclass
class WalkingEvents:
    """Gait events detected in one recording (sample indices into the input arrays).

    Attributes
    ----------
    ic_idx
        Initial contacts, sample indices, ascending.
    side
        Foot of each initial contact: ``left`` | ``right`` | ``unknown`` (one per IC).
    to_idx
        Toe-offs, sample indices; ``to_idx[k]`` is the toe-off of the foot opposite to
        ``side[k]`` that ends the double support after ``ic_idx[k]``; -1 where none was found.
    sampling_rate_hz
        Rate of the input signal.
    """

    ic_idx: np.ndarray
    side: np.ndarray
    to_idx: np.ndarray
    sampling_rate_hz: float

    def to_frame(self, *, start_time_s: float = 0.0) -> pd.DataFrame:
        """Events as a table with ``time_s``, ``event``, ``side`` (sorted by time).

        Parameters
        ----------
        start_time_s
            Session time of sample 0.

        Returns
        -------
        pandas.DataFrame
            One row per event, the ``events.csv`` contract columns.
        """
        fs = self.sampling_rate_hz
        opposite = {LEFT: RIGHT, RIGHT: LEFT, UNKNOWN: UNKNOWN}
        ok = self.to_idx >= 0
        ics = pd.DataFrame(
            {TIME_S: start_time_s + self.ic_idx / fs, EVENT: INITIAL_CONTACT, SIDE: self.side}
        )
        tos = pd.DataFrame(
            {
                TIME_S: start_time_s + self.to_idx[ok] / fs,
                EVENT: TOE_OFF,
                SIDE: [opposite[s] for s in self.side[ok]],
            }
        )
        frame = pd.concat([ics, tos], ignore_index=True)
        return frame.sort_values(TIME_S, kind="stable").reset_index(drop=True)


def _check_inputs(acc_mps2: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    acc = np.asarray(acc_mps2, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise InputError(
            f"acceleration must have shape (n_samples, 3) in m/s^2, got {acc.shape}; "
            "pass the three sensor-frame accelerometer columns"
        )
    if not np.isfinite(sampling_rate_hz) or sampling_rate_hz < MIN_SAMPLING_RATE_HZ:
        raise InputError(
            f"sampling_rate_hz={sampling_rate_hz} is too low for gait events; record at "
            f">= {MIN_SAMPLING_RATE_HZ:g} Hz"
        )
    return acc


def _lowpass(x: np.ndarray, cutoff_hz: float, fs: float, order: int = 2) -> np.ndarray:
    cutoff = min(cutoff_hz, 0.45 * fs)
    n_sections = butter_sos(order, cutoff, btype="lowpass", sampling_rate_hz=fs).shape[0]
    padlen = min(x.shape[0] - 1, 3 * (2 * n_sections + 1) * 10)
    return filtfilt_butter(x, order=order, cutoff_hz=cutoff, btype="lowpass", sampling_rate_hz=fs,
                           padlen=padlen)


def _bandpass(x: np.ndarray, band_hz: tuple[float, float], fs: float) -> np.ndarray:
    padlen = min(x.shape[0] - 1, 100)
    return filtfilt_butter(x, order=2, cutoff_hz=band_hz, btype="bandpass", sampling_rate_hz=fs,
                           padlen=padlen)


def _fill_nan(x: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN samples (edges held); all-NaN columns become 0."""
    x = np.array(x, dtype=float, copy=True)
    if np.isfinite(x).all():
        return x
    flat = x.reshape(x.shape[0], -1)
    idx = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        good = np.isfinite(flat[:, j])
        if good.all():
            continue
        flat[:, j] = np.interp(idx, idx[good], flat[good, j]) if good.any() else 0.0
    return flat.reshape(x.shape)


def vertical_acceleration(
    acc_mps2: np.ndarray, *, sampling_rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vertical acceleration (up positive, gravity removed) and the per-sample up direction.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force, shape (n, 3), m/s^2, gravity included.
    sampling_rate_hz
        Sampling rate of ``acc_mps2``.

    Returns
    -------
    a_v_mps2 : numpy.ndarray
        Shape (n,): projection of the specific force on "up" minus standard gravity.
    up : numpy.ndarray
        Shape (n, 3): unit "up" vector in the sensor frame (from the 0.25 Hz low-pass reading).
    """
    acc = _fill_nan(_check_inputs(acc_mps2, sampling_rate_hz))
    grav = _lowpass(acc, _GRAVITY_LOWPASS_HZ, sampling_rate_hz)
    g0, g1, g2 = grav.T
    norm = np.sqrt(g0 * g0 + g1 * g1 + g2 * g2)[:, None]  # numpy.linalg.norm's sum, in order
    up = grav / np.where(norm > 0, norm, 1.0)
    return np.einsum("ij,ij->i", acc, up) - GRAVITY_MPS2, up


@dataclass(frozen=True)
class AxisMoments:
    """The sums :func:`lower_back_axes` reads, over a set of samples (they add up across windows).

    Attributes
    ----------
    weight
        Number of samples summed (fractional once decayed).
    acc_sum_mps2
        Sum of the specific force, shape (3,), m/s^2: its direction is the mean "up".
    dyn_moment
        Sum of ``d d^T`` over the samples, shape (3, 3), with ``d`` the specific force minus its
        window mean: the spread of the motion, whose largest horizontal direction is the
        antero-posterior axis.
    rate_moment
        Sum of ``l g^T``, shape (3, 3), with ``l`` the step-band (2 Hz low-pass) ``d`` and ``g``
        its rate of change per sample: ``anterior @ rate_moment @ up`` has the sign of the
        correlation between the forward acceleration and the rate of change of the vertical one.
    """

    weight: float
    acc_sum_mps2: np.ndarray
    dyn_moment: np.ndarray
    rate_moment: np.ndarray

    def __add__(self, other: AxisMoments) -> AxisMoments:
        return AxisMoments(self.weight + other.weight, self.acc_sum_mps2 + other.acc_sum_mps2,
                           self.dyn_moment + other.dyn_moment,
                           self.rate_moment + other.rate_moment)

    def scaled(self, factor: float) -> AxisMoments:
        """Every sum times ``factor`` (forgetting older samples)."""
        return AxisMoments(self.weight * factor, self.acc_sum_mps2 * factor,
                           self.dyn_moment * factor, self.rate_moment * factor)


def axis_moments(
    acc_mps2: np.ndarray, *, sampling_rate_hz: float, keep: np.ndarray | None = None
) -> AxisMoments:
    """:class:`AxisMoments` of a window of lower-back accelerometer data.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force, shape (n, 3), m/s^2, gravity included.
    sampling_rate_hz
        Sampling rate of ``acc_mps2``.
    keep
        Optional boolean mask, shape (n,): only these samples are summed (the window mean and
        the filtering still use the whole window, so that a window's margins can give context
        to the samples kept without being counted twice by overlapping windows).
    """
    acc = _fill_nan(_check_inputs(acc_mps2, sampling_rate_hz))
    dyn = acc - acc.mean(axis=0)
    low = _lowpass(dyn, _STEP_LOWPASS_HZ, sampling_rate_hz)
    rate = np.gradient(low, axis=0)
    if keep is not None:
        acc, dyn, low, rate = acc[keep], dyn[keep], low[keep], rate[keep]
    return AxisMoments(float(len(acc)), acc.sum(axis=0), dyn.T @ dyn, low.T @ rate)


def axes_from_moments(moments: AxisMoments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertical, anterior and left unit axes that :class:`AxisMoments` describe.

    See :func:`lower_back_axes` for the rules.
    """
    up = moments.acc_sum_mps2 / np.linalg.norm(moments.acc_sum_mps2)
    across = np.eye(3) - np.outer(up, up)
    w, v = np.linalg.eigh(across @ moments.dyn_moment @ across)
    anterior = v[:, int(np.argmax(w))]
    anterior = anterior - (anterior @ up) * up
    anterior = anterior / np.linalg.norm(anterior)
    if anterior @ moments.rate_moment @ up < 0:
        anterior = -anterior
    left = np.cross(up, anterior)
    return up, anterior, left


def lower_back_axes(
    acc_mps2: np.ndarray, *, sampling_rate_hz: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constant vertical, anterior and left unit axes of a lower-back sensor, in its own frame.

    The vertical is the mean gravity direction. The anterior axis is the principal direction of
    the horizontal acceleration (antero-posterior sway exceeds medio-lateral sway in walking); its
    sign is resolved by physics: the pelvis moves fastest forward when lowest (double support), so
    the forward acceleration has the sign of the rate of change of the vertical acceleration
    (positive correlation between ``a_ap`` and ``d a_v / dt``, both low-passed at 2 Hz).
    Left = up x anterior. Over a few seconds of walking with turns the principal direction is
    unsteady; :class:`LowerBackAxesTracker` keeps the estimate over a longer stretch.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force, shape (n, 3), m/s^2, gravity included.
    sampling_rate_hz
        Sampling rate of ``acc_mps2``.

    Returns
    -------
    up, anterior, left : numpy.ndarray
        Unit vectors, each shape (3,), in the sensor frame.
    """
    return axes_from_moments(axis_moments(acc_mps2, sampling_rate_hz=sampling_rate_hz))


class LowerBackAxesTracker:
    """:func:`lower_back_axes` over the recent walking, fed window by window.

    A lower-back sensor is fixed to the body, so its axes hold for a whole walk; estimated from
    one window of a few seconds they are not steady (a turn inside the window tilts the principal
    horizontal direction away from the antero-posterior axis), and the medio-lateral signal that
    gives the side of a contact is then mixed with the antero-posterior one. The tracker adds up
    the :class:`AxisMoments` of every window it is given, forgetting older samples with a time
    constant of ``memory_s`` seconds of data fed (so that a sensor put back on differently is
    followed within about that much walking).

    Parameters
    ----------
    sampling_rate_hz
        Sampling rate of the windows, Hz.
    memory_s
        Time constant of the forgetting, in seconds of samples fed.
    """

    def __init__(self, *, sampling_rate_hz: float, memory_s: float = 60.0) -> None:
        self._decay_samples = memory_s * sampling_rate_hz
        self._moments: AxisMoments | None = None

    def update(self, moments: AxisMoments) -> None:
        """Add the moments of new samples (each sample once: see ``keep`` of
        :func:`axis_moments`)."""
        if moments.weight <= 0:
            return
        if self._moments is None:
            self._moments = moments
            return
        factor = float(np.exp(-moments.weight / self._decay_samples))
        self._moments = self._moments.scaled(factor) + moments

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The current (up, anterior, left) axes, or None before any sample was fed."""
        if self._moments is None or not np.any(self._moments.acc_sum_mps2):
            return None
        return axes_from_moments(self._moments)


def _ic_window_means(
    score: np.ndarray, ic_idx: np.ndarray, fs: float, window_s: tuple[float, float]
) -> np.ndarray:
    lo, hi = (int(round(s * fs)) for s in window_s)
    n = len(score)
    return np.array([score[max(0, i + lo) : min(n, i + hi + 1)].mean() for i in ic_idx])


def _side_from_values(vals: np.ndarray, ic_idx: np.ndarray, fs: float) -> np.ndarray:
    """Label ICs left where ``vals`` is below the mean of its neighbouring ICs (< 2 s away)."""
    side = np.full(len(ic_idx), UNKNOWN, dtype=object)
    if len(ic_idx) < 2:
        return side
    gaps = np.diff(ic_idx) / fs
    for k in range(len(ic_idx)):
        nb = []
        if k > 0 and gaps[k - 1] < 2.0:
            nb.append(vals[k - 1])
        if k < len(ic_idx) - 1 and gaps[k] < 2.0:
            nb.append(vals[k + 1])
        if not nb:
            continue
        d = vals[k] - np.mean(nb)
        if d < 0:
            side[k] = LEFT
        elif d > 0:
            side[k] = RIGHT
    return side


def _standardise(v: np.ndarray) -> np.ndarray:
    sd = np.std(v)
    return v / sd if sd > 0 else v * 0.0


def _median_step(intervals: np.ndarray) -> float:
    """Median of the step intervals that are not pauses (NaN when there is none)."""
    ok = intervals[(intervals > 0) & (intervals <= _MAX_STEP_S)]
    return float(np.median(ok)) if len(ok) else float("nan")


def _nearest_candidate(candidates: np.ndarray, expected: float, tolerance: float) -> int | None:
    near = candidates[np.abs(candidates - expected) <= tolerance]
    return int(near[np.argmin(np.abs(near - expected))]) if len(near) else None


def complete_step_rhythm(
    peaks: np.ndarray, candidates: np.ndarray, *, sampling_rate_hz: float
) -> np.ndarray:
    """Add the weak step peaks that the walker's own step rhythm predicts.

    Turning steps, the first and last steps of a walk and slow shuffling steps load the pelvis
    less than straight steady steps, so their vertical-acceleration peak can stay below the
    detection prominence. The step time of the neighbouring steps predicts where they are:

    - an interval between two detected steps longer than ``_FILL_RATIO`` (1.75) times the local step
      time (the median of the ``_NEIGHBOUR_STEPS`` intervals on each side, pauses excluded) holds
      ``round(interval / step time) - 1`` missed steps, each taken at the weak candidate peak
      nearest to its evenly spaced expected time (within ``_FILL_TOLERANCE`` step times);
    - a walk (steps < 2 s apart) is extended by one step at each end when a weak candidate lies
      one local step time (within the same tolerance) before its first or after its last step.

    Parameters
    ----------
    peaks
        Sample indices of the detected step peaks, ascending.
    candidates
        Sample indices of all weaker step peaks (a superset is fine), ascending.
    sampling_rate_hz
        Sampling rate, Hz.

    Returns
    -------
    numpy.ndarray
        Sample indices of the completed step peaks, ascending and unique.
    """
    fs = float(sampling_rate_hz)
    peaks = np.asarray(peaks, dtype=int)
    candidates = np.asarray(candidates, dtype=int)
    if len(peaks) < 2 or len(candidates) == 0:
        return peaks
    gaps = np.diff(peaks) / fs
    added: list[int] = []
    min_sep = _MIN_STEP_S * fs
    for k, gap in enumerate(gaps):
        before = gaps[max(0, k - _NEIGHBOUR_STEPS) : k]
        local = np.r_[before, gaps[k + 1 : k + 1 + _NEIGHBOUR_STEPS]]
        step_s = _median_step(local)
        if not (np.isfinite(step_s) and _FILL_RATIO * step_s < gap <= 2 * _MAX_STEP_S):
            continue
        n_missed = int(round(gap / step_s)) - 1
        inside = (candidates > peaks[k] + min_sep) & (candidates < peaks[k + 1] - min_sep)
        inner = candidates[inside]
        for j in range(1, n_missed + 1):
            expected = peaks[k] + j * (peaks[k + 1] - peaks[k]) / (n_missed + 1)
            c = _nearest_candidate(inner, expected, _FILL_TOLERANCE * step_s * fs)
            if c is not None:
                added.append(c)
    # one more step at each end of every walk
    peaks = np.unique(np.r_[peaks, np.asarray(added, dtype=int)])
    gaps = np.diff(peaks) / fs
    added = []
    breaks = np.flatnonzero(gaps > _MAX_STEP_S)
    for first, last in zip(np.r_[0, breaks + 1], np.r_[breaks, len(peaks) - 1], strict=True):
        if last == first:
            continue
        walk_gaps = gaps[first:last]
        for end, direction, local in (
            (peaks[first], -1, walk_gaps[: 2 * _NEIGHBOUR_STEPS]),
            (peaks[last], 1, walk_gaps[-2 * _NEIGHBOUR_STEPS :]),
        ):
            step_s = _median_step(local)
            c = _nearest_candidate(
                candidates, end + direction * step_s * fs, _FILL_TOLERANCE * step_s * fs
            )
            if c is not None:
                added.append(c)
    return np.unique(np.r_[peaks, np.asarray(added, dtype=int)])


def detect_walking_events(
    acc_mps2: np.ndarray,
    *,
    sampling_rate_hz: float,
    gyr_radps: np.ndarray | None = None,
    axes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> WalkingEvents:
    """Detect initial contacts, toe-offs and sides in lower-back walking data.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force of the lower-back (sacrum/L5) IMU, shape (n, 3), m/s^2,
        gravity included. Any mounting orientation; the axes are found from gravity and motion.
    sampling_rate_hz
        Sampling rate, Hz (keyword-only, no default).
    gyr_radps
        Optional sensor-frame angular velocity, shape (n, 3), rad/s; used for the side (yaw rate).
    axes
        Optional (up, anterior, left) unit axes of the sensor, each shape (3,), in its frame,
        e.g. from a :class:`LowerBackAxesTracker` over a longer stretch than ``acc_mps2``; by
        default :func:`lower_back_axes` of ``acc_mps2``. Only the left axis is used (the side).

    Returns
    -------
    WalkingEvents
        Sample indices of the events and the side of each initial contact. Meant for walking
        segments: steps are found wherever the signal looks like them, so restrict to walking bouts
        (see :func:`gait.activity.classify_activity`) before use.

    Raises
    ------
    InputError
        If the arrays have the wrong shape or the rate is too low.

    Warns
    -----
    RuntimeWarning
        If more than half of the samples are NaN (no events are returned).
    """
    acc = _check_inputs(acc_mps2, sampling_rate_hz)
    fs = float(sampling_rate_hz)
    empty = WalkingEvents(
        np.zeros(0, int), np.zeros(0, dtype=object), np.zeros(0, int), fs
    )
    if acc.shape[0] < int(2 * fs) or np.mean(~np.isfinite(acc).all(axis=1)) > 0.5:
        warnings.warn(
            "walking events: too few valid samples (need >= 2 s, mostly finite); no events",
            RuntimeWarning,
            stacklevel=2,
        )
        return empty
    a_v, up = vertical_acceleration(acc, sampling_rate_hz=fs)
    steps = _lowpass(a_v, _STEP_LOWPASS_HZ, fs)
    distance = max(1, int(_MIN_STEP_S * fs))
    peaks, _ = signal.find_peaks(steps, distance=distance, prominence=_STEP_PROMINENCE_MPS2)
    weak, _ = signal.find_peaks(steps, distance=distance, prominence=_WEAK_PROMINENCE_MPS2)
    peaks = complete_step_rhythm(peaks, weak, sampling_rate_hz=fs)
    slope = np.gradient(_lowpass(a_v, _IC_LOWPASS_HZ, fs)) * fs
    n = len(a_v)
    ic = []
    for p in peaks:
        lo = max(0, p - int(_IC_SEARCH_S * fs))
        ic.append(lo + int(np.argmax(slope[lo : p + 1])))
    # End of double support: the step signal falls back through zero (1 g) after the peak,
    # before the next contact.
    to = [
        first_fall_through_zero(
            steps, p, min(n, p + int(_TO_SEARCH_S * fs) + 1, ic[k + 1] if k + 1 < len(ic) else n))
        for k, p in enumerate(peaks)
    ]
    ic_idx = np.asarray(ic, dtype=int)
    to_idx = np.asarray(to, dtype=int)
    keep = np.concatenate([[True], np.diff(ic_idx) > 0]) if len(ic_idx) else np.zeros(0, bool)
    ic_idx, to_idx = ic_idx[keep], to_idx[keep]

    # Side: medio-lateral acceleration (left axis) after the contact, negative after a left IC.
    _, _, left = axes if axes is not None else lower_back_axes(acc, sampling_rate_hz=fs)
    ml = _bandpass(_fill_nan(acc) @ left, _SIDE_BAND_HZ, fs)
    vals = _standardise(_ic_window_means(ml, ic_idx, fs, _SIDE_WINDOW_ACC_S))
    if gyr_radps is not None:
        gyr = _fill_nan(np.asarray(gyr_radps, dtype=float))
        if gyr.shape != acc.shape:
            raise InputError(
                f"gyroscope shape {gyr.shape} differs from accelerometer shape {acc.shape}; "
                "pass both sensor-frame arrays sampled together"
            )
        yaw = _bandpass(np.einsum("ij,ij->i", gyr, up), _SIDE_BAND_HZ, fs)
        vals = vals + _standardise(_ic_window_means(yaw, ic_idx, fs, _SIDE_WINDOW_GYR_S))
    side = _side_from_values(vals, ic_idx, fs)
    return WalkingEvents(ic_idx=ic_idx, side=side, to_idx=to_idx, sampling_rate_hz=fs)


def first_fall_through_zero(x: np.ndarray, start: int, stop: int) -> int:
    """The first sample in ``[start, stop)`` where ``x`` falls from above zero to zero or below.

    Of the two samples around the crossing, the one nearer to zero; -1 when ``x`` does not fall
    through zero there.
    """
    down = np.flatnonzero((x[start : stop - 1] > 0) & (x[start + 1 : stop] <= 0))
    if len(down) == 0:
        return -1
    j = start + int(down[0])  # x[j] > 0 >= x[j + 1]
    return j + int(x[j] > -x[j + 1])


def walking_toe_offs(events: WalkingEvents, *, max_step_s: float = _MAX_STEP_S) -> np.ndarray:
    """The toe-off of each contact's own foot, as sample positions (NaN where not known).

    :func:`detect_walking_events` finds, after each contact, the toe-off of the other foot (the
    end of the double support that the contact starts). The foot of contact ``k`` therefore
    leaves the ground after contact ``k + 1``: its toe-off is ``to_idx[k + 1]``, kept where that
    contact is the next step of the other foot (within ``max_step_s``, not the same side) and a
    toe-off was found. ``toe-off - contact`` is the foot's stance (contact) time.

    Parameters
    ----------
    events
        Walking events of one recording or window.
    max_step_s
        Longest step time, s; a longer interval is a pause and ends the walk.

    Returns
    -------
    numpy.ndarray
        (len(events.ic_idx),) float sample positions, NaN where the toe-off is not known.
    """
    ic = np.asarray(events.ic_idx, dtype=float)
    to = np.full(len(ic), np.nan)
    if len(ic) < 2:
        return to
    nxt_to = np.asarray(events.to_idx[1:], dtype=float)
    step_ok = np.diff(ic) <= max_step_s * events.sampling_rate_hz
    side = np.asarray(events.side, dtype=object)
    other_foot = (side[1:] != side[:-1]) | (side[1:] == UNKNOWN)
    ok = step_ok & other_foot & (nxt_to > ic[1:])
    to[:-1] = np.where(ok, nxt_to, np.nan)
    return to


def walking_cadence_spm(
    ic_idx: np.ndarray, *, sampling_rate_hz: float, max_step_s: float = _MAX_STEP_S
) -> float:
    """Cadence of one walking bout from its initial contacts, robust to missed or extra contacts.

    Parameters
    ----------
    ic_idx
        Initial contacts of both feet inside one bout, sample indices, ascending.
    sampling_rate_hz
        Sampling rate, Hz (keyword-only, no default).
    max_step_s
        Step times longer than this are pauses and are ignored, seconds.

    Returns
    -------
    float
        Steps per minute: ``60 / mean(step time)`` over the step times that are neither pauses nor
        outliers (beyond 3 scaled median absolute deviations from the median step time). NaN, with
        a warning, when fewer than two step times remain.

    Raises
    ------
    InputError
        If the rate is not a positive number.
    """
    fs = float(sampling_rate_hz)
    if not (np.isfinite(fs) and fs > 0):
        raise InputError(f"sampling_rate_hz={sampling_rate_hz} is not a positive rate in Hz")
    ic = np.sort(np.asarray(ic_idx, dtype=float))
    step_s = np.diff(ic) / fs
    step_s = step_s[(step_s > 0) & (step_s <= max_step_s)]
    if len(step_s) >= 3:
        med = float(np.median(step_s))
        mad = 1.4826 * float(np.median(np.abs(step_s - med)))
        step_s = step_s[np.abs(step_s - med) <= _HAMPEL_N_MAD * max(mad, 1.0 / fs)]
    if len(step_s) < 2:
        warnings.warn(
            "walking cadence: fewer than two valid step times in the bout; cadence is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return float("nan")
    return 60.0 / float(np.mean(step_s))


def walking_bouts_from_steps(
    ic_idx: np.ndarray,
    *,
    sampling_rate_hz: float,
    max_step_s: float = MAX_WALKING_STEP_S,
    min_steps: int = MIN_WALKING_CONTACTS,
) -> list[tuple[int, int]]:
    """Walking bouts as runs of detected initial contacts (a gait-sequence rule).

    A bout is a run of at least ``min_steps`` initial contacts with no step longer than
    ``max_step_s`` (the Mobilise-D rule of at least two consecutive strides: four contacts).
    Isolated detections (a sit-to-stand, a bump, a single shuffle) form no bout. Running the
    walking detector over every stretch that is not running and taking the bouts from this rule
    keeps the slow and turning walks that a window-based activity classifier labels still.

    Parameters
    ----------
    ic_idx
        Initial contacts of the whole recording (or of its non-running stretches), sample
        indices, ascending.
    sampling_rate_hz
        Sampling rate, Hz (keyword-only, no default).
    max_step_s
        A longer interval between two contacts ends a bout, seconds.
    min_steps
        Fewest initial contacts in a bout.

    Returns
    -------
    list of (int, int)
        ``(first, last)`` positions into ``ic_idx`` of every bout (inclusive), in time order.

    Raises
    ------
    InputError
        If the rate is not a positive number or ``min_steps`` is below 2.
    """
    fs = float(sampling_rate_hz)
    if not (np.isfinite(fs) and fs > 0):
        raise InputError(f"sampling_rate_hz={sampling_rate_hz} is not a positive rate in Hz")
    if min_steps < 2:
        raise InputError(f"min_steps={min_steps} is below 2; a bout needs at least one step")
    ic = np.asarray(ic_idx, dtype=float)
    if len(ic) == 0:
        return []
    breaks = np.flatnonzero(np.diff(ic) / fs > max_step_s)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, len(ic) - 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a + 1 >= min_steps]
