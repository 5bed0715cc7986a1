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
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
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


def _nearest_outside_window(
    tree: cKDTree, points: np.ndarray, refs: np.ndarray, theiler: int, usable: int
) -> np.ndarray:
    """Index of each point's nearest neighbour at least ``theiler + 1`` samples away, -1 if none.

    The k nearest neighbours come sorted by distance, so the first one outside the window is the
    same whatever k, as long as one is found: a few neighbours are asked for first, and the whole
    window plus two (which must hold one outside it) only for the points without one.
    """
    k_all = min(usable, 2 * theiler + 3)
    out = np.full(len(refs), -1, dtype=np.int64)
    todo = np.arange(len(refs))
    for k in (min(k_all, 16), k_all):
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
    refs = np.arange(0, usable, settings.lde_reference_step)
    i_nn = _nearest_outside_window(tree, emb[refs], refs, theiler, usable)
    has = i_nn >= 0
    if not has.any():
        return math.nan
    i_ref = refs[has]
    i_nn = i_nn[has]
    steps = np.arange(horizon + 1)
    d = np.linalg.norm(emb[i_ref[:, None] + steps] - emb[i_nn[:, None] + steps], axis=2)
    with np.errstate(divide="ignore"):
        logd = np.log(d)
    logd[~np.isfinite(logd)] = np.nan
    curve = np.nanmean(logd, axis=0)
    t_strides = steps / per
    slope = np.polyfit(t_strides, curve, 1)[0]
    return float(slope)


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
        ``2 * lde_window_strides`` before it when the session has them).
    time_s, acc_vertical_mps2, acc_forward_mps2, acc_lateral_mps2
        Samples covering ``rows`` (forward/lateral all-NaN without orientation).
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
    out: dict[str, float] = {}
    for column in ("pelvis_rotation_range_deg", "pelvis_obliquity_range_deg"):
        vals = np.array([r.get(column, math.nan) for r in rows[-st.window_strides :]], float)
        vals = vals[np.isfinite(vals)]
        base = column.removesuffix("_deg").removesuffix("_range")
        sd = float(np.std(vals, ddof=1)) if len(vals) >= st.min_window_strides else math.nan
        mean = float(np.mean(vals)) if len(vals) else math.nan
        out[f"{base}_sd_deg"] = sd
        out[f"{base}_cv"] = sd / abs(mean) if mean else math.nan
    t = time_s

    def bounds(r: Mapping[str, Any]) -> tuple[int, int]:
        i0, i1 = np.searchsorted(t, [r[c.STRIDE_START_S], r[c.STRIDE_END_S]])
        return int(i0), int(i1)

    vt, ap, ml = acc_vertical_mps2, acc_forward_mps2, acc_lateral_mps2
    i0, i1 = bounds(row)
    for name, x in (("vt", vt), ("ap", ap), ("ml", ml)):
        seg = x[i0:i1]
        out[f"harmonic_ratio_{name}"] = (
            harmonic_ratio(seg, harmonics=st.harmonics, odd_over_even=name == "ml")
            if len(seg) and np.isfinite(seg).all() else math.nan
        )
    window = rows[-st.window_strides :]
    out["step_regularity"] = out["stride_regularity"] = out["ml_acc_ratio"] = math.nan
    times = np.array([r[c.STRIDE_TIME_S] for r in window], float)
    if len(window) >= st.min_window_strides and np.isfinite(times).any():
        w0, w1 = bounds(window[0])[0], i1
        seg = vt[w0:w1]
        lag = int(round(float(np.nanmedian(times)) * sampling_rate_hz))
        out["step_regularity"] = autocorrelation_at(seg, lag // 2)
        out["stride_regularity"] = autocorrelation_at(seg, lag)
        if np.isfinite(ml[w0:w1]).any() and np.isfinite(ap[w0:w1]).any():
            mlw = ml[w0:w1] - np.nanmean(ml[w0:w1])
            apw = ap[w0:w1] - np.nanmean(ap[w0:w1])
            vtw = seg - np.nanmean(seg)
            total = np.sqrt(np.nanmean(mlw**2 + apw**2 + vtw**2))
            out["ml_acc_ratio"] = float(np.sqrt(np.nanmean(mlw**2)) / total) if total > 0 else math.nan
    # LDE on one foot's non-overlapping strides of the same activity, every few strides.
    lw = st.lde_window_strides
    series = rows[-(2 * (lw - 1) + 1) :]
    lde = lde_last
    if len(series) < 2 * (lw - 1) + 1 or series[0]["activity"] != row["activity"]:
        lde = math.nan
    elif (stride_number + 1) % st.lde_every_strides == 0:
        lde = local_divergence_exponent(vt, np.array([bounds(r) for r in series[::2]]), st)
    out["lde_per_stride"] = lde
    return out, lde
