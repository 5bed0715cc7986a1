"""Double taps: found where they are, and the numbers of the straightforward implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gait.laps import _running_median, detect_double_taps
from tests import reference_measures as ref


def _running_with_taps(rng: np.random.Generator, fs: float, seconds: float, taps_s: list[float]):
    """Sacrum acceleration while running (smooth foot strikes) with double taps (sharp knocks)."""
    t = np.arange(int(seconds * fs)) / fs
    phase = (t * 2.8) % 1.0
    vertical = np.where(phase < 0.4, 25 * np.sin(np.pi * phase / 0.4), 0.0)
    acc = np.c_[vertical + 9.81, 2 * np.sin(2 * np.pi * 1.4 * t), np.zeros_like(t)]
    acc += rng.normal(0, 0.3, acc.shape)
    for t0 in taps_s:
        for knock in (t0, t0 + 0.3):
            i = int(knock * fs)
            acc[i : i + 3] += [[40.0, -30.0, 20.0], [-35.0, 25.0, -15.0], [15.0, -8.0, 5.0]]
    return acc


def test_double_taps_are_found_once_each():
    rng = np.random.default_rng(0)
    fs = 200.0
    acc = _running_with_taps(rng, fs, 40.0, [10.0, 25.0])
    found = detect_double_taps(acc, sampling_rate_hz=fs) / fs
    np.testing.assert_allclose(found, [10.3, 25.3], atol=0.03)


def test_double_taps_equal_reference():
    """The fast detector gives the reference's indices on random recordings with gaps."""
    rng = np.random.default_rng(1)
    found = 0
    for _ in range(40):
        fs = float(rng.choice([100.0, 200.0, 500.0]))
        seconds = float(rng.uniform(0.5, 14))
        taps = list(rng.uniform(0, seconds, rng.integers(0, 3)))
        acc = _running_with_taps(rng, fs, seconds, [s for s in taps if s < seconds - 0.4])
        if rng.random() < 0.3:
            i = int(rng.integers(0, len(acc)))
            acc[i : i + int(rng.integers(1, 50)), int(rng.integers(0, 3))] = np.nan
        new = detect_double_taps(acc, sampling_rate_hz=fs)
        np.testing.assert_array_equal(new, ref.detect_double_taps(acc, sampling_rate_hz=fs))
        found += len(new)
    assert found > 5


def test_running_median_equals_pandas_rolling_median():
    rng = np.random.default_rng(2)
    for _ in range(3000):
        n = int(rng.integers(1, 30))
        v = rng.normal(5, 2, n)
        v[rng.random(n) < 0.15] = np.nan
        if rng.random() < 0.2:
            v[rng.integers(n)] = rng.choice([np.inf, -np.inf])
        if rng.random() < 0.2:
            v = np.round(v)  # ties
        expected = pd.Series(v).rolling(11, center=True, min_periods=1).median().to_numpy()
        np.testing.assert_array_equal(_running_median(v.tolist(), half=5), expected)
