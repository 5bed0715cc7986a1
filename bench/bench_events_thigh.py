"""Thigh-refined running events on the simulator (there is no real running data with a thigh IMU).

For each seed: simulate the demo session (sacrum + left thigh at 200 Hz, random mountings, noise,
gyro bias and drift), calibrate automatically, estimate orientation with VQF, and take

- the sacrum's initial contacts and toe-offs from :func:`gait.events_running.detect_running_events`
  on the vertical specific force alone and with the forward (AP) signal, the sides from
  :func:`gait.events_running.assign_running_sides` with the sacrum's yaw rate and ML acceleration
  (what the pipeline does without a thigh);
- the left thigh's angle from :func:`gait.angles.thigh_angles`, and from it
  :func:`gait.events_thigh.refine_running_events_with_thigh`.

Scored against the simulator's truth events over the steady part of the jog and of the two laps
(from 3 s after each phase starts to 1 s before it ends): IC timing of the left foot (the
thigh's leg), left toe-off and contact time from the sacrum and from the thigh, side accuracy.
The simulator places peak thigh extension exactly at toe-off, which favours the thigh's toe-off:
these figures check the mechanics under sensor errors, not real accuracy.

Run: ``.venv/bin/python bench/bench_events_thigh.py`` -> ``bench/results/events_thigh.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from calibration.alignment import auto_calibrate, with_neutral_from_orientation
from calibration.bias import find_still_periods
from gait import quaternion as quat
from gait.angles import thigh_angles, travel_heading_rad
from gait.events_running import assign_running_sides, detect_running_events
from gait.events_thigh import refine_running_events_with_thigh
from gait.orientation import estimate_orientation
from stridecue.constants import LEFT
from stridecue.simulator import demo_plan, simulate

SEEDS = (1, 2, 3)
OUT = Path(__file__).resolve().parent / "results" / "events_thigh.md"
MATCH_S = 0.04


def nearest(det_s: np.ndarray, ref_s: np.ndarray) -> np.ndarray:
    """Index of the detection nearest to every reference time; -1 where it is > 40 ms away."""
    k = np.clip(np.searchsorted(det_s, ref_s), 1, len(det_s) - 1)
    k = np.where(np.abs(det_s[k - 1] - ref_s) < np.abs(det_s[k] - ref_s), k - 1, k)
    return np.where(np.abs(det_s[k] - ref_s) <= MATCH_S, k, -1)


def run_seed(seed: int) -> dict[str, np.ndarray]:
    """Errors of every scored left-foot event, and side hits, for one simulated session."""
    sim = simulate(demo_plan(), seed=seed)
    sac, thi = sim.sensors["sacrum"], sim.sensors["thigh_left"]
    fs = sac.sampling_rate_hz
    cal = auto_calibrate(
        {p: (d.acc_mps2, d.gyr_radps) for p, d in sim.sensors.items()}, sampling_rate_hz=fs
    )
    q = {p: estimate_orientation(d.acc_mps2, d.gyr_radps, sampling_rate_hz=fs)
         for p, d in sim.sensors.items()}
    s0, s1 = find_still_periods(thi.acc_mps2, thi.gyr_radps, sampling_rate_hz=fs,
                                min_duration_s=5.0)[0]
    seg_t = with_neutral_from_orientation(cal["thigh_left"], q["thigh_left"][s0 + 100 : s1 - 100])
    angle = thigh_angles(q["thigh_left"], seg_t)["thigh_angle_deg"].to_numpy()
    # sacrum vertical / forward / left specific force and yaw rate, as the pipeline forms them
    acc_e = quat.rotate(q["sacrum"], sac.acc_mps2)
    yaw_rate = quat.rotate(q["sacrum"], sac.gyr_radps)[:, 2]
    q_seg = quat.multiply(q["sacrum"], quat.conjugate(cal["sacrum"].q_sensor_to_segment))
    fwd = quat.rotate(q_seg, np.tile([1.0, 0.0, 0.0], (len(q_seg), 1)))
    heading = travel_heading_rad(np.arctan2(fwd[:, 1], fwd[:, 0]), sampling_rate_hz=fs,
                                 heading_window_s=2.0)
    forward = acc_e[:, 0] * np.cos(heading) + acc_e[:, 1] * np.sin(heading)
    left_acc = -acc_e[:, 0] * np.sin(heading) + acc_e[:, 1] * np.cos(heading)

    ev = sim.truth.events
    keys = ("ic_vert", "ic_ap", "to_sacrum", "to_thigh", "ct_sacrum", "ct_thigh", "side_sacrum",
            "side_thigh")
    out: dict[str, list] = {k: [] for k in keys}
    t_s = sac.true_time_s
    for ph in sim.truth.phases.itertuples():
        if ph.kind not in ("jog", "run"):
            continue
        a, b = ph.start_s + 3.0, ph.end_s - 1.0
        i0, i1 = np.searchsorted(t_s, [a - 1.0, b + 1.0])
        sl = slice(i0, i1)
        true_ic = ev[(ev.event == "initial_contact") & (ev.time_s > a) & (ev.time_s < b)]
        left_to = ev.time_s[(ev.event == "toe_off") & (ev.side == LEFT)].to_numpy()
        ic_left = true_ic.time_s[true_ic.side == LEFT].to_numpy()
        to_left = left_to[np.clip(np.searchsorted(left_to, ic_left), 0, len(left_to) - 1)]
        for name, ap in (("vert", None), ("ap", forward[sl])):
            det = detect_running_events(acc_e[sl, 2], sampling_rate_hz=fs, acc_ap_mps2=ap)
            ic_s = np.interp(det.ic_pos, np.arange(i1 - i0), t_s[sl])
            k = nearest(ic_s, ic_left)
            ic_err = np.where(k >= 0, ic_s[k] - ic_left, np.nan)
            out[f"ic_{name}"].append(ic_err)
            if name == "vert":
                continue
            # with AP (the pipeline's default when orientation is known)
            to_s = np.interp(det.to_pos, np.arange(i1 - i0), t_s[sl])
            thigh = refine_running_events_with_thigh(ic_s, thi.true_time_s, angle, thigh_side=LEFT)
            for src, to in (("sacrum", to_s), ("thigh", thigh.to_s)):
                to_err = np.where(k >= 0, to[k] - to_left, np.nan)
                out[f"to_{src}"].append(to_err)
                out[f"ct_{src}"].append(to_err - ic_err)
            sides = assign_running_sides(
                det.ic_idx, sampling_rate_hz=fs, gyr_vertical_radps=yaw_rate[sl],
                acc_ml_mps2=left_acc[sl])
            j = nearest(ic_s, true_ic.time_s.to_numpy())
            truth_side = true_ic.side.to_numpy()
            out["side_sacrum"].append((j >= 0) & (sides[j] == truth_side))
            out["side_thigh"].append((j >= 0) & (thigh.side[j] == truth_side))
    return {k: np.concatenate(v) for k, v in out.items()}


def _stats(err_s: np.ndarray) -> str:
    e = 1000 * err_s[np.isfinite(err_s)]
    missing = int(np.sum(~np.isfinite(err_s)))
    return (f"{np.mean(np.abs(e)):.1f} | {np.mean(e):+.1f} | {np.std(e):.1f} | "
            f"{len(e)} | {missing}")


def main() -> None:
    """Run all seeds and write the markdown fragment."""
    t0 = time.perf_counter()
    runs = [run_seed(s) for s in SEEDS]
    r = {k: np.concatenate([x[k] for x in runs]) for k in runs[0]}
    lines = [
        "## Thigh-refined running events (simulator only)",
        "",
        f"Produced by `bench/bench_events_thigh.py` ({len(SEEDS)} seeds of the demo session: "
        "sacrum + left thigh at 200 Hz, random mountings, noise, gyro bias and drift, automatic "
        "calibration, VQF orientation; jog 3.0 m/s and two 400 m laps at 4.4 m/s, steady parts "
        "only). **No real running recording with a thigh sensor exists here**: the simulator "
        "reaches peak thigh extension exactly at toe-off, which favours the thigh's toe-off; "
        "these numbers test the mechanics "
        "(sensor, orientation and calibration errors), not accuracy on runners.",
        "",
        "| left-foot event | source | MAE ms | bias ms | SD ms | matched | missed (> 40 ms) |",
        "|---|---|---|---|---|---|---|",
        f"| initial contact | sacrum, vertical only | {_stats(r['ic_vert'])} |",
        f"| initial contact | sacrum, vertical + AP (kept) | {_stats(r['ic_ap'])} |",
        f"| toe-off | sacrum (end of contact, with AP) | {_stats(r['to_sacrum'])} |",
        f"| toe-off | thigh peak extension | {_stats(r['to_thigh'])} |",
        f"| contact time | sacrum | {_stats(r['ct_sacrum'])} |",
        f"| contact time | sacrum IC to thigh toe-off | {_stats(r['ct_thigh'])} |",
        "",
        f"Side correct: sacrum yaw rate + ML acceleration {np.mean(r['side_sacrum']):.3f}, "
        f"with the thigh {np.mean(r['side_thigh']):.3f} ({len(r['side_thigh'])} contacts). "
        "Initial contacts stay the sacrum's: moving the thigh's own contacts to the instant the "
        "thigh passes its bout-median contact angle was measured here at commit 2943dc1 and "
        "widened the spread (SD 3.8 -> 4.4 ms vertical only, 2.3 -> 3.1 ms with AP; the "
        "estimated thigh angle carries about a degree of orientation/calibration error, 3 ms at "
        "running retraction rates), so it was removed. "
        f"Run time {time.perf_counter() - t0:.0f} s.",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
