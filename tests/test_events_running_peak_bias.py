"""The vertical-only timing correction by the contact's peak force (gait.events_running)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gait.events_running import (
    VERTICAL_IC_PEAK_BIAS,
    RunningEvents,
    contact_peak_g,
    correct_vertical_ic_timing,
    detect_running_events,
)
from stridecue.constants import GRAVITY_MPS2

FS = 200.0


def _contacts(peaks_g: list[float]) -> tuple[np.ndarray, RunningEvents]:
    """Half-sine contacts of the given peaks (0.2 s contact, 0.35 s step) on 0 g flights."""
    t = np.arange(int(0.35 * (len(peaks_g) + 1) * FS)) / FS
    acc = np.zeros_like(t)
    ic, to = [], []
    for k, p in enumerate(peaks_g):
        t0 = 0.2 + 0.35 * k
        m = (t >= t0) & (t < t0 + 0.2)
        acc[m] = p * np.sin(np.pi * (t[m] - t0) / 0.2)
        ic.append(t0 * FS)
        to.append((t0 + 0.2) * FS)
    ic_pos, to_pos = np.array(ic), np.array(to)
    to_pos[-1] = np.nan  # the last contact has no toe-off: it keeps its time
    ev = RunningEvents(np.round(ic_pos).astype(np.int64), np.where(np.isfinite(to_pos),
                       np.round(np.nan_to_num(to_pos)), -1).astype(np.int64), ic_pos, to_pos, FS)
    return acc * GRAVITY_MPS2, ev


def test_shift_follows_the_peak_force():
    acc, ev = _contacts([2.0, 3.0, 4.0, 3.0])
    peak = contact_peak_g(ev, acc)
    np.testing.assert_allclose(peak[:3], [2.0, 3.0, 4.0], atol=0.05)
    assert np.isnan(peak[3])
    out = correct_vertical_ic_timing(ev, acc, coefficients=(0.02, -0.005))
    shift_s = (out.ic_pos - ev.ic_pos) / FS
    np.testing.assert_allclose(shift_s[:3], -(0.02 - 0.005 * peak[:3]), atol=1e-9)
    assert shift_s[3] == 0.0
    np.testing.assert_array_equal(out.ic_idx, np.round(out.ic_pos).astype(np.int64))
    np.testing.assert_array_equal(out.to_pos, ev.to_pos)


def _trial(root: Path) -> tuple[np.ndarray, float, float, np.ndarray]:
    imu = pd.read_csv(root / "imu.csv")
    fs = float(json.loads((root / "meta.json").read_text())["sampling_rate_hz"])
    ref = pd.read_csv(root / "contacts.csv")["ic_s"].to_numpy()
    return imu["acc_vertical_g"].to_numpy() * GRAVITY_MPS2, fs, float(imu["time_s"].iloc[0]), ref


@pytest.mark.shared_data
def test_real_vertical_only_error_shrinks(shared_data: Path):
    """Over all 16 treadmill trials (in-sample for the shipped constants: see the bench for LOO)."""
    before, after = [], []
    for folder in sorted((shared_data / "sacrum-running").glob("trial_*")):
        acc, fs, t0, ref = _trial(folder)
        ev = detect_running_events(acc, sampling_rate_hz=fs)
        for events, out in ((ev, before), (correct_vertical_ic_timing(ev, acc), after)):
            det = events.ic_s + t0
            k = np.clip(np.searchsorted(det, ref), 1, len(det) - 1)
            k = np.where(np.abs(det[k - 1] - ref) < np.abs(det[k] - ref), k - 1, k)
            err = det[k] - ref
            out.append(np.mean(np.abs(err[(np.abs(err) <= 0.04) & (ref > t0 + 0.1)])))
    assert VERTICAL_IC_PEAK_BIAS[1] < 0  # harder landings come early
    assert np.mean(after) < np.mean(before) - 0.0005  # measured 7.5 -> 6.6 ms (raw reference)
    assert np.mean(after) <= 0.0072
