"""100,000 random and mutated packets: only the PacketError family escapes the decoders."""

from __future__ import annotations

import numpy as np

from firmware_bridge.errors import PacketError
from firmware_bridge.ingest import SensorIngest
from firmware_bridge.movesense import MovesenseDecoder, encode_movesense_notifications
from firmware_bridge.profile import (
    Backfill,
    SensorConfig,
    StatusReport,
    decode_config,
    decode_control,
    decode_data_packet,
    decode_status,
    encode_config,
    encode_control,
    encode_data_packet,
    encode_status,
    f32,
)

CFG = SensorConfig(mag_lsb_ut=f32(0.15), mag_range_ut=4900.0)
N_PER_SEED = 10_000  # x 10 kinds of seed packet = 100,000


def _seeds() -> list[bytes]:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10, 3))
    return [
        encode_data_packet(3, 4, z, z, CFG),
        encode_data_packet(3, 4, z, z, CFG, mag_ut=z, resent=True),
        encode_config(CFG),
        encode_status(StatusReport(5, 6, 7, 8)),
        encode_control(Backfill(1, 9)),
        *encode_movesense_notifications(99, 10, z[:8], z[:8], z[:8]),
        encode_movesense_notifications(1, 10, z[:8], z[:8])[0],
        bytes(rng.integers(0, 256, 40, dtype=np.uint8)),
        b"\x01",
    ]


def _mutations(seed: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    base = np.frombuffer(seed + bytes(32), dtype=np.uint8)
    size = len(seed)
    kinds = rng.integers(0, 5, n)
    lengths = np.where(kinds == 0, rng.integers(0, size + 1, n),  # truncated
                       np.where(kinds == 1, size + rng.integers(1, 32, n), size))  # extended
    flips = rng.integers(0, 8 * size, (n, 3))
    out = []
    for k in range(n):
        buf = base[: lengths[k]].copy()
        if kinds[k] == 2 and size:  # bit flips
            for bit in flips[k]:
                buf[bit // 8] ^= 1 << (bit % 8)
        elif kinds[k] == 3 and size:  # wrong version / absurd counts / random bytes in header
            buf[flips[k, 0] % min(size, 14)] = flips[k, 1] % 256
        elif kinds[k] == 4:
            buf = rng.integers(0, 256, lengths[k], dtype=np.uint8)
        out.append(buf.tobytes())
    return out


def test_fuzz_decoders_and_ingest() -> None:
    rng = np.random.default_rng(1234)
    decoders = [
        lambda d: decode_data_packet(d, CFG),
        decode_config,
        decode_control,
        decode_status,
        MovesenseDecoder({99: "/Meas/IMU9/104", 1: "/Meas/IMU6/208"}).feed,
    ]
    ingest = SensorIngest("stridecue", CFG)
    ingest_ms = SensorIngest("movesense", movesense_subscriptions={99: "/Meas/IMU9/104"})
    total = typed = 0
    for seed in _seeds():
        for data in _mutations(seed, rng, N_PER_SEED):
            total += 1
            for decode in decoders:
                try:
                    decode(data)
                except PacketError:
                    typed += 1
            ingest.feed(total * 0.01, data)
            ingest_ms.feed(total * 0.01, data)
    assert total == 100_000
    assert typed > total  # most mutants are rejected by most decoders
    for ing in (ingest, ingest_ms):
        errors = sum(ing.stats.decode_errors.values())
        assert errors + ing.stats.packets_received + ing.stats.duplicates <= total
        assert errors > 0
    # the stridecue ingest accounts for every notification it was given
    s = ingest.stats
    accepted = s.packets_received + s.duplicates + sum(s.decode_errors.values())
    assert accepted >= total - 10  # the few left are out-of-place resent packets, also counted
