"""Straightforward implementations of the per-stride stability, the activity label and the
double-tap detector: each quantity computed with the plain numpy / pandas call that defines it
(``np.std``, ``np.nanmedian``, ``np.nanmean``, ``np.percentile``, ``np.correlate`` over all lags,
``np.interp`` per stride, ``np.linalg.norm``, pandas' rolling median), one signal and one lag at
a time. These are the implementations the analysis used before it was made cheaper; the fast
code in ``gait.stability``, ``gait.activity`` and ``gait.laps`` must give the same numbers, bit
for bit (``tests/test_stability.py``, ``tests/test_activity.py``, ``tests/test_laps.py``,
``bench/bench_stability_speed.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal as sps

from gait.activity import _STEP_HZ, _label, _window_bounds
from gait.events_walking import vertical_acceleration
from gait.signal import filtfilt_butter
from gait.stability import (
    StabilitySettings,
    _lde_update,
    _neighbour_pairs,
    search_range,
    window_length,
)
from stridecue import constants as c
from stridecue.constants import GRAVITY_MPS2, STILL


# ---------------------------------------------------------------------------- stability
def harmonic_ratio(signal: np.ndarray, *, harmonics: int, odd_over_even: bool) -> float:
    """Harmonic ratio of one stride-long signal (even/odd, or odd/even for medio-lateral)."""
    if len(signal) < 2 * harmonics + 2 or not np.isfinite(signal).all():
        return math.nan
    spectrum = np.abs(np.fft.rfft(signal - np.mean(signal)))[1 : harmonics + 1]
    even = spectrum[1::2].sum()
    odd = spectrum[0::2].sum()
    num, den = (odd, even) if odd_over_even else (even, odd)
    return float(num / den) if den > 0 else math.nan


def regularity_at_peak(signal: np.ndarray, expected_lag: float, search_fraction: float) -> float:
    """Autocorrelation at its peak near one expected lag: one correlation per lag searched."""
    n = len(signal)
    lo, hi = search_range(expected_lag, search_fraction)
    m = n - hi
    if not n or not np.isfinite(signal).all() or hi < lo or m < 2:
        return math.nan
    x = signal - np.sum(signal) / n
    sums = [float(np.correlate(x[lag : lag + m], x[:m])[0]) for lag in range(lo, hi + 1)]
    best = sums.index(max(sums))
    lag = lo + best
    energy = float(np.dot(x[:m], x[:m])) * float(np.dot(x[lag : lag + m], x[lag : lag + m]))
    return float(np.clip(sums[best] / np.sqrt(energy), -1.0, 1.0)) if energy > 0 else math.nan


def local_divergence_exponent(
    signal: np.ndarray, stride_bounds: np.ndarray, settings: StabilitySettings
) -> float:
    """Rosenstein's short-term LDE: strides resampled one by one, distances as vector norms."""
    per = settings.lde_samples_per_stride
    parts = []
    for i0, i1 in stride_bounds:
        seg = signal[i0:i1]
        if i1 - i0 < 10 or not np.isfinite(seg).all():
            return math.nan
        parts.append(np.interp(np.linspace(0, len(seg) - 1, per), np.arange(len(seg)), seg))
    x = np.concatenate(parts)
    pairs = _neighbour_pairs(x, settings, first_k=16)
    if pairs is None:
        return math.nan
    i_ref, i_nn = pairs
    m, tau = settings.lde_embedding_dimension, settings.lde_delay_samples
    emb = np.stack([x[k * tau : k * tau + len(x) - (m - 1) * tau] for k in range(m)], axis=1)
    steps = np.arange(int(round(settings.lde_fit_strides * per)) + 1)
    d = np.linalg.norm(emb[i_ref[:, None] + steps] - emb[i_nn[:, None] + steps], axis=2)
    with np.errstate(divide="ignore"):
        logd = np.log(d)
    logd[~np.isfinite(logd)] = np.nan
    return float(np.polyfit(steps / per, np.nanmean(logd, axis=0), 1)[0])


def stride_stability(rows, time_s, acc_vertical_mps2, acc_forward_mps2, acc_lateral_mps2,
                     settings, *, sampling_rate_hz, stride_number, lde_last):
    """:func:`gait.stability.stride_stability`, one numpy call per quantity and signal."""
    st = settings
    row = rows[-1]
    length = window_length(rows, sampling_rate_hz=sampling_rate_hz)
    window = rows[len(rows) - min(length, st.window_strides) :]
    enough = len(window) >= st.min_window_strides
    out: dict[str, float] = {}
    for column in ("pelvis_rotation_range_deg", "pelvis_obliquity_range_deg"):
        vals = np.array([r.get(column, math.nan) for r in window], float)
        vals = vals[np.isfinite(vals)]
        base = column.removesuffix("_deg").removesuffix("_range")
        sd = (float(np.std(vals, ddof=1)) if enough and len(vals) >= max(st.min_window_strides, 2)
              else math.nan)
        mean = float(np.mean(vals)) if len(vals) else math.nan
        out[f"{base}_sd_deg"] = sd
        out[f"{base}_cv"] = sd / abs(mean) if mean else math.nan

    def bounds(r: Mapping[str, Any]) -> tuple[int, int]:
        i0, i1 = np.searchsorted(time_s, [r[c.STRIDE_START_S], r[c.STRIDE_END_S]])
        return int(i0), int(i1)

    vt, ap, ml = acc_vertical_mps2, acc_forward_mps2, acc_lateral_mps2
    i0, i1 = bounds(row)
    for name, x in (("vt", vt), ("ap", ap), ("ml", ml)):
        seg = x[i0:i1]
        out[f"harmonic_ratio_{name}"] = (
            harmonic_ratio(seg, harmonics=st.harmonics, odd_over_even=name == "ml")
            if len(seg) and np.isfinite(seg).all() else math.nan
        )
    out["step_regularity"] = out["stride_regularity"] = out["ml_acc_ratio"] = math.nan
    if enough:
        times = np.array([r[c.STRIDE_TIME_S] for r in window], float)
        median_s = float(np.nanmedian(times)) if np.isfinite(times).any() else math.nan
        lag = median_s * sampling_rate_hz
        w0 = bounds(window[0])[0]
        seg = vt[w0:i1]
        out["step_regularity"] = regularity_at_peak(seg, lag / 2, st.regularity_search_fraction)
        out["stride_regularity"] = regularity_at_peak(seg, lag, st.regularity_search_fraction)
        if np.isfinite(ml[w0:i1]).any() and np.isfinite(ap[w0:i1]).any():
            mlw = ml[w0:i1] - np.nanmean(ml[w0:i1])
            apw = ap[w0:i1] - np.nanmean(ap[w0:i1])
            vtw = seg - np.nanmean(seg)
            total = np.sqrt(np.nanmean(mlw**2 + apw**2 + vtw**2))
            ratio = float(np.sqrt(np.nanmean(mlw**2)) / total) if total > 0 else math.nan
            out["ml_acc_ratio"] = ratio
    lde = _lde_update(rows, st, stride_number, lde_last, length,
                      lambda strides: local_divergence_exponent(
                          vt, np.array([bounds(r) for r in strides]), st))
    out["lde_per_stride"] = lde
    return out, lde


# ---------------------------------------------------------------------------- activity
def step_frequency_hz(x: np.ndarray, fs: float) -> tuple[float, float]:
    """Dominant step frequency from the full autocorrelation, and its normalised peak height."""
    x = x - x.mean()
    den = float(np.dot(x, x))
    if den <= 0:
        return float("nan"), 0.0
    ac = np.correlate(x, x, mode="full")[len(x) - 1 :] / den
    lo, hi = int(fs / _STEP_HZ[1]), min(len(ac) - 1, int(np.ceil(fs / _STEP_HZ[0])))
    if hi <= lo:
        return float("nan"), 0.0
    lag = lo + int(np.argmax(ac[lo : hi + 1]))
    return fs / lag, float(ac[lag])


def window_rows(acc_mps2: np.ndarray, sampling_rate_hz: float, window_s: float) -> list[tuple]:
    """The rows of ``gait.activity.classify_windows``."""
    fs = float(sampling_rate_hz)
    acc = np.asarray(acc_mps2, dtype=float)
    a_v, _ = vertical_acceleration(acc, sampling_rate_hz=fs)
    f_v = (a_v + GRAVITY_MPS2) / GRAVITY_MPS2
    mag = np.linalg.norm(acc, axis=1)
    finite = np.isfinite(acc).all(axis=1)
    rows = []
    for i0, i1 in _window_bounds(len(acc), fs, window_s):
        ok = finite[i0:i1]
        if ok.mean() < 0.5:
            rows.append((i0 / fs, i1 / fs, STILL, np.nan, np.nan, np.nan, np.nan))
            continue
        sd = float(np.std(mag[i0:i1][ok]))
        fv = f_v[i0:i1][ok]
        p98, p02 = (float(v) for v in np.percentile(fv, [98, 2]))
        freq, periodicity = step_frequency_hz(fv, fs)
        label = _label(sd, p98, p02, (freq, periodicity))
        rows.append((i0 / fs, i1 / fs, label, freq, sd, p98, p02))
    return rows


def activity_label(acc_mps2: np.ndarray, *, sampling_rate_hz: float) -> tuple[str, float]:
    """:func:`gait.activity.activity_label`."""
    row = window_rows(acc_mps2, sampling_rate_hz, len(acc_mps2) / sampling_rate_hz)[0]
    return str(row[2]), float(row[4])


# ---------------------------------------------------------------------------- double taps
def detect_double_taps(acc_mps2, *, sampling_rate_hz, tap_highpass_hz=30.0, min_factor=3.0,
                       min_peak_mps2=8.0, gap_s=(0.15, 0.45)):
    """:func:`gait.laps.detect_double_taps` with pandas' rolling median and per-sample levels."""
    fs = float(sampling_rate_hz)
    acc = np.nan_to_num(np.asarray(acc_mps2, float))
    if fs < 2.5 * tap_highpass_hz or len(acc) < int(fs):
        return np.zeros(0, int)
    hp = np.linalg.norm(filtfilt_butter(acc, order=4, cutoff_hz=tap_highpass_hz, btype="highpass",
                                        sampling_rate_hz=fs), axis=1)
    per = int(fs)
    n_sec = len(hp) // per
    sec_max = hp[: n_sec * per].reshape(n_sec, per).max(axis=1)
    typical = pd.Series(sec_max).rolling(11, center=True, min_periods=1).median().to_numpy()
    level = np.repeat(typical, per)
    level = np.concatenate([level, np.full(len(hp) - len(level), typical[-1] if n_sec else 0.0)])
    thr = np.maximum(min_factor * level, min_peak_mps2)
    peaks, _ = sps.find_peaks(hp, distance=max(1, int(0.08 * fs)))
    knocks = peaks[hp[peaks] > thr[peaks]]
    out = []
    i = 0
    while i < len(knocks) - 1:
        if gap_s[0] <= (knocks[i + 1] - knocks[i]) / fs <= gap_s[1]:
            out.append(int(knocks[i + 1]))
            i += 2
        else:
            i += 1
    return np.asarray(out, int)
