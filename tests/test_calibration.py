"""Gyro bias, still periods, sensor-to-segment alignment and the Calibration record.

The module also holds the synthetic-motion helpers (exact IMU readings of a pelvis and two thighs
standing then walking, any sensor mounting) used by ``test_angles`` and ``test_mobility``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.alignment import auto_calibrate, calibrate_pelvis, calibrate_thigh
from calibration.bias import find_still_periods, gyro_bias_from_still
from calibration.model import Calibration, CalibrationError

G = 9.80665


@dataclass
class SynthSensor:
    """IMU readings of one synthetic sensor and its true orientation."""

    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    q_sensor_to_earth: np.ndarray
    q_sensor_to_segment: np.ndarray


@dataclass
class SynthSession:
    """A synthetic session: sensors, true angles (deg) and the sample windows."""

    sampling_rate_hz: float
    sensors: dict[str, SynthSensor]
    truth: dict[str, np.ndarray]
    standing: tuple[int, int]
    walking: tuple[int, int]


def imu_from_motion(
    rot_seg_to_earth: Rotation,
    pos_m: np.ndarray,
    q_sensor_to_segment: np.ndarray,
    *,
    sampling_rate_hz: float,
    rng: np.random.Generator | None = None,
    gyro_noise_radps: float = 0.0,
    acc_noise_mps2: float = 0.0,
    gyro_bias_radps: np.ndarray | None = None,
) -> SynthSensor:
    """IMU readings of a sensor mounted with ``q_sensor_to_segment`` on a moving segment."""
    r_s2e = rot_seg_to_earth * Rotation.from_quat(q_sensor_to_segment, scalar_first=True)
    # body-frame rate consistent with q_{k+1} = q_k * exp(w_k dt)
    rel = r_s2e[:-1].inv() * r_s2e[1:]
    gyr = rel.as_rotvec() * sampling_rate_hz
    gyr = np.vstack([gyr, gyr[-1:]])
    vel = np.gradient(pos_m, 1 / sampling_rate_hz, axis=0)
    acc_e = np.gradient(vel, 1 / sampling_rate_hz, axis=0)
    acc_e[:, 2] += G
    acc = r_s2e.inv().apply(acc_e)
    if rng is not None:
        gyr = gyr + rng.normal(0, gyro_noise_radps, gyr.shape)
        acc = acc + rng.normal(0, acc_noise_mps2, acc.shape)
    if gyro_bias_radps is not None:
        gyr = gyr + gyro_bias_radps
    return SynthSensor(acc, gyr, r_s2e.as_quat(scalar_first=True), np.asarray(q_sensor_to_segment))


def zxy(yaw_rad: np.ndarray, frontal_rad: np.ndarray, sagittal_rad: np.ndarray) -> Rotation:
    """Segment-to-earth rotation from intrinsic z-x-y Cardan angles."""
    return Rotation.from_euler("ZXY", np.column_stack([yaw_rad, frontal_rad, sagittal_rad]))


def random_mounting(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random ``q_sensor_to_segment``."""
    return Rotation.random(rng=rng).as_quat(scalar_first=True)


def walking_session(
    rng: np.random.Generator,
    *,
    sampling_rate_hz: float = 100.0,
    standing_s: float = 6.0,
    walking_s: float = 8.0,
    mountings: dict[str, np.ndarray] | None = None,
    noise: bool = True,
    speed_mps: float = 1.3,
    stride_time_s: float = 1.1,
    bend_radps: float = 0.0,
    thigh_amplitude_deg: float = 22.0,
) -> SynthSession:
    """Standing then walking; sacrum + left + right thigh sensors with random mountings."""
    fs = sampling_rate_hz
    n_st = int(standing_s * fs)
    n = n_st + int(walking_s * fs)
    t = np.arange(n) / fs
    tw = np.clip(t - standing_s, 0, None)
    ramp = np.clip(tw / 1.0, 0, 1)
    f = 1 / stride_time_s
    ph = 2 * np.pi * f * tw
    heading0 = rng.uniform(-np.pi, np.pi)
    heading = heading0 + bend_radps * tw
    sway = 0.2 * np.sin(2 * np.pi * 0.3 * t)  # deg, quiet standing sway
    tilt = np.where(tw > 0, 3 * ramp * np.sin(2 * ph), 0) + sway
    obl = 5 * ramp * np.sin(ph)
    rot = 6 * ramp * np.sin(ph + 0.5)
    fwd_v = speed_mps * ramp * (1 + 0.1 * np.sin(2 * ph))
    dist = np.cumsum(fwd_v) / fs
    vert = 0.9 + 0.02 * ramp * np.sin(2 * ph)
    lat = 0.02 * ramp * np.sin(ph)
    pos_p = np.column_stack(
        [
            dist * np.cos(heading) - lat * np.sin(heading),
            dist * np.sin(heading) + lat * np.cos(heading),
            vert,
        ]
    )
    r_pelvis = zxy(heading + np.radians(rot), np.radians(obl), np.radians(tilt))
    truth = {
        "time_s": t,
        "pelvis_tilt_deg": tilt,
        "pelvis_obliquity_deg": obl,
        "pelvis_rotation_deg": rot,
    }
    if mountings is None:
        mountings = {p: random_mounting(rng) for p in ("sacrum", "thigh_left", "thigh_right")}
    sensors: dict[str, SynthSensor] = {}
    bias = rng.normal(0, 0.01, 3) if noise else None
    kw = {"rng": rng, "gyro_noise_radps": 0.004, "acc_noise_mps2": 0.03} if noise else {}
    sensors["sacrum"] = imu_from_motion(
        r_pelvis, pos_p, mountings["sacrum"], sampling_rate_hz=fs, gyro_bias_radps=bias, **kw
    )
    for side, sgn, phase in (("left", 1.0, 0.0), ("right", -1.0, np.pi)):
        flex = ramp * (8 + thigh_amplitude_deg * np.sin(ph + phase)) + 0.3 * np.sin(
            2 * np.pi * 0.25 * t
        )
        abd = ramp * 2 * np.sin(ph + phase + 1.0)
        # abduction moves the knee away from the midline: + frontal for left, - for right
        r_thigh = zxy(heading + np.radians(0.5 * rot), np.radians(sgn * abd), -np.radians(flex))
        hip = pos_p + r_pelvis.apply([0.0, sgn * 0.09, -0.05])
        pos_t = hip + r_thigh.apply([0.03, sgn * 0.07, -0.2])
        key = f"thigh_{side}"
        b = rng.normal(0, 0.01, 3) if noise else None
        sensors[key] = imu_from_motion(
            r_thigh, pos_t, mountings[key], sampling_rate_hz=fs, gyro_bias_radps=b, **kw
        )
        truth[f"thigh_angle_{side}_deg"] = flex
        truth[f"thigh_abduction_{side}_deg"] = abd
        truth[f"hip_flexion_{side}_deg"] = flex + tilt
    return SynthSession(fs, sensors, truth, (int(0.5 * fs), n_st - int(0.2 * fs)), (n_st, n))


# ------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------

FS = 100.0


def _angle_between_deg(q1: np.ndarray, q2: np.ndarray) -> float:
    r = Rotation.from_quat(q1, scalar_first=True) * Rotation.from_quat(q2, scalar_first=True).inv()
    return float(np.degrees(r.magnitude()))


def test_still_periods_found_and_bias_recovered():
    rng = np.random.default_rng(1)
    s = walking_session(rng, standing_s=6.0, walking_s=5.0)
    sac = s.sensors["sacrum"]
    periods = find_still_periods(sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS)
    assert len(periods) == 1
    i0, i1 = periods[0]
    assert i0 == 0
    assert abs(i1 - s.walking[0]) < 0.5 * FS
    true_bias = sac.gyr_radps[: s.walking[0]].mean(axis=0)  # includes the tiny sway rate
    bias = gyro_bias_from_still(
        sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS, still=s.standing
    )
    np.testing.assert_allclose(bias, true_bias, atol=2e-3)
    assert np.linalg.norm(bias) > 5e-3  # a bias was really added


def test_bias_rejects_moving_still_period():
    rng = np.random.default_rng(2)
    s = walking_session(rng)
    sac = s.sensors["sacrum"]
    with pytest.raises(CalibrationError, match="moved during"):
        gyro_bias_from_still(
            sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS,
            still=(s.walking[0], s.walking[0] + 300), placement="sacrum",
        )


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_pelvis_and_thigh_alignment_recover_random_mounting(seed):
    rng = np.random.default_rng(seed)
    s = walking_session(rng)
    sac = s.sensors["sacrum"]
    cal = calibrate_pelvis(
        sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS, standing=s.standing,
        functional=s.walking,
    )
    assert _angle_between_deg(cal.q_sensor_to_segment, sac.q_sensor_to_segment) < 2.0
    assert cal.quality["axis_consistency"] > 0.9
    for side in ("left", "right"):
        th = s.sensors[f"thigh_{side}"]
        c = calibrate_thigh(
            th.acc_mps2, th.gyr_radps, sampling_rate_hz=FS, side=side, standing=s.standing,
            functional=s.walking,
        )
        assert c.placement == f"thigh_{side}"
        assert c.method == "gyro_pca+travel"
        # the functional axis absorbs the flexion-correlated abduction/rotation: a few degrees
        assert _angle_between_deg(c.q_sensor_to_segment, th.q_sensor_to_segment) < 6.0


def test_thigh_leg_swings_without_walking_use_asymmetry():
    rng = np.random.default_rng(6)
    n_st, n_sw = 500, 600
    t = np.arange(n_st + n_sw) / FS
    tw = np.clip(t - n_st / FS, 0, None)
    flex = np.where(t > n_st / FS, 15 + 25 * np.sin(2 * np.pi * 0.8 * tw - np.pi / 2) + 10, 0)
    flex = np.where(t > n_st / FS, 12.5 - 12.5 * np.cos(2 * np.pi * 0.8 * tw) * 1.0, 0) * 2.4
    flex = flex - np.where(t > n_st / FS, 10 * np.sin(np.pi * 0.8 * tw) ** 2, 0)  # less extension
    r = zxy(np.full_like(t, 0.3), np.zeros_like(t), -np.radians(flex))
    pos = np.column_stack([np.zeros_like(t), np.zeros_like(t), np.full_like(t, 0.9)])
    pos = pos + r.apply([0.0, 0.0, -0.25])
    mount = random_mounting(rng)
    th = imu_from_motion(r, pos, mount, sampling_rate_hz=FS, rng=rng,
                         gyro_noise_radps=0.004, acc_noise_mps2=0.03)
    c = calibrate_thigh(th.acc_mps2, th.gyr_radps, sampling_rate_hz=FS, side="right",
                        standing=(50, n_st - 20), functional=(n_st, n_st + n_sw))
    assert c.method == "gyro_pca+asymmetry"
    assert _angle_between_deg(c.q_sensor_to_segment, mount) < 2.0


def test_pelvis_rejects_too_small_functional_movement():
    rng = np.random.default_rng(7)
    s = walking_session(rng, speed_mps=0.0)
    sac = s.sensors["sacrum"]
    with pytest.raises(CalibrationError, match="too little"):
        calibrate_pelvis(sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS,
                         standing=s.standing, functional=s.walking)


def test_thigh_rejects_too_small_functional_movement():
    rng = np.random.default_rng(8)
    s = walking_session(rng, thigh_amplitude_deg=3.0, speed_mps=0.0)
    th = s.sensors["thigh_left"]
    with pytest.raises(CalibrationError, match="moved only"):
        calibrate_thigh(th.acc_mps2, th.gyr_radps, sampling_rate_hz=FS, side="left",
                        standing=s.standing, functional=s.walking)


def test_calibrate_rejects_moving_standing():
    rng = np.random.default_rng(9)
    s = walking_session(rng)
    sac = s.sensors["sacrum"]
    with pytest.raises(CalibrationError, match="stand still and redo it"):
        calibrate_pelvis(sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS,
                         standing=(s.walking[0], s.walking[0] + 300),
                         functional=(s.walking[0] + 300, s.walking[1]))


def test_pelvis_rejects_walking_in_a_circle():
    rng = np.random.default_rng(10)
    s = walking_session(rng, bend_radps=1.2, walking_s=8.0)
    sac = s.sensors["sacrum"]
    with pytest.raises(CalibrationError, match="straight"):
        calibrate_pelvis(sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS,
                         standing=s.standing, functional=s.walking)


def test_auto_calibrate_and_json_round_trip():
    rng = np.random.default_rng(11)
    s = walking_session(rng)
    cal = auto_calibrate({k: (v.acc_mps2, v.gyr_radps) for k, v in s.sensors.items()},
                         sampling_rate_hz=FS)
    assert set(cal.segments) == {"sacrum", "thigh_left", "thigh_right"}
    for k, seg in cal.segments.items():
        assert _angle_between_deg(seg.q_sensor_to_segment, s.sensors[k].q_sensor_to_segment) < 6
    text = json.dumps(cal.to_dict())
    back = Calibration.from_dict(json.loads(text))
    for k, seg in cal.segments.items():
        np.testing.assert_allclose(back[k].q_sensor_to_segment, seg.q_sensor_to_segment)
        np.testing.assert_allclose(back[k].gyro_bias_radps, seg.gyro_bias_radps)
        assert back[k].quality == pytest.approx(seg.quality)
    with pytest.raises(CalibrationError, match="no calibration"):
        Calibration()["sacrum"]


def test_auto_calibrate_without_still_period_says_what_to_do():
    rng = np.random.default_rng(12)
    s = walking_session(rng, standing_s=0.5)
    sac = s.sensors["sacrum"]
    with pytest.raises(CalibrationError, match="standing still for 10 s"):
        auto_calibrate({"sacrum": (sac.acc_mps2[60:], sac.gyr_radps[60:])}, sampling_rate_hz=FS)


def test_standing_to_the_end_asks_for_movement() -> None:
    """A recording that is still to its end has no functional movement: say what to do."""
    rng = np.random.default_rng(1)
    acc = np.tile([0.0, 0.0, 9.81], (3000, 1)) + rng.normal(0, 0.02, (3000, 3))
    gyr = rng.normal(0, 0.002, (3000, 3))
    with pytest.raises(CalibrationError, match="no movement after the still standing period"):
        auto_calibrate({"sacrum": (acc, gyr)}, sampling_rate_hz=100.0)
