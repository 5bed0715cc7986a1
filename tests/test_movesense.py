"""Movesense GSP adapter: commands, IMU6 and split IMU9 packets, synthesized sequence numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from firmware_bridge.errors import CorruptPacketError, UnknownPacketError
from firmware_bridge.movesense import (
    MovesenseDecoder,
    decode_command,
    encode_movesense_notifications,
    encode_subscribe,
    encode_unsubscribe,
)


def test_commands() -> None:
    assert encode_subscribe(99, "/Meas/IMU9/104") == b"\x01\x63/Meas/IMU9/104"
    assert encode_unsubscribe(99) == b"\x02\x63"
    assert decode_command(encode_subscribe(5, "/Meas/IMU6/208")) == (1, 5, "/Meas/IMU6/208")


def test_imu9_split_packets_are_rejoined_and_gyro_is_converted() -> None:
    rng = np.random.default_rng(0)
    acc, gyr, mag = rng.normal(size=(8, 3)), rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    notes = encode_movesense_notifications(99, 5000, acc, gyr, mag)
    assert [len(n) for n in notes] == [244, 52]
    assert notes[1][0] == 3
    # the gyroscope travels in deg/s
    gyr_on_wire = np.frombuffer(notes[0], "<f4", count=3, offset=6 + 8 * 12)
    np.testing.assert_allclose(gyr_on_wire, np.degrees(gyr[0]), rtol=1e-6)
    dec = MovesenseDecoder({99: "/Meas/IMU9/104"}, samples_per_packet={99: 8})
    assert dec.feed(notes[0]) is None
    p = dec.feed(notes[1])
    assert p is not None
    assert p.sensor_time_us == 5_000_000
    assert p.sample_period_s == pytest.approx(1 / 104)
    np.testing.assert_allclose(p.gyr_radps, gyr, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(p.mag_ut, mag, rtol=1e-6, atol=1e-6)


def test_seq_synthesized_from_time_shows_lost_packets() -> None:
    dec = MovesenseDecoder({1: "/Meas/IMU6/208"})
    seqs = []
    for k in (0, 1, 2, 4, 5):
        t_ms = 2**32 - 200 + round(k * 8 * 1000 / 208)  # crosses the u32 ms wrap
        (note,) = encode_movesense_notifications(1, t_ms, np.zeros((8, 3)), np.zeros((8, 3)))
        p = dec.feed(note)
        assert p is not None
        seqs.append(p.seq)
    assert seqs == [0, 1, 2, 4, 5]
    assert math.isclose(dec.stream(1).sampling_rate_hz, 208.0)


def test_errors() -> None:
    dec = MovesenseDecoder({1: "/Meas/IMU6/208"})
    with pytest.raises(UnknownPacketError):
        dec.feed(b"\x02\x09" + bytes(52))
    with pytest.raises(CorruptPacketError):
        dec.feed(b"\x03\x01" + bytes(10))
    with pytest.raises(UnknownPacketError):
        dec.feed(b"\x09\x01")
    assert dec.feed(b"\x01\x01\xc8\x00") is None  # a command response
    with pytest.raises(ValueError, match="unsupported"):
        dec.subscribe(2, "/Meas/ECG/250")
