"""The restructured running-event detector and side votes give the previous results bit for bit.

``tests/events_running_reference.py`` keeps the implementation before the speed-up. Here both
run on random windows (running-like force curves, noise, ties, NaN gaps, odd parameters, short
windows), on real recordings cut into stream-sized windows, and the small helpers are pinned to
the numpy functions they replace.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly

from gait.events_running import (
    _bridged_run,
    _nan_to_num,
    _nanstd,
    _runs,
    _stance_windows,
    _window_means,
    assign_running_sides,
    detect_running_events,
)
from gait.signal import gradient, lowpass_zero_phase, nan_median
from stridecue.constants import GRAVITY_MPS2
from tests import events_running_reference as ref


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with warnings off (both versions warn alike on degenerate input)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and values, NaN in the same places."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return a.tolist() == b.tolist()
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def _assert_events_equal(vert: np.ndarray, ap: np.ndarray | None, fs: float, **params) -> int:
    new = _quiet(detect_running_events, vert, sampling_rate_hz=fs, acc_ap_mps2=ap, **params)
    old = _quiet(ref.detect_running_events, vert, sampling_rate_hz=fs, acc_ap_mps2=ap, **params)
    for field in ("ic_idx", "to_idx", "ic_pos", "to_pos"):
        assert _same(getattr(new, field), getattr(old, field)), (field, params)
    return len(new)


def _running_like(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Vertical specific force in g: half-sine contacts of random rhythm, impact and noise."""
    t = np.arange(n) / fs
    acc = np.zeros(n)
    ic = rng.uniform(-0.3, 0.1)
    while ic < t[-1] if n else False:
        contact = rng.uniform(0.12, 0.32)
        inside = (t >= ic) & (t < ic + contact)
        acc[inside] += rng.uniform(1.5, 3.5) * np.sin(np.pi * (t[inside] - ic) / contact)
        if rng.random() < 0.5:
            imp = (t >= ic) & (t < ic + 0.03)
            acc[imp] += rng.uniform(0, 1.5) * np.sin(np.pi * (t[imp] - ic) / 0.03)
        ic += contact + rng.uniform(0.03, 0.2) if rng.random() < 0.95 else rng.uniform(0.5, 1.5)
    acc += rng.normal(0, rng.choice([0.0, 0.02, 0.1, 0.4]), n)
    if rng.random() < 0.3:  # pre-filtered and clipped at 0 g like the treadmill data
        acc = np.maximum(acc, 0.0)
    if rng.random() < 0.2:  # coarse quantisation: ties in every search
        acc = np.round(acc, 1)
    return acc


def _with_gaps(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    x = x.copy()
    for _ in range(rng.integers(0, 4)):
        a = rng.integers(0, len(x))
        x[a : a + rng.integers(1, 40)] = np.nan if rng.random() < 0.9 else np.inf
    return x


def test_detector_equals_previous_on_random_windows() -> None:
    rng = np.random.default_rng(11)
    found = 0
    for case in range(800):
        fs = float(rng.choice([100.0, 200.0, 500.0]))
        n = int(rng.choice([4, 7, 30, 120, int(3.25 * fs)]))
        vert_g = _running_like(rng, n, fs)
        ap_g = np.gradient(vert_g) * rng.uniform(-5, 5) + rng.normal(0, 0.1, n)
        if case % 3 == 0:
            vert_g, ap_g = _with_gaps(rng, vert_g), _with_gaps(rng, ap_g)
        params = {}
        if case % 4 == 1:
            params = {"contact_level_g": float(rng.choice([0.0, 0.1, 0.6])),
                      "bridge_s": float(rng.choice([0.0, 0.03, 0.1])),
                      "max_floor_g": float(rng.uniform(0.2, 1.2)),
                      "min_peak_g": float(rng.uniform(1.0, 2.5)),
                      "ap_search_s": float(rng.choice([0.01, 0.06, 0.2]))}
        ap = None if case % 5 == 0 else ap_g * GRAVITY_MPS2
        if case % 7 == 0 and ap is not None:
            ap[:] = np.nan if case % 2 else ap[0]  # AP unusable: all NaN / constant
        found += _assert_events_equal(vert_g * GRAVITY_MPS2, ap, fs, **params)
    assert found > 1200  # most long windows hold contacts


def test_sides_equal_previous_on_random_input() -> None:
    rng = np.random.default_rng(12)
    for case in range(600):
        n = int(rng.choice([40, 200, 650]))
        k = int(rng.integers(0, 14))
        ic = np.sort(rng.integers(-3, n + 3, k))
        if case % 4 == 0:  # a step rhythm with a pause
            ic = np.cumsum(rng.integers(50, 80, k)) - rng.integers(0, 60)
            ic[k // 2 :] += rng.integers(0, 200)
        signals = {}
        for name in ("gyr_vertical_radps", "acc_ml_mps2", "thigh_left_flexion_radps",
                     "thigh_right_flexion_radps"):
            if rng.random() < 0.7:
                x = rng.normal(0, 1, n) + np.sin(np.arange(n) * rng.uniform(0.02, 0.06))
                signals[name] = _with_gaps(rng, x) if rng.random() < 0.4 else x
        if case % 9 == 0 and signals:  # one signal all NaN, one constant
            name = next(iter(signals))
            signals[name] = np.full(n, np.nan if case % 2 else 1.0)
        if case % 11 == 0 and signals:  # one signal shorter than the others
            name = next(reversed(signals))
            signals[name] = signals[name][: int(rng.integers(1, n))]
        kw = {"sampling_rate_hz": float(rng.choice([100.0, 200.0])),
              "stance_window_s": float(rng.choice([0.005, 0.15, 0.5])),
              "max_step_time_s": float(rng.choice([0.3, 0.6]))}
        new = _quiet(assign_running_sides, ic, **kw, **signals)
        old = _quiet(ref.assign_running_sides, ic, **kw, **signals)
        assert _same(new, old), (case, ic, kw)


def test_helpers_match_numpy() -> None:
    rng = np.random.default_rng(13)
    for _ in range(300):
        x = rng.normal(0, 1, int(rng.integers(1, 40)))
        x[rng.random(x.size) < 0.3] = np.nan
        if rng.random() < 0.2:
            x[rng.integers(0, x.size)] = rng.choice([np.inf, -np.inf])
        with np.errstate(all="ignore"):
            for values in (x, x / 1e-300):  # overflow to +-inf
                assert _same(_nan_to_num(values), np.nan_to_num(values))
        if np.isnan(x).all():
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            assert _same(np.float64(nan_median(x)), np.float64(np.nanmedian(x)))
            assert _same(np.float64(_nanstd(x)), np.float64(np.nanstd(x)))
        # stance windows: nanmean of x[ic:stop] with Python's slice rules
        ic = np.sort(rng.integers(-5, x.size + 5, rng.integers(1, 6)))
        width = int(rng.integers(1, 12))
        rows = np.stack([x, -x[::-1], np.roll(x, 3)])
        means = _window_means(rows, _stance_windows(ic, x.size, width), len(ic))
        for k, i in enumerate(ic):
            stop = min(i + width, x.size, *ic[k + 1 : k + 2])
            for row, mean in zip(rows, means[:, k], strict=True):
                window = row[slice(int(i), max(int(stop), int(i) + 1))]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expected = np.nanmean(window) if np.isfinite(window).any() else np.nan
                assert _same(mean, expected)
        if x.size >= 2:
            assert _same(gradient(x), np.gradient(x))
            assert _same(gradient(x, 0.005), np.gradient(x, 0.005))


def test_bridged_run_is_the_bridging_pass() -> None:
    """Walking the runs gives what bridging every short inner gap, then scanning, gives."""
    rng = np.random.default_rng(14)
    for _ in range(2000):
        below = rng.random(int(rng.integers(1, 60))) < rng.uniform(0.2, 0.9)
        j = int(rng.integers(0, below.size))
        bridge = int(rng.integers(0, 6))
        bridged = below.copy()
        for start, stop in _runs(~below):
            if start > 0 and stop < below.size and stop - start <= bridge:
                bridged[start:stop] = True
        r0 = j - int(np.argmin(bridged[j::-1])) if not bridged[: j + 1].all() else 0
        r1 = j + int(np.argmin(bridged[j:])) if not bridged[j:].all() else below.size
        assert _bridged_run(below, j, bridge) == (r0, r1)


def test_lowpass_columns_together_equal_alone() -> None:
    rng = np.random.default_rng(15)
    for n in (2, 3, 30, 700):
        x = rng.normal(0, 1, (n, 4)).cumsum(axis=0)
        x[rng.random((n, 4)) < 0.1] = np.nan
        x[:, 2] = np.nan  # unusable column
        x[1:, 3] = np.nan  # one finite sample
        got = lowpass_zero_phase(x, sampling_rate_hz=200.0, cutoff_hz=20.0)
        assert got.flags.c_contiguous
        assert _same(got, ref.lowpass_zero_phase(x, sampling_rate_hz=200.0, cutoff_hz=20.0))
        for k in range(4):
            one = lowpass_zero_phase(x[:, k], sampling_rate_hz=200.0, cutoff_hz=4.0, order=2)
            assert _same(one, ref.lowpass_zero_phase(x[:, k], sampling_rate_hz=200.0,
                                                     cutoff_hz=4.0, order=2))


def _treadmill(shared_data: Path) -> list[tuple[np.ndarray, np.ndarray, float]]:
    out = []
    for folder in sorted((shared_data / "sacrum-running").glob("trial_*")):
        imu = pd.read_csv(folder / "imu.csv")
        fs = json.loads((folder / "meta.json").read_text())["sampling_rate_hz"]
        out.append((imu["acc_vertical_g"].to_numpy(), imu["acc_ap_g"].to_numpy(), fs))
    return out


@pytest.mark.shared_data
def test_equal_previous_on_real_windows(shared_data: Path) -> None:
    """Stream-sized windows (3.25 s) of the treadmill trials, at 500 Hz and at 200 Hz with noise
    and NaN gaps; side votes on the lower-back walking recordings around their contacts."""
    rng = np.random.default_rng(16)
    found = 0
    for vert_g, ap_g, fs in _treadmill(shared_data):
        low = [resample_poly(s, 2, 5) + rng.normal(0, 0.05, (len(s) * 2 + 4) // 5)
               for s in (vert_g, ap_g)]
        for v, a, f in ((vert_g, ap_g, fs), (*low, fs * 0.4)):
            size, hop = int(3.25 * f), int(0.8 * f)
            for i in range(0, len(v) - size + 1, hop):
                w_v, w_a = v[i : i + size] * GRAVITY_MPS2, a[i : i + size] * GRAVITY_MPS2
                found += _assert_events_equal(w_v, w_a, f)
                found += _assert_events_equal(_with_gaps(rng, w_v), _with_gaps(rng, w_a), f)
    assert found > 300
    for folder in sorted((shared_data / "lowerback-walking").glob("*"))[:3]:
        imu = pd.read_csv(folder / "imu.csv")
        ic_s = pd.read_csv(folder / "initial_contacts.csv").iloc[:, 0].to_numpy()
        fs = json.loads((folder / "meta.json").read_text())["sampling_rate_hz"]
        ic = np.rint((ic_s - imu["time_s"].iloc[0]) * fs).astype(np.int64)
        size = int(3.25 * fs)
        for i in range(0, len(imu) - size + 1, int(0.5 * fs)):
            w = imu.iloc[i : i + size]
            sig = {"acc_ml_mps2": w["acc_y"].to_numpy(),
                   "gyr_vertical_radps": w["gyr_x"].to_numpy()}
            ic_w = ic[(ic >= i) & (ic < i + size)] - i
            new = assign_running_sides(ic_w, sampling_rate_hz=fs, **sig)
            assert _same(new, ref.assign_running_sides(ic_w, sampling_rate_hz=fs, **sig))
