"""Tests of the running simulator: physics consistency, truth consistency, clocks, mountings."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from stridecue.constants import GRAVITY_MPS2, SACRUM, THIGH_LEFT, THIGH_RIGHT
from stridecue.errors import StridecueError
from stridecue.simulator import (
    Phase,
    SensorSpec,
    SessionPlan,
    SimulationPlanError,
    demo_plan,
    simulate,
)
from stridecue.simulator.kinematics import quat_to_matrix
from stridecue.simulator.track import TRACK_BEND_RADIUS_M, TRACK_STRAIGHT_M

G = np.array([0.0, 0.0, GRAVITY_MPS2])


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def _short_plan(**kw) -> SessionPlan:
    """Still, walk, then a run that reaches the first bend of the track."""
    sensors = kw.pop(
        "sensors",
        [
            SensorSpec(SACRUM, clock_drift_ppm=80.0, mounting="random", magnetometer=True),
            SensorSpec(THIGH_LEFT, clock_drift_ppm=-30.0, start_offset_s=0.01, mounting="random"),
            SensorSpec(THIGH_RIGHT, sampling_rate_hz=100.0),
        ],
    )
    return SessionPlan(
        phases=[
            Phase(kind="still", duration_s=3.0),
            Phase(kind="walk", duration_s=6.0),
            Phase(kind="run", duration_s=22.0, speed_mps=5.0, cadence_spm=172.0, ramp_s=2.0),
        ],
        path="track",
        sensors=sensors,
        **kw,
    )


@pytest.fixture(scope="module")
def sim():
    return simulate(_short_plan(), seed=3)


@pytest.mark.parametrize("placement", [SACRUM, THIGH_LEFT, THIGH_RIGHT])
def test_accelerometer_is_second_derivative_of_position_plus_gravity(sim, placement):
    sd = sim.sensors[placement]
    # running, partly on the bend (the bend starts at 84.4 m)
    m = (sd.true_time_s > 24.0) & (sd.true_time_s < 27.0)
    t = sd.true_time_s[m]
    h = 2.5e-4
    kin = sim.kinematics
    p_minus = kin.sensor_truth(placement, t - h)["position_m"]
    p_mid = kin.sensor_truth(placement, t)["position_m"]
    p_plus = kin.sensor_truth(placement, t + h)["position_m"]
    a_num = (p_plus - 2 * p_mid + p_minus) / h**2
    r = quat_to_matrix(sd.q_sensor_to_earth[m])
    a_from_acc = np.einsum("nij,nj->ni", r, sd.acc_clean_mps2[m]) - G
    err = a_from_acc - a_num
    assert np.sqrt(np.mean(err**2)) < 0.02
    # The lateral acceleration jumps by v^2/R where a straight meets a bend (no transition
    # curve): a second difference straddling that instant is not a second derivative, so the
    # samples within 2 ms of a straight/bend join are left out of the maximum.
    grid_s = kin.time(np.arange(kin.n))
    s_m = np.interp(t, grid_s, kin.s) - kin.lap_origin_m
    v_mps = np.interp(t, grid_s, kin.v_fwd)
    joins_m = np.array([0.0, TRACK_STRAIGHT_M, TRACK_STRAIGHT_M + np.pi * TRACK_BEND_RADIUS_M,
                        2 * TRACK_STRAIGHT_M + np.pi * TRACK_BEND_RADIUS_M, 400.0])  # fmt: skip
    near_join = np.abs(np.mod(s_m, 400.0)[:, None] - joins_m).min(axis=1) < 2e-3 * v_mps
    assert near_join.sum() <= 2
    assert np.abs(err[~near_join]).max() < 0.2
    # the signal is not trivially small: running accelerations reach several g
    assert np.abs(a_num).max() > 12.0
    # the position truth stored with the samples is the one differentiated here
    np.testing.assert_allclose(sd.position_m[m], p_mid, atol=1e-6)


@pytest.mark.parametrize("placement", [SACRUM, THIGH_LEFT])
def test_integrated_gyroscope_matches_orientation_truth(sim, placement):
    sd = sim.sensors[placement]
    q_mount = sd.q_sensor_to_segment
    kin = sim.kinematics
    t0, t1 = 20.0, 23.0
    dt = 5e-4
    tk = np.arange(t0, t1 + dt / 2, dt)
    q = kin.sensor_truth(placement, np.array([t0, t0 + 0.01]), q_mount)["q_sensor_to_earth"][0]
    omega = kin.sensor_truth(placement, tk[:-1] + dt / 2, q_mount)["gyr_radps"]
    for w in omega:  # midpoint rule with the exact exponential of each step
        angle = np.linalg.norm(w) * dt
        axis = w / np.linalg.norm(w) if angle > 0 else np.zeros(3)
        q = _qmul(q, np.r_[np.cos(angle / 2), np.sin(angle / 2) * axis])
    q_true = kin.sensor_truth(placement, np.array([t1 - 0.01, t1]), q_mount)["q_sensor_to_earth"]
    err_deg = np.rad2deg(2 * np.arccos(min(abs(float(q @ q_true[-1])), 1.0)))
    assert err_deg < 0.05
    # the segments really rotate (the thigh swings at several rad/s), so the check has teeth
    assert np.linalg.norm(omega, axis=1).max() > (4.0 if placement == THIGH_LEFT else 0.5)
    # the stored 200 Hz gyroscope equals the truth evaluated at the sample instants
    m = (sd.true_time_s > t0) & (sd.true_time_s < t1)
    direct = kin.sensor_truth(placement, sd.true_time_s[m], q_mount)["gyr_radps"]
    np.testing.assert_allclose(sd.gyr_clean_radps[m], direct, atol=1e-6)


def test_flight_is_ballistic_and_contact_pushes(sim):
    kin = sim.kinematics
    idx = kin.index_range(20.0, 24.0)
    st = kin.state(idx)
    z = st["pos_pelvis"][:, 2]
    az = np.diff(z, 2) / kin.dt**2
    t = st["time_s"][1:-1]
    ev = sim.truth.events
    ics = ev.loc[ev["event"] == "initial_contact", "time_s"].to_numpy()
    tos = ev.loc[ev["event"] == "toe_off", "time_s"].to_numpy()
    in_flight = np.zeros_like(t, dtype=bool)
    for to in tos[(tos > 20.0) & (tos < 23.5)]:
        nxt = ics[ics > to][0]
        in_flight |= (t > to + 0.01) & (t < nxt - 0.01)
    assert in_flight.sum() > 100
    np.testing.assert_allclose(az[in_flight], -GRAVITY_MPS2, atol=0.2)
    assert az[~in_flight].max() > GRAVITY_MPS2  # spring-mass peak force above 2 g in contact


def test_still_phase_is_the_calibration_pose(sim):
    ang = sim.truth.angles
    still = ang[ang["time_s"] < 2.5].drop(columns="time_s")
    assert np.abs(still.to_numpy()).max() < 1e-9
    sd = sim.sensors[SACRUM]
    m = sd.true_time_s < 2.5
    np.testing.assert_allclose(sd.gyr_clean_radps[m], 0.0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(sd.acc_clean_mps2[m], axis=1), GRAVITY_MPS2,
                               atol=1e-6)
    # the noisy gyro is not zero: bias plus noise
    assert np.abs(sd.gyr_radps[m].mean(axis=0)).max() > 1e-4


def test_truth_tables_are_consistent(sim):
    s = sim.truth.strides
    assert {"left", "right"} == set(s["side"])
    np.testing.assert_allclose(s["speed_mps"], s["stride_length_m"] / s["stride_time_s"])
    np.testing.assert_allclose(s["cadence_spm"], 120.0 / s["stride_time_s"])
    np.testing.assert_allclose(s["stride_time_s"], s["end_s"] - s["start_s"])
    run = s[(s["activity"] == "running") & (s["start_s"] > 13.0)]
    assert len(run) > 20
    np.testing.assert_allclose(run["speed_mps"], 5.0, rtol=0.01)
    np.testing.assert_allclose(run["cadence_spm"], 172.0, rtol=0.005)
    np.testing.assert_allclose(run["stride_length_m"], 5.0 * 120 / 172, rtol=0.01)
    np.testing.assert_allclose(run["thigh_angle_ic_deg"], 24.0, atol=0.1)  # run default
    np.testing.assert_allclose(run["duty_factor"], 0.31, atol=0.005)
    np.testing.assert_allclose(run["flight_time_s"], run["step_time_s"] - run["contact_time_s"])
    assert (run["flight_time_s"] > 0.05).all()
    assert 0.05 < run["vertical_oscillation_m"].median() < 0.12
    walk = s[(s["activity"] == "walking") & (s["end_s"] < 9.0)]  # before the ramp to running
    assert len(walk) > 3
    assert (walk["duty_factor"] > 0.5).all()
    # events alternate IC/TO per side and ICs alternate sides
    ev = sim.truth.events
    ic = ev[ev["event"] == "initial_contact"]
    assert (ic["side"].to_numpy()[1:] != ic["side"].to_numpy()[:-1]).all()


def test_sign_conventions(sim):
    ang = sim.truth.angles.set_index("time_s")
    ev = sim.truth.events
    ic_r = ev[(ev["event"] == "initial_contact") & (ev["side"] == "right") & (ev["time_s"] > 14)]
    at = ang.reindex(ang.index.union(ic_r["time_s"])).interpolate("index").loc[ic_r["time_s"]]
    assert (at["pelvis_rotation_deg"] > 2.0).all()  # right side forward at right IC
    # right stance: the left (swing) side drops => obliquity negative at mid-stance
    mid = ic_r["time_s"].to_numpy() + 0.05
    obl = np.interp(mid, ang.index, ang["pelvis_obliquity_deg"])
    assert (obl < 0).all()
    # thighs: + flexion ahead at IC, extension behind at toe-off
    assert (at["thigh_angle_right_deg"] > 15).all()
    # the pelvis yaws left on the (counter-clockwise) bend: mean yaw rate v / R about up
    kin = sim.kinematics
    ics = ic_r["time_s"].to_numpy()

    def yaw_rate(t_from: float, t_to: float) -> np.ndarray:  # over whole strides
        a, b = ics[ics > t_from][0], ics[ics < t_to][-1]
        return kin.sensor_truth(SACRUM, np.arange(a, b, 0.002))["gyr_radps"][:, 2]

    bend, straight = yaw_rate(26.5, 30.5), yaw_rate(15.0, 20.0)
    assert bend.mean() == pytest.approx(5.0 / 36.8, rel=0.1)
    assert abs(straight.mean()) < 0.01


def test_laps_on_a_long_run_cover_400_m():
    plan = SessionPlan(
        phases=[
            Phase(kind="still", duration_s=2.0),
            Phase(kind="run", distance_m=800.0, speed_mps=5.0, lap_start=True, ramp_s=1.0),
            Phase(kind="walk", duration_s=3.0),
        ],
        sensors=[SensorSpec(SACRUM, sampling_rate_hz=50.0)],
        lap_marks="double_tap",
    )
    sim = simulate(plan, seed=0, with_angles=False)
    laps = sim.truth.laps
    assert list(laps["lap"]) == [1, 2]
    kin = sim.kinematics
    t = kin.time(np.arange(kin.n))
    for _, lap in laps.iterrows():
        d = np.interp(lap["end_s"], t, kin.s) - np.interp(lap["start_s"], t, kin.s)
        assert d == pytest.approx(400.0, abs=0.01)
    assert laps["duration_s"].iloc[1] == pytest.approx(80.0, rel=0.01)
    # the runner is back where the lap started after each lap
    ends = sim.kinematics.sensor_truth(SACRUM, laps[["start_s", "end_s"]].to_numpy().ravel())
    xy = ends["position_m"][:, :2]
    assert np.linalg.norm(xy[1] - xy[0]) < 1.0
    assert np.linalg.norm(xy[3] - xy[2]) < 1.0
    # lap marks: a double tap at every boundary, visible as spikes on the sacrum accelerometer
    marks = sim.truth.lap_marks
    assert len(marks) == 3
    sd = sim.sensors[SACRUM]
    spikes = np.linalg.norm(sd.acc_mps2 - sd.acc_clean_mps2, axis=1) > 10.0
    for t_mark in marks["time_s"]:
        for tap in (t_mark, t_mark + 0.25):
            near = np.abs(sd.true_time_s - tap) < 0.03
            assert spikes[near].any()
    assert spikes.sum() <= 2 * 3 * 4  # a tap spans at most 4 samples
    # strides carry lap numbers 1, 2, then 3 after the last mark (none before the origin)
    assert set(sim.truth.strides["lap"]) == {1, 2, 3}


def test_deterministic_for_a_seed():
    plan = _short_plan()
    a = simulate(plan, seed=7, with_angles=False)
    b = simulate(plan, seed=7, with_angles=False)
    c = simulate(plan, seed=8, with_angles=False)
    for p in a.sensors:
        np.testing.assert_array_equal(a.sensors[p].acc_mps2, b.sensors[p].acc_mps2)
        np.testing.assert_array_equal(a.sensors[p].gyr_radps, b.sensors[p].gyr_radps)
        assert not np.array_equal(a.sensors[p].acc_mps2, c.sensors[p].acc_mps2)
    pd.testing.assert_frame_equal(a.truth.strides, b.truth.strides)
    assert not a.truth.strides["pelvis_rotation_range_deg"].equals(
        c.truth.strides["pelvis_rotation_range_deg"]
    )


def test_clock_drift_and_offsets(sim):
    for placement, ppm, offset in ((SACRUM, 80.0, 0.0), (THIGH_LEFT, -30.0, 0.01)):
        sd = sim.sensors[placement]
        slope, _ = np.polyfit(sd.true_time_s, sd.sensor_time_s, 1)
        assert (slope - 1.0) * 1e6 == pytest.approx(ppm, abs=0.01)
        assert sd.true_time_s[0] == pytest.approx(offset)
        np.testing.assert_allclose(np.diff(sd.sensor_time_s), 1 / 200.0, rtol=1e-9)
    # a fast clock yields more samples in the same true time
    assert len(sim.sensors[SACRUM].true_time_s) > len(sim.sensors[THIGH_LEFT].true_time_s)
    assert sim.sensors[THIGH_RIGHT].sampling_rate_hz == 100.0


def test_mounting_changes_only_the_sensor_frame():
    rng = np.random.default_rng(11)
    qa, qb = rng.standard_normal(4), rng.standard_normal(4)
    qa, qb = qa / np.linalg.norm(qa), qb / np.linalg.norm(qb)
    runs = []
    for q in (qa, qb):
        plan = _short_plan(sensors=[SensorSpec(THIGH_LEFT, mounting=q, noise=False)])
        runs.append(simulate(plan, seed=5, with_angles=False))
    a, b = (r.sensors[THIGH_LEFT] for r in runs)
    pd.testing.assert_frame_equal(runs[0].truth.strides, runs[1].truth.strides)
    rel = quat_to_matrix(qb).T @ quat_to_matrix(qa)  # sensor a -> sensor b
    np.testing.assert_allclose(b.acc_clean_mps2, a.acc_clean_mps2 @ rel.T, atol=1e-9)
    np.testing.assert_allclose(b.gyr_radps, a.gyr_radps @ rel.T, atol=1e-9)
    np.testing.assert_allclose(b.position_m, a.position_m)
    assert np.abs(a.acc_clean_mps2 - b.acc_clean_mps2).max() > 1.0


def test_magnetometer_sees_the_earth_field(sim):
    sd = sim.sensors[SACRUM]
    assert sim.sensors[THIGH_LEFT].mag_ut is None
    r = quat_to_matrix(sd.q_sensor_to_earth)
    b_earth = np.einsum("nij,nj->ni", r, sd.mag_ut)
    np.testing.assert_allclose(np.linalg.norm(sd.mag_ut, axis=1), 50.0, atol=2.0)
    dip = np.rad2deg(np.arctan2(-b_earth[:, 2], np.linalg.norm(b_earth[:, :2], axis=1)))
    assert np.median(dip) == pytest.approx(65.0, abs=0.5)


def test_noise_level_matches_the_density(sim):
    sd = sim.sensors[SACRUM]
    spec = sim.plan.sensors[0]
    noise = sd.acc_mps2 - sd.acc_clean_mps2
    noise = noise[np.linalg.norm(noise, axis=1) < 1.0]  # drop tap spikes if any
    expected = spec.acc_noise_density_mps2_rthz * np.sqrt(spec.sampling_rate_hz / 2)
    assert noise.std() == pytest.approx(expected, rel=0.05)


def test_demo_plan_is_fast_and_shows_the_overstride_correction(tmp_path):
    t = time.perf_counter()
    sim = simulate(demo_plan(), seed=1)
    elapsed = time.perf_counter() - t
    assert elapsed < 5.0
    assert 180.0 < sim.duration_s < 260.0
    assert set(sim.sensors) == {SACRUM, THIGH_LEFT}
    s = sim.truth.strides
    lap1 = s[(s["lap"] == 1) & (s["start_s"] > sim.truth.laps["start_s"][0] + 3)]
    lap2 = s[(s["lap"] == 2) & (s["start_s"] > sim.truth.laps["start_s"][1] + 3)]
    assert 29.0 < lap1["thigh_angle_ic_deg"].mean() < 33.0
    assert 19.0 < lap2["thigh_angle_ic_deg"].mean() < 23.0
    assert lap1["cadence_spm"].mean() == pytest.approx(160.0, abs=1.0)
    assert lap2["cadence_spm"].mean() == pytest.approx(172.0, abs=1.0)
    assert lap1["stride_length_m"].mean() > lap2["stride_length_m"].mean()
    assert lap1["pelvis_tilt_mean_deg"].mean() > lap2["pelvis_tilt_mean_deg"].mean() + 2
    assert lap1["foot_contact_distance_m"].mean() > lap2["foot_contact_distance_m"].mean() + 0.1
    # hip-extension deficit on the right
    r, left = lap1[lap1["side"] == "right"], lap1[lap1["side"] == "left"]
    assert r["hip_extension_peak_deg"].mean() < left["hip_extension_peak_deg"].mean() - 2
    files = sim.write_truth(tmp_path)
    assert {f.name for f in files} >= {"truth_strides.csv", "truth_laps.csv", "truth_events.csv"}
    back = pd.read_csv(tmp_path / "truth_strides.csv")
    assert len(back) == len(s)
    assert list(sim.sensors[SACRUM].to_frame().columns)[:2] == ["time_s", "sensor_time_s"]


@pytest.mark.parametrize(
    "plan",
    [
        SessionPlan(phases=[]),
        SessionPlan(phases=[Phase(kind="sprint", duration_s=3.0)]),  # type: ignore[arg-type]
        SessionPlan(phases=[Phase(kind="run")]),
        SessionPlan(phases=[Phase(kind="run", duration_s=5.0, contact_time_s=0.5)]),
        SessionPlan(phases=[Phase(kind="walk", duration_s=5)], sensors=[SensorSpec("wrist")]),
        SessionPlan(phases=[Phase(kind="walk", duration_s=5)], path="oval"),  # type: ignore[arg-type]
        SessionPlan(
            phases=[Phase(kind="walk", duration_s=5)],
            sensors=[SensorSpec(SACRUM, mounting="sideways")],
        ),
    ],
)
def test_bad_plans_raise_a_user_error(plan):
    with pytest.raises(SimulationPlanError) as info:
        simulate(plan, seed=0)
    assert isinstance(info.value, StridecueError)
    assert "\n" not in str(info.value)


def test_phase_parameters_ramp_smoothly():
    plan = replace(_short_plan(), sensors=[SensorSpec(SACRUM, noise=False)])
    sim = simulate(plan, seed=0)
    tilt = sim.truth.angles["pelvis_tilt_deg"].to_numpy()
    # 100 Hz truth: no jumps between samples larger than the motion allows
    assert np.abs(np.diff(tilt)).max() < 1.0
    acc = sim.sensors[SACRUM].acc_clean_mps2
    assert np.isfinite(acc).all()
