"""Rotational instability and trunk-stability measures, each with its settings stated.

Published values of these measures are only comparable when their settings match, so every
function here returns its settings beside its values, and the analysis writes them into
``summary.json`` under ``settings.stability``.

All windowed measures use *trailing* windows of strides (the stride itself and the ones before
it), so the live session can compute them as each stride ends and they equal the batch values.

Window
------
The window of a stride is the stride and the strides before it, back to (not including) the
first one that breaks the bout as it is known when the stride ends (:func:`window_length`):

- a stride of another activity (walking and running are not mixed);
- a stride that crossed a gap (``gap_crossed``): its samples are partly held, not measured, so
  the window starts after it; a gap-crossed newest stride has an empty window (its stability
  columns are NaN, like its other metrics);
- a stride that ends more than half a sample before the next one starts: the strides no longer
  cover the signal between them (a pause, a turn or shuffle the stride checks rejected, a step
  over the stride-time limit). Overlapping strides (one per contact) and strides that touch
  (one stride missing in between) keep the window going, so every sample of the window lies in
  one of its strides and every step in it passed the stride checks.

At most ``window_strides`` of them are used; with fewer than ``min_window_strides`` every
windowed measure is NaN. The signal used is the one from the first window stride's start to
the newest stride's end, nothing before it.

Measures
--------
``pelvis_rotation_sd_deg`` / ``pelvis_rotation_cv``
    SD and coefficient of variation of the per-stride pelvic rotation range over the trailing
    window (stride-to-stride variability of pelvic rotation). Same for obliquity
    (``pelvis_obliquity_sd_deg`` / ``pelvis_obliquity_cv``).
``ml_acc_ratio``
    RMS of the medio-lateral acceleration over RMS of the 3-D acceleration (gravity removed) in
    the trailing window's samples.
``step_regularity`` / ``stride_regularity``
    Autocorrelation of the vertical acceleration at its peak near the lag of one step / one
    stride (Moe-Nilssen & Helbostad 2004: the first dominant peak is the step, the second the
    stride), over the window's samples (:func:`regularity_at_peaks`). The expected stride lag is
    the window's median stride time, the step lag half of it; the peak is the largest
    autocorrelation within ``+-regularity_search_fraction`` (25 %) of the expected lag. At each
    lag ``L`` of a search range the same number of products is summed,
    ``c(L) = sum_{i < M} x[i] x[i + L]`` with ``M`` the window's samples minus the range's
    largest lag and ``x`` the window's signal minus its mean (an unbiased estimate: every lag
    averages ``M`` products); the value at the peak is ``c(L)`` over the root of the two
    segments' energies, ``sum_{i < M} x[i]^2`` and ``sum_{i < M} x[i + L]^2``. That is the
    correlation coefficient of the window with itself shifted by one step / stride and lies in
    [-1, 1] (Cauchy-Schwarz); dividing by the whole window's variance instead exceeds 1 when the
    overlapping part carries more power than the window (an amplitude that grows or fades, as
    at the start of a run). NaN when a sample of the window is missing.
``harmonic_ratio_vt`` / ``harmonic_ratio_ap`` / ``harmonic_ratio_ml``
    Per stride: sum of even over odd harmonic amplitudes (odd over even for ML) of the first 20
    harmonics of the stride-long signal (Menz et al. 2003).
``lde_per_stride``
    Short-term local divergence exponent (Rosenstein's algorithm) of the vertical acceleration,
    time-normalised to 100 samples per stride, embedding dimension 5 with a delay of 10 samples,
    slope of the mean log divergence over 0 to 0.5 stride, per stride; computed on the trailing
    30 strides of one foot (every second stride of the trailing 59, which must all lie in the
    newest stride's window) every 40 strides (20 of each foot), following every 4th reference
    point (Bruijn et al. 2013 settings otherwise); NaN while the window is shorter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from gait.signal import nan_median
from stridecue import constants as c


@dataclass(frozen=True)
class StabilitySettings:
    """Settings of the stability measures (stored with the results)."""

    window_strides: int = 20
    min_window_strides: int = 10
    harmonics: int = 20
    lde_samples_per_stride: int = 100
    lde_embedding_dimension: int = 5
    lde_delay_samples: int = 10
    lde_fit_strides: float = 0.5
    lde_window_strides: int = 30
    lde_every_strides: int = 40
    lde_theiler_strides: float = 0.5
    lde_reference_step: int = 4
    regularity_search_fraction: float = 0.25

    def as_dict(self) -> dict[str, float | int | str]:
        """JSON-serialisable form, with the rules that have no setting stated in words."""
        return {**asdict(self), "window_rule": WINDOW_RULE, "regularity_rule": REGULARITY_RULE}


WINDOW_RULE = (
    "trailing strides of the newest stride's activity, back to the first stride of another "
    "activity, crossed by a gap, or ending more than half a sample before the next one starts "
    "(a pause or strides missing); at most window_strides, NaN under min_window_strides"
)
REGULARITY_RULE = (
    "largest autocorrelation of the window's vertical acceleration within "
    "+-regularity_search_fraction of the step lag (median stride time / 2) and of the stride lag "
    "(median stride time); the same number of products at every lag of a range; normalised by "
    "the energies of the two overlapping segments, so within [-1, 1]"
)


def harmonic_ratios(
    signals: np.ndarray, *, harmonics: int, odd_over_even: tuple[bool, ...]
) -> list[float]:
    """Harmonic ratio of each row of ``signals`` (stride-long signals of one length).

    Per row: the amplitudes of the first ``harmonics`` harmonics of the signal (its mean
    removed); the sum of the even ones over the sum of the odd ones, or odd over even where
    ``odd_over_even`` is true for that row (medio-lateral). NaN for a row that is not all finite
    and for every row when the signals are shorter than ``2 * harmonics + 2`` samples. The rows
    go through one FFT call; each row's numbers are those of its own 1-D transform.
    """
    k, n = signals.shape
    out = [math.nan] * k
    if n < 2 * harmonics + 2:
        return out
    rows = np.flatnonzero(np.isfinite(signals).all(axis=1)).tolist()
    if not rows:
        return out
    x = signals if len(rows) == k else signals[rows]
    x = x - (np.add.reduce(x, axis=1) / n)[:, None]
    spectrum = np.abs(np.fft.rfft(x, axis=1))[:, 1 : harmonics + 1]
    evens = np.add.reduce(spectrum[:, 1::2], axis=1).tolist()
    odds = np.add.reduce(spectrum[:, 0::2], axis=1).tolist()
    for row, even, odd in zip(rows, evens, odds, strict=True):
        num, den = (odd, even) if odd_over_even[row] else (even, odd)
        out[row] = num / den if den > 0 else math.nan
    return out


def regularity_at_peaks(
    signal: np.ndarray, expected_lags: tuple[float, ...], search_fraction: float
) -> list[float]:
    """Autocorrelation of ``signal`` at its peak near each of ``expected_lags`` (in samples).

    For each expected lag ``e``: the lags ``round((1 - f) e) .. round((1 + f) e)`` with
    ``f = search_fraction``, at least 1 (``f = 0``: the one lag ``round(e)``, a fixed-lag
    reading); ``M = n - `` the largest of them;
    ``c(L) = sum_{i < M} x[i] x[i + L]`` with ``x`` the signal minus its mean; at the lag of the
    largest ``c(L)`` (the first one on a tie) the value
    ``c(L) / sqrt(sum_{i < M} x[i]^2 * sum_{i < M} x[i + L]^2)``, clipped to [-1, 1] against
    rounding. NaN for every lag when a sample is not finite or the signal is constant, and for
    a lag whose range is empty or leaves ``M < 2``.
    """
    n = len(signal)
    out = [math.nan] * len(expected_lags)
    if not n or not np.isfinite(signal).all():
        return out
    x = signal - float(np.add.reduce(signal)) / n
    for k, expected in enumerate(expected_lags):
        lo, hi = search_range(expected, search_fraction)
        m = n - hi
        if hi < lo or m < 2:
            continue
        head = x[:m]
        c_lag = np.correlate(x[lo : hi + m], head, mode="valid")
        best = int(np.argmax(c_lag))
        lag = lo + best
        energy = float(np.dot(head, head)) * float(np.dot(x[lag : lag + m], x[lag : lag + m]))
        if energy > 0:
            out[k] = min(1.0, max(-1.0, float(c_lag[best]) / math.sqrt(energy)))
    return out


def search_range(expected_lag: float, search_fraction: float) -> tuple[int, int]:
    """First and last lag (samples) of the peak search around ``expected_lag`` (NaN: empty)."""
    if not math.isfinite(expected_lag):
        return 1, 0
    lo = max(1, round((1.0 - search_fraction) * expected_lag))
    return lo, round((1.0 + search_fraction) * expected_lag)


def window_length(rows: list[Mapping[str, Any]], *, sampling_rate_hz: float) -> int:
    """Number of trailing strides of ``rows`` that form the newest stride's window.

    Counted back from the newest stride while the stride has the newest one's activity, did not
    cross a gap, and ends no more than half a sample before the start of the stride after it
    (see the module docs); 0 when the newest stride crossed a gap.
    """
    newest = rows[-1]
    tolerance_s = 0.5 / sampling_rate_hz
    count = 0
    next_start_s = -math.inf  # the newest stride has none after it
    for row in reversed(rows):
        if row.get("gap_crossed", False) or row["activity"] != newest["activity"]:
            break
        if row[c.STRIDE_END_S] + tolerance_s < next_start_s:
            break
        count += 1
        next_start_s = row[c.STRIDE_START_S]
    return count


def _nearest_outside_window(
    tree: cKDTree, points: np.ndarray, refs: np.ndarray, theiler: int, usable: int, first_k: int
) -> np.ndarray:
    """Index of each point's nearest neighbour at least ``theiler + 1`` samples away, -1 if none.

    The k nearest neighbours come sorted by distance, so the first one outside the window is the
    same whatever k, as long as one is found (distance ties aside): ``first_k`` neighbours are
    asked for first, and the whole window plus two (which must hold one outside it) only for the
    points without one.
    """
    k_all = min(usable, 2 * theiler + 3)
    out = np.full(len(refs), -1, dtype=np.int64)
    todo = np.arange(len(refs))
    for k in (min(k_all, first_k), k_all):
        if not len(todo):
            break
        _, idx = tree.query(points[todo], k=k)
        idx = idx.reshape(len(todo), -1)
        ok = (np.abs(idx - refs[todo, None]) > theiler) & (idx < usable)
        first = np.argmax(ok, axis=1)
        rows = np.arange(len(todo))
        found = ok[rows, first]
        out[todo[found]] = idx[rows, first][found]
        todo = todo[~found]
    return out


def _neighbour_pairs(
    x: np.ndarray, settings: StabilitySettings, *, first_k: int = 4
) -> tuple[np.ndarray, np.ndarray] | None:
    """Reference points of the delay embedding of ``x`` and their nearest neighbours.

    Every ``lde_reference_step``-th point that can be followed for the fit horizon, with its
    nearest neighbour outside the Theiler window (:func:`_nearest_outside_window`; the point
    itself and in gait data nearly always the same phase of another stride are among the first
    four); None when the series is too short or no point has one.
    """
    per = settings.lde_samples_per_stride
    m, tau = settings.lde_embedding_dimension, settings.lde_delay_samples
    n = len(x) - (m - 1) * tau
    horizon = int(round(settings.lde_fit_strides * per))
    if n <= horizon + per:
        return None
    emb = np.stack([x[k * tau : k * tau + n] for k in range(m)], axis=1)
    usable = n - horizon
    tree = cKDTree(emb[:usable])
    theiler = int(settings.lde_theiler_strides * per)
    refs = np.arange(0, usable, settings.lde_reference_step)
    i_nn = _nearest_outside_window(tree, emb[refs], refs, theiler, usable, first_k)
    has = i_nn >= 0
    if not has.any():
        return None
    return refs[has], i_nn[has]


def _resampled_strides(
    signal: np.ndarray, stride_bounds: np.ndarray, per: int
) -> np.ndarray | None:
    """Each stride ``signal[i0:i1]`` linearly resampled to ``per`` samples, concatenated.

    The numbers of ``np.interp(np.linspace(0, n - 1, per), np.arange(n), signal[i0:i1])`` per
    stride (the same sample positions, the same ``slope * (x - j) + y[j]``, ``y[j]`` where the
    position is a sample), for all strides in one pass. None when a stride is shorter than 10
    samples or holds a non-finite sample.
    """
    i0, i1 = stride_bounds[:, 0], stride_bounds[:, 1]
    bad = np.concatenate(([0], np.cumsum(~np.isfinite(signal))))
    if (i1 - i0 < 10).any() or (bad[i1] - bad[i0]).any():
        return None
    pos = np.linspace(0, i1 - i0 - 1, per, axis=1)
    j = pos.astype(np.intp)
    frac = pos - j
    at = i0[:, None] + j
    y0 = signal[at]
    y1 = signal[at + (frac > 0)]
    return np.where(frac > 0, (y1 - y0) * frac + y0, y0).ravel()


def local_divergence_exponent(
    signal: np.ndarray, stride_bounds: np.ndarray, settings: StabilitySettings
) -> float:
    """Short-term LDE (per stride) of a signal over consecutive strides (Rosenstein).

    The signal of each stride is resampled to ``lde_samples_per_stride`` samples, the strides are
    concatenated, delay-embedded, and for each point its nearest neighbour (outside a Theiler
    window) is followed for ``lde_fit_strides`` strides; the slope of the mean log distance is
    the exponent.
    """
    per = settings.lde_samples_per_stride
    x = _resampled_strides(signal, np.asarray(stride_bounds, np.intp).reshape(-1, 2), per)
    pairs = None if x is None else _neighbour_pairs(x, settings)
    if pairs is None:
        return math.nan
    i_ref, i_nn = pairs
    m, tau = settings.lde_embedding_dimension, settings.lde_delay_samples
    horizon = int(round(settings.lde_fit_strides * per))
    # Distance between the trajectories at each step s: coordinate k of emb[i + s] is
    # x[i + s + k tau], so the squared differences are taken once per sample offset and the
    # coordinates added in order (the additions of the norm over the coordinate axis).
    steps = np.arange(horizon + 1)
    span = horizon + (m - 1) * tau + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, span)
    diff = windows[i_ref] - windows[i_nn]
    sq = diff * diff
    d2 = sq[:, : horizon + 1]
    for k in range(1, m):
        d2 = d2 + sq[:, k * tau : k * tau + horizon + 1]
    d = np.sqrt(d2)
    with np.errstate(divide="ignore"):
        logd = np.log(d)
    bad = ~np.isfinite(logd)  # zero distances
    if bad.any():
        logd[bad] = np.nan
        curve = np.nanmean(logd, axis=0)
    else:  # nanmean's numbers when nothing is NaN
        curve = np.add.reduce(logd, axis=0) / len(logd)
    t_strides = steps / per
    slope = np.polyfit(t_strides, curve, 1)[0]
    return float(slope)


def _sd_cv(values: list[float], min_count: int) -> tuple[float, float]:
    """SD (``ddof=1``) and coefficient of variation of the finite values, NaN if too few."""
    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n < max(min_count, 2):
        return math.nan, math.nan
    x = np.array(finite, float)
    mean = float(np.add.reduce(x)) / n
    x -= mean
    sd = math.sqrt(float(np.add.reduce(x * x)) / (n - 1))
    return sd, sd / abs(mean) if mean else math.nan


def ml_acc_ratio(acc_mps2: np.ndarray) -> float:
    """RMS of the medio-lateral over RMS of the 3-D acceleration, each axis's mean removed.

    ``acc_mps2`` has rows vertical, forward, lateral (shape (3, n)); NaN samples are left out of
    each mean (``numpy.nanmean``'s numbers). NaN when the forward or lateral row has no finite
    sample.
    """
    finite = np.isfinite(acc_mps2).any(axis=1).tolist()
    if not (finite[1] and finite[2]):
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = acc_mps2 - _nan_means(acc_mps2)[:, None]
        sq = dev * dev
        mean_sq = _nan_means(np.array(((sq[2] + sq[1]) + sq[0], sq[2])))
    total = math.sqrt(mean_sq[0])
    return math.sqrt(mean_sq[1]) / total if total > 0 else math.nan


def _nan_means(x: np.ndarray) -> np.ndarray:
    """Mean of each row over its samples that are not NaN (NaN taken as 0, divided by the count)."""
    nan = np.isnan(x)
    if not nan.any():  # the same numbers without the substitution
        return np.add.reduce(x, axis=1) / x.shape[1]
    count = x.shape[1] - np.count_nonzero(nan, axis=1)
    return np.add.reduce(np.where(nan, 0.0, x), axis=1) / count


def _lde_update(
    rows: list[Mapping[str, Any]],
    settings: StabilitySettings,
    stride_number: int,
    lde_last: float,
    window: int,
    exponent: Callable[[list[Mapping[str, Any]]], float],
) -> float:
    """The LDE in force after the newest stride of ``rows``.

    On one foot's non-overlapping strides of one window: NaN unless the newest stride's window
    (``window`` trailing strides) holds the trailing ``2 (lde_window_strides - 1) + 1``;
    ``exponent`` of every second of them (the newest one's foot) every ``lde_every_strides``
    strides; else ``lde_last``.
    """
    lw = settings.lde_window_strides
    if window < 2 * (lw - 1) + 1:
        return math.nan
    if (stride_number + 1) % settings.lde_every_strides == 0:
        return exponent(rows[-(2 * (lw - 1) + 1) :: 2])
    return lde_last


def stride_stability(
    rows: list[Mapping[str, Any]],
    time_s: np.ndarray,
    acc_vertical_mps2: np.ndarray,
    acc_forward_mps2: np.ndarray,
    acc_lateral_mps2: np.ndarray,
    settings: StabilitySettings,
    *,
    sampling_rate_hz: float,
    stride_number: int,
    lde_last: float,
) -> tuple[dict[str, float], float]:
    """The stability columns (see module docs) of the newest stride, from trailing windows.

    Parameters
    ----------
    rows
        The trailing strides of the session in stride order, the newest last (at least
        ``2 * lde_window_strides`` before it when the session has them), with their
        ``activity`` and, where known, ``gap_crossed``.
    time_s, acc_vertical_mps2, acc_forward_mps2, acc_lateral_mps2
        Samples covering the newest stride's window (forward/lateral all-NaN without
        orientation).
    stride_number
        0-based number of the newest stride in the session (the LDE is updated every
        ``lde_every_strides``).
    lde_last
        The LDE value in force before this stride (NaN at first).

    Returns
    -------
    values, lde
        The columns of the newest stride, and the LDE value now in force.
    """
    st = settings
    row = rows[-1]
    length = window_length(rows, sampling_rate_hz=sampling_rate_hz)
    window = rows[len(rows) - min(length, st.window_strides) :]
    enough = len(window) >= st.min_window_strides
    out: dict[str, float] = {}
    for column in ("pelvis_rotation_range_deg", "pelvis_obliquity_range_deg"):
        base = column.removesuffix("_deg").removesuffix("_range")
        out[f"{base}_sd_deg"], out[f"{base}_cv"] = _sd_cv(
            [r.get(column, math.nan) for r in window] if enough else [], st.min_window_strides
        )
    t = time_s
    i0, i1, w0 = np.searchsorted(
        t, (row[c.STRIDE_START_S], row[c.STRIDE_END_S], window[0][c.STRIDE_START_S] if window
            else row[c.STRIDE_START_S])
    ).tolist()
    vt = acc_vertical_mps2
    # The window's samples, rows vertical, forward, lateral; the stride is its end.
    acc = np.array((vt[w0:i1], acc_forward_mps2[w0:i1], acc_lateral_mps2[w0:i1]))
    ratios = harmonic_ratios(acc[:, i0 - w0 :], harmonics=st.harmonics,
                             odd_over_even=(False, False, True))
    for name, value in zip(("vt", "ap", "ml"), ratios, strict=True):
        out[f"harmonic_ratio_{name}"] = value
    out["step_regularity"] = out["stride_regularity"] = out["ml_acc_ratio"] = math.nan
    if enough:
        lag = nan_median([r[c.STRIDE_TIME_S] for r in window]) * sampling_rate_hz
        out["step_regularity"], out["stride_regularity"] = regularity_at_peaks(
            acc[0], (lag / 2, lag), st.regularity_search_fraction
        )
        out["ml_acc_ratio"] = ml_acc_ratio(acc)
    lde = _lde_update(
        rows, st, stride_number, lde_last, length,
        lambda strides: local_divergence_exponent(
            vt, np.searchsorted(t, [(r[c.STRIDE_START_S], r[c.STRIDE_END_S]) for r in strides]), st
        ),
    )
    out["lde_per_stride"] = lde
    return out, lde
