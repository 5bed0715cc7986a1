"""Inverted-pendulum stride length: synthetic excursions, calibration, real straight walks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gait.events_walking import detect_walking_events
from gait.stride_length import (
    K_MOBILISED_ALL,
    K_ZIJLSTRA_HOF,
    fit_stride_length_scale,
    inverted_pendulum_step_length_m,
    step_vertical_excursion_m,
    walking_stride_length_m,
)
from stridecue.constants import GRAVITY_MPS2
from stridecue.errors import InputError

FS = 100.0


def sinusoidal_bounce(h_m: float, step_s: float, n_steps: int, seed: int = 0):
    """Vertical acceleration of a sacrum bouncing by ``h_m`` per step, ICs at the lowest points."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(n_steps * step_s * FS) + 1) / FS
    w = 2 * np.pi / step_s
    a_v = (h_m / 2) * w**2 * np.cos(w * t) + rng.normal(0, 0.02, len(t))  # lowest at t = k*T
    ic = np.round(np.arange(n_steps + 1) * step_s * FS).astype(int)
    return a_v, ic[ic < len(t)]


@pytest.mark.parametrize("method", ["mobilised", "per_step", "highpass"])
def test_excursion_recovers_known_bounce(method):
    a_v, ic = sinusoidal_bounce(0.04, 0.5, 40)
    h = step_vertical_excursion_m(a_v, ic, sampling_rate_hz=FS, method=method)
    inner = h[5:-5]
    np.testing.assert_allclose(inner, 0.04, rtol=0.05)


def test_pendulum_formula_and_stride_sum():
    length_m, h = 1.0, 0.04
    expected = K_MOBILISED_ALL * 2 * np.sqrt(2 * length_m * h - h**2)
    np.testing.assert_allclose(
        inverted_pendulum_step_length_m(np.array([h]), pendulum_length_m=length_m), expected
    )
    np.testing.assert_allclose(
        inverted_pendulum_step_length_m(
            np.array([h]), pendulum_length_m=length_m, k_factor=K_ZIJLSTRA_HOF
        ),
        expected * K_ZIJLSTRA_HOF / K_MOBILISED_ALL,
    )
    a_v, ic = sinusoidal_bounce(h, 0.5, 20, seed=2)
    acc = np.c_[np.zeros_like(a_v), np.zeros_like(a_v), GRAVITY_MPS2 + a_v]
    sl = walking_stride_length_m(acc, ic, sampling_rate_hz=FS, sensor_height_m=length_m)
    assert len(sl) == len(ic)
    assert np.isnan(sl[-2:]).all()
    np.testing.assert_allclose(sl[5:-5], 2 * expected, rtol=0.06)
    scaled = walking_stride_length_m(
        acc, ic, sampling_rate_hz=FS, sensor_height_m=length_m, scale=0.5
    )
    np.testing.assert_allclose(scaled[5:-5], sl[5:-5] / 2)


def test_pause_gives_nan_and_bad_length_raises():
    a_v = np.zeros(1000)
    h = step_vertical_excursion_m(a_v, np.array([0, 50, 400]), sampling_rate_hz=FS)
    assert np.isfinite(h[0])
    assert np.isnan(h[1])
    with pytest.raises(InputError):
        inverted_pendulum_step_length_m(h, pendulum_length_m=0.0)
    with pytest.raises(InputError, match="unknown excursion method"):
        step_vertical_excursion_m(a_v, np.array([0, 50]), sampling_rate_hz=FS, method="bogus")


def test_nan_samples_give_nan_step_not_crash():
    a_v, ic = sinusoidal_bounce(0.04, 0.5, 20, seed=3)
    a_v[520:530] = np.nan  # inside step 10 (samples 500-550)
    h = step_vertical_excursion_m(a_v, ic, sampling_rate_hz=FS)
    assert np.isnan(h[10])
    assert np.isfinite(h[3:8]).all()


def test_fit_scale():
    assert fit_stride_length_scale(np.array([1.0, np.nan, 1.5]), 5.0) == pytest.approx(2.0)
    with pytest.warns(RuntimeWarning, match="no valid predicted"):
        assert np.isnan(fit_stride_length_scale(np.array([np.nan]), 5.0))
    with pytest.raises(InputError):
        fit_stride_length_scale(np.array([1.0]), -1.0)


def _strides(trial):
    imu = pd.read_csv(trial / "imu.csv")
    ref = pd.read_csv(trial / "strides.csv")
    meta = json.loads((trial / "meta.json").read_text())
    acc = imu[["acc_x", "acc_y", "acc_z"]].to_numpy()
    ev = detect_walking_events(acc, sampling_rate_hz=100.0)
    det = imu["time_s"].iloc[0] + ev.ic_idx / 100.0
    out = {}
    for method, k in (("mobilised", K_MOBILISED_ALL), ("highpass", K_ZIJLSTRA_HOF)):
        sl = walking_stride_length_m(
            acc, ev.ic_idx, sampling_rate_hz=100.0, sensor_height_m=meta["sensor_height_m"],
            method=method, k_factor=k,
        )
        pairs = []
        for _, s in ref.iterrows():
            i0 = np.flatnonzero(np.abs(det - s.start_s) <= 0.1)
            i1 = np.flatnonzero(np.abs(det - s.end_s) <= 0.1)
            if len(i0) and len(i1) and i1[0] == i0[0] + 2:
                pairs.append((s.stride_length_m, sl[i0[0]]))
        out[method] = np.array(pairs)
    return out


@pytest.mark.shared_data
def test_real_straight_walk_stride_length(shared_data):
    root = shared_data / "lowerback-walking"
    ours, base = [], []
    for name in ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2"):
        r = _strides(root / name)
        ours.append(r["mobilised"])
        base.append(r["highpass"])
    ours, base = np.concatenate(ours), np.concatenate(base)
    assert len(ours) >= 10
    mae_ours = np.mean(np.abs(ours[:, 1] - ours[:, 0]))
    mae_base = np.mean(np.abs(base[:, 1] - base[:, 0]))
    # measured: ours (Mobilise-D excursion, published K) ~0.078 m, Zijlstra & Hof baseline
    # ~0.126 m; the 0.05 m target is not reached (see bench/results/walking.md)
    assert mae_ours <= 0.085
    assert mae_ours <= mae_base - 0.03
