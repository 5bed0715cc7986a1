"""Running gait events (initial contact, toe-off, side) from one IMU on the sacrum.

Physics
-------
The vertical specific force at the sacrum (gravity included) tracks the vertical ground reaction
force divided by body mass: near 0 g in flight (near free fall), rising through the landing to 2-3 g
at mid-stance, falling back to near 0 g at toe-off. Over whole strides its mean is 1 g. So:

1. A heavily smoothed copy (``step_lowpass_hz``) crosses 1 g twice per step; the parts below 1 g
   hold one flight each. A flight is accepted when its lowest value (the *flight floor*) is below
   ``max_floor_g``; a contact between two flights when its peak reaches ``min_peak_g``.
2. Initial contact is the first rise of the signal (low-passed at ``lowpass_hz``) through
   ``floor + contact_level_g`` after the flight floor; toe-off is the last fall through the same
   level before the next flight floor. The level is relative to the floor, so a clipped
   (pre-filtered) signal and an unclipped raw one with noise around 0 g are treated alike.

All levels are fractions of g, i.e. relative to the bout's own gravity, and no parameter is
tuned per recording. Every decision depends only on the signal within about half a second of
the event (one flight and the contacts either side), so the same code run on a sliding window with
0.5 s look-ahead reproduces the batch result.

Side (left/right) comes from :func:`assign_running_sides`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from stridecue.constants import GRAVITY_MPS2, LEFT, RIGHT, UNKNOWN

from .signal import lowpass_zero_phase

__all__ = ["RunningEvents", "assign_running_sides", "detect_running_events"]


@dataclass(frozen=True)
class RunningEvents:
    """Initial contacts and their paired toe-offs, in samples of the input signal.

    Attributes
    ----------
    ic_idx
        Sample index (rounded) of every initial contact, int64, increasing.
    to_idx
        Sample index (rounded) of the toe-off ending the contact that starts at ``ic_idx[k]``;
        -1 where none was found (e.g. the recording ends during the contact).
    ic_pos, to_pos
        The same events as fractional sample positions (interpolated level crossings); NaN where
        there is none. ``ic_s``/``to_s`` use these.
    sampling_rate_hz
        Sampling rate of the input, Hz.
    """

    ic_idx: np.ndarray
    to_idx: np.ndarray
    ic_pos: np.ndarray
    to_pos: np.ndarray
    sampling_rate_hz: float

    @property
    def ic_s(self) -> np.ndarray:
        """Initial-contact times, s from the first input sample."""
        return self.ic_pos / self.sampling_rate_hz

    @property
    def to_s(self) -> np.ndarray:
        """Toe-off times, s from the first input sample; NaN where none."""
        return self.to_pos / self.sampling_rate_hz

    @property
    def contact_time_s(self) -> np.ndarray:
        """Contact time (toe-off minus initial contact) of every contact, s; NaN if no toe-off."""
        return self.to_s - self.ic_s

    def __len__(self) -> int:
        """Number of initial contacts."""
        return len(self.ic_idx)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start/stop (exclusive) of every run of True in ``mask``."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def detect_running_events(
    acc_vertical_mps2: np.ndarray,
    *,
    sampling_rate_hz: float,
    acc_ap_mps2: np.ndarray | None = None,
    gyr_radps: np.ndarray | None = None,
    lowpass_hz: float = 20.0,
    step_lowpass_hz: float = 4.0,
    contact_level_g: float = 0.3,
    max_floor_g: float = 0.6,
    min_peak_g: float = 1.5,
    min_contact_time_s: float = 0.06,
    max_contact_time_s: float = 0.6,
    bridge_s: float = 0.03,
) -> RunningEvents:
    """Detect running initial contacts and toe-offs from the sacrum vertical specific force.

    Parameters
    ----------
    acc_vertical_mps2
        Sacrum specific force along the earth vertical (gravity included, ~9.81 when still), m/s^2,
        shape (N,). Raw or pre-filtered; NaN marks missing samples (no event is placed where the
        search window holds NaN).
    sampling_rate_hz
        Sampling rate, Hz (100-500 Hz tested).
    acc_ap_mps2
        Optional antero-posterior specific force, m/s^2, shape (N,). Accepted for interface
        stability; the current method does not need it.
    gyr_radps
        Optional sacrum angular rate, rad/s, shape (N, 3). Accepted for interface stability; not
        used by the current method.
    lowpass_hz
        Cut-off of the zero-phase low-pass applied before locating the events, Hz.
    step_lowpass_hz
        Cut-off of the heavy smoothing used to separate steps, Hz (below the step frequency's
        second harmonic; 4 Hz suits 130-220 steps/min).
    contact_level_g
        Level above the flight floor, in g, whose crossing marks contact start and end.
    max_floor_g
        A flight is accepted only if the signal falls below this level, g.
    min_peak_g
        A contact is accepted only if the signal reaches this level, g.
    min_contact_time_s, max_contact_time_s
        Plausible contact-time range; contacts outside it get no toe-off (``to_idx`` -1).
    bridge_s
        Excursions above the contact level shorter than this inside a flight (noise) are ignored, s.

    Returns
    -------
    RunningEvents
        The detected contacts.
    """
    del gyr_radps  # reserved for a gyro-assisted method
    a = np.asarray(acc_vertical_mps2, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"acc_vertical_mps2 must be 1-D, got shape {a.shape}")
    if acc_ap_mps2 is not None and np.shape(acc_ap_mps2) != a.shape:
        raise ValueError(
            f"acc_ap_mps2 must have the shape of acc_vertical_mps2 {a.shape}, "
            f"got {np.shape(acc_ap_mps2)}"
        )
    fs = float(sampling_rate_hz)
    empty = RunningEvents(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), fs
    )
    if a.size < 4 or np.isfinite(a).sum() < 4:
        if a.size:
            warnings.warn(
                "too few finite vertical-acceleration samples: no running events",
                RuntimeWarning,
                stacklevel=2,
            )
        return empty
    nan = ~np.isfinite(a)
    a_g = a / GRAVITY_MPS2
    sig = lowpass_zero_phase(a_g, sampling_rate_hz=fs, cutoff_hz=lowpass_hz)
    smooth = lowpass_zero_phase(a_g, sampling_rate_hz=fs, cutoff_hz=step_lowpass_hz, order=2)
    sig_f = np.where(nan, np.inf, sig)  # NaN never counts as a flight floor

    # Flights: runs of the smoothed signal below 1 g whose floor is low enough.
    low = np.where(nan, False, smooth < 1.0)
    flights = []  # (floor sample, floor value)
    for start, stop in _runs(low):
        m = start + int(np.argmin(sig_f[start:stop]))
        if sig_f[m] <= max_floor_g:
            flights.append((m, float(sig_f[m])))

    # Each flight: the run below floor + level around its floor, short excursions above bridged.
    n = len(sig)
    bridge = int(round(bridge_s * fs))
    edges = []  # (toe-off ending the previous contact, initial contact ending the flight)
    for k, (m, floor) in enumerate(flights):
        lo = flights[k - 1][0] if k > 0 else 0
        hi = flights[k + 1][0] if k + 1 < len(flights) else n
        level = floor + contact_level_g
        below = sig_f[lo:hi] < level
        for start, stop in _runs(~below):
            if start > 0 and stop < len(below) and stop - start <= bridge:
                below[start:stop] = True
        j = m - lo
        r0 = j - int(np.argmin(below[j::-1])) if not below[: j + 1].all() else 0
        r1 = j + int(np.argmin(below[j:])) if not below[j:].all() else len(below)
        to = float("nan")
        if r0 > 0:
            i0 = lo + r0 - 1  # last sample at or above the level
            to = i0 + (sig[i0] - level) / (sig[i0] - sig[i0 + 1])
        ic = float("nan")
        if r1 < len(below):
            i1 = lo + r1 - 1  # last sample below the level
            ic = i1 + (level - sig[i1]) / (sig[i1 + 1] - sig[i1])
        edges.append((to, ic, hi))

    ic_pos: list[float] = []
    to_pos: list[float] = []
    min_ct = min_contact_time_s * fs
    max_ct = max_contact_time_s * fs
    for k, (_, ic, hi) in enumerate(edges):
        if not np.isfinite(ic):
            continue
        lo = int(np.floor(ic))
        if nan[lo : min(hi, n)].any() or np.nanmax(sig[lo:hi]) < min_peak_g:
            continue
        to = edges[k + 1][0] if k + 1 < len(edges) else float("nan")
        if np.isfinite(to) and not (min_ct <= to - ic <= max_ct):
            to = float("nan")
        ic_pos.append(ic)
        to_pos.append(to)

    icp = np.asarray(ic_pos, dtype=float)
    top = np.asarray(to_pos, dtype=float)
    ic_idx = np.rint(icp).astype(np.int64)
    to_idx = np.where(np.isfinite(top), np.rint(np.nan_to_num(top)), -1).astype(np.int64)
    return RunningEvents(ic_idx, to_idx, icp, top, fs)


def _stance_windows(ic_idx: np.ndarray, n: int, width: int) -> list[slice]:
    """Windows from each initial contact to ``width`` samples later (stopping at the next)."""
    out = []
    for k, i in enumerate(ic_idx):
        stop = min(int(i) + width, n)
        if k + 1 < len(ic_idx):
            stop = min(stop, int(ic_idx[k + 1]))
        out.append(slice(int(i), max(stop, int(i) + 1)))
    return out


def assign_running_sides(
    ic_idx: np.ndarray,
    *,
    sampling_rate_hz: float,
    gyr_vertical_radps: np.ndarray | None = None,
    acc_ml_mps2: np.ndarray | None = None,
    thigh_left_flexion_radps: np.ndarray | None = None,
    thigh_right_flexion_radps: np.ndarray | None = None,
    stance_window_s: float = 0.15,
    max_step_time_s: float = 0.6,
) -> np.ndarray:
    """Give every running initial contact a side: ``"left"``, ``"right"`` or ``"unknown"``.

    Sign conventions (segment frame x anterior, y left, z up) and the physics behind them:

    - Medio-lateral acceleration (``acc_ml_mps2``, + towards the left): in stance the foot is
      beside the body, so the ground pushes the body towards the other side. During a right-foot
      contact the mean ML acceleration is positive (towards the left); during a left-foot contact
      it is negative.
    - Pelvis yaw rate (``gyr_vertical_radps``, + counter-clockwise seen from above, i.e. the
      pelvis turning left): during a right-foot contact the free left leg swings forward and
      carries the left side of the pelvis forward, so the pelvis turns right: negative yaw rate;
      positive during a left-foot contact.
    - Thigh flexion rate (+ knee moving forward): at its own initial contact a thigh is
      extending (negative rate); at the other foot's contact it swings forward (positive).

    Each available signal gives a vote per contact (its mean over ``stance_window_s`` after the
    contact, with the sign above, normalised by its spread over the bout); the votes are summed
    and then alternation is enforced within each run of consecutive steps (a step longer than
    ``max_step_time_s`` starts a new run): the run's parity is the one that the votes favour.

    Parameters
    ----------
    ic_idx
        Initial-contact sample indices, increasing.
    sampling_rate_hz
        Sampling rate of the signals, Hz.
    gyr_vertical_radps
        Pelvis angular rate about the vertical (z up), rad/s, shape (N,).
    acc_ml_mps2
        Pelvis medio-lateral specific force, + to the left, m/s^2, shape (N,).
    thigh_left_flexion_radps, thigh_right_flexion_radps
        Thigh flexion rate (+ flexion), rad/s, shape (N,), on the sacrum's sample clock.
    stance_window_s
        Window after each contact over which the signals are averaged, s.
    max_step_time_s
        A longer gap between contacts breaks the alternation, s.

    Returns
    -------
    numpy.ndarray
        Object array of ``"left"``/``"right"``/``"unknown"``, one per contact; all ``"unknown"``
        where no side signal is given or the votes are all zero/NaN within a run.
    """
    ic = np.asarray(ic_idx, dtype=np.int64)
    sides = np.full(len(ic), UNKNOWN, dtype=object)
    # + vote means "right foot"
    signals: list[tuple[np.ndarray, float]] = []
    if acc_ml_mps2 is not None:
        signals.append((np.asarray(acc_ml_mps2, dtype=float), +1.0))
    if gyr_vertical_radps is not None:
        signals.append((np.asarray(gyr_vertical_radps, dtype=float), -1.0))
    if thigh_left_flexion_radps is not None:
        signals.append((np.asarray(thigh_left_flexion_radps, dtype=float), +1.0))
    if thigh_right_flexion_radps is not None:
        signals.append((np.asarray(thigh_right_flexion_radps, dtype=float), -1.0))
    if not signals or len(ic) == 0:
        return sides
    width = max(1, int(round(stance_window_s * sampling_rate_hz)))
    votes = np.zeros(len(ic))
    for x, sign in signals:
        wins = _stance_windows(ic, len(x), width)
        means = np.array([np.nanmean(x[w]) if np.isfinite(x[w]).any() else np.nan for w in wins])
        centred = means - np.nanmedian(means) if np.isfinite(means).any() else means
        spread = np.nanstd(centred) if np.isfinite(centred).sum() > 1 else np.nan
        if not np.isfinite(spread) or spread == 0:
            continue
        votes += sign * np.nan_to_num(centred / spread)
    # alternation within runs of regular steps
    breaks = np.flatnonzero(np.diff(ic) > max_step_time_s * sampling_rate_hz) + 1
    for run in np.split(np.arange(len(ic)), breaks):
        if run.size == 0:
            continue
        alt = np.where(np.arange(run.size) % 2 == 0, 1.0, -1.0)
        score = float(np.sum(alt * votes[run]))
        if score == 0:
            continue
        first_right = score > 0
        for j, k in enumerate(run):
            right = first_right if j % 2 == 0 else not first_right
            sides[k] = RIGHT if right else LEFT
    return sides
