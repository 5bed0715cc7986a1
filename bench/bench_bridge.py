"""Codec and ingest speed: packets/s, samples/s, CPU us per notification -> results/bridge.md."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from firmware_bridge.ingest import SensorIngest
from firmware_bridge.movesense import MovesenseDecoder, encode_movesense_notifications
from firmware_bridge.profile import SensorConfig, decode_data_packet, encode_data_packet


def _rate(fn, items) -> float:
    start = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - start) / len(items) * 1e6


def main() -> None:
    logging.disable(logging.WARNING)
    rng = np.random.default_rng(0)
    cfg = SensorConfig()
    n = 20_000
    packets = [encode_data_packet(k, k * 50_000, rng.normal(size=(10, 3)),
                                  rng.normal(size=(10, 3)), cfg) for k in range(n)]
    us_decode = _rate(lambda d: decode_data_packet(d, cfg), packets)
    ingest = SensorIngest("stridecue", cfg)
    items = list(enumerate(packets))
    us_ingest = _rate(lambda kv: ingest.feed(kv[0] * 0.05, kv[1]), items)
    notes = []
    for k in range(n // 2):
        notes += encode_movesense_notifications(99, k * 77, rng.normal(size=(8, 3)),
                                                rng.normal(size=(8, 3)), rng.normal(size=(8, 3)))
    dec = MovesenseDecoder({99: "/Meas/IMU9/104"}, samples_per_packet={99: 8})
    us_ms = _rate(dec.feed, notes)
    lines = [
        "# firmware_bridge codec and ingest speed",
        "",
        "CPU time (process_time) on this machine, 10-sample stridecue packets, 200 Hz.",
        "",
        "| path | us per notification | packets/s | samples/s |",
        "| --- | --- | --- | --- |",
        f"| decode_data_packet | {us_decode:.1f} | {1e6 / us_decode:,.0f} "
        f"| {10e6 / us_decode:,.0f} |",
        f"| SensorIngest.feed (decode + seq + clock) | {us_ingest:.1f} | {1e6 / us_ingest:,.0f} "
        f"| {10e6 / us_ingest:,.0f} |",
        f"| MovesenseDecoder.feed (IMU9, 2 notes/packet) | {us_ms:.1f} | {1e6 / (2 * us_ms):,.0f} "
        f"| {8e6 / (2 * us_ms):,.0f} |",
        "",
        "Three sensors at 400 Hz need 120 notifications/s: "
        f"{120 * us_ingest / 1e4:.2f} % of one core through ingest.",
    ]
    out = Path(__file__).parent / "results" / "bridge.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
