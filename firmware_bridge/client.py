"""The stridecue Bluetooth client: scan, connect, stream, reconnect, backfill, on real bleak.

The code path is always ``bleak.BleakClient`` / ``bleak.BleakScanner``; the backend is injectable
(``backend=None`` is the platform backend, BlueZ on Linux;
:mod:`firmware_bridge.bumble_backend` gives simulated sensors).

Data path per sensor::

    notification callback: stamp clock_ns(), put_nowait((t_ns, channel, bytes))   (nothing else)
    consumer task:         on_raw(placement, t_ns, channel, bytes)   (the session recorder)
                           -> SensorIngest.feed(t_s, bytes) -> (placement, SampleBlock) queue
                           -> backfill requests for ingest.pending_gaps()

A :class:`SensorHub` connects its sensors one after another under one ``asyncio.Lock`` (parallel
connects fail on BlueZ with ``InProgress``), reconnects each with back-off after a link loss and
asks the sensor for the packets it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy.typing as npt
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from firmware_bridge import movesense as ms
from firmware_bridge import profile
from firmware_bridge.backoff import backoff_delays
from firmware_bridge.errors import (
    ConnectionFailedError,
    PacketError,
    SensorConnectionError,
    SensorLostError,
    SensorNotFoundError,
)
from firmware_bridge.ingest import SampleBlock, SensorIngest

__all__ = [
    "BATTERY_SERVICE_DATA_UUID",
    "FoundSensor",
    "LinkEvent",
    "LinkState",
    "RawHook",
    "SensorHub",
    "SensorLink",
    "scan",
    "simulated_hub",
]

logger = logging.getLogger(__name__)

#: Service data key carrying the battery percentage in advertisements (Battery Service 0x180F).
BATTERY_SERVICE_DATA_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
#: Channel names passed to ``on_raw``.
DATA_CHANNEL = "data"
STATUS_CHANNEL = "status"
CONFIG_CHANNEL = "config"

#: ``on_raw(placement, arrival_time_ns, channel, data)``: called for every notification first.
RawHook = Callable[[str, int, str, bytes], None]
Protocol = Literal["stridecue", "movesense"]


# =============================================================================================
# Scanning
# =============================================================================================
@dataclass(frozen=True)
class FoundSensor:
    """An advertising sensor.

    Parameters
    ----------
    address
        Bluetooth address (a UUID on macOS).
    name
        Advertised name, or None.
    protocol
        ``"stridecue"`` or ``"movesense"``.
    rssi_dbm
        Signal strength of the last advertisement.
    battery_percent
        From the Battery Service data in the advertisement, or None.
    """

    address: str
    name: str | None
    protocol: Protocol
    rssi_dbm: int
    battery_percent: int | None
    device: BLEDevice | None = field(default=None, compare=False, repr=False)


def _protocol_of(adv: AdvertisementData) -> Protocol | None:
    uuids = {u.lower() for u in adv.service_uuids}
    if profile.SERVICE_UUID in uuids:
        return "stridecue"
    if ms.SERVICE_UUID in uuids or (adv.local_name or "").startswith("Movesense"):
        return "movesense"
    return None


def _protocol_of_services(client: BleakClient) -> Protocol | None:
    """The protocol whose service the connected sensor's GATT table holds (None: neither)."""
    uuids = {service.uuid.lower() for service in client.services}
    if profile.SERVICE_UUID in uuids:
        return "stridecue"
    if ms.SERVICE_UUID in uuids:
        return "movesense"
    return None


def _battery_of(adv: AdvertisementData) -> int | None:
    raw = adv.service_data.get(BATTERY_SERVICE_DATA_UUID)
    if raw:
        return int(raw[0])
    return None


async def scan(
    timeout_s: float,
    *,
    backend: type[BaseBleakScanner] | None = None,
    **scanner_kwargs: Any,
) -> list[FoundSensor]:
    """Scan for stridecue and Movesense sensors.

    Parameters
    ----------
    timeout_s
        Scan duration, seconds.
    backend
        bleak scanner backend (None: the platform's).
    **scanner_kwargs
        Passed to ``BleakScanner`` (e.g. ``bluez={"adapter": "hci1"}`` or ``radio=``).

    Returns
    -------
    list of FoundSensor
        Sorted by descending RSSI.

    Raises
    ------
    SensorConnectionError
        When the platform's Bluetooth cannot scan (no adapter, powered off, no daemon).
    """
    try:
        found = await BleakScanner.discover(
            timeout=timeout_s, return_adv=True, backend=backend, **scanner_kwargs
        )
    except (BleakError, OSError) as exc:
        raise SensorConnectionError(
            f"Bluetooth scan failed ({exc}): check that the adapter is present and powered "
            "(bluetoothctl power on) and that the bluetooth service runs"
        ) from exc
    sensors = []
    for device, adv in found.values():
        protocol = _protocol_of(adv)
        if protocol is None:
            continue
        sensors.append(
            FoundSensor(
                address=device.address,
                name=adv.local_name or device.name,
                protocol=protocol,
                rssi_dbm=adv.rssi,
                battery_percent=_battery_of(adv),
                device=device,
            )
        )
    return sorted(sensors, key=lambda s: -s.rssi_dbm)


# =============================================================================================
# One sensor
# =============================================================================================
class LinkState(enum.Enum):
    """Link status of one sensor."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    REBOOTED = "rebooted"
    CLOSED = "closed"
    FAILED = "failed"


@dataclass(frozen=True)
class LinkEvent:
    """A link status change: ``placement``, ``state``, host time ``time_s`` and ``detail``."""

    placement: str
    state: LinkState
    time_s: float
    detail: str = ""


@dataclass
class LinkStats:
    """Per-link counters (the ingest keeps the sample-level ones)."""

    connects: int = 0
    connect_failures: int = 0
    link_losses: int = 0
    backfill_requests: int = 0
    notifications: int = 0
    queue_overflows: int = 0


class SensorLink:
    """One sensor: connect with retries, read config, subscribe, start, reconnect, backfill.

    Parameters
    ----------
    placement
        The sensor's role (``"sacrum"``, ``"thigh_left"``, ...).
    address
        Bluetooth address or ``BLEDevice``.
    protocol
        ``"stridecue"`` or ``"movesense"``.
    on_blocks
        Called (in the consumer task) with ``(placement, SampleBlock)`` for each block.
    on_event
        Called with each :class:`LinkEvent`.
    on_raw
        ``on_raw(placement, arrival_time_ns, channel, data)`` for every notification, before
        anything else touches it.
    backend
        bleak client backend (None: the platform's).
    client_kwargs
        Extra ``BleakClient`` keyword arguments (e.g. ``{"radio": radio}``).
    connect_lock
        Held during each connect (share one between sensors on an adapter).
    connect_timeout_s
        Timeout of one connect attempt, seconds.
    max_attempts
        Connect attempts before giving up (first connect and each reconnect).
    backoff
        ``(base_s, factor, max_s, jitter)`` of :func:`~firmware_bridge.backoff.backoff_delays`.
    backfill
        Ask the sensor to resend missed packets (stridecue sensors with a buffer).
    backfill_interval_s
        Minimum time between two requests for the same gap, seconds.
    movesense_path
        Subscription path for Movesense sensors.
    clock_ns
        Arrival clock, integer ns (default ``time.monotonic_ns``).
    rng
        Random source of the back-off jitter.
    queue_size
        Bound of the raw notification queue; overflows are counted, never block.
    keep_clock_pairs
        Let the ingest keep every packet's clock pair for whole-session fits
        (``link.ingest.offline_clock_models()``). A recorder that decodes its raw log again
        afterwards passes False so that memory stays flat over long sessions.
    """

    def __init__(
        self,
        placement: str,
        address: str | BLEDevice,
        *,
        protocol: Protocol = "stridecue",
        on_blocks: Callable[[str, SampleBlock], None] | None = None,
        on_event: Callable[[LinkEvent], None] | None = None,
        on_raw: RawHook | None = None,
        backend: type[BaseBleakClient] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        connect_lock: asyncio.Lock | None = None,
        connect_timeout_s: float = 20.0,
        max_attempts: int = 6,
        backoff: tuple[float, float, float, float] = (0.5, 2.0, 10.0, 0.2),
        backfill: bool = True,
        backfill_interval_s: float = 2.0,
        movesense_path: str = "/Meas/IMU6/208",
        clock_ns: Callable[[], int] = time.monotonic_ns,
        rng: random.Random | None = None,
        queue_size: int = 10_000,
        keep_clock_pairs: bool = True,
    ) -> None:
        self.placement = placement
        self.keep_clock_pairs = keep_clock_pairs
        self.address = address
        self.protocol: Protocol = protocol
        self._on_blocks = on_blocks
        self._on_event = on_event
        self._on_raw = on_raw
        self._backend = backend
        self._client_kwargs = dict(client_kwargs or {})
        self._connect_lock = connect_lock or asyncio.Lock()
        self.connect_timeout_s = connect_timeout_s
        self.max_attempts = max_attempts
        self._backoff = backoff
        self.backfill = backfill
        self.backfill_interval_s = backfill_interval_s
        self.movesense_path = movesense_path
        self._clock_ns = clock_ns
        self._rng = rng or random.Random()
        self._queue: asyncio.Queue[tuple[int, str, bytes]] = asyncio.Queue(queue_size)
        self.config: profile.SensorConfig | None = None
        self.ingest: SensorIngest | None = None
        self.stats = LinkStats()
        self.state = LinkState.CLOSED
        self._client: BleakClient | None = None
        self._lost = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        # (segment, seq) -> host time of the last request covering that packet
        self._backfill_asked: dict[tuple[int, int], float] = {}
        self._last_resent_s = -float("inf")  # arrival of the newest backfilled packet
        self._boot_counter: int | None = None
        self._movesense_ref = 1
        self._stopped = asyncio.Event()

    # --- events --------------------------------------------------------------------------------
    def _now_s(self) -> float:
        return self._clock_ns() * 1e-9

    def _emit(self, state: LinkState, detail: str = "") -> None:
        self.state = state
        logger.info("%s: %s %s", self.placement, state.value, detail)
        if self._on_event is not None:
            self._on_event(LinkEvent(self.placement, state, self._now_s(), detail))

    # --- notification path -----------------------------------------------------------------------
    def _notification(self, channel: str) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        queue = self._queue
        clock_ns = self._clock_ns
        stats = self.stats

        def callback(_sender: BleakGATTCharacteristic, data: bytearray) -> None:
            try:
                queue.put_nowait((clock_ns(), channel, bytes(data)))
            except asyncio.QueueFull:
                stats.queue_overflows += 1

        return callback

    async def _consume(self) -> None:
        while True:
            arrival_ns, channel, data = await self._queue.get()
            self.stats.notifications += 1
            if self._on_raw is not None:
                self._on_raw(self.placement, arrival_ns, channel, data)
            if channel != DATA_CHANNEL or self.ingest is None:
                continue
            segments_before = self.ingest.segment_count
            blocks = self.ingest.feed(arrival_ns * 1e-9, data)
            if self.ingest.segment_count > segments_before > 0:
                # the head of the new boot (seq 0 up to the first packet seen) is a pending gap
                # of the new segment: asked for below like any other
                self._emit(LinkState.REBOOTED, f"segment {self.ingest.segment_count - 1}")
            for block in blocks:
                if block.resent:
                    self._last_resent_s = arrival_ns * 1e-9
                if self._on_blocks is not None:
                    self._on_blocks(self.placement, block)
            if self.backfill and self.ingest.can_backfill:
                await self._request_backfill()

    async def _request_backfill(self) -> None:
        """Ask for the pending gaps' packets that were not asked for yet.

        Each packet is asked for once; it is asked again only when the sensor has sent no
        backfilled packet for ``backfill_interval_s`` (the request or its answer was lost) and
        its own request is that old. A gap split by a resent packet therefore never triggers a
        new request for the rest of the range (that was a retransmission storm).
        """
        assert self.ingest is not None
        client = self._client
        if client is None or not client.is_connected:
            return
        now_s = self._now_s()
        stalled = now_s - self._last_resent_s >= self.backfill_interval_s
        asked = self._backfill_asked
        for gap in self.ingest.pending_gaps():
            runs: list[list[int]] = []
            for seq in range(gap.first_seq, gap.last_seq + 1):
                t = asked.get((gap.segment, seq))
                if t is not None and not (stalled and now_s - t >= self.backfill_interval_s):
                    continue
                if runs and runs[-1][1] == seq - 1:
                    runs[-1][1] = seq
                else:
                    runs.append([seq, seq])
            for first, last in runs:
                for seq in range(first, last + 1):
                    asked[(gap.segment, seq)] = now_s
                if not await self._send_backfill(first, last):
                    return

    async def sync_tail(self) -> None:
        """Read the sensor's status and ask for buffered packets newer than the last one seen.

        The end of a stream has no later packet to reveal a lost tail; the status
        characteristic's ``newest_seq`` does.
        """
        client = self._client
        ingest = self.ingest
        if (client is None or not client.is_connected or ingest is None
                or self.protocol != "stridecue" or not self.backfill or not ingest.can_backfill):
            return
        try:
            raw = await asyncio.wait_for(
                client.read_gatt_char(profile.STATUS_CHAR_UUID), timeout=self.connect_timeout_s
            )
            status = profile.decode_status(bytes(raw))
        except (BleakError, TimeoutError, PacketError) as exc:
            logger.debug("%s: status read failed: %s", self.placement, exc)
            return
        last = ingest.last_seq
        if status.buffer_fill_packets and last is not None and status.newest_seq > last:
            await self._send_backfill(max(last + 1, status.oldest_seq), status.newest_seq)

    async def retry_backfill(self) -> None:
        """Ask again for pending gaps whose requests went unanswered (no-op without backfill)."""
        if self.backfill and self.ingest is not None and self.ingest.can_backfill:
            await self._request_backfill()

    @property
    def caught_up(self) -> bool:
        """No notification waiting and (with backfill) no gap waiting for its packets."""
        if not self._queue.empty():
            return False
        return not (self.backfill and self.ingest is not None and self.ingest.pending_gaps())

    async def _send_backfill(self, first_seq: int, last_seq: int) -> bool:
        client = self._client
        if client is None or not client.is_connected or self.protocol != "stridecue":
            return False
        self.stats.backfill_requests += 1
        command = profile.encode_control(profile.Backfill(first_seq, last_seq))
        try:
            await asyncio.wait_for(
                client.write_gatt_char(profile.CONTROL_CHAR_UUID, command, response=False),
                timeout=self.connect_timeout_s,
            )
        except (BleakError, TimeoutError) as exc:
            logger.debug("%s: backfill request failed: %s", self.placement, exc)
            return False
        return True

    # --- connection ----------------------------------------------------------------------------
    def _on_disconnect(self, _client: BleakClient) -> None:
        self._lost.set()

    async def _connect_once(self) -> BleakClient:
        client = BleakClient(
            self.address,
            disconnected_callback=self._on_disconnect,
            timeout=self.connect_timeout_s,
            backend=self._backend,
            **self._client_kwargs,
        )
        await client.connect()
        self._client = client  # notifications (and backfill requests) may start during setup
        served = _protocol_of_services(client)
        if self.ingest is None and served is not None and served != self.protocol:
            # an address given without its protocol: the GATT table tells which one it speaks
            logger.info("%s: the sensor serves the %s protocol", self.placement, served)
            self.protocol = served
        try:
            await self._setup(client)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout=self.connect_timeout_s)
            raise
        return client

    async def _setup(self, client: BleakClient) -> None:
        timeout_s = self.connect_timeout_s
        if self.protocol == "stridecue":
            raw = await asyncio.wait_for(
                client.read_gatt_char(profile.CONFIG_CHAR_UUID), timeout=timeout_s
            )
            if self._on_raw is not None:  # the recorder logs the config: replay decodes with it
                self._on_raw(self.placement, self._clock_ns(), CONFIG_CHANNEL, bytes(raw))
            config = profile.decode_config(bytes(raw))
            if self.ingest is None:
                self.config = config
                self.ingest = SensorIngest("stridecue", config,
                                           keep_clock_pairs=self.keep_clock_pairs)
            elif self._boot_counter is not None and config.boot_counter != self._boot_counter:
                logger.info(
                    "%s: boot counter %s -> %s", self.placement, self._boot_counter,
                    config.boot_counter,
                )
            self._boot_counter = config.boot_counter
            await asyncio.wait_for(
                client.start_notify(profile.DATA_CHAR_UUID, self._notification(DATA_CHANNEL)),
                timeout=timeout_s,
            )
            await asyncio.wait_for(
                client.start_notify(profile.STATUS_CHAR_UUID, self._notification(STATUS_CHANNEL)),
                timeout=timeout_s,
            )
            await asyncio.wait_for(
                client.write_gatt_char(
                    profile.CONTROL_CHAR_UUID, profile.encode_control(profile.Start()), True
                ),
                timeout=timeout_s,
            )
        else:
            if self.ingest is None:
                self.ingest = SensorIngest(
                    "movesense", movesense_subscriptions={self._movesense_ref: self.movesense_path},
                    keep_clock_pairs=self.keep_clock_pairs,
                )
            await asyncio.wait_for(
                client.start_notify(ms.NOTIFY_CHAR_UUID, self._notification(DATA_CHANNEL)),
                timeout=timeout_s,
            )
            await asyncio.wait_for(
                client.write_gatt_char(
                    ms.WRITE_CHAR_UUID,
                    ms.encode_subscribe(self._movesense_ref, self.movesense_path),
                    True,
                ),
                timeout=timeout_s,
            )

    async def connect(self) -> None:
        """Connect (with retries and back-off) and start streaming.

        Raises
        ------
        ConnectionFailedError
            When every attempt failed.
        """
        self._closing = False
        if not any(t.get_name().endswith(":consumer") for t in self._tasks):
            self._spawn(self._consume(), "consumer")
        self._emit(LinkState.CONNECTING)
        self._client = await self._connect_with_retries()
        self._emit(LinkState.STREAMING)
        self._spawn(self._watch(), "watch")

    async def _connect_with_retries(self) -> BleakClient:
        delays = backoff_delays(*self._backoff, rng=self._rng)
        last_exc: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self._connect_lock:
                    self._lost.clear()
                    client = await self._connect_once()
                self.stats.connects += 1
                return client
            except (BleakError, TimeoutError, OSError) as exc:
                self.stats.connect_failures += 1
                last_exc = exc
                delay_s = next(delays)
                logger.warning(
                    "%s: connect attempt %s/%s failed (%s); retrying in %.2f s",
                    self.placement, attempt, self.max_attempts, exc, delay_s,
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(delay_s)
        self._emit(LinkState.FAILED, str(last_exc))
        raise ConnectionFailedError(
            f"{self.placement}: could not connect to {self.address} after {self.max_attempts} "
            f"attempts ({last_exc}); check the sensor is awake, in range and not connected "
            "elsewhere"
        ) from last_exc

    async def _watch(self) -> None:
        while not self._closing:
            await self._lost.wait()
            if self._closing:
                return
            self.stats.link_losses += 1
            self._emit(LinkState.LOST)
            self._client = None
            self._emit(LinkState.RECONNECTING)
            try:
                self._client = await self._connect_with_retries()
            except ConnectionFailedError as exc:
                self._emit(LinkState.FAILED, str(exc))
                if self.ingest is not None:
                    self.ingest.finish()
                self._stopped.set()
                return
            self._emit(LinkState.STREAMING, "reconnected")
            if self.ingest is not None and self.backfill:
                self._backfill_asked.clear()
                await self._request_backfill()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.placement}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def buzz(self, pattern_ms: Sequence[int]) -> None:
        """Vibrate the sensor: alternating on/off durations in ms, starting with on.

        Raises
        ------
        SensorLostError
            When the sensor is not connected.
        """
        client = self._client
        if client is None or not client.is_connected or self.protocol != "stridecue":
            raise SensorLostError(f"{self.placement}: cannot buzz, the sensor is not connected")
        command = profile.encode_control(profile.Buzz(tuple(int(v) for v in pattern_ms)))
        await asyncio.wait_for(
            client.write_gatt_char(profile.CONTROL_CHAR_UUID, command, response=True),
            timeout=self.connect_timeout_s,
        )

    async def drain(self, timeout_s: float) -> None:
        """Wait until every queued notification has been consumed (or ``timeout_s`` passes)."""
        async with asyncio.timeout(timeout_s):
            while not self._queue.empty():
                await asyncio.sleep(0.005)

    async def close(self, *, finish: bool = True) -> None:
        """Stop, disconnect and stop the tasks; pending gaps are marked lost when ``finish``."""
        self._closing = True
        self._lost.set()
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout=self.connect_timeout_s)
        with contextlib.suppress(TimeoutError):
            await self.drain(timeout_s=2.0)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if finish and self.ingest is not None:
            self.ingest.finish()
        self._emit(LinkState.CLOSED)


# =============================================================================================
# Several sensors
# =============================================================================================
class SensorHub:
    """Several sensors: connect one after another, merge their sample blocks and link events.

    Parameters
    ----------
    sensors
        ``{placement: address_or_name}``; a name (anything that is not an address) is resolved
        by a scan.
    protocols
        ``{placement: "stridecue" | "movesense"}``; default stridecue (a scan result's protocol
        wins for names).
    backend, scanner_backend
        bleak backends (None: the platform's).
    client_kwargs
        Extra keyword arguments for ``BleakClient`` / ``BleakScanner`` (e.g. ``{"radio": r}``).
    on_raw
        ``on_raw(placement, arrival_time_ns, channel, data)`` for every notification first.
    backfill
        Request missed packets from the sensors' buffers.
    scan_timeout_s
        Scan duration when resolving names, seconds.
    clock_ns
        Arrival clock in integer ns (default ``time.monotonic_ns``).
    seed
        Seed of the back-off jitter.
    **link_kwargs
        Passed to each :class:`SensorLink` (``connect_timeout_s``, ``max_attempts``,
        ``backoff``, ...).

    Examples
    --------
    >>> async def run():  # doctest: +SKIP
    ...     async with SensorHub(sensors={"sacrum": "AA:BB:CC:DD:EE:FF"}) as hub:
    ...         async for placement, block in hub.samples():
    ...             print(placement, block.n_samples)
    """

    def __init__(
        self,
        sensors: Mapping[str, str | BLEDevice],
        *,
        protocols: Mapping[str, Protocol] | None = None,
        backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        on_raw: RawHook | None = None,
        backfill: bool = True,
        scan_timeout_s: float = 5.0,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        seed: int | None = None,
        **link_kwargs: Any,
    ) -> None:
        self.sensors = dict(sensors)
        self.protocols = dict(protocols or {})
        self._backend = backend
        self._scanner_backend = scanner_backend
        self._client_kwargs = dict(client_kwargs or {})
        self._on_raw = on_raw
        self.backfill = backfill
        self.scan_timeout_s = scan_timeout_s
        self.clock_ns = clock_ns
        self._rng = random.Random(seed)
        self._link_kwargs = link_kwargs
        self._lock = asyncio.Lock()
        self._blocks: asyncio.Queue[tuple[str, SampleBlock]] = asyncio.Queue()
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self.links: dict[str, SensorLink] = {}

    async def _resolve(self, target: str | BLEDevice) -> tuple[str | BLEDevice, Protocol | None]:
        if isinstance(target, BLEDevice) or _looks_like_address(target):
            return target, None
        async with self._lock:
            found = await scan(
                self.scan_timeout_s, backend=self._scanner_backend, **self._client_kwargs
            )
        for sensor in found:
            if sensor.name == target:
                return (sensor.device or sensor.address), sensor.protocol
        raise SensorNotFoundError(
            f"no advertising sensor named {target!r} (seen: "
            f"{sorted(s.name or s.address for s in found)}); check it is charged and awake"
        )

    async def start(self) -> None:
        """Connect every sensor, one after another.

        Raises
        ------
        SensorNotFoundError, ConnectionFailedError
        """
        for placement, target in self.sensors.items():
            resolved, scanned_protocol = await self._resolve(target)
            protocol = scanned_protocol or self.protocols.get(placement, "stridecue")
            link = SensorLink(
                placement,
                resolved,
                protocol=protocol,
                on_blocks=lambda p, b: self._blocks.put_nowait((p, b)),
                on_event=self.events.put_nowait,
                on_raw=self._on_raw,
                backend=self._backend,
                client_kwargs=self._client_kwargs,
                connect_lock=self._lock,
                backfill=self.backfill,
                clock_ns=self.clock_ns,
                rng=random.Random(self._rng.random()),
                **self._link_kwargs,
            )
            self.links[placement] = link
            await link.connect()

    async def close(self) -> None:
        """Disconnect every sensor; idempotent."""
        for link in self.links.values():
            if link.state is not LinkState.CLOSED:
                await link.close()

    async def __aenter__(self) -> SensorHub:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def samples(
        self, idle_timeout_s: float | None = None
    ) -> AsyncIterator[tuple[str, SampleBlock]]:
        """Yield ``(placement, SampleBlock)`` as they are decoded.

        Parameters
        ----------
        idle_timeout_s
            Stop when no block arrived for this long (None: run until cancelled).
        """
        while True:
            try:
                item = await asyncio.wait_for(self._blocks.get(), timeout=idle_timeout_s)
            except TimeoutError:
                return
            yield item

    def get_nowait(self) -> list[tuple[str, SampleBlock]]:
        """All blocks decoded so far that nobody has taken yet."""
        out = []
        while not self._blocks.empty():
            out.append(self._blocks.get_nowait())
        return out

    async def buzz(self, placement: str, pattern_ms: Sequence[int]) -> None:
        """Vibrate the sensor at ``placement`` (see :meth:`SensorLink.buzz`)."""
        await self.links[placement].buzz(pattern_ms)


def _looks_like_address(text: str) -> bool:
    parts = text.split(":")
    if len(parts) == 6 and all(len(p) == 2 for p in parts):
        try:
            [int(p, 16) for p in parts]
        except ValueError:
            return False
        return True
    return len(text) == 36 and text.count("-") == 4  # macOS CoreBluetooth UUID


# =============================================================================================
# Simulation
# =============================================================================================
@dataclass(frozen=True)
class SimulatedSignal:
    """Arrays for one simulated sensor (see :class:`~firmware_bridge.sim_sensor.SimulatedSensor`).

    ``protocol="movesense"`` makes a :class:`~firmware_bridge.sim_sensor.SimulatedMovesense`.
    """

    acc_mps2: npt.ArrayLike
    gyr_radps: npt.ArrayLike
    sampling_rate_hz: float
    mag_ut: npt.ArrayLike | None = None
    clock_drift_ppm: float = 0.0
    protocol: Protocol = "stridecue"
    connection_interval_s: float = 0.0
    start_offset_s: float = 0.0  # motion time of sample 0 (sensors on one body start apart)


@contextlib.asynccontextmanager
async def simulated_hub(
    signals: Mapping[str, SimulatedSignal],
    *,
    faults: Mapping[str, Any] | None = None,
    time_scale: float = 1.0,
    backfill: bool = True,
    seed: int = 0,
    **hub_kwargs: Any,
) -> AsyncIterator[tuple[SensorHub, dict[str, Any]]]:
    """Start a :class:`SimulatedRadio` with one simulated sensor per placement and a hub on it.

    Parameters
    ----------
    signals
        ``{placement: SimulatedSignal}``.
    faults
        ``{placement: SensorFaults}``.
    time_scale
        Speed of the virtual clock (the hub stamps arrivals with the same virtual clock).
    backfill
        Passed to the hub.
    seed
        Seed of the hub's back-off jitter.
    **hub_kwargs
        Passed to :class:`SensorHub` (``on_raw``, ``backoff``, ``max_attempts``, ...).

    Yields
    ------
    tuple
        ``(hub, sensors)`` where ``sensors`` maps placement to the simulated sensor object
        (its ``stats``, ``done`` event and ``true_time_s()``).
    """
    from firmware_bridge.bumble_backend import (
        BumbleClientBackend,
        BumbleScannerBackend,
        SimulatedRadio,
    )
    from firmware_bridge.sim_sensor import SimulatedMovesense, SimulatedSensor

    faults = dict(faults or {})
    async with SimulatedRadio(time_scale=time_scale, seed=seed) as radio:
        sensors: dict[str, Any] = {}
        protocols: dict[str, Protocol] = {}
        body_origin: list[float] = []  # one body: set by the first sensor to stream
        for index, (placement, signal) in enumerate(signals.items()):
            cls = SimulatedMovesense if signal.protocol == "movesense" else SimulatedSensor
            sensor = cls(
                radio,
                name=f"stridecue-{placement}" if cls is SimulatedSensor else f"Movesense {index}",
                address=f"F1:5C:00:00:00:{index + 1:02X}",
                acc_mps2=signal.acc_mps2,
                gyr_radps=signal.gyr_radps,
                sampling_rate_hz=signal.sampling_rate_hz,
                mag_ut=signal.mag_ut,
                clock_drift_ppm=signal.clock_drift_ppm,
                connection_interval_s=signal.connection_interval_s,
                connection_anchor_s=index * signal.connection_interval_s / len(signals),
                faults=faults.get(placement),
            )
            # one body: every sensor samples the same motion, each from its own start offset
            sensor.body_origin = body_origin
            sensor.start_offset_s = float(signal.start_offset_s)
            await sensor.start()
            sensors[placement] = sensor
            protocols[placement] = signal.protocol
        hub_kwargs.setdefault("protocols", protocols)
        # Back-off delays are slept on the host clock: scale them so that a reconnect takes the
        # same virtual time at any time_scale (else a 5 s drop at 20x costs minutes of stream).
        if time_scale > 1.0:
            base_s, factor, max_s, jitter = hub_kwargs.get("backoff", (0.5, 2.0, 10.0, 0.2))
            hub_kwargs["backoff"] = (base_s / time_scale, factor, max_s / time_scale, jitter)
        if any(s.protocol == "movesense" and s.mag_ut is not None for s in signals.values()):
            hub_kwargs.setdefault("movesense_path", "/Meas/IMU9/104")
        hub = SensorHub(
            {p: s.address for p, s in sensors.items()},
            backend=BumbleClientBackend,
            scanner_backend=BumbleScannerBackend,
            client_kwargs={"radio": radio},
            backfill=backfill,
            clock_ns=radio.clock_ns,
            seed=seed,
            **hub_kwargs,
        )
        try:
            async with hub:
                yield hub, sensors
        finally:
            for sensor in sensors.values():
                await sensor.close()
