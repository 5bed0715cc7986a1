"""Activity bouts: synthetic still/walking/running and the real walking and running recordings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gait.activity import classify_activity, merge_short_runs
from stridecue.constants import GRAVITY_MPS2, RUNNING, STILL, WALKING
from stridecue.errors import InputError

FS = 100.0
G = GRAVITY_MPS2


def segment(kind: str, seconds: float, rng: np.random.Generator, fs: float = FS) -> np.ndarray:
    """Sensor-frame acceleration (x up) of one synthetic activity."""
    t = np.arange(int(seconds * fs)) / fs
    if kind == STILL:
        f_v = np.ones_like(t)
    elif kind == WALKING:
        f_v = 1 + 0.25 * np.cos(2 * np.pi * 1.8 * t)
    else:  # running: contact half-sine peaking 2.6 g, flight at 0 g, 2.8 steps/s
        phase = (t * 2.8) % 1.0
        f_v = np.where(phase < 0.45, 2.6 * np.sin(np.pi * phase / 0.45), 0.0)
    acc = np.c_[G * f_v, np.zeros_like(t), np.zeros_like(t)]
    return acc + rng.normal(0, 0.03, acc.shape)


def test_synthetic_sequence_is_split_into_bouts():
    rng = np.random.default_rng(0)
    acc = np.vstack(
        [segment(STILL, 10, rng), segment(WALKING, 20, rng), segment(RUNNING, 20, rng),
         segment(STILL, 10, rng)]
    )
    bouts = classify_activity(acc, sampling_rate_hz=FS, start_time_s=100.0)
    assert list(bouts["activity"]) == [STILL, WALKING, RUNNING, STILL]
    np.testing.assert_allclose(bouts["start_s"].iloc[1:], [110, 130, 150], atol=2.0)
    assert bouts["start_s"].iloc[0] == 100.0
    assert bouts["end_s"].iloc[-1] == pytest.approx(160.0)


def test_short_interruption_is_merged():
    rng = np.random.default_rng(1)
    acc = np.vstack([segment(WALKING, 15, rng), segment(STILL, 1, rng), segment(WALKING, 15, rng)])
    bouts = classify_activity(acc, sampling_rate_hz=FS)
    assert list(bouts["activity"]) == [WALKING]


def test_bad_input_raises():
    with pytest.raises(InputError):
        classify_activity(np.zeros((100, 2)), sampling_rate_hz=FS)


def _label_at(bouts: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    lab = np.full(len(t), "", dtype=object)
    for _, b in bouts.iterrows():
        lab[(t >= b.start_s) & (t <= b.end_s)] = b.activity
    return lab


@pytest.mark.shared_data
def test_real_walks_are_walking(shared_data):
    for name in ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2", "HA_001_Test11_Trial1"):
        trial = shared_data / "lowerback-walking" / name
        imu = pd.read_csv(trial / "imu.csv")
        ref = pd.read_csv(trial / "walking_bouts.csv")
        bouts = classify_activity(imu[["acc_x", "acc_y", "acc_z"]].to_numpy(), sampling_rate_hz=100)
        t = imu["time_s"].to_numpy()
        inside = np.zeros(len(t), bool)
        for _, b in ref.iterrows():
            inside |= (t >= b.start_s) & (t <= b.end_s)
        frac = np.mean(_label_at(bouts, t)[inside] == WALKING)
        assert frac >= (0.95 if "Test5" in name else 0.70), name
        assert not (bouts["activity"] == RUNNING).any()


@pytest.mark.shared_data
def test_real_sacrum_running_is_running(shared_data):
    trials = sorted(p for p in (shared_data / "sacrum-running").iterdir() if p.is_dir())
    assert trials
    for trial in trials:
        imu = pd.read_csv(trial / "imu.csv")
        acc = np.c_[imu["acc_vertical_g"] * G, imu["acc_ap_g"] * G, np.zeros(len(imu))]
        bouts = classify_activity(acc, sampling_rate_hz=500)
        assert list(bouts["activity"]) == [RUNNING], trial.name


def test_kept_labels_are_never_merged_away():
    runs = [[0.0, 10.0, "still"], [10.0, 11.5, "walking"], [11.5, 12.5, "still"],
            [12.5, 20.0, "running"]]
    assert merge_short_runs(runs, 3.0) == [[0.0, 11.5, "still"], [11.5, 20.0, "running"]]
    kept = merge_short_runs(runs, 3.0, keep=("walking",))
    # the short walk stays; the short still after it joins its longer neighbour (the walk)
    assert kept == [[0.0, 10.0, "still"], [10.0, 12.5, "walking"], [12.5, 20.0, "running"]]


def _mixed_recording(rng: np.random.Generator, fs: float) -> np.ndarray:
    """Random still/walking/running stretches at ``fs``, tilted, with gaps and a dead stretch."""
    acc = np.vstack([segment(str(rng.choice([STILL, WALKING, RUNNING])),
                             float(rng.uniform(1.5, 6)), rng, fs) for _ in range(4)])
    acc = acc @ np.linalg.qr(rng.normal(size=(3, 3)))[0]  # any mounting
    for _ in range(rng.integers(0, 4)):
        i = rng.integers(0, len(acc))
        acc[i : i + rng.integers(1, int(fs)), rng.integers(0, 3)] = np.nan
    if rng.random() < 0.2:
        i = rng.integers(0, len(acc))
        acc[i : i + int(2 * fs)] = np.nan  # most of a window missing
    return acc


def test_window_labels_equal_reference():
    """classify_windows / activity_label give the numbers of the plain numpy calls, bit for bit."""
    from gait.activity import _window_rows, activity_label
    from tests import reference_measures as ref

    rng = np.random.default_rng(5)
    for _ in range(60):
        fs = float(rng.choice([50.0, 100.0, 128.0, 200.0, 500.0]))
        acc = _mixed_recording(rng, fs)
        window_s = float(rng.choice([3.0, 1.0, len(acc) / fs]))
        new, old = _window_rows(acc, fs, window_s), ref.window_rows(acc, fs, window_s)
        assert len(new) == len(old)
        for a, b in zip(new, old, strict=True):
            assert a[2] == b[2]
            assert np.array_equal(a[:2] + a[3:], b[:2] + b[3:], equal_nan=True)
        tail = acc[-int(3 * fs) :]
        assert activity_label(tail, sampling_rate_hz=fs) == ref.activity_label(tail,
                                                                              sampling_rate_hz=fs)


def test_percentiles_and_lag_products_equal_numpy():
    from gait.activity import _lag_products, _percentiles

    rng = np.random.default_rng(6)
    for _ in range(2000):
        n = int(rng.integers(1, 700))
        x = rng.normal(size=n)
        if rng.random() < 0.3:
            x = np.round(x, 1)  # ties
        if rng.random() < 0.05:
            x[rng.integers(n)] = np.nan
        q = (float(rng.uniform(0, 100)), 98.0, 2.0, 100.0, 0.0)
        assert np.array_equal(_percentiles(x, q), np.percentile(x, q), equal_nan=True)
        if n >= 2:
            lo = int(rng.integers(0, n - 1))
            hi = int(rng.integers(lo, n))
            full = np.correlate(x, x, mode="full")[n - 1 :]
            assert np.array_equal(_lag_products(x, lo, hi), full[lo : hi + 1], equal_nan=True)
