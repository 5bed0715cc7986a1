"""Turn compensation: centripetal acceleration from speed x turn rate, and obliquity on a bend."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.alignment import auto_calibrate
from calibration.model import SegmentCalibration
from gait.angles import pelvis_angles
from gait.grid import Ring
from gait.orientation import estimate_orientation
from gait.pipeline import feed_tables
from gait.stream import DERIVED, PipelineSettings, StreamAnalyser
from gait.turning import (
    causal_centripetal_acceleration_mps2,
    centripetal_acceleration_mps2,
    estimate_orientation_turn_compensated,
    remove_centripetal_acceleration,
    speed_from_strides,
)
from stridecue.simulator import Phase, SensorSpec, SessionPlan, simulate
from tests.test_calibration import random_mounting

FS = 100.0


def test_speed_from_strides_averages_overlaps_and_leaves_gaps_unknown():
    t = np.arange(0.0, 4.0, 0.01)
    # two overlapping strides (left, right) and one of unknown length
    speed = speed_from_strides(t, np.array([0.0, 0.5, 2.5]), np.array([1.0, 1.5, 3.5]),
                               np.array([3.0, 4.0, np.nan]))
    np.testing.assert_allclose(speed[t < 0.5], 3.0)
    np.testing.assert_allclose(speed[(t >= 0.5) & (t < 1.0)], 3.5)
    np.testing.assert_allclose(speed[(t >= 1.0) & (t < 1.5)], 4.0)
    assert np.isnan(speed[t >= 1.5]).all()


@pytest.mark.parametrize("turn", [+1.0, -1.0])
def test_centripetal_acceleration_of_a_steady_turn(turn):
    mount = random_mounting(np.random.default_rng(3))
    cal = SegmentCalibration("sacrum", mount, np.zeros(3))
    t = np.arange(0.0, 10.0, 1.0 / FS)
    omega = turn * 0.12  # rad/s, a track bend at 4.4 m/s
    heading = 0.3 + omega * t
    r_seg = Rotation.from_euler("z", heading[:, None])
    q = (r_seg * Rotation.from_quat(mount, scalar_first=True)).as_quat(scalar_first=True)
    a = centripetal_acceleration_mps2(q, cal, 4.4, sampling_rate_hz=FS)
    mid = slice(200, -200)
    np.testing.assert_allclose(np.linalg.norm(a[mid], axis=1), 4.4 * 0.12, rtol=1e-6)
    # towards the centre: to the left of travel for a left turn, to the right for a right turn
    left = np.column_stack([-np.sin(heading), np.cos(heading)])
    np.testing.assert_allclose(np.sum(a[mid, :2] * left[mid], axis=1), turn * 4.4 * 0.12,
                               rtol=1e-6)
    assert np.all(a[:, 2] == 0)
    # the causal form (turn rate from the past 0.7 s) is the same on a steady turn, after its window
    w = 70
    a_causal = causal_centripetal_acceleration_mps2(q, mount, np.full(len(t), 4.4),
                                                    sampling_rate_hz=FS, window_samples=w)
    assert np.all(a_causal[:w] == 0)
    np.testing.assert_allclose(np.linalg.norm(a_causal[mid], axis=1), 4.4 * 0.12, rtol=1e-9)
    np.testing.assert_allclose(a_causal[mid], a[mid], atol=1e-3)  # half a sample of heading
    # removing it from a sensor that measures gravity + a_c leaves gravity only
    acc = (r_seg * Rotation.from_quat(mount, scalar_first=True)).inv().apply(a + [0, 0, 9.81])
    fixed = remove_centripetal_acceleration(acc, q, a)
    np.testing.assert_allclose(Rotation.from_quat(q, scalar_first=True).apply(fixed),
                               np.tile([0, 0, 9.81], (len(t), 1)), atol=1e-9)


def test_no_speed_gives_the_first_pass_unchanged():
    rng = np.random.default_rng(0)
    acc = np.array([0.0, 0.0, 9.81]) + 0.3 * rng.standard_normal((500, 3))
    gyr = 0.2 * rng.standard_normal((500, 3))
    q1 = estimate_orientation(acc, gyr, sampling_rate_hz=FS)
    cal = SegmentCalibration("sacrum", [1.0, 0.0, 0.0, 0.0], np.zeros(3))
    for speed in (np.nan, 0.0):
        q2 = estimate_orientation_turn_compensated(acc, gyr, sampling_rate_hz=FS, calibration=cal,
                                                   speed_mps=speed, q_first_pass=q1)
        np.testing.assert_array_equal(q1, q2)


@pytest.fixture(scope="module")
def bend_run():
    """A run into the first track bend (random mounting, noise, bias)."""
    plan = SessionPlan(
        phases=[Phase(kind="still", duration_s=8), Phase(kind="walk", duration_s=8),
                Phase(kind="run", duration_s=45, speed_mps=4.4)],
        path="track",
        sensors=[SensorSpec(placement="sacrum", mounting="random")],
    )
    return simulate(plan, seed=11)


def _bend(sim, t: np.ndarray) -> np.ndarray:
    run_start = float(sim.truth.phases["start_s"].iloc[2])
    return (t > run_start + 84.39 / 4.4 + 8.0) & (t < t[-1] - 1.0)  # past the first straight


def test_bend_obliquity_within_target_only_with_compensation(bend_run):
    """Obliquity error on the bend is about 3 deg of lean without compensation and well under
    1 deg with it."""
    sim = bend_run
    d = sim.sensors["sacrum"]
    fs = d.sampling_rate_hz
    cal = auto_calibrate({"sacrum": (d.acc_mps2, d.gyr_radps)}, sampling_rate_hz=fs)["sacrum"]
    st = sim.truth.strides
    # the speed as the pipeline measures it is within a few % of this; the truth keeps the
    # test about the compensation alone
    speed = speed_from_strides(d.true_time_s, st["start_s"].to_numpy(), st["end_s"].to_numpy(),
                               st["stride_length_m"].to_numpy())
    q1 = estimate_orientation(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs)
    q2 = estimate_orientation_turn_compensated(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs,
                                               calibration=cal, speed_mps=speed, q_first_pass=q1)
    truth = sim.truth.angles
    t = d.true_time_s
    bend = _bend(sim, t)
    assert bend.sum() > 10 * fs
    errors = []
    for q in (q1, q2):
        obl = pelvis_angles(q, cal, sampling_rate_hz=fs)["pelvis_obliquity_deg"].to_numpy()
        e = obl - np.interp(t, truth["time_s"], truth["pelvis_obliquity_deg"])
        errors.append(float(np.sqrt(np.nanmean(e[bend] ** 2))))
    assert errors[0] > 1.5, errors
    assert errors[1] < 0.6, errors


class _KeptRing(Ring):
    def __init__(self, width: int) -> None:
        super().__init__(width)
        self.kept: list[np.ndarray] = []

    def append(self, rows: np.ndarray) -> None:
        self.kept.append(np.array(rows))
        super().append(rows)


@pytest.mark.parametrize("turn_compensation", [False, True])
def test_the_stream_compensates_the_bend_from_its_own_strides(bend_run, turn_compensation):
    """The analysis itself (own calibration, contact-model speed, causal turn rate): obliquity on
    the bend within the 1 deg target only with its turn compensation."""
    sim = bend_run
    tables = {p: d.to_frame() for p, d in sim.sensors.items()}
    analyser = StreamAnalyser(
        sampling_rate_hz=sim.sensors["sacrum"].sampling_rate_hz, placements=list(tables),
        settings=PipelineSettings(turn_compensation=turn_compensation),
    )
    analyser._derived = _KeptRing(len(DERIVED))  # every per-sample output of the blocks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed_tables(analyser, tables, block_s=0.37)
        analyser.finish()
    out = np.vstack(analyser._derived.kept)
    t = analyser.origin_s + np.arange(len(out)) / analyser.fs
    obl = out[:, DERIVED.index("pelvis_obliquity_deg")]
    e = obl - np.interp(t, sim.truth.angles["time_s"], sim.truth.angles["pelvis_obliquity_deg"])
    bend = _bend(sim, t)
    rms = float(np.sqrt(np.mean(e[bend] ** 2)))
    if turn_compensation:
        assert rms < 1.0, rms
    else:
        assert rms > 1.5, rms
