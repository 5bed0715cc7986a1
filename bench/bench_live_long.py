"""Live pipeline over a long session: is memory flat over two hours?

Method: a simulated interval session of ``--minutes`` (default 120) is recorded once through the
real byte path (sacrum + left thigh at 200 Hz, drifting clocks, random mountings): standing
calibration, a short walk, then 400 m repetitions on the track at 4.4 m/s, each followed by a
60 s walking recovery, so every part of the analysis (running, walking by rhythm, turn
compensation, cue rules, stability windows) runs for the whole session. Its raw log is then read
record by record (not held in memory) and fed, in arrival order, to the live analysis
(`LiveAnalysis`: RawDecoder -> StreamAnalyser -> cues) exactly as `stridecue run` does, with
Python's tracemalloc on. The traced memory (everything the analysis allocated and still holds)
is sampled every ``--every-min`` minutes of session time.

Flat means: what the analysis holds after the first minutes does not grow with the session. The
growth from the first sample after the baseline period (the first 60 running strides) to the end
is the figure; its slope per hour is stated beside it.

Run: ``python bench/bench_live_long.py [--minutes 120]`` (about 10 minutes here; tracemalloc
slows Python, so CPU is not measured here: see ``bench/bench_live.py``). Writes
``bench/results/live_long.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stridecue.athlete import AthleteProfile  # noqa: E402
from stridecue.live_session import LiveAnalysis, analyser_from_config, live_config  # noqa: E402
from stridecue.simrecord import record_simulated_session  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "live_long.md"


def interval_plan(minutes: float):
    """Standing, a walk, then 400 m repetitions with 60 s walking recoveries for ``minutes``."""
    from stridecue.simulator import Phase, SensorSpec, SessionPlan

    phases = [Phase(kind="still", duration_s=15), Phase(kind="walk", duration_s=12)]
    total_s, i = 27.0, 0
    while total_s < minutes * 60:
        phases.append(Phase(kind="run", distance_m=400, speed_mps=4.4, lap_start=i == 0,
                            cadence_spm=164 if i % 2 == 0 else 172,
                            thigh_angle_ic_deg=28 if i % 3 == 0 else 21))
        phases.append(Phase(kind="walk", duration_s=60))
        total_s += 400 / 4.4 + 60
        i += 1
    return SessionPlan(
        phases=phases,
        path="track",
        sensors=[SensorSpec(placement="sacrum", clock_drift_ppm=40, mounting="random"),
                 SensorSpec(placement="thigh_left", clock_drift_ppm=-30, mounting="random")],
        lap_marks="key",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--every-min", type=float, default=10.0)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        session = record_simulated_session(interval_plan(args.minutes), Path(tmp) / "s", seed=11)
        record_s = time.perf_counter() - t0
        live = live_config(AthleteProfile.default(), sampling_rate_hz=200.0, calibration=None)
        analyser = analyser_from_config(live, athlete={}, placements=session.placements,
                                        retain=False)
        analysis = LiveAnalysis(analyser, session.sensors)
        samples: list[tuple[float, float, int]] = []  # (session min, traced MB, strides)
        next_s = args.every_min * 60
        records = 0
        tracemalloc.start()
        t0 = time.perf_counter()
        for record in session.raw_records():
            analysis.feed(record)
            records += 1
            t_s = record.host_time_ns * 1e-9
            if t_s >= next_s:
                samples.append((t_s / 60, tracemalloc.get_traced_memory()[0] / 1e6, analysis.strides))
                next_s += args.every_min * 60
        analysis.finish()
        feed_s = time.perf_counter() - t0
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        duration_min = session.duration_s / 60
        raw_mb = (session.path / "raw.log").stat().st_size / 1e6
    first_t, first_mb, _ = samples[0]
    last_t, last_mb, _ = samples[-1]
    slope = (last_mb - first_mb) / max((last_t - first_t) / 60, 1e-9)
    t = np.array([s[0] for s in samples])
    mb = np.array([s[1] for s in samples])
    fit = np.polyfit(t / 60, mb, 1)[0] if len(samples) > 2 else float("nan")
    lines = [
        "## Live pipeline over a long session (bench/bench_live_long.py)",
        "",
        f"A simulated interval session of {duration_min:.0f} min (400 m repetitions at 4.4 m/s with "
        f"60 s walking recoveries; sacrum + left thigh at 200 Hz, {records} notifications, "
        f"{analysis.strides} strides, {len(analysis.cues)} cues) recorded through the real byte "
        f"path ({record_s:.0f} s), then its raw log fed record by record to the live analysis as "
        f"`stridecue run` does, under tracemalloc ({feed_s:.0f} s; tracing slows Python, so CPU is "
        "measured in `bench/bench_live.py`, not here).",
        "",
        "| session time, min | " + " | ".join(f"{s[0]:.0f}" for s in samples) + " |",
        "|---|" + "---|" * len(samples),
        "| traced memory held by the live analysis, MB | "
        + " | ".join(f"{s[1]:.2f}" for s in samples) + " |",
        "| strides so far | " + " | ".join(str(s[2]) for s in samples) + " |",
        "",
        f"From minute {first_t:.0f} to minute {last_t:.0f}: {last_mb - first_mb:+.2f} MB "
        f"({slope:+.2f} MB per hour end to end; least-squares slope {fit:+.2f} MB per hour); "
        f"peak {peak_mb:.1f} MB. Target: flat over two hours. The traced figure includes the "
        f"raw log's bytes ({raw_mb:.1f} MB), which this benchmark's reader "
        "(`Session.raw_records`) holds whole; a live session receives notifications instead, so "
        f"what the live analysis itself holds is about {last_mb - raw_mb:.1f} MB.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
