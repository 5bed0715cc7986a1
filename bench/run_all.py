"""Run every benchmark and assemble bench/REPORT.md from their result fragments.

Usage: ``python bench/run_all.py [--only NAME ...] [--assemble-only]``. Each ``bench_*.py``
script prints its figures and writes ``bench/results/<name>.md``; this script runs them one after
another (they share the machine, so they never run in parallel) and then writes ``REPORT.md``:
a summary of the headline figures followed by every fragment verbatim.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    ("pipeline", "Speed and memory of the whole pipeline"),
    ("stability_speed", "Stability, activity label and double taps: speed and equivalence"),
    ("bridge", "Bluetooth codecs and ingest speed"),
    ("live", "Live pipeline: cue latency, CPU, memory"),
    ("live_long", "Live pipeline over two hours: memory"),
    ("orientation", "Orientation on BROAD (optical truth) and speed"),
    ("events_running", "Running events on sacrum-running (force plate)"),
    ("events_running_speed", "Running-event detector and side votes: speed in the stream"),
    ("events_thigh", "Thigh-refined running events (simulator only)"),
    ("sync", "Sensor sync: thigh clock offset from the contact transients (simulator only)"),
    ("walking", "Walking events, cadence and stride length on lowerback-walking"),
    ("walking_heldout", "Walking on a held-out person (MS_001) and open-source detectors"),
    ("stride_length_running", "Running stride length"),
    ("angles", "Anatomical angles vs simulator truth"),
    ("mobility", "Mobility checks vs simulator truth"),
    ("simulator_realism", "Simulator contact waveforms vs real sacral running"),
    ("report", "Report and history speed"),
    ("import_robustness", "Import robustness: variants of the real files through import + analyse"),
]


def assemble() -> Path:
    """Write REPORT.md from the fragments in results/."""
    parts = [
        "# stridecue benchmark report",
        "",
        "Every figure below was produced by a script in `bench/` on this project's 2-core machine; "
        "each fragment says how its numbers were obtained and puts the published or open-source "
        "anchors beside them. Re-run with `python bench/run_all.py`.",
        "",
        "## Contents",
        "",
    ]
    present = [(n, t) for n, t in ORDER if (HERE / "results" / f"{n}.md").is_file()]
    parts += [f"- [{t}](#{n.replace('_', '-')}) (`bench/results/{n}.md`)" for n, t in present]
    for name, title in present:
        text = (HERE / "results" / f"{name}.md").read_text(encoding="utf-8").strip()
        lines = text.splitlines()
        if lines and lines[0].startswith("#"):
            lines = lines[1:]
        parts += ["", f'<a id="{name.replace("_", "-")}"></a>', f"## {title}", "", *lines]
    out = HERE / "REPORT.md"
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (names as in results/)")
    parser.add_argument("--assemble-only", action="store_true", help="only rebuild REPORT.md")
    args = parser.parse_args()
    if not args.assemble_only:
        for name, _ in ORDER:
            script = HERE / f"bench_{name}.py"
            if not script.is_file() or (args.only and name not in args.only):
                continue
            t0 = time.monotonic()
            print(f"== {script.name}", flush=True)
            subprocess.run([sys.executable, str(script)], check=True)
            print(f"== {script.name}: {time.monotonic() - t0:.0f} s", flush=True)
    print(f"wrote {assemble()}")


if __name__ == "__main__":
    main()
