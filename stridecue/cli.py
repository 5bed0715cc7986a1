"""The ``stridecue`` command line.

Every user mistake (a missing file, a wrong unit, a damaged session) ends in one line that says
what is wrong and what to do, and exit status 2; a bug ends with a traceback and status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from stridecue import __version__
from stridecue.errors import InputError, StridecueError

logger = logging.getLogger("stridecue")

DEMO_SEED = 20261124
DEMO_ATHLETE = {
    "name": "Demo Runner",
    "height_m": 1.78,
    "lap_distance_m": 400.0,
    "injured_side": "left",
}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _say(text: str = "") -> None:
    print(text, flush=True)


def _progress(desc: str, total: float = 1.0) -> Callable[[float], None]:
    """A tqdm bar on stderr driven by fractions; returns the update function."""
    from tqdm import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", leave=False, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}")
    state = {"done": 0}

    def update(fraction: float) -> None:
        target = int(round(100 * min(max(fraction / total, 0.0), 1.0)))
        if target > state["done"]:
            bar.update(target - state["done"])
            state["done"] = target
        if target >= 100:
            bar.close()

    return update


class _Stages:
    """A progress bar over named analysis stages."""

    def __init__(self, desc: str, stages: Sequence[str]) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=len(stages), desc=desc, leave=False, file=sys.stderr,
                        bar_format="{desc}: {n_fmt}/{total_fmt} {postfix} |{bar}| {elapsed}")

    def step(self, name: str) -> None:
        self.bar.set_postfix_str(name)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _clock(seconds: float) -> str:
    m, s = divmod(max(seconds, 0.0), 60.0)
    return f"{int(m):2d}:{s:04.1f}"


def _print_cues(result: Any, *, realtime_from: float | None = None, speed: float = 1.0) -> None:
    """Print cues in time order, optionally paced to the session clock."""
    cues = result.cues
    if not len(cues):
        _say("  (no cues: every measure stayed in range)")
        return
    laps = result.laps
    t_start = time.monotonic()
    for cue in cues.itertuples(index=False):
        if realtime_from is not None:
            wait = (cue.time_s - realtime_from) / speed - (time.monotonic() - t_start)
            if wait > 0:
                time.sleep(wait)
        lap = 0
        for lp in laps.itertuples(index=False):
            if lp.start_s <= cue.time_s < lp.end_s:
                lap = int(lp.lap)
        where = f"lap {lap}" if lap else "      "
        _say(
            f"  {_clock(cue.time_s)}  {where}  \"{cue.message}\"  "
            f"({cue.rule}: {cue.value:.1f} {cue.unit} vs {cue.threshold:.1f}, {cue.side} stride)"
        )


def _analyse_with_progress(session: Any) -> Any:
    from stridecue.analysis import analyse_session

    stages = _Stages("analysing", ["analysis"])
    warnings_seen: list[str] = []
    result = analyse_session(session, on_warning=warnings_seen.append)
    stages.step("done")
    stages.close()
    for w in warnings_seen:
        _say(f"  note: {w}")
    gyroscope = any(q.get("has_gyroscope") for q in result.quality.get("sensors", {}).values())
    if gyroscope and result.quality.get("calibration_error"):
        _say("  note: no calibration, so no pelvis or thigh angles, and no braking, AP/ML "
             "harmonic ratios or ML acceleration ratio (they need the body's forward and left "
             f"axes): {result.quality['calibration_error']}")
    from stridecue.report.findings import out_of_sync_lines

    for line in out_of_sync_lines(result.quality):
        _say(f"  warning: {line}")
    return result


def _digest(result: Any) -> str:
    """A short hash of the stride table and cues: equal results give equal digests."""
    h = hashlib.sha256()
    h.update(result.strides.to_csv(index=False, float_format="%.9g").encode())
    h.update(result.cues.to_csv(index=False, float_format="%.9g").encode())
    return h.hexdigest()[:16]


def _summary_lines(result: Any) -> list[str]:
    s = result.summary
    mr = s.get("means_running", {})
    lines = [
        f"  {s['strides']} strides ({s['running_strides']} running) over {s['duration_s'] / 60:.1f} min"
        + (f", {s['distance_m'] / 1000:.2f} km" if s.get("distance_m") else ""),
    ]
    for activity, means in (("running", mr), ("walking", s.get("means_walking", {}))):
        parts = []
        if means.get("cadence_spm"):
            parts.append(f"cadence {means['cadence_spm']:.0f} spm")
        if means.get("stride_length_m"):
            parts.append(f"stride {means['stride_length_m']:.2f} m")
        if means.get("contact_time_s"):
            parts.append(f"contact {means['contact_time_s'] * 1000:.0f} ms")
        if means.get("thigh_angle_ic_deg") is not None:
            parts.append(f"thigh at contact {means['thigh_angle_ic_deg']:.1f} deg")
        if parts:
            lines.append(f"  {activity}: " + ", ".join(parts))
    if not s["strides"]:
        lines.append(f"  no strides found in {s['duration_s']:.1f} s: walking needs 4 steps in a "
                     "row, running a few strides, each without a gap")
    from stridecue.analysis import lap_table_text

    laps = lap_table_text(result)
    if laps:
        lines.extend("  " + line for line in laps.splitlines())
    return lines


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    """Generate (or load) the demo session, analyse it, print cues, write the report."""
    from recordings.session import open_session
    from stridecue.analysis import write_outputs
    from stridecue.simrecord import record_simulated_session
    from stridecue.simulator import demo_plan

    out = Path(args.out)
    session_dir = out / "session"
    report_dir = out / "analysis"
    t0 = time.monotonic()
    if session_dir.is_dir() and (session_dir / "session.json").is_file() and not args.fresh:
        _say(f"Loading the demo session from {session_dir} (use --fresh to simulate it again)")
        session = open_session(session_dir)
    else:
        if session_dir.exists():
            import shutil

            shutil.rmtree(session_dir)
        _say("Simulating the demo session: 15 s standing calibration, a short walk, a warm-up")
        _say("jog, then two 400 m laps (lap 1 overstriding, lap 2 corrected); sacrum + left thigh.")
        session = record_simulated_session(
            demo_plan(), session_dir, seed=DEMO_SEED, athlete=DEMO_ATHLETE,
            progress=_progress("recording"),
        )
    result = _analyse_with_progress(session)
    _say()
    _say("Cues, as the runner would have heard them:")
    _print_cues(result)
    _say()
    _say("Session:")
    for line in _summary_lines(result):
        _say(line)
    outputs = write_outputs(result, report_dir, session=session)
    _say()
    _say(f"Report:        {outputs.report_html.resolve()}")
    _say(f"Strides:       {outputs.strides_csv.resolve()}")
    _say(f"Events:        {outputs.events_csv.resolve()}")
    _say(f"Bouts:         {outputs.extra['bouts_csv'].resolve()}")
    _say(f"Summary:       {outputs.summary_json.resolve()}")
    _say(f"Session data:  {session.path.resolve()}")
    _say(f"(done in {time.monotonic() - t0:.0f} s)")
    return 0


#: The runner's body lengths the importer takes (flags, or a ``meta.json`` beside the sacrum file).
ATHLETE_LENGTHS_M = ("height_m", "sensor_height_m", "leg_length_m", "lap_distance_m")


def _sidecar_body(sacrum_csv: Path) -> tuple[dict[str, float], str | None]:
    """The body lengths of a ``meta.json`` beside the sacrum file (recordings shared with their
    metadata carry the participant's height and sensor height there), and its path."""
    path = Path(sacrum_csv).with_name("meta.json")
    if not path.is_file():
        return {}, None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        _say(f"warning: {path} is not readable JSON; its body lengths are not used")
        return {}, None
    if not isinstance(meta, dict):
        return {}, None
    found = {}
    for key in ATHLETE_LENGTHS_M:
        value = meta.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and value > 0:
            found[key] = float(value)
    return found, str(path) if found else None


def _lap_marks_s(text: str) -> list[float]:
    """Lap marks from ``--lap-marks``: a file (one time per line, or a CSV with ``time_s``) or a
    comma-separated list of seconds."""
    path = Path(text)
    if path.is_file():
        try:
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--lap-marks {path}: cannot read it ({exc}); give a text file of "
                             "times in seconds") from exc
        rows = [ln.split(",") for ln in lines]
        if rows and "time_s" in rows[0]:
            col = rows[0].index("time_s")
            items = [r[col] if len(r) > col else "" for r in rows[1:]]
        else:
            items = lines
        where = f"--lap-marks {path}"
    else:
        items = [x for x in text.split(",") if x.strip()]
        where = "--lap-marks"
    try:
        marks = [float(x) for x in items]
    except ValueError as exc:
        raise InputError(f"{where}: {exc}; give times in seconds, e.g. --lap-marks 12.5,104.0,"
                         "196.2, or a file with one per line") from exc
    if not marks or not all(math.isfinite(t) for t in marks):
        raise InputError(f"{where}: no usable times; give times in seconds on the file's clock")
    return marks


def cmd_import(args: argparse.Namespace) -> int:
    """Import CSV recordings into a session."""
    import warnings

    from gait.stride_length import DEFAULT_HEIGHT_M
    from recordings.importer import ImportUnits, import_csv_session

    files = {"sacrum": Path(args.sacrum)}
    if args.thigh_left:
        files["thigh_left"] = Path(args.thigh_left)
    if args.thigh_right:
        files["thigh_right"] = Path(args.thigh_right)
    athlete, source = _sidecar_body(files["sacrum"])
    for key in ATHLETE_LENGTHS_M:
        value = getattr(args, key, None)
        if value is not None:
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"--{key.replace('_', '-')} must be a positive number of metres")
            athlete[key] = value
    if source and athlete:
        _say(f"Using {', '.join(f'{k} {v:g}' for k, v in athlete.items())} "
             f"(from {source} unless given as flags)")
    if not (athlete.get("height_m") or athlete.get("leg_length_m")):
        _say("warning: no --height-m: walking stride length and running speed assume a runner "
             f"{DEFAULT_HEIGHT_M} m tall; give --height-m (and --sensor-height-m) for this runner")
    if args.athlete:
        athlete["name"] = args.athlete
    marks = _lap_marks_s(args.lap_marks) if args.lap_marks else []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = import_csv_session(
            files, Path(args.out), units=ImportUnits(args.acc_unit, args.gyr_unit), athlete=athlete,
            lap_marks_s=marks,
            correct_sync=not args.no_sync_correction,
        )
    for w in caught:
        _say(f"warning: {w.message}")
    _say(f"Imported {', '.join(files)} into {session.path}"
         + (f" with {len(marks)} lap marks" if marks else ""))
    for s in session.sensors:
        _say(f"  {s.placement}: {s.sampling_rate_hz:.1f} Hz, {len(session.samples(s.placement))} samples")
    _say(f"Next: stridecue analyse {session.path} --out DIR")
    return 0


def cmd_analyse(args: argparse.Namespace) -> int:
    """Analyse a session into the contract files."""
    from recordings.session import open_session
    from stridecue.analysis import write_outputs

    session = open_session(args.session)
    result = _analyse_with_progress(session)
    outputs = write_outputs(result, Path(args.out), session=session, report=not args.no_report)
    for line in _summary_lines(result):
        _say(line)
    _say(f"  cues: {len(result.cues)}")
    _say(f"Wrote {outputs.strides_csv}, {outputs.events_csv}, {outputs.extra['bouts_csv']}, "
         f"{outputs.summary_json}"
         + ("" if args.no_report else f", {outputs.report_html}"))
    if not args.no_history:
        _record_history(args, session, result)
    return 0


def _history_db(path: str | None) -> Any:
    from stridecue.history import HistoryDB

    return HistoryDB(Path(path)) if path else HistoryDB()


def _record_history(args: argparse.Namespace, session: Any, result: Any) -> None:
    athlete = args.athlete or session.athlete.get("name")
    if not athlete:
        _say("  (not added to a history: the session has no athlete name; pass --athlete NAME)")
        return
    with _history_db(args.history) as db:
        db.add_result(athlete, session.session_id, session.meta.get("created_utc"), result)
        _say(f"Added to {athlete}'s history ({db.path}) as {session.session_id}")


def _session_id(arg: str) -> str:
    """A session folder or a session id as stored in the history."""
    path = Path(arg)
    if (path / "session.json").is_file():
        from recordings.session import open_session

        return open_session(path).session_id
    return arg


def cmd_history(args: argparse.Namespace) -> int:
    """Print an athlete's trend across sessions and write the history report."""
    from stridecue.history import format_mobility, format_trend, write_history_report

    with _history_db(args.history) as db:
        if args.baseline:
            chosen = db.set_baseline(args.athlete, args.baseline.split(",") if not args.baseline.startswith("first:") else args.baseline)
            _say(f"Baseline of {args.athlete}: {', '.join(chosen)}")
        trend = db.trend(args.athlete)
        mobility = db.mobility(args.athlete) if args.athlete in db.athletes() else None
        has_trend = trend is not None and not trend.empty
        has_mobility = mobility is not None and not mobility.empty
        if not has_trend and not has_mobility:
            raise InputError(
                f"no sessions for {args.athlete!r} in {db.path}: run `stridecue analyse SESSION "
                "--out DIR --athlete NAME` or `stridecue mobility --athlete NAME` first"
            )
        if has_trend:
            _say(format_trend(trend))
        if has_mobility:
            _say("")
            _say("Mobility checks:")
            _say(format_mobility(mobility))
        out = Path(args.out) if args.out else Path(f"history-{args.athlete.replace(' ', '_')}.html")
        write_history_report(db, args.athlete, out)
        _say(f"History report: {out.resolve()}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """What changed between two sessions of one athlete."""
    from stridecue.history import format_comparison

    with _history_db(args.history) as db:
        table = db.compare(_session_id(args.session_a), _session_id(args.session_b))
        _say(format_comparison(table))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a session's raw log through the live decode path and analysis."""
    from recordings.session import open_session
    from stridecue.analysis import replay_session

    session = open_session(args.session)
    _say(f"Replaying {session.path} ({'real time' if args.realtime else 'as fast as possible'})")
    t0 = time.monotonic()
    result = replay_session(session, progress=_progress("replaying"))
    _say(f"Cues ({len(result.cues)}):")
    _print_cues(result, realtime_from=0.0 if args.realtime else None, speed=args.speed)
    for line in _summary_lines(result):
        _say(line)
    _say(f"result digest: {_digest(result)}  (identical on every replay of the same session)")
    _say(f"(replayed in {time.monotonic() - t0:.1f} s)")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    """List advertising stridecue and Movesense sensors with battery and signal."""
    import asyncio

    from firmware_bridge.client import scan

    found = asyncio.run(scan(args.timeout))
    if not found:
        _say("No sensors found. Check they are charged and awake, and that Bluetooth is on.")
        return 1
    _say(f"{'address':<20} {'name':<24} {'protocol':<10} {'RSSI':>6} {'battery':>8}")
    for f in found:
        battery = f"{f.battery_percent} %" if f.battery_percent is not None else "-"
        rssi = f"{f.rssi_dbm}" if f.rssi_dbm is not None else "-"
        _say(f"{f.address:<20} {(f.name or '-'):<24} {(f.protocol or '-'):<10} {rssi:>6} {battery:>8}")
    return 0


def _placements(args: argparse.Namespace) -> dict[str, str]:
    out = {"sacrum": args.sacrum} if args.sacrum else {}
    if args.thigh_left:
        out["thigh_left"] = args.thigh_left
    if args.thigh_right:
        out["thigh_right"] = args.thigh_right
    return out


def _parse_drop(text: str) -> tuple[float, float]:
    try:
        at, dur = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"--drop {text!r}: give AT_S:DURATION_S, e.g. --drop 120:5") from None
    return at, dur


def cmd_record(args: argparse.Namespace) -> int:
    """Record sensors (real, or simulated over the real Bluetooth code path) into a session."""
    import asyncio

    from stridecue import live

    if args.simulate:
        sim, faults = live.simulated_setup(
            duration_s=args.duration, drift_ppm=tuple(args.drift_ppm), seed=args.seed,
            faults={
                "loss_fraction": args.loss,
                "link_drops": [_parse_drop(d) for d in args.drop],
                "refuse_connections": args.refuse,
                "reboot_at_s": args.reboot,
                "garbage_fraction": args.garbage,
            },
        )
        _say(f"Recording {len(sim.sensors)} simulated sensors over Bluetooth (bumble + bleak), "
             f"{sim.duration_s:.0f} s of running at {args.speed:g}x real time...")
        session = asyncio.run(live.record_simulated(
            Path(args.out), signals=live.simulated_signals(sim), faults=faults,
            backfill=not args.no_backfill, time_scale=args.speed, athlete={"name": args.athlete} if args.athlete else None,
            report=_say, truth_writer=sim.write_truth,
        ))
    else:
        sensors = _placements(args)
        if "sacrum" not in sensors:
            raise InputError("record needs --sacrum ADDRESS|NAME (or --simulate)")
        options = live.RecordOptions(
            sensors=sensors, out=Path(args.out), duration_s=args.duration,
            backfill=not args.no_backfill, athlete={"name": args.athlete} if args.athlete else {},
        )
        _say("Recording; press Ctrl-C to stop.")
        try:
            session = asyncio.run(live.record_real(options, report=_say))
        except KeyboardInterrupt:
            from recordings.session import open_session

            session = open_session(Path(args.out))
    _say(f"Saved {session.path}")
    return cmd_info(argparse.Namespace(session=str(session.path), json=False))


def cmd_run(args: argparse.Namespace) -> int:
    """A live session: record, analyse and cue within a stride; report at the end."""
    import asyncio

    from stridecue.analysis import analyse_session, write_outputs
    from stridecue.athlete import AthleteProfile, load_profile
    from stridecue.live_session import RunOptions, run_live

    profile = load_profile(args.profile) if args.profile else AthleteProfile.default()
    profile.sensors.update(_placements(args))
    if args.athlete:
        profile.athlete["name"] = args.athlete
    if args.language:
        from dataclasses import replace

        from stridecue.athlete import MESSAGES

        if args.language not in MESSAGES:
            raise InputError(f"--language {args.language!r} is not available; use one of {', '.join(MESSAGES)}")
        profile = replace(profile, language=args.language)
    outputs = tuple(o.strip() for o in args.outputs.split(",")) if args.outputs else None
    if not args.simulate and "sacrum" not in profile.sensors:
        raise InputError("run needs a sacrum sensor: --sacrum ADDRESS|NAME, [sensors] in --profile, "
                         "or --simulate")
    faults = {}
    if args.simulate and (args.loss or args.drop):
        faults = {p: {"loss_fraction": args.loss, "link_drops": [_parse_drop(d) for d in args.drop],
                      "seed": args.seed + i} for i, p in enumerate(("sacrum", "thigh_left"))}
    options = RunOptions(out=Path(args.out), profile=profile, simulate=args.simulate, seed=args.seed,
                         time_scale=args.speed if args.simulate else 1.0, duration_s=args.duration,
                         outputs=outputs, jsonl=args.jsonl, faults=faults, view=not args.no_view)
    if args.simulate:
        _say(f"Live session with simulated sensors over Bluetooth (bumble + bleak) at {args.speed:g}x "
             "real time: a runner who overstrides for a while, then corrects. Ctrl-C ends it.")
    else:
        _say("Live session: connecting the sensors; stand still for 15 s, walk a few steps, then run. "
             "Enter marks a lap; Ctrl-C ends the session.")
    session = asyncio.run(run_live(options, report=_say))
    live = session.meta.get("live", {})
    _say(f"Saved {session.path}: {live.get('strides', 0)} strides and {live.get('cues', 0)} cues live"
         + (f" (live analysis stopped: {live['analysis_failed']})" if live.get("analysis_failed") else ""))
    result = analyse_session(session, on_warning=lambda m: None)
    out = write_outputs(result, Path(args.report_dir) if args.report_dir else session.path / "analysis",
                        session=session)
    for line in _summary_lines(result):
        _say(line)
    _say(f"Report: {out.report_html}")
    if not args.no_history and profile.name:
        _record_history(argparse.Namespace(athlete=profile.name, history=args.history), session, result)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Describe a session: sensors, samples, gaps, clock drift, laps, cues."""
    from recordings.info import session_info
    from recordings.session import open_session

    session = open_session(args.session)
    info = session_info(session)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    _say(f"Session {session.path}")
    _say(f"  source {info['source']}, recorded {info['created_utc']}, stridecue {info['software_version']}")
    _say(f"  duration {info['duration_s']:.1f} s, laps {info['laps']}, cues {info['cues']}")
    if info.get("repaired"):
        _say("  note: this session was not closed cleanly; it was repaired from its raw log")
    for p, s in info["sensors"].items():
        line = (f"  {p}: {s['sampling_rate_hz']} Hz, {s['samples_received']} samples received")
        if s.get("samples_expected") is not None:
            line += (f" of {s['samples_expected']} expected, {s['samples_backfilled']} backfilled, "
                     f"{s['samples_lost']} lost, {len(s['gaps'])} gaps")
        if s.get("clock_drift_ppm") is not None:
            line += f", clock drift {s['clock_drift_ppm']:+.1f} ppm"
            if s.get("clock_drift_uncertainty_ppm") is not None:
                line += f" (+-{s['clock_drift_uncertainty_ppm']:.1f})"
        _say(line)
    if info.get("alignment_error_ms") is not None:
        _say(f"  estimated alignment error between sensors: {info['alignment_error_ms']:.2f} ms")
    return 0


# ------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render --help)."""
    parser = argparse.ArgumentParser(
        prog="stridecue",
        description=(
            "stridecue: a sacrum sensor and a thigh sensor tell you, stride by stride, when to "
            "shorten your stride, land under you, or steady your pelvis while you run back from "
            "a hamstring strain. Coaches get a stride report; developers can replay every session."
        ),
    )
    parser.add_argument("--version", action="version", version=f"stridecue {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show detailed log messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo",
        help="try stridecue without sensors: a simulated 4-minute track session, cues and report",
        description="Simulate (or load) the demo session: standing calibration, warm-up, two 400 m "
        "laps (overstriding in lap 1, corrected in lap 2). Prints the cues as the runner would "
        "hear them and writes the coach's report.",
    )
    p.add_argument("--out", default="stridecue-demo", help="folder for the demo (default: %(default)s)")
    p.add_argument("--fresh", action="store_true", help="simulate the session again even if it exists")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "import",
        help="turn CSV files from another system into a stridecue session",
        description="Import CSV files with a time_s column and any of acc_x, acc_y, acc_z, gyr_x, "
        "gyr_y, gyr_z, mag_x, mag_y, mag_z (the sensor's own axes), or the same with _ap, _ml, "
        "_vertical (axes already aligned with the body: forward, to the left, up; e.g. "
        "acc_vertical, acc_ap). A column may name its unit (acc_z_g, gyr_x_dps); otherwise the "
        "flags below say it; default m/s^2 and rad/s.",
    )
    p.add_argument("--sacrum", required=True, metavar="FILE", help="CSV of the sensor on the sacrum (required)")
    p.add_argument("--thigh-left", metavar="FILE", help="CSV of the sensor on the left thigh")
    p.add_argument("--thigh-right", metavar="FILE", help="CSV of the sensor on the right thigh")
    p.add_argument("--acc-unit", choices=["mps2", "g", "mg"],
                   help="accelerometer unit of columns that do not name one: mps2 (m/s^2, "
                   "default), g or mg (milli-g)")
    p.add_argument("--gyr-unit", choices=["radps", "dps"],
                   help="gyroscope unit of columns that do not name one: radps (rad/s, default) "
                   "or dps (deg/s)")
    p.add_argument("--height-m", type=float, help="the runner's height in metres")
    p.add_argument("--sensor-height-m", type=float, help="height of the sacrum sensor above the ground, metres")
    p.add_argument("--leg-length-m", type=float, help="leg length (hip to floor), metres")
    p.add_argument("--lap-distance-m", type=float, help="distance of one marked lap, metres (default 400)")
    p.add_argument("--lap-marks", metavar="TIMES|FILE",
                   help="lap marks in seconds on the sacrum file's clock (the start of the first lap "
                   "and the end of every lap), comma-separated or a file with one per line (or a "
                   "time_s column); they scale running stride length as marked laps do live")
    p.add_argument("--athlete", help="athlete name (for the history)")
    p.add_argument("--no-sync-correction", action="store_true",
                   help="keep a thigh file's times even when its clock is measured out of sync "
                   "with the sacrum's (by default they are corrected in the session)")
    p.add_argument("--out", required=True, metavar="SESSION", help="new session folder to create")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "analyse",
        aliases=["analyze"],
        help="analyse a session: events, strides, summary and the coach's report",
        description="Writes DIR/events.csv, DIR/strides.csv (+ .parquet), DIR/summary.json and "
        "DIR/report.html, and adds the session to the athlete's history.",
    )
    p.add_argument("session", metavar="SESSION", help="session folder")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("--athlete", help="athlete name for the history, if the session has none")
    p.add_argument("--history", metavar="DB", default=None,
                   help="history database file (default: $STRIDECUE_HOME or ~/.local/share/stridecue)")
    p.add_argument("--no-history", action="store_true", help="do not add the session to the history")
    p.set_defaults(func=cmd_analyse)

    p = sub.add_parser(
        "history",
        help="an athlete's trend across sessions (is the overstride shrinking?) and a history report",
    )
    p.add_argument("athlete", metavar="ATHLETE", help="athlete name as given to analyse")
    p.add_argument("--out", metavar="FILE", help="history report file (default: history-ATHLETE.html)")
    p.add_argument("--baseline", metavar="SESSIONS",
                   help="set the baseline: comma-separated session ids, or first:N (default: first session)")
    p.add_argument("--history", metavar="DB", default=None, help="history database file")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("compare", help="what changed between two sessions, beyond the smallest real change")
    p.add_argument("session_a", metavar="SESSION_A", help="session folder or session id")
    p.add_argument("session_b", metavar="SESSION_B", help="session folder or session id")
    p.add_argument("--history", metavar="DB", default=None, help="history database file")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "replay",
        help="play a recorded session back through the live decode and analysis path",
        description="Feeds every recorded notification, in arrival order, through the same decoder "
        "and analysis as a live session; the result digest is the same on every replay.",
    )
    p.add_argument("session", metavar="SESSION", help="session folder")
    p.add_argument("--realtime", action="store_true", help="pace the cues at the speed they happened")
    p.add_argument("--speed", type=float, default=1.0, help="with --realtime: play this many times faster")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("scan", help="find stridecue and Movesense sensors nearby (battery, signal)")
    p.add_argument("--timeout", type=float, default=5.0, help="scan for this many seconds (default 5)")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser(
        "record",
        help="record sensors into a session (real ones, or --simulate over the same Bluetooth path)",
        description="Connects the sensors one after another, streams, reconnects after link loss, "
        "asks the sensors to resend what was missed, and writes every notification to the session.",
    )
    p.add_argument("--sacrum", metavar="ADDR|NAME", help="the sensor on the sacrum")
    p.add_argument("--thigh-left", metavar="ADDR|NAME", help="the sensor on the left thigh")
    p.add_argument("--thigh-right", metavar="ADDR|NAME", help="the sensor on the right thigh")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: Ctrl-C; "
                   "with --simulate: the demo session)")
    p.add_argument("--out", required=True, metavar="SESSION", help="new session folder")
    p.add_argument("--athlete", help="athlete name")
    p.add_argument("--no-backfill", action="store_true", help="do not ask sensors to resend missed packets")
    g = p.add_argument_group("simulation (no hardware)")
    g.add_argument("--simulate", action="store_true", help="simulated sensors over an emulated Bluetooth link")
    g.add_argument("--speed", type=float, default=1.0, help="run the simulated clock this many times faster")
    g.add_argument("--seed", type=int, default=1, help="seed of the simulated runner and faults")
    g.add_argument("--loss", type=float, default=0.0, help="fraction of notifications lost (e.g. 0.02)")
    g.add_argument("--drop", action="append", default=[], metavar="AT:DUR",
                   help="drop the link at AT seconds for DUR seconds (repeatable)")
    g.add_argument("--refuse", type=int, default=0, help="refuse the first N connection attempts")
    g.add_argument("--reboot", type=float, action="append", default=[], metavar="AT", help="reboot at AT seconds")
    g.add_argument("--garbage", type=float, default=0.0, help="fraction of extra garbage notifications")
    g.add_argument("--drift-ppm", type=float, nargs=2, default=[80.0, -60.0], metavar=("SACRUM", "THIGH"),
                   help="sensor clock drift in ppm (default +80 -60)")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser(
        "run",
        help="live session: stream, analyse and cue the runner within a stride",
        description="Record the sensors, analyse every stride as it ends and cue the runner "
                    "(terminal, audio, haptic buzz, JSON lines); Ctrl-C saves the session and writes the report.",
    )
    p.add_argument("--profile", metavar="TOML", help="athlete profile (sensors, cue rules, language, baselines)")
    p.add_argument("--sacrum", metavar="ADDR|NAME", help="the sensor on the sacrum (overrides the profile)")
    p.add_argument("--thigh-left", metavar="ADDR|NAME", help="the sensor on the left thigh")
    p.add_argument("--thigh-right", metavar="ADDR|NAME", help="the sensor on the right thigh")
    p.add_argument("--out", required=True, metavar="SESSION", help="new session folder")
    p.add_argument("--duration", type=float, help="stop after this many seconds of session time")
    p.add_argument("--outputs", metavar="LIST", help="cue outputs, comma separated: terminal,audio,haptic,jsonl")
    p.add_argument("--jsonl", metavar="FILE", help="write cues as JSON lines here ('-' for stdout)")
    p.add_argument("--language", help="cue language (en, de, es, fr)")
    p.add_argument("--athlete", help="athlete name (overrides the profile)")
    p.add_argument("--report-dir", metavar="DIR", help="where the report goes (default SESSION/analysis)")
    p.add_argument("--history", metavar="DB", default=None, help="history database file")
    p.add_argument("--no-history", action="store_true", help="do not add the session to the history")
    p.add_argument("--no-view", action="store_true", help="no live status line")
    g = p.add_argument_group("simulation (no hardware)")
    g.add_argument("--simulate", action="store_true",
                   help="simulated sensors over an emulated Bluetooth link (overstriding, then corrected)")
    g.add_argument("--speed", type=float, default=1.0, help="run the simulated clock this many times faster")
    g.add_argument("--seed", type=int, default=7, help="seed of the simulated runner")
    g.add_argument("--loss", type=float, default=0.0, help="fraction of notifications lost (e.g. 0.02)")
    g.add_argument("--drop", action="append", default=[], metavar="AT:DUR", help="drop the link at AT s for DUR s")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "info",
        help="what a session holds: sensors, samples, gaps, clock drift, laps, cues",
    )
    p.add_argument("session", metavar="SESSION", help="session folder")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_info)

    from stridecue.mobility_cli import add_parser as add_mobility_parser

    add_mobility_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stridecue`` console command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StridecueError as exc:
        print(f"stridecue {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stridecue: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a pager or head that closed early
        sys.stderr.close()
        return 0
    except FileNotFoundError as exc:
        print(f"stridecue {args.command}: error: {exc.filename}: no such file or folder", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
