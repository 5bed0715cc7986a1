"""Orientation accuracy on BROAD and speed of every method; writes bench/results/orientation.md.

Run: ``.venv/bin/python bench/bench_orientation.py [--data ../shared/data/broad] [--jobs 2]``

Accuracy (BROAD, Laidig et al. 2021, CC-BY-4.0; 15 trials, optical truth):
- error quaternion in the earth frame ``q_err = q_est * conj(q_true)`` (as BROAD's example code);
  inclination error = angle between estimated and true vertical; heading error = rotation of
  ``q_err`` about the vertical. For 6D estimates a constant heading offset is removed first: the
  circular mean of the heading error over the scored samples (6D heading is arbitrary).
- RMS over the ``movement`` samples with finite truth, per trial; a group's figure is the mean of
  its trials' RMS values (BROAD's way of averaging).
- Every method gets the same samples. The VQF variants run on the full trials; the ``ahrs`` filters
  loop in Python (30-110 us per sample), so all methods are *also* scored on the first
  ``--head-s`` seconds (default 60 s) of every trial, the table where ahrs filters appear.
- Fixed parameters only: the published defaults of each filter; nothing was fitted to BROAD.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from ahrs.filters import Madgwick

from gait import quaternion as quat
from gait.orientation import OrientationEstimator, estimate_orientation

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "broad"
RESULTS = REPO / "bench" / "results"

# (label, method, uses magnetometer)
VQF_METHODS = [
    ("ours (default: vqf 6D)", "vqf", False),
    ("vqf online 9D", "vqf", True),
    ("vqf offline 6D", "vqf_offline", False),
    ("vqf offline 9D", "vqf_offline", True),
]
AHRS_METHODS = [
    ("ahrs Madgwick 6D", "madgwick", False),
    ("ahrs Madgwick 9D", "madgwick", True),
    ("ahrs Mahony 6D", "mahony", False),
    ("ahrs Mahony 9D", "mahony", True),
    ("ahrs EKF 6D", "ekf", False),
    ("ahrs EKF 9D", "ekf", True),
]
ANCHORS = (
    "Published anchors (BROAD, all trials, RMS inclination): ahrs-style Madgwick about 2 deg; "
    "VQF 0.72 deg; offline VQF 0.53 deg (Laidig & Seel 2023, Information Fusion 91:187-204; "
    "BROAD: Laidig et al. 2021, Data 6(7):72). Those figures cover all 23 BROAD test trials with "
    "the authors' own evaluation; our folder holds 15 of them."
)


def score(q_est: np.ndarray, q_true: np.ndarray, movement: np.ndarray, six_d: bool) -> dict:
    """RMS inclination and heading error (degrees) over movement samples with finite truth."""
    keep = movement & np.all(np.isfinite(q_true), axis=1) & np.all(np.isfinite(q_est), axis=1)
    q_err = quat.multiply(q_est[keep], quat.conjugate(q_true[keep]))
    incl = quat.inclination_rad(q_err)
    head = quat.heading_rad(q_err)
    if six_d:
        offset = np.angle(np.mean(np.exp(1j * head)))
        head = np.angle(np.exp(1j * (head - offset)))
    return {
        "inclination_rmse_deg": float(np.degrees(np.sqrt(np.mean(incl**2)))),
        "heading_rmse_deg": float(np.degrees(np.sqrt(np.mean(head**2)))),
        "n_scored": int(keep.sum()),
    }


def run_trial(path: str, head_samples: int, with_ahrs: bool) -> dict:
    """All methods on one trial: full length (VQF variants) and the head (every method)."""
    d = np.load(path)
    fs = float(d["sampling_rate_hz"])
    acc, gyr, mag = d["acc_mps2"], d["gyr_radps"], d["mag_ut"]
    truth, move = d["quat_wxyz_sensor_to_enu"], d["movement"].astype(bool)
    out: dict = {"full": {}, "head": {}}
    h = slice(0, head_samples)
    for label, method, use_mag in VQF_METHODS + (AHRS_METHODS if with_ahrs else []):
        for part, sl in (("full", slice(None)), ("head", h)):
            if part == "full" and method not in ("vqf", "vqf_offline"):
                continue
            q = estimate_orientation(acc[sl], gyr[sl], sampling_rate_hz=fs,
                                     mag_ut=mag[sl] if use_mag else None, method=method)
            out[part][label] = score(q, truth[sl], move[sl], six_d=not use_mag)
    return out


def group_table(trials: dict, results: dict, part: str, labels: list[str], metric: str) -> str:
    """Markdown table: rows = groups with at least one present trial, columns = methods."""
    groups: dict[str, list[str]] = {}
    for name in results:
        for g in trials[name]["groups"]:
            groups.setdefault(g, []).append(name)
    order = [g["name"] for g in trials_info["groups"] if g["name"] in groups]
    lines = ["| group (trials) | " + " | ".join(labels) + " |",
             "|---|" + "---|" * len(labels)]
    for g in order:
        names = groups[g]
        vals = [np.mean([results[n][part][lab][metric] for n in names]) for lab in labels]
        lines.append(f"| {g} ({len(names)}) | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    return "\n".join(lines)


def time_batch(acc, gyr, mag, fs) -> dict[str, float]:  # noqa: ANN001
    """Batch CPU microseconds per sample of every method, same process, same data.

    Compiled methods: best of 5 runs after a warm-up run; Python-loop ahrs filters: one run.
    """
    out = {}
    n = acc.shape[0]
    t0 = time.process_time()
    Madgwick(gyr=gyr, acc=acc, frequency=fs)
    out["ahrs Madgwick 6D, native batch class"] = (time.process_time() - t0) / n * 1e6
    for label, method, use_mag in VQF_METHODS + AHRS_METHODS:
        best = np.inf
        repeats = 6 if method.startswith("vqf") else 1
        for _ in range(repeats):
            t0 = time.process_time()
            estimate_orientation(acc, gyr, sampling_rate_hz=fs, mag_ut=mag if use_mag else None,
                                 method=method)
            if repeats == 1 or _ > 0:  # the first of several runs is a warm-up
                best = min(best, time.process_time() - t0)
        out[label] = best / n * 1e6
    return out


def time_streaming(acc, gyr, fs, chunk: int) -> float:  # noqa: ANN001
    """CPU microseconds per sample of OrientationEstimator.update (default method)."""
    est = OrientationEstimator(sampling_rate_hz=fs)
    n = acc.shape[0] - acc.shape[0] % chunk
    t0 = time.process_time()
    if chunk == 1:
        for i in range(n):
            est.update(acc[i], gyr[i])
    else:
        for i in range(0, n, chunk):
            est.update(acc[i:i + chunk], gyr[i:i + chunk])
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    """Run the benchmark, print the tables and write bench/results/orientation.md."""
    global trials_info
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--head-s", type=float, default=60.0)
    ap.add_argument("--no-ahrs", action="store_true", help="skip the slow ahrs filters")
    args = ap.parse_args()
    trials_info = json.loads((args.data / "trials.json").read_text())
    files = sorted(args.data.glob("*.npz"))
    fs = float(np.load(files[0])["sampling_rate_hz"])
    head_samples = int(args.head_s * fs)
    t_start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futs = {f.stem: pool.submit(run_trial, str(f), head_samples, not args.no_ahrs)
                for f in files}
        results = {name: fut.result() for name, fut in futs.items()}
    wall_s = time.perf_counter() - t_start

    vqf_labels = [lab for lab, _, _ in VQF_METHODS]
    all_labels = vqf_labels + ([] if args.no_ahrs else [lab for lab, _, _ in AHRS_METHODS])
    tr = trials_info["trials"]
    tables = {
        "full_incl": group_table(tr, results, "full", vqf_labels, "inclination_rmse_deg"),
        "full_head": group_table(tr, results, "full", vqf_labels, "heading_rmse_deg"),
        "head_incl": group_table(tr, results, "head", all_labels, "inclination_rmse_deg"),
        "head_head": group_table(tr, results, "head", all_labels, "heading_rmse_deg"),
    }
    per_trial = ["| trial | " + " | ".join(vqf_labels) + " |", "|---|" + "---|" * len(vqf_labels)]
    for name, res in results.items():
        per_trial.append(f"| {name} | " + " | ".join(
            f"{res['full'][lab]['inclination_rmse_deg']:.2f}" for lab in vqf_labels) + " |")

    # speed: one trial head (same data for every method), in this process
    d = np.load(files[0])
    sl = slice(0, 20_000)
    acc, gyr, mag = d["acc_mps2"][sl], d["gyr_radps"][sl], d["mag_ut"][sl]
    speed = time_batch(acc, gyr, mag, fs)
    madg = speed["ahrs Madgwick 6D"]
    speed_lines = ["| method | batch CPU us/sample | speed vs ahrs Madgwick 6D |", "|---|---|---|"]
    for lab, us in speed.items():
        speed_lines.append(f"| {lab} | {us:.2f} | {madg / us:.1f}x |")
    d_full = np.load(files[0])
    stream_1 = time_streaming(d_full["acc_mps2"][:5000], d_full["gyr_radps"][:5000], fs, 1)
    stream_10 = time_streaming(d_full["acc_mps2"][:20000], d_full["gyr_radps"][:20000], fs, 10)

    verdict = []
    ours = "ours (default: vqf 6D)"
    ahrs_labels = [lab for lab, _, _ in AHRS_METHODS] if not args.no_ahrs else []
    groups = sorted({g for n in results for g in tr[n]["groups"]})
    for g in groups:
        names = [n for n in results if g in tr[n]["groups"]]
        def grp(lab, part="head", names=names):  # noqa: ANN001, ANN202
            return np.mean([results[n][part][lab]["inclination_rmse_deg"] for n in names])
        best_ahrs = min((grp(lab), lab) for lab in ahrs_labels) if ahrs_labels else (np.nan, "")
        verdict.append(f"| {g} | {grp(ours):.2f} | {best_ahrs[0]:.2f} ({best_ahrs[1]}) | "
                       f"{best_ahrs[0] / grp(ours):.1f}x |")
    verdict_table = "\n".join(
        ["| group | ours incl. RMSE (deg) | best ahrs filter (deg) | ahrs error / ours |",
         "|---|---|---|---|", *verdict])
    speedup = madg / speed[ours]

    text = f"""# Orientation estimation: accuracy on BROAD and speed

Produced by `bench/bench_orientation.py` ({len(files)} BROAD trials, {fs:.1f} Hz; wall time
{wall_s:.0f} s with {args.jobs} processes). {ANCHORS}

How the numbers were obtained: error quaternion in the earth frame `q_est * conj(q_true)`;
inclination error = angle between estimated and true vertical; heading error = its rotation about
the vertical, after removing a constant offset (circular mean over the scored samples) for 6D
estimates, raw for 9D. RMS over the `movement` samples with finite optical truth, per trial; a
group's value is the mean of its trials' RMS values. Every filter runs with its published default
parameters, initialised from the first sample; nothing was fitted to BROAD.

## Inclination RMSE (deg), full trials, VQF variants

{tables['full_incl']}

## Heading RMSE (deg), full trials, VQF variants

{tables['full_head']}

## Inclination RMSE (deg), first {args.head_s:.0f} s of every trial, all methods

The `ahrs` filters loop in Python, so they are scored on the first {args.head_s:.0f} s of every
trial only (all {len(files)} trials); every method here gets exactly those samples.

{tables['head_incl']}

## Heading RMSE (deg), first {args.head_s:.0f} s of every trial, all methods

{tables['head_head']}

## Per-trial inclination RMSE (deg), full trials

{chr(10).join(per_trial)}

## Speed

Batch: CPU time (`time.process_time`) of `estimate_orientation` on the first
{sl.stop} samples of `{files[0].stem}`, every method in the same process on the same data
(the ahrs filters through our wrapper: one Python call per sample, as `ahrs` itself does).

{chr(10).join(speed_lines)}

Streaming, our default (`OrientationEstimator.update`, VQF 6D), CPU time per sample:
per-sample calls {stream_1:.1f} us; 10-sample chunks {stream_10:.1f} us.

## Verdict

Inclination (first {args.head_s:.0f} s table): ours against the best `ahrs` filter per group.

{verdict_table}

Batch speed: ours is {speedup:.0f}x faster than `ahrs` Madgwick 6D (same process, same data).
Machine note: `ahrs` Madgwick takes about {madg:.0f} us per sample on this machine, faster than
the 150-400 us seen elsewhere, so the speed-up is smaller than it would be there.

Our default *is* plain online VQF (6D unless a magnetometer is passed) with its published
parameters, so "no worse than VQF on every group" holds by construction (the same numbers). We
did not search for an improvement: VQF's time constants are published defaults, and choosing
others on these 15 trials would be tuning to the test data. Offline VQF is more accurate
(about 0.5 deg against 0.7 deg) but acausal, so it cannot drive live cues; it is available as
`method="vqf_offline"` for re-analysis. Where we lose: the fast/combined trials (1.2-1.8 deg),
and the per-sample streaming call ({stream_1:.0f} us) is dominated by Python overhead, so live
code should feed chunks. `ahrs` Mahony with its default gains (k_P=1, k_I=0.3) follows the
accelerometer too closely and reaches 6-14 deg under translation; we report it as is.
"""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "orientation.md").write_text(text)
    print(text)


trials_info: dict = {}

if __name__ == "__main__":
    main()
