"""Stability measures: the fast implementations give the reference numbers bit for bit.

The reference (``tests/reference_measures.py``) computes every quantity with the numpy call that
defines it, one signal and one lag at a time; ``gait.stability`` batches them. Random gait-like
sessions with missing samples, missing orientation, undefined stride times and activity changes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gait import stability as gs
from stridecue import constants as c
from tests import reference_measures as ref

FS = 200.0
SMALL = gs.StabilitySettings(window_strides=6, min_window_strides=3, lde_window_strides=8,
                             lde_every_strides=1)


def _same(a, b) -> bool:
    """Equal to the last bit (NaN equal to NaN)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return (math.isnan(a) and math.isnan(b)) or a == b


def _session(
    rng: np.random.Generator, n_strides: int, damaged: bool = True
) -> tuple[list[dict], np.ndarray, tuple]:
    """Strides and sacrum accelerations of a random run then walk, with the usual kinds of damage
    (gaps, gap-crossed strides, a pause, no orientation, undefined stride times and ranges)
    unless ``damaged`` is false."""
    stride_s = rng.uniform(0.62, 0.8, n_strides)
    run = rng.integers(0, n_strides + 1) if damaged else n_strides
    activity = np.where(np.arange(n_strides) < run, c.RUNNING, c.WALKING)
    stride_s[activity == c.WALKING] *= 1.6
    starts = 1.0 + np.concatenate([[0.0], np.cumsum(stride_s)[:-1]])
    if damaged:  # a pause: the strides after it start later
        starts[rng.integers(1, n_strides) :] += rng.uniform(0.5, 3.0)
    t = np.arange(0.0, starts[-1] + stride_s[-1] + 1.0, 1 / FS)
    phase = np.interp(t, np.concatenate([starts, [starts[-1] + stride_s[-1]]]),
                      np.arange(n_strides + 1.0))
    acc = []
    for scale in (9.0, 3.0, 2.0):
        harm = sum(rng.uniform(0.2, 1) * np.cos(2 * np.pi * h * phase + rng.uniform(0, 6))
                   for h in (1, 2, 3, 4))
        acc.append(scale * harm + rng.normal(0, 0.5, len(t)))
    for x in acc:  # gaps
        for _ in range(rng.integers(0, 3) if damaged else 0):
            i = rng.integers(0, len(t))
            x[i : i + rng.integers(1, 40)] = np.nan
    if damaged and rng.random() < 0.2:  # no orientation: forward and lateral all NaN
        acc[1][:] = acc[2][:] = np.nan
    rows = []
    for k in range(n_strides):
        rows.append({
            c.STRIDE_START_S: starts[k], c.STRIDE_END_S: starts[k] + stride_s[k],
            c.STRIDE_TIME_S: stride_s[k] if not damaged or rng.random() > 0.1 else math.nan,
            "activity": str(activity[k]),
            "gap_crossed": bool(damaged and rng.random() < 0.03),
            "pelvis_rotation_range_deg": rng.uniform(5, 15) if rng.random() > 0.15 else math.nan,
            "pelvis_obliquity_range_deg": rng.uniform(3, 9) if rng.random() > 0.15 else math.nan,
        })
    return rows, t, tuple(acc)


@pytest.mark.parametrize("settings", [SMALL, gs.StabilitySettings()], ids=["small", "default"])
def test_stride_stability_equals_reference(settings: gs.StabilitySettings) -> None:
    rng = np.random.default_rng(7)
    keep = 2 * settings.lde_window_strides
    checked = lde_values = regular = 0
    for damaged in (True, False) * (3 if settings == SMALL else 1):
        rows, t, (vt, ap, ml) = _session(rng, keep + 41, damaged)
        lde_new = lde_ref = math.nan
        for k in range(len(rows)):
            window = rows[max(0, k - keep) : k + 1]
            kw = {"sampling_rate_hz": FS, "stride_number": k}
            new = gs.stride_stability(window, t, vt, ap, ml, settings, lde_last=lde_new, **kw)
            old = ref.stride_stability(window, t, vt, ap, ml, settings, lde_last=lde_ref, **kw)
            assert _same(new, old), (k, new, old)
            lde_new, lde_ref = new[1], old[1]
            checked += 1
            lde_values += math.isfinite(new[1])
            regular += math.isfinite(new[0]["stride_regularity"])
    assert lde_values > 0
    assert regular > 20
    assert checked > 50


def test_harmonic_ratios_equal_reference_per_row() -> None:
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(30, 200))
        x = rng.normal(size=(3, n)) * rng.uniform(0.1, 10)
        if rng.random() < 0.3:
            x[rng.integers(3), rng.integers(n)] = np.nan
        if rng.random() < 0.1:
            x[rng.integers(3)] = 5.0  # constant: no harmonic content
        flags = (False, False, True)
        new = gs.harmonic_ratios(x, harmonics=20, odd_over_even=flags)
        old = [ref.harmonic_ratio(x[k], harmonics=20, odd_over_even=flags[k]) for k in range(3)]
        assert _same(new, old)


def test_regularity_equals_reference() -> None:
    rng = np.random.default_rng(2)
    for _ in range(300):
        n = int(rng.integers(0, 400))
        x = np.sin(np.arange(n) * rng.uniform(0.02, 0.2)) + rng.normal(0, 0.3, n)
        if rng.random() < 0.1:
            x[rng.integers(n)] = np.nan
        if rng.random() < 0.05:
            x[:] = 1.0
        lags = (float(rng.uniform(-2, n / 2)), float(rng.uniform(0, n + 2)), math.nan)
        fraction = float(rng.uniform(0, 0.5))
        new = gs.regularity_at_peaks(x, lags, fraction)
        assert _same(new, [ref.regularity_at_peak(x, lag, fraction) for lag in lags])
        assert all(-1 <= v <= 1 for v in new if math.isfinite(v))


def test_local_divergence_exponent_equals_reference() -> None:
    rng = np.random.default_rng(3)
    rows, t, (vt, _, _) = _session(rng, 40, damaged=False)
    bounds = np.searchsorted(t, [(r[c.STRIDE_START_S], r[c.STRIDE_END_S]) for r in rows])
    for settings in (SMALL, gs.StabilitySettings(lde_embedding_dimension=3, lde_delay_samples=7)):
        for lo in range(0, 12, 3):
            b = bounds[lo : lo + 2 * settings.lde_window_strides : 2]
            new = gs.local_divergence_exponent(vt, b, settings)
            assert math.isfinite(new)
            assert _same(new, ref.local_divergence_exponent(vt, b, settings))
    gap = vt.copy()
    gap[bounds[4, 0] + 3] = np.nan  # a stride with a missing sample: no exponent
    assert math.isnan(gs.local_divergence_exponent(gap, bounds[:16:2], SMALL))
    short = bounds[:16:2].copy()
    short[2, 1] = short[2, 0] + 9  # a stride shorter than 10 samples: no exponent
    assert math.isnan(gs.local_divergence_exponent(vt, short, SMALL))


def test_measures_mean_what_they_say() -> None:
    """Even harmonics dominate a two-steps-per-stride signal; a repeating signal is regular."""
    n = 140
    phase = np.arange(n) / n
    vertical = np.cos(2 * np.pi * 2 * phase) + 0.05 * np.cos(2 * np.pi * phase)
    lateral = np.cos(2 * np.pi * phase) + 0.05 * np.cos(2 * np.pi * 2 * phase)
    hr_vt, hr_ml = gs.harmonic_ratios(np.array([vertical, lateral]), harmonics=20,
                                      odd_over_even=(False, True))
    assert hr_vt > 10
    assert hr_ml > 10
    periodic = np.tile(vertical, 8)
    step, stride = gs.regularity_at_peaks(periodic, (n / 2, n), 0.25)
    assert stride == pytest.approx(1.0, abs=1e-9)  # the same every stride
    assert 0.98 < step < stride  # nearly the same every step (the small first harmonic differs)
    sway = np.array([np.zeros(500), np.zeros(500), np.sin(np.arange(500) / 9)])
    assert gs.ml_acc_ratio(sway) == pytest.approx(1.0)


def _rows(starts_s: np.ndarray, stride_s: float, activity: str = c.RUNNING) -> list[dict]:
    """Strides of one per contact (each starts one step after the one before)."""
    return [{c.STRIDE_START_S: float(t), c.STRIDE_END_S: float(t) + stride_s,
             c.STRIDE_TIME_S: stride_s, "activity": activity, "gap_crossed": False}
            for t in starts_s]


def test_window_ends_at_a_pause_a_gap_and_another_activity() -> None:
    step = 0.35
    rows = _rows(np.arange(12) * step, 2 * step)
    assert gs.window_length(rows, sampling_rate_hz=FS) == 12
    touching = [r for k, r in enumerate(rows) if k != 5]  # one stride missing: still covered
    assert gs.window_length(touching, sampling_rate_hz=FS) == 11
    pause = [r for k, r in enumerate(rows) if k not in (5, 6)]  # two missing: a step uncovered
    assert gs.window_length(pause, sampling_rate_hz=FS) == 5
    gap = [dict(r, gap_crossed=k == 8) for k, r in enumerate(rows)]
    assert gs.window_length(gap, sampling_rate_hz=FS) == 3
    assert gs.window_length(gap[:9], sampling_rate_hz=FS) == 0  # the newest crossed the gap
    mixed = [dict(r, activity=c.WALKING if k < 4 else c.RUNNING) for k, r in enumerate(rows)]
    assert gs.window_length(mixed, sampling_rate_hz=FS) == 8


def test_regularity_is_nan_until_the_new_bout_fills_its_window() -> None:
    """A walk, a 3 s pause, then a run: the run's regularity uses the run only."""
    walk = _rows(np.arange(20) * 0.55, 1.1, c.WALKING)
    run = _rows(walk[-1][c.STRIDE_END_S] + 3.0 + np.arange(30) * 0.35, 0.7)
    rows = walk + run
    t = np.arange(0.0, rows[-1][c.STRIDE_END_S] + 1.0, 1 / FS)
    run_start_s = run[0][c.STRIDE_START_S]
    vt = np.where(t < run_start_s, 2 * np.cos(2 * np.pi * t / 0.55),
                  8 * np.cos(2 * np.pi * (t - run_start_s) / 0.35) ** 9)
    vt[(t > walk[-1][c.STRIDE_END_S]) & (t < run_start_s)] = 0.0  # standing
    settings = gs.StabilitySettings()
    step = []
    for k in range(len(rows)):
        out, _ = gs.stride_stability(rows[: k + 1], t, vt, vt, vt, settings, sampling_rate_hz=FS,
                                     stride_number=k, lde_last=math.nan)
        step.append(out["step_regularity"])
    first = len(walk)
    m = settings.min_window_strides
    assert all(math.isnan(v) for v in step[first : first + m - 1])
    assert all(v > 0.8 for v in step[first + m - 1 :])


def test_walking_then_running_simulated(demo_result) -> None:
    """The demo walks, then jogs: the first running strides are NaN until
    ``min_window_strides`` running strides exist, then regular (a steady simulated runner)."""
    strides = demo_result.strides
    m = gs.StabilitySettings().min_window_strides
    running = np.flatnonzero(strides["activity"].to_numpy() == c.RUNNING)
    first = int(running[0])
    assert (strides["activity"].iloc[:first] == c.WALKING).sum() >= m  # a walk before
    bout = strides.iloc[first : first + 40]
    assert (bout["activity"] == c.RUNNING).all()
    assert not bout["gap_crossed"].any()
    for column in ("step_regularity", "stride_regularity"):
        values = bout[column].to_numpy()
        assert np.isnan(values[: m - 1]).all(), column
        assert (values[m - 1 :] > 0.8).all(), column
    for column in ("step_regularity", "stride_regularity", "ml_acc_ratio"):
        values = strides[column].to_numpy()
        values = values[np.isfinite(values)]
        assert len(values) > 300
        assert (np.abs(values) <= 1).all()


def _pulses(t_s: np.ndarray, period_s: float) -> np.ndarray:
    """A running-like vertical acceleration: one sharp impact per step (two per stride), the
    left and right steps a little different."""
    phase = 2 * np.pi * t_s / period_s
    return 10 * np.cos(phase) ** 16 + 2 * np.cos(phase / 2 + 0.3) ** 16


def test_peak_search_finds_a_stride_lag_ten_percent_off_the_median() -> None:
    true_stride_s = 0.77
    rows = _rows(np.arange(20) * true_stride_s / 2, true_stride_s)
    for r in rows:  # stride times 10 % short of the signal's period (e.g. events early)
        r[c.STRIDE_TIME_S] = true_stride_s / 1.1
    t = np.arange(0.0, rows[-1][c.STRIDE_END_S] + 0.5, 1 / FS)
    vt = _pulses(t, true_stride_s)
    kw = {"sampling_rate_hz": FS, "stride_number": 19, "lde_last": math.nan}
    out, _ = gs.stride_stability(rows, t, vt, vt, vt, gs.StabilitySettings(), **kw)
    assert out["stride_regularity"] > 0.98
    assert out["step_regularity"] > 0.8
    fixed, _ = gs.stride_stability(rows, t, vt, vt, vt,
                                   gs.StabilitySettings(regularity_search_fraction=0.0), **kw)
    assert fixed["stride_regularity"] < 0.3  # read at the median stride time: misses the peak


def test_regularity_stays_within_one_when_the_ends_are_quieter() -> None:
    """Dividing by the whole window's variance exceeds 1 when the window's middle carries more
    power than its ends (the first and last lag are left out of the products once each); the
    overlapping segments' energies keep the coefficient within [-1, 1]."""
    n = 200
    t = np.arange(12 * n) / n
    x = (1 + np.sin(np.pi * t / 12)) * np.cos(2 * np.pi * t) ** 8
    x -= x.mean()
    old = float(np.dot(x[:-n], x[n:])) / (len(x) - n) / (float(np.dot(x, x)) / len(x))
    assert old > 1.01
    step, stride = gs.regularity_at_peaks(x, (n / 2, n), 0.25)
    assert 0.95 < stride <= 1.0
    assert 0.95 < step <= 1.0
