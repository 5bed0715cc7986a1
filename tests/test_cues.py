"""Cue rules: k-of-n activation, hysteresis, minimum gap, priorities, silence when in range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gait.cues import CueEngine, CueRule, run_cues


def _strides(values, *, metric="thigh_angle_ic_deg", stride_time_s=0.75, activity="running"):
    t = np.arange(len(values)) * stride_time_s
    return pd.DataFrame({"start_s": t, "end_s": t + stride_time_s, "side": "left",
                         metric: values, "activity": activity})


RULE = CueRule(name="overstride", metric="thigh_angle_ic_deg", direction="above", threshold=26.0,
               hysteresis=1.5, k=2, n=3, k_off=0, priority=5, repeat_s=10.0,
               message="Shorter stride", unit="deg")


def test_silent_while_in_range() -> None:
    cues = run_cues(_strides([20.0] * 200), rules=[RULE])
    assert cues.empty


def test_cue_within_one_stride_of_overstriding_and_stops_after() -> None:
    values = [20.0] * 40 + [31.0] * 60 + [21.0] * 60
    cues = run_cues(_strides(values), rules=[RULE], min_gap_s=3.0)
    first_bad_end = 40 * 0.75 + 0.75
    assert cues["time_s"].iloc[0] <= first_bad_end + 0.75 + 1e-9  # second bad stride
    assert (cues["time_s"] < 100 * 0.75 + 0.75 * 3).all()  # nothing once corrected
    assert len(cues) >= 3  # repeats while it lasts (every repeat_s)
    gaps = np.diff(cues["time_s"])
    assert (gaps >= RULE.repeat_s - 1e-9).all()


def test_hysteresis_keeps_a_hovering_value_from_flapping() -> None:
    rng = np.random.default_rng(0)
    values = 26.0 + rng.normal(0, 0.6, 300)  # hovering around the threshold, inside hysteresis
    engine = CueEngine([RULE], min_gap_s=0.0)
    states = []
    for i, row in _strides(values).iterrows():
        engine.update(row.to_dict(), int(i))
        states.append("overstride" in engine.active_rules())
    switches = int(np.sum(np.diff(np.asarray(states, int)) != 0))
    assert switches <= 6


def test_priority_and_min_gap() -> None:
    tilt = CueRule(name="anterior_tilt", metric="pelvis_tilt_mean_deg", direction="above",
                   threshold=8.0, k=2, n=3, k_off=0, priority=1, repeat_s=5.0,
                   message="Tuck the pelvis", unit="deg")
    strides = _strides([31.0] * 30)
    strides["pelvis_tilt_mean_deg"] = 12.0
    cues = run_cues(strides, rules=[RULE, tilt], min_gap_s=4.0)
    assert cues["rule"].iloc[0] == "overstride"  # both active: the higher priority speaks
    assert (np.diff(cues["time_s"]) >= 4.0 - 1e-9).all()
    assert "anterior_tilt" in set(cues["rule"])  # it gets its turn when overstride waits


def test_baseline_relative_threshold_and_walking_ignored() -> None:
    cadence = CueRule(name="cadence", metric="cadence_spm", direction="below", baseline_fraction=-0.05,
                      k=2, n=3, k_off=0, priority=3, repeat_s=5.0, message="Quicker steps", unit="spm")
    engine = CueEngine([cadence], baseline={"cadence_spm": 170.0})
    assert engine.threshold(cadence) == 170.0 * 0.95
    walk = _strides([0.0] * 20, metric="cadence_spm", activity="walking")
    assert run_cues(walk, rules=[cadence], baseline={"cadence_spm": 170.0}).empty
    run = _strides([150.0] * 20, metric="cadence_spm")
    cues = run_cues(run, rules=[cadence], baseline={"cadence_spm": 170.0})
    assert not cues.empty and cues["threshold"].iloc[0] == 161.5
    # no baseline -> the relative rule stays silent rather than guessing
    assert run_cues(run, rules=[cadence]).empty
