"""Simulated sensors through the unmodified bleak.BleakClient over the bumble backend."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from bleak import BleakClient

from firmware_bridge import movesense as ms
from firmware_bridge import profile
from firmware_bridge.bumble_backend import BumbleClientBackend, SimulatedRadio
from firmware_bridge.sim_sensor import SensorFaults, SimulatedMovesense, SimulatedSensor

ADDRESS = "F1:5C:00:00:00:01"


def arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 5, (n, 3)), rng.normal(0, 2, (n, 3))


async def test_bleak_client_reads_config_and_gets_notifications_at_rate() -> None:
    acc, gyr = arrays(400)
    async with SimulatedRadio() as radio:  # real time: 200 Hz, 20 packets per second
        sensor = SimulatedSensor(
            radio,
            name="stridecue-sacrum",
            address=ADDRESS,
            acc_mps2=acc,
            gyr_radps=gyr,
            sampling_rate_hz=200.0,
        )
        await sensor.start()
        arrivals: list[tuple[float, bytes]] = []
        async with BleakClient(ADDRESS, backend=BumbleClientBackend, timeout=5.0) as client:
            config = profile.decode_config(
                bytes(await client.read_gatt_char(profile.CONFIG_CHAR_UUID))
            )
            assert config.sampling_rate_hz == 200.0
            assert config.samples_per_packet == 10
            status = profile.decode_status(
                bytes(await client.read_gatt_char(profile.STATUS_CHAR_UUID))
            )
            assert status.battery_percent == 87
            await client.start_notify(
                profile.DATA_CHAR_UUID,
                lambda _c, data: arrivals.append((time.monotonic(), bytes(data))),
            )
            await client.write_gatt_char(
                profile.CONTROL_CHAR_UUID, profile.encode_control(profile.Start()), response=True
            )
            await asyncio.wait_for(sensor.done.wait(), timeout=5.0)
            await asyncio.sleep(0.05)
        await sensor.close()
    packets = [profile.decode_data_packet(d, config) for _, d in arrivals]
    assert [p.seq for p in packets] == list(range(40))
    assert np.allclose(np.concatenate([p.acc_mps2 for p in packets]), acc, atol=config.acc_lsb_mps2)
    times = np.array([t for t, _ in arrivals])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate == pytest.approx(20.0, rel=0.1)
    sensor_us = np.array([p.sensor_time_us for p in packets])
    assert np.all(np.diff(sensor_us) == 50_000)


async def test_backfill_resends_flagged_packets_from_the_buffer() -> None:
    acc, gyr = arrays(300)
    async with SimulatedRadio(time_scale=10.0) as radio:
        sensor = SimulatedSensor(
            radio,
            name="s",
            address=ADDRESS,
            acc_mps2=acc,
            gyr_radps=gyr,
            sampling_rate_hz=200.0,
            faults=SensorFaults(loss_fraction=0.3, seed=2),
        )
        await sensor.start()
        got: list[bytes] = []
        async with BleakClient(ADDRESS, backend=BumbleClientBackend) as client:
            await client.start_notify(profile.DATA_CHAR_UUID, lambda _c, d: got.append(bytes(d)))
            await client.write_gatt_char(
                profile.CONTROL_CHAR_UUID, profile.encode_control(profile.Start()), response=True
            )
            await asyncio.wait_for(sensor.done.wait(), timeout=5.0)
            live = [profile.decode_data_packet(d, sensor.config) for d in got]
            missing = sorted(set(range(30)) - {p.seq for p in live})
            assert len(missing) == sensor.stats.notifications_lost > 0
            await client.write_gatt_char(
                profile.CONTROL_CHAR_UUID,
                profile.encode_control(profile.Backfill(0, 29)),
                response=False,
            )
            await asyncio.sleep(0.05)
        await sensor.close()
    resent = [profile.decode_data_packet(d, sensor.config) for d in got[len(live) :]]
    assert [p.seq for p in resent] == list(range(30))
    assert all(p.resent for p in resent)


async def test_reboot_restarts_seq_and_time_and_bumps_boot_counter() -> None:
    acc, gyr = arrays(400)
    async with SimulatedRadio(time_scale=10.0) as radio:
        sensor = SimulatedSensor(
            radio,
            name="s",
            address=ADDRESS,
            acc_mps2=acc,
            gyr_radps=gyr,
            sampling_rate_hz=200.0,
            faults=SensorFaults(reboot_at_s=(0.5,), reboot_downtime_s=0.0),
        )
        await sensor.start()
        lost = asyncio.Event()
        client = BleakClient(
            ADDRESS, disconnected_callback=lambda _c: lost.set(), backend=BumbleClientBackend
        )
        await client.connect()
        await client.start_notify(profile.DATA_CHAR_UUID, lambda _c, d: None)
        await client.write_gatt_char(
            profile.CONTROL_CHAR_UUID, profile.encode_control(profile.Start()), response=True
        )
        await asyncio.wait_for(lost.wait(), timeout=5.0)
        assert not client.is_connected
        async with BleakClient(ADDRESS, backend=BumbleClientBackend) as again:
            config = profile.decode_config(
                bytes(await again.read_gatt_char(profile.CONFIG_CHAR_UUID))
            )
            status = profile.decode_status(
                bytes(await again.read_gatt_char(profile.STATUS_CHAR_UUID))
            )
        await sensor.close()
    assert config.boot_counter == 1
    assert status.boot_counter == 1
    assert status.oldest_seq == 0  # the buffer restarted with the new boot
    assert sensor.stats.reboots == 1


async def test_movesense_imu6_subscription_streams_decodable_packets() -> None:
    acc, gyr = arrays(208)
    async with SimulatedRadio(time_scale=5.0) as radio:
        sensor = SimulatedMovesense(
            radio,
            name="Movesense 000001",
            address=ADDRESS,
            acc_mps2=acc,
            gyr_radps=gyr,
            sampling_rate_hz=208.0,
        )
        await sensor.start()
        decoder = ms.MovesenseDecoder()
        got: list[bytes] = []
        async with BleakClient(ADDRESS, backend=BumbleClientBackend) as client:
            await client.start_notify(ms.NOTIFY_CHAR_UUID, lambda _c, d: got.append(bytes(d)))
            await client.write_gatt_char(
                ms.WRITE_CHAR_UUID, decoder.subscribe(7, "/Meas/IMU6/208"), response=True
            )
            await asyncio.wait_for(sensor.done.wait(), timeout=5.0)
            await asyncio.sleep(0.02)
        await sensor.close()
    packets = [p for p in (decoder.feed(d) for d in got) if p is not None]
    assert len(got) == len(packets) == 26  # 8 samples per notification, no split
    assert [p.seq for p in packets] == list(range(26))
    np.testing.assert_allclose(
        np.concatenate([p.gyr_radps for p in packets]), gyr, rtol=1e-5, atol=1e-6
    )
