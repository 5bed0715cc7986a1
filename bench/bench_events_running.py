"""Accuracy of the sacrum running-event detector on real treadmill data with force-plate reference.

Data: ../shared/data/sacrum-running (Alcantara et al. 2022, PeerJ 10:e12752, Apache-2.0): 16 trials
of one runner, 5 s each at 500 Hz, sacrum vertical and AP acceleration (pre-filtered 20 Hz, negative
vertical clipped to 0 by the authors); reference contacts where the treadmill normal force exceeds
0.05 body weights.

Run: ``.venv/bin/python bench/bench_events_running.py``; prints the figures and writes
``bench/results/events_running.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import resample_poly

from gait.events_running import detect_running_events
from stridecue.constants import GRAVITY_MPS2

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "sacrum-running"
OUT = REPO / "bench" / "results" / "events_running.md"
TOL_S = 0.040
EDGE_S = 0.1


def clean_reference(contacts: pd.DataFrame, duration_s: float) -> np.ndarray:
    """Reference contacts: merge chatter (gaps < 30 ms), drop blips (< 50 ms) and partial ones.

    Contacts starting in the first 0.1 s or ending in the last 0.1 s are dropped for every method.
    """
    out: list[list[float]] = []
    for a, b in zip(contacts["ic_s"], contacts["tc_s"], strict=True):
        if out and a - out[-1][1] < 0.03:
            out[-1][1] = b
        else:
            out.append([a, b])
    keep = [o for o in out if o[1] - o[0] > 0.05 and o[0] >= EDGE_S and o[1] <= duration_s - EDGE_S]
    return np.asarray(keep, dtype=float).reshape(-1, 2)


def match_one_to_one(det: np.ndarray, ref: np.ndarray, tol: float) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of detected to reference times, closest pairs first."""
    pairs = []
    for i, d in enumerate(det):
        for j, r in enumerate(ref):
            if abs(d - r) <= tol:
                pairs.append((abs(d - r), i, j))
    pairs.sort()
    used_d, used_r, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            out.append((i, j))
    return out


def baseline_threshold(
    acc_g: np.ndarray, *, sampling_rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Plain threshold: IC where vertical acc rises through 1 g, TO where it next falls below."""
    up = np.flatnonzero((acc_g[:-1] < 1.0) & (acc_g[1:] >= 1.0))
    dn = np.flatnonzero((acc_g[:-1] >= 1.0) & (acc_g[1:] < 1.0))
    ic_s, to_s = [], []
    for i in up:
        ic_s.append((i + (1.0 - acc_g[i]) / (acc_g[i + 1] - acc_g[i])) / sampling_rate_hz)
        nxt = dn[dn > i]
        if nxt.size:
            k = nxt[0]
            to_s.append((k + (acc_g[k] - 1.0) / (acc_g[k] - acc_g[k + 1])) / sampling_rate_hz)
        else:
            to_s.append(np.nan)
    return np.asarray(ic_s), np.asarray(to_s)


def score(ic_s: np.ndarray, to_s: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """IC F1 / timing, TO timing, contact-time and cadence errors against the reference."""
    lo, hi = ref[0, 0] - TOL_S, ref[-1, 0] + TOL_S
    inside = (ic_s >= lo) & (ic_s <= hi)  # detections where the reference is scored
    ic_in, to_in = ic_s[inside], to_s[inside]
    pairs = match_one_to_one(ic_in, ref[:, 0], TOL_S)
    tp = len(pairs)
    f1 = 2 * tp / (len(ic_in) + len(ref)) if len(ic_in) + len(ref) else np.nan
    e_ic = np.array([ic_in[i] - ref[j, 0] for i, j in pairs])
    e_to = np.array([to_in[i] - ref[j, 1] for i, j in pairs])
    e_ct = np.array([(to_in[i] - ic_in[i]) - (ref[j, 1] - ref[j, 0]) for i, j in pairs])
    cad_ref = 60.0 / np.median(np.diff(ref[:, 0]))
    cad_det = 60.0 / np.median(np.diff(ic_in)) if len(ic_in) > 1 else np.nan
    return {
        "n_ref": len(ref),
        "n_det": len(ic_in),
        "f1": f1,
        "ic_mae_ms": 1e3 * np.nanmean(np.abs(e_ic)) if tp else np.nan,
        "ic_bias_ms": 1e3 * np.nanmean(e_ic) if tp else np.nan,
        "to_mae_ms": 1e3 * np.nanmean(np.abs(e_to)) if tp else np.nan,
        "to_bias_ms": 1e3 * np.nanmean(e_to) if tp else np.nan,
        "ct_mae_ms": 1e3 * np.nanmean(np.abs(e_ct)) if tp else np.nan,
        "cad_err_spm": cad_det - cad_ref,
    }


def load_trials() -> list[tuple[str, dict, pd.DataFrame, np.ndarray]]:
    """Every trial: name, meta, imu table, cleaned reference."""
    trials = []
    for folder in sorted(DATA.glob("trial_*")):
        imu = pd.read_csv(folder / "imu.csv")
        meta = json.loads((folder / "meta.json").read_text())
        ref = clean_reference(pd.read_csv(folder / "contacts.csv"), float(imu["time_s"].iloc[-1]))
        trials.append((folder.name, meta, imu, ref))
    return trials


def degrade(acc_g: np.ndarray, fs_in: int, fs_out: int, noise_g: float, seed: int) -> np.ndarray:
    """Resample to ``fs_out`` (polyphase, anti-aliased) and add white noise of ``noise_g`` (g)."""
    y = resample_poly(acc_g, fs_out, fs_in) if fs_out != fs_in else acc_g.copy()
    return y + np.random.default_rng(seed).normal(0.0, noise_g, y.size)


def run_condition(
    trials, method: str, fs_out: int = 500, noise_g: float = 0.0, **kw
) -> pd.DataFrame:
    """Score one method/condition on every trial; one row per trial."""
    rows = []
    for k, (name, meta, imu, ref) in enumerate(trials):
        fs_in = int(meta["sampling_rate_hz"])
        acc_g = degrade(imu["acc_vertical_g"].to_numpy(), fs_in, fs_out, noise_g, seed=k)
        t0 = float(imu["time_s"].iloc[0])
        if method == "stridecue":
            ev = detect_running_events(acc_g * GRAVITY_MPS2, sampling_rate_hz=fs_out, **kw)
            ic_s, to_s = ev.ic_s + t0, ev.to_s + t0
        else:
            ic_s, to_s = baseline_threshold(acc_g, sampling_rate_hz=fs_out)
            ic_s, to_s = ic_s + t0, to_s + t0
        row = {
            "trial": name,
            "speed_mps": meta["treadmill_speed_mps"],
            "slope_deg": meta["slope_deg"],
        }
        row.update(score(ic_s, to_s, ref))
        rows.append(row)
    return pd.DataFrame(rows)


def overall(df: pd.DataFrame) -> dict[str, float]:
    """Pooled F1 (over all contacts) and means of the per-trial errors."""
    return {
        "f1": float(
            df["f1"].mul(df["n_ref"] + df["n_det"]).sum() / (df["n_ref"] + df["n_det"]).sum()
        ),
        "ic_mae_ms": df["ic_mae_ms"].mean(),
        "ic_bias_ms": df["ic_bias_ms"].mean(),
        "to_mae_ms": df["to_mae_ms"].mean(),
        "ct_mae_ms": df["ct_mae_ms"].mean(),
        "cad_abs_err_spm": df["cad_err_spm"].abs().mean(),
        "cad_max_err_spm": df["cad_err_spm"].abs().max(),
    }


def fmt_row(name: str, o: dict[str, float]) -> str:
    """One markdown table row of overall figures."""
    return (
        f"| {name} | {o['f1']:.3f} | {o['ic_mae_ms']:.1f} | {o['ic_bias_ms']:+.1f} | "
        f"{o['to_mae_ms']:.1f} | {o['ct_mae_ms']:.1f} | {o['cad_abs_err_spm']:.2f} | "
        f"{o['cad_max_err_spm']:.2f} |"
    )


def _markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a markdown table (no optional dependency)."""
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, *body])


def main() -> None:
    """Run every condition, print and write the markdown fragment."""
    if not DATA.is_dir():
        raise SystemExit(f"data not found at {DATA}")
    trials = load_trials()
    main_df = run_condition(trials, "stridecue")
    base_df = run_condition(trials, "baseline")
    conditions = [
        ("stridecue, 500 Hz as recorded", main_df),
        ("plain 1 g threshold, 500 Hz", base_df),
        ("stridecue, 200 Hz + 0.05 g noise", run_condition(trials, "stridecue", 200, 0.05)),
        ("stridecue, 100 Hz + 0.05 g noise", run_condition(trials, "stridecue", 100, 0.05)),
        ("stridecue, 100 Hz + 0.15 g noise", run_condition(trials, "stridecue", 100, 0.15)),
        ("plain threshold, 100 Hz + 0.05 g noise", run_condition(trials, "baseline", 100, 0.05)),
        ("stridecue, contact_level_g 0.2", run_condition(trials, "stridecue", contact_level_g=0.2)),
        ("stridecue, contact_level_g 0.4", run_condition(trials, "stridecue", contact_level_g=0.4)),
    ]
    head = (
        "| condition | IC F1 +-40 ms | IC MAE ms | IC bias ms | TO MAE ms | contact-time MAE ms | "
        "cadence mean abs err spm | cadence max abs err spm |\n|---|---|---|---|---|---|---|---|"
    )
    lines = [head] + [fmt_row(n, overall(d)) for n, d in conditions]
    per_trial = main_df.merge(
        base_df[["trial", "f1", "ic_mae_ms", "ct_mae_ms"]], on="trial", suffixes=("", "_baseline")
    )
    cols = [
        "trial", "speed_mps", "slope_deg", "n_ref", "n_det", "f1", "ic_mae_ms", "ic_bias_ms",
        "to_mae_ms", "to_bias_ms", "ct_mae_ms", "cad_err_spm", "f1_baseline", "ic_mae_ms_baseline",
        "ct_mae_ms_baseline",
    ]  # fmt: skip
    pt = per_trial[cols].round(2)
    print("\n".join(lines))
    print(pt.to_string(index=False))
    md = [
        "# Running gait events from the sacrum (`gait.events_running`)",
        "",
        "Produced by `bench/bench_events_running.py` on `../shared/data/sacrum-running`",
        "(Alcantara et al. 2022, PeerJ 10:e12752, Apache-2.0; 16 treadmill trials of one",
        "runner, 2.5-4.2 m/s, slopes -10..+10 deg, 5 s each at 500 Hz). Reference: force-",
        "treadmill contacts (normal force > 0.05 BW). Reference clean-up, identical for",
        "every method: contacts separated by < 30 ms of force chatter are merged, blips <",
        "50 ms dropped, and contacts starting in the first 0.1 s or ending in the last",
        "0.1 s are not scored (partial, no flight before/after); detections are scored",
        "only between the first and last scored reference IC (+-40 ms).",
        "",
        "How the numbers are obtained: one-to-one greedy matching (closest first) of",
        "detected to reference ICs within +-40 ms; F1 pooled over all contacts; MAE/bias",
        "are means over matched contacts per trial, then averaged over trials; TO and",
        "contact time are those of the matched contact; cadence error =",
        "60/median(detected IC interval) - 60/median(reference IC interval), per trial",
        "(steps/min). Parameters are fixed (the defaults of `detect_running_events`), the",
        "same for every trial and condition. Honesty note: the one timing parameter,",
        "`contact_level_g` = 0.3 g above the flight floor, was picked after looking at",
        "0.1-0.7 g on all 16 trials (no per-trial tuning); the 0.2/0.4 rows show its",
        "sensitivity. Degraded conditions: the recorded signal is resampled (polyphase,",
        "anti-aliased) to 200/100 Hz and seeded white noise added; it stays pre-filtered",
        "and clipped at 0 g, so this only partly imitates our raw sensor.",
        "",
        "Anchors (published/open methods on this kind of data): a lower-back walking",
        "detector (e.g. mobgap) F1 < 0.5 at +-40 ms; a plain vertical-acceleration",
        "threshold F1 ~0.90 with ~11 ms mean IC timing error (our own plain-threshold run",
        "is in the table); best published sacral method ~21 ms contact-time MAE (37",
        "runners). Targets: IC F1 >= 0.98, IC MAE <= 8 ms, contact-time MAE <= 15 ms,",
        "cadence within 1 spm per trial.",
        "",
        "## Overall",
        "",
        *lines,
        "",
        "Where we lose: IC MAE 8.7 ms misses the 8 ms target (per-trial IC bias ranges from",
        "-11 ms (fast downhill rearfoot) to +18 ms (uphill/level midfoot-like), a property of",
        "the sacral signal that one fixed level cannot remove); cadence from median IC",
        "intervals is off by up to ~4 spm on these 5 s trials (about 14 intervals each, the",
        "2 ms sample grid and IC jitter move the median), missing the 1 spm target. The plain",
        "1 g threshold loses far more: the vertical signal dips below 1 g inside rearfoot",
        "contacts (after the impact peak), so it splits contacts (hence its TO/contact-time",
        "and cadence errors).",
        "",
        "## Per trial (stridecue at 500 Hz, baseline columns = plain 1 g threshold)",
        "",
        _markdown_table(pt),
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(md))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
