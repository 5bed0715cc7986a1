"""Raw log -> per-sensor sample tables, through the same ingest code the live client uses."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

import pandas as pd

from firmware_bridge.ingest import SampleBlock, SensorIngest, assemble_samples
from firmware_bridge.profile import decode_config
from recordings.rawlog import Channel, RawRecord
from stridecue.errors import SessionError

logger = logging.getLogger(__name__)


class RawDecoder:
    """Feeds raw records to one :class:`SensorIngest` per sensor, in arrival order.

    This is the replay side of the live path: the client writes each notification to the raw log
    and then hands the same bytes to the same ``SensorIngest``; here the raw log is read back and
    handed to it again, so replay yields the blocks live produced. ``keep_clock_pairs=False``
    (the live analysis) keeps memory flat; the whole-session clock fits then need a decode of
    the raw log with the default.
    """

    def __init__(self, sensors: list[Any], *, keep_clock_pairs: bool = True) -> None:
        self.sensors = {s.index: s for s in sensors}
        self.keep_clock_pairs = keep_clock_pairs
        self.ingests: dict[int, SensorIngest] = {}
        for s in sensors:
            if s.protocol == "movesense":
                self.ingests[s.index] = SensorIngest(
                    protocol="movesense", config=None, keep_clock_pairs=keep_clock_pairs)

    def feed(self, record: RawRecord) -> list[tuple[str, SampleBlock]]:
        """Process one record; returns the sample blocks it completed, with their placement."""
        sensor = self.sensors.get(record.sensor_index)
        if sensor is None:
            logger.warning("raw record for unknown sensor index %d ignored", record.sensor_index)
            return []
        if record.channel == Channel.CONFIG and sensor.protocol == "stridecue":
            if record.sensor_index not in self.ingests:
                config = decode_config(record.payload)
                self.ingests[record.sensor_index] = SensorIngest(
                    protocol="stridecue", config=config, keep_clock_pairs=self.keep_clock_pairs)
            return []
        if record.channel != Channel.DATA:
            return []
        ingest = self.ingests.get(record.sensor_index)
        if ingest is None:
            logger.warning("data for %s before its configuration: ignored", sensor.placement)
            return []
        blocks = ingest.feed(record.host_time_ns * 1e-9, record.payload)
        return [(sensor.placement, b) for b in blocks]

    def finish(self) -> None:
        """End of stream: gaps still waiting for backfill are lost."""
        for ingest in self.ingests.values():
            ingest.finish()

    def stream(self, records: Iterable[RawRecord]) -> Iterator[tuple[str, SampleBlock]]:
        """All blocks of a record stream, in the order live would have produced them."""
        for record in records:
            yield from self.feed(record)
        self.finish()

    def stats(self) -> dict[str, Any]:
        """Per-placement ingest statistics (JSON-serialisable)."""
        out = {}
        for index, ingest in self.ingests.items():
            st = ingest.stats
            entry = asdict(st) if is_dataclass(st) else dict(st)
            entry["clock"] = ingest.clock_report()
            out[self.sensors[index].placement] = entry
        return out


def decode_raw_records(
    records: Iterable[RawRecord], sensors: list[Any]
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Decode a whole raw log into one sample table per sensor, on the host clock.

    The tables' ``time_s`` comes from a whole-session clock fit per sensor (more accurate than the
    online fit used live); statistics per sensor are returned beside the tables.
    """
    decoder = RawDecoder(sensors)
    blocks: dict[str, list[SampleBlock]] = {s.placement: [] for s in sensors}
    for placement, block in decoder.stream(records):
        blocks[placement].append(block)
    tables = {}
    for s in sensors:
        if not blocks[s.placement]:
            raise SessionError(
                f"the raw log holds no samples from the {s.placement} sensor: "
                "check that it was streaming (stridecue info shows the link events)"
            )
        ingest = decoder.ingests[s.index]
        tables[s.placement] = assemble_samples(blocks[s.placement], ingest.offline_clock_models())
    return tables, decoder.stats()
