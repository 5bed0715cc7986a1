"""Accuracy of walking events, cadence and stride length on the lower-back walking recordings.

Run: ``.venv/bin/python bench/bench_walking.py``. Prints the figures and writes
``bench/results/walking.md``. Data: ../shared/data/lowerback-walking (Mobilise-D technical
validation lab example, CC-BY-4.0; Mico-Amigo et al. JNER 2023; Kirk et al. Sci Data 2024),
L5 IMU at 100 Hz against the INDIP multi-sensor reference.

Scoring
-------
- Initial contacts: detections inside each reference walking bout (widened by the tolerance) are
  matched one-to-one to reference ICs (nearest first) within +-100 ms and +-50 ms; F1 over all
  scored ICs. Timing MAE over the +-100 ms matches. HA_002's straight walks have no reference and
  are not scored.
- Side: fraction of matched ICs with the reference foot.
- Cadence: per reference bout, 60 * (n - 1) / (last - first) over the detected ICs in the bout,
  against the reference mean cadence of the bout.
- Stride length: a reference stride is scored when both of its ICs were detected (+-100 ms); ours
  is the stride between those two detected ICs. Baseline: Zijlstra & Hof 2003 (high-pass double
  integration, pendulum length = sensor height, K = 1.25) on the same detected ICs. "Calibrated":
  one scale per person fitted with ``fit_stride_length_scale`` on ONE other trial of the same
  person (the known distance = the reference length of that trial's strides) and applied unchanged
  to the test trial. Only HA_001 has two referenced straight walks; HA_002 cannot be calibrated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gait.events_walking import detect_walking_events
from gait.stride_length import fit_stride_length_scale, walking_stride_length_m

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lowerback-walking"
OUT = Path(__file__).resolve().parent / "results" / "walking.md"
TOLS_S = (0.1, 0.05)


def match(det_s: np.ndarray, ref_s: np.ndarray, tol_s: float) -> list[tuple[int, int]]:
    """One-to-one nearest matching of detections to references within a tolerance."""
    pairs = sorted(
        (abs(d - r), i, j) for j, r in enumerate(ref_s) for i, d in enumerate(det_s)
        if abs(d - r) <= tol_s
    )
    used_d, used_r, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            out.append((i, j))
    return out


def load(trial: Path) -> dict:
    """Read one trial."""
    imu = pd.read_csv(trial / "imu.csv")
    return {
        "name": trial.name,
        "acc": imu[["acc_x", "acc_y", "acc_z"]].to_numpy(),
        "gyr": imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(),
        "time": imu["time_s"].to_numpy(),
        "ic": pd.read_csv(trial / "initial_contacts.csv"),
        "strides": pd.read_csv(trial / "strides.csv"),
        "bouts": pd.read_csv(trial / "walking_bouts.csv"),
        "meta": json.loads((trial / "meta.json").read_text()),
    }


def evaluate_trial(tr: dict) -> dict:
    """Events, cadence and per-stride predictions for one trial."""
    fs = float(tr["meta"]["sampling_rate_hz"])
    ev = detect_walking_events(tr["acc"], sampling_rate_hz=fs, gyr_radps=tr["gyr"])
    det_s = tr["time"][0] + ev.ic_idx / fs
    res = {"name": tr["name"], "n_ref": len(tr["ic"])}
    for tol in TOLS_S:
        tp = n_det = 0
        errs, side_ok = [], []
        for _, b in tr["bouts"].iterrows():
            inb = np.flatnonzero((det_s >= b.start_s - tol) & (det_s <= b.end_s + tol))
            ref = tr["ic"][tr["ic"].walking_bout == b.walking_bout]
            pairs = match(det_s[inb], ref.time_s.to_numpy(), tol)
            tp += len(pairs)
            n_det += len(inb)
            for i, j in pairs:
                errs.append(det_s[inb[i]] - ref.time_s.iloc[j])
                side_ok.append(ev.side[inb[i]] == ref.side.iloc[j])
        res[f"tp_{tol}"], res[f"ndet_{tol}"] = tp, n_det
        if tol == 0.1:
            res["abs_err_s"] = np.abs(errs)
            res["side_ok"] = np.array(side_ok)
    # cadence per bout
    cad = []
    for _, b in tr["bouts"].iterrows():
        t = det_s[(det_s >= b.start_s - 0.1) & (det_s <= b.end_s + 0.1)]
        if len(t) >= 3:
            cad.append(60.0 * (len(t) - 1) / (t[-1] - t[0]) - b.avg_cadence_spm)
    res["cadence_err_spm"] = np.array(cad)
    # strides
    h = float(tr["meta"]["sensor_height_m"])
    ours = walking_stride_length_m(tr["acc"], ev.ic_idx, sampling_rate_hz=fs, sensor_height_m=h)
    base = walking_stride_length_m(
        tr["acc"], ev.ic_idx, sampling_rate_hz=fs, sensor_height_m=h, method="highpass"
    )
    rows = []
    for _, s in tr["strides"].iterrows():
        i0 = np.flatnonzero(np.abs(det_s - s.start_s) <= 0.1)
        i1 = np.flatnonzero(np.abs(det_s - s.end_s) <= 0.1)
        if len(i0) and len(i1) and i1[0] == i0[0] + 2:
            rows.append((s.stride_length_m, ours[i0[0]], base[i0[0]]))
    res["strides"] = np.array(rows, dtype=float).reshape(-1, 3)
    return res


def main() -> None:
    """Run the evaluation and write the markdown fragment."""
    trials = [load(p) for p in sorted(DATA.iterdir()) if p.is_dir()]
    scored = [t for t in trials if len(t["ic"])]
    results = {t["name"]: evaluate_trial(t) for t in scored}

    def f1(rs: list[dict], tol: float) -> float:
        tp = sum(r[f"tp_{tol}"] for r in rs)
        return 2 * tp / sum(r[f"ndet_{tol}"] + r["n_ref"] for r in rs)

    lines = ["## Walking events, cadence and stride length (lower-back IMU)", ""]
    lines.append(
        "Data: ../shared/data/lowerback-walking, 2 healthy adults, L5 IMU 100 Hz, INDIP reference "
        "(Mobilise-D lab example, CC-BY-4.0; Mico-Amigo et al. 2023, Kirk et al. 2024). "
        "Produced by `bench/bench_walking.py`; scoring is described in its docstring. "
        "All parameters are fixed for every trial (no per-trial tuning); the IC filter "
        "cut-offs (3 Hz steps, 5 Hz slope) and step prominence (0.3 m/s^2) were chosen from a "
        "grid of 7 settings evaluated on all four referenced trials together, so the IC figures "
        "are in-sample for those three numbers."
    )
    lines += ["", "### Initial contacts", ""]
    lines.append("| trial | ref ICs | F1 @100 ms | F1 @50 ms | timing MAE ms | side correct |")
    lines.append("|---|---|---|---|---|---|")
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n_ref']} | {f1([r], 0.1):.3f} | {f1([r], 0.05):.3f} | "
            f"{1000 * r['abs_err_s'].mean():.0f} | {r['side_ok'].mean():.2f} |"
        )
    rs = list(results.values())
    all_err = np.concatenate([r["abs_err_s"] for r in rs])
    all_side = np.concatenate([r["side_ok"] for r in rs])
    lines.append(
        f"| **all** | {sum(r['n_ref'] for r in rs)} | **{f1(rs, 0.1):.3f}** | "
        f"**{f1(rs, 0.05):.3f}** | {1000 * all_err.mean():.0f} | {all_side.mean():.2f} |"
    )
    straight = [r for n, r in results.items() if "Test5" in n]
    daily = [r for n, r in results.items() if "Test11" in n]
    lines.append("")
    lines.append(
        f"Straight walks: F1 @100 ms {f1(straight, 0.1):.3f}, @50 ms {f1(straight, 0.05):.3f}; "
        f"daily living: F1 @100 ms {f1(daily, 0.1):.3f}, @50 ms {f1(daily, 0.05):.3f}. "
        "Anchors (published/open lower-back detectors on this kind of data): F1 ~0.77 @200 ms, "
        "~0.53 @100 ms, < 0.35 @50 ms. Target: >= 0.90 @100 ms."
    )
    # cadence
    cs = np.concatenate([r["cadence_err_spm"] for r in straight])
    cd = np.concatenate([r["cadence_err_spm"] for r in daily])
    lines += ["", "### Cadence (per reference bout)", ""]
    lines.append(
        f"Straight walks: MAE {np.abs(cs).mean():.1f} spm ({len(cs)} bouts); daily living: MAE "
        f"{np.abs(cd).mean():.1f} spm ({len(cd)} bouts), worst {np.abs(cd).max():.1f} spm. "
        "Anchors: ~3 spm straight, ~6 spm overall. Target: within 2 spm."
    )
    # stride length
    lines += ["", "### Stride length", ""]
    lines.append(
        "| trials | strides | baseline IP (Zijlstra & Hof, K=1.25) MAE cm | ours uncalibrated "
        "MAE cm | ours calibrated on the other trial MAE cm |"
    )
    lines.append("|---|---|---|---|---|")

    def mae(a: np.ndarray, b: np.ndarray) -> float:
        ok = np.isfinite(a) & np.isfinite(b)
        return 100 * float(np.mean(np.abs(a[ok] - b[ok])))

    def scale_from(name: str) -> float:
        st = results[name]["strides"]
        ok = np.isfinite(st[:, 1])
        return fit_stride_length_scale(st[ok, 1], float(st[ok, 0].sum()))

    calib_pairs = {
        "HA_001_Test5_Trial1": "HA_001_Test5_Trial2",
        "HA_001_Test5_Trial2": "HA_001_Test5_Trial1",
        "HA_001_Test11_Trial1": "HA_001_Test5_Trial1",
    }
    figures = {}
    for label, names in (
        ("straight (HA_001 Test5 x2)", [n for n in results if "Test5" in n]),
        ("daily living HA_001 Test11", ["HA_001_Test11_Trial1"]),
        ("daily living HA_002 Test11", ["HA_002_Test11_Trial1"]),
    ):
        ref, our, bas, cal = [], [], [], []
        for n in names:
            st = results[n]["strides"]
            ref.append(st[:, 0])
            our.append(st[:, 1])
            bas.append(st[:, 2])
            k = scale_from(calib_pairs[n]) if n in calib_pairs else np.nan
            cal.append(st[:, 1] * k)
        ref, our, bas, cal = (np.concatenate(x) for x in (ref, our, bas, cal))
        figures[label] = (mae(bas, ref), mae(our, ref), mae(cal, ref) if np.isfinite(cal).any()
                          else float("nan"))
        lines.append(
            f"| {label} | {len(ref)} | {figures[label][0]:.1f} | {figures[label][1]:.1f} | "
            + (f"{figures[label][2]:.1f} |" if np.isfinite(figures[label][2]) else "n/a |")
        )
    lines.append("")
    lines.append(
        "Calibration: HA_001 Test5 Trial1 <-> Trial2 (each calibrated on the other), HA_001 "
        "Test11 calibrated on Test5 Trial1. HA_002 has no referenced straight walk to calibrate "
        "on. Anchors: ~6 cm (5 %) straight with the inverted pendulum, 14-16 cm in daily-living "
        "bouts. Target: <= 5 cm straight. Only 14 straight strides of one person are scored: "
        "read these figures as indicative."
    )
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
