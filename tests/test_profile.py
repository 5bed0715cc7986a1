"""GATT profile v1 codecs: round trips, documented examples, typed errors."""

from __future__ import annotations

import binascii

import numpy as np
import pytest

from firmware_bridge.errors import (
    CorruptPacketError,
    ShortPacketError,
    UnknownPacketError,
    UnsupportedVersionError,
)
from firmware_bridge.profile import (
    MAX_SAMPLES_6D,
    MAX_SAMPLES_9D,
    Backfill,
    Buzz,
    SensorConfig,
    SetRate,
    SetTime,
    Start,
    StatusReport,
    Stop,
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

CFG9 = SensorConfig(mag_lsb_ut=f32(0.15), mag_range_ut=4900.0)


def test_crc_is_ccitt_false() -> None:
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1


def test_config_round_trip_and_size() -> None:
    for cfg in (SensorConfig(), CFG9):
        data = encode_config(cfg)
        assert len(data) == 72
        assert decode_config(data) == cfg


@pytest.mark.parametrize("n", [1, 10, MAX_SAMPLES_6D])
def test_data_round_trip_within_quantisation(n: int) -> None:
    rng = np.random.default_rng(n)
    acc, gyr, mag = (rng.normal(0, s, (n, 3)) for s in (30.0, 8.0, 60.0))
    data = encode_data_packet(2**32 + 5, 2**32 + 17, acc, gyr, CFG9,
                              mag_ut=mag if n <= MAX_SAMPLES_9D else None, resent=True)
    assert len(data) <= 244
    p = decode_data_packet(data, CFG9)
    assert (p.seq, p.sensor_time_us, p.resent, p.n_samples) == (5, 17, True, n)
    np.testing.assert_allclose(p.acc_mps2, acc, atol=CFG9.acc_lsb_mps2 / 2 + 1e-12)
    np.testing.assert_allclose(p.gyr_radps, gyr, atol=CFG9.gyr_lsb_radps / 2 + 1e-12)
    if p.mag_ut is not None:
        np.testing.assert_allclose(p.mag_ut, mag, atol=CFG9.mag_lsb_ut / 2 + 1e-6)


def test_saturation() -> None:
    cfg = SensorConfig()
    p = decode_data_packet(
        encode_data_packet(0, 0, np.full((2, 3), 1e6), np.full((2, 3), -1e6), cfg), cfg)
    assert np.all(p.acc_mps2 == 32767 * cfg.acc_lsb_mps2)
    assert np.all(p.gyr_radps == -32767 * cfg.gyr_lsb_radps)


def test_documented_examples() -> None:
    cfg = SensorConfig()
    data = encode_data_packet(7, 1_000_000, [[0, 0, 9.80665]], [[0.1, 0, 0]], cfg)
    assert data.hex(" ") == ("01 00 00 00 07 00 00 00 40 42 0f 00 01 00 00 00 00 00 00 08 5e 00"
                             " 00 00 00 00 b8 4e")
    assert encode_control(Backfill(100, 104)).hex(" ") == "06 64 00 00 00 68 00 00 00"
    status = StatusReport(87, 120, 880, 999, boot_counter=3)
    assert encode_status(status).hex(" ") == ("01 57 03 00 78 00 00 00 70 03 00 00 e7 03 00 00"
                                              " 00 00 fe 8d")


def test_data_errors_are_typed() -> None:
    cfg = SensorConfig()
    good = encode_data_packet(1, 2, np.zeros((10, 3)), np.zeros((10, 3)), cfg)
    with pytest.raises(ShortPacketError):
        decode_data_packet(good[:-1], cfg)
    with pytest.raises(CorruptPacketError, match="exactly"):
        decode_data_packet(good + b"\0", cfg)
    with pytest.raises(UnsupportedVersionError):
        decode_data_packet(b"\x02" + good[1:], cfg)
    bad = bytearray(good)
    bad[30] ^= 1
    with pytest.raises(CorruptPacketError, match="CRC"):
        decode_data_packet(bytes(bad), cfg)
    z = np.zeros((1, 3))
    mag = encode_data_packet(1, 2, z, z, CFG9, mag_ut=z)
    with pytest.raises(CorruptPacketError, match="magnetometer"):
        decode_data_packet(mag, cfg)


def test_control_round_trip_and_errors() -> None:
    for cmd in (Start(), Stop(), SetRate(400), SetTime(2**63), Buzz((200, 100, 200)),
                Backfill(3, 2**32 - 1)):
        assert decode_control(encode_control(cmd)) == cmd
    with pytest.raises(UnknownPacketError):
        decode_control(b"\x7f")
    with pytest.raises(ShortPacketError):
        decode_control(b"\x06\x00")
    with pytest.raises(CorruptPacketError):
        decode_control(b"\x05\x00")
    with pytest.raises(ValueError, match="steps"):
        encode_control(Buzz(()))


def test_status_round_trip_and_errors() -> None:
    status = StatusReport(50, 7, 1, 8, error_code=4, error_opcode=6, boot_counter=9)
    assert decode_status(encode_status(status)) == status
    assert "buffer" in status.error_name
    with pytest.raises(ShortPacketError):
        decode_status(encode_status(status)[:5])
