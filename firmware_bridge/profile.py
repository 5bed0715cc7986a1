"""The stridecue GATT profile v1: UUIDs and pure codecs (bytes <-> typed values).

The byte layouts are specified in ``docs/gatt_profile.md``; this module is the reference
implementation. Everything is little-endian. Nothing here does I/O.

Decoders raise only the :class:`~firmware_bridge.errors.PacketError` family and never return
garbage silently: lengths are checked exactly, reserved bits must be zero, and the data, config
and status characteristics carry a CRC-16/CCITT-FALSE (``binascii.crc_hqx(payload, 0xFFFF)``)
in their last two bytes.
"""

from __future__ import annotations

import binascii
import logging
import math
import struct
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from firmware_bridge.errors import (
    CorruptPacketError,
    ShortPacketError,
    UnknownPacketError,
    UnsupportedVersionError,
)
from stridecue.constants import GRAVITY_MPS2

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Profile version written in every data, config and status payload.
PROFILE_VERSION: Final = 1

# --- UUIDs (128-bit, random, fixed for v1; "5374" = "St") ------------------------------------
SERVICE_UUID: Final = "53740001-9c6b-4d1e-8f3a-2b7e5d40c1a9"
DATA_CHAR_UUID: Final = "53740002-9c6b-4d1e-8f3a-2b7e5d40c1a9"
CONFIG_CHAR_UUID: Final = "53740003-9c6b-4d1e-8f3a-2b7e5d40c1a9"
CONTROL_CHAR_UUID: Final = "53740004-9c6b-4d1e-8f3a-2b7e5d40c1a9"
STATUS_CHAR_UUID: Final = "53740005-9c6b-4d1e-8f3a-2b7e5d40c1a9"

# --- data characteristic -----------------------------------------------------------------------
#: Flag bits of the data header.
FLAG_MAGNETOMETER: Final = 0x01
FLAG_RESENT: Final = 0x02
_DATA_FLAGS_KNOWN: Final = FLAG_MAGNETOMETER | FLAG_RESENT

_DATA_HEADER = struct.Struct("<BBHIIBB")  # version, flags, boot, seq, time_us, count, reserved
#: Bytes before the first sample.
DATA_HEADER_SIZE: Final = _DATA_HEADER.size  # 14
#: Bytes of the trailing CRC-16.
CRC_SIZE: Final = 2
#: Bytes per sample without / with magnetometer (int16 per axis).
SAMPLE_SIZE_6D: Final = 12
SAMPLE_SIZE_9D: Final = 18
#: ATT payload of one notification at an ATT MTU of 247 (MTU - 3).
MAX_NOTIFICATION_PAYLOAD: Final = 244
#: Largest sample_count that fits one notification (19 without, 12 with magnetometer).
MAX_SAMPLES_6D: Final = (MAX_NOTIFICATION_PAYLOAD - DATA_HEADER_SIZE - CRC_SIZE) // SAMPLE_SIZE_6D
MAX_SAMPLES_9D: Final = (MAX_NOTIFICATION_PAYLOAD - DATA_HEADER_SIZE - CRC_SIZE) // SAMPLE_SIZE_9D
#: Largest and smallest int16 the encoder produces (saturation is symmetric; -32768 unused).
INT16_MAX: Final = 32767
#: Sensor timestamps are u32 microseconds: they wrap after this many microseconds (71.6 min).
SENSOR_TIME_WRAP_US: Final = 1 << 32

# --- config characteristic ---------------------------------------------------------------------
CAP_HAPTIC: Final = 0x01
CAP_MAGNETOMETER: Final = 0x02
CAP_BACKFILL: Final = 0x04
_CAPS_KNOWN: Final = CAP_HAPTIC | CAP_MAGNETOMETER | CAP_BACKFILL
_NAME_SIZE: Final = 16
# version, caps, boot, rate, acc_range, gyr_range, mag_range, acc_lsb, gyr_lsb, mag_lsb,
# samples_per_packet, reserved, buffer_capacity, model[16], firmware[16]
_CONFIG = struct.Struct("<BBHfffffffBBI16s16s")
#: Total length of the config value including its CRC (72 bytes).
CONFIG_SIZE: Final = _CONFIG.size + CRC_SIZE

# --- status characteristic ---------------------------------------------------------------------
# version, battery_pct, boot, buffer_fill, reserved, oldest_seq, newest_seq, error, error_opcode
_STATUS = struct.Struct("<BBHHHIIBB")
#: Total length of the status value including its CRC (20 bytes).
STATUS_SIZE: Final = _STATUS.size + CRC_SIZE

# --- control characteristic --------------------------------------------------------------------
OP_START: Final = 0x01
OP_STOP: Final = 0x02
OP_SET_RATE: Final = 0x03
OP_SET_TIME: Final = 0x04
OP_BUZZ: Final = 0x05
OP_BACKFILL: Final = 0x06
#: At most this many on/off durations in one buzz pattern.
MAX_BUZZ_STEPS: Final = 16

#: Status error codes (``StatusReport.error_code``).
ERR_NONE: Final = 0x00
ERR_UNKNOWN_OPCODE: Final = 0x01
ERR_BAD_LENGTH: Final = 0x02
ERR_RATE_UNSUPPORTED: Final = 0x03
ERR_BACKFILL_UNAVAILABLE: Final = 0x04
ERR_NO_HAPTIC: Final = 0x05
ERR_BUFFER_OVERFLOW: Final = 0x06
ERR_SENSOR_FAULT: Final = 0x07
ERROR_NAMES: Final = {
    ERR_NONE: "none",
    ERR_UNKNOWN_OPCODE: "unknown opcode",
    ERR_BAD_LENGTH: "bad command length",
    ERR_RATE_UNSUPPORTED: "sampling rate not supported",
    ERR_BACKFILL_UNAVAILABLE: "requested packets no longer in the buffer",
    ERR_NO_HAPTIC: "no haptic motor",
    ERR_BUFFER_OVERFLOW: "sensor buffer overflowed (packets dropped before sending)",
    ERR_SENSOR_FAULT: "IMU fault",
}


def f32(value: float) -> float:
    """Round to the nearest float32, as the config characteristic stores it."""
    return float(np.float32(value))


def _crc(payload: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    return binascii.crc_hqx(payload, 0xFFFF)


def _append_crc(payload: bytes) -> bytes:
    return payload + _crc(payload).to_bytes(2, "little")


def _check_crc(data: bytes, what: str) -> None:
    got = int.from_bytes(data[-2:], "little")
    want = _crc(memoryview(data)[:-2])
    if got != want:
        raise CorruptPacketError(
            f"{what}: CRC mismatch (got 0x{got:04x}, computed 0x{want:04x}); the notification "
            "was damaged or the firmware computes the CRC differently (see docs/gatt_profile.md)"
        )


# =============================================================================================
# Config
# =============================================================================================
@dataclass(frozen=True)
class SensorConfig:
    """What a sensor reports on its config characteristic.

    Parameters
    ----------
    model, firmware
        Free text, at most 16 UTF-8 bytes each.
    sampling_rate_hz
        Output data rate; samples in a packet are spaced ``1 / sampling_rate_hz`` apart.
    acc_lsb_mps2, gyr_lsb_radps, mag_lsb_ut
        Scale of one int16 count in SI units; ``mag_lsb_ut`` is None without a magnetometer.
    samples_per_packet
        Samples the sensor puts in each data notification (the last one may hold fewer).
    buffer_capacity_packets
        Packets the sensor keeps for backfill.
    boot_counter
        Incremented by the firmware at every boot (u16, wraps).
    acc_range_mps2, gyr_range_radps, mag_range_ut
        Full-scale ranges (+-); None for the magnetometer range when absent.
    haptic, backfill
        Capabilities: a vibration motor; answers backfill requests.

    Notes
    -----
    The characteristic stores floats as float32: ``decode_config(encode_config(cfg)) == cfg``
    holds exactly when every float field is float32-representable (see :func:`f32`; the
    defaults are).
    """

    model: str = "stridecue-sim"
    firmware: str = "1.0.0"
    sampling_rate_hz: float = 200.0
    acc_lsb_mps2: float = f32(16.0 * GRAVITY_MPS2 / 32768.0)
    gyr_lsb_radps: float = f32(math.radians(2000.0) / 32768.0)
    mag_lsb_ut: float | None = None
    samples_per_packet: int = 10
    buffer_capacity_packets: int = 4096
    boot_counter: int = 0
    acc_range_mps2: float = f32(16.0 * GRAVITY_MPS2)
    gyr_range_radps: float = f32(math.radians(2000.0))
    mag_range_ut: float | None = None
    haptic: bool = True
    backfill: bool = True

    @property
    def magnetometer(self) -> bool:
        """True when the sensor has a magnetometer (``mag_lsb_ut`` is set)."""
        return self.mag_lsb_ut is not None

    @property
    def sample_period_s(self) -> float:
        """Time between two consecutive samples in seconds."""
        return 1.0 / self.sampling_rate_hz


def _encode_name(text: str, what: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > _NAME_SIZE:
        raise ValueError(f"{what} {text!r} is longer than {_NAME_SIZE} UTF-8 bytes")
    return raw.ljust(_NAME_SIZE, b"\0")


def _decode_name(raw: bytes, what: str) -> str:
    try:
        return raw.rstrip(b"\0").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptPacketError(f"config: {what} is not valid UTF-8") from exc


def encode_config(cfg: SensorConfig) -> bytes:
    """Encode a :class:`SensorConfig` as the config characteristic value (72 bytes).

    Parameters
    ----------
    cfg
        The configuration.

    Returns
    -------
    bytes
        The characteristic value, CRC included.
    """
    caps = (
        (CAP_HAPTIC if cfg.haptic else 0)
        | (CAP_MAGNETOMETER if cfg.magnetometer else 0)
        | (CAP_BACKFILL if cfg.backfill else 0)
    )
    nan = float("nan")
    payload = _CONFIG.pack(
        PROFILE_VERSION,
        caps,
        cfg.boot_counter & 0xFFFF,
        cfg.sampling_rate_hz,
        cfg.acc_range_mps2,
        cfg.gyr_range_radps,
        nan if cfg.mag_range_ut is None else cfg.mag_range_ut,
        cfg.acc_lsb_mps2,
        cfg.gyr_lsb_radps,
        nan if cfg.mag_lsb_ut is None else cfg.mag_lsb_ut,
        cfg.samples_per_packet,
        0,
        cfg.buffer_capacity_packets,
        _encode_name(cfg.model, "model"),
        _encode_name(cfg.firmware, "firmware"),
    )
    return _append_crc(payload)


def _positive_finite(value: float, what: str) -> float:
    if not (math.isfinite(value) and value > 0.0):
        raise CorruptPacketError(f"config: {what} is {value!r}, expected a positive finite number")
    return float(value)


def decode_config(data: bytes) -> SensorConfig:
    """Decode the config characteristic value.

    Parameters
    ----------
    data
        The 72-byte value read from the config characteristic.

    Returns
    -------
    SensorConfig

    Raises
    ------
    ShortPacketError, CorruptPacketError, UnsupportedVersionError
        The value is truncated, damaged or from another profile version.
    """
    data = bytes(data)
    if len(data) < 1:
        raise ShortPacketError("config: empty value")
    if data[0] != PROFILE_VERSION:
        raise UnsupportedVersionError(
            f"config: profile version {data[0]}, this stridecue speaks version {PROFILE_VERSION}"
        )
    if len(data) < CONFIG_SIZE:
        raise ShortPacketError(f"config: {len(data)} bytes, expected {CONFIG_SIZE}")
    if len(data) > CONFIG_SIZE:
        raise CorruptPacketError(f"config: {len(data)} bytes, expected {CONFIG_SIZE}")
    _check_crc(data, "config")
    (
        _version,
        caps,
        boot,
        rate,
        acc_range,
        gyr_range,
        mag_range,
        acc_lsb,
        gyr_lsb,
        mag_lsb,
        spp,
        reserved,
        capacity,
        model,
        firmware,
    ) = _CONFIG.unpack_from(data)
    if caps & ~_CAPS_KNOWN or reserved:
        raise CorruptPacketError(f"config: reserved bits set (caps 0x{caps:02x}, {reserved})")
    has_mag = bool(caps & CAP_MAGNETOMETER)
    max_spp = MAX_SAMPLES_9D if has_mag else MAX_SAMPLES_6D
    if not 1 <= spp <= max_spp:
        raise CorruptPacketError(f"config: samples_per_packet {spp} outside 1..{max_spp}")
    return SensorConfig(
        model=_decode_name(model, "model"),
        firmware=_decode_name(firmware, "firmware"),
        sampling_rate_hz=_positive_finite(rate, "sampling_rate_hz"),
        acc_lsb_mps2=_positive_finite(acc_lsb, "acc_lsb_mps2"),
        gyr_lsb_radps=_positive_finite(gyr_lsb, "gyr_lsb_radps"),
        mag_lsb_ut=_positive_finite(mag_lsb, "mag_lsb_ut") if has_mag else None,
        samples_per_packet=spp,
        buffer_capacity_packets=capacity,
        boot_counter=boot,
        acc_range_mps2=_positive_finite(acc_range, "acc_range_mps2"),
        gyr_range_radps=_positive_finite(gyr_range, "gyr_range_radps"),
        mag_range_ut=_positive_finite(mag_range, "mag_range_ut") if has_mag else None,
        haptic=bool(caps & CAP_HAPTIC),
        backfill=bool(caps & CAP_BACKFILL),
    )


# =============================================================================================
# Data
# =============================================================================================
@dataclass(frozen=True, eq=False)
class DataPacket:
    """One decoded data notification (stridecue or Movesense).

    Parameters
    ----------
    seq
        Packet sequence number (u32; +1 per packet, 0 after a reboot). Synthesized per
        subscription for Movesense.
    sensor_time_us
        Sensor time of the first sample, u32 microseconds (wraps every 71.6 min).
    boot_counter
        The sensor's boot counter (0 for Movesense).
    resent
        True when the packet was resent from the sensor's buffer (backfill).
    acc_mps2, gyr_radps
        Arrays of shape (n, 3), float64, sensor frame.
    mag_ut
        Array of shape (n, 3) or None.
    sample_period_s
        Spacing of the samples in seconds.
    """

    seq: int
    sensor_time_us: int
    boot_counter: int
    resent: bool
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    mag_ut: FloatArray | None = None
    sample_period_s: float = field(default=0.005)

    @property
    def n_samples(self) -> int:
        """Number of samples in the packet."""
        return int(self.acc_mps2.shape[0])


def _quantise(values: npt.ArrayLike, lsb: float, n: int, what: str) -> npt.NDArray[np.int16]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n, 3):
        raise ValueError(f"{what} must have shape ({n}, 3), got {arr.shape}")
    counts = np.rint(np.nan_to_num(arr / lsb, nan=0.0))
    return np.clip(counts, -INT16_MAX, INT16_MAX).astype(np.int16)


def encode_data_packet(
    seq: int,
    sensor_time_us: int,
    acc_mps2: npt.ArrayLike,
    gyr_radps: npt.ArrayLike,
    cfg: SensorConfig,
    *,
    mag_ut: npt.ArrayLike | None = None,
    resent: bool = False,
    boot_counter: int | None = None,
) -> bytes:
    """Encode one data notification, quantising to int16 with saturation.

    Parameters
    ----------
    seq
        Packet sequence number (taken modulo 2**32).
    sensor_time_us
        Sensor time of the first sample in microseconds (taken modulo 2**32).
    acc_mps2, gyr_radps
        Shape (n, 3) in m/s^2 and rad/s.
    cfg
        Gives the LSB scales.
    mag_ut
        Shape (n, 3) in uT, or None. Requires ``cfg.mag_lsb_ut``.
    resent
        Set the backfill flag.
    boot_counter
        Defaults to ``cfg.boot_counter``.

    Returns
    -------
    bytes
        ``14 + n * (12 or 18) + 2`` bytes.
    """
    acc = np.asarray(acc_mps2, dtype=np.float64)
    n = int(acc.shape[0]) if acc.ndim == 2 else -1
    max_n = MAX_SAMPLES_9D if mag_ut is not None else MAX_SAMPLES_6D
    if not 1 <= n <= max_n:
        raise ValueError(f"a data packet holds 1..{max_n} samples of shape (n, 3), got {acc.shape}")
    parts = [_quantise(acc, cfg.acc_lsb_mps2, n, "acc_mps2"),
             _quantise(gyr_radps, cfg.gyr_lsb_radps, n, "gyr_radps")]
    flags = FLAG_RESENT if resent else 0
    if mag_ut is not None:
        if cfg.mag_lsb_ut is None:
            raise ValueError("mag_ut given but the config has no magnetometer (mag_lsb_ut None)")
        parts.append(_quantise(mag_ut, cfg.mag_lsb_ut, n, "mag_ut"))
        flags |= FLAG_MAGNETOMETER
    body = np.hstack(parts).astype("<i2").tobytes()
    boot = cfg.boot_counter if boot_counter is None else boot_counter
    header = _DATA_HEADER.pack(
        PROFILE_VERSION, flags, boot & 0xFFFF, seq & 0xFFFFFFFF, sensor_time_us & 0xFFFFFFFF, n, 0
    )
    return _append_crc(header + body)


def decode_data_packet(data: bytes, cfg: SensorConfig) -> DataPacket:
    """Decode one data notification.

    Parameters
    ----------
    data
        The notification value.
    cfg
        The sensor's config (LSB scales and rate).

    Returns
    -------
    DataPacket

    Raises
    ------
    ShortPacketError
        Fewer bytes than the header plus ``sample_count`` samples plus CRC.
    CorruptPacketError
        CRC mismatch, reserved bits set, a count of 0 or above the maximum, extra bytes, or a
        magnetometer flag on a sensor whose config has none.
    UnsupportedVersionError
        A version other than 1.
    """
    size = len(data)
    if size < DATA_HEADER_SIZE:
        if size >= 1 and data[0] != PROFILE_VERSION:
            raise UnsupportedVersionError(
                f"data: profile version {data[0]}, this stridecue speaks version {PROFILE_VERSION}"
            )
        raise ShortPacketError(f"data: {size} bytes, the header alone is {DATA_HEADER_SIZE}")
    version, flags, boot, seq, time_us, count, reserved = _DATA_HEADER.unpack_from(data)
    if version != PROFILE_VERSION:
        raise UnsupportedVersionError(
            f"data: profile version {version}, this stridecue speaks version {PROFILE_VERSION}"
        )
    has_mag = flags & FLAG_MAGNETOMETER
    width = 9 if has_mag else 6
    expected = DATA_HEADER_SIZE + count * 2 * width + CRC_SIZE
    if size < expected:
        raise ShortPacketError(f"data: {size} bytes, {count} samples need {expected}")
    if size > expected:
        raise CorruptPacketError(f"data: {size} bytes, {count} samples need exactly {expected}")
    _check_crc(data, "data")
    if flags & ~_DATA_FLAGS_KNOWN or reserved:
        raise CorruptPacketError(f"data: reserved bits set (flags 0x{flags:02x}, {reserved})")
    max_n = MAX_SAMPLES_9D if has_mag else MAX_SAMPLES_6D
    if not 1 <= count <= max_n:
        raise CorruptPacketError(f"data: sample_count {count} outside 1..{max_n}")
    if has_mag and cfg.mag_lsb_ut is None:
        raise CorruptPacketError(
            "data: magnetometer flag set but the sensor config has no magnetometer; re-read config"
        )
    raw = np.frombuffer(data, dtype="<i2", count=count * width, offset=DATA_HEADER_SIZE)
    raw = raw.reshape(count, width)
    acc = raw[:, 0:3] * cfg.acc_lsb_mps2
    gyr = raw[:, 3:6] * cfg.gyr_lsb_radps
    mag = raw[:, 6:9] * cfg.mag_lsb_ut if has_mag and cfg.mag_lsb_ut is not None else None
    return DataPacket(
        seq=seq,
        sensor_time_us=time_us,
        boot_counter=boot,
        resent=bool(flags & FLAG_RESENT),
        acc_mps2=acc,
        gyr_radps=gyr,
        mag_ut=mag,
        sample_period_s=1.0 / cfg.sampling_rate_hz,
    )


# =============================================================================================
# Control
# =============================================================================================
@dataclass(frozen=True)
class Start:
    """Start streaming data notifications."""


@dataclass(frozen=True)
class Stop:
    """Stop streaming (the buffer is kept for backfill)."""


@dataclass(frozen=True)
class SetRate:
    """Set the sampling rate (integer Hz, 1..65535); takes effect at the next packet."""

    sampling_rate_hz: int


@dataclass(frozen=True)
class SetTime:
    """Tell the sensor the host time (u64 microseconds); informational, for logging."""

    host_time_us: int


@dataclass(frozen=True)
class Buzz:
    """Vibrate: alternating on/off durations in ms, starting with on (1..16 steps, u16 each)."""

    pattern_ms: tuple[int, ...]


@dataclass(frozen=True)
class Backfill:
    """Resend packets ``first_seq..last_seq`` (inclusive) from the buffer, flagged resent."""

    first_seq: int
    last_seq: int


ControlCommand = Start | Stop | SetRate | SetTime | Buzz | Backfill

_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")
_BACKFILL = struct.Struct("<II")


def encode_control(cmd: ControlCommand) -> bytes:
    """Encode a control command as the bytes to write to the control characteristic.

    Parameters
    ----------
    cmd
        One of :class:`Start`, :class:`Stop`, :class:`SetRate`, :class:`SetTime`, :class:`Buzz`,
        :class:`Backfill`.

    Returns
    -------
    bytes
        Opcode byte followed by the little-endian arguments.
    """
    if isinstance(cmd, Start):
        return bytes([OP_START])
    if isinstance(cmd, Stop):
        return bytes([OP_STOP])
    if isinstance(cmd, SetRate):
        if not 1 <= cmd.sampling_rate_hz <= 0xFFFF:
            raise ValueError(f"sampling_rate_hz must be 1..65535, got {cmd.sampling_rate_hz}")
        return bytes([OP_SET_RATE]) + _U16.pack(int(cmd.sampling_rate_hz))
    if isinstance(cmd, SetTime):
        return bytes([OP_SET_TIME]) + _U64.pack(cmd.host_time_us & 0xFFFFFFFFFFFFFFFF)
    if isinstance(cmd, Buzz):
        steps = len(cmd.pattern_ms)
        if not 1 <= steps <= MAX_BUZZ_STEPS:
            raise ValueError(f"a buzz pattern has 1..{MAX_BUZZ_STEPS} steps, got {steps}")
        if any(not 0 <= ms <= 0xFFFF for ms in cmd.pattern_ms):
            raise ValueError(f"buzz durations must be 0..65535 ms, got {cmd.pattern_ms}")
        return bytes([OP_BUZZ, steps]) + struct.pack(f"<{steps}H", *cmd.pattern_ms)
    if isinstance(cmd, Backfill):
        return bytes([OP_BACKFILL]) + _BACKFILL.pack(
            cmd.first_seq & 0xFFFFFFFF, cmd.last_seq & 0xFFFFFFFF
        )
    raise TypeError(f"not a control command: {cmd!r}")


def _expect_len(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise ShortPacketError(f"control {what}: {len(data)} bytes, expected {n}")
    if len(data) > n:
        raise CorruptPacketError(f"control {what}: {len(data)} bytes, expected {n}")


def decode_control(data: bytes) -> ControlCommand:
    """Decode bytes written to the control characteristic (used by simulated sensors).

    Parameters
    ----------
    data
        The written value.

    Returns
    -------
    ControlCommand

    Raises
    ------
    ShortPacketError, CorruptPacketError, UnknownPacketError
        Truncated, wrong length / impossible argument, or unknown opcode.
    """
    data = bytes(data)
    if not data:
        raise ShortPacketError("control: empty write")
    op = data[0]
    if op == OP_START:
        _expect_len(data, 1, "start")
        return Start()
    if op == OP_STOP:
        _expect_len(data, 1, "stop")
        return Stop()
    if op == OP_SET_RATE:
        _expect_len(data, 3, "set rate")
        rate = _U16.unpack_from(data, 1)[0]
        if rate == 0:
            raise CorruptPacketError("control set rate: 0 Hz")
        return SetRate(rate)
    if op == OP_SET_TIME:
        _expect_len(data, 9, "set time")
        return SetTime(_U64.unpack_from(data, 1)[0])
    if op == OP_BUZZ:
        if len(data) < 2:
            raise ShortPacketError("control buzz: missing step count")
        steps = data[1]
        if not 1 <= steps <= MAX_BUZZ_STEPS:
            raise CorruptPacketError(f"control buzz: {steps} steps, expected 1..{MAX_BUZZ_STEPS}")
        _expect_len(data, 2 + 2 * steps, "buzz")
        return Buzz(tuple(struct.unpack_from(f"<{steps}H", data, 2)))
    if op == OP_BACKFILL:
        _expect_len(data, 9, "backfill")
        first, last = _BACKFILL.unpack_from(data, 1)
        return Backfill(first, last)
    raise UnknownPacketError(f"control: unknown opcode 0x{op:02x}")


# =============================================================================================
# Status
# =============================================================================================
@dataclass(frozen=True)
class StatusReport:
    """The status characteristic: battery, buffer and the last error.

    Parameters
    ----------
    battery_percent
        0..100.
    buffer_fill_packets
        Packets currently held for backfill.
    oldest_seq, newest_seq
        Oldest and newest sequence numbers still in the buffer (equal and meaningless when the
        buffer is empty).
    error_code
        One of the ``ERR_*`` codes; 0 = none.
    error_opcode
        The control opcode that caused ``error_code`` (0 when not caused by a command).
    boot_counter
        The sensor's boot counter.
    """

    battery_percent: int
    buffer_fill_packets: int
    oldest_seq: int
    newest_seq: int
    error_code: int = ERR_NONE
    error_opcode: int = 0
    boot_counter: int = 0

    @property
    def error_name(self) -> str:
        """Human-readable error."""
        return ERROR_NAMES.get(self.error_code, f"error 0x{self.error_code:02x}")


def encode_status(status: StatusReport) -> bytes:
    """Encode a :class:`StatusReport` (20 bytes, CRC included)."""
    if not 0 <= status.battery_percent <= 100:
        raise ValueError(f"battery_percent must be 0..100, got {status.battery_percent}")
    payload = _STATUS.pack(
        PROFILE_VERSION,
        status.battery_percent,
        status.boot_counter & 0xFFFF,
        min(status.buffer_fill_packets, 0xFFFF),
        0,
        status.oldest_seq & 0xFFFFFFFF,
        status.newest_seq & 0xFFFFFFFF,
        status.error_code,
        status.error_opcode,
    )
    return _append_crc(payload)


def decode_status(data: bytes) -> StatusReport:
    """Decode the status characteristic value.

    Raises
    ------
    ShortPacketError, CorruptPacketError, UnsupportedVersionError
        Truncated, damaged (CRC, battery above 100, reserved bytes) or another version.
    """
    data = bytes(data)
    if not data:
        raise ShortPacketError("status: empty value")
    if data[0] != PROFILE_VERSION:
        raise UnsupportedVersionError(
            f"status: profile version {data[0]}, this stridecue speaks version {PROFILE_VERSION}"
        )
    if len(data) < STATUS_SIZE:
        raise ShortPacketError(f"status: {len(data)} bytes, expected {STATUS_SIZE}")
    if len(data) > STATUS_SIZE:
        raise CorruptPacketError(f"status: {len(data)} bytes, expected {STATUS_SIZE}")
    _check_crc(data, "status")
    _v, battery, boot, fill, reserved, oldest, newest, err, err_op = _STATUS.unpack_from(data)
    if battery > 100 or reserved:
        raise CorruptPacketError(f"status: battery {battery} % / reserved {reserved} impossible")
    return StatusReport(
        battery_percent=battery,
        buffer_fill_packets=fill,
        oldest_seq=oldest,
        newest_seq=newest,
        error_code=err,
        error_opcode=err_op,
        boot_counter=boot,
    )
