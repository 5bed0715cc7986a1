"""``stridecue run``: a live session that records, analyses and cues the runner within a stride.

The path of every notification (real sensors, or simulated ones over bumble and the unmodified
``BleakClient``)::

    BLE notification -> SensorLink queue -> on_raw:  1. raw log (nothing is lost, even on a crash)
                                                     2. RawDecoder (the ingest replay uses)
                                                     3. StreamAnalyser.add + advance
                                                     4. new strides -> live_strides.jsonl
                                                     5. cues -> journal + terminal/audio/haptic/JSON

Because the live analysis starts from the raw log's records (times relative to the session
start), ``stridecue replay`` of the session feeds the same records to the same code and gets the
same strides and cues, bit for bit (:func:`replay_live`). The hub's own ingest still runs beside
it for link bookkeeping (gaps, backfill requests, reboots).

At the end (duration, the simulated run finished, or Ctrl-C) the session is finalised (the raw
log decoded with the whole-session clock fit) and analysed in batch for the report; the report
shows the cues as they were given live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any


from firmware_bridge.client import LinkState, SensorHub, simulated_hub
from stridecue.live import CHANNELS, _faults
from gait.cues import Cue
from gait.stream import PipelineSettings, StreamAnalyser
from recordings.decode import RawDecoder
from recordings.rawlog import RawRecord
from recordings.session import SensorInfo, Session, SessionWriter, open_session
from stridecue import constants as c
from stridecue.athlete import AthleteProfile
from stridecue.cue_outputs import (
    AudioOutput,
    CueOutput,
    HapticOutput,
    JsonLinesOutput,
    Metronome,
    TerminalOutput,
    json_value,
)
from stridecue.errors import SessionError

logger = logging.getLogger(__name__)

LIVE_STRIDES_FILE = "live_strides.jsonl"
#: Stride numbers stored with every cue in the journal.
CUE_STRIDE_KEYS = (c.STRIDE_START_S, c.STRIDE_END_S, c.SIDE, c.CADENCE_SPM, c.CONTACT_TIME_S,
                   "thigh_angle_ic_deg", "pelvis_tilt_mean_deg", "pelvis_rotation_range_deg",
                   "hip_extension_peak_asymmetry_deg")


@dataclass
class RunOptions:
    """What ``stridecue run`` does."""

    out: Path
    profile: AthleteProfile
    simulate: bool = False
    seed: int = 7
    time_scale: float = 1.0
    duration_s: float | None = None
    outputs: tuple[str, ...] | None = None  # None: the profile's
    jsonl: Path | str | None = None
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    backfill: bool = True
    view: bool = True
    settings: PipelineSettings = field(default_factory=PipelineSettings)


def live_config(profile: AthleteProfile, *, sampling_rate_hz: float,
                calibration: Mapping[str, Any] | None) -> dict[str, Any]:
    """Everything the live analysis depends on, stored in ``session.json`` under ``live``."""
    return {
        "sampling_rate_hz": float(sampling_rate_hz),
        "calibration": dict(calibration) if calibration else None,
        "cue_rules": [asdict(r) for r in profile.cue_rules()],
        "cue_baseline": dict(profile.baseline) or None,
        "cue_min_gap_s": profile.min_gap_s,
        "language": profile.language,
    }


def analyser_from_config(live: Mapping[str, Any], *, athlete: Mapping[str, Any],
                         placements: list[str], retain: bool,
                         settings: PipelineSettings | None = None,
                         sampling_rate_hz: float | None = None,
                         calibration: Mapping[str, Any] | None = None,
                         sensor_options: Mapping[str, Any] | None = None) -> StreamAnalyser:
    """The live analyser of a session, rebuilt from its stored ``live`` configuration.

    A session recorded without ``run`` has none (``{}``): default rules, no baseline; then
    ``sampling_rate_hz``, ``calibration`` and ``sensor_options`` (the
    :class:`~gait.stream.StreamAnalyser` options its sensors' descriptions give, see
    :func:`stridecue.analysis.sensor_options`) say what the session knows.
    """
    from stridecue.analysis import cue_rules_of

    settings = settings or PipelineSettings()
    if live.get("cue_min_gap_s") is not None:
        settings = replace(settings, cue_min_gap_s=float(live["cue_min_gap_s"]))
    return StreamAnalyser(
        sampling_rate_hz=float(sampling_rate_hz or live["sampling_rate_hz"]), placements=placements,
        athlete=athlete, calibration=calibration or live.get("calibration"), settings=settings,
        cue_rules=cue_rules_of(live) if live.get("cue_rules") else None,
        cue_baseline=live.get("cue_baseline"), retain=retain, **(sensor_options or {}),
    )


class LiveAnalysis:
    """Raw records in (live or replayed), the stream analysis, strides and cues out.

    Parameters
    ----------
    analyser
        The :class:`StreamAnalyser`.
    sensors
        The session's sensors (for the :class:`RawDecoder`).
    outputs
        Where cues go.
    strides_sink, cue_sink
        Called with every new stride row / (cue, its stride) (the session files).
    """

    def __init__(self, analyser: StreamAnalyser | Callable[[float], StreamAnalyser],
                 sensors: list[SensorInfo], *,
                 outputs: list[CueOutput] | None = None,
                 strides_sink: Callable[[dict[str, Any]], None] | None = None,
                 cue_sink: Callable[[Cue, dict[str, Any]], None] | None = None) -> None:
        # An analyser, or a factory called with the sacrum's nominal rate at its first samples.
        self._factory = None if isinstance(analyser, StreamAnalyser) else analyser
        self.analyser: StreamAnalyser | None = analyser if isinstance(analyser, StreamAnalyser) else None
        self.decoder = RawDecoder(sensors, keep_clock_pairs=False)  # memory flat over hours
        self.outputs = outputs if outputs is not None else []
        self.strides_sink = strides_sink
        self.cue_sink = cue_sink
        self.strides = 0
        self.cues: list[Cue] = []
        self.latencies_s: list[float] = []  # record in -> cue out, per cue
        self.busy_s = 0.0
        self.last_running_stride_s: float | None = None  # time.monotonic() of the newest one
        self.failed: str | None = None
        self._recent: dict[int, dict[str, Any]] = {}

    def feed(self, record: RawRecord) -> list[Cue]:
        """One raw record through decode, analysis and the outputs; returns the cues given."""
        if self.failed:
            return []
        start = time.perf_counter()
        try:
            blocks = self.decoder.feed(record)
            if blocks and self.analyser is None:
                rate = self._nominal_rate_hz(c.SACRUM)
                if rate is None:
                    return []  # nothing from the sacrum yet: it starts the session clock
                assert self._factory is not None
                self.analyser = self._factory(rate)
            for placement, block in blocks:
                self.analyser.add(placement, block.time_s, block.acc_mps2, block.gyr_radps, block.mag_ut)
            rows, cues = self.analyser.advance() if blocks else ([], [])
            self._deliver(rows, cues, start)
        except Exception as exc:  # a bug must not stop the recording: the raw log is complete
            self.failed = f"{type(exc).__name__}: {exc}"
            logger.exception("live analysis stopped (the recording goes on)")
            return []
        finally:
            self.busy_s += time.perf_counter() - start
        return cues

    def finish(self) -> list[Cue]:
        """End of stream: the decoder's pending gaps are lost, the analyser decides the rest."""
        if self.failed or self.analyser is None:
            return []
        start = time.perf_counter()
        self.decoder.finish()
        rows, cues = self.analyser.finish()
        self._deliver(rows, cues, start)
        return cues

    def _nominal_rate_hz(self, placement: str) -> float | None:
        for index, sensor in self.decoder.sensors.items():
            if sensor.placement != placement:
                continue
            if sensor.sampling_rate_hz:
                return float(sensor.sampling_rate_hz)
            ingest = self.decoder.ingests.get(index)
            config = getattr(ingest, "config", None)
            if config is not None and getattr(config, "sampling_rate_hz", None):
                return float(config.sampling_rate_hz)
            samples = getattr(ingest, "nominal_rate_hz", None)
            return float(samples) if samples else None
        return None

    def _deliver(self, rows: list[dict[str, Any]], cues: list[Cue], start: float) -> None:
        for row in rows:
            if row.get("activity") == c.RUNNING and not row.get("gap_crossed"):
                self.last_running_stride_s = time.monotonic()
            self._recent[self.strides] = row
            self.strides += 1
            if self.strides_sink is not None:
                self.strides_sink(row)
        for k in [k for k in self._recent if k < self.strides - 16]:
            del self._recent[k]
        for cue in cues:
            stride = self._recent.get(cue.stride_index, {})
            for out in self.outputs:
                out.emit(cue, stride)
            if self.cue_sink is not None:
                self.cue_sink(cue, stride)
            self.cues.append(cue)
            self.latencies_s.append(time.perf_counter() - start)


def _json_row(row: Mapping[str, Any]) -> str:
    return json.dumps({k: json_value(v) for k, v in row.items()}, allow_nan=False)


def read_live_strides(session: Session) -> list[dict[str, Any]]:
    """The strides the live analysis produced (from ``live_strides.jsonl``)."""
    path = session.path / LIVE_STRIDES_FILE
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    return rows


def replay_live(session: Session) -> tuple[list[dict[str, Any]], list[Cue]]:
    """Feed a live session's raw log to its live analysis again: its strides and cues."""
    live = session.meta.get("live")
    if not live:
        raise SessionError(f"{session.path} was not recorded by `stridecue run`: nothing to compare; "
                           "use `stridecue replay` without --check-live")
    analyser = analyser_from_config(live, athlete=session.athlete,
                                    placements=session.placements, retain=False)
    rows: list[dict[str, Any]] = []
    analysis = LiveAnalysis(analyser, session.sensors, strides_sink=rows.append)
    for record in session.raw_records():
        analysis.feed(record)
    analysis.finish()
    return rows, analysis.cues


def compare_with_live(session: Session) -> dict[str, Any]:
    """Replay a live session and compare strides and cues with what live produced."""
    rows, cues = replay_live(session)
    live_rows = read_live_strides(session)
    replay_rows = [json.loads(_json_row(r)) for r in rows]
    recorded = session.cues
    live_cues = recorded.to_dict("records") if len(recorded) else []
    replay_cues = [json.loads(json.dumps(cue.as_dict())) for cue in cues]
    live_cue_core = [{k: e[k] for k in replay_cues[0]} for e in live_cues] if replay_cues else []
    return {
        "strides_live": len(live_rows),
        "strides_replay": len(replay_rows),
        "strides_identical": live_rows == replay_rows,
        "cues_live": len(live_cues),
        "cues_replay": len(replay_cues),
        "cues_identical": live_cue_core == replay_cues and len(live_cues) == len(replay_cues),
    }


class LiveView:
    """A status line: time, laps, per-side metrics, link states (a TTY line refreshed in place)."""

    def __init__(self, write: Callable[[str], None] | None = None, *, tty: bool | None = None,
                 every_s: float = 1.0) -> None:
        self.tty = sys.stdout.isatty() if tty is None else tty
        self.write = write or (lambda s: (sys.stdout.write(s), sys.stdout.flush()))
        self.every_s = every_s if self.tty else 10.0
        self._last = -math.inf
        self.links: dict[str, str] = {}

    def line(self, analyser: StreamAnalyser, laps: int) -> str:
        """The status text."""
        parts = [f"{analyser.decided_time_s - (analyser.origin_s or 0):6.0f} s", f"lap {laps}"]
        for side, m in sorted(analyser.latest_by_side().items()):
            if side not in (c.LEFT, c.RIGHT):
                continue
            bits = [f"{m[c.CADENCE_SPM]:.0f} spm"]
            if math.isfinite(m["thigh_angle_ic_deg"]):
                bits.append(f"thigh@IC {m['thigh_angle_ic_deg']:.0f}°")
            if math.isfinite(m["pelvis_tilt_mean_deg"]):
                bits.append(f"tilt {m['pelvis_tilt_mean_deg']:.0f}°")
            if math.isfinite(m[c.CONTACT_TIME_S]):
                bits.append(f"GCT {1000 * m[c.CONTACT_TIME_S]:.0f} ms")
            parts.append(f"{side[0].upper()}: " + ", ".join(bits))
        parts.append(" ".join(f"{p}:{s}" for p, s in self.links.items()))
        return " | ".join(parts)

    def update(self, analyser: StreamAnalyser, laps: int, *, now_s: float) -> None:
        """Refresh if due."""
        if now_s - self._last < self.every_s or analyser.origin_s is None:
            return
        self._last = now_s
        text = self.line(analyser, laps)
        self.write(f"\r\x1b[K{text}" if self.tty else text + "\n")

    def above(self, text: str) -> None:
        """Print a line (a cue) without garbling the status line."""
        self.write(("\r\x1b[K" if self.tty else "") + text + "\n")
        self._last = -math.inf


async def run_live(options: RunOptions, *, report: Callable[[str], None] = print,
                   stop: asyncio.Event | None = None) -> Session:
    """Run a live session (see module docs); returns the finalised session."""
    stop = stop or asyncio.Event()
    profile = options.profile
    outputs_wanted = options.outputs or profile.outputs
    calibration = _profile_calibration(profile)
    if options.simulate:
        from stridecue.live import simulated_signals
        from stridecue.simulator import overstride_plan, simulate

        sim = simulate(overstride_plan(), seed=options.seed)
        signals = simulated_signals(sim)
        sensors = [SensorInfo(placement=p, protocol=s.protocol, address=f"SIM-{p}",
                              sampling_rate_hz=float(s.sampling_rate_hz)) for p, s in signals.items()]
    else:
        if c.SACRUM not in profile.sensors:
            raise SessionError("no sacrum sensor: give --sacrum ADDR|NAME or [sensors] sacrum in the profile")
        sensors = [SensorInfo(placement=p, protocol="stridecue", address=a) for p, a in profile.sensors.items()]
    live = live_config(profile, sampling_rate_hz=math.nan, calibration=calibration)
    writer = SessionWriter(options.out, sensors=sensors, source="simulated" if options.simulate else "live",
                           athlete=profile.athlete, extra_meta={"live": live, "kind": "run"})
    if calibration:
        writer.update_meta(calibration=calibration)

    def make_analyser(rate_hz: float) -> StreamAnalyser:
        live["sampling_rate_hz"] = rate_hz
        writer.update_meta(live=live)
        return analyser_from_config(live, athlete=profile.athlete,
                                    placements=[s.placement for s in sensors], retain=False,
                                    settings=options.settings)
    view = LiveView() if options.view else None
    say = view.above if view is not None else report
    outputs: list[CueOutput] = []
    if "terminal" in outputs_wanted:
        outputs.append(TerminalOutput(say))
    if "audio" in outputs_wanted:
        outputs.append(AudioOutput(profile.language, write=say))
    metronome = _metronome(profile, outputs, options, say)
    if "jsonl" in outputs_wanted or options.jsonl:
        outputs.append(JsonLinesOutput(options.jsonl or (writer.path / "cues.jsonl")))
    strides_file = open(writer.path / LIVE_STRIDES_FILE, "a", encoding="utf-8")  # noqa: SIM115

    def write_stride(row: dict[str, Any]) -> None:
        strides_file.write(_json_row(row) + "\n")

    def write_cue(cue: Cue, stride: Mapping[str, Any]) -> None:
        writer.journal("cue", **cue.as_dict(),
                       stride={k: stride.get(k) for k in CUE_STRIDE_KEYS if k in stride})

    analysis = LiveAnalysis(make_analyser, sensors, outputs=outputs, strides_sink=write_stride,
                            cue_sink=write_cue)
    start_ns: list[int] = []

    def on_raw(placement: str, arrival_ns: int, channel: str, data: bytes) -> None:
        if not start_ns:
            start_ns.append(arrival_ns)
        rel = max(0, arrival_ns - start_ns[0])
        writer.append_raw(rel, placement, CHANNELS[channel], data)
        analysis.feed(RawRecord(rel, writer.sensor_index(placement), CHANNELS[channel], data))

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    laps: list[float] = []
    if sys.stdin.isatty():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_reader(sys.stdin, lambda: _key_lap(sys.stdin, laps, writer, analysis))
    started = time.monotonic()
    haptic: HapticOutput | None = None
    ticking = None
    if metronome is not None:
        ticking = asyncio.create_task(_tick(metronome, analysis, writer, stop))
    try:
        if options.simulate:
            faults = {p: _faults(f) for p, f in options.faults.items()}
            async with simulated_hub(signals, faults=faults, time_scale=options.time_scale,
                                     backfill=options.backfill, on_raw=on_raw,
                                     keep_clock_pairs=False) as (hub, sims):
                haptic = _haptic(hub, outputs, outputs_wanted, profile)
                await _watch(hub, writer, view, analysis, laps, start_ns, say, stop,
                             until=lambda: all(s.done.is_set() for s in sims.values())
                             or _over(options, started))
                if haptic is not None:
                    await haptic.drain()
                    writer.update_meta(haptic={"sent": haptic.sent, "failed": haptic.failed,
                                               "received": {p: len(s.stats.buzzes) for p, s in sims.items()}})
        else:
            from stridecue.live import frozen_heap

            async with SensorHub(profile.sensors, on_raw=on_raw, backfill=options.backfill,
                                 keep_clock_pairs=False) as hub:  # the raw log has them
                haptic = _haptic(hub, outputs, outputs_wanted, profile)
                with frozen_heap():  # no full garbage-collector pass stalls a notification
                    await _watch(hub, writer, view, analysis, laps, start_ns, say, stop,
                                 until=lambda: _over(options, started))
                if haptic is not None:
                    await haptic.drain()
    finally:
        if ticking is not None:
            ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticking
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_reader(sys.stdin)
        analysis.finish()
        strides_file.close()
        for out in outputs:
            out.close()
        if view is not None and view.tty:
            view.write("\n")
        if metronome is not None:
            writer.update_meta(metronome={"ticks": metronome.ticks,
                                          "increase_percent": metronome.increase_percent,
                                          "target_spm": json_value(metronome.target_spm)})
        writer.update_meta(live={**live, "strides": analysis.strides, "cues": len(analysis.cues),
                                 "analysis_failed": analysis.failed,
                                 "busy_s": analysis.busy_s})
        writer.close_logs()
    return writer.finalize()


def _metronome(profile: AthleteProfile, outputs: list[CueOutput], options: RunOptions,
               say: Callable[[str], None]) -> Metronome | None:
    """The metronome the profile asks for, ticking through the audio output (None: off)."""
    if not profile.metronome:
        return None
    audio = next((o for o in outputs if isinstance(o, AudioOutput)), None)
    if audio is None:  # cues may go elsewhere; the ticks need sound
        audio = AudioOutput(profile.language, write=say)
        outputs.append(_TicksOnly(audio))
    if audio.mode == "text":
        say(f"metronome off: {audio.reason}")
        return None
    return Metronome(audio.tick, increase_percent=profile.cadence_increase_percent,
                     time_scale=options.time_scale)


class _TicksOnly:
    """An audio output that plays the metronome only (cues were not asked for as audio)."""

    def __init__(self, audio: AudioOutput) -> None:
        self.audio = audio

    def emit(self, cue: Cue, stride: Mapping[str, Any]) -> None:  # noqa: D102
        return None

    def close(self) -> None:  # noqa: D102
        self.audio.close()


async def _tick(metronome: Metronome, analysis: LiveAnalysis, writer: SessionWriter,
                stop: asyncio.Event) -> None:
    """Play the metronome while the session runs; journal when it starts and stops."""
    on = False
    while not stop.is_set():
        an = analysis.analyser
        base = an.engine.baseline.get(c.CADENCE_SPM) if an is not None else None
        delay = metronome.step(time.monotonic(), baseline_cadence_spm=base,
                               last_running_stride_s=analysis.last_running_stride_s)
        if metronome.on != on and an is not None:
            on = metronome.on
            writer.journal("metronome", time_s=an.decided_time_s, state="on" if on else "off",
                           target_spm=json_value(metronome.target_spm))
        await asyncio.sleep(delay)


def _over(options: RunOptions, started: float) -> bool:
    """The requested duration (session seconds) has passed (simulated runs: on the fast clock)."""
    if options.duration_s is None:
        return False
    return (time.monotonic() - started) * options.time_scale >= options.duration_s


def _haptic(hub: SensorHub, outputs: list[CueOutput], wanted: tuple[str, ...],
            profile: AthleteProfile) -> HapticOutput | None:
    if "haptic" not in wanted or profile.haptic_sensor not in hub.links:
        return None
    out = HapticOutput(hub.buzz, profile.haptic_sensor)
    outputs.append(out)
    return out


def _key_lap(stream: Any, laps: list[float], writer: SessionWriter, analysis: LiveAnalysis) -> None:
    stream.readline()
    if analysis.analyser is None:
        return
    t = analysis.analyser.decided_time_s
    if math.isfinite(t):
        laps.append(t)
        writer.journal("lap", time_s=t, source="key")


async def _watch(hub: SensorHub, writer: SessionWriter, view: LiveView | None, analysis: LiveAnalysis,
                 laps: list[float], start_ns: list[int], say: Callable[[str], None],
                 stop: asyncio.Event, *, until: Callable[[], bool]) -> None:
    """Link events to the journal and the view; the status line; until stopped."""
    while not stop.is_set() and not until():
        while not hub.events.empty():
            event = hub.events.get_nowait()
            t_s = max(0.0, event.time_s - (start_ns[0] if start_ns else 0) * 1e-9)
            writer.journal("link", time_s=t_s, placement=event.placement,
                           state=event.state.value, detail=event.detail)
            if view is not None:
                view.links[event.placement] = event.state.value
            if event.state in (LinkState.LOST, LinkState.RECONNECTING, LinkState.REBOOTED):
                say(f"{t_s:8.1f} s  {event.placement}: {event.state.value} {event.detail}".rstrip())
        if view is not None and analysis.analyser is not None:
            view.update(analysis.analyser, len(laps) or len(analysis.analyser.taps_s),
                        now_s=time.monotonic())
        await asyncio.sleep(0.1)


def _profile_calibration(profile: AthleteProfile) -> dict[str, Any] | None:
    if profile.calibration_from is None:
        return None
    session = open_session(profile.calibration_from)
    cal = session.meta.get("calibration") or (session.meta.get("live") or {}).get("calibration")
    if not cal:
        raise SessionError(f"{profile.calibration_from} holds no stored calibration; "
                           "remove [calibration] from the profile to calibrate at the start of the run")
    return dict(cal)
