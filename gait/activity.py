"""Activity bouts (still / walking / running) from the lower-back acceleration.

Method (fixed, physically motivated thresholds; no per-recording tuning)
------------------------------------------------------------------------
Windows of ``window_s`` with half-window hop. In each window, with ``f_v`` the vertical specific
force (projection of the accelerometer reading on the gravity direction, 1 g at rest):

- **still** when the standard deviation of the acceleration magnitude is below 0.3 m/s^2 or when
  the movement is not periodic (no dominant step frequency; "still" means "not locomoting");
- **running** when flight phases are present: the 98th percentile of ``f_v`` exceeds 1.8 g and the
  2nd percentile is below 0.35 g (in flight the sacrum is in free fall, ``f_v`` near 0 g, and
  landings exceed 2 g); walking never unloads the body below ~0.6 g;
- **walking** otherwise when the dominant step frequency (autocorrelation of ``f_v``) lies in
  0.7-3.0 Hz and the magnitude varies by more than 0.3 m/s^2.

Each sample takes the label of the window centred nearest to it; then runs shorter than
``min_bout_s`` are merged into their neighbours (shortest first) and adjacent equal labels joined.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gait.events_walking import vertical_acceleration
from stridecue.constants import GRAVITY_MPS2, MIN_SAMPLING_RATE_HZ, RUNNING, STILL, WALKING
from stridecue.errors import InputError

__all__ = ["STILL_STD_MPS2", "activity_label", "classify_activity", "classify_windows",
           "merge_short_runs"]

#: Below this standard deviation of the acceleration magnitude a window is still (no movement).
STILL_STD_MPS2 = 0.3
_RUN_HIGH_G = 1.8
_RUN_LOW_G = 0.35
_STEP_HZ = (0.7, 3.0)
_MIN_PERIODICITY = 0.25


def _lag_products(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``sum(x[i] x[i + k])`` for the lags ``k = lo .. hi`` (``hi < len(x)``).

    The numbers of ``np.correlate(x, x, "full")[len(x) - 1 + k]``: for ``k >= 1`` each is the
    same dot product of ``x[k:]`` with ``x[:len(x) - k]``, and
    ``np.correlate(x[s:], x[:len(x) - s], "same")`` with ``s = lo - 1`` holds those for
    ``k = lo`` up to ``s + m - m // 2 - 1`` (``m = len(x) - s``; its middle, lag ``s``, is left
    out) at half the cost of the full correlation (it computes no lag below ``s``). Used where
    that reaches ``hi``.
    """
    n = len(x)
    s = lo - 1
    m = n - s
    if lo >= 1 and hi - s <= m - m // 2 - 1:
        return np.correlate(x[s:], x[:m], mode="same")[m // 2 + 1 : m // 2 + hi - s + 1]
    return np.correlate(x, x, mode="full")[n - 1 + lo : n + hi]


def _step_frequency_hz(x: np.ndarray, fs: float) -> tuple[float, float]:
    """Dominant step frequency from the autocorrelation, and its normalised peak height."""
    n = len(x)
    x = x - float(np.add.reduce(x)) / n
    den = float(np.dot(x, x))
    if den <= 0:
        return float("nan"), 0.0
    lo, hi = int(fs / _STEP_HZ[1]), min(n - 1, math.ceil(fs / _STEP_HZ[0]))
    if hi <= lo:
        return float("nan"), 0.0
    ac = _lag_products(x, lo, hi) / den
    k = int(np.argmax(ac))
    return fs / (lo + k), float(ac[k])


def _std(x: np.ndarray) -> float:
    """Standard deviation (``numpy.std``'s operations: mean, deviations, mean square, root)."""
    n = len(x)
    dev = x - float(np.add.reduce(x)) / n
    return math.sqrt(float(np.add.reduce(dev * dev)) / n)


def _percentiles(x: np.ndarray, percents: tuple[float, ...]) -> list[float]:
    """``numpy.percentile(x, percents)`` (its default linear method) from one partition.

    The same order statistics and the same interpolation arithmetic as numpy; NaN for all when
    ``x`` holds a NaN (numpy's rule).
    """
    n = len(x)
    virtual = [(n - 1) * (p / 100) for p in percents]
    below = [n - 1 if v >= n - 1 else math.floor(v) for v in virtual]
    part = np.partition(x, sorted({*below, *(min(b + 1, n - 1) for b in below), n - 1}))
    if math.isnan(part[-1]):
        return [math.nan] * len(percents)
    out = []
    for v, b in zip(virtual, below, strict=True):
        if v >= n - 1:  # numpy: index -1 for both neighbours, weight from index -1
            a = c = float(part[-1])
            t = v + 1
        else:
            a, c = float(part[b]), float(part[b + 1])
            t = v - b
        diff = c - a
        out.append(c - diff * (1 - t) if t >= 0.5 else a + diff * t)
    return out


def classify_windows(
    acc_mps2: np.ndarray, *, sampling_rate_hz: float, window_s: float = 3.0
) -> pd.DataFrame:
    """Label every window of the recording.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force of the lower-back IMU, shape (n, 3), m/s^2, gravity included.
    sampling_rate_hz
        Sampling rate, Hz.
    window_s
        Window length, seconds (hop = half a window).

    Returns
    -------
    pandas.DataFrame
        ``start_s``, ``end_s`` (relative to sample 0), ``activity``, ``step_frequency_hz``,
        ``acc_std_mps2``, ``fv_p98_g``, ``fv_p02_g``.
    """
    return pd.DataFrame(
        _window_rows(acc_mps2, sampling_rate_hz, window_s),
        columns=[
            "start_s", "end_s", "activity", "step_frequency_hz", "acc_std_mps2", "fv_p98_g",
            "fv_p02_g",
        ],
    )


def activity_label(acc_mps2: np.ndarray, *, sampling_rate_hz: float) -> tuple[str, float]:
    """The label of one window: all of ``acc_mps2`` (``classify_windows`` with one window).

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force of the lower-back IMU, shape (n, 3), m/s^2, gravity included.
    sampling_rate_hz
        Sampling rate, Hz.

    Returns
    -------
    label : str
        ``still``, ``walking`` or ``running``.
    acc_std_mps2 : float
        Standard deviation of the acceleration magnitude (NaN when most samples are missing);
        below :data:`STILL_STD_MPS2` nothing moves.
    """
    row = _window_rows(acc_mps2, sampling_rate_hz, len(acc_mps2) / sampling_rate_hz,
                       step_frequency=False)[0]
    return str(row[2]), float(row[4])


def _label(sd: float, p98: float, p02: float, rhythm: tuple[float, float] | None) -> str | None:
    """The label of a window from its numbers (the rules of the module docstring, in order).

    ``rhythm`` is the step frequency and its periodicity; None when it is not known and the
    label depends on it (moving, not running).
    """
    if sd < STILL_STD_MPS2:
        return STILL
    if p98 > _RUN_HIGH_G and p02 < _RUN_LOW_G:
        return RUNNING
    if rhythm is None:
        return None
    freq, periodicity = rhythm
    walking = periodicity >= _MIN_PERIODICITY and _STEP_HZ[0] <= freq <= _STEP_HZ[1]
    return WALKING if walking else STILL


def _window_bounds(n: int, fs: float, window_s: float) -> list[tuple[int, int]]:
    """Sample ranges of the windows of ``n`` samples: ``window_s`` long, hop half a window."""
    win = max(2, int(round(window_s * fs)))
    hop = max(1, win // 2)
    starts = range(0, max(1, n - win + 1), hop) if n >= win else [0]
    return [(i0, min(n, i0 + win)) for i0 in starts]


def _window_rows(
    acc_mps2: np.ndarray, sampling_rate_hz: float, window_s: float, *, step_frequency: bool = True
) -> list[tuple]:
    """Rows of :func:`classify_windows` (one tuple per window, its columns in order).

    Without ``step_frequency`` the step frequency is only computed where the label depends on it
    (moving, not running) and is NaN elsewhere; the other columns are the same.
    """
    fs = float(sampling_rate_hz)
    acc = np.asarray(acc_mps2, dtype=float)
    a_v, _ = vertical_acceleration(acc, sampling_rate_hz=fs)
    f_v = (a_v + GRAVITY_MPS2) / GRAVITY_MPS2
    sq = acc * acc
    mag = np.sqrt((sq[:, 0] + sq[:, 1]) + sq[:, 2])  # numpy.linalg.norm(acc, axis=1), its additions
    finite = np.isfinite(mag)  # all components finite where the magnitude is...
    if not finite.all():  # ...but a magnitude can overflow
        finite = np.isfinite(acc).all(axis=1)
    rows = []
    for i0, i1 in _window_bounds(len(acc), fs, window_s):
        ok = finite[i0:i1]
        n_ok = int(np.count_nonzero(ok))
        if n_ok / (i1 - i0) < 0.5:
            rows.append((i0 / fs, i1 / fs, STILL, np.nan, np.nan, np.nan, np.nan))
            continue
        m, fv = mag[i0:i1], f_v[i0:i1]
        if n_ok < i1 - i0:
            m, fv = m[ok], fv[ok]
        sd = _std(m)
        p98, p02 = _percentiles(fv, (98, 2))
        freq = np.nan
        label = None if step_frequency else _label(sd, p98, p02, None)
        if label is None:
            freq, periodicity = _step_frequency_hz(fv, fs)
            label = _label(sd, p98, p02, (freq, periodicity))
        rows.append((i0 / fs, i1 / fs, label, freq, sd, p98, p02))
    return rows


def _runs(labels: list[str], times: np.ndarray) -> list[list]:
    out: list[list] = []
    for k, lab in enumerate(labels):
        if out and out[-1][2] == lab:
            out[-1][1] = times[k + 1]
        else:
            out.append([times[k], times[k + 1], lab])
    return out


def merge_short_runs(runs: list[list], min_bout_s: float, *,
                     keep: tuple[str, ...] = ()) -> list[list]:
    """Merge runs ``[start_s, end_s, label]`` shorter than ``min_bout_s`` into a neighbour.

    Shortest first, into the longer neighbour; equal neighbours are then joined. Runs labelled
    with one of ``keep`` are never merged away, however short (they can still absorb a short
    neighbour): labels that are already decided on evidence, such as walking from a rhythm of
    contacts, need no smoothing.
    """
    runs = [list(r) for r in runs]
    while len(runs) > 1:
        lengths = [r[1] - r[0] if r[2] not in keep else np.inf for r in runs]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_bout_s:
            break
        if k == 0:
            j = 1
        elif k == len(runs) - 1:
            j = k - 1
        else:
            j = k - 1 if lengths[k - 1] >= lengths[k + 1] else k + 1
        lo, hi = min(j, k), max(j, k)
        merged = [runs[lo][0], runs[hi][1], runs[j][2]]
        runs[lo : hi + 1] = [merged]
        joined: list[list] = []
        for r in runs:
            if joined and joined[-1][2] == r[2]:
                joined[-1][1] = r[1]
            else:
                joined.append(r)
        runs = joined
    return runs


def classify_activity(
    acc_mps2: np.ndarray,
    *,
    sampling_rate_hz: float,
    gyr_radps: np.ndarray | None = None,
    window_s: float = 3.0,
    min_bout_s: float = 3.0,
    start_time_s: float = 0.0,
) -> pd.DataFrame:
    """Split a recording into still / walking / running bouts.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force of the lower-back IMU, shape (n, 3), m/s^2, gravity included.
    sampling_rate_hz
        Sampling rate, Hz (keyword-only, no default).
    gyr_radps
        Accepted for interface symmetry; not used by the current rules.
    window_s
        Analysis window, seconds.
    min_bout_s
        Bouts shorter than this are merged into a neighbour (interruptions are bridged).
    start_time_s
        Session time of sample 0 (added to ``start_s`` / ``end_s``).

    Returns
    -------
    pandas.DataFrame
        ``start_s``, ``end_s``, ``activity`` (``still`` | ``walking`` | ``running``), contiguous
        and covering the recording.

    Raises
    ------
    InputError
        If the acceleration does not have shape (n, 3) or the rate is too low.
    """
    acc = np.asarray(acc_mps2, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] == 0:
        raise InputError(
            f"acceleration must have shape (n_samples, 3) in m/s^2, got {acc.shape}; "
            "pass the three sensor-frame accelerometer columns"
        )
    fs = float(sampling_rate_hz)
    if not fs >= MIN_SAMPLING_RATE_HZ:
        raise InputError(f"sampling_rate_hz={fs} is too low for activity bouts; "
                         f"use >= {MIN_SAMPLING_RATE_HZ:g} Hz")
    duration = acc.shape[0] / fs
    if duration < window_s:
        windows = classify_windows(acc, sampling_rate_hz=fs, window_s=duration)
    else:
        windows = classify_windows(acc, sampling_rate_hz=fs, window_s=window_s)
    centres = ((windows["start_s"] + windows["end_s"]) / 2).to_numpy()
    labels = windows["activity"].tolist()
    # segment boundaries halfway between window centres
    edges = np.concatenate([[0.0], (centres[1:] + centres[:-1]) / 2, [duration]])
    runs = merge_short_runs(_runs(labels, edges), min_bout_s)
    frame = pd.DataFrame(runs, columns=["start_s", "end_s", "activity"])
    frame["start_s"] += start_time_s
    frame["end_s"] += start_time_s
    return frame
