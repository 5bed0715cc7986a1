"""Anatomical angles: sign table, mounting invariance, heading removal, bad data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.alignment import calibrate_pelvis, calibrate_thigh, with_neutral_from_orientation
from calibration.model import SegmentCalibration
from gait.angles import hip_angles, pelvis_angles, thigh_angles
from gait.orientation import estimate_orientation
from tests.test_calibration import random_mounting, walking_session

FS = 100.0
IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


def _seg(placement: str, mount: np.ndarray = IDENTITY) -> SegmentCalibration:
    return SegmentCalibration(placement, mount, np.zeros(3))


def _sensor_q(r_seg_to_earth: Rotation, mount: np.ndarray) -> np.ndarray:
    """q_sensor_to_earth of a sensor mounted with ``mount`` on a segment at ``r_seg_to_earth``."""
    return (r_seg_to_earth * Rotation.from_quat(mount, scalar_first=True)).as_quat(
        scalar_first=True
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_sign_table_pelvis(seed):
    mount = random_mounting(np.random.default_rng(seed))
    cal = _seg("sacrum", mount)
    heading = Rotation.from_euler("z", 40, degrees=True)  # any heading of travel
    # anterior tilt: the front of the pelvis goes down
    tilt = heading * Rotation.from_rotvec([0, np.radians(10), 0])
    assert tilt.apply([1, 0, 0])[2] < 0
    # left side up: the left axis points up
    obl = heading * Rotation.from_rotvec([np.radians(8), 0, 0])
    assert obl.apply([0, 1, 0])[2] > 0
    # turns left: the anterior axis swings towards the left of travel
    rot = heading * Rotation.from_rotvec([0, 0, np.radians(6)])
    assert (heading.inv() * rot).apply([1, 0, 0])[1] > 0
    q = np.vstack([_sensor_q(r, mount) for r in (heading, tilt, obl, rot)])
    a = pelvis_angles(q, cal, sampling_rate_hz=FS, heading_reference="none")
    np.testing.assert_allclose(a["pelvis_tilt_deg"], [0, 10, 0, 0], atol=1e-9)
    np.testing.assert_allclose(a["pelvis_obliquity_deg"], [0, 0, 8, 0], atol=1e-9)
    np.testing.assert_allclose(a["pelvis_rotation_deg"], [0, 0, 0, 6], atol=1e-9)


@pytest.mark.parametrize("side", ["left", "right"])
def test_sign_table_thigh_and_hip(side):
    mount = random_mounting(np.random.default_rng(5))
    cal = _seg(f"thigh_{side}", mount)
    # flexion: the knee (segment -z) moves forward
    flex = Rotation.from_rotvec([0, -np.radians(30), 0])
    assert flex.apply([0, 0, -1])[0] > 0
    # abduction: the knee moves away from the midline (to +y for left, -y for right)
    out = 1.0 if side == "left" else -1.0
    abd = Rotation.from_rotvec([out * np.radians(5), 0, 0])
    assert out * abd.apply([0, 0, -1])[1] > 0
    q = np.vstack([_sensor_q(r, mount) for r in (flex, abd)])
    a = thigh_angles(q, cal)
    np.testing.assert_allclose(a["thigh_angle_deg"], [30, 0], atol=1e-9)
    np.testing.assert_allclose(a["thigh_abduction_deg"], [0, 5], atol=1e-9)
    # anterior pelvic tilt with a vertical thigh flexes the hip; thigh behind = extension
    hip = hip_angles(np.array([10.0, 0.0]), np.array([0.0, -15.0]))
    np.testing.assert_allclose(hip["hip_flexion_deg"], [10, -15])


def _calibrate(session, q_est: dict[str, np.ndarray]) -> dict[str, SegmentCalibration]:
    sac = session.sensors["sacrum"]
    cal = calibrate_pelvis(sac.acc_mps2, sac.gyr_radps, sampling_rate_hz=FS,
                           standing=session.standing, functional=session.walking)
    th = session.sensors["thigh_left"]
    c = calibrate_thigh(th.acc_mps2, th.gyr_radps, sampling_rate_hz=FS, side="left",
                        standing=session.standing, functional=session.walking)
    st = slice(*session.standing)
    return {
        "sacrum": with_neutral_from_orientation(cal, q_est["sacrum"][st]),
        "thigh_left": with_neutral_from_orientation(c, q_est["thigh_left"][st]),
    }


def _angles(q_est: dict[str, np.ndarray], cals: dict[str, SegmentCalibration]) -> dict:
    out = dict(pelvis_angles(q_est["sacrum"], cals["sacrum"], sampling_rate_hz=FS,
                             heading_window_s=1.1))
    out.update(thigh_angles(q_est["thigh_left"], cals["thigh_left"]))
    return {k: np.asarray(v) for k, v in out.items()}


def _walk_angles(session, q_est: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return _angles(q_est, _calibrate(session, q_est))


def test_mounting_invariance_with_vqf():
    mounts = []
    for seed in (21, 22):
        rng = np.random.default_rng(seed)
        mounts.append({p: random_mounting(rng) for p in ("sacrum", "thigh_left", "thigh_right")})
    results = []
    for m in mounts:
        s = walking_session(np.random.default_rng(30), mountings=m)
        q = {
            p: estimate_orientation(s.sensors[p].acc_mps2, s.sensors[p].gyr_radps,
                                    sampling_rate_hz=FS)
            for p in ("sacrum", "thigh_left")
        }
        results.append((s, _walk_angles(s, q)))
    (s, a), (_, b) = results
    w = slice(s.walking[0] + 200, s.walking[1] - 100)
    for k in ("pelvis_tilt_deg", "pelvis_obliquity_deg", "pelvis_rotation_deg", "thigh_angle_deg"):
        rms = np.sqrt(np.mean((a[k][w] - b[k][w]) ** 2))
        assert rms < 0.5, (k, rms)
    # and the angles are the motion's, not zero: the thigh really swung
    assert np.ptp(a["thigh_angle_deg"][w]) > 30


def test_angles_match_truth_with_true_orientation_and_bend():
    mounts = {p: random_mounting(np.random.default_rng(41)) for p in ("sacrum", "thigh_left",
                                                                       "thigh_right")}
    # calibrate on a straight walk, then analyse a walk around a bend with the same mounting
    straight = walking_session(np.random.default_rng(40), mountings=mounts)
    cals = _calibrate(straight, {p: straight.sensors[p].q_sensor_to_earth for p in mounts})
    s = walking_session(np.random.default_rng(42), mountings=mounts, bend_radps=0.3)
    q = {p: s.sensors[p].q_sensor_to_earth for p in ("sacrum", "thigh_left")}
    a = _angles(q, cals)
    w = slice(s.walking[0] + 200, s.walking[1] - 100)
    for k in ("pelvis_tilt_deg", "pelvis_obliquity_deg", "pelvis_rotation_deg"):
        assert np.sqrt(np.mean((a[k][w] - s.truth[k][w]) ** 2)) < 0.5, k
    err = a["thigh_angle_deg"][w] - s.truth["thigh_angle_left_deg"][w]
    assert np.sqrt(np.mean(err**2)) < 1.0
    # without heading removal the bend shows up as a growing "rotation"
    cal = _seg("sacrum", s.sensors["sacrum"].q_sensor_to_segment)
    raw = pelvis_angles(q["sacrum"], cal, sampling_rate_hz=FS, heading_reference="none")
    assert np.max(np.abs(raw["pelvis_rotation_deg"].to_numpy()[w])) > 30


def test_invalid_orientation_gives_warning_and_nan():
    q = np.tile(IDENTITY, (5, 1))
    q[2] = np.nan
    with pytest.warns(RuntimeWarning, match="missing or invalid"):
        a = pelvis_angles(q, _seg("sacrum"), sampling_rate_hz=FS, heading_window_s=0.03)
    assert np.isnan(a["pelvis_tilt_deg"][2])
    assert np.isfinite(a["pelvis_tilt_deg"].drop(index=2)).all()
    with pytest.raises(ValueError, match="heading_reference"):
        pelvis_angles(np.tile(IDENTITY, (3, 1)), _seg("sacrum"), sampling_rate_hz=FS,
                      heading_reference="gps")


def test_angles_vs_simulator_truth_on_demo_session():
    from calibration.alignment import auto_calibrate
    from calibration.bias import find_still_periods
    from stridecue.simulator import demo_plan, simulate

    sim = simulate(demo_plan(), seed=5)
    fs = sim.sensors["sacrum"].sampling_rate_hz
    cal = auto_calibrate({p: (d.acc_mps2, d.gyr_radps) for p, d in sim.sensors.items()},
                         sampling_rate_hz=fs)
    d = sim.sensors["sacrum"]
    q = estimate_orientation(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs)
    s0, s1 = find_still_periods(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs,
                                min_duration_s=5.0)[0]
    seg = with_neutral_from_orientation(cal["sacrum"], q[s0 + 100 : s1 - 100])
    a = pelvis_angles(q, seg, sampling_rate_hz=fs)
    truth = sim.truth.angles
    run = sim.truth.strides.query("activity == 'running'")
    m = (d.true_time_s > run["start_s"].min()) & (d.true_time_s < run["end_s"].max())
    for k, limit in (("pelvis_tilt_deg", 1.0), ("pelvis_rotation_deg", 0.6)):
        err = a[k].to_numpy()[m] - np.interp(d.true_time_s[m], truth["time_s"], truth[k])
        assert np.sqrt(np.mean(err**2)) < limit, k
    th = sim.sensors["thigh_left"]
    qt = estimate_orientation(th.acc_mps2, th.gyr_radps, sampling_rate_hz=fs)
    thigh = thigh_angles(qt, cal["thigh_left"])["thigh_angle_deg"].to_numpy()
    left = run.query("side == 'left'")
    err_ic = np.interp(left["start_s"], th.true_time_s, thigh) - left["thigh_angle_ic_deg"]
    assert abs(np.mean(err_ic)) < 2.0
    assert np.std(err_ic) < 1.0
