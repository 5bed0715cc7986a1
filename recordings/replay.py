"""Replay: a recorded session's notifications fed, in arrival order, through the live decode path.

:func:`replay_blocks` reads the raw log and hands every record to the same
:class:`firmware_bridge.ingest.SensorIngest` the live client uses (via
:class:`recordings.decode.RawDecoder`), yielding the sample blocks live produced, with the
online clock fit's host times. Played as fast as possible or paced to the recorded arrival times
(``realtime=True``, optionally ``speed`` times faster). Imported sessions have no raw log; their
sample tables are replayed in blocks of ``block_s`` seconds instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from firmware_bridge.ingest import SampleBlock
from recordings.decode import RawDecoder
from recordings.session import Session
from stridecue import constants as c


def replay_blocks(
    session: Session,
    *,
    realtime: bool = False,
    speed: float = 1.0,
    block_s: float = 0.05,
    progress: Callable[[float], None] | None = None,
) -> Iterator[tuple[str, SampleBlock]]:
    """Yield ``(placement, block)`` in the order a live session would have produced them."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    if not session.has_raw_log:
        yield from _table_blocks(session, block_s=block_s, realtime=realtime, speed=speed)
        return
    records = list(session.raw_records())
    decoder = RawDecoder(session.sensors)
    start = time.monotonic()
    n = len(records)
    for i, record in enumerate(records):
        if realtime:
            wait = record.host_time_ns * 1e-9 / speed - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
        yield from decoder.feed(record)
        if progress is not None and i % 5000 == 0:
            progress(i / max(n, 1))
    decoder.finish()
    if progress is not None:
        progress(1.0)


def _table_blocks(
    session: Session, *, block_s: float, realtime: bool, speed: float
) -> Iterator[tuple[str, SampleBlock]]:
    tables = {p: session.samples(p) for p in session.placements}
    t0 = min(float(t[c.TIME_S].iloc[0]) for t in tables.values() if len(t))
    t1 = max(float(t[c.TIME_S].iloc[-1]) for t in tables.values() if len(t))
    arrays = {
        p: (
            t[c.TIME_S].to_numpy(float),
            t[c.SENSOR_TIME_S].to_numpy(float),
            t.loc[:, list(c.ACC_MPS2)].to_numpy(float),
            t.loc[:, list(c.GYR_RADPS)].to_numpy(float),
            t.loc[:, list(c.MAG_UT)].to_numpy(float),
        )
        for p, t in tables.items()
    }
    start = time.monotonic()
    edge = t0
    seq = 0
    while edge <= t1:
        nxt = edge + block_s
        if realtime:
            wait = (nxt - t0) / speed - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
        for p, (t, st, acc, gyr, mag) in arrays.items():
            i0, i1 = np.searchsorted(t, [edge, nxt])
            if i1 > i0:
                yield p, SampleBlock(
                    first_seq=seq,
                    last_seq=seq,
                    segment=0,
                    sensor_time_s=st[i0:i1],
                    time_s=t[i0:i1],
                    acc_mps2=acc[i0:i1],
                    gyr_radps=gyr[i0:i1],
                    mag_ut=None if np.isnan(mag[i0:i1]).all() else mag[i0:i1],
                    resent=False,
                )
        seq += 1
        edge = nxt
