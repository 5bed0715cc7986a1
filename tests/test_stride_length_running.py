"""Running stride length: constant contact length, track-bend anchoring, lap scale, real data."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from gait.stride_length_running import (
    CONTACT_LENGTH_PER_LEG_LENGTH,
    TRACK_BEND_RADIUS_M,
    bend_speed_mps,
    fit_scale_from_laps,
    leg_length_m,
    running_stride_length_m,
    stride_yaw_rate_radps,
)
from gait.strides import MetricWarning

LC_M = 0.80  # the synthetic runner's contact length


def _strides(speed_mps: np.ndarray, stride_time_s: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Strides in time order (alternating sides, each starting one step after the previous)."""
    rng = np.random.default_rng(seed)
    start = np.concatenate([[0.0], np.cumsum(stride_time_s[:-1] / 2)])
    contact = LC_M / speed_mps * (1 + rng.normal(0, 0.01, speed_mps.size))
    return pd.DataFrame({
        "start_s": start, "end_s": start + stride_time_s, "stride_time_s": stride_time_s,
        "contact_time_s": contact, "stride_length_m": speed_mps * stride_time_s,
    })


def test_leg_length_fallbacks():
    assert leg_length_m({"leg_length_m": 0.9, "height_m": 2.0}) == 0.9
    assert leg_length_m({"height_m": 1.8}) == pytest.approx(0.954)
    assert leg_length_m(None) == pytest.approx(0.53 * 1.75)


def test_contact_model_is_contact_length_times_stride_over_contact_time():
    n = 60
    speed = np.linspace(3.0, 5.0, n)
    s = _strides(speed, np.full(n, 0.7))
    length, model = running_stride_length_m(s, leg_length_m=1.0)
    assert set(model) == {"contact"}
    expected = CONTACT_LENGTH_PER_LEG_LENGTH * s["stride_time_s"] / s["contact_time_s"]
    np.testing.assert_allclose(length, expected)
    # Lc = 0.8 m = 0.8 x leg: uncalibrated it is right within the 1 % contact-time noise.
    np.testing.assert_allclose(length, s["stride_length_m"], rtol=0.04)
    scaled, _ = running_stride_length_m(s, leg_length_m=1.0, scale=1.1)
    np.testing.assert_allclose(scaled, 1.1 * length)


def test_implausible_contact_time_gives_warning_and_nan():
    s = _strides(np.full(30, 4.0), np.full(30, 0.7))
    s.loc[3, "contact_time_s"] = 0.5  # longer than 0.6 x stride time
    s.loc[7, "contact_time_s"] = np.nan
    with pytest.warns(MetricWarning, match="implausible contact time"):
        length, model = running_stride_length_m(s, leg_length_m=1.0)
    assert np.isnan(length[[3, 7]]).all()
    assert model[3] == ""
    assert model[7] == ""
    assert np.isfinite(np.delete(length, [3, 7])).all()


def test_stride_yaw_rate_cancels_pelvic_rotation_and_flags_gaps():
    fs = 200.0
    t = np.arange(0, 20, 1 / fs)
    # 0.12 rad/s of turning plus +-6.5 deg of pelvic rotation at the stride frequency (0.7 s).
    yaw = 0.12 + np.radians(6.5) * 2 * np.pi / 0.7 * np.cos(2 * np.pi * t / 0.7)
    s = _strides(np.full(40, 4.0), np.full(40, 0.7))
    s = s[s["end_s"] < 19].reset_index(drop=True)
    w = stride_yaw_rate_radps(s, t, yaw)
    np.testing.assert_allclose(w, 0.12, atol=0.002)
    yaw[int(5.0 * fs)] = np.nan
    w = stride_yaw_rate_radps(s, t, yaw)
    hit = (s["start_s"] < 5.0) & (s["end_s"] > 5.0)
    assert np.isnan(w[hit]).all()
    assert np.isfinite(w[~hit]).all()


def _track_session(speeds_per_lap: list[float], seed: int = 1):
    """Strides over laps of a 400 m track with per-stride yaw rates (noise, bias, rotation)."""
    rng = np.random.default_rng(seed)
    straight = (400 - 2 * np.pi * TRACK_BEND_RADIUS_M) / 2
    bend = np.pi * TRACK_BEND_RADIUS_M
    speed, yaw, stride_t = [], [], []
    for v in speeds_per_lap:
        T = 120 / (150 + 6 * v)  # stride time, s: cadence rises with speed
        for length_m, rate in ((straight, 0.0), (bend, v / TRACK_BEND_RADIUS_M)) * 2:
            k = int(round(length_m / (v * T / 2)))  # strides start every step
            speed += [v] * k
            yaw += [rate] * k
            stride_t += [T] * k
    speed, stride_t = np.array(speed), np.array(stride_t)
    # Pelvic rotation at each IC varies stride to stride (SD 1 deg): a stride (IC i to IC
    # i + 2) sees the difference of its two ends. Plus a constant gyro bias.
    heading_err = rng.normal(0, np.radians(1.0), speed.size + 2)
    yaw = np.array(yaw) + (heading_err[2:] - heading_err[:-2]) / stride_t + 0.004
    s = _strides(speed, stride_t, seed)
    return s, yaw


def test_bend_speed_recovers_speed_despite_rotation_noise_and_bias():
    s, yaw = _track_session([4.0])
    v = bend_speed_mps(yaw, stride_time_s=s["stride_time_s"].to_numpy())
    on = np.isfinite(v)
    assert on.sum() > 40  # both bends found
    np.testing.assert_allclose(v[on], 4.0, rtol=0.015)
    # Straight strides get no bend speed; a straight-line session gets none at all.
    assert np.isnan(v[: 20]).all()
    assert np.isnan(bend_speed_mps(np.zeros(100), stride_time_s=np.full(100, 0.7))).all()


def test_track_model_follows_pace_and_cadence_changes_after_one_scale():
    s, yaw = _track_session([3.2, 4.5, 5.5, 3.5])
    length, model = running_stride_length_m(s, leg_length_m=1.0, stride_yaw_rate_radps=yaw)
    assert (model == "track").mean() > 0.95
    err = length / s["stride_length_m"] - 1
    ok = np.isfinite(err)
    assert ok.mean() > 0.95
    # Contact length is the same in every lap here, so per stride it is within ~2-3 %.
    assert np.sqrt(np.mean(err[ok] ** 2)) < 0.03
    # The table's order does not matter (e.g. all left strides, then all right ones).
    perm = np.argsort(s["start_s"].to_numpy() + 1e4 * (np.arange(len(s)) % 2), kind="stable")
    shuffled, model2 = running_stride_length_m(
        s.iloc[perm].reset_index(drop=True), leg_length_m=1.0, stride_yaw_rate_radps=yaw[perm]
    )
    np.testing.assert_allclose(shuffled, length[perm])
    assert (model2 == model[perm]).all()


def test_fit_scale_from_laps_recovers_known_scale():
    n = 200
    s = _strides(np.full(n, 4.0), np.full(n, 0.7), seed=3)
    s["raw"] = s["stride_length_m"] / 1.25
    lap_end = float(s["start_s"].iloc[150])
    dist = s["stride_length_m"].iloc[:150].sum() / 2
    laps = pd.DataFrame({"lap": [1], "start_s": [0.0], "end_s": [lap_end], "distance_m": [dist]})
    s.loc[10:14, "raw"] = np.nan  # missing strides are accounted for by the covered time
    scale, lap = fit_scale_from_laps(s, laps, "raw")
    assert lap == 1
    assert scale == pytest.approx(1.25, rel=0.01)
    empty = laps.assign(distance_m=np.nan)
    assert np.isnan(fit_scale_from_laps(s, empty, "raw")[0])


def test_demo_simulation_lap2_within_2_percent_after_lap1_calibration():
    """Whole pipeline on the demo session; sacrum yaw rate -> track model; lap 1 calibrates."""
    from gait.pipeline import analyse_tables
    from gait.signal import vertical_axis_from_gravity
    from stridecue.simulator import demo_plan, simulate

    sim = simulate(demo_plan(), seed=5)
    tables = {p: sd.to_frame() for p, sd in sim.sensors.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyse_tables(tables, athlete={"height_m": 1.78})
    st = res.strides[res.strides["activity"] == "running"].sort_values("start_s")
    st = st.reset_index(drop=True)
    sac = tables["sacrum"]
    t = sac["time_s"].to_numpy()
    acc = sac[["acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]].to_numpy()
    gyr = sac[["gyr_x_radps", "gyr_y_radps", "gyr_z_radps"]].to_numpy()
    up = vertical_axis_from_gravity(acc, sampling_rate_hz=200.0)
    w = stride_yaw_rate_radps(st, t, np.sum(gyr * up, axis=1))  # raw gyro: bias left in
    length, model = running_stride_length_m(st, leg_length_m=0.94, stride_yaw_rate_radps=w)
    assert (model == "track").mean() > 0.9
    st["raw"] = length
    laps = sim.truth.laps
    scale, lap = fit_scale_from_laps(st, laps.iloc[:1], "raw")
    assert lap == 1
    st["scaled"] = st["raw"] * scale
    k, _ = fit_scale_from_laps(st, laps.iloc[1:2], "scaled")
    assert abs(1 / k - 1) < 0.02  # the previous thigh model was -11 %


def test_contact_model_on_real_treadmill_running(shared_data):
    """Leave-one-trial-out on the force-plate contacts: beats constant speed, ~10 % MAE."""
    rows = []
    for folder in sorted((shared_data / "sacrum-running").glob("trial_*")):
        meta = json.loads((folder / "meta.json").read_text())
        con = pd.read_csv(folder / "contacts.csv")
        con = con[(con["tc_s"] - con["ic_s"]) > 0.05]
        ic, tc = con["ic_s"].to_numpy(), con["tc_s"].to_numpy()
        stride = ic[2:] - ic[:-2]
        rows.append({"speed": meta["treadmill_speed_mps"], "stride_time_s": np.median(stride),
                     "contact_time_s": np.median((tc - ic)[:-2])})
    d = pd.DataFrame(rows)
    truth = d["speed"] * d["stride_time_s"]
    pred, model = running_stride_length_m(d.assign(start_s=0.0, end_s=1.0), leg_length_m=0.917)
    assert set(model) == {"contact"}
    assert len(d) == 16

    def loto_mae(p):
        e = [np.abs(truth[i] / p[i] * p / truth - 1).drop(i) for i in range(len(d))]
        return float(np.mean(np.concatenate(e)))

    mae = loto_mae(pd.Series(pred))
    assert mae < 0.13
    assert mae < loto_mae(d["stride_time_s"]) - 0.03  # constant speed: 17 %
