"""The previous implementation of the running-event core and the side votes, kept as a reference.

``gait.events_running`` was restructured for speed (fewer numpy calls per stream window); the
restructured code must give the same results bit for bit. This module is the code before that
change, with the previous ``gait.signal.lowpass_zero_phase`` (column by column through
``gait.signal.filtfilt_butter``, which ``tests/test_signal.py`` pins to ``scipy.signal.sosfiltfilt``
bit for bit). Used by ``tests/test_events_running_equivalence.py`` and
``bench/bench_events_running_speed.py``; not part of the package.
"""

from __future__ import annotations

import numpy as np

# unchanged by the speed-up, so imported: the tunables, input checks and scalar helpers
from gait.events_running import RunningEvents, _as_g, _first_peak, _Params
from gait.signal import _butter_design, _fill_nan_linear, filtfilt_butter
from stridecue.constants import LEFT, RIGHT, UNKNOWN

__all__ = ["assign_running_sides", "detect_running_events", "lowpass_zero_phase"]


def _last_rise(x: np.ndarray, level: float, lo: int, hi: int) -> float:
    """Last upward crossing of ``level`` in ``x[lo:hi]`` (fractional sample), NaN if none."""
    seg = x[max(lo, 0) : hi]
    hit = np.flatnonzero((seg[:-1] < level) & (seg[1:] >= level))
    if hit.size == 0:
        return float("nan")
    k = max(lo, 0) + int(hit[-1])
    return k + (level - x[k]) / (x[k + 1] - x[k])


def lowpass_zero_phase(
    x: np.ndarray, *, sampling_rate_hz: float, cutoff_hz: float, order: int = 4
) -> np.ndarray:
    """The previous ``gait.signal.lowpass_zero_phase``: each column filtered on its own."""
    x = np.asarray(x, dtype=float)
    if sampling_rate_hz <= 0 or cutoff_hz <= 0:
        raise ValueError(
            f"sampling_rate_hz and cutoff_hz must be positive, got {sampling_rate_hz}, {cutoff_hz}"
        )
    cutoff = min(cutoff_hz, 0.45 * sampling_rate_hz)
    sos, _ = _butter_design(order, float(cutoff), "lowpass", float(sampling_rate_hz))
    n_sections = sos.shape[0]
    if x.ndim == 1:
        cols = [x]
    else:
        cols = [x[:, k] for k in range(x.shape[1])]
    out = []
    for col in cols:
        if np.isfinite(col).sum() < 2:
            out.append(np.full(col.shape, np.nan))
            continue
        filled, nan = _fill_nan_linear(col)
        padlen = min(3 * (2 * n_sections + 1), len(filled) - 1)
        y = filtfilt_butter(filled, order=order, cutoff_hz=cutoff, btype="lowpass",
                            sampling_rate_hz=sampling_rate_hz, padlen=padlen)
        y[nan] = np.nan
        out.append(y)
    return out[0] if x.ndim == 1 else np.column_stack(out)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start/stop (exclusive) of every run of True in ``mask``."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _steepest_descent(dap: np.ndarray, lo: int, hi: int) -> float:
    """Fractional position of the most negative slope in ``dap[lo:hi]``; NaN if unusable.

    Unusable: NaN in the window, no descent (slope >= 0) or the minimum on the window edge.
    """
    lo, hi = max(lo, 0), min(hi, len(dap))
    seg = dap[lo:hi]
    if seg.size < 3 or not np.isfinite(seg).all():
        return float("nan")
    k = int(np.argmin(seg))
    if seg[k] >= 0 or k == 0 or k == seg.size - 1:
        return float("nan")
    y0, y1, y2 = seg[k - 1], seg[k], seg[k + 1]
    den = y0 - 2 * y1 + y2
    delta = 0.5 * (y0 - y2) / den if den > 0 else 0.0
    return lo + k + float(np.clip(delta, -0.5, 0.5))


def _detect_core(
    a_g: np.ndarray, ap_g: np.ndarray | None, fs: float, p: _Params
) -> tuple[np.ndarray, np.ndarray]:
    """Initial-contact and toe-off positions (fractional samples) from vertical (and AP) in g."""
    nan = ~np.isfinite(a_g)
    sig = lowpass_zero_phase(a_g, sampling_rate_hz=fs, cutoff_hz=p.lowpass_hz)
    smooth = lowpass_zero_phase(a_g, sampling_rate_hz=fs, cutoff_hz=p.step_lowpass_hz, order=2)
    sig_f = np.where(nan, np.inf, sig)  # NaN never counts as a flight floor
    dap = None
    if ap_g is not None and np.isfinite(ap_g).sum() >= 2:
        dap = np.gradient(lowpass_zero_phase(ap_g, sampling_rate_hz=fs, cutoff_hz=p.lowpass_hz))

    # Flights: runs of the smoothed signal below 1 g whose floor is low enough.
    low = np.where(nan, False, smooth < 1.0)
    flights = []  # (floor sample, floor value)
    for start, stop in _runs(low):
        m = start + int(np.argmin(sig_f[start:stop]))
        if sig_f[m] <= p.max_floor_g:
            flights.append((m, float(sig_f[m])))

    # Each flight: the run below floor + level around its floor, short excursions above bridged.
    n = len(sig)
    bridge = int(round(p.bridge_s * fs))
    edges = []  # (toe-off ending the previous contact, anchor ending the flight, next floor)
    for k, (m, floor) in enumerate(flights):
        lo = flights[k - 1][0] if k > 0 else 0
        hi = flights[k + 1][0] if k + 1 < len(flights) else n
        level = floor + p.contact_level_g
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
        anchor = float("nan")
        if r1 < len(below):
            i1 = lo + r1 - 1  # last sample below the level
            anchor = i1 + (level - sig[i1]) / (sig[i1 + 1] - sig[i1])
        edges.append((to, anchor, hi, m, floor))

    ic_pos: list[float] = []
    to_pos: list[float] = []
    min_ct = p.min_contact_time_s * fs
    max_ct = p.max_contact_time_s * fs
    search = int(np.ceil(p.ap_search_s * fs))
    for k, (_, anchor, hi, m, floor) in enumerate(edges):
        if not np.isfinite(anchor):
            continue
        lo = int(np.floor(anchor))
        if nan[lo : min(hi, n)].any() or np.nanmax(sig[lo:hi]) < p.min_peak_g:
            continue
        # timing model: AP braking onset if available, else a fraction of the rise
        ic = float("nan")
        if dap is not None:
            ic = _steepest_descent(dap, lo - search, lo + search + 2) - p.ap_ic_offset_s * fs
        if not np.isfinite(ic):
            pk = _first_peak(sig, lo, min(hi, n), floor + p.peak_rise_g)
            ic = _last_rise(sig, floor + p.ic_rise_fraction * (sig[pk] - floor), m, pk + 1)
            ic = (ic if np.isfinite(ic) else anchor) - p.ic_offset_s * fs
        to = edges[k + 1][0] - p.to_offset_s * fs if k + 1 < len(edges) else float("nan")
        if np.isfinite(to) and not (min_ct <= to - ic <= max_ct):
            to = float("nan")
        if ic_pos and ic <= ic_pos[-1]:
            continue  # never out of order (cannot happen with sane offsets)
        ic_pos.append(ic)
        to_pos.append(to)
    return np.asarray(ic_pos, dtype=float), np.asarray(to_pos, dtype=float)


def _stance_windows(ic_idx: np.ndarray, n: int, width: int) -> list[slice]:
    """Windows from each initial contact to ``width`` samples later (stopping at the next)."""
    out = []
    for k, i in enumerate(ic_idx):
        stop = min(int(i) + width, n)
        if k + 1 < len(ic_idx):
            stop = min(stop, int(ic_idx[k + 1]))
        out.append(slice(int(i), max(stop, int(i) + 1)))
    return out


def _window_means(x: np.ndarray, wins: list[slice]) -> np.ndarray:
    """``np.nanmean(x[w])`` of every window ``w`` (NaN where it holds no finite sample).

    Windows of equal length are averaged together as the rows of one array: each row is summed
    exactly as the window on its own would be, so the means are ``np.nanmean``'s bit for bit.
    """
    out = np.full(len(wins), np.nan)
    if not wins:
        return out
    starts = np.array([w.start for w in wins], dtype=np.int64)
    lengths = np.array([len(range(*w.indices(len(x)))) for w in wins], dtype=np.int64)
    for length in np.unique(lengths):
        if length == 0:
            continue
        rows = np.flatnonzero(lengths == length)
        m = x[starts[rows, None] + np.arange(length)]
        nan = np.isnan(m)
        total = np.sum(np.where(nan, 0.0, m), axis=1)
        count = np.sum(~nan, axis=1, dtype=np.intp)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = np.where(np.isfinite(m).any(axis=1), total / count, np.nan)
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
    """The previous ``gait.events_running.assign_running_sides`` (same signature)."""
    ic = np.asarray(ic_idx, dtype=np.int64)
    sides = np.full(len(ic), UNKNOWN, dtype=object)
    # + vote means "right foot" (the same signal list, written compactly)
    signed = ((acc_ml_mps2, +1.0), (gyr_vertical_radps, -1.0),
              (thigh_left_flexion_radps, +1.0), (thigh_right_flexion_radps, -1.0))
    signals = [(np.asarray(x, dtype=float), sign) for x, sign in signed if x is not None]
    if not signals or len(ic) == 0:
        return sides
    width = max(1, int(round(stance_window_s * sampling_rate_hz)))
    votes = np.zeros(len(ic))
    for x, sign in signals:
        wins = _stance_windows(ic, len(x), width)
        means = _window_means(x, wins)
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



def _events(ic_pos: np.ndarray, to_pos: np.ndarray, fs: float) -> RunningEvents:
    """Wrap positions into :class:`RunningEvents`."""
    ic_idx = np.rint(ic_pos).astype(np.int64)
    to_idx = np.where(np.isfinite(to_pos), np.rint(np.nan_to_num(to_pos)), -1).astype(np.int64)
    return RunningEvents(ic_idx, to_idx, ic_pos, to_pos, fs)


def detect_running_events(
    acc_vertical_mps2: np.ndarray,
    *,
    sampling_rate_hz: float,
    acc_ap_mps2: np.ndarray | None = None,
    **params: float,
) -> RunningEvents:
    """The previous ``detect_running_events`` (no warning on too few samples)."""
    a = _as_g(acc_vertical_mps2, None, "acc_vertical_mps2")
    assert a is not None
    ap = _as_g(acc_ap_mps2, a.shape, "acc_ap_mps2")
    fs = float(sampling_rate_hz)
    if a.size < 4 or np.isfinite(a).sum() < 4:
        return _events(np.zeros(0), np.zeros(0), fs)
    return _events(*_detect_core(a, ap, fs, _Params(**params)), fs)
