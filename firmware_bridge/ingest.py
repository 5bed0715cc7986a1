"""Per-sensor ingest: notification bytes -> timed sample blocks (shared by live and replay).

:class:`SensorIngest` is pure and synchronous: the asyncio client and the replay both call
``feed(arrival_time_s, data)`` with what the raw log holds, in the same order, so both give the
same blocks. It decodes (stridecue or Movesense), unwraps the u32 sensor time, keeps an online
lower-envelope clock fit, tracks sequence numbers (gaps, backfill, duplicates, reboots) and
counts decode errors instead of raising them.

Segments: a reboot (boot counter change, or a sequence number / sensor time that is
inconsistent with the previous packet) starts a new segment with its own sensor-time origin and
clock fit. Samples of different segments are never compared by sensor time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from firmware_bridge.clock import (
    ClockFit,
    ClockModel,
    SensorTimeUnwrapper,
    fit_clock_boots,
    fit_uncertainty_boots,
    sensor_clock_error_ppm,
)
from firmware_bridge.errors import PacketError
from firmware_bridge.movesense import MovesenseDecoder
from firmware_bridge.profile import DataPacket, SensorConfig, decode_data_packet
from stridecue.constants import ACC_MPS2, GYR_RADPS, MAG_UT, SAMPLE_COLUMNS, SENSOR_TIME_S, TIME_S

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """Samples of one data packet, on the sensor clock and on the host clock.

    Parameters
    ----------
    first_seq, last_seq
        Sequence range the block covers (one packet: equal).
    segment
        0 for the first boot seen, +1 at each detected reboot.
    sensor_time_s
        Shape (n,), unwrapped sensor time of each sample in seconds.
    time_s
        Shape (n,), host time from the online clock fit at the moment the block was produced.
    acc_mps2, gyr_radps, mag_ut
        Shape (n, 3); ``mag_ut`` None without magnetometer.
    resent
        True for a backfilled packet.
    """

    first_seq: int
    last_seq: int
    segment: int
    sensor_time_s: FloatArray
    time_s: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray
    mag_ut: FloatArray | None
    resent: bool

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.sensor_time_s.shape[0])


@dataclass(frozen=True)
class Gap:
    """Missing packets ``first_seq..last_seq`` of a segment, between two known sample times.

    ``start_sensor_time_s`` is the time the first missing sample would have had, and
    ``end_sensor_time_s`` the time of the first sample after the gap.
    """

    segment: int
    first_seq: int
    last_seq: int
    start_sensor_time_s: float
    end_sensor_time_s: float
    n_samples: int


@dataclass
class IngestStats:
    """Counters of one :class:`SensorIngest`.

    ``gaps`` lists the gaps given up as ``(start_sensor_time_s, end_sensor_time_s, samples)``;
    ``late_resent`` counts resent packets that arrived after their gap had been given up (their
    samples are kept and taken off ``samples_lost`` and ``gaps``).
    ``drift_ppm`` and ``offset_s`` are the online fit's current model of the newest segment
    (``drift_ppm`` in :class:`~firmware_bridge.clock.ClockModel`'s convention: host seconds per
    sensor second, so a fast sensor clock gives a negative value). The session's reported
    drift comes from the whole-session fit (:meth:`SensorIngest.clock_report`).
    """

    packets_received: int = 0
    samples_received: int = 0
    samples_backfilled: int = 0
    samples_lost: int = 0
    duplicates: int = 0
    gaps: list[tuple[float, float, int]] = field(default_factory=list)
    decode_errors: dict[str, int] = field(default_factory=dict)
    reboots: int = 0
    late_resent: int = 0
    drift_ppm: float = 0.0
    offset_s: float = float("nan")


@dataclass
class _Segment:
    index: int
    boot_counter: int
    unwrapper: SensorTimeUnwrapper = field(default_factory=SensorTimeUnwrapper)
    clock: ClockFit = field(default_factory=ClockFit)
    last_seq: int = -1
    last_time_s: float = 0.0  # first-sample time of the packet with last_seq
    last_end_s: float = 0.0  # time the sample after that packet's last would have
    newest_end_s: float = 0.0
    first_seq: int | None = None  # None: no packet yet
    pending: list[Gap] = field(default_factory=list)
    lost: list[Gap] = field(default_factory=list)
    clock_pairs: list[tuple[float, float]] = field(default_factory=list)


class SensorIngest:
    """Turn one sensor's notifications into :class:`SampleBlock` s.

    Parameters
    ----------
    protocol
        ``"stridecue"`` or ``"movesense"``.
    config
        Required for ``"stridecue"`` (LSB scales, rate, samples per packet, backfill support).
    movesense_subscriptions
        ``{ref: path}`` for ``"movesense"`` (default ``{1: "/Meas/IMU6/208"}``).
    gap_timeout_s
        A pending gap whose end is this many sensor seconds behind the newest data is given up
        (marked lost). Gaps are lost at once when the sensor cannot backfill.
    clock_window_s
        Sliding window of the online clock fit.
    keep_clock_pairs
        Keep every live packet's (sensor time, arrival) pair for the whole-session fits
        (:meth:`offline_clock_models`, :meth:`clock_report`). A live link does not need them (the
        session's raw log is decoded again when it is finalised) and turns this off so that its
        memory stays flat however long the session runs; the sequence bookkeeping is bounded by
        the number of gaps either way.
    """

    def __init__(
        self,
        protocol: Literal["stridecue", "movesense"],
        config: SensorConfig | None = None,
        *,
        movesense_subscriptions: Mapping[int, str] | None = None,
        gap_timeout_s: float = 5.0,
        clock_window_s: float = 300.0,
        keep_clock_pairs: bool = True,
    ) -> None:
        if protocol not in ("stridecue", "movesense"):
            raise ValueError(f"protocol must be 'stridecue' or 'movesense', got {protocol!r}")
        if protocol == "stridecue" and config is None:
            raise ValueError("the stridecue protocol needs the sensor's SensorConfig")
        self.protocol = protocol
        self.config = config
        self.gap_timeout_s = gap_timeout_s
        self.clock_window_s = clock_window_s
        self.keep_clock_pairs = keep_clock_pairs
        self.movesense: MovesenseDecoder | None = None
        if protocol == "movesense":
            self.movesense = MovesenseDecoder(movesense_subscriptions or {1: "/Meas/IMU6/208"})
        self.can_backfill = protocol == "stridecue" and config is not None and config.backfill
        self.stats = IngestStats()
        self._segments: list[_Segment] = []

    # ------------------------------------------------------------------ public
    def feed(self, arrival_time_s: float, data: bytes) -> list[SampleBlock]:
        """Process one notification; never raises on bad bytes (they are counted and logged).

        Parameters
        ----------
        arrival_time_s
            Host time the notification arrived (session clock, seconds).
        data
            The notification value.

        Returns
        -------
        list of SampleBlock
            Zero or one block (a list so that future adapters may yield several).
        """
        try:
            packet = self._decode(data)
        except PacketError as exc:
            name = type(exc).__name__
            self.stats.decode_errors[name] = self.stats.decode_errors.get(name, 0) + 1
            logger.warning("ingest: dropped a notification (%s): %s", name, exc)
            return []
        if packet is None:
            return []
        block = self._accept(packet, arrival_time_s)
        self._expire_gaps()
        return [] if block is None else [block]

    def pending_gaps(self) -> list[Gap]:
        """Gaps of the current segment that may still be backfilled (ask the sensor for them)."""
        if not self._segments or not self.can_backfill:
            return []
        return list(self._segments[-1].pending)

    def close_gap(self, first_seq: int, last_seq: int) -> int:
        """Give up on pending gap packets within ``first_seq..last_seq``; returns samples lost."""
        lost = 0
        for segment in self._segments:
            keep = []
            for gap in segment.pending:
                if gap.first_seq >= first_seq and gap.last_seq <= last_seq:
                    lost += self._lose(segment, gap)
                else:
                    keep.append(gap)
            segment.pending = keep
        return lost

    def finish(self) -> None:
        """End of stream: every gap still pending is lost."""
        for segment in self._segments:
            for gap in segment.pending:
                self._lose(segment, gap)
            segment.pending = []

    @property
    def last_seq(self) -> int | None:
        """Newest sequence number of the current segment (None before any packet)."""
        if not self._segments or self._segments[-1].first_seq is None:
            return None
        return self._segments[-1].last_seq

    @property
    def segment_count(self) -> int:
        """Number of segments (1 + reboots) seen so far."""
        return len(self._segments)

    def _clock_pairs(self) -> dict[int, tuple[FloatArray, FloatArray]]:
        return {seg.index: tuple(np.array(seg.clock_pairs).T)  # type: ignore[misc]
                for seg in self._segments if seg.clock_pairs}

    def offline_clock_models(self) -> dict[int, ClockModel]:
        """Whole-session lower-envelope clock model per segment (for :func:`assemble_samples`).

        The segments (boots) share one drift (:func:`~firmware_bridge.clock.fit_clock_boots`).
        """
        pairs = self._clock_pairs()
        if not pairs:
            return {}
        return dict(zip(pairs, fit_clock_boots(list(pairs.values())), strict=True))

    def clock_report(self) -> dict[str, Any]:
        """Whole-session clock fit, for the session statistics.

        Returns
        -------
        dict
            ``clock_error_ppm`` (how fast the sensor's clock runs against the host's, positive:
            sensor fast; None before any packet), the fit's ``uncertainty_ms`` and
            ``drift_uncertainty_ppm`` (:func:`~firmware_bridge.clock.fit_uncertainty_boots`;
            None when too few pairs) and ``segments``: per segment with clock pairs its index
            (``segment``), ``pairs`` (live packets in the fit) and ``span_s`` (sensor seconds
            they cover).
        """
        pairs = self._clock_pairs()
        report: dict[str, Any] = {
            "clock_error_ppm": None, "uncertainty_ms": None, "drift_uncertainty_ppm": None,
            "segments": [
                {"segment": index, "pairs": int(sensor.size),
                 "span_s": float(sensor.max() - sensor.min())}
                for index, (sensor, _arrival) in pairs.items()
            ],
        }
        if pairs:
            model = next(iter(self.offline_clock_models().values()))
            spread = fit_uncertainty_boots(list(pairs.values()))
            report.update(
                clock_error_ppm=sensor_clock_error_ppm(model),
                uncertainty_ms=_finite_or_none(1e3 * spread.time_s),
                drift_uncertainty_ppm=_finite_or_none(spread.drift_ppm),
            )
        return report

    # ------------------------------------------------------------------ internals
    def _decode(self, data: bytes) -> DataPacket | None:
        if self.movesense is not None:
            return self.movesense.feed(data)
        assert self.config is not None
        return decode_data_packet(data, self.config)

    def _new_segment(self, packet: DataPacket, reason: str) -> _Segment:
        if self._segments:
            self.stats.reboots += 1
            logger.info("ingest: new segment %s (%s)", len(self._segments), reason)
            old = self._segments[-1]
            for gap in old.pending:  # the sensor's buffer did not survive
                self._lose(old, gap)
            old.pending = []
        segment = _Segment(
            index=len(self._segments),
            boot_counter=packet.boot_counter,
            clock=ClockFit(
                window_s=self.clock_window_s, bucket_s=min(5.0, self.clock_window_s / 4)
            ),
        )
        self._segments.append(segment)
        return segment

    def _accept(self, packet: DataPacket, arrival_time_s: float) -> SampleBlock | None:
        period = packet.sample_period_s
        n = packet.n_samples
        segment = self._segments[-1] if self._segments else None
        if segment is None:
            segment = self._new_segment(packet, "first packet")
        elif packet.boot_counter != segment.boot_counter:
            segment = self._new_segment(packet, "boot counter changed")
        else:
            t_us = segment.unwrapper.update(packet.sensor_time_us)
            t_s = t_us * 1e-6
            packet_s = self._packet_duration_s(packet)
            predicted = segment.last_time_s + (packet.seq - segment.last_seq) * packet_s
            tolerance = 0.5 * packet_s + 0.003
            consistent = abs(t_s - predicted) <= tolerance
            if consistent and _was_received(segment, packet.seq):
                self.stats.duplicates += 1
                return None
            if not consistent and not packet.resent:
                reason = "sequence went back" if packet.seq <= segment.last_seq else "time jump"
                segment = self._new_segment(packet, reason)
            elif not consistent:
                self.stats.decode_errors["InconsistentResentPacket"] = (
                    self.stats.decode_errors.get("InconsistentResentPacket", 0) + 1
                )
                logger.warning("ingest: resent packet %s does not fit its place", packet.seq)
                return None
        t_us = segment.unwrapper.update(packet.sensor_time_us)  # same value again: same result
        start_s = t_us * 1e-6
        end_s = start_s + n * period
        seq = packet.seq
        if segment.first_seq is None:
            segment.first_seq = seq
            if segment.index > 0 and seq > 0 and self.protocol == "stridecue":
                # A boot numbers its packets from 0: those before the first one seen are missing.
                segment.first_seq = 0
                packet_s = self._packet_duration_s(packet)
                self._open_gap(segment, Gap(segment.index, 0, seq - 1, start_s - seq * packet_s,
                                            start_s, int(round(seq * packet_s / period))))
            segment.last_seq, segment.last_time_s, segment.last_end_s = seq, start_s, end_s
        elif seq > segment.last_seq:
            if seq > segment.last_seq + 1:
                self._open_gap(segment, Gap(
                    segment=segment.index,
                    first_seq=segment.last_seq + 1,
                    last_seq=seq - 1,
                    start_sensor_time_s=segment.last_end_s,
                    end_sensor_time_s=start_s,
                    n_samples=int(round((start_s - segment.last_end_s) / period)),
                ))
            segment.last_seq, segment.last_time_s, segment.last_end_s = seq, start_s, end_s
        else:
            self._fill(segment, seq, start_s, end_s)
        segment.newest_end_s = max(segment.newest_end_s, end_s)

        self.stats.packets_received += 1
        self.stats.samples_received += n
        if packet.resent:
            self.stats.samples_backfilled += n
        else:
            # A packet cannot leave before its last sample was taken: pair the arrival with
            # that sample's sensor time, so the fitted offset holds only the link latency.
            last_s = start_s + (n - 1) * period
            segment.clock.update(last_s, arrival_time_s)
            if self.keep_clock_pairs:
                segment.clock_pairs.append((last_s, arrival_time_s))
            self.stats.drift_ppm = segment.clock.drift_ppm
            self.stats.offset_s = segment.clock.offset_s
        sensor_time_s = start_s + np.arange(n) * period
        return SampleBlock(
            first_seq=seq,
            last_seq=seq,
            segment=segment.index,
            sensor_time_s=sensor_time_s,
            time_s=segment.clock.to_host(sensor_time_s),
            acc_mps2=packet.acc_mps2,
            gyr_radps=packet.gyr_radps,
            mag_ut=packet.mag_ut,
            resent=packet.resent,
        )

    def _packet_duration_s(self, packet: DataPacket) -> float:
        spp = self.config.samples_per_packet if self.config is not None else packet.n_samples
        return spp * packet.sample_period_s

    def _open_gap(self, segment: _Segment, gap: Gap) -> None:
        logger.info("ingest: gap seq %s..%s (%s samples)", gap.first_seq, gap.last_seq,
                    gap.n_samples)
        if self.can_backfill:
            segment.pending.append(gap)
        else:
            self._lose(segment, gap)

    def _fill(self, segment: _Segment, seq: int, start_s: float, end_s: float) -> None:
        """A late packet (backfill) lands inside a gap: split the gap around it.

        A gap already given up (timed out) gets its samples back: they are taken off
        ``samples_lost`` and ``gaps``, and the packet is counted in ``late_resent``.
        """
        for gaps in (segment.pending, segment.lost):
            for k, gap in enumerate(gaps):
                if gap.first_seq <= seq <= gap.last_seq:
                    pieces = []
                    n_left = int(round((start_s - gap.start_sensor_time_s) / self._period(gap)))
                    if seq > gap.first_seq:
                        pieces.append(Gap(gap.segment, gap.first_seq, seq - 1,
                                          gap.start_sensor_time_s, start_s, n_left))
                    if seq < gap.last_seq:
                        n_right = int(round((gap.end_sensor_time_s - end_s) / self._period(gap)))
                        pieces.append(Gap(gap.segment, seq + 1, gap.last_seq, end_s,
                                          gap.end_sensor_time_s, n_right))
                    gaps[k : k + 1] = pieces
                    if gaps is segment.lost:
                        self.stats.late_resent += 1
                        self.stats.samples_lost -= gap.n_samples - sum(p.n_samples for p in pieces)
                        self._list_lost_gaps()
                        logger.info("ingest: packet %s arrived after its gap was given up", seq)
                    return
        logger.info("ingest: late packet %s outside any gap", seq)

    def _period(self, gap: Gap) -> float:
        if gap.n_samples <= 0:
            return 1.0
        return (gap.end_sensor_time_s - gap.start_sensor_time_s) / gap.n_samples

    def _lose(self, segment: _Segment, gap: Gap) -> int:
        self.stats.samples_lost += gap.n_samples
        segment.lost.append(gap)
        self._list_lost_gaps()
        logger.info("ingest: gap seq %s..%s lost (%s samples)", gap.first_seq, gap.last_seq,
                    gap.n_samples)
        return gap.n_samples

    def _list_lost_gaps(self) -> None:
        self.stats.gaps = [
            (gap.start_sensor_time_s, gap.end_sensor_time_s, gap.n_samples)
            for segment in self._segments
            for gap in segment.lost
        ]

    def _expire_gaps(self) -> None:
        if not self._segments:
            return
        segment = self._segments[-1]
        if not segment.pending:
            return
        limit = segment.newest_end_s - self.gap_timeout_s
        keep = []
        for gap in segment.pending:
            if gap.end_sensor_time_s < limit:
                self._lose(segment, gap)
            else:
                keep.append(gap)
        segment.pending = keep


def _was_received(segment: _Segment, seq: int) -> bool:
    """Whether packet ``seq`` of ``segment`` already arrived.

    Every sequence number from the segment's first to its newest arrived unless it lies in a
    gap (pending or given up): backfill splits gaps around the packets it brings. So no set of
    every received number is needed, and the bookkeeping does not grow with the session.
    """
    if segment.first_seq is None or not segment.first_seq <= seq <= segment.last_seq:
        return False
    return not any(g.first_seq <= seq <= g.last_seq for g in (*segment.pending, *segment.lost))


def _finite_or_none(value: float) -> float | None:
    return value if np.isfinite(value) else None


def assemble_samples(
    blocks: Iterable[SampleBlock],
    clock_model: ClockModel | Mapping[int, ClockModel] | None = None,
) -> pd.DataFrame:
    """Build the decoded sample table of a session from ingest blocks.

    Parameters
    ----------
    blocks
        Blocks in any order (backfilled ones included).
    clock_model
        An offline clock model (or one per segment, as from
        :meth:`SensorIngest.offline_clock_models`) to recompute ``time_s``; None keeps the
        online times.

    Returns
    -------
    pandas.DataFrame
        Columns exactly ``stridecue.constants.SAMPLE_COLUMNS``; sorted by segment then sensor
        time; duplicate samples (same segment and sensor time) removed; NaN magnetometer where
        absent.
    """
    blocks = list(blocks)
    if not blocks:
        return pd.DataFrame({name: pd.Series(dtype=np.float64) for name in SAMPLE_COLUMNS})
    segment = np.concatenate([np.full(b.n_samples, b.segment) for b in blocks])
    sensor = np.concatenate([b.sensor_time_s for b in blocks])
    time = np.concatenate([b.time_s for b in blocks])
    acc = np.concatenate([b.acc_mps2 for b in blocks])
    gyr = np.concatenate([b.gyr_radps for b in blocks])
    mag = np.concatenate(
        [b.mag_ut if b.mag_ut is not None else np.full((b.n_samples, 3), np.nan) for b in blocks]
    )
    if clock_model is not None:
        for seg in np.unique(segment):
            model = clock_model if isinstance(clock_model, ClockModel) else clock_model.get(seg)
            if model is not None:
                mask = segment == seg
                time[mask] = model.to_host(sensor[mask])
    # Round the key to 1 us so that the same sample from two packets compares equal.
    key_us = np.rint(sensor * 1e6).astype(np.int64)
    order = np.lexsort((key_us, segment))
    segment, key_us = segment[order], key_us[order]
    keep = np.ones(order.size, dtype=bool)
    keep[1:] = (np.diff(key_us) != 0) | (np.diff(segment) != 0)
    idx = order[keep]
    columns = {TIME_S: time[idx], SENSOR_TIME_S: sensor[idx]}
    for k, name in enumerate(ACC_MPS2):
        columns[name] = acc[idx, k]
    for k, name in enumerate(GYR_RADPS):
        columns[name] = gyr[idx, k]
    for k, name in enumerate(MAG_UT):
        columns[name] = mag[idx, k]
    return pd.DataFrame(columns, columns=list(SAMPLE_COLUMNS))
