"""Movesense GATT SensorData protocol (GSP) adapter: pure codec to :class:`DataPacket`.

Protocol (public Movesense "GATT SensorData Protocol" and its ``gatt_sensordata_app`` sample):

* service ``34802252-7185-4d5d-b431-630e7050e8f0``; the client writes commands to
  ``34800001-...`` and receives notifications on ``34800002-...`` (same root).
* subscribe: ``[0x01, ref, b"/Meas/IMU6/208"]``; unsubscribe: ``[0x02, ref]``.
* notification: ``[type u8][ref u8][timestamp u32 ms][float32 little-endian arrays]``,
  type 1 = command response, 2 = DATA, 3 = DATA_PART2. The arrays are grouped per quantity:
  all accelerometer samples (x, y, z each), then all gyroscope samples, then (IMU9) all
  magnetometer samples. A payload longer than one notification is split: the first part is sent
  as DATA, the rest as DATA_PART2 with only ``[type][ref]`` in front; the receiver re-joins them
  (``part1 + part2[2:]``). IMU9 at 104 Hz (8 samples, 294 bytes) always arrives split.
* units: acceleration m/s^2, angular rate **deg/s** (converted to rad/s here, in
  :data:`_DEG_TO_RAD` and nowhere else), magnetic field uT.
* timestamp: the Movesense API documents ``Timestamp`` as the "local timestamp of first
  measurement" (in the array of readings), in milliseconds of the sensor's uptime clock, so it
  maps onto ``DataPacket.sensor_time_us`` (first sample) as ``ms * 1000 mod 2**32``.

Movesense has no sequence number. :class:`MovesenseDecoder` synthesizes one per subscription
from the timestamp: ``seq = round((t - t_first) / packet_duration)``, so a lost notification
shows up as a sequence gap exactly as with the stridecue profile. There is no sensor buffer, so
such gaps can never be backfilled.
"""

from __future__ import annotations

import logging
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from firmware_bridge.errors import CorruptPacketError, ShortPacketError, UnknownPacketError
from firmware_bridge.profile import MAX_NOTIFICATION_PAYLOAD, SENSOR_TIME_WRAP_US, DataPacket

logger = logging.getLogger(__name__)

SERVICE_UUID: Final = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_CHAR_UUID: Final = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_CHAR_UUID: Final = "34800002-7185-4d5d-b431-630e7050e8f0"

CMD_HELLO: Final = 0x00
CMD_SUBSCRIBE: Final = 0x01
CMD_UNSUBSCRIBE: Final = 0x02
TYPE_RESPONSE: Final = 1
TYPE_DATA: Final = 2
TYPE_DATA_PART2: Final = 3

#: Bytes of ``[type][ref][timestamp u32]`` in front of the float arrays.
HEADER_SIZE: Final = 6
#: The only unit conversion of this module: Movesense gyroscope deg/s -> rad/s.
_DEG_TO_RAD: Final = math.pi / 180.0
#: Movesense ms timestamps expressed in u32 microseconds wrap like stridecue's.
_MS_TO_US: Final = 1000

_PATH_RE = re.compile(r"^/?Meas/IMU(6|9)/(\d+)$")
_HEADER = struct.Struct("<BBI")


@dataclass(frozen=True)
class MovesenseStream:
    """What a subscription path means.

    Parameters
    ----------
    path
        The subscription path, e.g. ``"/Meas/IMU9/104"``.
    n_quantities
        2 for IMU6 (acc, gyro), 3 for IMU9 (acc, gyro, mag).
    sampling_rate_hz
        From the path.
    samples_per_packet
        Expected samples per (re-joined) notification, or None to accept any whole number.
    """

    path: str
    n_quantities: int
    sampling_rate_hz: float
    samples_per_packet: int | None = None

    @property
    def sample_size(self) -> int:
        """Bytes per sample across all quantities (float32 x 3 per quantity)."""
        return 12 * self.n_quantities


def parse_path(path: str, samples_per_packet: int | None = None) -> MovesenseStream:
    """Interpret a subscription path (``/Meas/IMU6/<rate>`` or ``/Meas/IMU9/<rate>``).

    Raises
    ------
    ValueError
        For any other path (this adapter only decodes IMU6 and IMU9).
    """
    match = _PATH_RE.match(path)
    if match is None or int(match.group(2)) <= 0:
        raise ValueError(
            f"unsupported Movesense path {path!r}; use /Meas/IMU6/<hz> or /Meas/IMU9/<hz>"
        )
    return MovesenseStream(
        path=path,
        n_quantities=3 if match.group(1) == "9" else 2,
        sampling_rate_hz=float(match.group(2)),
        samples_per_packet=samples_per_packet,
    )


def encode_subscribe(ref: int, path: str) -> bytes:
    """Bytes to write to the Movesense write characteristic to subscribe ``path`` as ``ref``."""
    if not 0 <= ref <= 255:
        raise ValueError(f"ref must be 0..255, got {ref}")
    return bytes([CMD_SUBSCRIBE, ref]) + path.encode("ascii")


def encode_unsubscribe(ref: int) -> bytes:
    """Bytes to write to the Movesense write characteristic to end subscription ``ref``."""
    if not 0 <= ref <= 255:
        raise ValueError(f"ref must be 0..255, got {ref}")
    return bytes([CMD_UNSUBSCRIBE, ref])


def decode_command(data: bytes) -> tuple[int, int, str | None]:
    """Decode a command written to the Movesense write characteristic (for simulators).

    Returns
    -------
    tuple
        ``(command, ref, path)``; ``path`` is None for unsubscribe / hello.

    Raises
    ------
    ShortPacketError, UnknownPacketError, CorruptPacketError
    """
    data = bytes(data)
    if len(data) < 2:
        raise ShortPacketError(f"movesense command: {len(data)} bytes, expected at least 2")
    cmd, ref = data[0], data[1]
    if cmd == CMD_SUBSCRIBE:
        try:
            return cmd, ref, data[2:].decode("ascii")
        except UnicodeDecodeError as exc:
            raise CorruptPacketError("movesense subscribe: path is not ASCII") from exc
    if cmd in (CMD_UNSUBSCRIBE, CMD_HELLO):
        if len(data) != 2:
            raise CorruptPacketError(f"movesense command {cmd}: {len(data)} bytes, expected 2")
        return cmd, ref, None
    raise UnknownPacketError(f"movesense command: unknown command 0x{cmd:02x}")


def encode_movesense_notifications(
    ref: int,
    timestamp_ms: int,
    acc_mps2: npt.ArrayLike,
    gyr_radps: npt.ArrayLike,
    mag_ut: npt.ArrayLike | None = None,
    *,
    max_payload: int = MAX_NOTIFICATION_PAYLOAD,
) -> list[bytes]:
    """The notification(s) a Movesense sends for one packet of samples (for simulators).

    Parameters
    ----------
    ref
        Subscription reference.
    timestamp_ms
        Sensor time of the first sample in ms (taken modulo 2**32).
    acc_mps2, gyr_radps
        Shape (n, 3); the gyroscope is sent in deg/s as Movesense does.
    mag_ut
        Shape (n, 3) for IMU9, None for IMU6.
    max_payload
        Notification size limit (ATT MTU - 3); longer payloads are split into DATA + DATA_PART2.

    Returns
    -------
    list of bytes
        One notification, or two (DATA, DATA_PART2) when the payload does not fit.
    """
    acc = np.asarray(acc_mps2, dtype="<f4")
    arrays = [acc, np.asarray(gyr_radps, dtype=np.float64) / _DEG_TO_RAD]
    if mag_ut is not None:
        arrays.append(np.asarray(mag_ut))
    n = acc.shape[0]
    for arr in arrays:
        if arr.shape != (n, 3):
            raise ValueError(f"all arrays must have shape ({n}, 3), got {arr.shape}")
    body = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in arrays)
    payload = _HEADER.pack(TYPE_DATA, ref, timestamp_ms & 0xFFFFFFFF) + body
    if len(payload) <= max_payload:
        return [payload]
    first, rest = payload[:max_payload], payload[max_payload:]
    if len(rest) + 2 > max_payload:
        raise ValueError(f"{n} samples need more than two notifications of {max_payload} bytes")
    return [first, bytes([TYPE_DATA_PART2, ref]) + rest]


class MovesenseDecoder:
    """Stateful decoder of Movesense notifications: re-joins split packets, synthesizes seq.

    Parameters
    ----------
    subscriptions
        ``{ref: path}`` of active subscriptions, or None to register them with :meth:`subscribe`.
    samples_per_packet
        Optional ``{ref: n}``: the number of samples each notification carries. With it, a
        DATA part is known to be incomplete from its length alone; without it, a DATA part
        whose float arrays are a whole number of samples is taken as complete.
    """

    def __init__(
        self,
        subscriptions: Mapping[int, str] | None = None,
        *,
        samples_per_packet: Mapping[int, int] | None = None,
    ) -> None:
        self.subscriptions = dict(subscriptions or {})
        self.samples_per_packet = dict(samples_per_packet or {})
        self._streams: dict[int, MovesenseStream] = {}
        self._pending: dict[int, bytes] = {}
        self._first_time_ms: dict[int, int] = {}
        self._last_time_ms: dict[int, int] = {}
        self._time_base_ms: dict[int, int] = {}
        for ref, path in self.subscriptions.items():
            self._streams[ref] = parse_path(path, self.samples_per_packet.get(ref))

    def subscribe(self, ref: int, path: str, samples_per_packet: int | None = None) -> bytes:
        """Register a subscription and return the command bytes to write for it."""
        command = encode_subscribe(ref, path)
        self._streams[ref] = parse_path(path, samples_per_packet)
        self.subscriptions[ref] = path
        self._reset(ref)
        return command

    def unsubscribe(self, ref: int) -> bytes:
        """Forget a subscription and return the command bytes to write."""
        self._streams.pop(ref, None)
        self.subscriptions.pop(ref, None)
        self._reset(ref)
        return encode_unsubscribe(ref)

    def _reset(self, ref: int) -> None:
        for table in (self._pending, self._first_time_ms, self._last_time_ms, self._time_base_ms):
            table.pop(ref, None)

    def stream(self, ref: int) -> MovesenseStream:
        """The stream registered under ``ref``."""
        return self._streams[ref]

    def feed(self, data: bytes) -> DataPacket | None:
        """Decode one notification.

        Returns
        -------
        DataPacket or None
            A packet when one is complete; None for a DATA part awaiting its DATA_PART2 or a
            command response.

        Raises
        ------
        ShortPacketError, CorruptPacketError, UnknownPacketError
            The notification cannot be decoded. The decoder state stays consistent.
        """
        data = bytes(data)
        if len(data) < 2:
            raise ShortPacketError(f"movesense: {len(data)} bytes, expected at least 2")
        kind, ref = data[0], data[1]
        if kind == TYPE_RESPONSE:
            logger.debug("movesense: command response for ref %s: %s", ref, data[2:].hex())
            return None
        if kind not in (TYPE_DATA, TYPE_DATA_PART2):
            raise UnknownPacketError(f"movesense: unknown notification type {kind}")
        stream = self._streams.get(ref)
        if stream is None:
            raise UnknownPacketError(
                f"movesense: data for ref {ref}, which was never subscribed (known: "
                f"{sorted(self._streams)})"
            )
        if kind == TYPE_DATA_PART2:
            first = self._pending.pop(ref, None)
            if first is None:
                raise CorruptPacketError(
                    f"movesense: DATA_PART2 for ref {ref} without its DATA part (lost or "
                    "already taken as complete: pass samples_per_packet)"
                )
            return self._decode(ref, stream, first + data[2:])
        if ref in self._pending:
            logger.warning("movesense: ref %s: DATA part never completed, dropped", ref)
            del self._pending[ref]
        if len(data) < HEADER_SIZE:
            raise ShortPacketError(f"movesense: {len(data)} bytes, header is {HEADER_SIZE}")
        body = len(data) - HEADER_SIZE
        if stream.samples_per_packet is not None:
            complete = body >= stream.samples_per_packet * stream.sample_size
        else:
            complete = body > 0 and body % stream.sample_size == 0
        if not complete:
            self._pending[ref] = data
            return None
        return self._decode(ref, stream, data)

    def _decode(self, ref: int, stream: MovesenseStream, data: bytes) -> DataPacket:
        body = len(data) - HEADER_SIZE
        size = stream.sample_size
        if body <= 0 or body % size:
            raise CorruptPacketError(
                f"movesense: {body} data bytes for ref {ref} are not whole {size}-byte samples"
            )
        n = body // size
        if stream.samples_per_packet is not None and n != stream.samples_per_packet:
            raise CorruptPacketError(
                f"movesense: {n} samples for ref {ref}, expected {stream.samples_per_packet}"
            )
        _kind, _ref, time_ms = _HEADER.unpack_from(data)
        with np.errstate(invalid="ignore", over="ignore"):  # garbage bytes may be NaN patterns
            values = np.frombuffer(data, dtype="<f4", offset=HEADER_SIZE).astype(np.float64)
        values = values.reshape(stream.n_quantities, n, 3)
        if not np.isfinite(values).all():
            raise CorruptPacketError(f"movesense: non-finite values for ref {ref}")
        period_s = 1.0 / stream.sampling_rate_hz
        seq = self._synth_seq(ref, time_ms, n * period_s * 1000.0)
        return DataPacket(
            seq=seq,
            sensor_time_us=(time_ms * _MS_TO_US) % SENSOR_TIME_WRAP_US,
            boot_counter=0,
            resent=False,
            acc_mps2=values[0],
            gyr_radps=values[1] * _DEG_TO_RAD,
            mag_ut=values[2] if stream.n_quantities == 3 else None,
            sample_period_s=period_s,
        )

    def _synth_seq(self, ref: int, time_ms: int, packet_ms: float) -> int:
        """Packets since the first of this subscription, from the (u32-unwrapped) ms clock."""
        if ref not in self._first_time_ms:
            self._first_time_ms[ref] = time_ms
            self._time_base_ms[ref] = 0
        else:
            last = self._last_time_ms[ref]
            if time_ms < last and last - time_ms > 1 << 31:
                self._time_base_ms[ref] += 1 << 32
        self._last_time_ms[ref] = time_ms
        elapsed_ms = time_ms + self._time_base_ms[ref] - self._first_time_ms[ref]
        return int(round(elapsed_ms / packet_ms)) & 0xFFFFFFFF
