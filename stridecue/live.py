"""Live wiring: Bluetooth sensors (real, or simulated over bumble) -> session on disk.

Every notification goes to the session's raw log first (``SensorHub``'s ``on_raw`` hook), then
through the same ``SensorIngest`` that replay uses. Link events go to the session journal. When the
recording ends (duration reached, the simulated sensors finished, or Ctrl-C) the session is
finalised: the raw log is decoded into the sample tables with the whole-session clock fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.client import SensorHub, SimulatedSignal, simulated_hub
from firmware_bridge.sim_sensor import SensorFaults
from recordings.rawlog import Channel
from recordings.session import SensorInfo, Session, SessionWriter

logger = logging.getLogger(__name__)

CHANNELS = {"data": Channel.DATA, "status": Channel.STATUS, "config": Channel.CONFIG}


@dataclass
class RecordOptions:
    """What to record and how."""

    sensors: dict[str, str]  # placement -> address or advertised name
    out: Path
    duration_s: float | None = None
    backfill: bool = True
    athlete: dict[str, Any] = field(default_factory=dict)
    protocols: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects that exist now out of the garbage collector's full passes meanwhile.

    A full pass walks every container object of the process (the imported libraries alone are
    hundreds of thousands) and stalls the event loop for tens of milliseconds (up to 0.1 s on
    this machine, ``bench/results/bridge.md``) once in a while: longer than a notification
    should wait. Frozen objects are still freed by reference
    counting; the pass only skips them. Enter once streaming has started.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Recorder:
    """Writes every notification to the raw log, relative to the session start."""

    def __init__(self, writer: SessionWriter, start_ns: int | None = None) -> None:
        self.writer = writer
        self.start_ns = start_ns  # None: the first notification starts the session clock
        self.notifications = 0

    def on_raw(self, placement: str, arrival_ns: int, channel: str, data: bytes) -> None:
        if self.start_ns is None:
            self.start_ns = arrival_ns
        self.writer.append_raw(max(0, arrival_ns - self.start_ns), placement, CHANNELS[channel], data)
        self.notifications += 1


async def _pump(hub: SensorHub, recorder: _Recorder, *, clock_ns: Callable[[], int],
                until: Callable[[], bool], report: Callable[[str], None] | None) -> int:
    """Consume blocks and link events until ``until()``; returns samples received."""
    samples = 0
    while not until():
        for _placement, block in hub.get_nowait():
            samples += block.n_samples
        while not hub.events.empty():
            event = hub.events.get_nowait()
            t_s = max(0.0, event.time_s - (recorder.start_ns or 0) * 1e-9)
            recorder.writer.journal("link", time_s=t_s, placement=event.placement,
                                    state=event.state.value, detail=event.detail)
            if report is not None:
                report(f"  {t_s:7.1f} s  {event.placement}: {event.state.value} {event.detail}".rstrip())
        await asyncio.sleep(0.05)
    return samples


async def _settle(hub: SensorHub, *, timeout_s: float,
                  report: Callable[[str], None] | None = None) -> None:
    """Wait until every streaming link is caught up (queue empty, no pending gap) or timeout."""
    from firmware_bridge.client import LinkState

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    await asyncio.sleep(0.05)
    for link in hub.links.values():
        with contextlib.suppress(TimeoutError):
            await link.drain(timeout_s=max(0.1, deadline - loop.time()))
        await link.sync_tail()
    while loop.time() < deadline:
        waiting = [link for link in hub.links.values()
                   if link.state in (LinkState.STREAMING, LinkState.CONNECTING,
                                     LinkState.RECONNECTING, LinkState.LOST)
                   and not link.caught_up]
        if not waiting:
            await asyncio.sleep(0.05)  # answers to the tail requests still in flight
            if all(link.caught_up for link in hub.links.values()):
                return
            continue
        for link in waiting:
            await link.retry_backfill()
        await asyncio.sleep(0.02)
    pending = [p for p, link in hub.links.items() if not link.caught_up]
    if pending and report is not None:
        report(f"  gave up waiting for backfill of {', '.join(pending)} after {timeout_s:g} s")


async def record_real(options: RecordOptions, *, report: Callable[[str], None] | None = None,
                      stop: asyncio.Event | None = None) -> Session:
    """Record real sensors (platform Bluetooth backend) until the duration or ``stop``."""
    stop = stop or asyncio.Event()
    sensors = [
        SensorInfo(placement=p, protocol=options.protocols.get(p, "stridecue"), address=a)
        for p, a in options.sensors.items()
    ]
    writer = SessionWriter(options.out, sensors=sensors, source="live", athlete=options.athlete)
    start_ns = time.monotonic_ns()
    recorder = _Recorder(writer, start_ns)
    deadline = None if options.duration_s is None else time.monotonic() + options.duration_s
    try:
        async with SensorHub(options.sensors, protocols=options.protocols,  # type: ignore[arg-type]
                             on_raw=recorder.on_raw, backfill=options.backfill,
                             keep_clock_pairs=False) as hub:  # the raw log has them
            # a scanned name or the sensor's GATT table may have told another protocol than
            # assumed: the session must decode each sensor's raw records with the right one
            for sensor in sensors:
                link = hub.links[sensor.placement]
                sensor.protocol = link.protocol
            writer.update_meta(sensors=[asdict(s) for s in sensors])
            with frozen_heap():
                await _pump(hub, recorder, clock_ns=time.monotonic_ns,
                            until=lambda: stop.is_set() or (
                                deadline is not None and time.monotonic() >= deadline),
                            report=report)
    finally:
        writer.close_logs()
    return writer.finalize()


def _faults(spec: Mapping[str, Any]) -> SensorFaults:
    return SensorFaults(
        loss_fraction=float(spec.get("loss_fraction", 0.0)),
        link_drops=tuple(tuple(d) for d in spec.get("link_drops", ())),
        refuse_connections=int(spec.get("refuse_connections", 0)),
        reboot_at_s=tuple(spec.get("reboot_at_s", ())),
        garbage_fraction=float(spec.get("garbage_fraction", 0.0)),
        burst_period_s=float(spec.get("burst_period_s", 0.0)),
        burst_hold_s=float(spec.get("burst_hold_s", 0.0)),
        seed=int(spec.get("seed", 0)),
    )


async def record_simulated(
    out: Path,
    *,
    signals: Mapping[str, SimulatedSignal],
    faults: Mapping[str, Mapping[str, Any]] | None = None,
    backfill: bool = True,
    time_scale: float = 1.0,
    athlete: Mapping[str, Any] | None = None,
    report: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    truth_writer: Callable[[Path], None] | None = None,
    settle_timeout_s: float = 10.0,
    on_sensors: Callable[[Mapping[str, Any], int], None] | None = None,
) -> Session:
    """Record simulated sensors over the real bleak client and a bumble GATT link.

    ``time_scale`` > 1 runs the virtual radio clock faster than real time (tests, benchmarks).
    When the sensors have taken their last sample the recorder waits (up to
    ``settle_timeout_s`` host seconds) until every link has delivered its queue, asked for its
    lost tail and had its pending gaps filled or given up, so the end of the recording does not
    cut off backfill. ``on_sensors(sensors, start_ns)`` receives the simulated sensor objects
    (their ``true_time_s()`` is on the virtual clock) and the virtual time of the session's
    ``time_s = 0``, for checking alignment against the truth.
    """
    stop = stop or asyncio.Event()
    sensors = [
        SensorInfo(placement=p, protocol=s.protocol, address=f"SIM-{p}",
                   sampling_rate_hz=float(s.sampling_rate_hz))
        for p, s in signals.items()
    ]
    writer = SessionWriter(Path(out), sensors=sensors, source="simulated", athlete=athlete)
    fault_objs = {p: _faults(f) for p, f in (faults or {}).items()}
    recorder = _Recorder(writer)
    try:
        async with simulated_hub(signals, faults=fault_objs, time_scale=time_scale,
                                 backfill=backfill, on_raw=recorder.on_raw,
                                 keep_clock_pairs=False) as (hub, sims):
            await _pump(
                hub, recorder, clock_ns=hub.clock_ns,
                until=lambda: stop.is_set() or all(s.done.is_set() for s in sims.values()),
                report=report,
            )
            await _settle(hub, timeout_s=settle_timeout_s, report=report)
            # link events of the settling phase
            await _pump(hub, recorder, clock_ns=hub.clock_ns, until=lambda: True, report=report)
            if on_sensors is not None:
                on_sensors(sims, recorder.start_ns or 0)
    finally:
        writer.close_logs()
    if truth_writer is not None:
        truth_writer(writer.path / "truth")
    return writer.finalize()


def simulated_setup(
    *,
    duration_s: float | None,
    drift_ppm: tuple[float, float] = (80.0, -60.0),
    seed: int = 1,
    faults: Mapping[str, Any] | None = None,
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The simulated run and per-sensor faults of ``stridecue record --simulate``.

    Parameters
    ----------
    duration_s
        Session length: 15 s standing, 10 s walking, then running on a track (at least 10 s);
        None gives the demo session.
    drift_ppm
        Sacrum and left-thigh crystal errors (positive: the sensor's clock runs fast).
    seed
        Seed of the runner simulation; sensor k's faults use ``seed + k``.
    faults
        :class:`~firmware_bridge.sim_sensor.SensorFaults` fields shared by the sensors.

    Returns
    -------
    tuple
        ``(sim, faults)``: the simulator output (:func:`simulated_signals` turns it into
        sensor signals) and ``{placement: fault fields}`` for :func:`record_simulated`.
    """
    from stridecue.simulator import Phase, SensorSpec, SessionPlan, demo_plan, simulate

    if duration_s:
        plan = SessionPlan(
            phases=[Phase(kind="still", duration_s=15), Phase(kind="walk", duration_s=10),
                    Phase(kind="run", duration_s=max(10.0, duration_s - 25.0))],
            path="track",
            sensors=[
                SensorSpec(placement="sacrum", clock_drift_ppm=drift_ppm[0], mounting="random"),
                SensorSpec(placement="thigh_left", clock_drift_ppm=drift_ppm[1], mounting="random"),
            ],
        )
    else:
        plan = demo_plan()
    sim = simulate(plan, seed=seed)
    spec = dict(faults or {})
    return sim, {p: {**spec, "seed": seed + k} for k, p in enumerate(sim.sensors)}


def simulated_signals(sim: Any, *, protocol: str = "stridecue") -> dict[str, SimulatedSignal]:
    """Simulator output -> signals for the simulated Bluetooth sensors."""
    out = {}
    for placement, s in sim.sensors.items():
        out[placement] = SimulatedSignal(
            acc_mps2=np.asarray(s.acc_mps2),
            gyr_radps=np.asarray(s.gyr_radps),
            sampling_rate_hz=float(s.sampling_rate_hz),
            mag_ut=None if s.mag_ut is None else np.asarray(s.mag_ut),
            clock_drift_ppm=float(s.clock_drift_ppm),
            protocol=protocol,  # type: ignore[arg-type]
            connection_interval_s=0.0075,
            start_offset_s=float(s.start_offset_s),
        )
    return out
