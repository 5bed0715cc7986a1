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
NOTES = [
    "How, with the same floating-point operations in the same order as the calls replaced:",
    "",
    "- `stride_stability`: the trailing window's three axes copied once into one array; the "
    "three harmonic ratios from one FFT call over its rows; step and stride regularity from one "
    "centred signal, each search range's products from one `np.correlate` call (each lag the "
    "number a `np.correlate` call per lag gives; a per-lag `np.dot` differs in the last bit "
    "below 12 products); the ML ratio from row means (`nanmean`'s zero substitution only where a "
    "sample is missing); SD and CV of the ranges and the median stride time in plain Python on "
    "the 20 values (sums by the same numpy reduction); the divergence exponent with every "
    "stride resampled in one pass (`np.interp`'s formula), neighbour distances from the squared "
    "sample differences added per coordinate in the norm's order, and the k-d tree asked for 4 "
    "neighbours before the whole Theiler window (was 16).",
    "- `activity_label`: percentiles from one partition with numpy's interpolation; SD and "
    "magnitude from their operations; the step frequency (autocorrelation) only where the label "
    "depends on it (moving, not running; `classify_windows` still reports it for every window), "
    "from the half-size correlation that holds the lags it needs.",
    "- `detect_double_taps`: stops when no high-passed sample exceeds the absolute knock level "
    "(no knock can pass the threshold); the rolling median of the per-second maxima in plain "
    "Python (pandas' numbers); thresholds per second; `nan_to_num` only when a sample is not "
    "finite.",
    "",
    "The identity rests on numpy's arithmetic: a reduction along the same axis and memory layout "
    "gives the same sum, a norm adds its 3 or 5 squares in order, `correlate` takes each lag as "
    "the BLAS dot product of the same two slices, `partition` selects the same order "
    "statistics; `tests/test_stability.py`, `tests/test_activity.py` and `tests/test_laps.py` "
    "pin each function to `tests/reference_measures.py` on random windows with gaps, to the last "
    "bit. One caveat: with 4 neighbours asked first the k-d tree gives the same nearest "
    "neighbour outside the Theiler window unless two candidates lie at exactly the same "
    "distance (then either may be taken, as before between 16 and the whole window).",
    "",
    "Where the time left goes (10-minute session, calls timed inside the stream): about 60 % of "
    "`activity_label` is `gait.events_walking.vertical_acceleration` (0.25 Hz zero-phase "
    "low-pass of the three axes), about 65 % of `detect_double_taps` is the 30 Hz zero-phase "
    "high-pass (`gait.signal.filtfilt_butter`) of its 12.75 s window, redone every 2 s; in "
    "`stride_stability` the divergence exponent (k-d tree build and query, every 40 strides) is "
    "about 0.35 s per hour, the rest about twenty small numpy calls per stride.",
    "",
    "Not used, because the numbers would change in the last bits or under ties: running sums "
    "carried from one stride's window to the next; all step-frequency lags as one matrix product "
    "(another summation order than the dot products); scipy's peak search restricted to peaks "
    "above the knock level (the distance rule's order among equal heights depends on the whole "
    "peak list); an unbalanced k-d tree (faster to build, tie order differs).",
]


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


def _regularity_rows(trial: Path, strides) -> list[str]:
    """Markdown rows: the analysed trial's windows, and the peak search on its reference bouts.

    Analysed: strides, strides with a window (finite stride regularity), median step / stride
    regularity. Reference bouts (``walking_bouts.csv``, at least 4 reference strides): the
    vertical acceleration of the bout (:func:`gait.events_walking.vertical_acceleration` of the
    whole recording), the expected stride lag the reference strides' median stride time; the
    regularity at that fixed lag (search fraction 0) and at the peak within +-25 %.
    """
    import pandas as pd

    from gait.events_walking import vertical_acceleration
    from gait.stability import StabilitySettings, regularity_at_peaks

    reg = strides[["step_regularity", "stride_regularity"]].to_numpy(float)
    windowed = np.isfinite(reg[:, 1])
    med = (f"{np.median(reg[windowed, 0]):.2f} / {np.median(reg[windowed, 1]):.2f}"
           if windowed.any() else "-")
    rows = [f"| {trial.name} | analysed | {len(strides)} strides, {windowed.sum()} with a window "
            f"| {med} | |"]
    imu = pd.read_csv(trial / "imu.csv")
    t = imu["time_s"].to_numpy(float)
    fs = 1.0 / float(np.median(np.diff(t)))
    vertical, _ = vertical_acceleration(imu[["acc_x", "acc_y", "acc_z"]].to_numpy(float),
                                        sampling_rate_hz=fs)
    ref = pd.read_csv(trial / "strides.csv")
    fraction = StabilitySettings().regularity_search_fraction
    for _, bout in pd.read_csv(trial / "walking_bouts.csv").iterrows():
        times = ref.loc[ref["walking_bout"] == bout["walking_bout"], "stride_time_s"]
        if times.notna().sum() < 4:
            continue
        i0, i1 = np.searchsorted(t, [bout["start_s"], bout["end_s"]])
        lag = float(times.median()) * fs
        fixed = regularity_at_peaks(vertical[i0:i1], (lag / 2, lag), 0.0)
        peak = regularity_at_peaks(vertical[i0:i1], (lag / 2, lag), fraction)
        rows.append(f"| {trial.name} | reference bout {int(bout['walking_bout'])} "
                    f"| {bout['end_s'] - bout['start_s']:.1f} s, {times.notna().sum()} strides, "
                    f"{lag / fs:.2f} s | {fixed[0]:.2f} / {fixed[1]:.2f} "
                    f"| {peak[0]:.2f} / {peak[1]:.2f} |")
    return rows


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
    regularity: list[str] = []
    for csv in trials:
        meta = json.loads((csv.parent / "meta.json").read_text())
        athlete = {"height_m": meta["height_m"], "sensor_height_m": meta["sensor_height_m"]}
        with tempfile.TemporaryDirectory() as tmp:
            s = import_csv_session({SACRUM: csv}, Path(tmp) / "s", units=ImportUnits(),
                                   athlete=athlete)
            real_s += s.duration_s
            regularity += _regularity_rows(csv.parent, _analyse(s, real).strides)

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
        lines += [
            "",
            "Step / stride regularity on the same trials. *Analysed*: the product's per-stride "
            "values (a window holds only contiguous strides of one activity, at least 10, so "
            "the daily-living trials' short bouts between pauses and turns give few or none). "
            "*Reference bout*: the vertical acceleration over each reference walking bout with "
            "at least 4 reference strides, read at the reference median stride time (fixed lag, "
            "search fraction 0) and at the peak within +-25 % of it (the analysis' rule).",
            "",
            "| trial | what | strides, lag | fixed lag (analysed: median) | peak |",
            "|---|---|---|---|---|",
            *regularity,
        ]
    else:
        lines.append("Real recordings: ../shared/data not present, not run.")
    lines += ["", *NOTES]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
