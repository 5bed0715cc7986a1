"""The raw notification log: every notification exactly as it arrived, append-only and crash-safe.

File layout (all integers little-endian)::

    file header   8 bytes   b"SCRAW" + u8 format version (1) + 2 reserved zero bytes
    record        u32 body_length | body | u32 crc32(body)
    body          u64 host_time_ns | u8 sensor_index | u8 channel | payload bytes

``host_time_ns`` is the host monotonic clock minus the session's start (nanoseconds since session
start), stamped when the notification arrived. ``sensor_index`` is the sensor's position in the
session metadata's ``sensors`` list. ``channel`` says what the bytes are (see :class:`Channel`).

Crash safety: a record is either whole (its CRC matches) or ignored. The writer flushes to the
operating system at least every ``flush_interval_s`` and fsyncs at least every ``fsync_interval_s``
(default 0.25 s and 1 s), so a killed process loses at most about the last second (a killed
process loses only what was not flushed; the fsync covers a power loss or a crash of the
operating system). The fsync runs on a helper thread: it can take tens of milliseconds on a busy
disk, and ``append`` is called from the event loop that receives the notifications. The reader skips
a damaged record by scanning forward to the next record whose length and CRC are valid, and reports
how many bytes it could not read; nothing readable is ever dropped.
"""

from __future__ import annotations

import enum
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stridecue.errors import SessionError

logger = logging.getLogger(__name__)

MAGIC = b"SCRAW"
FORMAT_VERSION = 1
FILE_HEADER = MAGIC + bytes([FORMAT_VERSION, 0, 0])
_LEN = struct.Struct("<I")
_BODY_HEAD = struct.Struct("<QBB")
_CRC = struct.Struct("<I")
#: Largest body accepted when reading (a BLE notification is at most 512 bytes; headroom for
#: other channels such as imported blocks).
MAX_BODY_BYTES = 1 << 20


class Channel(enum.IntEnum):
    """What the payload of a raw record is."""

    DATA = 0  #: a data notification (sensor -> host)
    STATUS = 1  #: a status notification (sensor -> host)
    CONFIG = 2  #: the configuration characteristic as read at connection (sensor -> host)
    CONTROL = 3  #: a control command written to the sensor (host -> sensor)
    LINK = 4  #: a link event from the host (utf-8 text: "connected", "disconnected", ...)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One notification (or link event) as it arrived."""

    host_time_ns: int
    sensor_index: int
    channel: Channel
    payload: bytes


@dataclass
class ReadReport:
    """What reading a raw log found besides the records."""

    records: int = 0
    damaged_bytes: int = 0
    truncated_tail_bytes: int = 0


class RawLogWriter:
    """Append records to a raw log; safe against the process being killed at any moment.

    Parameters
    ----------
    path
        The log file; created with its header if absent, appended to if present.
    flush_interval_s, fsync_interval_s
        Upper bounds on how long a record may sit in the process buffer / the OS cache.
    """

    def __init__(
        self, path: Path, *, flush_interval_s: float = 0.25, fsync_interval_s: float = 1.0
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.fsync_interval_s = fsync_interval_s
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        if new:
            self._file.write(FILE_HEADER)
            self._file.flush()
            os.fsync(self._file.fileno())
        else:
            with open(self.path, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC:
                    self._file.close()
                    raise SessionError(
                        f"{self.path} is not a stridecue raw log: record into a new session folder"
                    )
        now = time.monotonic()
        self._last_flush = now
        self._last_fsync = now
        self.records_written = 0
        self._fsync_lock = threading.Lock()  # the file is not closed during an fsync
        self._fsync_due = threading.Event()
        self._fsync_thread = threading.Thread(
            target=self._fsync_loop, name=f"fsync {self.path.name}", daemon=True
        )
        self._fsync_thread.start()

    def _fsync_loop(self) -> None:
        while True:
            self._fsync_due.wait()
            self._fsync_due.clear()
            with self._fsync_lock:
                if self._file.closed:
                    return
                try:
                    os.fsync(self._file.fileno())
                except OSError as exc:
                    logger.warning("raw log %s: fsync failed: %s", self.path, exc)

    def append(self, host_time_ns: int, sensor_index: int, channel: int, payload: bytes) -> None:
        """Append one record (the bytes are written before anything else happens to them)."""
        body = _BODY_HEAD.pack(host_time_ns, sensor_index, channel) + bytes(payload)
        self._file.write(_LEN.pack(len(body)) + body + _CRC.pack(zlib.crc32(body)))
        self.records_written += 1
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval_s:
            self._file.flush()
            self._last_flush = now
            if now - self._last_fsync >= self.fsync_interval_s:
                self._fsync_due.set()  # on the helper thread: never block the caller
                self._last_fsync = now

    def flush(self) -> None:
        """Flush and fsync now."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Flush, fsync and close (safe to call twice)."""
        with self._fsync_lock:
            if not self._file.closed:
                self.flush()
                self._file.close()
        self._fsync_due.set()  # the helper thread sees the closed file and ends
        self._fsync_thread.join(timeout=5.0)

    def __enter__(self) -> RawLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_raw_log(path: Path, report: ReadReport | None = None) -> Iterator[RawRecord]:
    """Yield every intact record of a raw log in file order.

    Damaged records are skipped by resynchronising on the next valid record; a partly written
    last record (the process was killed mid-write) is ignored. Counts go into ``report``.
    """
    report = report if report is not None else ReadReport()
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise SessionError(f"{path} is not a stridecue raw log (bad header): check the session path")
    if data[len(MAGIC)] != FORMAT_VERSION:
        raise SessionError(
            f"{path} has raw log format {data[len(MAGIC)]}, this stridecue reads {FORMAT_VERSION}: "
            "upgrade stridecue"
        )
    pos = len(FILE_HEADER)
    end = len(data)
    while pos < end:
        record = _record_at(data, pos)
        if record is not None:
            body_len, rec = record
            report.records += 1
            yield rec
            pos += _LEN.size + body_len + _CRC.size
            continue
        # Damaged or truncated: look for the next offset where a valid record starts.
        nxt = pos + 1
        while nxt < end and _record_at(data, nxt) is None:
            nxt += 1
        if nxt >= end:
            report.truncated_tail_bytes += end - pos
            logger.warning("raw log %s: ignored %d unreadable bytes at the end", path, end - pos)
        else:
            report.damaged_bytes += nxt - pos
            logger.warning("raw log %s: skipped %d damaged bytes at %d", path, nxt - pos, pos)
        pos = nxt


def _record_at(data: bytes, pos: int) -> tuple[int, RawRecord] | None:
    """The record starting at ``pos`` if it is complete and its CRC matches, else None."""
    if pos + _LEN.size > len(data):
        return None
    (body_len,) = _LEN.unpack_from(data, pos)
    if body_len < _BODY_HEAD.size or body_len > MAX_BODY_BYTES:
        return None
    start = pos + _LEN.size
    stop = start + body_len
    if stop + _CRC.size > len(data):
        return None
    body = data[start:stop]
    (crc,) = _CRC.unpack_from(data, stop)
    if zlib.crc32(body) != crc:
        return None
    host_time_ns, sensor_index, channel = _BODY_HEAD.unpack_from(body)
    try:
        ch = Channel(channel)
    except ValueError:
        return None
    return body_len, RawRecord(host_time_ns, sensor_index, ch, body[_BODY_HEAD.size :])
