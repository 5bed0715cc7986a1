"""Sensor sync: the thigh's clock offset and drift against the sacrum from the contact transients.

There is no real recording with a sacral and a thigh IMU in ``../shared/data``, so this is the
simulator only. The simulated thigh carries its own leg's impact at each running contact (a
damped 20 Hz oscillation along the thigh, ``stridecue.simulator.sensors.add_thigh_impacts``, an
assumption, not fitted to real thigh data) on top of the pelvis' impact transmitted through the
hip; without it the thigh's transients would be the sacrum's own and the check trivially exact.

For each seed of the demo session (15 s standing, a walk, a 35 s jog, two 400 m laps at 4.4 m/s,
a walk; random mountings, noise) and of a longer plan (150 s of running at 4.0 m/s) the left
thigh's true sample times are shifted by an offset (0, 5, 20, 100, 250, -250 ms) and a drift
(0, +-50, +200 ppm), and :func:`gait.sync.estimate_clock_offset` is scored against the true
offset at its reference time and the true drift. Also: the same without the thigh's own impact
(the noise-free signals) to show where the bias comes from; the thigh's angular velocity around
initial contact (what 10 ms of offset does to ``thigh_angle_ic_deg``); the cost per hour of a
200 Hz session.

Run: ``.venv/bin/python bench/bench_sync.py`` -> ``bench/results/sync.md``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from gait.sync import MIN_DRIFT_SPAN_S, THRESHOLD_MS, SyncTracker, estimate_clock_offset
from stridecue.constants import SACRUM, THIGH_LEFT
from stridecue.simulator import Phase, demo_plan, simulate

SEEDS = (1, 2, 3)
OFFSETS_MS = (0.0, 5.0, 20.0, 100.0, 250.0, -250.0)
DRIFTS_PPM = (0.0, 50.0, -50.0, 200.0)
OUT = Path(__file__).resolve().parent / "results" / "sync.md"


def long_plan():
    """Demo sensors; standing, a walk, 150 s of running, a walk."""
    plan = demo_plan()
    return replace(plan, phases=[
        Phase(kind="still", duration_s=15.0),
        Phase(kind="walk", duration_s=12.0, speed_mps=1.4, cadence_spm=112.0),
        Phase(kind="run", duration_s=150.0, speed_mps=4.0, cadence_spm=170.0, contact_time_s=0.22,
              thigh_angle_ic_deg=25.0, ramp_s=2.0),
        Phase(kind="walk", duration_s=8.0, speed_mps=1.3, cadence_spm=108.0, ramp_s=2.5),
    ], lap_marks=None)


def score(sim, *, clean: bool = False) -> list[dict]:
    s, th = sim.sensors[SACRUM], sim.sensors[THIGH_LEFT]
    acc_s = s.acc_clean_mps2 if clean else s.acc_mps2
    acc_t = th.acc_clean_mps2 if clean else th.acc_mps2
    rows = []
    for off in OFFSETS_MS:
        for ppm in DRIFTS_PPM:
            t = th.true_time_s + 1e-3 * off + 1e-6 * ppm * th.true_time_s
            e = estimate_clock_offset(s.true_time_s, acc_s, t, acc_t, sampling_rate_hz=200.0)
            true_ref = off + 1e-3 * ppm * e.reference_time_s
            true_max = max(abs(off + 1e-3 * ppm * x) for x in (0.0, sim.duration_s))
            rows.append({
                "offset_ms": off, "drift_ppm": ppm, "err_ms": 1e3 * e.offset_s - true_ref,
                "drift_err_ppm": e.drift_ppm - ppm if e.span_s >= MIN_DRIFT_SPAN_S else np.nan,
                "verdict": e.verdict, "true_max_ms": true_max, "precision_ms": 1e3 * e.precision_s,
            })
    return rows


def thigh_rate_at_ic_degps(sim) -> float:
    """Median |thigh angular velocity| at the left thigh's running contacts, deg/s."""
    kin = sim.kinematics
    ev = sim.truth.events
    ic = ev.loc[(ev["event"] == "initial_contact") & (ev["side"] == "left"), "time_s"].to_numpy()
    p = kin.schedule.params(ic, ("run",))
    ic = ic[p["run"] > 0.99]
    rates = []
    for t in ic:
        st = kin.state(kin.index_range(t - 0.01, t + 0.01, margin_s=0.0))
        rate = np.gradient(np.degrees(st["thigh_left"]), st["time_s"])
        rates.append(rate[len(rate) // 2])
    return float(np.median(np.abs(rates)))


def cost_per_hour_s(sim) -> tuple[float, float]:
    """Seconds per hour of a 200 Hz two-sensor session: the whole estimate (grid + tracker) and
    the tracker fed in 0.5 s pieces (what the live analysis adds)."""
    s, th = sim.sensors[SACRUM], sim.sensors[THIGH_LEFT]
    hours = sim.duration_s / 3600.0
    t0 = time.perf_counter()
    for _ in range(3):
        estimate_clock_offset(s.true_time_s, s.acc_mps2, th.true_time_s, th.acc_mps2,
                              sampling_rate_hz=200.0)
    whole = (time.perf_counter() - t0) / 3 / hours
    n = min(len(s.acc_mps2), len(th.acc_mps2))
    ones = np.ones(n)
    a, b = s.acc_mps2[:n], th.acc_mps2[:n]
    t0 = time.perf_counter()
    tr = SyncTracker(sampling_rate_hz=200.0)
    for i in range(0, n, 100):
        tr.add(a[i : i + 100], ones[i : i + 100], b[i : i + 100], ones[i : i + 100])
    tr.estimate()
    live = (time.perf_counter() - t0) / hours
    return whole, live


def summarise(rows: list[dict]) -> dict[str, float]:
    err = np.array([r["err_ms"] for r in rows], float)
    drift = np.array([r["drift_err_ppm"] for r in rows], float)
    known = np.isfinite(err)
    right = [
        (r["verdict"] == "out of sync") == (r["true_max_ms"] > THRESHOLD_MS)
        for r in rows if r["verdict"] != "unknown" and abs(r["true_max_ms"] - THRESHOLD_MS) > 5.0
    ]
    return {
        "n": len(rows), "unknown": int((~known).sum()),
        "bias_ms": float(np.mean(err[known])), "sd_ms": float(np.std(err[known])),
        "max_ms": float(np.max(np.abs(err[known]))),
        "drift_mean_ppm": float(np.nanmean(drift)) if np.isfinite(drift).any() else np.nan,
        "drift_max_ppm": float(np.nanmax(np.abs(drift))) if np.isfinite(drift).any() else np.nan,
        "verdict_right": f"{sum(right)}/{len(right)}",
    }


def main() -> None:
    lines = [
        "# Sensor sync: thigh clock offset and drift from the contact transients",
        "",
        "Simulator only (no real sacrum + thigh recording in `../shared/data`). "
        "`bench/bench_sync.py`: the left thigh's true sample times shifted by "
        f"{', '.join(f'{o:g}' for o in OFFSETS_MS)} ms and drifting "
        f"{', '.join(f'{d:+g}' for d in DRIFTS_PPM)} ppm, seeds {SEEDS}; "
        "`gait.sync.estimate_clock_offset` against the true offset at its reference time (the "
        "middle of the measured windows). The simulated thigh has its own leg's impact at each "
        "running contact (20 Hz damped, 3 g at 3.3 m/s: an assumption, not fitted to real data), "
        "which leads the sacrum's smoother impact; \"pelvis impact only\" is the same on the "
        "noise-free signals without it. Drift is scored where the measured span is at least "
        f"{MIN_DRIFT_SPAN_S:g} s (the demo's running is shorter: its drift is reported 0 and the "
        "offset is the mean over the span). Verdict: `out of sync` when the true offset exceeds "
        f"{THRESHOLD_MS:g} ms anywhere in the session, scored where the truth is more than 5 ms "
        "from the threshold.",
        "",
        "| session | signals | estimates | unknown | bias ms | SD ms | max abs err ms "
        "| drift err ppm (mean / max) | verdict right |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rates = []
    cost = None
    for name, plan in (("demo (3.5 min)", demo_plan()), ("150 s running", long_plan())):
        for clean in (False, True):
            rows = []
            for seed in SEEDS:
                sim = simulate(plan, seed=seed, with_angles=False)
                rows += score(sim, clean=clean)
                if not clean:
                    rates.append(thigh_rate_at_ic_degps(sim))
                    if cost is None:
                        cost = cost_per_hour_s(sim)
            s = summarise(rows)
            label = "pelvis impact only" if clean else "with the thigh's own impact"
            print(name, label, s)
            lines.append(
                f"| {name} | {label} | {s['n']} | {s['unknown']} | {s['bias_ms']:+.2f} | "
                f"{s['sd_ms']:.2f} | {s['max_ms']:.2f} | {s['drift_mean_ppm']:+.1f} / "
                f"{s['drift_max_ppm']:.1f} | {s['verdict_right']} |")
    rate = float(np.median(rates))
    lines += [
        "",
        f"- Thigh angular velocity at running initial contact (simulator truth, median over "
        f"seeds and plans): {rate:.0f} deg/s, so {THRESHOLD_MS:g} ms of offset moves "
        f"`thigh_angle_ic_deg` by {rate * THRESHOLD_MS * 1e-3:.1f} deg and the estimate's bias "
        "above by about a third of that. The threshold: more than "
        f"{THRESHOLD_MS:g} ms anywhere in the session is `out of sync`.",
        f"- Cost per hour of a 200 Hz two-sensor session: {cost[0]:.2f} s for the whole estimate "
        f"(grid + tracker, import), {cost[1]:.2f} s for the tracker fed in 0.5 s pieces (live).",
        "- `unknown`: less than 60 s of running seen by both sensors (six 10 s windows with "
        "transients), no start/stop/pace change whose envelope gives a clear coarse peak, or "
        "fewer than six windows whose transients correlate (r >= 0.3). Steady running alone "
        "cannot tell an offset from the same offset minus one step: the coarse stage needs the "
        "start of the run.",
        "- Where we lose: the estimate measures when the transients arrive, and the thigh sees its "
        "own leg's impact earlier and sharper than the sacrum: on the simulator this biases the "
        "offset by the bias above (about -3 ms); a real thigh's lead is unknown here (no data) "
        "and adds to it. The import correction therefore leaves that bias "
        "(tests/test_sync.py: 1.0 deg of `thigh_angle_ic_deg` after correcting a 250 ms shift).",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
