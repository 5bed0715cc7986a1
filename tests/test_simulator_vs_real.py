"""The simulator's sacrum contact waveforms against real treadmill running (force-plate contacts).

Real: ``../shared/data/sacrum-running`` (Alcantara et al. 2022, PeerJ 10:e12752, Apache-2.0),
16 trials of one runner, 2.5-4.2 m/s. Simulated: one run per trial at its speed, cadence and
contact time, processed like the real data (``stridecue.simulator.realism``). The numbers are in
``bench/results/simulator_realism.md``. The simulator's walking step against the real lab walks
(``../shared/data/lowerback-walking``) it is computed from.
"""

from __future__ import annotations

import numpy as np
import pytest

from stridecue.simulator import realism


@pytest.fixture(scope="module")
def trials(shared_data):
    real = realism.load_real_trials(shared_data / "sacrum-running")
    sims = [
        realism.simulate_trial(tr.speed_mps, tr.cadence_spm, tr.contact_time_s, seed=k,
                               name=tr.name)
        for k, tr in enumerate(real)
    ]  # fmt: skip
    return real, sims


def test_matching_trials_were_simulated(trials) -> None:
    real, sims = trials
    assert len(real) == 16
    for r, s in zip(real, sims, strict=True):
        assert len(r.features) >= 10
        assert len(s.features) >= 10
        assert s.speed_mps == r.speed_mps


def test_contact_marker_timings_match_real(trials) -> None:
    """Braking onset, 10 % vertical rise and impact peak: pooled means within a few ms."""
    real, sims = trials
    fr = realism.pooled_features(real).mean(numeric_only=True)
    fs = realism.pooled_features(sims).mean(numeric_only=True)
    assert abs(fs["ap_drop_ms"] - fr["ap_drop_ms"]) < 3.0
    assert abs(fs["rise10_ms"] - fr["rise10_ms"]) < 3.0
    assert abs(fs["impact_peak_ms"] - fr["impact_peak_ms"]) < 8.0
    # the markers come after the truth IC, as on the real data: the truth IC is the force onset
    assert 0.0 < fs["ap_drop_ms"] < 15.0
    assert -5.0 < fs["rise10_ms"] < 10.0


def test_mean_waveforms_correlate_with_real(trials) -> None:
    real, sims = trials
    vr, ar = realism.pooled_mean(real)
    vs, as_ = realism.pooled_mean(sims)
    assert realism.correlation(vr, vs) > 0.95
    assert realism.correlation(ar, as_) > 0.9
    # and around the landing (-50..+100 ms), where the detector takes its markers
    t = realism.window_time_s()
    m = (t >= -0.05) & (t <= 0.1)
    assert realism.correlation(vr[m], vs[m]) > 0.95
    assert realism.correlation(ar[m], as_[m]) > 0.9
    # the vertical's shape: impact peak, a dip, then the active peak, as in the real mean
    i_imp = np.argmax(np.where((t > 0.0) & (t < 0.06), vs, -np.inf))
    i_dip = i_imp + np.argmin(vs[i_imp : i_imp + 40])
    assert vs[i_dip] < vs[i_imp] - 0.1
    assert vs[i_dip:].max() > vs[i_dip] + 0.1


def test_detector_bias_on_simulator_matches_real(trials) -> None:
    """The detector (fitted on the real data) is as unbiased on the simulator as on the real data.

    Both processed alike (500 Hz, 20 Hz low-pass, vertical clipped at 0 g), at the real trials'
    speeds. The real data also show the markers moving earlier with speed (about -10 ms per m/s
    vertical-only, -7 ms per m/s with AP on this runner): the simulator must show that trend.
    """
    real, sims = trials
    fr, fs = realism.pooled_features(real), realism.pooled_features(sims)
    for key in ("detector_bias_ap_ms", "detector_bias_vertical_ms"):
        assert abs(fs[key].mean()) < 5.0
        assert abs(fs[key].mean() - fr[key].mean()) < 2.0
        slope_real = np.polyfit(fr["speed_mps"], fr[key], 1)[0]
        slope_sim = np.polyfit(fs["speed_mps"], fs[key], 1)[0]
        assert slope_sim < 0
        assert abs(slope_sim - slope_real) < 4.0


def test_detector_bias_on_raw_simulated_sensor(shared_data) -> None:
    """The detector on the raw noisy 200 Hz simulated sensor (as tests/test_events_running_sim.py).

    At 3.3 m/s (the real trials' typical speed) both markers are within +-5 ms of the truth IC;
    at 4 m/s the AP marker still is, and the vertical-only marker is as early as the real data
    predict there (linear fit of the real per-trial bias on speed: about -9 ms at 4 m/s).
    """
    real = realism.pooled_features(realism.load_real_trials(shared_data / "sacrum-running"))
    fit = np.polyfit(real["speed_mps"], real["detector_bias_vertical_ms"], 1)
    slow = dict(speed_mps=3.3, cadence_spm=185.0, contact_time_s=0.24)
    for use_ap in (True, False):
        err = realism.detector_ic_errors_s(use_ap=use_ap, **slow)
        assert len(err) >= 25
        assert abs(1e3 * err.mean()) < 5.0
    err_ap = realism.detector_ic_errors_s(use_ap=True)  # 4 m/s, 170 spm, 0.22 s
    assert len(err_ap) >= 22
    assert abs(1e3 * err_ap.mean()) < 5.0
    err_v = realism.detector_ic_errors_s(use_ap=False)
    assert abs(1e3 * err_v.mean() - np.polyval(fit, 4.0)) < 4.0


def test_walking_template_is_the_real_straight_walks(shared_data) -> None:
    """The simulator's walking step waveform and pelvis rotation phase are the ones the real
    straight lab walks give (the constants in kinematics are that computation, rounded)."""
    from stridecue.simulator import kinematics

    height, speed = realism.walking_step_harmonics(shared_data / "lowerback-walking")
    np.testing.assert_allclose(height, kinematics.WALK_HEIGHT_HARMONICS, atol=1e-4)
    np.testing.assert_allclose(speed, kinematics.WALK_SPEED_HARMONICS, atol=1e-4)
    phase = realism.walking_rotation_phase(shared_data / "lowerback-walking")
    assert phase == pytest.approx(kinematics.WALK_ROTATION_PHASE, abs=0.005)


def test_simulated_walking_contacts_where_the_walking_detector_finds_them() -> None:
    """With the real step waveform the walking detector finds the simulated contacts within
    50 ms and on the right side (the sinusoid it replaced put its loading peak ~0.1 s late)."""
    from gait.events_walking import detect_walking_events
    from stridecue.constants import SACRUM
    from stridecue.simulator import simulate
    from stridecue.simulator.plan import Phase, SensorSpec, SessionPlan

    plan = SessionPlan(
        phases=[Phase(kind="still", duration_s=2.0),
                Phase(kind="walk", duration_s=20.0, speed_mps=1.3, cadence_spm=110.0)],
        path="straight",
        sensors=[SensorSpec(SACRUM, sampling_rate_hz=100.0, mounting="random")],
    )
    sim = simulate(plan, seed=5, with_angles=False)
    s = sim.sensors[SACRUM]
    ev = detect_walking_events(s.acc_mps2, sampling_rate_hz=100.0, gyr_radps=s.gyr_radps)
    det_s = s.true_time_s[ev.ic_idx]
    truth = sim.truth.events
    truth = truth[(truth["event"] == "initial_contact") & truth["time_s"].between(4.0, 20.0)]
    k = np.abs(det_s[None, :] - truth["time_s"].to_numpy()[:, None]).argmin(axis=1)
    err = det_s[k] - truth["time_s"].to_numpy()
    assert len(truth) > 25
    assert np.all(np.abs(err) < 0.05)
    assert np.mean(ev.side[k] == truth["side"].to_numpy()) == 1.0
