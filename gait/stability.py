"""Rotational instability and trunk-stability measures, each with its settings stated.

Published values of these measures are only comparable when their settings match, so every
function here returns its settings beside its values, and the analysis writes them into
``summary.json`` under ``settings.stability``.

All windowed measures use *trailing* windows of strides (the stride itself and the ones before
it), so the live session can compute them as each stride ends and they equal the batch values.

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
    Unbiased autocorrelation of the vertical acceleration at the lag of one step / one stride
    (Moe-Nilssen & Helbostad 2004), over the trailing window's samples.
``harmonic_ratio_vt`` / ``harmonic_ratio_ap`` / ``harmonic_ratio_ml``
    Per stride: sum of even over odd harmonic amplitudes (odd over even for ML) of the first 20
    harmonics of the stride-long signal (Menz et al. 2003).
``lde_per_stride``
    Short-term local divergence exponent (Rosenstein's algorithm) of the vertical acceleration,
    time-normalised to 100 samples per stride, embedding dimension 5 with a delay of 10 samples,
    slope of the mean log divergence over 0 to 0.5 stride, per stride; computed on the trailing
    30 strides of one foot every 20 strides of that foot, following every 4th reference point
    (Bruijn et al. 2013 settings otherwise).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

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

    def as_dict(self) -> dict[str, float | int]:
        """JSON-serialisable form."""
        return asdict(self)


def variability(strides: pd.DataFrame, column: str, settings: StabilitySettings) -> pd.DataFrame:
    """Trailing-window SD and CV of a per-stride column (NaN until the window holds enough)."""
    values = strides[column].astype(float)
    roll = values.rolling(settings.window_strides, min_periods=settings.min_window_strides)
    sd = roll.std(ddof=1)
    mean = roll.mean()
    base = column.removesuffix("_deg").removesuffix("_range")
    return pd.DataFrame(
        {f"{base}_sd_deg": sd.to_numpy(), f"{base}_cv": (sd / mean.abs()).to_numpy()},
        index=strides.index,
    )


def harmonic_ratio(signal: np.ndarray, *, harmonics: int, odd_over_even: bool) -> float:
    """Harmonic ratio of one stride-long signal (even/odd, or odd/even for medio-lateral)."""
    if len(signal) < 2 * harmonics + 2 or not np.isfinite(signal).all():
        return math.nan
    spectrum = np.abs(np.fft.rfft(signal - np.mean(signal)))[1 : harmonics + 1]
    even = spectrum[1::2].sum()
    odd = spectrum[0::2].sum()
    num, den = (odd, even) if odd_over_even else (even, odd)
    return float(num / den) if den > 0 else math.nan


def autocorrelation_at(signal: np.ndarray, lag: int) -> float:
    """Unbiased, normalised autocorrelation of a signal at one lag."""
    x = signal[np.isfinite(signal)]
    n = len(x)
    if lag <= 0 or lag >= n - 1:
        return math.nan
    x = x - x.mean()
    var = np.dot(x, x) / n
    if var <= 0:
        return math.nan
    return float(np.dot(x[:-lag], x[lag:]) / (n - lag) / var)


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
    parts = []
    for i0, i1 in stride_bounds:
        seg = signal[i0:i1]
        if i1 - i0 < 10 or not np.isfinite(seg).all():
            return math.nan
        parts.append(np.interp(np.linspace(0, len(seg) - 1, per), np.arange(len(seg)), seg))
    x = np.concatenate(parts)
    m, tau = settings.lde_embedding_dimension, settings.lde_delay_samples
    n = len(x) - (m - 1) * tau
    horizon = int(round(settings.lde_fit_strides * per))
    if n <= horizon + per:
        return math.nan
    emb = np.stack([x[k * tau : k * tau + n] for k in range(m)], axis=1)
    usable = n - horizon
    tree = cKDTree(emb[:usable])
    theiler = int(settings.lde_theiler_strides * per)
    k = min(usable, 2 * theiler + 3)
    refs = np.arange(0, usable, settings.lde_reference_step)
    _, idx = tree.query(emb[refs], k=k)
    ok = np.abs(idx - refs[:, None]) > theiler
    first = np.argmax(ok, axis=1)
    rows = np.arange(len(refs))
    has = ok[rows, first]
    if not has.any():
        return math.nan
    i_ref = refs[has]
    i_nn = idx[rows, first][has]
    steps = np.arange(horizon + 1)
    d = np.linalg.norm(emb[i_ref[:, None] + steps] - emb[i_nn[:, None] + steps], axis=2)
    with np.errstate(divide="ignore"):
        logd = np.log(d)
    logd[~np.isfinite(logd)] = np.nan
    curve = np.nanmean(logd, axis=0)
    t_strides = steps / per
    slope = np.polyfit(t_strides, curve, 1)[0]
    return float(slope)


def add_stability(
    strides: pd.DataFrame,
    time_s: np.ndarray,
    acc_vertical_mps2: np.ndarray,
    acc_forward_mps2: np.ndarray | None,
    acc_lateral_mps2: np.ndarray | None,
    settings: StabilitySettings | None = None,
) -> pd.DataFrame:
    """Add the stability columns (see module docs) to a stride table of one session."""
    settings = settings or StabilitySettings()
    out = strides.copy()
    if not len(out):
        return out
    for column in ("pelvis_rotation_range_deg", "pelvis_obliquity_range_deg"):
        if column in out:
            out = out.join(variability(out, column, settings))
    bounds = np.searchsorted(time_s, out[[c.STRIDE_START_S, c.STRIDE_END_S]].to_numpy())
    signals = {"vt": acc_vertical_mps2, "ap": acc_forward_mps2, "ml": acc_lateral_mps2}
    for name, sig in signals.items():
        col = f"harmonic_ratio_{name}"
        if sig is None:
            out[col] = np.nan
            continue
        out[col] = [
            harmonic_ratio(sig[i0:i1], harmonics=settings.harmonics, odd_over_even=name == "ml")
            for i0, i1 in bounds
        ]
    step_reg, stride_reg, ml_ratio = [], [], []
    fs = 1.0 / float(np.median(np.diff(time_s))) if len(time_s) > 1 else math.nan
    lde = np.full(len(out), np.nan)
    w = settings.window_strides
    for k in range(len(out)):
        lo = max(0, k - w + 1)
        if k - lo + 1 < settings.min_window_strides:
            step_reg.append(math.nan)
            stride_reg.append(math.nan)
            ml_ratio.append(math.nan)
            continue
        i0, i1 = bounds[lo, 0], bounds[k, 1]
        seg = acc_vertical_mps2[i0:i1]
        stride_lag = int(round(np.median(out[c.STRIDE_TIME_S].iloc[lo : k + 1]) * fs))
        step_reg.append(autocorrelation_at(seg, stride_lag // 2))
        stride_reg.append(autocorrelation_at(seg, stride_lag))
        if acc_lateral_mps2 is not None and acc_forward_mps2 is not None:
            ml = acc_lateral_mps2[i0:i1] - np.nanmean(acc_lateral_mps2[i0:i1])
            ap = acc_forward_mps2[i0:i1] - np.nanmean(acc_forward_mps2[i0:i1])
            vt = seg - np.nanmean(seg)
            total = np.sqrt(np.nanmean(ml**2 + ap**2 + vt**2))
            ml_ratio.append(float(np.sqrt(np.nanmean(ml**2)) / total) if total > 0 else math.nan)
        else:
            ml_ratio.append(math.nan)
    # LDE on trailing windows every few strides. Consecutive rows overlap (left and right strides
    # interleave), so the window takes every other row: non-overlapping strides of one foot.
    lw = settings.lde_window_strides
    bout = out["bout"].to_numpy() if "bout" in out else np.zeros(len(out))
    last = math.nan
    for k in range(len(out)):
        lo = k - 2 * (lw - 1)
        if lo < 0 or bout[lo] != bout[k]:
            last = math.nan
        elif (k + 1) % settings.lde_every_strides == 0:
            rows = np.arange(lo, k + 1, 2)
            last = local_divergence_exponent(acc_vertical_mps2, bounds[rows], settings)
        lde[k] = last
    out["step_regularity"] = step_reg
    out["stride_regularity"] = stride_reg
    out["ml_acc_ratio"] = ml_ratio
    out["lde_per_stride"] = lde
    return out
