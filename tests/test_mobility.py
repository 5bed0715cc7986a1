"""Mobility checks on synthetic orientation sequences with random sensor mountings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.mobility import (
    MOBILITY_PROMPTS,
    kneeling_hip_flexor,
    standing_posture,
    straight_leg_raise,
)
from calibration.model import SegmentCalibration
from tests.test_calibration import random_mounting

FS = 50.0


def _sensor_q(r_seg: Rotation, mount: np.ndarray) -> np.ndarray:
    return (r_seg * Rotation.from_quat(mount, scalar_first=True)).as_quat(scalar_first=True)


def _profile(rng: np.random.Generator, peak: float, *, hold_s: float = 2.0) -> np.ndarray:
    """Rest 3 s, rise over 2 s, hold, return over 2 s, rest 2 s (degrees) with tremor."""
    n_rest, n_move, n_hold = int(3 * FS), int(2 * FS), int(hold_s * FS)
    rise = peak * (1 - np.cos(np.linspace(0, np.pi, n_move))) / 2
    prof = np.concatenate([np.zeros(n_rest), rise, np.full(n_hold, peak), rise[::-1],
                           np.zeros(int(2 * FS))])
    return prof + rng.normal(0, 0.2, prof.shape)


@pytest.mark.parametrize(("peak", "passed"), [(70.0, True), (52.0, False)])
def test_straight_leg_raise_measures_peak_from_lying(peak, passed):
    rng = np.random.default_rng(int(peak))
    mount = random_mounting(rng)
    cal = SegmentCalibration("thigh_right", mount, np.zeros(3))
    theta = _profile(rng, peak)
    lying = Rotation.from_euler("z", 25, degrees=True) * Rotation.from_rotvec([0, -np.pi / 2, 0])
    # hip flexion of the thigh = rotation about its -y axis; lying base tilted 3 deg (pillow)
    r = lying * Rotation.from_rotvec(np.column_stack(
        [np.zeros_like(theta), -np.radians(theta + 3.0), np.zeros_like(theta)]))
    res = straight_leg_raise(_sensor_q(r, mount), cal, sampling_rate_hz=FS)
    assert res.peak_elevation_deg == pytest.approx(peak, abs=1.0)
    assert res.baseline_elevation_deg == pytest.approx(3.0, abs=0.5)
    assert res.passed is passed
    assert res.flags == ()


def test_straight_leg_raise_flags_leg_not_lying_and_sideways():
    rng = np.random.default_rng(3)
    mount = random_mounting(rng)
    cal = SegmentCalibration("thigh_left", mount, np.zeros(3))
    theta = _profile(rng, 40.0)
    # sitting (thigh 35 deg up at rest) and swinging the leg out sideways instead of up
    base = Rotation.from_rotvec([0, -np.radians(90 - 35), 0])
    r = Rotation.from_rotvec(np.column_stack(
        [np.zeros_like(theta), np.zeros_like(theta), np.radians(theta)])) * base
    res = straight_leg_raise(_sensor_q(r, mount), cal, sampling_rate_hz=FS)
    assert "not_lying_flat" in res.flags
    assert "leg_moved_sideways" in res.flags


@pytest.mark.parametrize(("posterior", "passed"), [(14.0, True), (5.0, False)])
def test_kneeling_hip_flexor_posterior_tilt(posterior, passed):
    rng = np.random.default_rng(int(posterior))
    mount = random_mounting(rng)
    cal = SegmentCalibration("sacrum", mount, np.zeros(3))
    theta = _profile(rng, posterior)
    # neutral kneeling 4 deg anterior of standing; tucking under = posterior tilt (about -y)
    r = Rotation.from_euler("z", -60, degrees=True) * Rotation.from_rotvec(np.column_stack(
        [np.zeros_like(theta), np.radians(4.0 - theta), np.zeros_like(theta)]))
    res = kneeling_hip_flexor(_sensor_q(r, mount), cal, sampling_rate_hz=FS)
    assert res.posterior_tilt_deg == pytest.approx(posterior, abs=1.0)
    assert res.neutral_tilt_deg == pytest.approx(4.0, abs=0.3)
    assert res.passed is passed
    assert "pelvis_tilted_anteriorly" not in res.flags


def test_kneeling_flags_wrong_direction():
    rng = np.random.default_rng(9)
    cal = SegmentCalibration("sacrum", random_mounting(rng), np.zeros(3))
    theta = _profile(rng, 12.0)
    r = Rotation.from_rotvec(np.column_stack(
        [np.zeros_like(theta), np.radians(theta), np.zeros_like(theta)]))
    res = kneeling_hip_flexor(_sensor_q(r, cal.q_sensor_to_segment), cal, sampling_rate_hz=FS)
    assert "pelvis_tilted_anteriorly" in res.flags
    assert res.passed is False


def test_standing_posture_tilt_and_sway():
    rng = np.random.default_rng(11)
    mount = random_mounting(rng)
    cal = SegmentCalibration("sacrum", mount, np.zeros(3))
    n = int(10 * FS)
    t = np.arange(n) / FS
    tilt = 7.0 + 1.0 * np.sin(2 * np.pi * 0.3 * t)  # 7 deg more anterior than calibrated
    obl = -1.0 + 0.5 * np.sin(2 * np.pi * 0.2 * t)
    r = Rotation.from_euler("ZXY", np.column_stack([np.full(n, 1.0), np.radians(obl),
                                                   np.radians(tilt)]))
    q = _sensor_q(r, mount)
    acc_e = np.column_stack([0.1 * np.sin(2 * np.pi * 0.5 * t), np.zeros(n), np.full(n, 9.81)])
    acc_s = Rotation.from_quat(q, scalar_first=True).inv().apply(acc_e)
    res = standing_posture(q, cal, sampling_rate_hz=FS, acc_mps2=acc_s)
    assert res.pelvis_tilt_deg == pytest.approx(7.0, abs=0.1)
    assert res.pelvis_obliquity_deg == pytest.approx(-1.0, abs=0.1)
    assert res.tilt_sway_rms_deg == pytest.approx(1 / np.sqrt(2), abs=0.05)
    assert res.obliquity_sway_rms_deg == pytest.approx(0.5 / np.sqrt(2), abs=0.05)
    assert res.acc_sway_rms_mps2 == pytest.approx(0.1 / np.sqrt(2), abs=0.01)
    assert res.passed is False
    assert res.flags == ()


def test_prompts_cover_every_check():
    assert set(MOBILITY_PROMPTS) == {"straight_leg_raise", "kneeling_hip_flexor",
                                     "standing_posture"}
    assert all(len(steps) >= 2 for steps in MOBILITY_PROMPTS.values())
