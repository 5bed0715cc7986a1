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
    cpu0 = time.process_time()
    ang = analysis_angles(sim, turn_compensation=turn_compensation)
    cpu_s = time.process_time() - cpu0
    t = ang["time_s"].to_numpy()
    out = errors(sim, t, {k: ang[k].to_numpy() for k in PELVIS},
                 ang["thigh_angle_left_deg"].to_numpy())
    out.update(seed=seed, source="analysis", turn_compensation="yes" if turn_compensation else "no",
               cpu_s=cpu_s, samples=sum(len(d.true_time_s) for d in sim.sensors.values()))
    return out


def pipeline_strides(sim) -> pd.DataFrame:
    """The pipeline's own stride table of the simulated samples (no truth used)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse_tables({p: d.to_frame() for p, d in sim.sensors.items()},
                              athlete=ATHLETE).strides


def run_reference(seed: int, *, turn_compensation: bool) -> dict:
    """The batch functions on the whole recording (centred heading window, finished strides)."""
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
                speed_mps=speed_from_strides(
                    d.true_time_s, strides_est["start_s"].to_numpy(),
                    strides_est["end_s"].to_numpy(), strides_est["stride_length_m"].to_numpy()),
                q_first_pass=q,
            )
        s0, s1 = find_still_periods(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs,
                                    min_duration_s=5.0)[0]
        seg = with_neutral_from_orientation(cal[p], q[s0 + 100 : s1 - 100])
        est[p] = (d.true_time_s, q, seg)
    t_s, q_s, seg_s = est["sacrum"]
    pel = pelvis_angles(q_s, seg_s, sampling_rate_hz=fs, heading_window_s=HEADING_WINDOW_S)
    t_t, q_t, seg_t = est["thigh_left"]
    th = thigh_angles(q_t, seg_t)["thigh_angle_deg"].to_numpy()
    out.update(errors(sim, t_s, {k: pel[k].to_numpy() for k in PELVIS}, np.interp(t_s, t_t, th)))
    out.update(source="reference", turn_compensation="yes" if turn_compensation else "no")
    return out


def _means(rows: list[dict]) -> str:
    return (f"tilt {np.mean([np.mean(r['pelvis_tilt_deg']) for r in rows]):.2f}, obliquity "
            f"{np.mean([np.mean(r['pelvis_obliquity_deg']) for r in rows]):.2f}, rotation "
            f"{np.mean([np.mean(r['pelvis_rotation_deg']) for r in rows]):.2f} deg RMS per stride"
            " (worst stride obliquity"
            f" {np.max([np.max(r['pelvis_obliquity_deg']) for r in rows]):.2f});"
            f" thigh {np.mean([r['thigh_rms_deg'] for r in rows]):.2f} deg RMS")


def main() -> None:
    t0 = time.perf_counter()
    rows = [run_analysis(s, turn_compensation=tc) for tc in (False, True) for s in SEEDS]
    ref = [run_reference(s, turn_compensation=tc) for tc in (False, True) for s in SEEDS]
    lines = [
        "# Anatomical angles of the analysis vs simulator truth",
        "",
        f"Demo session (`stridecue.simulator.demo_plan`), seeds {list(SEEDS)}, random mountings,",
        "sensor noise, gyro bias + random walk, clock drift. The analysis itself",
        "(`gait.stream.StreamAnalyser` fed as `analyse_tables` feeds it: its automatic",
        "calibration, streaming VQF, the per-sample angles of its blocks), with",
        "`turn_compensation` off and on. Errors over the running strides of the truth table",
        "(jog + two 400 m laps). Targets: pelvis <= 1 deg RMS, thigh <= 2 deg.",
        "",
        "| turn comp. | seed | strides | tilt RMS/stride mean (max) deg | obliquity | rotation |"
        " thigh IC err mean +- SD deg | thigh RMS deg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{np.mean(r[k]):.2f} ({np.max(r[k]):.2f})" for k in PELVIS]
        lines.append(
            f"| {r['turn_compensation']} | {r['seed']} | {r['n_strides']} | " + " | ".join(cells)
            + f" | {np.nanmean(r['thigh_ic_err']):+.2f} +- {np.nanstd(r['thigh_ic_err']):.2f}"
            + f" | {r['thigh_rms_deg']:.2f} |"
        )
    lines.append("")
    for label in ("no", "yes"):
        sel = [r for r in rows if r["turn_compensation"] == label]
        lines.append(f"- **Analysis, turn compensation {label}**: {_means(sel)}.")
    for label in ("no", "yes"):
        sel = [r for r in ref if r["turn_compensation"] == label]
        lines.append(f"- Reference (batch functions, VQF neutral, centred window, finished"
                     f" lap-calibrated stride lengths), turn compensation {label}: {_means(sel)}.")
    lines += [
        "",
        "Without turn compensation obliquity misses the 1 deg target: on the track bends the",
        "centripetal acceleration (4.4 m/s on a 36.8 m radius, 0.53 m/s^2, about 3 deg) leans the",
        "vertical that VQF takes from the accelerometer. The analysis runs a second streaming VQF",
        "pass per sensor on the accelerometer without speed x turn rate (`gait.turning.",
        "causal_centripetal_acceleration_mps2`): turn rate = heading change of the first pass over",
        "the past 0.7 s, speed = median contact-model speed (0.8 x leg length / contact time, the",
        "runner's scale when stored) of the latest running strides, fixed per block 1.25-1.75 s",
        "ahead (see `gait/stream.py`). It is short of the batch reference because the",
        "uncalibrated contact model reads the simulated 4.4 m/s laps as 3.4-3.7 m/s (about -20 %:",
        "a fifth of the lean stays) and the causal turn rate lags by 0.35 s at the bend ends.",
    ]
    cpu = {lab: np.mean([r["cpu_s"] for r in rows if r["turn_compensation"] == lab])
           for lab in ("no", "yes")}
    samples = np.mean([r["samples"] for r in rows])
    lines += ["", f"CPU time of the whole analysis of the demo session (mean of {len(SEEDS)} runs,"
              f" {samples:.0f} samples of two sensors): {cpu['no']:.2f} s without,"
              f" {cpu['yes']:.2f} s"
              f" with turn compensation, i.e. {(cpu['yes'] - cpu['no']) / samples * 1e6:.2f} CPU us"
              " per sample and sensor added (second VQF pass + correction; bench_live.py reports the"
              " live share).", "", f"Run time {time.perf_counter() - t0:.0f} s.", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
