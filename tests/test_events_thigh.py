"""Thigh-refined running events: side and toe-off of the thigh's leg (synthetic and simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from gait.events_thigh import refine_running_events_with_thigh
from stridecue.constants import LEFT, RIGHT
from stridecue.errors import InputError
from stridecue.simulator import Phase, SensorSpec, SessionPlan, simulate

FS = 200.0


def synthetic_thigh(n_strides: int = 12, stride_s: float = 0.7, duty: float = 0.3, seed: int = 0):
    """Left-thigh angle of a run: peak extension (-15 deg) at toe-off, 45 deg at 80 % of the stride.

    Left contacts at k * stride, right contacts half a stride later.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, (n_strides + 1) * stride_s, 1.0 / FS)
    phase = (t / stride_s) % 1.0
    # piecewise cosine: extension from IC (25 deg) to TO (-15), flexion to 45 at 0.8, back to 25
    knots_p = np.array([0.0, duty, 0.8, 1.0])
    knots_a = np.array([25.0, -15.0, 45.0, 25.0])
    seg = np.clip(np.searchsorted(knots_p, phase, side="right") - 1, 0, 2)
    x = (phase - knots_p[seg]) / (knots_p[seg + 1] - knots_p[seg])
    angle = knots_a[seg] + (knots_a[seg + 1] - knots_a[seg]) * (1 - np.cos(np.pi * x)) / 2
    angle += rng.normal(0, 0.2, len(t))
    left_ic = np.arange(1, n_strides) * stride_s
    ic = np.sort(np.r_[left_ic, left_ic + stride_s / 2])
    return t, angle, ic, left_ic + duty * stride_s


def test_synthetic_side_and_toe_off():
    t, angle, ic, to_true = synthetic_thigh()
    ev = refine_running_events_with_thigh(ic, t, angle, thigh_side=LEFT)
    left = ev.side == LEFT
    assert left.sum() == len(to_true)
    assert np.all(ev.side[~left] == RIGHT)
    np.testing.assert_allclose(ev.ic_s, ic)  # contacts stay the sacrum's
    assert np.all(np.isnan(ev.to_s[~left]))
    np.testing.assert_allclose(ev.to_s[left], to_true, atol=0.01)
    np.testing.assert_allclose(ev.contact_time_s[left], 0.3 * 0.7, atol=0.01)


def test_right_thigh_labels_its_own_contacts():
    t, angle, ic, _ = synthetic_thigh(seed=1)
    ev = refine_running_events_with_thigh(ic, t, angle, thigh_side=RIGHT)
    # the same curve read as a right thigh: its contacts are now the "right" ones
    assert np.all(ev.side[::2] == RIGHT)
    assert np.all(ev.side[1::2] == LEFT)
    assert np.isfinite(ev.to_s[::2]).all()


def test_missing_samples_leave_toe_off_nan_not_wrong():
    t, angle, ic, to_true = synthetic_thigh(seed=2)
    angle = angle.copy()
    gap = (t > to_true[3] - 0.05) & (t < to_true[3] + 0.05)
    angle[gap] = np.nan
    ev = refine_running_events_with_thigh(ic, t, angle, thigh_side=LEFT)
    left_to = ev.to_s[ev.side == LEFT]
    assert np.isnan(left_to[3])
    ok = np.isfinite(left_to)
    np.testing.assert_allclose(left_to[ok], to_true[ok], atol=0.01)


def test_bad_inputs_raise():
    t, angle, ic, _ = synthetic_thigh()
    with pytest.raises(InputError, match="left' or 'right"):
        refine_running_events_with_thigh(ic, t, angle, thigh_side="thigh_left")
    with pytest.raises(InputError, match="equal length"):
        refine_running_events_with_thigh(ic, t, angle[:-1], thigh_side=LEFT)
    with pytest.raises(InputError, match="strictly increasing"):
        refine_running_events_with_thigh(ic, t[::-1], angle, thigh_side=LEFT)
    with pytest.raises(InputError, match="increasing times"):
        refine_running_events_with_thigh(ic[::-1], t, angle, thigh_side=LEFT)
    empty = refine_running_events_with_thigh(np.zeros(0), t, angle, thigh_side=LEFT)
    assert len(empty.ic_s) == len(empty.side) == len(empty.to_s) == 0


def test_simulator_toe_off_and_side():
    """Truth thigh angle + 0.5 deg noise, sacrum contacts = truth + 5 ms jitter."""
    plan = SessionPlan(
        phases=[Phase(kind="still", duration_s=1.0),
                Phase(kind="run", duration_s=8.0, speed_mps=4.0, cadence_spm=170.0,
                      contact_time_s=0.22, ramp_s=1.0)],
        path="straight",
        sensors=[SensorSpec("sacrum", sampling_rate_hz=FS),
                 SensorSpec("thigh_left", sampling_rate_hz=FS)],
    )  # fmt: skip
    sim = simulate(plan, seed=5)
    ang = sim.truth.angles
    rng = np.random.default_rng(0)
    angle = ang["thigh_angle_left_deg"].to_numpy() + rng.normal(0, 0.5, len(ang))
    ev = sim.truth.events
    ic = ev[(ev.event == "initial_contact") & (ev.time_s > 3.0) & (ev.time_s < 8.5)]
    to = ev[(ev.event == "toe_off") & (ev.side == LEFT)].time_s.to_numpy()
    ic_s = ic.time_s.to_numpy() + rng.normal(0, 0.005, len(ic))
    out = refine_running_events_with_thigh(ic_s, ang["time_s"].to_numpy(), angle, thigh_side=LEFT)
    assert np.all(out.side == ic.side.to_numpy())
    left = np.flatnonzero(out.side == LEFT)
    true_to = to[np.searchsorted(to, ic.time_s.to_numpy()[left])]
    assert np.nanmax(np.abs(out.to_s[left] - true_to)) < 0.01
    np.testing.assert_allclose(np.nanmedian(out.contact_time_s[left]), 0.22, atol=0.01)
