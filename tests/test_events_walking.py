"""Walking events from a lower-back IMU: synthetic ground truth and the real L5 recordings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gait.events_walking import (
    LowerBackAxesTracker,
    WalkingEvents,
    axis_moments,
    complete_step_rhythm,
    detect_walking_events,
    lower_back_axes,
    walking_bouts_from_steps,
    walking_cadence_spm,
    walking_toe_offs,
)
from stridecue.constants import GRAVITY_MPS2, INITIAL_CONTACT, LEFT, RIGHT
from stridecue.errors import InputError

FS = 100.0


def synthetic_walk(n_steps: int = 30, step_s: float = 0.55, seed: int = 0):
    """Sensor-frame acceleration with known ICs: x up, z anterior, y right (like an L5 sensor)."""
    rng = np.random.default_rng(seed)
    n = int((n_steps + 4) * step_s * FS)
    t = np.arange(n) / FS
    ics = 2 * step_s + np.arange(n_steps) * step_s + rng.normal(0, 0.01, n_steps)
    a_v = np.zeros(n)
    ml_left = np.zeros(n)
    for k, ic in enumerate(ics):
        a_v += 3.0 * np.exp(-0.5 * ((t - ic - 0.05) / 0.04) ** 2)
        sign = -1.0 if k % 2 == 0 else 1.0  # even steps are left: pushed to the right after
        ml_left += sign * 1.0 * np.exp(-0.5 * ((t - ic - 0.15) / 0.06) ** 2)
    a_v -= a_v.mean()
    a_ap = 0.08 * np.gradient(a_v) * FS
    acc = np.c_[GRAVITY_MPS2 + a_v, -ml_left, a_ap] + rng.normal(0, 0.05, (n, 3))
    sides = np.where(np.arange(n_steps) % 2 == 0, LEFT, RIGHT)
    return acc, ics, sides


def test_synthetic_ics_and_sides_are_found():
    acc, ics, sides = synthetic_walk()
    ev = detect_walking_events(acc, sampling_rate_hz=FS)
    det = ev.ic_idx / FS
    assert len(det) == len(ics)
    np.testing.assert_allclose(det, ics, atol=0.03)
    assert np.mean(ev.side[1:-1] == sides[1:-1]) == 1.0


def test_toe_offs_end_the_double_support_before_the_next_contact():
    acc, _, _ = synthetic_walk()
    ev = detect_walking_events(acc, sampling_rate_hz=FS)
    found = ev.to_idx >= 0
    assert found[:-1].mean() >= 0.9
    nxt = np.r_[ev.ic_idx[1:], len(acc)]
    assert np.all(ev.to_idx[found] > ev.ic_idx[found])
    assert np.all(ev.to_idx[found] < nxt[found])


def test_own_toe_off_is_the_one_after_the_next_contact():
    ev = WalkingEvents(
        ic_idx=np.array([100, 160, 220, 500, 560, 620, 680]),
        side=np.array([LEFT, RIGHT, LEFT, RIGHT, LEFT, LEFT, RIGHT], dtype=object),
        to_idx=np.array([115, 175, 235, 515, -1, 635, 695]),
        sampling_rate_hz=FS,
    )
    own = walking_toe_offs(ev)
    # 0 -> 175, 1 -> 235; 2: a 2.8 s pause follows; 3: no toe-off found after 560;
    # 4: the next contact is the same foot's (a missed contact); 5 -> 695; 6: the last
    np.testing.assert_array_equal(own, [175, 235, np.nan, np.nan, np.nan, 695, np.nan])
    assert len(walking_toe_offs(WalkingEvents(np.array([5]), np.array([LEFT], object),
                                              np.array([9]), FS))) == 1


def test_axes_resolved_from_physics_in_any_mounting():
    acc, _, _ = synthetic_walk(seed=1)
    # mount the sensor upside down and rotated: the axes must follow
    rot = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    up, anterior, left = lower_back_axes(acc @ rot, sampling_rate_hz=FS)
    np.testing.assert_allclose(up, rot.T @ [1, 0, 0], atol=0.05)
    np.testing.assert_allclose(anterior, rot.T @ [0, 0, 1], atol=0.05)
    np.testing.assert_allclose(left, rot.T @ [0, -1, 0], atol=0.05)


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(u @ v, -1.0, 1.0))))


def test_axes_tracker_keeps_the_axes_through_a_turn_and_follows_a_remount():
    acc, _, _ = synthetic_walk(n_steps=120, seed=2)  # x up, z anterior, y right
    true_ant, true_left = np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])
    window = int(5 * FS)
    turn = acc[:window].copy()
    # a slow, shuffling turn: little forward sway, and a centripetal acceleration along the
    # medio-lateral axis
    turn[:, 2] *= 0.3
    turn[:, 1] += 1.0 * np.sin(np.pi * np.arange(window) / window)
    alone = lower_back_axes(turn, sampling_rate_hz=FS)
    assert _angle_deg(alone[1], true_ant) > 45.0  # the window alone takes the turn for forward
    tracker = LowerBackAxesTracker(sampling_rate_hz=FS, memory_s=60.0)
    assert tracker.axes() is None
    for k in range(0, len(acc) - window, window):
        tracker.update(axis_moments(acc[k : k + window], sampling_rate_hz=FS))
    tracker.update(axis_moments(turn, sampling_rate_hz=FS))
    up, ant, left = tracker.axes()
    assert _angle_deg(ant, true_ant) < 10.0
    assert _angle_deg(left, true_left) < 10.0
    # only the kept samples count: a window whose kept part is empty changes nothing
    tracker.update(axis_moments(turn, sampling_rate_hz=FS, keep=np.zeros(window, bool)))
    np.testing.assert_array_equal(tracker.axes()[1], ant)
    # the sensor put back on upside down and turned: after a few memories of walking it follows
    rot = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    for _ in range(3):
        for k in range(0, len(acc) - window, window):
            tracker.update(axis_moments(acc[k : k + window] @ rot, sampling_rate_hz=FS))
    up, ant, left = tracker.axes()
    assert _angle_deg(ant, rot.T @ true_ant) < 10.0
    assert _angle_deg(up, rot.T @ [1, 0, 0]) < 10.0


def test_events_frame_has_contract_columns():
    acc, _, _ = synthetic_walk(n_steps=10)
    ev = detect_walking_events(acc, sampling_rate_hz=FS)
    frame = ev.to_frame(start_time_s=5.0)
    assert list(frame.columns) == ["time_s", "event", "side"]
    assert (frame["event"] == INITIAL_CONTACT).sum() == len(ev.ic_idx)
    assert frame["time_s"].is_monotonic_increasing
    assert frame["time_s"].min() >= 5.0


def test_bad_shape_raises_and_nan_warns():
    with pytest.raises(InputError):
        detect_walking_events(np.zeros((100, 2)), sampling_rate_hz=FS)
    with pytest.warns(RuntimeWarning, match="too few valid samples"):
        ev = detect_walking_events(np.full((500, 3), np.nan), sampling_rate_hz=FS)
    assert isinstance(ev, WalkingEvents)
    assert len(ev.ic_idx) == 0


def test_weak_turning_steps_are_recovered_from_the_rhythm():
    acc, ics, _ = synthetic_walk(n_steps=30, seed=2)
    t = np.arange(len(acc)) / FS
    # steps 10 and 20 load the pelvis much less (a turn, a shuffle): 15 % of the amplitude
    for k in (10, 20):
        acc[:, 0] -= 0.85 * 3.0 * np.exp(-0.5 * ((t - ics[k] - 0.05) / 0.04) ** 2)
    ev = detect_walking_events(acc, sampling_rate_hz=FS)
    assert len(ev.ic_idx) == len(ics)
    np.testing.assert_allclose(ev.ic_idx / FS, ics, atol=0.04)


def test_rhythm_completion_rules():
    step = 55  # samples
    peaks = np.arange(10) * step + 100
    missing = np.delete(peaks, [4])  # one step missed: a gap of two step times
    cands = np.sort(np.r_[peaks, peaks[:-1] + 20])  # the true steps plus off-rhythm bumps
    out = complete_step_rhythm(missing, cands, sampling_rate_hz=FS)
    assert set(peaks) <= set(out)  # the missed step back, walk ends extended where possible
    assert not set(out) & set(peaks[:-1] + 20)  # no off-rhythm candidate taken
    # a long but single step (1.5 step times) is not split
    long_step = np.r_[peaks[:5], peaks[5:] + step // 2]
    out = complete_step_rhythm(long_step, np.r_[long_step, peaks[4] + 40], sampling_rate_hz=FS)
    assert peaks[4] + 40 not in out
    # nothing to complete from: returned unchanged
    np.testing.assert_array_equal(
        complete_step_rhythm(peaks[:1], cands, sampling_rate_hz=FS), peaks[:1]
    )


def test_walking_bouts_from_steps():
    ic = np.r_[np.arange(6) * 60, 1000 + np.arange(3) * 60, 2000 + np.arange(4) * 60]
    bouts = walking_bouts_from_steps(ic, sampling_rate_hz=FS)
    assert bouts == [(0, 5), (9, 12)]  # the 3-contact run is not a bout
    assert walking_bouts_from_steps(ic, sampling_rate_hz=FS, min_steps=3) == [
        (0, 5), (6, 8), (9, 12)
    ]
    assert walking_bouts_from_steps(np.zeros(0, int), sampling_rate_hz=FS) == []
    with pytest.raises(InputError):
        walking_bouts_from_steps(ic, sampling_rate_hz=FS, min_steps=1)
    with pytest.raises(InputError):
        walking_bouts_from_steps(ic, sampling_rate_hz=-1.0)


def test_cadence_is_robust_to_missed_extra_contacts_and_pauses():
    rng = np.random.default_rng(4)
    step_s = 0.6  # 100 steps/min
    t = np.cumsum(np.full(40, step_s) + rng.normal(0, 0.01, 40))
    t = np.delete(t, 10)  # a missed contact: one step twice as long
    t = np.sort(np.append(t, t[20] + 0.15))  # an extra contact: two short steps
    t[30:] += 3.0  # a pause of 3 s
    cad = walking_cadence_spm(np.round(t * FS).astype(int), sampling_rate_hz=FS)
    assert cad == pytest.approx(100.0, abs=1.5)
    naive = 60.0 * (len(t) - 1) / (t[-1] - t[0])
    assert abs(naive - 100.0) > 5.0


def test_cadence_of_too_few_steps_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="fewer than two valid step times"):
        assert np.isnan(walking_cadence_spm(np.array([0, 60]), sampling_rate_hz=FS))
    with pytest.raises(InputError):
        walking_cadence_spm(np.array([0, 60, 120]), sampling_rate_hz=0.0)


def _score(trial, tol):
    imu = pd.read_csv(trial / "imu.csv")
    ref = pd.read_csv(trial / "initial_contacts.csv")
    bouts = pd.read_csv(trial / "walking_bouts.csv")
    ev = detect_walking_events(
        imu[["acc_x", "acc_y", "acc_z"]].to_numpy(),
        sampling_rate_hz=100.0,
        gyr_radps=imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(),
    )
    det = imu["time_s"].iloc[0] + ev.ic_idx / 100.0
    tp = n_det = side_ok = 0
    cad_err = []
    for _, b in bouts.iterrows():
        inb = np.flatnonzero((det >= b.start_s - tol) & (det <= b.end_s + tol))
        r = ref[ref.walking_bout == b.walking_bout]
        used = set()
        for t_ref, s_ref in zip(r.time_s, r.side, strict=True):
            cand = [i for i in inb if i not in used and abs(det[i] - t_ref) <= tol]
            if cand:
                i = min(cand, key=lambda i: abs(det[i] - t_ref))
                used.add(i)
                tp += 1
                side_ok += ev.side[i] == s_ref
        n_det += len(inb)
        if len(inb) >= 3:
            cad = walking_cadence_spm(ev.ic_idx[inb], sampling_rate_hz=100.0)
            cad_err.append(cad - b.avg_cadence_spm)
    return tp, n_det, len(ref), side_ok, cad_err


@pytest.mark.shared_data
def test_real_straight_walks_f1_and_sides(shared_data):
    root = shared_data / "lowerback-walking"
    tp = nd = nr = so = 0
    cad = []
    for name in ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2"):
        a, b, c, d, e = _score(root / name, 0.1)
        tp, nd, nr, so = tp + a, nd + b, nr + c, so + d
        cad += e
    assert 2 * tp / (nd + nr) >= 0.94  # measured 0.944
    assert so / tp >= 0.94  # measured 1.00
    assert np.max(np.abs(cad)) <= 2.0  # measured 1.4 spm MAE
    tp = nd = nr = 0
    for name in ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2"):
        a, b, c, _, _ = _score(root / name, 0.05)
        tp, nd, nr = tp + a, nd + b, nr + c
    assert 2 * tp / (nd + nr) >= 0.90  # measured 0.944 at +-50 ms


@pytest.mark.shared_data
def test_real_daily_living_f1_beats_published_anchor(shared_data):
    root = shared_data / "lowerback-walking"
    a, b, c, d, _ = _score(root / "HA_001_Test11_Trial1", 0.1)
    assert 2 * a / (b + c) >= 0.90  # measured 0.913
    assert d / a >= 0.90
    tp = nd = nr = 0
    cad = []
    for name in ("HA_001_Test11_Trial1", "HA_002_Test11_Trial1"):
        a, b, c, _, e = _score(root / name, 0.1)
        tp, nd, nr = tp + a, nd + b, nr + c
        cad += e
    # anchor: open lower-back detectors reach ~0.53 at +-100 ms; HA_002's slow shuffling bouts
    # (where the reference itself misses contacts) keep us below the 0.90 target.
    # (the step-rhythm completion adds steps there that the reference skipped)
    assert 2 * tp / (nd + nr) >= 0.76  # measured 0.771
    # anchor ~6 spm overall; the reference's own ICs give ~5.9 spm with this estimator
    assert np.mean(np.abs(cad)) <= 6.0  # measured 5.3 spm (7.0 without the rhythm completion)
