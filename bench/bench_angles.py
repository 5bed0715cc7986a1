"""Accuracy of calibration + anatomical angles on the simulator, with random sensor mountings.

For each seed: simulate the demo session (standing 15 s, walking 12 s, jog, two 400 m track laps,
walk; sacrum + left thigh, random mountings, noise, gyro bias and bias drift, clock drift),
calibrate automatically (first still period + the walk after it), estimate orientation with VQF,
compute the angles and compare with the simulator's truth:

* per-stride RMS error of pelvic tilt, obliquity and rotation (running strides: jog + laps);
* thigh angle at initial contact (left strides) vs the truth table.

Run: ``.venv/bin/python bench/bench_angles.py`` -> ``bench/results/angles.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from calibration.alignment import auto_calibrate, with_neutral_from_orientation
from calibration.bias import find_still_periods
from gait.angles import pelvis_angles, thigh_angles
from gait.orientation import estimate_orientation
from stridecue.simulator import demo_plan, simulate

SEEDS = (1, 2, 3, 4)
HEADING_WINDOW_S = 0.7
OUT = Path(__file__).resolve().parent / "results" / "angles.md"


def run_seed(seed: int) -> dict:
    sim = simulate(demo_plan(), seed=seed)
    sensors = {p: (d.acc_mps2, d.gyr_radps) for p, d in sim.sensors.items()}
    fs = sim.sensors["sacrum"].sampling_rate_hz
    cal = auto_calibrate(sensors, sampling_rate_hz=fs)
    out: dict = {"seed": seed}
    est = {}
    for p, d in sim.sensors.items():
        q = estimate_orientation(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs)
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
    return out


def main() -> None:
    t0 = time.perf_counter()
    rows = [run_seed(s) for s in SEEDS]
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
        "| seed | strides | tilt RMS/stride mean (max) deg | obliquity | rotation |"
        " thigh IC err mean +- SD deg | thigh RMS deg | mounting err sacrum / thigh deg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            f"{np.mean(r[k]):.2f} ({np.max(r[k]):.2f})"
            for k in ("pelvis_tilt_deg", "pelvis_obliquity_deg", "pelvis_rotation_deg")
        ]
        lines.append(
            f"| {r['seed']} | {r['n_strides']} | " + " | ".join(cells)
            + f" | {np.mean(r['thigh_ic_err']):+.2f} +- {np.std(r['thigh_ic_err']):.2f}"
            + f" | {r['thigh_rms_deg']:.2f}"
            + f" | {r['mount_err_sacrum_deg']:.1f} / {r['mount_err_thigh_left_deg']:.1f} |"
        )
    lines += [
        "",
        "Obliquity misses the 1 deg target. Probable cause, not yet verified: on the track bends",
        " the centripetal acceleration (4.4 m/s on a 36.5 m radius, 0.53 m/s^2, about 3 deg)"
        " leans the vertical that VQF takes from the accelerometer. The calibration alone"
        " (true orientation) gives under 0.1 deg in tests/test_angles.py.",
    ]
    lines += ["", f"Run time {time.perf_counter() - t0:.0f} s.", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
