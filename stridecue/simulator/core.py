"""``simulate``: run a :class:`SessionPlan` into sensor signals and ground-truth tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stridecue.constants import PLACEMENTS, SACRUM, THIGH_LEFT

from .kinematics import (
    CONTACT_REFERENCE_SPEED_MPS,
    IMPACT_SPEED_EXPONENT_PEAK,
    Kinematics,
    quat_to_matrix,
)
from .plan import SessionPlan, phase_table_row
from .sensors import (
    TAP_INTERVAL_S,
    THIGH_IMPACT_PEAK_MPS2,
    SensorData,
    add_measurement_errors,
    add_taps,
    add_thigh_impacts,
    earth_field_ut,
    mounting_quaternion,
    sample_times,
)
from .truth import (
    angles_table,
    event_arrays,
    events_table,
    lap_boundaries,
    lap_marks_table,
    laps_table,
    strides_table,
)

#: Sensor signals are synthesised in chunks of this length (bounded memory).
CHUNK_S = 20.0


@dataclass
class Truth:
    """The ground-truth tables of a simulated session (all on the true session clock).

    Attributes
    ----------
    strides
        One row per stride (see ``truth.STRIDE_COLUMNS``).
    events
        ``time_s``, ``event`` (``initial_contact`` | ``toe_off``), ``side``.
    angles
        ``time_s`` and the per-sample truth angles in degrees.
    laps
        ``lap``, ``start_s``, ``end_s``, ``duration_s``, ``distance_m`` (complete laps only).
    phases
        One row per plan phase with ``start_s``, ``end_s`` and every resolved parameter.
    lap_marks
        ``time_s``, ``second_tap_s``, ``lap_starting``, ``method`` (empty without lap marks).
    """

    strides: pd.DataFrame
    events: pd.DataFrame
    angles: pd.DataFrame
    laps: pd.DataFrame
    phases: pd.DataFrame
    lap_marks: pd.DataFrame

    def write(self, directory: str | Path) -> list[Path]:
        """Write every table as ``truth_<name>.csv`` into ``directory`` (created if missing).

        Returns
        -------
        list of Path
            The files written.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = []
        for name in ("strides", "events", "angles", "laps", "phases", "lap_marks"):
            path = d / f"truth_{name}.csv"
            getattr(self, name).to_csv(path, index=False)
            out.append(path)
        return out


@dataclass
class Simulation:
    """A simulated session: per-placement sensor data, truth tables and the motion model.

    Attributes
    ----------
    plan, seed
        What was simulated.
    sensors
        Placement -> :class:`~stridecue.simulator.sensors.SensorData`.
    truth
        The ground-truth tables.
    kinematics
        The motion model; ``kinematics.sensor_truth(placement, true_time_s, q)`` evaluates
        noise-free positions, orientations and signals at any instants (for tests).
    duration_s
        Session length (s).
    """

    plan: SessionPlan
    seed: int
    sensors: dict[str, SensorData]
    truth: Truth
    kinematics: Kinematics
    duration_s: float

    def write_truth(self, directory: str | Path) -> list[Path]:
        """Write the truth tables as CSV files (``truth_*.csv``) into ``directory``."""
        return self.truth.write(directory)


def simulate(plan: SessionPlan, seed: int = 0, *, with_angles: bool = True) -> Simulation:
    """Simulate a session.

    Parameters
    ----------
    plan
        What to simulate.
    seed
        Seed of every random choice (variability, mountings, noise); same seed, same output.
        Each sensor draws from its own stream keyed by its placement, so adding a sensor or
        changing a mounting does not change the other sensors' noise or the motion.
    with_angles
        Also build the per-sample truth angle table (skip it for very long sessions to save
        memory).

    Returns
    -------
    Simulation
        Sensor data and ground truth.

    Raises
    ------
    SimulationPlanError
        If the plan is inconsistent.
    """
    plan.validate()
    root = np.random.SeedSequence(seed)
    kin = Kinematics(plan, np.random.default_rng(root.spawn(1)[0]))
    duration = kin.schedule.duration_s

    ev = event_arrays(kin)
    bounds = lap_boundaries(kin)
    truth = Truth(
        strides=strides_table(kin, ev, bounds),
        events=events_table(ev),
        angles=angles_table(kin, plan.truth_rate_hz) if with_angles else pd.DataFrame(),
        laps=laps_table(bounds, plan.lap_length_m),
        phases=pd.DataFrame(
            [
                {"phase": j, "start_s": kin.schedule.start_s[j], "end_s": kin.schedule.end_s[j],
                 **phase_table_row(ph)}
                for j, ph in enumerate(plan.phases)
            ]
        ),
        lap_marks=lap_marks_table(bounds, plan.lap_marks),
    )

    specs = list(plan.sensors)
    times = {}
    mounts = {}
    buffers = {}
    for spec in specs:
        key = PLACEMENTS.index(spec.placement)
        mount_rng = np.random.default_rng(np.random.SeedSequence([seed, 1000 + key]))
        times[spec.placement] = sample_times(spec, duration)
        mounts[spec.placement] = mounting_quaternion(spec, mount_rng)
        n = len(times[spec.placement][1])
        buffers[spec.placement] = {
            "acc": np.empty((n, 3)), "gyr": np.empty((n, 3)), "q": np.empty((n, 4)),
            "pos": np.empty((n, 3)),
        }
    for c0 in np.arange(0.0, duration + 1e-9, CHUNK_S):
        c1 = c0 + CHUNK_S
        todo = []
        for spec in specs:
            tt = times[spec.placement][1]
            i0, i1 = np.searchsorted(tt, [c0, c1])
            if i1 > i0:
                todo.append((spec.placement, i0, i1))
        if not todo:
            continue
        lo = min(times[p][1][i0] for p, i0, _ in todo)
        hi = max(times[p][1][i1 - 1] for p, _, i1 in todo)
        state = kin.state(kin.index_range(lo, hi, margin_s=0.1))
        for placement, i0, i1 in todo:
            res = kin.sensor_truth(
                placement, times[placement][1][i0:i1], mounts[placement], state=state
            )
            b = buffers[placement]
            b["acc"][i0:i1] = res["acc_mps2"]
            b["gyr"][i0:i1] = res["gyr_radps"]
            b["q"][i0:i1] = res["q_sensor_to_earth"]
            b["pos"][i0:i1] = res["position_m"]
        del state

    taps = np.array([])
    if plan.lap_marks == "double_tap" and len(truth.lap_marks):
        first = truth.lap_marks["time_s"].to_numpy()
        taps = np.sort(np.concatenate([first, first + TAP_INTERVAL_S]))
    sensors = {}
    for spec in specs:
        key = PLACEMENTS.index(spec.placement)
        noise_rng = np.random.default_rng(np.random.SeedSequence([seed, 2000 + key]))
        b = buffers[spec.placement]
        acc, gyr, mag, bias = add_measurement_errors(
            spec, b["acc"], b["gyr"], b["q"], noise_rng,
            earth_field_ut(spec, plan.track_heading_deg),
        )
        sensor_t, true_t = times[spec.placement]
        if spec.placement == SACRUM and len(taps):
            add_taps(acc, true_t, taps, sampling_rate_hz=spec.sampling_rate_hz)
        elif spec.placement != SACRUM:
            ic = ev["ic_left" if spec.placement == THIGH_LEFT else "ic_right"]
            ic = ic[np.isfinite(ic)]
            p = kin.schedule.params(ic, ("run", "speed_mps"))
            rel = np.maximum(p["speed_mps"], 0.5) / CONTACT_REFERENCE_SPEED_MPS
            peak = THIGH_IMPACT_PEAK_MPS2 * p["run"] * rel**IMPACT_SPEED_EXPONENT_PEAK
            add_thigh_impacts(acc, true_t, ic, peak, quat_to_matrix(mounts[spec.placement])[2])
        sensors[spec.placement] = SensorData(
            placement=spec.placement,
            sampling_rate_hz=float(spec.sampling_rate_hz),
            clock_drift_ppm=float(spec.clock_drift_ppm),
            start_offset_s=float(spec.start_offset_s),
            sensor_time_s=sensor_t,
            true_time_s=true_t,
            acc_mps2=acc,
            gyr_radps=gyr,
            mag_ut=mag,
            q_sensor_to_segment=mounts[spec.placement],
            acc_clean_mps2=b["acc"],
            gyr_clean_radps=b["gyr"],
            q_sensor_to_earth=b["q"],
            position_m=b["pos"],
            gyr_bias_radps=bias,
        )
    return Simulation(plan=plan, seed=seed, sensors=sensors, truth=truth, kinematics=kin,
                      duration_s=duration)
