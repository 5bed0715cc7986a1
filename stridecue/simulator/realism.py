"""Compare the simulator's sacrum contact waveforms with real treadmill running.

The real recordings (``../shared/data/sacrum-running``, Alcantara et al. 2022, PeerJ 10:e12752,
Apache-2.0) hold the sacrum's vertical and antero-posterior (AP) specific force in g at 500 Hz,
low-pass filtered at 20 Hz with negative vertical values clipped at 0 by the authors, and the
force-plate contacts. The simulator is processed the same way: a run at each trial's speed,
cadence and contact time on a straight, the sacrum's earth-vertical and forward specific force
from the clean accelerometer rotated by the truth orientation, 20 Hz zero-phase low-pass (4th
order Butterworth, forward-backward), vertical clipped at 0 g. Both are then cut around every
initial contact (force-plate IC for the real data, truth IC for the simulator) from
``-WINDOW_PRE_S`` to ``+WINDOW_POST_S``.

Features per contact (the markers the running-event detector uses, see
:mod:`gait.events_running`), in ms after the IC:

- ``ap_drop_ms``: the steepest descent of the AP signal (after the detector's 20 Hz low-pass)
  within -30..+60 ms of the IC (braking onset).
- ``rise10_ms``: the last upward crossing of ``floor + 0.1 (peak - floor)`` by the vertical
  signal before its first peak, with ``floor`` its minimum over -100..0 ms and ``peak`` the first
  local maximum at least 0.8 g above the floor (the detector's vertical-only marker).
- ``impact_peak_ms``/``impact_peak_g``: that first peak's time and value.

Walking: the simulator's walking step (pelvis height and forward-speed fluctuation over the
step, and the phase of the pelvis rotation) is computed here from the real straight lab walks of
``../shared/data/lowerback-walking`` (:func:`walking_step_harmonics`,
:func:`walking_rotation_phase`); ``stridecue.simulator.kinematics`` holds the result.

This module is used by ``bench/bench_simulator_realism.py`` and
``tests/test_simulator_vs_real.py``; it is not needed to simulate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt

from stridecue.constants import GRAVITY_MPS2, SACRUM

from .core import simulate
from .plan import Phase, SensorSpec, SessionPlan

#: Window around each initial contact (s).
WINDOW_PRE_S = 0.10
WINDOW_POST_S = 0.30
#: Sampling rate of the real data and of the simulated sensor used for the comparison (Hz).
FS_HZ = 500.0
#: The authors' low-pass (Hz).
LOWPASS_HZ = 20.0
#: Search window of the AP steepest descent, relative to IC (s).
AP_SEARCH_S = (-0.03, 0.06)
#: Vertical marker: rise fraction and minimum peak height above the floor (g).
RISE_FRACTION = 0.1
PEAK_RISE_G = 0.8


@dataclass
class ContactWaveforms:
    """Contact-aligned waveforms of one trial (real or simulated).

    Attributes
    ----------
    name
        Trial name.
    speed_mps, cadence_spm, contact_time_s
        Median running parameters of the trial.
    vertical_g, ap_g
        (n_contacts, n_window) specific force in g, aligned on IC (AP with the trial mean
        removed: the real AP axis is the sensor's, so its gravity offset depends on mounting).
    features
        One row per contact: ``ap_drop_ms``, ``rise10_ms``, ``impact_peak_ms``,
        ``impact_peak_g``.
    detector_bias_ms
        Mean IC error (detected - reference, ms) of the running-event detector
        (:func:`gait.events_running.detect_running_events`, shipped defaults) on the whole
        processed trial, ``{"ap": ..., "vertical": ...}`` (with the AP signal / vertical only;
        contacts matched within 40 ms).
    """

    name: str
    speed_mps: float
    cadence_spm: float
    contact_time_s: float
    vertical_g: np.ndarray
    ap_g: np.ndarray
    features: pd.DataFrame
    detector_bias_ms: dict[str, float]


def window_time_s() -> np.ndarray:
    """Time axis of the contact windows (s, 0 = IC)."""
    n0, n1 = int(round(WINDOW_PRE_S * FS_HZ)), int(round(WINDOW_POST_S * FS_HZ))
    return np.arange(-n0, n1 + 1) / FS_HZ


def _lowpass(x: np.ndarray) -> np.ndarray:
    sos = butter(4, LOWPASS_HZ, fs=FS_HZ, output="sos")
    return sosfiltfilt(sos, x)


def contact_features(vertical_g: np.ndarray, ap_g: np.ndarray) -> dict[str, float]:
    """Marker times (ms after IC) of one contact window (see the module docstring).

    Parameters
    ----------
    vertical_g, ap_g
        One window each (length of :func:`window_time_s`), already low-passed the way the
        detector does.

    Returns
    -------
    dict
        ``ap_drop_ms``, ``rise10_ms``, ``impact_peak_ms``, ``impact_peak_g`` (NaN if absent).
    """
    t = window_time_s()
    i0 = int(np.argmin(np.abs(t)))
    dap = np.gradient(ap_g)
    lo, hi = i0 + int(round(AP_SEARCH_S[0] * FS_HZ)), i0 + int(round(AP_SEARCH_S[1] * FS_HZ))
    k = lo + int(np.argmin(dap[lo:hi]))
    if lo < k < hi - 1:
        y0, y1, y2 = dap[k - 1], dap[k], dap[k + 1]
        den = y0 - 2 * y1 + y2
        k = k + (float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5)) if den > 0 else 0.0)
    ap_drop = float(np.interp(k, np.arange(len(t)), t))
    floor = float(np.min(vertical_g[: i0 + 1]))
    level_pk = floor + PEAK_RISE_G
    seg = vertical_g[i0 - 10 :]
    ok = np.flatnonzero((seg[1:-1] >= level_pk) & (seg[1:-1] >= seg[:-2]) & (seg[1:-1] >= seg[2:]))
    out = {"ap_drop_ms": 1e3 * ap_drop, "rise10_ms": np.nan,
           "impact_peak_ms": np.nan, "impact_peak_g": np.nan}  # fmt: skip
    if ok.size == 0:
        return out
    pk = i0 - 10 + 1 + int(ok[0])
    level = floor + RISE_FRACTION * (vertical_g[pk] - floor)
    s = vertical_g[: pk + 1]
    hit = np.flatnonzero((s[:-1] < level) & (s[1:] >= level))
    if hit.size:
        j = int(hit[-1])
        pos = j + (level - s[j]) / (s[j + 1] - s[j])
        out["rise10_ms"] = 1e3 * float(np.interp(pos, np.arange(len(t)), t))
    out["impact_peak_ms"] = 1e3 * float(t[pk])
    out["impact_peak_g"] = float(vertical_g[pk])
    return out


def _detector_bias_ms(vert_g: np.ndarray, ap_g: np.ndarray, ic_s: np.ndarray) -> dict[str, float]:
    from gait.events_running import detect_running_events

    out = {}
    for key, ap in (("ap", ap_g), ("vertical", None)):
        ev = detect_running_events(
            vert_g * GRAVITY_MPS2, sampling_rate_hz=FS_HZ,
            acc_ap_mps2=None if ap is None else ap * GRAVITY_MPS2,
        )  # fmt: skip
        err = []
        for r in ic_s:
            k = int(np.argmin(np.abs(ev.ic_s - r))) if len(ev) else -1
            if k >= 0 and abs(ev.ic_s[k] - r) <= 0.04:
                err.append(ev.ic_s[k] - r)
        out[key] = 1e3 * float(np.mean(err)) if err else float("nan")
    return out


def _cut(vert_g, ap_g, ic_s, name, speed, cadence, ct) -> ContactWaveforms:
    """Detector bias on the whole trial, then contact windows (IC rounded to a sample)."""
    bias = _detector_bias_ms(vert_g, ap_g, ic_s)
    ic_idx = np.round(np.asarray(ic_s) * FS_HZ).astype(int)
    n0, n1 = int(round(WINDOW_PRE_S * FS_HZ)), int(round(WINDOW_POST_S * FS_HZ))
    ok = (ic_idx - n0 >= 0) & (ic_idx + n1 < len(vert_g))
    ic_idx = ic_idx[ok]
    ap_g = ap_g - np.mean(ap_g)
    # the detector's own 20 Hz low-pass (a second pass on the real data, as it does there)
    vf, af = _lowpass(vert_g), _lowpass(ap_g)
    v = np.array([vf[i - n0 : i + n1 + 1] for i in ic_idx])
    a = np.array([af[i - n0 : i + n1 + 1] for i in ic_idx])
    feats = pd.DataFrame([contact_features(v[k], a[k]) for k in range(len(ic_idx))])
    return ContactWaveforms(name, speed, cadence, ct, v, a, feats, bias)


def load_real_trials(data_dir: Path) -> list[ContactWaveforms]:
    """Contact-aligned waveforms of every trial of ``data_dir`` (``sacrum-running``).

    Contacts whose window does not fit in the recording, or that start in the first 0.1 s or
    end in the last 0.1 s (partial), are left out.
    """
    out = []
    for tr in sorted(Path(data_dir).glob("trial_*")):
        imu = pd.read_csv(tr / "imu.csv")
        c = pd.read_csv(tr / "contacts.csv")
        meta = json.loads((tr / "meta.json").read_text())
        t_end = float(imu["time_s"].iloc[-1])
        c = c[(c["ic_s"] > 0.1) & (c["tc_s"] < t_end - 0.1) & (c["tc_s"] - c["ic_s"] > 0.05)]
        ic = c["ic_s"].to_numpy()
        ct = float(np.median(c["tc_s"] - c["ic_s"]))
        cad = 60.0 / float(np.median(np.diff(ic)))
        ic = ic - float(imu["time_s"].iloc[0])
        out.append(
            _cut(imu["acc_vertical_g"].to_numpy(), imu["acc_ap_g"].to_numpy(), ic, tr.name,
                 float(meta["treadmill_speed_mps"]), cad, ct)  # fmt: skip
        )
    return out


def simulate_trial(
    speed_mps: float, cadence_spm: float, contact_time_s: float, *, seed: int = 0,
    duration_s: float = 6.0, name: str = "sim",
) -> ContactWaveforms:  # fmt: skip
    """Simulate a steady run and cut its sacrum waveforms like the real data.

    Parameters
    ----------
    speed_mps, cadence_spm, contact_time_s
        Running parameters (steps per minute, contact time per foot).
    seed
        Simulation seed.
    duration_s
        Length of the steady run (after a 1 s still phase and a 1 s ramp, which are skipped).
    name
        Name stored in the result.
    """
    plan = SessionPlan(
        phases=[
            Phase(kind="still", duration_s=1.0),
            Phase(kind="run", duration_s=duration_s + 1.0, speed_mps=speed_mps,
                  cadence_spm=cadence_spm, contact_time_s=contact_time_s, ramp_s=1.0),
        ],  # fmt: skip
        path="straight",
        sensors=[SensorSpec(SACRUM, sampling_rate_hz=FS_HZ, mounting="aligned")],
    )
    sim = simulate(plan, seed=seed, with_angles=False)
    s = sim.sensors[SACRUM]
    from .kinematics import quat_to_matrix

    f_earth = np.einsum("nij,nj->ni", quat_to_matrix(s.q_sensor_to_earth), s.acc_clean_mps2)
    vert = np.clip(_lowpass(f_earth[:, 2] / GRAVITY_MPS2), 0.0, None)  # the authors' processing
    fwd = _lowpass(f_earth[:, 0] / GRAVITY_MPS2)  # straight path along earth +x
    ev = sim.truth.events
    ic = np.sort(ev.loc[ev["event"] == "initial_contact", "time_s"].to_numpy())
    ic = ic[(ic > 2.5) & (ic < s.true_time_s[-1] - WINDOW_POST_S - 0.1)]
    ic_rel = np.interp(ic, s.true_time_s, np.arange(len(s.true_time_s))) / FS_HZ
    return _cut(vert, fwd, ic_rel, name, speed_mps, cadence_spm, contact_time_s)


def pooled_mean(trials: list[ContactWaveforms]) -> tuple[np.ndarray, np.ndarray]:
    """Mean vertical and AP waveforms: the mean over trials of each trial's mean."""
    v = np.mean([tr.vertical_g.mean(axis=0) for tr in trials], axis=0)
    a = np.mean([tr.ap_g.mean(axis=0) for tr in trials], axis=0)
    return v, a


def pooled_features(trials: list[ContactWaveforms]) -> pd.DataFrame:
    """Per-trial mean of each feature (rows = trials)."""
    rows = []
    for tr in trials:
        row = {"trial": tr.name, "speed_mps": tr.speed_mps, "cadence_spm": tr.cadence_spm,
               "contact_time_s": tr.contact_time_s, "n_contacts": len(tr.features)}  # fmt: skip
        row.update(tr.features.mean().to_dict())
        row.update({f"detector_bias_{k}_ms": v for k, v in tr.detector_bias_ms.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two waveforms."""
    return float(np.corrcoef(a, b)[0, 1])


def detector_ic_errors_s(
    *, use_ap: bool, seed: int = 3, speed_mps: float = 4.0, cadence_spm: float = 170.0,
    contact_time_s: float = 0.22, sampling_rate_hz: float = 200.0,
) -> np.ndarray:  # fmt: skip
    """Errors (detected - truth, s) of the running-event detector's ICs on a simulated run.

    The set-up of ``tests/test_events_running_sim.py``: 2 s still, 10 s run on a straight
    (1 s ramp), a randomly mounted, noisy sacrum sensor; its measured accelerometer rotated to
    the earth frame with the truth orientation; vertical and forward (along the path) specific
    force given to :func:`gait.events_running.detect_running_events` with its shipped defaults
    (fitted on the real data); ICs after 3.5 s matched one-to-one within 40 ms.
    """
    from gait.events_running import detect_running_events

    from .kinematics import quat_to_matrix

    plan = SessionPlan(
        phases=[
            Phase(kind="still", duration_s=2.0),
            Phase(kind="run", duration_s=10.0, speed_mps=speed_mps, cadence_spm=cadence_spm,
                  contact_time_s=contact_time_s, ramp_s=1.0),
        ],  # fmt: skip
        path="straight",
        sensors=[SensorSpec(SACRUM, sampling_rate_hz=sampling_rate_hz, mounting="random")],
    )
    sim = simulate(plan, seed=seed, with_angles=False)
    s = sim.sensors[SACRUM]
    acc_earth = np.einsum("nij,nj->ni", quat_to_matrix(s.q_sensor_to_earth), s.acc_mps2)
    heading = np.gradient(s.position_m[:, :2], axis=0)
    heading /= np.linalg.norm(heading, axis=1, keepdims=True) + 1e-12
    ap = np.einsum("ij,ij->i", acc_earth[:, :2], heading)
    ev = detect_running_events(
        acc_earth[:, 2], sampling_rate_hz=sampling_rate_hz, acc_ap_mps2=ap if use_ap else None
    )
    det = np.interp(ev.ic_pos, np.arange(len(s.true_time_s)), s.true_time_s)
    tev = sim.truth.events
    ref = np.sort(tev.loc[tev["event"] == "initial_contact", "time_s"].to_numpy())
    ref = ref[ref > 3.5]
    det = det[(det >= ref[0] - 0.04) & (det <= ref[-1] + 0.04)]
    err = []
    for r in ref:
        k = int(np.argmin(np.abs(det - r)))
        if abs(det[k] - r) <= 0.04:
            err.append(det[k] - r)
    return np.asarray(err)


# ---------------------------------------------------------------------------------- walking
#: The straight lab walks (``../shared/data/lowerback-walking``) the walking template comes from.
WALKING_TEMPLATE_TRIALS = ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2")
#: Harmonics of the step kept in the walking template.
WALKING_HARMONICS = 8
#: Points per step of the mean waveforms.
WALKING_POINTS = 200


def _walking_trial(trial_dir: Path) -> tuple:
    """Time (s), rate (Hz), accelerometer, gyroscope, VQF orientation and reference contacts of
    one lower-back walking trial."""
    from gait.orientation import estimate_orientation

    imu = pd.read_csv(trial_dir / "imu.csv")
    fs = float(json.loads((trial_dir / "meta.json").read_text())["sampling_rate_hz"])
    acc = imu[["acc_x", "acc_y", "acc_z"]].to_numpy()
    gyr = imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy()
    q = estimate_orientation(acc, gyr, sampling_rate_hz=fs)
    ic = pd.read_csv(trial_dir / "initial_contacts.csv")
    return imu["time_s"].to_numpy(), fs, acc, gyr, q, ic


def walking_step_waveforms(trial_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-step pelvis waveforms of one real lower-back walking trial, over the step phase.

    The L5 sensor's specific force is rotated to the earth frame (VQF,
    :func:`gait.orientation.estimate_orientation`); the forward axis is the sensor's
    anterior axis (:func:`gait.events_walking.lower_back_axes`) in that frame, horizontal and
    smoothed (0.3 Hz). Every step between two reference contacts of opposite feet (0.4-0.75 s)
    is resampled on ``WALKING_POINTS`` phases from its initial contact (phase 0) to the next one.

    Returns
    -------
    vertical, forward
        ``vertical`` (steps, points): vertical acceleration divided by the squared step
        frequency, i.e. the second derivative of height with respect to the step phase (m);
        ``forward`` (steps, points): forward acceleration over the step frequency, the derivative
        of forward speed with respect to the phase (m/s).
    """
    from gait import quaternion as quat
    from gait.events_walking import lower_back_axes

    t, fs, acc, gyr, q, ic = _walking_trial(trial_dir)
    acc_e = quat.rotate(q, acc)
    _, anterior, _ = lower_back_axes(acc, sampling_rate_hz=fs)
    fwd = quat.rotate(q, np.tile(anterior, (len(acc), 1)))[:, :2]
    fwd = sosfiltfilt(butter(2, 0.3, fs=fs, output="sos"), fwd, axis=0)
    fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)
    a_fwd = np.einsum("ij,ij->i", acc_e[:, :2], fwd)
    a_up = acc_e[:, 2] - GRAVITY_MPS2
    vert, forward = [], []
    for k in range(len(ic) - 1):
        t0, t1 = ic.time_s.iloc[k], ic.time_s.iloc[k + 1]
        if not 0.4 < t1 - t0 < 0.75 or ic.side.iloc[k] == ic.side.iloc[k + 1]:
            continue
        tt = t0 + (t1 - t0) * np.arange(WALKING_POINTS) / WALKING_POINTS
        f = 1.0 / (t1 - t0)
        vert.append(np.interp(tt, t, a_up) / f**2)
        forward.append(np.interp(tt, t, a_fwd) / f)
    return np.array(vert), np.array(forward)


def walking_step_harmonics(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The simulator's walking template from the real straight walks.

    The mean step waveforms of :data:`WALKING_TEMPLATE_TRIALS` (:func:`walking_step_waveforms`),
    integrated over the phase in the frequency domain: the height and forward-speed fluctuation
    of the pelvis over one step, each scaled to a peak-to-peak of 1, as the first
    ``WALKING_HARMONICS`` harmonics of the step.

    Returns
    -------
    height, speed
        Each ``(WALKING_HARMONICS, 2)``: the cosine and sine coefficient of harmonic ``k + 1``
        of ``x(s) = sum a_k cos(2 pi k s) + b_k sin(2 pi k s)``, ``s`` the step phase (0 at
        initial contact); the form of ``stridecue.simulator.kinematics.WALK_HEIGHT_HARMONICS``.
    """
    parts = [walking_step_waveforms(data_dir / name) for name in WALKING_TEMPLATE_TRIALS]
    vert = np.vstack([p[0] for p in parts]).mean(axis=0)
    fwd = np.vstack([p[1] for p in parts]).mean(axis=0)
    k = np.arange(1, WALKING_HARMONICS + 1)
    phase = np.arange(WALKING_POINTS) / WALKING_POINTS

    def shape(coef: np.ndarray) -> np.ndarray:
        x = np.real(coef[:, None] * np.exp(2j * np.pi * k[:, None] * phase)).sum(axis=0)
        coef = coef / (x.max() - x.min())
        return np.column_stack([coef.real, -coef.imag])

    cv = 2 * np.fft.rfft(vert)[1 : WALKING_HARMONICS + 1] / WALKING_POINTS
    cf = 2 * np.fft.rfft(fwd)[1 : WALKING_HARMONICS + 1] / WALKING_POINTS
    return shape(cv / -((2 * np.pi * k) ** 2)), shape(cf / (2j * np.pi * k))


def walking_rotation_phase(data_dir: Path) -> float:
    """Stride phase after the right foot's contact at which the pelvis is turned furthest left.

    Over the strides (right contact to the next, 0.8-1.5 s) of :data:`WALKING_TEMPLATE_TRIALS`:
    the yaw rate (gyroscope about the earth vertical, VQF orientation) times the stride time,
    averaged over the stride phase; its first harmonic integrated to the rotation, whose maximum
    is returned (0-1). The simulator's ``WALK_ROTATION_PHASE``.
    """
    from gait import quaternion as quat

    rows = []
    for name in WALKING_TEMPLATE_TRIALS:
        t, _, _, gyr, q, ic = _walking_trial(data_dir / name)
        yaw_rate = quat.rotate(q, gyr)[:, 2]
        right = ic.time_s[ic.side == "right"].to_numpy()
        for t0, t1 in zip(right[:-1], right[1:], strict=True):
            if 0.8 < t1 - t0 < 1.5:
                tt = t0 + (t1 - t0) * np.arange(WALKING_POINTS) / WALKING_POINTS
                rows.append(np.interp(tt, t, yaw_rate) * (t1 - t0))
    first = 2 * np.fft.rfft(np.mean(rows, axis=0))[1] / WALKING_POINTS
    return float(np.mod(np.angle(first / (2j * np.pi)) / (-2 * np.pi), 1.0))
