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
    running_forward_axis,
    vertical_axis_from_gravity,
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


def _simulated_sacrum(seed: int, kind: str, speed_mps: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(sensor-frame acc of a steady 3.75 s window, true forward in the sensor frame, rate)."""
    from gait.quaternion import rotate
    from stridecue.constants import SACRUM
    from stridecue.simulator import Phase, SensorSpec, SessionPlan, simulate

    phase = Phase(kind=kind, duration_s=8.0, speed_mps=speed_mps, ramp_s=1.0)
    plan = SessionPlan(phases=[phase], path="straight",
                       sensors=[SensorSpec(SACRUM, sampling_rate_hz=200.0, mounting="random")])
    s = simulate(plan, seed=seed, with_angles=False).sensors[SACRUM]
    fs = s.sampling_rate_hz
    i0, i1 = int(3 * fs), int(6.75 * fs)
    heading = np.gradient(s.position_m[i0:i1, :2], axis=0)
    heading /= np.linalg.norm(heading, axis=1, keepdims=True)
    q_earth_to_sensor = s.q_sensor_to_earth[i0:i1] * np.array([1.0, -1.0, -1.0, -1.0])
    forward = rotate(q_earth_to_sensor, np.c_[heading, np.zeros(len(heading))]).mean(axis=0)
    return s.acc_mps2[i0:i1], forward / np.linalg.norm(forward), fs


@pytest.mark.parametrize("seed", [1, 2])
def test_running_forward_axis_from_the_accelerometer_alone(seed: int) -> None:
    """Random mountings: the running rhythm gives forward within a few degrees, sign included."""
    acc, forward, fs = _simulated_sacrum(seed, "run", 4.0)
    up = vertical_axis_from_gravity(acc, sampling_rate_hz=fs)
    axis = running_forward_axis(acc, up, sampling_rate_hz=fs)
    assert axis is not None
    assert np.degrees(np.arccos(np.clip(axis @ forward, -1.0, 1.0))) < 5.0


def test_running_forward_axis_refuses_standing_and_walking() -> None:
    rng = np.random.default_rng(0)
    still = np.array([0.3, -0.2, 9.8]) + rng.normal(0.0, 0.05, (800, 3))
    up = vertical_axis_from_gravity(still, sampling_rate_hz=200.0)
    assert running_forward_axis(still, up, sampling_rate_hz=200.0) is None
    walk, _, fs = _simulated_sacrum(1, "walk", 1.3)
    up = vertical_axis_from_gravity(walk, sampling_rate_hz=fs)
    assert running_forward_axis(walk, up, sampling_rate_hz=fs) is None
