"""Accuracy of the analysis' anatomical angles on the simulator, with random sensor mountings.

For each seed: simulate the demo session (standing 15 s, walking 12 s, jog, two 400 m track laps,
walk; sacrum + left thigh, random mountings, noise, gyro bias and bias drift, clock drift) and run
*the analysis itself* (:class:`gait.stream.StreamAnalyser`, fed as :func:`gait.pipeline.
analyse_tables` feeds it: its own automatic calibration, orientation, per-sample angles of its
blocks), once without and once with its turn compensation (``PipelineSettings.turn_compensation``:
a second streaming VQF pass on the accelerometer without speed x turn rate, the speed from the
analysis' own running strides). Its per-sample angles are compared with the simulator's truth:

* per-stride RMS error of pelvic tilt, obliquity and rotation (running strides of the truth
  table: jog + laps);
* thigh angle at initial contact (left strides) and its RMS error over the running part.

As a reference, the batch two-pass function :func:`gait.turning.
estimate_orientation_turn_compensated` with a centred heading window and the pipeline's finished
stride lengths (lap-calibrated), on the same calibration, is given for the same seeds (means only).

Run: ``.venv/bin/python bench/bench_angles.py`` -> ``bench/results/angles.md``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from calibration.alignment import auto_calibrate, with_neutral_from_orientation
from calibration.bias import find_still_periods
from gait.angles import pelvis_angles, thigh_angles
from gait.grid import Ring
from gait.orientation import estimate_orientation
from gait.pipeline import analyse_tables, feed_tables
from gait.stream import DERIVED, PipelineSettings, StreamAnalyser
from gait.turning import estimate_orientation_turn_compensated, speed_from_strides
from stridecue.simulator import demo_plan, simulate

SEEDS = (1, 2, 3, 4, 5, 6)
HEADING_WINDOW_S = 0.7
ATHLETE = {"height_m": 1.78}
PELVIS = ("pelvis_tilt_deg", "pelvis_obliquity_deg", "pelvis_rotation_deg")
OUT = Path(__file__).resolve().parent / "results" / "angles.md"


class _KeptRing(Ring):
    """A ring that also keeps a copy of every row appended (the analysis' per-sample outputs)."""

    def __init__(self, width: int) -> None:
        super().__init__(width)
        self.kept: list[np.ndarray] = []

    def append(self, rows: np.ndarray) -> None:
        self.kept.append(np.array(rows))
        super().append(rows)


def analysis_angles(sim, *, turn_compensation: bool) -> pd.DataFrame:
    """The stream analysis' own per-sample angles (session clock) of the simulated samples."""
    tables = {p: d.to_frame() for p, d in sim.sensors.items()}
    settings = replace(PipelineSettings(), turn_compensation=turn_compensation)
    analyser = StreamAnalyser(sampling_rate_hz=sim.sensors["sacrum"].sampling_rate_hz,
                              placements=list(tables), athlete=ATHLETE, settings=settings)
    analyser._derived = _KeptRing(len(DERIVED))  # records what the blocks compute
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feed_tables(analyser, tables)
        analyser.finish()
    out = np.vstack(analyser._derived.kept)
    frame = pd.DataFrame(out, columns=list(DERIVED))
    frame.insert(0, "time_s", analyser.origin_s + np.arange(len(out)) / analyser.fs)
    return frame


def errors(sim, time_s: np.ndarray, pelvis: dict, thigh_deg: np.ndarray) -> dict:
    """Per-stride pelvis RMS errors and thigh errors against the simulator's truth."""
    truth = sim.truth.angles
    run = sim.truth.strides[sim.truth.strides["activity"] == "running"]
    out: dict = {"n_strides": len(run)}
    for k in PELVIS:
        e = pelvis[k] - np.interp(time_s, truth["time_s"], truth[k])
        per = []
        for a, b in zip(run["start_s"], run["end_s"], strict=True):
            m = (time_s >= a) & (time_s < b)
            per.append(float(np.sqrt(np.nanmean(e[m] ** 2))))
        out[k] = np.asarray(per)
    left = run[run["side"] == "left"]
    out["thigh_ic_err"] = np.interp(left["start_s"], time_s, thigh_deg) - left[
        "thigh_angle_ic_deg"].to_numpy()
    tr_th = np.interp(time_s, truth["time_s"], truth["thigh_angle_left_deg"])
    m = time_s > run["start_s"].min()
    out["thigh_rms_deg"] = float(np.sqrt(np.nanmean((thigh_deg[m] - tr_th[m]) ** 2)))
    return out


def run_analysis(seed: int, *, turn_compensation: bool) -> dict:
    sim = simulate(demo_plan(), seed=seed)
    ang = analysis_angles(sim, turn_compensation=turn_compensation)
    t = ang["time_s"].to_numpy()
    out = errors(sim, t, {k: ang[k].to_numpy() for k in PELVIS},
                 ang["thigh_angle_left_deg"].to_numpy())
    out.update(seed=seed, source="analysis", turn_compensation="yes" if turn_compensation else "no")
    return out


def pipeline_strides(sim) -> pd.DataFrame:
    """The pipeline's own stride table of the simulated samples (no truth used)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse_tables({p: d.to_frame() for p, d in sim.sensors.items()},
                              athlete=ATHLETE).strides


def run_seed(seed: int, *, turn_compensation: bool, speed_scale: float = 1.0) -> dict:
    sim = simulate(demo_plan(), seed=seed)
    sensors = {p: (d.acc_mps2, d.gyr_radps) for p, d in sim.sensors.items()}
    fs = sim.sensors["sacrum"].sampling_rate_hz
    cal = auto_calibrate(sensors, sampling_rate_hz=fs)
    out: dict = {"seed": seed}
    est = {}
    strides_est = pipeline_strides(sim) if turn_compensation else None
    for p, d in sim.sensors.items():
        q = estimate_orientation(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs)
        if turn_compensation:
            q = estimate_orientation_turn_compensated(
                d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs, calibration=cal[p],
                speed_mps=speed_scale * speed_from_strides(
                    d.true_time_s, strides_est["start_s"].to_numpy(),
                    strides_est["end_s"].to_numpy(), strides_est["stride_length_m"].to_numpy()),
                q_first_pass=q,
            )
        s0, s1 = find_still_periods(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs,
                                    min_duration_s=5.0)[0]
        seg = with_neutral_from_orientation(cal[p], q[s0 + 100 : s1 - 100])
        est[p] = (d.true_time_s, q, seg)
        err = Rotation.from_quat(seg.q_sensor_to_segment, scalar_first=True) * Rotation.from_quat(
            d.q_sensor_to_segment, scalar_first=True).inv()
        out[f"mount_err_{p}_deg"] = float(np.degrees(err.magnitude()))
    truth = sim.truth.angles
    t_s, q_s, seg_s = est["sacrum"]
    pel = pelvis_angles(q_s, seg_s, sampling_rate_hz=fs, heading_window_s=HEADING_WINDOW_S)
    strides = sim.truth.strides
    run = strides[strides["activity"] == "running"]
    per = {k: [] for k in ("pelvis_tilt_deg", "pelvis_obliquity_deg", "pelvis_rotation_deg")}
    for k in per:
        tr = np.interp(t_s, truth["time_s"], truth[k])
        e = pel[k].to_numpy() - tr
        for a, b in zip(run["start_s"], run["end_s"], strict=True):
            m = (t_s >= a) & (t_s < b)
            per[k].append(float(np.sqrt(np.nanmean(e[m] ** 2))))
    out.update({k: np.asarray(v) for k, v in per.items()})
    t_t, q_t, seg_t = est["thigh_left"]
    th = thigh_angles(q_t, seg_t)["thigh_angle_deg"].to_numpy()
    left = run[run["side"] == "left"]
    est_ic = np.interp(left["start_s"], t_t, th)
    out["thigh_ic_err"] = est_ic - left["thigh_angle_ic_deg"].to_numpy()
    tr_th = np.interp(t_t, truth["time_s"], truth["thigh_angle_left_deg"])
    m = t_t > run["start_s"].min()
    out["thigh_rms_deg"] = float(np.sqrt(np.nanmean((th[m] - tr_th[m]) ** 2)))
    out["n_strides"] = len(run)
    out["turn_compensation"] = (
        ("yes" if speed_scale == 1.0 else f"speed x{speed_scale:g}") if turn_compensation else "no"
    )
    return out


def second_pass_cost() -> str:
    """CPU time of the turn-compensated second pass per sample (best of 3, demo sacrum)."""
    sim = simulate(demo_plan(), seed=1)
    d = sim.sensors["sacrum"]
    fs = d.sampling_rate_hz
    cal = auto_calibrate({"sacrum": (d.acc_mps2, d.gyr_radps)}, sampling_rate_hz=fs)["sacrum"]
    q = estimate_orientation(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs)
    speed = np.full(len(q), 4.0)
    best = np.inf
    for _ in range(3):
        t0 = time.process_time()
        estimate_orientation_turn_compensated(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs,
                                              calibration=cal, speed_mps=speed, q_first_pass=q)
        best = min(best, time.process_time() - t0)
    us = best / len(q) * 1e6
    return (f"Cost of the second pass (turn correction + VQF again): {us:.2f} CPU us per sample"
            f" and sensor, {us * 2 * 200 * 3600 * 1e-6:.1f} s for a one-hour two-sensor session"
            " at 200 Hz.")


def main() -> None:
    t0 = time.perf_counter()
    rows = [run_seed(s, turn_compensation=tc) for tc in (False, True) for s in SEEDS]
    # sensitivity: a stride length 20 % too long (an unmarked session's uncalibrated length)
    rows += [run_seed(s, turn_compensation=True, speed_scale=1.2) for s in SEEDS[:2]]
    lines = [
        "# Anatomical angles vs simulator truth",
        "",
        f"Demo session (`stridecue.simulator.demo_plan`), seeds {list(SEEDS)}, random mountings,"
        " sensor noise, gyro bias + random walk, clock drift. Automatic calibration (first 5 s",
        " still period + the 12 s walk after it, 6 s used), VQF (online) orientation, neutral",
        f" offsets from VQF over the standing period, heading window {HEADING_WINDOW_S} s.",
        " Errors over running strides (jog + two laps). Targets: pelvis <= 1 deg RMS, thigh",
        " <= 2 deg.",
        "",
        "| turn comp. | seed | strides | tilt RMS/stride mean (max) deg | obliquity | rotation |"
        " thigh IC err mean +- SD deg | thigh RMS deg | mounting err sacrum / thigh deg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            f"{np.mean(r[k]):.2f} ({np.max(r[k]):.2f})"
            for k in ("pelvis_tilt_deg", "pelvis_obliquity_deg", "pelvis_rotation_deg")
        ]
        lines.append(
            f"| {r['turn_compensation']} | {r['seed']} | {r['n_strides']} | " + " | ".join(cells)
            + f" | {np.mean(r['thigh_ic_err']):+.2f} +- {np.std(r['thigh_ic_err']):.2f}"
            + f" | {r['thigh_rms_deg']:.2f}"
            + f" | {r['mount_err_sacrum_deg']:.1f} / {r['mount_err_thigh_left_deg']:.1f} |"
        )
    for label in ("no", "yes"):
        sel = [r for r in rows if r["turn_compensation"] == label]
        lines.append(
            f"\nMean over seeds, turn compensation {label}: tilt "
            f"{np.mean([np.mean(r['pelvis_tilt_deg']) for r in sel]):.2f}, obliquity "
            f"{np.mean([np.mean(r['pelvis_obliquity_deg']) for r in sel]):.2f}, rotation "
            f"{np.mean([np.mean(r['pelvis_rotation_deg']) for r in sel]):.2f} deg RMS per "
            f"stride; thigh {np.mean([r['thigh_rms_deg'] for r in sel]):.2f} deg RMS."
        )
    lines += [
        "",
        "Without turn compensation obliquity misses the 1 deg target: on the track bends the",
        " centripetal acceleration (4.4 m/s on a 36.8 m radius, 0.53 m/s^2, about 3 deg) leans",
        " the vertical that VQF takes from the accelerometer (the calibration alone, with the",
        " true orientation, gives under 0.1 deg in tests/test_angles.py). `gait.turning` removes",
        " speed x turn rate (travel heading from the first pass) before a second VQF pass; the",
        " speed is the pipeline's own stride length / stride time. A speed 20 % too high (an",
        " uncalibrated stride length) leaves a fifth of the lean. The BROAD inclination figures",
        " (bench_orientation) are unchanged: without a speed the correction is zero and the",
        " second pass equals the first.",
    ]
    lines += ["", second_pass_cost(), "", f"Run time {time.perf_counter() - t0:.0f} s.", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
