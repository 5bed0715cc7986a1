"""Errors raised by ``firmware_bridge``.

The tree::

    StridecueError
    └── BridgeError
        ├── PacketError                 bytes that cannot be decoded
        │   ├── ShortPacketError        fewer bytes than the layout needs
        │   ├── CorruptPacketError      wrong CRC, impossible field values, trailing bytes
        │   ├── UnknownPacketError      unknown opcode / notification type / subscription ref
        │   └── UnsupportedVersionError a profile version this code does not speak
        └── SensorConnectionError       the Bluetooth link
            ├── SensorNotFoundError     nothing matching was advertising
            ├── ConnectionFailedError   connect / GATT discovery / subscribe failed
            └── SensorLostError         the link dropped and could not be re-established

Pure decoders raise only the ``PacketError`` family; ``SensorIngest.feed`` never raises them (it
counts and logs them instead).
"""

from __future__ import annotations

from stridecue.errors import StridecueError


class BridgeError(StridecueError):
    """A problem on the Bluetooth side: a sensor's bytes or its link."""


class PacketError(BridgeError):
    """Bytes from a sensor (or for a sensor) that cannot be decoded."""


class ShortPacketError(PacketError):
    """The packet is shorter than its layout requires (truncated notification or MTU too small)."""


class CorruptPacketError(PacketError):
    """The packet fails a check: CRC, reserved bits, impossible count, or trailing bytes."""


class UnknownPacketError(PacketError):
    """The packet has an opcode, type or subscription reference this decoder does not know."""


class UnsupportedVersionError(PacketError):
    """The packet declares a profile version this code does not speak (update stridecue)."""


class SensorConnectionError(BridgeError):
    """The Bluetooth link to a sensor failed."""


class SensorNotFoundError(SensorConnectionError):
    """No advertising sensor matched (check it is charged, awake and not connected elsewhere)."""


class ConnectionFailedError(SensorConnectionError):
    """Connecting, discovering services or subscribing failed after all retries."""


class SensorLostError(SensorConnectionError):
    """An established link dropped and could not be re-established in time."""
