"""Speed and equivalence of the stride stability, the activity label and the double-tap detector.

The streaming analysis calls three functions many times per hour of session:
:func:`gait.stability.stride_stability` once per stride, :func:`gait.activity.activity_label`
once per 0.5 s block and :func:`gait.laps.detect_double_taps` once per tap block. Each was made
cheaper without changing a bit of its results. This benchmark runs the analysis with every call
of the three going to both the current function and its straightforward implementation
(``tests/reference_measures.py``: the code before the speed-up, one numpy call per quantity),
alternating which runs first, and reports

- the CPU time of each (``time.process_time`` around the call), per hour of session;
- the number of calls whose results differ in any bit (must be 0).

Inputs: a simulated two-sensor session (sacrum + left thigh, 200 Hz, laps on a 400 m track marked
by double taps on the sacrum sensor, so the tap detector sees real taps) and, where
``../shared/data`` is present, the six real lower-back walking recordings (Mobilise-D, 100 Hz)
imported and analysed as ``stridecue import`` + ``stridecue analyse`` would. Random inputs with
missing samples are compared in ``tests/test_stability.py``, ``tests/test_activity.py`` and
``tests/test_laps.py``.

Usage: ``python bench/bench_stability_speed.py [--minutes 10]``; writes
``bench/results/stability_speed.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
WALKING = ROOT.parent / "shared" / "data" / "lowerback-walking"
FUNCTIONS = ("stride_stability", "activity_label", "detect_double_taps")


def _same(a, b) -> bool:
    """Equal to the last bit (NaN equal to NaN), through tuples, dicts and arrays."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


class Comparison:
    """Routes the stream's calls of the three functions to both implementations."""

    def __init__(self) -> None:
        self.cpu_new: Counter = Counter()
        self.cpu_old: Counter = Counter()
        self.calls: Counter = Counter()
        self.differ: Counter = Counter()

    def install(self):
        """Patch ``gait.stream``; returns a function that undoes it."""
        import gait.stream as stream
        from tests import reference_measures as ref

        saved = {name: getattr(stream, name) for name in FUNCTIONS}
        for name in FUNCTIONS:
            setattr(stream, name, self._both(name, saved[name], getattr(ref, name)))
        return lambda: [setattr(stream, name, f) for name, f in saved.items()]

    def _both(self, name, new, old):
        def call(*args, **kwargs):
            order = ((new, self.cpu_new), (old, self.cpu_old))
            if self.calls[name] % 2:
                order = order[::-1]
            out = {}
            for f, cpu in order:
                t = time.process_time()
                out[f] = f(*args, **kwargs)
                cpu[name] += time.process_time() - t
            self.calls[name] += 1
            self.differ[name] += not _same(out[new], out[old])
            return out[new]

        return call


def _plan(minutes: float):
    """The pipeline benchmark's session (track laps, two sensors), laps marked by double taps."""
    from dataclasses import replace

    from bench_pipeline import _plan as pipeline_plan

    return replace(pipeline_plan(minutes), lap_marks="double_tap")


def _analyse(session, comparison: Comparison):
    from stridecue.analysis import analyse_session

    undo = comparison.install()
    try:
        return analyse_session(session, on_warning=lambda message: None)
    finally:
        undo()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "stability_speed.md"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from recordings.importer import ImportUnits, import_csv_session
    from stridecue.constants import SACRUM
    from stridecue.simrecord import record_simulated_session

    simulated = Comparison()
    with tempfile.TemporaryDirectory() as tmp:
        session = record_simulated_session(_plan(args.minutes), Path(tmp) / "s", seed=11,
                                           athlete={"height_m": 1.78})
        duration_s = session.duration_s
        result = _analyse(session, simulated)
    strides, taps = len(result.strides), len(result.laps)
    real = Comparison()
    trials = sorted(WALKING.glob("*/imu.csv")) if WALKING.is_dir() else []
    real_s = 0.0
    for csv in trials:
        meta = json.loads((csv.parent / "meta.json").read_text())
        athlete = {"height_m": meta["height_m"], "sensor_height_m": meta["sensor_height_m"]}
        with tempfile.TemporaryDirectory() as tmp:
            s = import_csv_session({SACRUM: csv}, Path(tmp) / "s", units=ImportUnits(),
                                   athlete=athlete)
            real_s += s.duration_s
            _analyse(s, real)

    per_hour = 3600.0 / duration_s
    lines = [
        "# Stability, activity label and double taps: speed and equivalence",
        "",
        f"Produced by `bench/bench_stability_speed.py --minutes {args.minutes:g}` on "
        f"{platform.machine()}, Python {platform.python_version()}, 2 cores shared with other "
        "work. Every call the streaming analysis makes to the three functions went to both the "
        "current implementation and the straightforward one it replaced "
        "(`tests/reference_measures.py`), alternately first; CPU seconds "
        "(`time.process_time`) around each call, per hour of session; results compared to the "
        "last bit (NaN equal to NaN).",
        "",
        f"Simulated session: {duration_s / 60:.1f} min, sacrum + left thigh at 200 Hz, "
        f"{strides} strides, laps marked by double taps ({taps} laps found).",
        "",
        "| function | calls | calls with any bit different | before, CPU s/h | now, CPU s/h "
        "| now / before |",
        "|---|---|---|---|---|---|",
    ]
    for name in FUNCTIONS:
        old, new = simulated.cpu_old[name] * per_hour, simulated.cpu_new[name] * per_hour
        lines.append(f"| `{name}` | {simulated.calls[name]} | {simulated.differ[name]} | "
                     f"{old:.2f} | {new:.2f} | {new / old:.2f} |")
    old = sum(simulated.cpu_old.values()) * per_hour
    new = sum(simulated.cpu_new.values()) * per_hour
    lines.append(f"| all three | | | {old:.2f} | {new:.2f} | {new / old:.2f} |")
    lines.append("")
    if trials:
        lines += [
            f"Real recordings: the {len(trials)} lower-back walking trials of "
            f"`../shared/data/lowerback-walking` ({real_s / 60:.1f} min, L5 IMU at 100 Hz; "
            "Mico-Amigo et al. 2023, CC-BY-4.0), imported and analysed.",
            "",
            "| function | calls | calls with any bit different |",
            "|---|---|---|",
        ]
        lines += [f"| `{name}` | {real.calls[name]} | {real.differ[name]} |" for name in FUNCTIONS]
    else:
        lines.append("Real recordings: ../shared/data not present, not run.")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
