"""Running gait events (initial contact, toe-off, side) from one IMU on the sacrum.

Physics
-------
The vertical specific force at the sacrum (gravity included) tracks the vertical ground reaction
force divided by body mass: near 0 g in flight (near free fall), rising through the landing to 2-3 g
at mid-stance, falling back to near 0 g at toe-off. Over whole strides its mean is 1 g. So:

1. *Which* steps: a heavily smoothed copy (``step_lowpass_hz``) crosses 1 g twice per step; the
   parts below 1 g hold one flight each. A flight is accepted when its lowest value (the *flight
   floor*) is below ``max_floor_g``; a contact between two flights when its peak reaches
   ``min_peak_g``. The last rise of the signal (low-passed at ``lowpass_hz``) through
   ``floor + contact_level_g`` before the contact's peak is the contact's *anchor*.
2. *When* the foot lands (timing model): one fixed level is a poor clock, because the rising edge
   changes shape with speed, slope and foot strike (a sharp rearfoot impact, smeared by any
   low-pass, is already high at contact; a slow midfoot rise is still near the floor). Two
   markers replace it:

   - vertical only: the last rise through ``floor + ic_rise_fraction * (peak - floor)``, where
     ``peak`` is the first local maximum at least ``peak_rise_g`` above the floor (the impact or
     active peak); minus ``ic_offset_s``.
   - with the antero-posterior specific force (``acc_ap_mps2``, + forward): braking starts when
     the foot lands, so the AP signal drops sharply; the instant of its steepest descent within
     ``ap_search_s`` of the anchor, minus ``ap_ic_offset_s``. This is the default marker when AP
     is given (it falls back to the vertical marker where the AP window holds NaN or no descent).

   Toe-off is the last fall through ``floor + contact_level_g`` before the next flight floor,
   minus ``to_offset_s``. The levels are relative to the floor, so a clipped (pre-filtered)
   signal and a raw one with noise around 0 g are treated alike.

All levels are fractions of g, all offsets in seconds; the defaults were chosen on the sacral
treadmill data in ``bench/bench_events_running.py`` by leave-one-trial-out cross-validation
(the bench reports the cross-validated accuracy), never per recording.

Bounded look-ahead
------------------
Every decision depends only on the signal from the previous flight to the next flight floor
(about one step either side), so the same core run on a sliding window reproduces the batch
result: :class:`RunningEventStream` does that with ``lookahead_s`` of delay (see its notes).

Cadence over a bout: :func:`running_cadence_spm`. Side (left/right): :func:`assign_running_sides`.
Vertical-only timing bias against the contact's peak force: :func:`correct_vertical_ic_timing`.
"""

from __future__ import annotations

import bisect
import math
import warnings
from dataclasses import dataclass

import numpy as np

from stridecue.constants import GRAVITY_MPS2, LEFT, RIGHT, UNKNOWN

from .signal import gradient, last_crossing_up, lowpass_zero_phase, nan_median

__all__ = [
    "VERTICAL_IC_PEAK_BIAS",
    "RunningEventStream",
    "RunningEvents",
    "assign_running_sides",
    "contact_peak_g",
    "correct_vertical_ic_timing",
    "detect_running_events",
    "running_cadence_spm",
]


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


def _run_bounds(mask: np.ndarray) -> list[int]:
    """Boundaries of the runs of equal values in ``mask``: ``[0, changes..., len(mask)]``.

    Run ``i`` covers ``mask[b[i]:b[i + 1]]``; the runs alternate in value, starting with
    ``mask[0]``.
    """
    return [0, *[i + 1 for i in (mask[1:] != mask[:-1]).nonzero()[0].tolist()], len(mask)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start/stop (exclusive) of every run of True in ``mask``."""
    if mask.size == 0:
        return []
    b = _run_bounds(mask)
    first = 0 if mask[0] else 1
    return list(zip(b[first::2], b[first + 1 :: 2], strict=False))


def _bridged_run(below: np.ndarray, j: int, bridge: int) -> tuple[int, int]:
    """The run of True in ``below`` that holds sample ``j``, short gaps inside it bridged.

    A gap (run of False) counts as True when it is at most ``bridge`` samples long and neither
    starts at the first sample nor ends at the last one (noise inside a flight, not its edge).

    Returns
    -------
    r0
        Last False sample before the run; 0 if there is none (the run reaches the start).
    r1
        First False sample after the run; ``len(below)`` if there is none.
    Both are ``j`` when ``below[j]`` is False and not bridged.
    """
    b = _run_bounds(below)
    n = b[-1]
    true_runs = 0 if below[0] else 1  # parity of the True runs

    def counts(i: int) -> bool:  # run i is True, or a bridged gap
        return i % 2 == true_runs or (0 < b[i] and b[i + 1] < n and b[i + 1] - b[i] <= bridge)

    i = bisect.bisect_right(b, j) - 1
    if not counts(i):
        return j, j
    first, last = i, i
    while first > 0 and counts(first - 1):
        first -= 1
    while last < len(b) - 2 and counts(last + 1):
        last += 1
    return (b[first] - 1 if first > 0 else 0), b[last + 1]


@dataclass(frozen=True)
class _Params:
    """Tunables of the running-event core (see :func:`detect_running_events`)."""

    lowpass_hz: float = 20.0
    step_lowpass_hz: float = 4.0
    contact_level_g: float = 0.3
    max_floor_g: float = 0.6
    min_peak_g: float = 1.5
    min_contact_time_s: float = 0.06
    max_contact_time_s: float = 0.6
    bridge_s: float = 0.03
    ic_rise_fraction: float = 0.1
    peak_rise_g: float = 0.8
    ic_offset_s: float = 0.0031
    ap_search_s: float = 0.06
    ap_ic_offset_s: float = 0.0087
    to_offset_s: float = 0.0041


def _first_peak(sig: np.ndarray, start: int, stop: int, level: float) -> int:
    """First local maximum at or above ``level`` in ``sig[start:stop]``; else the largest value."""
    seg = sig[start:stop]
    if seg.size < 2:
        return start
    ok = np.flatnonzero((seg[:-1] >= level) & (seg[:-1] >= seg[1:]))
    return start + (int(ok[0]) if ok.size else int(np.nanargmax(seg)))


def _steepest_descent(dap: np.ndarray, lo: int, hi: int, *, all_finite: bool) -> float:
    """Fractional position of the most negative slope in ``dap[lo:hi]``; NaN if unusable.

    Unusable: NaN in the window, no descent (slope >= 0) or the minimum on the window edge.
    ``all_finite``: ``dap`` is known to hold no NaN (the window is then not checked).
    """
    lo, hi = max(lo, 0), min(hi, len(dap))
    seg = dap[lo:hi]
    if seg.size < 3 or not (all_finite or np.isfinite(seg).all()):
        return float("nan")
    k = int(seg.argmin())
    if k == 0 or k == seg.size - 1:
        return float("nan")
    y0, y1, y2 = seg[k - 1 : k + 2].tolist()
    if y1 >= 0:
        return float("nan")
    den = y0 - 2 * y1 + y2
    delta = 0.5 * (y0 - y2) / den if den > 0 else 0.0
    return lo + k + min(max(delta, -0.5), 0.5)


def _detect_core(
    a_g: np.ndarray, ap_g: np.ndarray | None, fs: float, p: _Params
) -> tuple[np.ndarray, np.ndarray]:
    """Initial-contact and toe-off positions (fractional samples) from vertical (and AP) in g."""
    nan = ~np.isfinite(a_g)
    any_nan = bool(nan.any())
    # vertical and AP through the same low-pass in one call
    both = a_g if ap_g is None else np.column_stack((a_g, ap_g))
    filtered = lowpass_zero_phase(both, sampling_rate_hz=fs, cutoff_hz=p.lowpass_hz)
    sig = filtered if ap_g is None else filtered[:, 0]
    smooth = lowpass_zero_phase(a_g, sampling_rate_hz=fs, cutoff_hz=p.step_lowpass_hz, order=2)
    sig_f = np.where(nan, np.inf, sig) if any_nan else sig  # NaN never counts as a flight floor
    dap = None
    if ap_g is not None and np.isfinite(ap_g).sum() >= 2:
        dap = gradient(filtered[:, 1])
        dap_finite = bool(np.isfinite(dap).all())

    # Flights: runs of the smoothed signal below 1 g whose floor is low enough.
    low = (smooth < 1.0) & ~nan if any_nan else smooth < 1.0
    flights = []  # (floor sample, floor value)
    for start, stop in _runs(low):
        m = start + int(sig_f[start:stop].argmin())
        floor = float(sig_f[m])
        if floor <= p.max_floor_g:
            flights.append((m, floor))

    # Each flight: the run below floor + level around its floor, short excursions above bridged.
    n = len(sig)
    bridge = int(round(p.bridge_s * fs))
    edges = []  # (toe-off ending the previous contact, anchor ending the flight, next floor)
    for k, (m, floor) in enumerate(flights):
        lo = flights[k - 1][0] if k > 0 else 0
        hi = flights[k + 1][0] if k + 1 < len(flights) else n
        level = floor + p.contact_level_g
        r0, r1 = _bridged_run(sig_f[lo:hi] < level, m - lo, bridge)
        to = float("nan")
        if r0 > 0:
            i0 = lo + r0 - 1  # the sample before the last one at or above the level
            to = i0 + (sig[i0] - level) / (sig[i0] - sig[i0 + 1])
        anchor = float("nan")
        if r1 < hi - lo:
            i1 = lo + r1 - 1  # last sample below the level
            anchor = i1 + (level - sig[i1]) / (sig[i1 + 1] - sig[i1])
        edges.append((to, anchor, hi, m, floor))

    ic_pos: list[float] = []
    to_pos: list[float] = []
    min_ct = p.min_contact_time_s * fs
    max_ct = p.max_contact_time_s * fs
    search = int(np.ceil(p.ap_search_s * fs))
    for k, (_, anchor, hi, m, floor) in enumerate(edges):
        if not math.isfinite(anchor):
            continue
        lo = math.floor(anchor)
        # no NaN from the anchor to the next floor (then the maximum is nanmax)
        if (any_nan and nan[lo:hi].any()) or sig[lo:hi].max() < p.min_peak_g:
            continue
        # timing model: AP braking onset if available, else a fraction of the rise
        ic = float("nan")
        if dap is not None:
            ic = _steepest_descent(dap, lo - search, lo + search + 2, all_finite=dap_finite)
            ic -= p.ap_ic_offset_s * fs
        if not math.isfinite(ic):
            pk = _first_peak(sig, lo, hi, floor + p.peak_rise_g)
            ic = last_crossing_up(sig, floor + p.ic_rise_fraction * (sig[pk] - floor), m, pk + 1)
            ic = (ic if math.isfinite(ic) else anchor) - p.ic_offset_s * fs
        to = edges[k + 1][0] - p.to_offset_s * fs if k + 1 < len(edges) else float("nan")
        if math.isfinite(to) and not (min_ct <= to - ic <= max_ct):
            to = float("nan")
        if ic_pos and ic <= ic_pos[-1]:
            continue  # never out of order (cannot happen with sane offsets)
        ic_pos.append(ic)
        to_pos.append(to)
    return np.asarray(ic_pos, dtype=float), np.asarray(to_pos, dtype=float)


def _as_g(x: np.ndarray | None, shape: tuple[int, ...] | None, name: str) -> np.ndarray | None:
    """Validate a 1-D specific-force signal in m/s^2 and return it in g."""
    if x is None:
        return None
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} must have the shape of acc_vertical_mps2 {shape}, got {a.shape}")
    return a / GRAVITY_MPS2


def _events(ic_pos: np.ndarray, to_pos: np.ndarray, fs: float) -> RunningEvents:
    """Wrap positions into :class:`RunningEvents`."""
    ic_idx = np.rint(ic_pos).astype(np.int64)
    to_idx = np.where(np.isfinite(to_pos), np.rint(to_pos), -1).astype(np.int64)
    return RunningEvents(ic_idx, to_idx, ic_pos, to_pos, fs)


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
    ic_rise_fraction: float = 0.1,
    peak_rise_g: float = 0.8,
    ic_offset_s: float = 0.0031,
    ap_search_s: float = 0.06,
    ap_ic_offset_s: float = 0.0087,
    to_offset_s: float = 0.0041,
) -> RunningEvents:
    """Detect running initial contacts and toe-offs from the sacrum specific force.

    Parameters
    ----------
    acc_vertical_mps2
        Sacrum specific force along the earth vertical (gravity included, ~9.81 when still), m/s^2,
        shape (N,). Raw or pre-filtered; NaN marks missing samples (no event is placed where the
        search window holds NaN).
    sampling_rate_hz
        Sampling rate, Hz (100-500 Hz tested).
    acc_ap_mps2
        Optional antero-posterior specific force (+ forward, horizontal direction of travel or
        the pelvis anterior axis), m/s^2, shape (N,). When given, initial contact is timed from
        the braking onset (steepest AP descent), the more accurate marker.
    gyr_radps
        Optional sacrum angular rate, rad/s, shape (N, 3). Accepted for interface stability; not
        used by the current method.
    lowpass_hz
        Cut-off of the zero-phase low-pass applied to both signals before locating events, Hz.
    step_lowpass_hz
        Cut-off of the heavy smoothing used to separate steps, Hz (below the step frequency's
        second harmonic; 4 Hz suits 130-220 steps/min).
    contact_level_g
        Level above the flight floor, in g, that anchors each contact and whose last downward
        crossing marks toe-off.
    max_floor_g
        A flight is accepted only if the signal falls below this level, g.
    min_peak_g
        A contact is accepted only if the signal reaches this level, g.
    min_contact_time_s, max_contact_time_s
        Plausible contact-time range; contacts outside it get no toe-off (``to_idx`` -1).
    bridge_s
        Excursions above the contact level shorter than this inside a flight (noise) are ignored, s.
    ic_rise_fraction
        Vertical-only timing: fraction of the rise from the flight floor to the first peak whose
        last upward crossing marks initial contact.
    peak_rise_g
        The first peak is the first local maximum at least this far above the floor, g.
    ic_offset_s
        Subtracted from the vertical-only initial-contact marker, s.
    ap_search_s
        Half-width of the window around the anchor searched for the steepest AP descent, s.
    ap_ic_offset_s
        Subtracted from the AP marker (braking onset lags the force onset), s.
    to_offset_s
        Subtracted from the toe-off marker, s.

    Returns
    -------
    RunningEvents
        The detected contacts.
    """
    del gyr_radps  # reserved for a gyro-assisted method
    a = _as_g(acc_vertical_mps2, None, "acc_vertical_mps2")
    assert a is not None
    ap = _as_g(acc_ap_mps2, a.shape, "acc_ap_mps2")
    fs = float(sampling_rate_hz)
    if a.size < 4 or np.isfinite(a).sum() < 4:
        if a.size:
            warnings.warn(
                "too few finite vertical-acceleration samples: no running events",
                RuntimeWarning,
                stacklevel=2,
            )
        return _events(np.zeros(0), np.zeros(0), fs)
    params = _Params(
        lowpass_hz=lowpass_hz,
        step_lowpass_hz=step_lowpass_hz,
        contact_level_g=contact_level_g,
        max_floor_g=max_floor_g,
        min_peak_g=min_peak_g,
        min_contact_time_s=min_contact_time_s,
        max_contact_time_s=max_contact_time_s,
        bridge_s=bridge_s,
        ic_rise_fraction=ic_rise_fraction,
        peak_rise_g=peak_rise_g,
        ic_offset_s=ic_offset_s,
        ap_search_s=ap_search_s,
        ap_ic_offset_s=ap_ic_offset_s,
        to_offset_s=to_offset_s,
    )
    return _events(*_detect_core(a, ap, fs, params), fs)


def running_cadence_spm(ic_s: np.ndarray, *, max_fill_steps: int = 2) -> float:
    """Cadence of a running bout, steps/min, from its initial-contact times.

    Steps counted over the time from the first to the last contact: ``60 * steps / duration``.
    An interval of about ``k`` median steps (``k <= max_fill_steps``, rounded) counts as ``k``
    steps (missed detections do not bias the cadence); a longer interval is a pause and is left
    out of both the step count and the duration.

    Parameters
    ----------
    ic_s
        Initial-contact times of the bout, s (sorted or not; NaN ignored).
    max_fill_steps
        Longest interval, in median steps, still counted as steps.

    Returns
    -------
    float
        Cadence, steps/min; NaN (with a warning) if fewer than two finite contacts.
    """
    t = np.sort(np.asarray(ic_s, dtype=float))
    t = t[np.isfinite(t)]
    if t.size < 2:
        warnings.warn(
            "fewer than two initial contacts: cadence is NaN", RuntimeWarning, stacklevel=2
        )
        return float("nan")
    d = np.diff(t)
    steps = np.rint(d / np.median(d))
    keep = (steps >= 1) & (steps <= max_fill_steps)
    if not keep.any():
        return float("nan")
    return float(60.0 * steps[keep].sum() / d[keep].sum())


class RunningEventStream:
    """Running events from a live sample stream, with a bounded look-ahead.

    Feed chunks of samples with :meth:`update`; every call runs the same core as
    :func:`detect_running_events` on a sliding buffer (``history_s`` of decided past, plus the
    undecided part) and returns the contacts whose initial contact is now at least
    ``lookahead_s`` old. :meth:`finish` decides the rest at the end of the stream.

    Parameters
    ----------
    sampling_rate_hz
        Sampling rate of the stream, Hz.
    lookahead_s
        Delay before a contact is decided, s. It must cover the contact and the next flight
        floor (toe-off and the peak check use them): about one step plus a contact, so 0.8 s or
        more; the default 1.0 s reproduces the batch result on the benchmark data (see tests).
    history_s
        Decided past kept in the buffer, s (the previous flight and the filters' settling).
    **detector_kwargs
        Any tunable of :func:`detect_running_events` (``contact_level_g``, ``ap_ic_offset_s``...).

    Notes
    -----
    Times are seconds from the first sample fed. Differences from the batch call: the zero-phase
    filters see the buffer edges, which moves events by far less than a microsecond when the
    buffer edges are a step or more away (tested); a contact whose next flight floor lies more
    than ``lookahead_s`` ahead (a pause or the end of a bout) is decided without it, so it may
    get no toe-off or be dropped where the batch call, seeing the future, keeps it. A contact is
    never emitted twice (an initial contact within 0.1 s after the last emitted one is skipped).
    """

    def __init__(
        self,
        *,
        sampling_rate_hz: float,
        lookahead_s: float = 1.0,
        history_s: float = 2.0,
        **detector_kwargs: float,
    ) -> None:
        if sampling_rate_hz <= 0 or lookahead_s <= 0 or history_s <= 0:
            raise ValueError(
                "sampling_rate_hz, lookahead_s and history_s must be positive, got "
                f"{sampling_rate_hz}, {lookahead_s}, {history_s}"
            )
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.lookahead_s = float(lookahead_s)
        self.history_s = float(history_s)
        self.detector_kwargs = dict(detector_kwargs)
        self._params = _Params(**detector_kwargs)
        self._vert = np.zeros(0)
        self._ap: np.ndarray | None = None
        self._start = 0  # absolute sample index of the buffer's first sample
        self._last_ic = -np.inf  # absolute position of the last emitted initial contact

    def update(
        self, acc_vertical_mps2: np.ndarray, acc_ap_mps2: np.ndarray | None = None
    ) -> list[tuple[float, float]]:
        """Append a chunk and return the newly decided contacts.

        Parameters
        ----------
        acc_vertical_mps2
            Next vertical specific-force samples, m/s^2, shape (M,).
        acc_ap_mps2
            Next AP specific-force samples, m/s^2, shape (M,); give it in every chunk or never.

        Returns
        -------
        list of tuple of float
            ``(ic_s, to_s)`` of every newly decided contact, in time order; ``to_s`` is NaN
            where there is no toe-off.
        """
        v = _as_g(acc_vertical_mps2, None, "acc_vertical_mps2")
        assert v is not None
        ap = _as_g(acc_ap_mps2, v.shape, "acc_ap_mps2")
        if (ap is None) != (self._ap is None) and (self._vert.size or self._start):
            raise ValueError("acc_ap_mps2 must be given in every chunk or in none")
        self._vert = np.concatenate([self._vert, v])
        if ap is not None:
            self._ap = ap if self._ap is None else np.concatenate([self._ap, ap])
        return self._decide(final=False)

    def finish(self) -> list[tuple[float, float]]:
        """Decide every remaining contact (end of stream); same return as :meth:`update`."""
        return self._decide(final=True)

    def _decide(self, *, final: bool) -> list[tuple[float, float]]:
        fs = self.sampling_rate_hz
        n_total = self._start + self._vert.size
        boundary = n_total if final else n_total - self.lookahead_s * fs
        out: list[tuple[float, float]] = []
        if self._vert.size >= 4 and np.isfinite(self._vert).sum() >= 4 and boundary > self._start:
            ic_pos, to_pos = _detect_core(self._vert, self._ap, fs, self._params)
            for ic, to in zip(ic_pos + self._start, to_pos + self._start, strict=True):
                if ic >= boundary or ic <= self._last_ic + 0.1 * fs:
                    continue
                out.append((ic / fs, to / fs))
                self._last_ic = ic
        drop = int(boundary - self.history_s * fs) - self._start
        if drop > 0:
            self._vert = self._vert[drop:]
            if self._ap is not None:
                self._ap = self._ap[drop:]
            self._start += drop
        return out


def _stance_windows(ic: np.ndarray, n: int, width: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stance window of every contact, as sample indices grouped by window length.

    Contact ``k``'s window is ``x[ic[k]:stop]`` (Python's slice rules, so a contact outside the
    signal has an empty one) with ``stop`` ``width`` samples after the contact, no later than
    the next contact or the signal end, and at least one sample after the contact.

    Returns
    -------
    list of (rows, idx)
        For every non-zero window length ``L``: the contacts with that length and the indices
        of their samples, shape (len(rows), L).
    """
    stop = np.minimum(ic + width, n)
    stop[:-1] = np.minimum(stop[:-1], ic[1:])
    stop = np.maximum(stop, ic + 1)
    start, stop = _slice_bound(ic, n), _slice_bound(stop, n)
    length = np.maximum(stop - start, 0)
    groups = []
    for size in sorted(set(length.tolist()) - {0}):
        rows = np.flatnonzero(length == size)
        groups.append((rows, start[rows, None] + np.arange(size)))
    return groups


def _slice_bound(i: np.ndarray, n: int) -> np.ndarray:
    """Python's slice rule for start/stop indices ``i`` on a sequence of length ``n``."""
    return np.where(i < 0, np.maximum(i + n, 0), np.minimum(i, n))


def _window_means(
    x: np.ndarray, windows: list[tuple[np.ndarray, np.ndarray]], count: int
) -> np.ndarray:
    """``np.nanmean`` of every signal over every window of :func:`_stance_windows`.

    ``x`` holds the signals as rows, shape (S, N); the result is (S, ``count``), NaN where a
    window holds no finite sample or is empty. The windows of equal length are gathered as the
    rows of one C-ordered array: each row is summed exactly as the window on its own would be,
    so the means are ``np.nanmean``'s bit for bit.
    """
    out = np.full((len(x), count), np.nan)
    for rows, idx in windows:
        m = x.take(idx, axis=1)  # (S, len(rows), L), C order
        nan = np.isnan(m)
        total = np.where(nan, 0.0, m).sum(axis=2)
        n_valid = np.maximum((~nan).sum(axis=2), 1)  # 0 only where all NaN
        out[:, rows] = np.where(np.isfinite(m).any(axis=2), total / n_valid, np.nan)
    return out


_FLOAT_MAX = float(np.finfo(float).max)


def _nan_to_num(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` of a float array: NaN to 0, infinities to the largest finite values."""
    return np.where(np.isnan(x), 0.0, np.minimum(np.maximum(x, -_FLOAT_MAX), _FLOAT_MAX))


def _nanstd(x: np.ndarray) -> float:
    """``np.nanstd`` of a 1-D array with at least one non-NaN value (the same operations).

    NaN are replaced by zeros for both sums, so each sum adds the same values in the same
    order as numpy's.
    """
    nan = np.isnan(x)
    count = np.count_nonzero(~nan)
    mean = np.where(nan, 0.0, x).sum() / count
    dev = np.where(nan, 0.0, x - mean)
    return math.sqrt((dev * dev).sum() / count)


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
    # every signal's stance-window means; the signals of one length through one gather
    by_length: dict[int, list[int]] = {}
    for k, (x, _) in enumerate(signals):
        by_length.setdefault(len(x), []).append(k)
    means = np.empty((len(signals), len(ic)))
    for n, rows in by_length.items():
        x = np.stack([signals[k][0] for k in rows])
        means[rows] = _window_means(x, _stance_windows(ic, n, width), len(ic))
    # vote: the mean minus the signal's median over the contacts, over its spread (none if flat)
    votes = np.zeros(len(ic))
    for row, (_, sign) in zip(means, signals, strict=True):
        if not np.isfinite(row).any():
            continue
        centred = row - nan_median(row)
        if np.count_nonzero(np.isfinite(centred)) < 2:
            continue
        spread = _nanstd(centred)
        if not math.isfinite(spread) or spread == 0:
            continue
        votes += sign * _nan_to_num(centred / spread)
    # alternation within runs of regular steps
    breaks = ((ic[1:] - ic[:-1]) > max_step_time_s * sampling_rate_hz).nonzero()[0] + 1
    bounds = [0, *breaks.tolist(), len(ic)]
    alt = np.ones(len(ic))  # + on a run's 1st, 3rd... step, - on the others
    alt[1::2] = -1.0
    for start, stop in zip(bounds[:-1], bounds[1:], strict=False):
        score = float(np.sum(alt[: stop - start] * votes[start:stop]))
        if score == 0:
            continue
        first, other = (RIGHT, LEFT) if score > 0 else (LEFT, RIGHT)
        sides[start:stop:2] = first
        sides[start + 1 : stop : 2] = other
    return sides


#: Vertical-only initial-contact timing error (detected minus force plate, s) as a linear function
#: of the contact's peak vertical specific force in g: ``intercept + slope * peak_g``. Fitted by
#: least squares over every matched contact of the 16 sacral treadmill trials in
#: ``bench/bench_events_running.py`` on the default vertical-only detections (the bench reports
#: the leave-one-trial-out accuracy of this fit).
VERTICAL_IC_PEAK_BIAS: tuple[float, float] = (0.0204, -0.00691)


def contact_peak_g(
    events: RunningEvents, acc_vertical_mps2: np.ndarray, *, lowpass_hz: float = 20.0
) -> np.ndarray:
    """Peak vertical specific force of every contact (from its IC to its toe-off), in g.

    Parameters
    ----------
    events
        Events detected on ``acc_vertical_mps2``.
    acc_vertical_mps2
        The same vertical specific force (gravity included), m/s^2, shape (N,).
    lowpass_hz
        The signal is low-passed (zero phase) at this cutoff first, Hz (20 Hz: the filter of the
        recordings the bias was fitted on).

    Returns
    -------
    numpy.ndarray
        One value per contact, g; NaN where the contact has no toe-off or only NaN samples.
    """
    fs = events.sampling_rate_hz
    v = lowpass_zero_phase(
        np.asarray(acc_vertical_mps2, dtype=float), sampling_rate_hz=fs, cutoff_hz=lowpass_hz
    ) / GRAVITY_MPS2
    out = np.full(len(events), np.nan)
    for k, (ic, to) in enumerate(zip(events.ic_pos, events.to_pos, strict=True)):
        if not (np.isfinite(ic) and np.isfinite(to)):
            continue
        seg = v[int(np.ceil(ic)) : int(np.floor(to)) + 1]
        if np.isfinite(seg).any():
            out[k] = float(np.nanmax(seg))
    return out


def correct_vertical_ic_timing(
    events: RunningEvents,
    acc_vertical_mps2: np.ndarray,
    *,
    coefficients: tuple[float, float] = VERTICAL_IC_PEAK_BIAS,
) -> RunningEvents:
    """Remove the peak-force-dependent bias of vertical-only initial contacts.

    Without the AP signal the contact is timed on the rising edge of the vertical force, and that
    edge is steeper the harder the landing (faster running, downhill): the marker then comes
    early. On the sacral treadmill data the error falls by about 7 ms per g of the contact's
    peak force (:data:`VERTICAL_IC_PEAK_BIAS`), so each contact is moved by
    ``-(intercept + slope * peak_g)``. Toe-offs are unchanged. Only for events detected WITHOUT
    ``acc_ap_mps2`` (the AP marker has no such trend); fitted on one runner: see
    ``bench/results/events_running.md`` for its held-out accuracy.

    Parameters
    ----------
    events
        Vertical-only events of :func:`detect_running_events` on ``acc_vertical_mps2``.
    acc_vertical_mps2
        The vertical specific force they were detected on (gravity included), m/s^2.
    coefficients
        ``(intercept_s, slope_s_per_g)`` of the timing error.

    Returns
    -------
    RunningEvents
        The same events with corrected ``ic_pos``/``ic_idx``; contacts without a toe-off (no
        peak) keep their time.
    """
    intercept, slope = coefficients
    peak = contact_peak_g(events, acc_vertical_mps2)
    shift = np.where(np.isfinite(peak), -(intercept + slope * peak), 0.0)
    ic_pos = events.ic_pos + shift * events.sampling_rate_hz
    ic_idx = np.where(np.isfinite(ic_pos), np.round(ic_pos), events.ic_idx).astype(np.int64)
    return RunningEvents(ic_idx, events.to_idx, ic_pos, events.to_pos, events.sampling_rate_hz)
