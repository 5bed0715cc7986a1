"""The cached Butterworth filter is scipy's sosfiltfilt, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from gait.signal import (
    butter_sos,
    crossing_down,
    crossing_up,
    filtfilt_butter,
    last_crossing_up,
)


@pytest.mark.parametrize(
    ("order", "cutoff_hz", "btype"),
    [(4, 5.0, "lowpass"), (2, 3.0, "low"), (4, 0.1, "highpass"), (2, (0.5, 3.0), "bandpass")],
)
@pytest.mark.parametrize("padlen", [None, 0, 25])
@pytest.mark.parametrize(("shape", "axis"), [((300,), 0), ((300, 3), 0), ((3, 300), -1)])
def test_filtfilt_butter_is_sosfiltfilt(order, cutoff_hz, btype, padlen, shape, axis):
    x = np.random.default_rng(1).normal(size=shape).cumsum(axis=axis)
    sos = butter(order, cutoff_hz, btype=btype, fs=200.0, output="sos")
    expected = sosfiltfilt(sos, x, axis=axis, padlen=padlen)
    got = filtfilt_butter(x, order=order, cutoff_hz=cutoff_hz, btype=btype,
                          sampling_rate_hz=200.0, axis=axis, padlen=padlen)
    assert np.array_equal(got, expected)
    np.testing.assert_array_equal(
        butter_sos(order, cutoff_hz, btype=btype, sampling_rate_hz=200.0), sos)


def test_filtfilt_butter_too_short_raises():
    with pytest.raises(ValueError, match="padlen"):
        filtfilt_butter(np.ones(10), order=4, cutoff_hz=5.0, btype="lowpass",
                        sampling_rate_hz=200.0)


def test_butter_sos_copy_leaves_the_cache_intact():
    sos = butter_sos(4, 5.0, btype="lowpass", sampling_rate_hz=200.0)
    sos[:] = 0.0
    assert butter_sos(4, 5.0, btype="lowpass", sampling_rate_hz=200.0).any()


def _scan(x: np.ndarray, level: float, start: int, stop: int, *, rising: bool, last: bool) -> float:
    """A plain loop over the sample pairs: the definition of a crossing."""
    pairs = range(max(start, 0), min(stop, len(x)) - 1)
    hits = [k for k in pairs
            if (x[k] < level <= x[k + 1] if rising else x[k + 1] < level <= x[k])]
    if not hits:
        return float("nan")
    k = hits[-1] if last else hits[0]
    return k + (level - x[k]) / (x[k + 1] - x[k])


def test_crossings_are_the_plain_scan() -> None:
    """First rising, last falling and last rising crossings: interpolated positions as a plain
    loop finds them, with NaN (never crosses), ties at the level and out-of-range bounds."""
    rng = np.random.default_rng(21)
    for _ in range(500):
        n = int(rng.integers(0, 40))
        x = np.round(rng.normal(size=n), 1)  # ties at the level happen
        x[rng.random(n) < 0.1] = np.nan
        level = float(np.round(rng.normal(), 1))
        start, stop = int(rng.integers(-3, n + 2)), int(rng.integers(0, n + 5))
        for fn, rising, last in ((crossing_up, True, False), (crossing_down, False, True),
                                 (last_crossing_up, True, True)):
            got, want = fn(x, level, start, stop), _scan(x, level, start, stop, rising=rising,
                                                        last=last)
            assert got == want or (np.isnan(got) and np.isnan(want)), (fn.__name__, x, level)
