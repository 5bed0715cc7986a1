"""Simulated sensors: bumble peripherals that stream given IMU arrays over a real GATT stack.

:class:`SimulatedSensor` serves the stridecue profile (data / config / control / status
characteristics of :mod:`firmware_bridge.profile`); :class:`SimulatedMovesense` speaks the
Movesense GATT SensorData protocol (:mod:`firmware_bridge.movesense`). Both live on a
:class:`~firmware_bridge.bumble_backend.SimulatedRadio` and are reached through the bumble bleak
backend, so the client under test is the real ``bleak.BleakClient``.

Timing. Everything runs on the radio's virtual clock (``radio.now_s()``, the host monotonic
clock sped up by ``radio.time_scale``). Sampling starts at the first Start command (stridecue)
or subscription (Movesense). The sensor's crystal runs ``clock_drift_ppm`` fast: it takes
samples at ``sampling_rate_hz * (1 + ppm 1e-6)`` true Hz and stamps sample ``i`` with sensor
time ``boot_offset + i / sampling_rate_hz``. :meth:`SimulatedSensor.true_time_s` gives the true
(virtual) time of every sample, for checking a clock fit. Packets leave at the next connection
event (``connection_interval_s``) after their last sample.

Faults (:class:`SensorFaults`, times in seconds of stream time, i.e. since sampling started):
random loss of live notifications (seeded), bursts (packets held then released together), link
drops (the sensor disconnects and stays silent for a while; it keeps sampling into its buffer),
refused connection attempts, reboots (link drop, sequence number and sensor time restart, boot
counter + 1, buffer cleared; sampling resumes at once) and garbage notifications. Live loss
never touches the sensor's ring buffer, so backfill requests can recover it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from firmware_bridge import movesense as ms
from firmware_bridge import profile
from firmware_bridge.bumble_backend import DISCONNECT_TIMEOUT_S, SimulatedRadio
from firmware_bridge.errors import PacketError

__all__ = [
    "BATTERY_SERVICE_DATA_UUID16",
    "LinkDrop",
    "SensorFaults",
    "SimulatedMovesense",
    "SimulatedSensor",
]

logger = logging.getLogger(__name__)

#: 16-bit UUID of the Battery Service: the battery percentage travels as its service data.
BATTERY_SERVICE_DATA_UUID16 = 0x180F
#: HCI reason a sensor uses to drop the link (as the central sees a supervision timeout).
HCI_CONNECTION_TIMEOUT = 0x08
#: HCI reason for refused connection attempts.
HCI_REMOTE_USER_TERMINATED = 0x13
_ADVERTISING_INTERVAL_MS = 20.0


@dataclass(frozen=True)
class LinkDrop:
    """The sensor drops the link at ``at_s`` (stream time) and is silent for ``duration_s``."""

    at_s: float
    duration_s: float


@dataclass(frozen=True)
class SensorFaults:
    """Faults a simulated sensor injects; all times are stream seconds (virtual clock).

    Parameters
    ----------
    loss_fraction
        Probability that a live notification is not delivered (it stays in the buffer).
    loss_window_s
        ``(start_s, end_s)`` stream times between which the loss applies.
    burst_period_s, burst_hold_s
        Every ``burst_period_s`` the sensor holds its packets for ``burst_hold_s`` and then
        sends them all at once (0 disables).
    link_drops
        Link drops (:class:`LinkDrop` or ``(at_s, duration_s)`` pairs).
    refuse_connections
        The first k connection attempts are dropped at once.
    reboot_at_s
        Stream times of reboots.
    reboot_downtime_s
        How long a rebooting sensor does not advertise (it keeps sampling).
    garbage_fraction
        Probability, per live packet, of an extra notification of random bytes.
    seed
        Seed of the fault random generator.
    """

    loss_fraction: float = 0.0
    loss_window_s: tuple[float, float] = (0.0, math.inf)
    burst_period_s: float = 0.0
    burst_hold_s: float = 0.0
    link_drops: tuple[LinkDrop | tuple[float, float], ...] = ()
    refuse_connections: int = 0
    reboot_at_s: tuple[float, ...] = ()
    reboot_downtime_s: float = 0.2
    garbage_fraction: float = 0.0
    seed: int = 0

    def drops(self) -> list[LinkDrop]:
        """Link drops as :class:`LinkDrop` sorted by time."""
        out = [d if isinstance(d, LinkDrop) else LinkDrop(*d) for d in self.link_drops]
        return sorted(out, key=lambda d: d.at_s)


@dataclass
class SensorStats:
    """What a simulated sensor did (for tests and for the CLI's simulated mode)."""

    packets_sampled: int = 0
    notifications_sent: int = 0
    notifications_lost: int = 0
    notifications_not_connected: int = 0
    packets_resent: int = 0
    garbage_sent: int = 0
    connections: int = 0
    connections_refused: int = 0
    link_drops: int = 0
    reboots: int = 0
    bad_commands: int = 0
    buzzes: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)


class _SimulatedPeripheral:
    """Shared machinery: device, advertising, connection faults, the virtual sampling clock."""

    protocol_service_uuid: str = ""

    def __init__(
        self,
        radio: SimulatedRadio,
        *,
        name: str,
        address: str,
        acc_mps2: npt.ArrayLike,
        gyr_radps: npt.ArrayLike,
        sampling_rate_hz: float,
        mag_ut: npt.ArrayLike | None = None,
        clock_drift_ppm: float = 0.0,
        clock_offset_s: float = 10.0,
        connection_interval_s: float = 0.0,
        connection_anchor_s: float = 0.0,
        battery_percent: int = 87,
        faults: SensorFaults | None = None,
    ) -> None:
        self.radio = radio
        self.name = name
        self.address = address.upper()
        self.acc_mps2 = np.asarray(acc_mps2, dtype=np.float64)
        self.gyr_radps = np.asarray(gyr_radps, dtype=np.float64)
        self.mag_ut = None if mag_ut is None else np.asarray(mag_ut, dtype=np.float64)
        n = self.acc_mps2.shape[0]
        for label, arr in (("acc_mps2", self.acc_mps2), ("gyr_radps", self.gyr_radps)):
            if arr.ndim != 2 or arr.shape != (n, 3):
                raise ValueError(f"{label} must have shape (n, 3) like acc_mps2, got {arr.shape}")
        if self.mag_ut is not None and self.mag_ut.shape != (n, 3):
            raise ValueError(f"mag_ut must have shape ({n}, 3), got {self.mag_ut.shape}")
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz}")
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.clock_drift_ppm = float(clock_drift_ppm)
        self.clock_offset_s = float(clock_offset_s)
        self.connection_interval_s = float(connection_interval_s)
        self.connection_anchor_s = float(connection_anchor_s)
        self.battery_percent = int(battery_percent)
        self.faults = faults or SensorFaults()
        self.stats = SensorStats()
        self.device: Device | None = None
        self.connection: Connection | None = None
        self.done = asyncio.Event()
        self._rng = random.Random(self.faults.seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._silent_until_s = -math.inf
        self._stream_t0_s: float | None = None
        self._sample_true_time_s = np.full(n, np.nan)
        self._closed = False
        # Sensors on one body sample one motion: ``body_origin`` (a list shared by the body's
        # sensors) holds the virtual time of the motion's t = 0, set by the first sensor to start
        # streaming; this sensor's sample 0 is at that time + ``start_offset_s``. None: the signal
        # starts whenever this sensor starts streaming.
        self.body_origin: list[float] | None = None
        self.start_offset_s = 0.0

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of samples the sensor will stream."""
        return int(self.acc_mps2.shape[0])

    def true_time_s(self) -> npt.NDArray[np.float64]:
        """Virtual time at which each sample was taken (NaN for samples not taken yet)."""
        return self._sample_true_time_s.copy()

    def _build_services(self, device: Device) -> None:
        raise NotImplementedError

    def _advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, bytes([0x06])),
                    (
                        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        UUID(self.protocol_service_uuid).to_bytes(),
                    ),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (
                        AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
                        BATTERY_SERVICE_DATA_UUID16.to_bytes(2, "little")
                        + bytes([self.battery_percent]),
                    ),
                ]
            )
        )

    async def start(self) -> None:
        """Create the bumble device, power it on and start advertising."""
        device = self.radio.create_device(self.name, self.address)
        self._build_services(device)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self.device = device
        await asyncio.wait_for(device.power_on(), timeout=DISCONNECT_TIMEOUT_S)
        await self._advertise()

    async def close(self) -> None:
        """Stop streaming, drop the link and stop advertising; idempotent."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drop_link(HCI_REMOTE_USER_TERMINATED)
        if self.device is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.device.stop_advertising(), DISCONNECT_TIMEOUT_S)

    def _spawn(self, coro: object, name: str) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        task.set_name(f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: task %s failed: %r", self.name, task.get_name(), task.exception())

    async def _advertise(self) -> None:
        if self._closed or self.device is None or self.connection is not None:
            return
        await asyncio.wait_for(
            self.device.start_advertising(
                advertising_data=self._advertising_data(),
                advertising_interval_min=_ADVERTISING_INTERVAL_MS,
                advertising_interval_max=_ADVERTISING_INTERVAL_MS,
            ),
            timeout=DISCONNECT_TIMEOUT_S,
        )

    async def _advertise_after(self, virtual_time_s: float) -> None:
        await self.radio.sleep_until(virtual_time_s)
        if self.radio.now_s() >= self._silent_until_s:
            await self._advertise()

    # --- connection events ---------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        self.stats.connections += 1
        if self.stats.connections_refused < self.faults.refuse_connections:
            self.stats.connections_refused += 1
            logger.info("%s: refusing connection attempt %s", self.name, self.stats.connections)
            self._spawn(self._refuse(connection), "refuse")
            return
        self.connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._on_connected()

    async def _refuse(self, connection: Connection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                connection.disconnect(reason=HCI_REMOTE_USER_TERMINATED), DISCONNECT_TIMEOUT_S
            )
        await self._advertise_after(self.radio.now_s())

    def _on_connected(self) -> None:
        """Hook for subclasses."""

    def _on_disconnection(self, reason: int) -> None:
        logger.info("%s: disconnected (HCI reason 0x%02X)", self.name, int(reason))
        self.connection = None
        self._on_disconnected()
        if not self._closed:
            self._spawn(self._advertise_after(max(self._silent_until_s, self.radio.now_s())), "adv")

    def _on_disconnected(self) -> None:
        """Hook for subclasses."""

    async def _drop_link(self, reason: int) -> None:
        connection = self.connection
        if connection is None:
            return
        with contextlib.suppress(Exception):  # what the radio already queued still goes out
            await asyncio.wait_for(connection.drain(), DISCONNECT_TIMEOUT_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.disconnect(reason=reason), DISCONNECT_TIMEOUT_S)

    async def _notify(
        self, attribute: gatt.Characteristic, value: bytes, at_s: float | None = None
    ) -> bool:
        """Send a notification in the connection event at virtual time ``at_s`` (None: now)."""
        connection = self.connection
        if connection is None or self.device is None:
            return False
        self.radio.transmit(self.address, value, self.radio.now_s() if at_s is None else at_s)
        try:
            await self.device.notify_subscriber(connection, attribute, value)
        except Exception as exc:  # the link may drop under our feet
            logger.debug("%s: notification not sent: %r", self.name, exc)
            return False
        return True

    # --- sampling clock --------------------------------------------------------------------------
    def _true_rate_hz(self) -> float:
        return self.sampling_rate_hz * (1.0 + self.clock_drift_ppm * 1e-6)

    @property
    def _motion_t0_s(self) -> float | None:
        if not self.body_origin:
            return None
        return self.body_origin[0] + self.start_offset_s

    def _start_stream(self, now_s: float) -> None:
        self._stream_t0_s = now_s
        if self.body_origin is not None and not self.body_origin:
            self.body_origin.append(now_s - self.start_offset_s)

    def _sample_time(self, index: int) -> float:
        assert self._stream_t0_s is not None
        t0 = self._motion_t0_s
        return (self._stream_t0_s if t0 is None else t0) + index / self._true_rate_hz()

    def _first_index(self) -> int:
        """The signal sample taken first: a sensor started late has missed the motion before."""
        assert self._stream_t0_s is not None
        if self._motion_t0_s is None:
            return 0
        late_s = self._stream_t0_s - self._motion_t0_s
        return min(self.n_samples, max(0, math.ceil(late_s * self._true_rate_hz())))

    def _departure_time(self, ready_s: float) -> float:
        interval = self.connection_interval_s
        if interval <= 0:
            return ready_s
        anchor = self.connection_anchor_s
        return anchor + math.ceil((ready_s - anchor) / interval) * interval


class SimulatedSensor(_SimulatedPeripheral):
    """A stridecue-profile sensor streaming given arrays.

    Parameters
    ----------
    radio
        The simulated radio it lives on.
    name, address
        Advertised name and static random address ``"XX:XX:XX:XX:XX:XX"``.
    acc_mps2, gyr_radps
        Shape (n, 3) samples in m/s^2 and rad/s, sensor frame.
    sampling_rate_hz
        Nominal rate of the arrays (the sensor's configured rate).
    mag_ut
        Optional shape (n, 3) magnetometer samples in uT.
    clock_drift_ppm
        Crystal error; positive = the sensor clock runs fast.
    clock_offset_s
        Sensor uptime when sampling starts.
    samples_per_packet, buffer_capacity_packets
        Packet size and ring buffer size (packets kept for backfill).
    connection_interval_s
        Packets leave at multiples of this virtual time (0 = at once).
    battery_percent
        Reported in advertisements and in the status characteristic.
    faults
        Fault injection.

    Attributes
    ----------
    stats : SensorStats
        Counters, and ``stats.buzzes``: every haptic command received as
        ``(virtual_time_s, pattern_ms)``.
    """

    protocol_service_uuid = profile.SERVICE_UUID

    def __init__(
        self,
        radio: SimulatedRadio,
        *,
        name: str,
        address: str,
        acc_mps2: npt.ArrayLike,
        gyr_radps: npt.ArrayLike,
        sampling_rate_hz: float,
        mag_ut: npt.ArrayLike | None = None,
        clock_drift_ppm: float = 0.0,
        clock_offset_s: float = 10.0,
        samples_per_packet: int = 10,
        buffer_capacity_packets: int = 4096,
        connection_interval_s: float = 0.0,
        connection_anchor_s: float = 0.0,
        battery_percent: int = 87,
        faults: SensorFaults | None = None,
    ) -> None:
        super().__init__(
            radio,
            name=name,
            address=address,
            acc_mps2=acc_mps2,
            gyr_radps=gyr_radps,
            sampling_rate_hz=sampling_rate_hz,
            mag_ut=mag_ut,
            clock_drift_ppm=clock_drift_ppm,
            clock_offset_s=clock_offset_s,
            connection_interval_s=connection_interval_s,
            connection_anchor_s=connection_anchor_s,
            battery_percent=battery_percent,
            faults=faults,
        )
        magnetometer = self.mag_ut is not None
        self.config = profile.SensorConfig(
            model="stridecue-sim",
            firmware="sim-1",
            sampling_rate_hz=profile.f32(self.sampling_rate_hz),
            mag_lsb_ut=profile.f32(0.1) if magnetometer else None,
            mag_range_ut=profile.f32(3276.7) if magnetometer else None,
            samples_per_packet=samples_per_packet,
            buffer_capacity_packets=buffer_capacity_packets,
        )
        self.streaming = False
        self.seq = 0
        self._buffer: deque[tuple[int, int, int, int]] = deque(maxlen=buffer_capacity_packets)
        self._boot_sample = 0  # first sample index of the current boot
        self._boot_offset_s = self.clock_offset_s
        self._held: list[bytes] = []
        self._error = (profile.ERR_NONE, 0)
        self.data_char: gatt.Characteristic | None = None
        self.status_char: gatt.Characteristic | None = None

    # --- GATT ----------------------------------------------------------------------------------
    def _build_services(self, device: Device) -> None:
        props = gatt.Characteristic.Properties
        readable = gatt.Characteristic.READABLE
        self.data_char = gatt.Characteristic(profile.DATA_CHAR_UUID, props.NOTIFY, readable, b"")
        config_char = gatt.Characteristic(
            profile.CONFIG_CHAR_UUID,
            props.READ,
            readable,
            gatt.CharacteristicValue(read=lambda _c: profile.encode_config(self.config)),
        )
        control_char = gatt.Characteristic(
            profile.CONTROL_CHAR_UUID,
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_control),
        )
        self.status_char = gatt.Characteristic(
            profile.STATUS_CHAR_UUID,
            props.READ | props.NOTIFY,
            readable,
            gatt.CharacteristicValue(read=lambda _c: self._status_bytes()),
        )
        device.add_service(
            gatt.Service(
                profile.SERVICE_UUID, [self.data_char, config_char, control_char, self.status_char]
            )
        )

    def _status_bytes(self) -> bytes:
        if self._buffer:
            oldest, newest = self._buffer[0][0], self._buffer[-1][0]
        else:
            oldest = newest = 0
        return profile.encode_status(
            profile.StatusReport(
                battery_percent=self.battery_percent,
                buffer_fill_packets=len(self._buffer),
                oldest_seq=oldest,
                newest_seq=newest,
                error_code=self._error[0],
                error_opcode=self._error[1],
                boot_counter=self.config.boot_counter,
            )
        )

    def _on_control(self, _connection: object, value: bytes) -> None:
        try:
            command = profile.decode_control(bytes(value))
        except PacketError as exc:
            self.stats.bad_commands += 1
            self._error = (profile.ERR_BAD_LENGTH, value[0] if value else 0)
            logger.warning("%s: bad control command %s: %s", self.name, bytes(value).hex(), exc)
            return
        now_s = self.radio.now_s()
        logger.debug("%s: control %s", self.name, command)
        if isinstance(command, profile.Start):
            self.streaming = True
            if self._stream_t0_s is None:
                self._start_stream(now_s)
                self._spawn(self._sample_loop(), "sampling")
        elif isinstance(command, profile.Stop):
            self.streaming = False
        elif isinstance(command, profile.SetRate):
            if command.sampling_rate_hz != round(self.sampling_rate_hz):
                self._error = (profile.ERR_RATE_UNSUPPORTED, profile.OP_SET_RATE)
        elif isinstance(command, profile.Buzz):
            self.stats.buzzes.append((now_s, tuple(command.pattern_ms)))
        elif isinstance(command, profile.Backfill):
            self._spawn(self._backfill(command.first_seq, command.last_seq), "backfill")

    # --- streaming -----------------------------------------------------------------------------
    def _encode(self, seq: int, first: int, n: int, boot: int, *, resent: bool) -> bytes:
        stop = first + n
        sensor_time_s = self._boot_offset_s + (first - self._boot_sample) / self.sampling_rate_hz
        return profile.encode_data_packet(
            seq,
            round(sensor_time_s * 1e6),
            self.acc_mps2[first:stop],
            self.gyr_radps[first:stop],
            self.config,
            mag_ut=None if self.mag_ut is None else self.mag_ut[first:stop],
            resent=resent,
            boot_counter=boot,
        )

    async def _sample_loop(self) -> None:
        assert self._stream_t0_s is not None
        spp = self.config.samples_per_packet
        drops = self.faults.drops()
        reboots = sorted(self.faults.reboot_at_s)
        first = self._first_index()
        while first < self.n_samples:
            n = min(spp, self.n_samples - first)
            last_time_s = self._sample_time(first + n - 1)
            departure_s = self._departure_time(last_time_s)
            await self.radio.sleep_until(departure_s)
            self._sample_true_time_s[first : first + n] = [
                self._sample_time(i) for i in range(first, first + n)
            ]
            stream_s = last_time_s - self._stream_t0_s
            while reboots and reboots[0] <= stream_s:
                reboots.pop(0)
                await self._reboot(first)
            while drops and drops[0].at_s <= stream_s:
                drop = drops.pop(0)
                self.stats.link_drops += 1
                self._silent_until_s = self._stream_t0_s + drop.at_s + drop.duration_s
                logger.info("%s: link drop for %.2f s", self.name, drop.duration_s)
                await self._drop_link(HCI_CONNECTION_TIMEOUT)
            boot = self.config.boot_counter
            seq = self.seq
            self._buffer.append((seq, first, n, boot))
            self.stats.packets_sampled += 1
            self.seq += 1
            first += n
            await self._send_live(
                self._encode(seq, first - n, n, boot, resent=False), stream_s, departure_s
            )
        self.done.set()
        logger.info("%s: all %s samples taken", self.name, self.n_samples)

    async def _send_live(self, data: bytes, stream_s: float, departure_s: float) -> None:
        if not self.streaming or self.connection is None:
            self.stats.notifications_not_connected += 1
            return
        faults = self.faults
        if faults.burst_period_s > 0 and stream_s % faults.burst_period_s < faults.burst_hold_s:
            self._held.append(data)
            return
        pending, self._held = [*self._held, data], []
        in_window = faults.loss_window_s[0] <= stream_s < faults.loss_window_s[1]
        for value in pending:
            if in_window and self._rng.random() < faults.loss_fraction:
                self.stats.notifications_lost += 1
            elif await self._notify(self._data_char(), value, departure_s):
                self.stats.notifications_sent += 1
            else:
                self.stats.notifications_not_connected += 1
            if faults.garbage_fraction and self._rng.random() < faults.garbage_fraction:
                garbage = self._rng.randbytes(self._rng.randint(1, 40))
                if await self._notify(self._data_char(), garbage, departure_s):
                    self.stats.garbage_sent += 1

    def _data_char(self) -> gatt.Characteristic:
        assert self.data_char is not None
        return self.data_char

    async def _backfill(self, first_seq: int, last_seq: int) -> None:
        available = {entry[0]: entry for entry in self._buffer}
        missing = [s for s in range(first_seq, last_seq + 1) if s not in available]
        if missing:
            self._error = (profile.ERR_BACKFILL_UNAVAILABLE, profile.OP_BACKFILL)
            logger.info("%s: backfill of %s packets not in the buffer", self.name, len(missing))
        for seq in range(first_seq, last_seq + 1):
            entry = available.get(seq)
            if entry is None:
                continue
            _, first, n, boot = entry
            if boot != self.config.boot_counter:
                continue
            value = self._encode(seq, first, n, boot, resent=True)
            if await self._notify(self._data_char(), value):
                self.stats.packets_resent += 1

    async def _reboot(self, next_sample: int) -> None:
        """Restart: link drops, seq and sensor time restart, boot counter + 1, buffer cleared."""
        self.stats.reboots += 1
        logger.info("%s: reboot (boot counter %s)", self.name, self.config.boot_counter + 1)
        self.config = profile.SensorConfig(
            **{**self.config.__dict__, "boot_counter": (self.config.boot_counter + 1) & 0xFFFF}
        )
        self._buffer.clear()
        self._held.clear()
        self.seq = 0
        self._boot_sample = next_sample
        self._boot_offset_s = 0.05  # uptime of the first sample after boot
        self._silent_until_s = self.radio.now_s() + self.faults.reboot_downtime_s
        await self._drop_link(HCI_CONNECTION_TIMEOUT)

    def _on_disconnected(self) -> None:
        self._held.clear()


class SimulatedMovesense(_SimulatedPeripheral):
    """A Movesense sensor speaking the GATT SensorData protocol.

    Subscribing ``/Meas/IMU6/<rate>`` or ``/Meas/IMU9/<rate>`` (write ``[0x01, ref, path]``)
    starts sampling; each packet of ``samples_per_packet`` samples goes out as one notification,
    or as DATA + DATA_PART2 when it does not fit the MTU (IMU9 at 104 Hz, 8 samples). Movesense
    has no sequence numbers and no buffer; the timestamp is the sensor's uptime in ms.
    Parameters are those of :class:`SimulatedSensor` (``sampling_rate_hz`` should equal the
    subscribed rate: the arrays are streamed sample by sample at the subscribed rate).
    """

    protocol_service_uuid = ms.SERVICE_UUID

    def __init__(
        self,
        radio: SimulatedRadio,
        *,
        samples_per_packet: int = 8,
        **kwargs: object,
    ) -> None:
        super().__init__(radio, **kwargs)  # type: ignore[arg-type]
        self.samples_per_packet = samples_per_packet
        self.ref: int | None = None
        self.path: str | None = None
        self.notify_char: gatt.Characteristic | None = None

    def _build_services(self, device: Device) -> None:
        props = gatt.Characteristic.Properties
        write_char = gatt.Characteristic(
            ms.WRITE_CHAR_UUID,
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_command),
        )
        self.notify_char = gatt.Characteristic(
            ms.NOTIFY_CHAR_UUID, props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        device.add_service(gatt.Service(ms.SERVICE_UUID, [write_char, self.notify_char]))

    def _on_command(self, _connection: object, value: bytes) -> None:
        try:
            command, ref, path = ms.decode_command(bytes(value))
        except PacketError as exc:
            self.stats.bad_commands += 1
            logger.warning("%s: bad command %s: %s", self.name, bytes(value).hex(), exc)
            return
        if command == ms.CMD_SUBSCRIBE and path is not None:
            stream = ms.parse_path(path)
            if abs(stream.sampling_rate_hz - self.sampling_rate_hz) > 0.01 * self.sampling_rate_hz:
                logger.warning(
                    "%s: subscribed at %s Hz but the arrays are at %s Hz",
                    self.name,
                    stream.sampling_rate_hz,
                    self.sampling_rate_hz,
                )
            self.ref, self.path = ref, path
            if self._stream_t0_s is None:
                self._start_stream(self.radio.now_s())
                self._spawn(self._sample_loop(stream.n_quantities == 3), "sampling")
        elif command == ms.CMD_UNSUBSCRIBE and ref == self.ref:
            self.ref = None

    def _on_disconnected(self) -> None:
        self.ref = None  # Movesense subscriptions end with the link

    async def _sample_loop(self, with_mag: bool) -> None:
        assert self._stream_t0_s is not None
        assert self.notify_char is not None
        first = self._first_index()
        while first < self.n_samples:
            n = min(self.samples_per_packet, self.n_samples - first)
            last_time_s = self._sample_time(first + n - 1)
            departure_s = self._departure_time(last_time_s)
            await self.radio.sleep_until(departure_s)
            self._sample_true_time_s[first : first + n] = [
                self._sample_time(i) for i in range(first, first + n)
            ]
            self.stats.packets_sampled += 1
            stop = first + n
            timestamp_ms = round((self.clock_offset_s + first / self.sampling_rate_hz) * 1000.0)
            ref = self.ref
            connection = self.connection
            if ref is None or connection is None:
                self.stats.notifications_not_connected += 1
            elif self._rng.random() < self.faults.loss_fraction:
                self.stats.notifications_lost += 1
            else:
                mag = None
                if with_mag:
                    mag = self.mag_ut[first:stop] if self.mag_ut is not None else np.zeros((n, 3))
                parts = ms.encode_movesense_notifications(
                    ref,
                    timestamp_ms,
                    self.acc_mps2[first:stop],
                    self.gyr_radps[first:stop],
                    mag,
                    max_payload=connection.att_mtu - 3,
                )
                for part in parts:
                    await self._notify(self.notify_char, part, departure_s)
                self.stats.notifications_sent += 1
            first = stop
        self.done.set()
