"""Tests of gait.orientation on synthetic ground truth and one BROAD trial."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gait import quaternion as quat
from gait.orientation import (
    METHODS,
    STREAMING_METHODS,
    OrientationDataWarning,
    OrientationEstimator,
    OrientationUnitError,
    estimate_gyro_bias,
    estimate_orientation,
)
from stridecue.constants import GRAVITY_MPS2
from stridecue.errors import InputError, StridecueError

FS_HZ = 100.0
G_ENU = np.array([0.0, 0.0, GRAVITY_MPS2])
MAG_ENU_UT = np.array([0.0, 19.0, -45.0])  # north and down, about Berlin


def _imu_from_truth(q_true: np.ndarray, gyr_radps: np.ndarray, seed: int = 0, noise: bool = True):
    """Sensor readings for a sensor at rest or rotating in place: acc = gravity only."""
    rng = np.random.default_rng(seed)
    acc = quat.rotate(quat.conjugate(q_true), G_ENU)
    mag = quat.rotate(quat.conjugate(q_true), MAG_ENU_UT)
    gyr = np.array(gyr_radps, dtype=float)
    if noise:
        acc = acc + rng.normal(0, 0.02, acc.shape)
        gyr = gyr + rng.normal(0, 0.002, gyr.shape)
        mag = mag + rng.normal(0, 0.2, mag.shape)
    return acc, gyr, mag


def _static(q_true: np.ndarray, n: int, seed: int = 0):
    return _imu_from_truth(np.tile(q_true, (n, 1)), np.zeros((n, 3)), seed=seed)


def _incl_err_deg(q_est: np.ndarray, q_true: np.ndarray) -> np.ndarray:
    return np.degrees(quat.inclination_rad(quat.multiply(q_est, quat.conjugate(q_true))))


def _angle_deg(q_est: np.ndarray, q_true: np.ndarray) -> np.ndarray:
    return np.degrees(quat.rotation_angle_rad(quat.multiply(q_est, quat.conjugate(q_true))))


TILTS = [
    quat.identity(),
    quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(30)),
    quat.normalize(np.array([0.3, -0.8, 0.4, 0.3])),
    quat.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.radians(179)),  # nearly upside down
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("tilt_index", range(len(TILTS)))
def test_static_tilt_recovered_6d(method: str, tilt_index: int) -> None:
    q_true = TILTS[tilt_index]
    acc, gyr, _ = _static(q_true, 400, seed=tilt_index)
    q = estimate_orientation(acc, gyr, sampling_rate_hz=FS_HZ, method=method)
    assert q.shape == (400, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-9)
    # z up: the estimated vertical matches the true one (flat sensor -> zero inclination)
    assert np.max(_incl_err_deg(q[200:], q_true)) < 1.0


@pytest.mark.parametrize("method", METHODS)
def test_static_orientation_9d_is_enu(method: str) -> None:
    q_true = quat.normalize(np.array([0.9, 0.3, -0.2, 0.25]))
    acc, gyr, mag = _static(q_true, 400, seed=7)
    q = estimate_orientation(acc, gyr, sampling_rate_hz=FS_HZ, mag_ut=mag, method=method)
    # full orientation (heading included) in ENU
    assert np.median(_angle_deg(q[300:], q_true)) < 2.0


@pytest.mark.parametrize("method", METHODS)
def test_constant_rate_rotation_integrated(method: str) -> None:
    # a sensor tilted by 20 deg spins about the vertical at 1 rad/s for 3 s
    n = 300
    t = np.arange(n) / FS_HZ
    q_tilt = quat.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(20))
    q_true = quat.multiply(quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), 1.0 * t), q_tilt)
    gyr = quat.rotate(quat.conjugate(q_tilt), np.array([0.0, 0.0, 1.0]))  # body rate is constant
    acc, gyr, _ = _imu_from_truth(q_true, np.tile(gyr, (n, 1)), seed=3)
    q = estimate_orientation(acc, gyr, sampling_rate_hz=FS_HZ, method=method)
    rel_est = quat.multiply(q, quat.conjugate(q[0]))
    rel_true = quat.multiply(q_true, quat.conjugate(q_true[0]))
    # 172 deg of rotation integrated to within 1 deg (gyro noise 0.002 rad/s)
    assert np.max(_angle_deg(rel_est, rel_true)) < 1.0
    assert np.max(_incl_err_deg(q, q_true)) < 1.0


def test_units_errors_say_what_to_do() -> None:
    acc, gyr, _ = _static(TILTS[2], 100)
    with pytest.raises(OrientationUnitError, match=r"m/s\^2") as exc:
        estimate_orientation(acc / GRAVITY_MPS2, gyr, sampling_rate_hz=FS_HZ)
    assert isinstance(exc.value, StridecueError)
    assert "\n" not in str(exc.value)
    spin = np.tile([0.0, 0.0, 8.0], (100, 1))  # 8 rad/s = 460 deg/s: plausible in rad/s
    estimate_orientation(acc, spin, sampling_rate_hz=FS_HZ)
    with pytest.raises(OrientationUnitError, match="rad/s"):
        estimate_orientation(acc, np.degrees(spin), sampling_rate_hz=FS_HZ)
    with pytest.raises(InputError, match="unknown parameter"):
        estimate_orientation(acc, gyr, sampling_rate_hz=FS_HZ, method="madgwick", beta_typo=0.1)
    with pytest.raises(InputError, match="sampling_rate_hz"):
        estimate_orientation(acc, gyr, sampling_rate_hz=0.0)
    with pytest.raises(ValueError, match="shape"):
        estimate_orientation(acc[:, :2], gyr[:, :2], sampling_rate_hz=FS_HZ)


def test_short_gap_held_long_gap_nan() -> None:
    acc, gyr, _ = _static(TILTS[1], 600, seed=4)
    acc[100:105] = np.nan  # 50 ms: held
    gyr[300:330] = np.nan  # 300 ms: first 100 ms held, the rest NaN
    with pytest.warns(OrientationDataWarning, match="2 gap"):
        q = estimate_orientation(acc, gyr, sampling_rate_hz=FS_HZ)
    assert np.isfinite(q[100:105]).all()
    assert np.isfinite(q[300:310]).all()
    assert np.isnan(q[311:330]).all()
    assert np.max(_incl_err_deg(q[400:], TILTS[1])) < 1.0


def _random_chunks(n: int, rng: np.random.Generator) -> list[slice]:
    out, start = [], 0
    while start < n:
        size = int(rng.choice([1, 1, 2, 7, 33, 100]))
        out.append(slice(start, min(n, start + size)))
        start += size
    return out


@pytest.mark.parametrize(("method", "use_mag"), [(m, False) for m in STREAMING_METHODS]
                         + [("vqf", True), ("madgwick", True), ("mahony", True), ("ekf", True)])
def test_streaming_equals_batch_exactly(method: str, use_mag: bool) -> None:
    rng = np.random.default_rng(11)
    n = 2000 if method == "vqf" else 400
    t = np.arange(n) / FS_HZ
    q_true = quat.from_rotation_vector(np.column_stack([np.sin(t), 0.5 * np.cos(2 * t), 0.3 * t]))
    gyr_true = rng.normal(0, 1.0, (n, 3))
    acc, gyr, mag = _imu_from_truth(q_true, gyr_true, seed=12)
    acc = acc + rng.normal(0, 2.0, acc.shape)  # plus motion
    acc[50:53] = np.nan
    gyr[200:230] = np.nan
    mag_arg = mag if use_mag else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OrientationDataWarning)
        batch = estimate_orientation(acc, gyr, sampling_rate_hz=FS_HZ, mag_ut=mag_arg,
                                     method=method)
        est = OrientationEstimator(sampling_rate_hz=FS_HZ, method=method)
        parts = []
        chunks = _random_chunks(n, rng)
        for i, sl in enumerate(chunks):
            if i == len(chunks) // 2:  # hand the state to a fresh estimator midway
                fresh = OrientationEstimator(sampling_rate_hz=FS_HZ, method=method)
                fresh.state = est.state
                est = fresh
            a, g = acc[sl], gyr[sl]
            m = None if mag_arg is None else mag_arg[sl]
            if sl.stop - sl.start == 1:  # single samples as shape (3,)
                a, g = a[0], g[0]
                m = None if m is None else m[0]
            parts.append(est.update(a, g, m))
    stream = np.vstack(parts)
    assert np.array_equal(stream, batch, equal_nan=True)
    assert np.isnan(batch[215:230]).all()


def test_vqf_bias_estimate_at_rest() -> None:
    bias = np.array([0.02, -0.01, 0.015])
    acc, gyr, _ = _static(TILTS[2], 3000, seed=5)
    trace = estimate_gyro_bias(acc, gyr + bias, sampling_rate_hz=FS_HZ)
    assert trace.shape == (3000, 3)
    np.testing.assert_allclose(trace[-1], bias, atol=0.002)
    est = OrientationEstimator(sampling_rate_hz=FS_HZ)
    est.update(acc, gyr + bias)
    np.testing.assert_array_equal(est.bias_radps_, trace[-1])
    offline = estimate_gyro_bias(acc, gyr + bias, sampling_rate_hz=FS_HZ, offline=True)
    np.testing.assert_allclose(offline[0], bias, atol=0.002)  # acausal: right from the start


def test_broad_trial_inclination(shared_data) -> None:  # noqa: ANN001
    d = np.load(shared_data / "broad" / "07_undisturbed_fast_rotation_B.npz")
    n = 25_000
    q = estimate_orientation(d["acc_mps2"][:n], d["gyr_radps"][:n],
                             sampling_rate_hz=float(d["sampling_rate_hz"]))
    truth = d["quat_wxyz_sensor_to_enu"][:n]
    keep = d["movement"][:n] & np.all(np.isfinite(truth), axis=1)
    err = _incl_err_deg(q[keep], truth[keep])
    rms = float(np.sqrt(np.mean(err**2)))
    assert keep.sum() > 5000
    assert rms < 1.5
