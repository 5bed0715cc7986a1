"""Simulated mobility checks: an athlete following the guided mobility script, with truth.

The session starts like any simulated session (the running simulator's standing calibration and a
few straight walking steps, :func:`stridecue.simulator.simulate`); from the end of the
calibration the segments follow keyframed poses, step by step of
:func:`calibration.mobility.mobility_script`:

* standing posture: the pelvis settles to a tilt and obliquity offset from the calibration pose
  and sways (sum of slow sinusoids) for the hold;
* kneeling hip-flexor test (each side): kneeling upright (pelvis tilted anteriorly, the kneeling
  thigh vertical, the front thigh flexed 90 deg), then a posterior pelvic tilt ``beta`` held, then
  back to neutral;
* straight-leg raise (each thigh sensor): sitting down and lying back (pelvis and thighs rotated
  90 deg posteriorly), the leg raised to ``alpha`` above the floor, held, lowered.

Poses are interpolated with a quintic smoothstep on the rotation vector between keyframes, so the
angular velocity and acceleration are continuous; the sensor signals follow from the segment
orientations (gyroscope: finite-difference body rate; accelerometer: gravity plus the second
derivative of the sensor position about a moving hip pivot). The sensor noise, bias and bias drift
are those the running simulator drew for the same samples, so the session is seamless.

Truth (``truth_mobility.csv``): per check and side the designed value of what the check measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from calibration.mobility import MobilityStep
from stridecue.constants import GRAVITY_MPS2, SACRUM, THIGH_LEFT, THIGH_RIGHT

from .core import Simulation, simulate
from .plan import Phase, SensorSpec, SessionPlan
from .sensors import SensorData

#: Pose of each segment relative to the standing calibration pose: rotation vectors (segment
#: frame, radians) for pelvis, left thigh, right thigh; and the hip pivot displacement (m, in the
#: standing heading frame: x forward, y left, z up).
_DEG = np.pi / 180.0

#: Lever arm from the hip pivot to each sensor, segment frame, metres.
_LEVER_M = {
    SACRUM: np.array([-0.10, 0.0, 0.02]),
    THIGH_LEFT: np.array([0.06, 0.10, -0.20]),
    THIGH_RIGHT: np.array([0.06, -0.10, -0.20]),
}


@dataclass(frozen=True)
class _Pose:
    pelvis_tilt_deg: float = 0.0  # + anterior (about +y)
    pelvis_obliquity_deg: float = 0.0  # + left side up (about +x)
    thigh_left_deg: float = 0.0  # flexion (about -y)
    thigh_right_deg: float = 0.0
    pivot_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def rotvec(self, placement: str) -> np.ndarray:
        if placement == SACRUM:
            return np.array([self.pelvis_obliquity_deg, self.pelvis_tilt_deg, 0.0]) * _DEG
        flex = self.thigh_left_deg if placement == THIGH_LEFT else self.thigh_right_deg
        return np.array([0.0, -flex, 0.0]) * _DEG


@dataclass
class MobilitySimulation:
    """A simulated guided mobility session.

    Attributes
    ----------
    sensors
        Placement -> :class:`~stridecue.simulator.sensors.SensorData` (whole session).
    truth
        ``check``, ``side``, ``measure``, ``value`` (the designed value of what is measured).
    steps
        The script followed, with ``start_s`` (true session time) added as a DataFrame.
    duration_s
        Session length, seconds.
    """

    sensors: dict[str, SensorData]
    truth: pd.DataFrame
    steps: pd.DataFrame
    duration_s: float

    def write_truth(self, directory: str | Path) -> list[Path]:
        """Write ``truth_mobility.csv`` and ``truth_mobility_steps.csv`` into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = [d / "truth_mobility.csv", d / "truth_mobility_steps.csv"]
        self.truth.to_csv(out[0], index=False)
        self.steps.to_csv(out[1], index=False)
        return out


def _smootherstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)


def _keyframes_to_signal(t: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Quintic-smoothstep interpolation of keyframed vectors (held outside the keyframes)."""
    out = np.repeat(values[:1], len(t), axis=0).astype(float)
    for k in range(1, len(times)):
        m = t >= times[k - 1]
        span = max(times[k] - times[k - 1], 1e-9)
        s = _smootherstep((t[m] - times[k - 1]) / span)[:, None]
        out[m] = values[k - 1] + s * (values[k] - values[k - 1])
    return out


def _sway(t: np.ndarray, rng: np.random.Generator, rms_deg: float) -> np.ndarray:
    """A slow zero-mean sway (three sinusoids at 0.1-0.6 Hz), degrees, with the given RMS."""
    f = rng.uniform(0.1, 0.6, 3)
    ph = rng.uniform(0.0, 2.0 * np.pi, 3)
    x = np.sum(np.sin(2.0 * np.pi * f[None, :] * t[:, None] + ph[None, :]), axis=1)
    return x * rms_deg / np.sqrt(1.5)


def _move_and_hold(keys: list, truth: list, step: MobilityStep, reach_end_s: tuple[float, float],
                   pose: _Pose, measure: str, value: float) -> None:
    """Reach ``pose`` at ``reach_end_s[0]``, hold it to ``reach_end_s[1]``; record the truth."""
    truth.append({"check": step.check, "side": step.side, "measure": measure, "value": value})
    keys += [(reach_end_s[0], pose), (reach_end_s[1], pose)]


def _plan_poses(
    steps: Sequence[MobilityStep], t0_s: float, rng: np.random.Generator
) -> tuple[list[tuple[float, _Pose]], list[dict], list[tuple[float, float, float, float]]]:
    """Keyframes (time, pose) from the end of the calibration, truth rows, sway windows."""
    stand = _Pose()
    keys: list[tuple[float, _Pose]] = [(t0_s, stand)]
    truth: list[dict] = []
    sways: list[tuple[float, float, float, float]] = []  # (start, end, tilt rms, obl rms)
    t = t0_s
    pose = stand
    for st in steps:
        if st.check == "calibration":
            continue
        end = t + st.duration_s
        keys.append((t, pose))  # every movement happens within its own step
        if st.check == "standing_posture":
            if st.step == 0:
                tilt, obl = rng.uniform(-3.0, 7.0), rng.uniform(-2.0, 2.0)
                pose = _Pose(pelvis_tilt_deg=tilt, pelvis_obliquity_deg=obl)
                keys.append((t + 0.8 * st.duration_s, pose))
                truth += [{"check": st.check, "side": "", "measure": "pelvis_tilt_deg",
                           "value": tilt},
                          {"check": st.check, "side": "", "measure": "pelvis_obliquity_deg",
                           "value": obl}]
            else:
                rms = rng.uniform(0.2, 0.6)
                sways.append((t, end, rms, rms * 0.7))
                truth.append({"check": st.check, "side": "", "measure": "tilt_sway_rms_deg",
                              "value": rms})
                keys.append((end, pose))
        elif st.check == "kneeling_hip_flexor":
            front = "right" if st.side == "left" else "left"
            kneel = _Pose(pelvis_tilt_deg=6.0, pivot_m=(0.0, 0.0, -0.42),
                          **{f"thigh_{st.side}_deg": 0.0, f"thigh_{front}_deg": 90.0})
            if st.step == 0:
                pose = kneel
                keys.append((t + 0.85 * st.duration_s, pose))
            elif st.step == 2:
                beta = rng.uniform(4.0, 18.0)
                pose = replace(kneel, pelvis_tilt_deg=kneel.pelvis_tilt_deg - beta)
                _move_and_hold(keys, truth, st, (t + 1.5, end), pose, "posterior_tilt_deg", beta)
            elif st.step == 3:
                pose = kneel
                keys.append((t + 1.5, pose))
        elif st.check == "straight_leg_raise":
            lying = _Pose(pelvis_tilt_deg=-90.0, thigh_left_deg=90.0, thigh_right_deg=90.0,
                          pivot_m=(-0.25, 0.0, -0.80))
            if st.step == 0:
                if pose.pelvis_tilt_deg > -45.0:
                    sit = _Pose(pelvis_tilt_deg=-10.0, thigh_left_deg=90.0, thigh_right_deg=90.0,
                                pivot_m=(-0.25, 0.0, -0.78))
                    keys.append((t + 0.45 * st.duration_s, sit))
                pose = lying
                keys.append((t + 0.85 * st.duration_s, pose))
            elif st.step == 2:
                alpha = rng.uniform(50.0, 82.0)
                pose = replace(lying, **{f"thigh_{st.side}_deg": 90.0 + alpha})
                _move_and_hold(keys, truth, st, (t + 2.5, end), pose, "peak_elevation_deg", alpha)
            elif st.step == 3:
                pose = lying
                keys.append((t + 2.0, pose))
        t = end
    keys.append((t, pose))
    return keys, truth, sways


def simulate_mobility(
    steps: Sequence[MobilityStep],
    *,
    placements: Sequence[str] = (SACRUM, THIGH_LEFT),
    seed: int = 0,
    clock_drift_ppm: Sequence[float] | None = None,
    lead_in_s: float = 0.0,
) -> MobilitySimulation:
    """Simulate an athlete following a mobility script (non-interactive timing).

    Parameters
    ----------
    steps
        The script (:func:`calibration.mobility.mobility_script`); its first two steps must be
        the standing calibration.
    placements
        Sensors worn; each gets a seeded random mounting.
    seed
        Seed of the mountings, noise, and of the athlete's ranges of motion.
    clock_drift_ppm
        Per-placement sensor clock drift (default 0).
    lead_in_s
        Extra standing before the script starts (time for a recorder to connect every sensor
        before its first prompt), seconds.

    Returns
    -------
    MobilitySimulation
    """
    cal = [s for s in steps if s.check == "calibration"]
    if len(cal) != 2 or steps[0].check != "calibration":
        raise ValueError("the mobility script must start with the two calibration steps")
    stand_s, walk_step_s = cal[0].duration_s + lead_in_s, cal[1].duration_s
    walk_s = walk_step_s - 3.0
    duration = float(sum(s.duration_s for s in steps)) + lead_in_s
    t_mob = stand_s + walk_step_s
    drift = list(clock_drift_ppm) if clock_drift_ppm is not None else [0.0] * len(placements)
    plan = SessionPlan(
        phases=[Phase(kind="still", duration_s=stand_s), Phase(kind="walk", duration_s=walk_s),
                Phase(kind="still", duration_s=duration - stand_s - walk_s, ramp_s=1.0)],
        path="straight",
        sensors=[SensorSpec(placement=p, mounting="random", clock_drift_ppm=d)
                 for p, d in zip(placements, drift, strict=True)],
    )
    sim: Simulation = simulate(plan, seed=seed, with_angles=False)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7001]))
    keys, truth, sways = _plan_poses(steps, t_mob, rng)
    key_t = np.array([k[0] for k in keys])
    sway_rng = np.random.default_rng(np.random.SeedSequence([seed, 7002]))
    sway_funcs = [(a, b, sway_rng.integers(0, 2**31), rt, ro) for a, b, rt, ro in sways]

    sensors = {}
    for placement, d in sim.sensors.items():
        t = d.true_time_s
        i_m = int(np.searchsorted(t, t_mob))
        tm = t[i_m:]
        mount = Rotation.from_quat(d.q_sensor_to_segment, scalar_first=True)
        r_sensor0 = Rotation.from_quat(d.q_sensor_to_earth[i_m], scalar_first=True)
        r_seg0 = r_sensor0 * mount.inv()
        heading0 = Rotation.from_euler("z", r_seg0.as_euler("ZXY")[0])
        rv = _keyframes_to_signal(tm, key_t, np.array([k[1].rotvec(placement) for k in keys]))
        pivot = _keyframes_to_signal(tm, key_t, np.array([k[1].pivot_m for k in keys]))
        if placement == SACRUM:
            for a, b, s, rms_t, rms_o in sway_funcs:
                m = (tm >= a) & (tm < b)
                w = _smootherstep((tm[m] - a) / 1.0) * _smootherstep((b - tm[m]) / 1.0)
                g = np.random.default_rng(s)
                rv[m, 1] += w * _sway(tm[m], g, rms_t) * _DEG
                rv[m, 0] += w * _sway(tm[m], g, rms_o) * _DEG
        r_seg = r_seg0 * Rotation.from_rotvec(rv)
        r_sensor = r_seg * mount
        lever = _LEVER_M[placement]
        pos = (d.position_m[i_m] + heading0.apply(pivot - pivot[0])
               + r_seg.apply(lever) - r_seg0.apply(lever))
        vel = np.gradient(pos, tm, axis=0)
        acc_e = np.gradient(vel, tm, axis=0) + np.array([0.0, 0.0, GRAVITY_MPS2])
        acc_clean = r_sensor.inv().apply(acc_e)
        q = r_sensor.as_quat(scalar_first=True)
        # body rate from neighbouring orientations (central difference)
        rel = (r_sensor[:-1].inv() * r_sensor[1:]).as_rotvec() / np.diff(tm)[:, None]
        gyr_clean = np.vstack([rel[:1], 0.5 * (rel[:-1] + rel[1:]), rel[-1:]])
        new = {}
        for name, old_clean, new_clean in (("acc", d.acc_clean_mps2, acc_clean),
                                           ("gyr", d.gyr_clean_radps, gyr_clean)):
            measured = d.acc_mps2 if name == "acc" else d.gyr_radps
            err = measured[i_m:] - old_clean[i_m:]  # noise + bias the simulator drew
            out = measured.copy()
            out[i_m:] = new_clean + err
            clean = old_clean.copy()
            clean[i_m:] = new_clean
            new[name] = (out, clean)
        q_all = d.q_sensor_to_earth.copy()
        q_all[i_m:] = q
        pos_all = d.position_m.copy()
        pos_all[i_m:] = pos
        sensors[placement] = replace(
            d, acc_mps2=new["acc"][0], acc_clean_mps2=new["acc"][1], gyr_radps=new["gyr"][0],
            gyr_clean_radps=new["gyr"][1], q_sensor_to_earth=q_all, position_m=pos_all,
        )
    starts = lead_in_s + np.concatenate([[0.0], np.cumsum([s.duration_s for s in steps])[:-1]])
    step_table = pd.DataFrame(
        [{"check": s.check, "side": s.side, "step": s.step, "start_s": float(a),
          "duration_s": s.duration_s} for s, a in zip(steps, starts, strict=True)]
    )
    return MobilitySimulation(sensors=sensors, truth=pd.DataFrame(truth), steps=step_table,
                              duration_s=duration)
