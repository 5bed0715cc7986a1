"""Tests for gait.events_running and gait.signal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gait.events_running import (
    RunningEvents,
    RunningEventStream,
    assign_running_sides,
    detect_running_events,
    running_cadence_spm,
)
from gait.signal import lowpass_zero_phase, project_on_vertical, vertical_axis_from_gravity
from stridecue.constants import GRAVITY_MPS2, LEFT, RIGHT, UNKNOWN


def synthetic_running(
    *,
    sampling_rate_hz: float,
    n_steps: int = 20,
    step_time_s: float = 0.33,
    contact_time_s: float = 0.22,
    noise_mps2: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-sine vertical force per contact (mean 1 g), flight at 0 g, with an impact transient.

    Returns the vertical specific force (m/s^2), true IC times and true TO times (s).
    """
    rng = np.random.default_rng(seed)
    fs = sampling_rate_hz
    t = np.arange(int((n_steps + 1) * step_time_s * fs)) / fs
    acc = np.zeros_like(t)
    peak = np.pi * step_time_s / (2 * contact_time_s)
    jitter = rng.uniform(-0.01, 0.01, n_steps)
    ic = 0.2 + np.arange(n_steps) * step_time_s + jitter
    ct = contact_time_s + rng.uniform(-0.01, 0.01, n_steps)
    for a, c in zip(ic, ct, strict=True):
        inside = (t >= a) & (t < a + c)
        acc[inside] += peak * np.sin(np.pi * (t[inside] - a) / c)
        imp = (t >= a) & (t < a + 0.03)
        acc[imp] += 1.5 * np.sin(np.pi * (t[imp] - a) / 0.03)  # heel-strike transient
    acc = acc * GRAVITY_MPS2 + rng.normal(0, noise_mps2, t.size)
    return acc, ic, ic + ct


def _match(det: np.ndarray, ref: np.ndarray, tol: float) -> np.ndarray:
    err = []
    for r in ref:
        k = np.argmin(np.abs(det - r))
        if abs(det[k] - r) <= tol:
            err.append(det[k] - r)
    return np.asarray(err)


@pytest.mark.parametrize("fs", [100.0, 200.0, 500.0])
def test_synthetic_contacts_found(fs: float) -> None:
    acc, ic, to = synthetic_running(sampling_rate_hz=fs, noise_mps2=1.0, seed=int(fs))
    ev = detect_running_events(acc, sampling_rate_hz=fs)
    assert isinstance(ev, RunningEvents)
    inner = ic[1:-1]
    err = _match(ev.ic_s, inner, 0.04)
    assert err.size == inner.size
    assert np.mean(np.abs(err)) < 0.015
    # toe-offs paired with their own contact
    ok = ev.to_idx >= 0
    assert ok.sum() >= len(inner)
    assert np.all(ev.to_idx[ok] > ev.ic_idx[ok])
    ct_err = _match(ev.to_s[ok], to[1:-1], 0.04)
    assert ct_err.size >= len(inner) - 3
    assert np.mean(np.abs(ct_err)) < 0.02


def test_still_and_walking_like_signal_gives_no_events() -> None:
    rng = np.random.default_rng(1)
    fs = 200.0
    t = np.arange(2000) / fs
    walking = GRAVITY_MPS2 * (1 + 0.3 * np.sin(2 * np.pi * 1.8 * t)) + rng.normal(0, 0.2, t.size)
    assert len(detect_running_events(walking, sampling_rate_hz=fs)) == 0


def test_nan_gap_warns_nothing_and_skips_events() -> None:
    acc, ic, _ = synthetic_running(sampling_rate_hz=200.0, seed=3)
    acc[400:500] = np.nan
    ev = detect_running_events(acc, sampling_rate_hz=200.0)
    assert not np.any((ev.ic_idx >= 400) & (ev.ic_idx < 500))
    assert len(ev) >= len(ic) - 4


def test_lowpass_keeps_nan_and_removes_noise() -> None:
    rng = np.random.default_rng(2)
    fs = 100.0
    t = np.arange(1000) / fs
    x = np.sin(2 * np.pi * t) + rng.normal(0, 0.3, t.size)
    x[100:110] = np.nan
    y = lowpass_zero_phase(x, sampling_rate_hz=fs, cutoff_hz=3.0)
    assert np.isnan(y[100:110]).all()
    good = np.isfinite(y)
    assert np.std(y[good] - np.sin(2 * np.pi * t[good])) < 0.1


def test_vertical_axis_from_gravity_recovers_tilt() -> None:
    rng = np.random.default_rng(4)
    fs = 100.0
    up = np.array([0.3, -0.2, 0.93])
    up /= np.linalg.norm(up)
    n = 1500
    t = np.arange(n) / fs
    dyn = np.column_stack(
        [np.sin(2 * np.pi * 2.9 * t), 0.5 * np.cos(2 * np.pi * 1.45 * t), np.zeros(n)]
    )
    acc = GRAVITY_MPS2 * up + 3.0 * dyn + rng.normal(0, 0.5, (n, 3))
    est = vertical_axis_from_gravity(acc, sampling_rate_hz=fs, window_s=4.0)
    ang = np.degrees(np.arccos(np.clip(est[n // 2] @ up, -1, 1)))
    assert ang < 2.0
    vert = project_on_vertical(acc, est)
    assert abs(np.mean(vert) - GRAVITY_MPS2) < 0.3


def test_sides_from_ml_acceleration_and_yaw() -> None:
    fs = 200.0
    n = 4000
    ic = np.arange(100, 3900, 66)
    ml = np.zeros(n)
    yaw = np.zeros(n)
    for k, i in enumerate(ic):
        right = k % 2 == 1
        ml[i : i + 30] = 2.0 if right else -2.0  # right stance pushes the body left (+y)
        yaw[i : i + 30] = -1.0 if right else 1.0  # right stance: pelvis turns right
    expected = np.where(np.arange(len(ic)) % 2 == 1, RIGHT, LEFT)
    got = assign_running_sides(ic, sampling_rate_hz=fs, acc_ml_mps2=ml)
    assert (got == expected).all()
    got = assign_running_sides(ic, sampling_rate_hz=fs, gyr_vertical_radps=yaw)
    assert (got == expected).all()
    assert (assign_running_sides(ic, sampling_rate_hz=fs) == UNKNOWN).all()


def _clean_reference(contacts: pd.DataFrame, duration_s: float) -> np.ndarray:
    out: list[list[float]] = []
    for a, b in zip(contacts["ic_s"], contacts["tc_s"], strict=True):
        if out and a - out[-1][1] < 0.03:
            out[-1][1] = b
        else:
            out.append([a, b])
    return np.array(
        [o for o in out if o[1] - o[0] > 0.05 and o[0] >= 0.1 and o[1] <= duration_s - 0.1]
    )


def _load_trial(shared_data: Path, trial: str) -> tuple[pd.DataFrame, float, np.ndarray]:
    folder = shared_data / "sacrum-running" / trial
    imu = pd.read_csv(folder / "imu.csv")
    fs = json.loads((folder / "meta.json").read_text())["sampling_rate_hz"]
    ref = _clean_reference(pd.read_csv(folder / "contacts.csv"), float(imu["time_s"].iloc[-1]))
    return imu, fs, ref


@pytest.mark.parametrize("trial", ["trial_04", "trial_12", "trial_22", "trial_30"])
def test_real_sacrum_running(shared_data: Path, trial: str) -> None:
    imu, fs, ref = _load_trial(shared_data, trial)
    vert = imu["acc_vertical_g"].to_numpy() * GRAVITY_MPS2
    ap = imu["acc_ap_g"].to_numpy() * GRAVITY_MPS2
    # with AP: the targets (8 ms, 1 spm); vertical only misses them a little (see the bench)
    for acc_ap, tol_s, tol_spm in ((ap, 0.008, 1.0), (None, 0.015, 1.5)):
        ev = detect_running_events(vert, sampling_rate_hz=fs, acc_ap_mps2=acc_ap)
        det = ev.ic_s + imu["time_s"].iloc[0]
        det = det[(det >= ref[0, 0] - 0.04) & (det <= ref[-1, 0] + 0.04)]
        err = _match(det, ref[:, 0], 0.04)
        f1 = 2 * err.size / (det.size + ref.shape[0])
        assert f1 >= 0.98
        assert np.mean(np.abs(err)) <= tol_s
        assert abs(running_cadence_spm(det) - running_cadence_spm(ref[:, 0])) < tol_spm


def test_cadence_counts_missed_steps_and_skips_pauses() -> None:
    t = 0.35 * np.arange(30)
    assert running_cadence_spm(t) == pytest.approx(60 / 0.35)
    assert running_cadence_spm(np.delete(t, [10, 20])) == pytest.approx(60 / 0.35)
    paused = np.concatenate([t, t[-1] + 20.0 + t])  # a 20-s pause between two bouts
    assert running_cadence_spm(paused) == pytest.approx(60 / 0.35)
    with pytest.warns(RuntimeWarning):
        assert np.isnan(running_cadence_spm(np.array([1.0])))


def _stream(acc: np.ndarray, ap: np.ndarray | None, fs: float, chunk_s: float, **kw) -> np.ndarray:
    stream = RunningEventStream(sampling_rate_hz=fs, **kw)
    step = max(1, int(chunk_s * fs))
    out = []
    for i in range(0, len(acc), step):
        out += stream.update(acc[i : i + step], None if ap is None else ap[i : i + step])
    out += stream.finish()
    return np.array(out).reshape(-1, 2)


@pytest.mark.parametrize("chunk_s", [0.05, 1.0])
def test_stream_equals_batch_synthetic(chunk_s: float) -> None:
    fs = 200.0
    acc, _, _ = synthetic_running(sampling_rate_hz=fs, n_steps=40, noise_mps2=1.0, seed=7)
    batch = detect_running_events(acc, sampling_rate_hz=fs)
    got = _stream(acc, None, fs, chunk_s, lookahead_s=1.0)
    assert got.shape[0] == len(batch)
    np.testing.assert_allclose(got[:, 0], batch.ic_s, atol=1e-6)
    np.testing.assert_allclose(got[:, 1], batch.to_s, atol=1e-6)


def test_stream_events_are_decided_within_the_lookahead() -> None:
    fs = 200.0
    acc, ic, _ = synthetic_running(sampling_rate_hz=fs, n_steps=30, seed=8)
    stream = RunningEventStream(sampling_rate_hz=fs, lookahead_s=1.0)
    step = int(0.1 * fs)
    for i in range(0, len(acc), step):
        now_s = (i + step) / fs
        for ic_s, _ in stream.update(acc[i : i + step]):
            assert now_s - 1.0 - 0.1 <= ic_s < now_s - 1.0  # decided as soon as 1 s old
    with pytest.raises(ValueError, match="every chunk"):
        stream.update(acc[:10], acc[:10])


def test_stream_equals_batch_real(shared_data: Path) -> None:
    imu, fs, _ = _load_trial(shared_data, "trial_08")
    vert = imu["acc_vertical_g"].to_numpy() * GRAVITY_MPS2
    ap = imu["acc_ap_g"].to_numpy() * GRAVITY_MPS2
    batch = detect_running_events(vert, sampling_rate_hz=fs, acc_ap_mps2=ap)
    got = _stream(vert, ap, fs, 1.0, lookahead_s=1.0)
    assert got.shape[0] == len(batch)
    np.testing.assert_allclose(got[:, 0], batch.ic_s, atol=1e-6)


def test_real_sacrum_running_through_import_and_analyse(shared_data: Path, tmp_path: Path) -> None:
    """Every trial's imu.csv, as given, through the CLI: the issue's targets on the events file.

    The file's acc_vertical_g / acc_ap_g columns are body axes in g without a gyroscope, so the
    analysis takes its vertical and forward signals from them (bench_events_running's product
    rows; the figures there: F1 0.996, IC 5.6 ms, contact time 12.7 ms, cadence <= 0.5 spm).
    """
    from stridecue.cli import main

    n_ref = n_det = n_hit = 0
    ic_mae, ct_mae = [], []
    for folder in sorted((shared_data / "sacrum-running").glob("trial_*")):
        imu, _, ref = _load_trial(shared_data, folder.name)
        session, out = tmp_path / folder.name, tmp_path / f"{folder.name}-out"
        assert main(["import", "--sacrum", str(folder / "imu.csv"), "--out", str(session)]) == 0
        assert main(["analyse", str(session), "--out", str(out), "--no-report",
                     "--no-history"]) == 0
        ev = pd.read_csv(out / "events.csv")
        ic = ev.loc[ev["event"] == "initial_contact", "time_s"].to_numpy()
        to = ev.loc[ev["event"] == "toe_off", "time_s"].to_numpy()
        keep = (ic >= ref[0, 0] - 0.04) & (ic <= ref[-1, 0] + 0.04)
        err, ct_err = [], []
        for r_ic, r_to in ref:
            k = int(np.argmin(np.abs(ic - r_ic)))
            if abs(ic[k] - r_ic) <= 0.04:
                err.append(ic[k] - r_ic)
                nxt = ic[k + 1] if k + 1 < len(ic) else np.inf
                own = to[(to > ic[k]) & (to < nxt)]
                ct_err.append((own[0] - ic[k]) - (r_to - r_ic) if len(own) else np.nan)
        n_ref, n_det, n_hit = n_ref + len(ref), n_det + int(keep.sum()), n_hit + len(err)
        ic_mae.append(np.mean(np.abs(err)))
        ct_mae.append(np.nanmean(np.abs(ct_err)))
        cadence_err_spm = running_cadence_spm(ic[keep]) - running_cadence_spm(ref[:, 0])
        assert abs(cadence_err_spm) <= 1.0, folder.name
    assert 2 * n_hit / (n_ref + n_det) >= 0.98
    assert np.mean(ic_mae) <= 0.008
    assert np.mean(ct_mae) <= 0.015
