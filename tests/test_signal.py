"""The cached Butterworth filter is scipy's sosfiltfilt, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from gait.signal import butter_sos, filtfilt_butter


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
