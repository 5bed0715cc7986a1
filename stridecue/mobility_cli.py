"""``stridecue mobility``: the guided mobility checks, recorded as a session and measured.

The command walks the athlete through :func:`calibration.mobility.mobility_script` (standing
calibration, standing posture, kneeling hip-flexor test on each knee, a straight-leg raise per thigh
sensor) while recording the sensors like ``stridecue record`` does: real sensors through
:class:`firmware_bridge.client.SensorHub`, or ``--simulate`` with the simulated athlete of
:mod:`stridecue.simulator.mobility` over the bumble/bleak path. Every prompt is written to the
session journal (``kind = "mobility_step"``, its session time, check, side and step), so the
session can be measured again later from its own record (``stridecue mobility --measure
SESSION``). The session's ``kind`` is ``"mobility"``.

Measuring (:func:`measure_mobility`, pure): orientation per sensor (VQF), calibration from the
journal's standing and walking windows, then the pure check functions of
:mod:`calibration.mobility` over each check's window (from its step 1 to the next check). Results
are stored in the session metadata (``mobility``) and, with an athlete name, in the history
database, each with its target.

Timing: interactive, the command waits for Enter when the athlete is in position (step 0 of each
check) and asks after the kneeling test whether the front of the thigh pulled; ``--yes`` (and
``--simulate``) run every step for its scripted duration without asking.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibration.alignment import calibrate_pelvis, calibrate_thigh, with_neutral_from_orientation
from calibration.mobility import (
    MobilityStep,
    kneeling_hip_flexor,
    mobility_script,
    standing_posture,
    straight_leg_raise,
)
from calibration.model import Calibration, CalibrationError
from gait.orientation import estimate_orientation
from stridecue import constants as c
from stridecue.errors import InputError, SessionError

#: Journal entry kind of a prompted step.
STEP_KIND = "mobility_step"
#: Journal entry kind of the athlete's answer to a question.
ANSWER_KIND = "mobility_answer"
#: Trimmed from both ends of the standing calibration window, seconds.
STANDING_TRIM_S = 0.5
#: Extra standing recorded before the first prompt of a simulated session, seconds.
SIM_LEAD_IN_S = 2.0

#: Human names of the checks.
CHECK_NAMES = {
    "standing_pelvis_tilt": "Standing pelvic tilt",
    "standing_sway": "Standing sway",
    "kneeling_hip_flexor": "Kneeling hip-flexor test",
    "straight_leg_raise": "Straight-leg raise",
}


# ------------------------------------------------------------------------------------------
# measuring (pure)
# ------------------------------------------------------------------------------------------
def step_marks(journal: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The prompted steps of a mobility session from its journal.

    Returns
    -------
    pandas.DataFrame
        ``time_s``, ``check``, ``side``, ``step`` in time order.
    """
    rows = [{"time_s": float(e["time_s"]), "check": str(e["check"]), "side": str(e.get("side", "")),
             "step": int(e["step"])} for e in journal if e.get("kind") == STEP_KIND]
    return pd.DataFrame(rows, columns=["time_s", "check", "side", "step"]).sort_values(
        "time_s", kind="stable").reset_index(drop=True)


def _answers(journal: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    return {(str(e["check"]), str(e.get("side", ""))): str(e["answer"])
            for e in journal if e.get("kind") == ANSWER_KIND}


def check_windows(marks: pd.DataFrame, end_s: float) -> dict[tuple[str, str], tuple[float, float]]:
    """Measurement window of every check: from its step 1 to the next check's step 0 (or end).

    Parameters
    ----------
    marks
        :func:`step_marks` output.
    end_s
        End of the recording, seconds.

    Returns
    -------
    dict
        ``(check, side) -> (start_s, end_s)``; the calibration's window starts at its step 0.
    """
    out: dict[tuple[str, str], tuple[float, float]] = {}
    firsts = marks[marks["step"] == 0]
    for r in firsts.itertuples(index=False):
        key = (r.check, r.side)
        mine = marks[(marks["check"] == r.check) & (marks["side"] == r.side)]
        later = firsts[firsts["time_s"] > r.time_s]["time_s"]
        stop = float(later.iloc[0]) if len(later) else float(end_s)
        first = 0 if r.check == "calibration" else 1
        start = mine[mine["step"] == first]["time_s"]
        if len(start):
            out[key] = (float(start.iloc[0]), stop)
    return out


def _indices(time_s: np.ndarray, window: tuple[float, float]) -> slice:
    i0, i1 = np.searchsorted(time_s, window)
    return slice(int(i0), int(i1))


def calibrate_from_marks(
    signals: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    marks: pd.DataFrame,
    orientations: Mapping[str, np.ndarray],
) -> Calibration:
    """Calibrate every sensor from the journal's standing (step 0) and walking (step 1) windows.

    Parameters
    ----------
    signals
        ``placement -> (time_s, acc_mps2, gyr_radps, sampling_rate_hz)``.
    marks
        :func:`step_marks` output (with the two calibration steps).
    orientations
        ``placement -> q_sensor_to_earth`` over the whole recording (sets the neutral offsets).

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        No calibration steps in the journal, or a calibration that cannot be trusted.
    """
    cal_marks = marks[marks["check"] == "calibration"].set_index("step")["time_s"]
    if not {0, 1} <= set(cal_marks.index):
        raise CalibrationError("the session has no standing calibration steps: record the "
                               "mobility checks again from the start")
    after = marks[marks["time_s"] > cal_marks[1]]["time_s"]
    stand = (cal_marks[0] + STANDING_TRIM_S, cal_marks[1] - STANDING_TRIM_S / 2)
    walk = (cal_marks[1], float(after.iloc[0]) if len(after) else cal_marks[1] + 9.0)
    out = Calibration(created_time_s=float(cal_marks[0]))
    for placement, (t, acc, gyr, fs) in signals.items():
        s, f = _indices(t, stand), _indices(t, walk)
        if placement == c.SACRUM:
            seg = calibrate_pelvis(acc, gyr, sampling_rate_hz=fs, standing=(s.start, s.stop),
                                   functional=(f.start, f.stop))
        else:
            seg = calibrate_thigh(acc, gyr, sampling_rate_hz=fs,
                                  side=placement.removeprefix("thigh_"),
                                  standing=(s.start, s.stop), functional=(f.start, f.stop))
        out.segments[placement] = with_neutral_from_orientation(seg, orientations[placement][s])
    return out


def _row(test: str, side: str, value: float, target: float, target_text: str, passed: bool,
         flags: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"test": test, "side": side, "value": float(value), "unit": "deg",
            "target": float(target), "target_text": target_text, "passed": bool(passed),
            "flags": list(flags), **extra}


def measure_mobility(
    signals: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]],
    journal: Sequence[Mapping[str, Any]],
    *,
    calibration: Calibration | None = None,
    targets: Mapping[str, float] | None = None,
    injured_side: str | None = None,
) -> tuple[dict[str, dict[str, Any]], Calibration]:
    """Measure every check of a mobility session.

    Parameters
    ----------
    signals
        ``placement -> (time_s, acc_mps2, gyr_radps, sampling_rate_hz)`` of the whole session.
    journal
        The session journal (``mobility_step`` and ``mobility_answer`` entries are used).
    calibration
        A calibration to use instead of the session's own standing + walking steps.
    targets
        The athlete's targets (``straight_leg_raise_target_deg``, ``hip_flexor_target_deg``; the
        profile's ``[mobility]``); the defaults of :mod:`calibration.mobility` otherwise.
    injured_side
        ``"left"`` or ``"right"``: the injured side's two-sided checks get
        ``difference_to_other_side_deg`` (injured minus healthy) when both sides were measured.

    Returns
    -------
    results : dict
        ``key -> row`` with ``test``, ``side``, ``value`` (deg), ``unit``, ``target``,
        ``target_text``, ``passed``, ``flags`` and check details; keys are
        ``standing_pelvis_tilt``, ``standing_sway``, ``kneeling_hip_flexor_<side>``,
        ``straight_leg_raise_<side>``.
    calibration : Calibration
        The calibration used.
    """
    marks = step_marks(journal)
    if marks.empty:
        raise SessionError("this session has no mobility steps in its journal: record it with "
                           "`stridecue mobility`")
    end_s = max(float(t[-1]) for t, *_ in signals.values())
    q = {p: estimate_orientation(acc, gyr, sampling_rate_hz=fs)
         for p, (_, acc, gyr, fs) in signals.items()}
    cal = calibration or calibrate_from_marks(signals, marks, q)
    answers = _answers(journal)
    results: dict[str, dict[str, Any]] = {}
    for (check, side), window in check_windows(marks, end_s).items():
        placement = c.SACRUM if check in ("standing_posture", "kneeling_hip_flexor") \
            else f"thigh_{side}"
        if check == "calibration" or placement not in signals or placement not in cal:
            continue
        t, acc, _, fs = signals[placement]
        w = _indices(t, window)
        if check == "standing_posture":
            r = standing_posture(q[placement][w], cal[placement], sampling_rate_hz=fs,
                                 acc_mps2=acc[w])
            sway = max(r.tilt_sway_rms_deg, r.obliquity_sway_rms_deg)
            results["standing_pelvis_tilt"] = _row(
                "standing_pelvis_tilt", "", r.pelvis_tilt_deg, r.max_anterior_tilt_deg,
                f"at most {r.max_anterior_tilt_deg:g} deg anterior of the calibration",
                r.passed, r.flags, obliquity_deg=r.pelvis_obliquity_deg)
            results["standing_sway"] = _row(
                "standing_sway", "", sway, 2.0, "at most 2 deg RMS", bool(sway <= 2.0),
                r.flags, acc_sway_rms_mps2=r.acc_sway_rms_mps2)
        elif check == "kneeling_hip_flexor":
            r = kneeling_hip_flexor(q[placement][w], cal[placement], sampling_rate_hz=fs,
                                    **_target(targets, "hip_flexor_target_deg"))
            pull = answers.get((check, side), "")
            results[f"kneeling_hip_flexor_{side}"] = _row(
                "kneeling_hip_flexor", side, r.posterior_tilt_deg, r.target_deg,
                f"at least {r.target_deg:g} deg posterior tilt (stridecue setting)", r.passed,
                r.flags, neutral_tilt_deg=r.neutral_tilt_deg,
                note=("strong pull in front of the thigh" if pull == "yes"
                      else "no strong pull" if pull == "no" else ""))
        else:
            r = straight_leg_raise(q[placement][w], cal[placement], sampling_rate_hz=fs,
                                   **_target(targets, "straight_leg_raise_target_deg"))
            results[f"straight_leg_raise_{side}"] = _row(
                "straight_leg_raise", side, r.peak_elevation_deg, r.target_deg,
                f"at least {r.target_deg:g} deg (articles: about 65-70)", r.passed, r.flags,
                peak_abduction_deg=r.peak_abduction_deg)
    if injured_side in (c.LEFT, c.RIGHT):
        healthy = c.RIGHT if injured_side == c.LEFT else c.LEFT
        for test in ("kneeling_hip_flexor", "straight_leg_raise"):
            injured, other = results.get(f"{test}_{injured_side}"), results.get(f"{test}_{healthy}")
            if injured is not None:
                injured["injured_side"] = True
                if other is not None:
                    injured["difference_to_other_side_deg"] = injured["value"] - other["value"]
    return results, cal


def _target(targets: Mapping[str, float] | None, key: str) -> dict[str, float]:
    return {"target_deg": float(targets[key])} if targets and key in targets else {}


def session_signals(session: Any) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """``placement -> (time_s, acc_mps2, gyr_radps, sampling_rate_hz)`` of a session."""
    out = {}
    for info in session.sensors:
        table = session.samples(info.placement)
        t = table[c.TIME_S].to_numpy(float)
        if len(t) < 2:
            continue
        fs = float(info.sampling_rate_hz or (len(t) - 1) / (t[-1] - t[0]))
        out[info.placement] = (t, table.loc[:, list(c.ACC_MPS2)].to_numpy(float, copy=True),
                               table.loc[:, list(c.GYR_RADPS)].to_numpy(float, copy=True), fs)
    return out


def format_results(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per result: value, target, verdict and quality flags."""
    lines = []
    for row in results.values():
        name = CHECK_NAMES.get(row["test"], row["test"])
        side = f", {row['side']}" if row.get("side") else ""
        verdict = "meets the target" if row["passed"] else "below the target" \
            if row["test"] not in ("standing_pelvis_tilt", "standing_sway") else "above the limit"
        value = row["value"]
        text = f"{value:5.1f} deg" if np.isfinite(value) else "  not measured"
        line = f"  {name + side:<34} {text}   target {row['target_text']}: {verdict}"
        if row.get("note"):
            line += f" ({row['note']})"
        if row.get("injured_side"):
            diff = row.get("difference_to_other_side_deg")
            line += (f"  [injured side: {diff:+.1f} deg vs the other]" if diff is not None
                     and np.isfinite(diff) else "  [injured side]")
        if row.get("flags"):
            line += f"  [check: {', '.join(row['flags'])}]"
        lines.append(line)
    return lines


# ------------------------------------------------------------------------------------------
# prompting and recording
# ------------------------------------------------------------------------------------------
class Prompter:
    """Says the prompts and, when interactive, waits for the athlete.

    Parameters
    ----------
    say
        Prints one line.
    ask
        Reads one answer line (``input``); ``None`` makes the prompter non-interactive: every
        step runs for its scripted duration and no question is asked.
    """

    def __init__(self, say: Callable[[str], None], ask: Callable[[str], str] | None) -> None:
        self.say = say
        self.ask = ask

    @property
    def interactive(self) -> bool:
        """True when the athlete's answers are read."""
        return self.ask is not None

    def announce(self, step: MobilityStep) -> None:
        """Print the step (with its check's heading at step 0)."""
        if step.step == 0:
            title = step.check.replace("_", " ")
            self.say("")
            self.say(f"== {title}{' (' + step.side + ')' if step.side else ''} ==")
        self.say(f"  {step.text}  [{step.duration_s:g} s]")


async def _while_pumping(pump: Callable[[], Any], func: Callable[[], str]) -> str:
    """Run a blocking ``func`` (reading stdin) in a thread while the sensors keep streaming."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, func)
    while not future.done():
        await pump()
        await asyncio.sleep(0.02)
    return future.result()


async def run_script(
    steps: Sequence[MobilityStep],
    *,
    prompter: Prompter,
    journal: Callable[..., None],
    session_time_s: Callable[[], float],
    pump: Callable[[], Any],
    time_scale: float = 1.0,
    start_s: float = 0.0,
    scheduled: bool = False,
) -> None:
    """Prompt every step, journal its start on the session clock, and wait out its duration.

    Steps follow each other on a schedule (a step is due when the one before has run its
    duration), so the journal times do not drift from a simulated athlete's timeline; an
    interactive prompter moves the schedule to the moment the athlete pressed Enter.

    Parameters
    ----------
    steps
        The script.
    prompter
        Says the steps; interactive prompters wait for Enter at step 0 of each check and ask
        about the pull after the kneeling test.
    journal
        ``journal(kind, **fields)`` of the session writer.
    session_time_s
        The session clock now, seconds (virtual for simulated sensors).
    pump
        Coroutine function that moves received data along (called while waiting).
    time_scale
        How many session seconds pass per host second (simulated sensors run faster).
    start_s
        Session time at which the first step is due.
    scheduled
        The athlete follows the script's timeline from ``start_s`` whatever happens (a simulated
        athlete): the steps are journalled on that timeline even when the sensors took longer
        than ``start_s`` to connect. Otherwise a late start moves the schedule.
    """
    async def wait_until(due_s: float) -> None:
        while (left := due_s - session_time_s()) > 0:
            await pump()
            await asyncio.sleep(min(0.05, left / time_scale))

    ask = prompter.ask

    def read(question: str) -> Callable[[], str]:
        assert ask is not None
        return lambda: ask(question)

    due = start_s if scheduled else max(start_s, session_time_s())
    for st in steps:
        await wait_until(due)
        prompter.announce(st)
        if st.waits_for_athlete and prompter.interactive:
            await _while_pumping(pump, read("    press Enter when you are in position "))
            due = session_time_s()
        journal(STEP_KIND, time_s=due, check=st.check, side=st.side, step=st.step, text=st.text)
        due += st.duration_s
        if st.check == "kneeling_hip_flexor" and st.step == 3 and prompter.interactive:
            await wait_until(due)
            answer = await _while_pumping(
                pump, read("    Strong pull in the front of the thigh? [y/N] "))
            journal(ANSWER_KIND, time_s=session_time_s(), check=st.check, side=st.side,
                    answer="yes" if answer.strip().lower().startswith("y") else "no")
            due = session_time_s()
    await wait_until(due)


async def record_mobility(
    out: Path,
    steps: Sequence[MobilityStep],
    *,
    prompter: Prompter,
    sensors: Mapping[str, str] | None = None,
    simulated: Any = None,
    time_scale: float = 1.0,
    athlete: Mapping[str, Any] | None = None,
    report: Callable[[str], None] | None = None,
) -> Any:
    """Record a guided mobility session from real sensors or a simulated athlete.

    Parameters
    ----------
    out
        New session folder.
    steps
        The script (:func:`calibration.mobility.mobility_script`).
    prompter
        How the steps are said and waited for.
    sensors
        ``placement -> address or name`` of real sensors.
    simulated
        A :class:`~stridecue.simulator.mobility.MobilitySimulation` (instead of ``sensors``);
        its movement starts ``SIM_LEAD_IN_S`` before the first prompt.
    time_scale
        Virtual clock speed of the simulated radio.
    athlete
        Stored in the session (``name``).
    report
        Receives link events.

    Returns
    -------
    recordings.session.Session
        The finalised session (``kind = "mobility"``).
    """
    from firmware_bridge.client import SensorHub, simulated_hub
    from recordings.session import SensorInfo, SessionWriter
    from stridecue import live

    if simulated is not None:
        signals = live.simulated_signals(simulated)
        infos = [SensorInfo(placement=p, protocol=s.protocol, address=f"SIM-{p}",
                            sampling_rate_hz=float(s.sampling_rate_hz))
                 for p, s in signals.items()]
        source = "simulated"
    else:
        signals = {}
        infos = [SensorInfo(placement=p, protocol="stridecue", address=a)
                 for p, a in (sensors or {}).items()]
        source = "live"
    writer = SessionWriter(Path(out), sensors=infos, source=source, athlete=athlete,
                           extra_meta={"kind": "mobility"})
    seen: set[str] = set()

    class _SeenRecorder(live._Recorder):
        def on_raw(self, placement: str, arrival_ns: int, channel: str, data: bytes) -> None:
            super().on_raw(placement, arrival_ns, channel, data)
            if channel == "data":
                seen.add(placement)

    recorder = _SeenRecorder(writer, None if simulated is not None else time.monotonic_ns())

    async def session(hub: Any, clock_ns: Callable[[], int], lead_in_s: float) -> None:
        def now_s() -> float:
            return (clock_ns() - (recorder.start_ns or clock_ns())) * 1e-9

        async def pump() -> None:
            hub.get_nowait()  # the raw log already holds every notification
            while not hub.events.empty():
                event = hub.events.get_nowait()
                t_s = max(0.0, event.time_s - (recorder.start_ns or 0) * 1e-9)
                writer.journal("link", time_s=t_s, placement=event.placement,
                               state=event.state.value, detail=event.detail)
                if report is not None:
                    report(f"  {event.placement}: {event.state.value} {event.detail}".rstrip())

        while len(seen) < len(infos):
            await pump()
            await asyncio.sleep(0.01)
        await run_script(steps, prompter=prompter, journal=writer.journal, session_time_s=now_s,
                         pump=pump, time_scale=time_scale, start_s=lead_in_s,
                         scheduled=simulated is not None)

    try:
        if simulated is not None:
            async with simulated_hub(signals, time_scale=time_scale,
                                     on_raw=recorder.on_raw) as (hub, _sims):
                await session(hub, hub.clock_ns, SIM_LEAD_IN_S)
                await live._settle(hub, timeout_s=10.0, report=report)
        else:
            async with SensorHub(dict(sensors or {}), on_raw=recorder.on_raw) as hub:  # type: ignore[arg-type]
                await session(hub, time.monotonic_ns, 0.0)
    finally:
        writer.close_logs()
    if simulated is not None:
        simulated.write_truth(writer.path / "truth")
    return writer.finalize()


# ------------------------------------------------------------------------------------------
# storing and the command
# ------------------------------------------------------------------------------------------
def store_results(session: Any, results: Mapping[str, Any], calibration: Calibration,
                  *, athlete: str | None, history: str | None,
                  say: Callable[[str], None]) -> None:
    """Write the results (and calibration) into the session metadata and the athlete history."""
    session.meta["mobility"] = dict(results)
    session.meta["calibration"] = calibration.to_dict()
    session.meta["kind"] = "mobility"
    session.save_meta()
    if not athlete:
        say("  (not added to a history: pass --athlete NAME)")
        return
    from stridecue.history import HistoryDB

    with (HistoryDB(Path(history)) if history else HistoryDB()) as db:
        db.add_mobility(athlete, session.session_id, session.meta.get("created_utc"), results)
        say(f"Added to {athlete}'s history ({db.path}) as {session.session_id}")
        previous = db.mobility(athlete)
        previous = previous[previous["session_id"] != session.session_id]
        if len(previous):
            from stridecue.history import format_mobility

            say("Earlier mobility checks:")
            say(format_mobility(previous))


def cmd_mobility(args: argparse.Namespace, *, ask: Callable[[str], str] | None = input,
                 say: Callable[[str], None] = print) -> int:
    """Run (or re-measure) the guided mobility checks."""
    from recordings.session import open_session
    from stridecue.athlete import AthleteProfile, load_profile

    profile = load_profile(args.profile) if args.profile else AthleteProfile.default()
    athlete = dict(profile.athlete)
    if args.athlete:
        athlete["name"] = args.athlete
    injured = athlete.get("injured_side")
    first_side = (c.RIGHT if injured == c.LEFT else c.LEFT) if injured else c.LEFT  # healthy first
    if args.measure:
        session = open_session(args.measure)
    else:
        if not args.out:
            raise InputError("mobility needs --out SESSION (a new folder), or --measure SESSION")
        prompter = Prompter(say, None if (args.yes or args.simulate) else ask)
        if args.simulate:
            from stridecue.simulator.mobility import simulate_mobility

            placements = [c.SACRUM, *[f"thigh_{s}" for s in args.sim_thighs]]
            steps = mobility_script(placements, first_side=first_side)
            sim = simulate_mobility(steps, placements=placements, seed=args.seed,
                                    lead_in_s=SIM_LEAD_IN_S)
            say(f"Simulated athlete with {', '.join(placements)} over Bluetooth (bumble + bleak), "
                f"{sim.duration_s:.0f} s at {args.speed:g}x real time.")
            session = asyncio.run(record_mobility(Path(args.out), steps, prompter=prompter,
                                                  simulated=sim, time_scale=args.speed,
                                                  athlete=athlete))
        else:
            given = {c.SACRUM: args.sacrum, c.THIGH_LEFT: args.thigh_left,
                     c.THIGH_RIGHT: args.thigh_right}
            sensors = {**profile.sensors, **{k: v for k, v in given.items() if v}}
            if not sensors:
                raise InputError("mobility needs --sacrum and/or --thigh-left/--thigh-right "
                                 "ADDRESS|NAME, a --profile with [sensors], or --simulate")
            steps = mobility_script(list(sensors), first_side=first_side)
            say(f"Mobility checks with {', '.join(sensors)}: about "
                f"{sum(s.duration_s for s in steps) / 60:.0f} min. Follow the prompts.")
            with contextlib.suppress(KeyboardInterrupt):
                session = asyncio.run(record_mobility(Path(args.out), steps, prompter=prompter,
                                                      sensors=sensors, athlete=athlete))
            session = open_session(Path(args.out))
        say(f"Saved {session.path}")
    # a profile given now wins; else what the session was recorded with
    targets = profile.mobility_targets or session.meta.get("mobility_targets") or {}
    injured = injured or session.athlete.get("injured_side")
    results, cal = measure_mobility(session_signals(session), session.journal(), targets=targets,
                                    injured_side=injured)
    say("")
    say("Mobility checks" + (f" (injured side: {injured})" if injured else "") + ":")
    for line in format_results(results):
        say(line)
    session.meta["mobility_targets"] = dict(targets)
    athlete_name = athlete.get("name") or session.athlete.get("name")
    store_results(session, results, cal, athlete=athlete_name, history=args.history, say=say)
    return 0


def add_parser(sub: Any) -> None:
    """Register the ``mobility`` subcommand on the CLI's subparsers."""
    p = sub.add_parser(
        "mobility",
        help="guided mobility checks (straight-leg raise, kneeling hip flexor, standing posture)",
        description="Walks you through a standing calibration and the mobility checks of the "
        "rehab articles while recording the sensors, then measures each check against its "
        "target and stores the results with the session and the athlete's history.",
    )
    p.add_argument("--out", metavar="SESSION", help="new session folder to record into")
    p.add_argument("--measure", metavar="SESSION", help="measure a recorded mobility session again")
    p.add_argument("--profile", metavar="TOML", help="athlete profile: name, injured side (tested "
                   "second), sensors, [mobility] targets")
    p.add_argument("--athlete", help="athlete name (results go to the athlete's history)")
    p.add_argument("--history", metavar="DB", default=None, help="history database file")
    p.add_argument("--sacrum", metavar="ADDR|NAME", help="the sensor on the sacrum")
    p.add_argument("--thigh-left", metavar="ADDR|NAME", help="the sensor on the left thigh")
    p.add_argument("--thigh-right", metavar="ADDR|NAME", help="the sensor on the right thigh")
    p.add_argument("--yes", action="store_true",
                   help="do not wait for Enter or ask questions: every step runs for its time")
    g = p.add_argument_group("simulation (no hardware)")
    g.add_argument("--simulate", action="store_true",
                   help="a simulated athlete over an emulated Bluetooth link (implies --yes)")
    g.add_argument("--speed", type=float, default=1.0,
                   help="run the simulated clock this many times faster")
    g.add_argument("--seed", type=int, default=1, help="seed of the simulated athlete")
    g.add_argument("--sim-thighs", nargs="*", choices=["left", "right"], default=["left", "right"],
                   help="simulated thigh sensors (default: both)")
    p.set_defaults(func=cmd_mobility)
