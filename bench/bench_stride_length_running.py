"""Running stride length: expected error after one calibration, real treadmill data and simulator.

Sources
-------
1. ``../shared/data/sacrum-running`` (Alcantara et al. 2022, PeerJ 10:e12752, Apache-2.0): 16
   treadmill trials of one runner, 5 s each, 2.5-4.2 m/s, slopes -10..+10 deg; sacrum vertical and
   AP acceleration only. True stride length = belt speed x stride time. Events come from
   ``detect_running_events`` (sacrum) or from the force plate (``contacts.csv``). Per trial the
   median stride time, contact time and stance drop are used. Leave-one-trial-out calibration:
   for every trial i the scale is fitted on trial i alone and the 15 others are predicted
   (16 x 15 = 240 predictions); "level" repeats this within the 4 level trials (12 predictions).
2. The simulator: plans of 3-4 laps of 400 m on the track at 3.0-5.5 m/s, cadence 156-180 spm
   and thigh-at-IC 18-31 deg changing per lap, random mountings, default noise and gyro bias,
   clock drift +-40 ppm; 3 seeds each. The whole pipeline runs on the sensor tables
   (``analyse_tables``); its running strides are matched to truth by start time (< 40 ms). The
   scale is fitted on lap 1 (truth lap times, as a marked lap would give); laps 2+ are scored as
   (predicted lap distance - 400 m) / 400 m. The sacrum's yaw rate about the vertical for the
   ``track`` model is the gyro projected on the gravity direction, bias from the still start.

Run: ``.venv/bin/python bench/bench_stride_length_running.py``; prints the tables and writes
``bench/results/stride_length_running.md``.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from gait.events_running import detect_running_events
from gait.pipeline import analyse_tables
from gait.signal import vertical_axis_from_gravity
from gait.stride_length_running import (
    CONTACT_LENGTH_PER_LEG_LENGTH,
    fit_scale_from_laps,
    leg_length_m,
    running_stride_length_m,
    stride_yaw_rate_radps,
)
from stridecue.constants import GRAVITY_MPS2
from stridecue.simulator import Phase, SensorSpec, SessionPlan, demo_plan, simulate

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "sacrum-running"
OUT = REPO / "bench" / "results" / "stride_length_running.md"


# ----------------------------------------------------------------------------- real treadmill
def _clean_contacts(contacts: pd.DataFrame, duration_s: float) -> np.ndarray:
    """Force-plate contacts: merge chatter (< 30 ms gaps), drop blips (< 50 ms) and edge ones."""
    out: list[list[float]] = []
    for a, b in zip(contacts["ic_s"], contacts["tc_s"], strict=True):
        if out and a - out[-1][1] < 0.03:
            out[-1][1] = b
        else:
            out.append([a, b])
    keep = [o for o in out if o[1] - o[0] > 0.05 and o[0] >= 0.1 and o[1] <= duration_s - 0.1]
    return np.asarray(keep, dtype=float).reshape(-1, 2)


def _drop_geometry_lc(drop_m: np.ndarray, leg_m: float) -> np.ndarray:
    """Previous model's sacrum contact length: arc of a rigid leg lowering the pelvis by drop."""
    dz = np.clip(drop_m, 0.0, 0.5 * leg_m)
    cos_phi = 1.0 - dz / leg_m
    return 2.0 * leg_m * np.sqrt(np.clip(1.0 - cos_phi**2, 0.0, None))


def real_features() -> pd.DataFrame:
    """Per trial and event source: median stride/contact time, stance drop, true stride length."""
    rows = []
    for folder in sorted(DATA.glob("trial_*")):
        meta = json.loads((folder / "meta.json").read_text())
        imu = pd.read_csv(folder / "imu.csv")
        fs = float(meta["sampling_rate_hz"])
        t = imu["time_s"].to_numpy()
        acc_v = imu["acc_vertical_g"].to_numpy() * GRAVITY_MPS2
        ev = detect_running_events(
            acc_v, sampling_rate_hz=fs, acc_ap_mps2=imu["acc_ap_g"].to_numpy() * GRAVITY_MPS2
        )
        ref = _clean_contacts(pd.read_csv(folder / "contacts.csv"), float(t[-1]))
        sources = {
            "sacrum": (ev.ic_s + t[0], ev.to_s + t[0]),
            "force plate": (ref[:, 0], ref[:, 1]),
        }
        for src, (ic, to) in sources.items():
            steps = np.diff(ic)
            stride = steps[1:] + steps[:-1]
            contact = (to - ic)[1:-1]
            drops = []
            for k in range(len(ic) - 1):
                i0, i1 = np.searchsorted(t, [ic[k], ic[k + 1]])
                a = acc_v[i0:i1] - acc_v[i0:i1].mean()
                v = np.cumsum(a) / fs
                v -= v.mean()
                p = np.cumsum(v) / fs
                n = np.arange(p.size)
                p -= np.polyval(np.polyfit(n, p, 1), n)
                drops.append(p[0] - p[: max(int((to[k] - ic[k]) * fs), 2)].min())
            T = float(np.nanmedian(stride))
            rows.append({
                "trial": folder.name, "events": src, "speed_mps": meta["treadmill_speed_mps"],
                "slope_deg": meta["slope_deg"], "stride_time_s": T,
                "contact_time_s": float(np.nanmedian(contact)), "drop_m": float(np.median(drops)),
                "stride_length_m": meta["treadmill_speed_mps"] * T,
            })
    return pd.DataFrame(rows)


def real_candidates(d: pd.DataFrame, leg_m: float) -> dict[str, np.ndarray]:
    """Unscaled per-trial stride length of each candidate (the scale absorbs the constants)."""
    T, tc = d["stride_time_s"].to_numpy(), d["contact_time_s"].to_numpy()
    return {
        "constant speed (null: L = v_cal x T)": T,
        "previous: sacrum drop geometry x T/Tc": (
            _drop_geometry_lc(d["drop_m"].to_numpy(), leg_m) * T / tc
        ),
        "chosen `contact`: constant contact length, L_c x T/Tc": (
            CONTACT_LENGTH_PER_LEG_LENGTH * leg_m * T / tc
        ),
        "contact length ~ Tc^-0.5 (softer)": T / np.sqrt(tc),
    }


def loto_errors_pct(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Calibrate on each trial alone, predict the others: all (i != j) percentage errors."""
    out = []
    for i in range(len(truth)):
        scale = truth[i] / pred[i]
        e = 100.0 * (scale * pred / truth - 1.0)
        out.append(np.delete(e, i))
    return np.concatenate(out) if out else np.array([])


def real_table() -> tuple[str, pd.DataFrame]:
    feats = real_features()
    leg = leg_length_m({"height_m": 1.73})
    lines = [
        "| events | model | LOTO all 16: MAE % | P95 abs % | bias % | level only (4): MAE % | "
        "uncalibrated MAE % |",
        "|---|---|---|---|---|---|---|",
    ]
    for src in ("sacrum", "force plate"):
        d = feats[feats["events"] == src].reset_index(drop=True)
        truth = d["stride_length_m"].to_numpy()
        lvl = (d["slope_deg"] == 0).to_numpy()
        for name, pred in real_candidates(d, leg).items():
            e = loto_errors_pct(truth, pred)
            el = loto_errors_pct(truth[lvl], pred[lvl])
            unc = ""
            if name.startswith("chosen"):
                unc = f"{np.mean(np.abs(100 * (pred / truth - 1))):.1f}"
            lines.append(
                f"| {src} | {name} | {np.mean(np.abs(e)):.1f} | {np.percentile(np.abs(e), 95):.1f}"
                f" | {np.mean(e):+.1f} | {np.mean(np.abs(el)):.1f} | {unc} |"
            )
    return "\n".join(lines), feats


# ----------------------------------------------------------------------------- simulator
def _plan(laps: list[dict], seed: int) -> SessionPlan:
    run = Phase(kind="run", distance_m=400.0, ramp_s=2.0)
    phases = [
        Phase(kind="still", duration_s=15.0),
        Phase(kind="walk", duration_s=10.0, speed_mps=1.4, cadence_spm=112.0),
        Phase(kind="jog", duration_s=20.0, speed_mps=3.0, cadence_spm=160.0, ramp_s=2.0),
    ]
    for k, lap in enumerate(laps):
        phases.append(replace(run, lap_start=k == 0, **lap))
    phases.append(Phase(kind="walk", duration_s=8.0, speed_mps=1.3, cadence_spm=108.0, ramp_s=2.5))
    rng = np.random.default_rng(seed)
    return SessionPlan(
        phases=phases, path="track", lap_marks="key",
        sensors=[
            SensorSpec("sacrum", sampling_rate_hz=200.0,
                       clock_drift_ppm=float(rng.uniform(-40, 40)), mounting="random"),
            SensorSpec("thigh_left", sampling_rate_hz=200.0,
                       clock_drift_ppm=float(rng.uniform(-40, 40)), start_offset_s=0.011,
                       mounting="random"),
        ],
    )


def _lap(v: float, spm: float, tc: float, thigh: float, knee: float = 15.0) -> dict:
    return {"speed_mps": v, "cadence_spm": spm, "contact_time_s": tc, "thigh_angle_ic_deg": thigh,
            "knee_flexion_ic_deg": knee}


#: Contact time follows the real runner's relation Tc = 0.22 s x (v / 3.33 m/s)^-0.53 across
#: speeds; at one speed a cadence change moves Tc with the step time (duty factor kept), as in
#: the demo plan. These are plan choices, stated because the simulator does not produce Tc.
def _tc(v: float, spm: float, ref_spm: float) -> float:
    return 0.22 * (v / 3.33) ** -0.53 * ref_spm / spm


PLANS: dict[str, list[dict] | None] = {
    "demo (4.4 m/s, 160 -> 172 spm, thigh 31 -> 21 deg)": None,
    "cadence retraining 3.0 m/s (158/168/176 spm)": [
        _lap(3.0, 158, _tc(3.0, 158, 158), 30), _lap(3.0, 168, _tc(3.0, 168, 158), 23),
        _lap(3.0, 176, _tc(3.0, 176, 158), 18)],
    "pace progression 3.5/4.5/5.5 m/s": [
        _lap(3.5, 162, _tc(3.5, 162, 162), 24), _lap(4.5, 170, _tc(4.5, 170, 170), 27),
        _lap(5.5, 180, _tc(5.5, 180, 180), 30)],
    "mixed 4.0/5.0/3.2 m/s, overstride varies": [
        _lap(4.0, 166, _tc(4.0, 166, 166), 28), _lap(5.0, 176, _tc(5.0, 176, 176), 20),
        _lap(3.2, 156, _tc(3.2, 156, 156), 31)],
}


def _previous_model(strides: pd.DataFrame, leg_m: float) -> np.ndarray:
    """Previous model (thigh geometry where a thigh angle exists) for the comparison."""
    ic = np.radians(strides["thigh_angle_ic_deg"].to_numpy(float))
    to = np.radians(strides["thigh_angle_to_deg"].to_numpy(float))
    lc = leg_m * (np.sin(ic) - np.sin(to))
    return lc * strides["stride_time_s"].to_numpy(float) / strides["contact_time_s"].to_numpy(float)


def _lap_errors(strides: pd.DataFrame, col: str, laps: pd.DataFrame) -> list[float]:
    """Scale from lap 1, then (predicted - true) / true distance for laps 2+, %."""
    scale, _ = fit_scale_from_laps(strides, laps.iloc[:1], col)
    out = []
    for lap in laps.iloc[1:].itertuples(index=False):
        s = strides.copy()
        s["_scaled"] = s[col] * scale
        one = pd.DataFrame([lap._asdict()])
        k, _ = fit_scale_from_laps(s, one, "_scaled")
        out.append(100.0 * (1.0 / k - 1.0) if np.isfinite(k) else np.nan)
    return out


def sim_runs(seeds: tuple[int, ...] = (11, 12, 13)) -> pd.DataFrame:
    rows = []
    leg = leg_length_m({"height_m": 1.78})
    for plan_name, laps in PLANS.items():
        for seed in seeds:
            plan = demo_plan() if laps is None else _plan(laps, seed)
            if laps is None:
                plan = replace(plan, sensors=[replace(s, mounting="random") for s in plan.sensors])
            sim = simulate(plan, seed=seed)
            tables = {p: s.to_frame() for p, s in sim.sensors.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = analyse_tables(tables, athlete={"height_m": 1.78})
            st = res.strides[res.strides["activity"] == "running"].sort_values("start_s")
            st = st.reset_index(drop=True)
            sac = tables["sacrum"]
            t = sac["time_s"].to_numpy()
            fs = 1.0 / np.median(np.diff(t))
            acc = sac[["acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]].to_numpy()
            gyr = sac[["gyr_x_radps", "gyr_y_radps", "gyr_z_radps"]].to_numpy()
            # Raw gyro: its bias (SD 0.005 rad/s) is left for the model to remove (straights).
            up = vertical_axis_from_gravity(acc, sampling_rate_hz=fs)
            yaw = np.sum(gyr * up, axis=1)
            w = stride_yaw_rate_radps(st, t, yaw)
            contact, _ = running_stride_length_m(st, leg_length_m=leg)
            track, model_t = running_stride_length_m(st, leg_length_m=leg, stride_yaw_rate_radps=w)
            st["previous"] = _previous_model(st, leg)
            st["contact"] = contact
            st["track"] = track
            truth = sim.truth.strides
            truth = truth[truth["activity"] == "running"]
            j = np.searchsorted(truth["start_s"].to_numpy(), st["start_s"].to_numpy())
            j = np.clip(j, 1, len(truth) - 1)
            tt = truth["start_s"].to_numpy()
            s0 = st["start_s"].to_numpy()
            jj = np.where(np.abs(tt[j - 1] - s0) < np.abs(tt[j] - s0), j - 1, j)
            matched = np.abs(tt[jj] - st["start_s"].to_numpy()) < 0.04
            true_len = np.where(matched, truth["stride_length_m"].to_numpy()[jj], np.nan)
            laps_t = sim.truth.laps
            row = {"plan": plan_name, "seed": seed,
                   "track_share": float(np.mean(model_t == "track"))}
            for col in ("previous", "contact", "track"):
                errs = _lap_errors(st, col, laps_t)
                row[f"{col}_laps"] = errs
                # per-stride error after lap-1 calibration, laps 2+
                scale, _ = fit_scale_from_laps(st, laps_t.iloc[:1], col)
                later = st["start_s"].to_numpy() >= laps_t["end_s"].iloc[0]
                e = 100 * (scale * st[col].to_numpy() / true_len - 1)
                row[f"{col}_stride_rms"] = float(np.sqrt(np.nanmean(e[later] ** 2)))
            rows.append(row)
    return pd.DataFrame(rows)


def sim_table(df: pd.DataFrame) -> str:
    lines = [
        "| plan | model | lap errors after lap-1 calibration (laps 2+, 3 seeds), % | "
        "max abs lap % | per-stride RMS % |",
        "|---|---|---|---|---|",
    ]
    for plan, g in df.groupby("plan", sort=False):
        for col in ("previous", "contact", "track"):
            errs = np.concatenate([np.asarray(x, float) for x in g[f"{col}_laps"]])
            lines.append(
                f"| {plan} | {col} | {' '.join(f'{e:+.1f}' for e in errs)} | "
                f"{np.nanmax(np.abs(errs)):.1f} | {g[f'{col}_stride_rms'].mean():.1f} |"
            )
    all_errs = {
        col: np.concatenate([np.asarray(x, float) for x in df[f"{col}_laps"]])
        for col in ("previous", "contact", "track")
    }
    lines.append("")
    lines.append("| model | all plans: lap MAE % | max abs lap % |")
    lines.append("|---|---|---|")
    for col, e in all_errs.items():
        lines.append(f"| {col} | {np.nanmean(np.abs(e)):.2f} | {np.nanmax(np.abs(e)):.2f} |")
    return "\n".join(lines)


HEADER = """# Running stride length: expected error after one calibration

Generated by `bench/bench_stride_length_running.py` ({date}; {secs:.0f} s). Stride length =
speed x stride time; stride time comes from the events and is accurate (< 1 %), so the error is
the speed model's. One scale per runner and model, fitted on one known distance, then applied.

## Chosen model
- **`track`** when the sacrum's yaw rate about the vertical is available and the session is on
  a standard 400 m track (bends found automatically): each bend gives the speed directly
  (heading change over the bend / its duration x 36.80 m, the lane-1 line), and with the bend's
  contact times the runner's contact length; straight strides use the contact length of the
  neighbouring bend whose contact time is closest to theirs. The lap scale absorbs a constant
  lane offset. Physical basis: kinematics of a circular path, no gait model.
- **`contact`** otherwise (straight roads, treadmill, no orientation): constant contact length,
  `L = L_c x T / T_c` (Weyand et al. 2000), `L_c` = 0.8 x leg length until a lap calibrates it.
- Dropped: the rigid-leg thigh geometry (-11 % on the demo, no real thigh data to validate it)
  and the rigid-leg stance-drop geometry (worse than `contact` on the real recordings).

## Expected error (how measured, per source)
{summary_table}

The `contact` model's error is the runner's contact length changing with speed, slope and
cadence (real runner: 0.65 m at 2.5 m/s, 0.73-0.82 m at 3.33 m/s, 0.82 m at 4.17 m/s): it is the
right model only near the calibration pace. On the simulator its error is set by how the plan
moves contact time (the simulator does not produce contact time from speed: it is a plan knob;
plans here follow the real runner's Tc ~ v^-0.53 across speeds and keep the duty factor when
cadence changes at one speed, as the demo plan does), so the simulator does not measure it; the
real data does. The `track` model does not depend on those knobs: its error on the simulator is
the measurement chain's (events, yaw rate, bias, stride-to-stride pelvic rotation).

## Limits and open points
- `track` assumes the runner holds the lane-1 line on the bends (36.80 m); another lane is
  `track_radius_m` = 36.80 + 1.22 x (lane - 1). A constant offset is absorbed by the lap scale;
  a change after calibration is not (0.5 m = 1.4 %).
- On the simulator the bend speeds read 0 to +2.4 % high depending on the plan (largest at
  4.5 m/s; not explained yet); the lap scale removes the common part, the rest is the residual
  above.
- Straights use the contact length of a neighbouring bend: a pace change in the middle of a
  straight is followed only through contact time (the `contact` model's weakness) until the
  next bend.
- `contact` alone reads a cadence change at constant speed as a speed change (demo: +8.7 %)
  whenever contact time changes with it; it is the fallback, not the recommendation, on a track.

## Anchors (published)
- Foot-worn IMU in the shoe sole, 27 runners, motion capture: stride length 0.022 +- 0.157 m,
  speed 0.032 +- 0.274 m/s with foot trajectory integration (Zrenner et al. 2018, Sensors,
  PMC6308955); the stride-time-based model was worse.
- Foot-worn IMU, 33 runners outdoors vs GNSS: feature-based linear speed model 0.00 +- 0.11 m/s
  (about 3 % of speed); personalised online model 0.09 m/s precision (Falbriard et al. 2021,
  PMC8014039).
- Sacral IMU contact time: RMSE 20 ms (8 %) in 100 runners (Patoz et al. 2022, Sensors 22:784),
  which alone gives ~8 % speed error per stride in a contact-time model: the floor of `contact`.
- Our sacrum event detector on these recordings: `bench/results/events_running.md`.

## Real treadmill recordings (per trial medians; LOTO = leave one trial out)
"""


def main() -> None:
    t0 = time.perf_counter()
    real_md, real_stats = "(real recordings not found)", {}
    if DATA.is_dir():
        real_md, feats = real_table()
        leg = leg_length_m({"height_m": 1.73})
        for src, key in (("sacrum", "real_sac"), ("force plate", "real_fp")):
            d = feats[feats["events"] == src].reset_index(drop=True)
            pred = real_candidates(d, leg)["chosen `contact`: constant contact length, L_c x T/Tc"]
            e = np.abs(loto_errors_pct(d["stride_length_m"].to_numpy(), pred))
            real_stats[key] = float(np.mean(e))
            real_stats[key + "95"] = float(np.percentile(e, 95))
    df = sim_runs()
    sim_md = sim_table(df)
    errs = {
        col: np.abs(np.concatenate([np.asarray(x, float) for x in df[f"{col}_laps"]]))
        for col in ("contact", "track")
    }
    secs = time.perf_counter() - t0
    rows = [
        ("source", "model", "how", "expected error"),
        ("---", "---", "---", "---"),
        ("real treadmill, 1 runner (Alcantara et al. 2022)", "`contact`",
         "calibrate on 1 trial, predict the other 15 (240 pairs); 2.5-4.2 m/s, slopes "
         "-10..+10 deg; sacrum events",
         f"{real_stats.get('real_sac', np.nan):.0f} % mean abs "
         f"(P95 {real_stats.get('real_sac95', np.nan):.0f} %)"),
        ("same", "`contact`", "same, force-plate contact times",
         f"{real_stats.get('real_fp', np.nan):.0f} % mean abs"),
        ("simulator, 4 plans x 3 seeds, laps 2+", "`track`",
         "whole pipeline; lap 1 calibrates; random mountings, noise, raw gyro with bias, drift",
         f"{np.nanmean(errs['track']):.1f} % mean abs per lap, worst "
         f"{np.nanmax(errs['track']):.1f} %"),
        ("simulator, same", "`contact`", "same",
         f"{np.nanmean(errs['contact']):.0f} % mean abs per lap (plan-dependent, see below)"),
        ("real track", "`track`", "**not measured** (no real track recording with a reference)",
         "expect 2-3 % per lap until checked: a lane change of 0.5 m after calibration is 1.4 %"),
    ]
    summary = "\n".join("| " + " | ".join(r) + " |" for r in rows)
    header = HEADER.format(
        summary_table=summary,
        date=time.strftime("%Y-%m-%d"), secs=secs,
    )
    text = (
        header + real_md + "\n\nLevel only: the 4 level trials (2.5, 3.33, 3.33, 4.17 m/s) "
        "calibrated and predicted among themselves. Uncalibrated: L_c = 0.8 x leg length "
        "(0.53 x 1.73 m).\n\n## Simulator (whole pipeline, lap 1 calibrates)\n" + sim_md + "\n"
    )
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)


if __name__ == "__main__":
    main()
