"""The stridecue client (SensorHub / SensorLink) against simulated sensors over bleak + bumble."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pandas as pd
import pytest

from firmware_bridge import profile
from firmware_bridge.backoff import backoff_delays
from firmware_bridge.client import LinkState, SimulatedSignal, scan, simulated_hub
from firmware_bridge.ingest import SampleBlock, assemble_samples
from firmware_bridge.sim_sensor import SensorFaults

FAST_BACKOFF = (0.05, 2.0, 0.5, 0.1)


def ramp_signal(n: int, rate_hz: float = 200.0, ppm: float = 0.0, **kw: object) -> SimulatedSignal:
    """acc_x is a unique ramp (sample index on the quantisation grid) to check order and loss."""
    lsb = profile.SensorConfig().acc_lsb_mps2
    i = np.arange(n)
    acc = np.stack([(i % 30000 - 15000) * lsb, np.sin(i / 10.0), np.full(n, 9.81)], axis=1)
    gyr = np.stack([np.cos(i / 7.0), np.zeros(n), np.zeros(n)], axis=1)
    return SimulatedSignal(acc, gyr, rate_hz, clock_drift_ppm=ppm, **kw)  # type: ignore[arg-type]


def sample_index(blocks: list[SampleBlock]) -> np.ndarray:
    lsb = profile.SensorConfig().acc_lsb_mps2
    acc_x = np.concatenate([b.acc_mps2[:, 0] for b in blocks])
    return np.rint(acc_x / lsb).astype(int) + 15000


def test_backoff_delays_grow_cap_and_jitter() -> None:
    delays = backoff_delays(0.1, 2.0, 1.0, 0.0)
    assert [round(next(delays), 6) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    a = backoff_delays(0.1, 2.0, 1.0, 0.5, random.Random(3))
    b = backoff_delays(0.1, 2.0, 1.0, 0.5, random.Random(3))
    first = [next(a) for _ in range(20)]
    assert first == [next(b) for _ in range(20)]
    assert all(0.0 <= d <= 1.0 for d in first)
    assert len(set(first[:4])) == 4  # jitter spreads the uncapped delays
    with pytest.raises(ValueError, match="factor"):
        next(backoff_delays(0.1, 0.5, 1.0, 0.0))


async def test_stream_rate_and_sequence() -> None:
    n = 1200  # 6 s at 200 Hz, run 10x faster
    async with simulated_hub({"sacrum": ramp_signal(n)}, time_scale=10.0) as (hub, sensors):
        await asyncio.wait_for(sensors["sacrum"].done.wait(), timeout=10.0)
        await hub.links["sacrum"].drain(timeout_s=2.0)
        items = hub.get_nowait()
        link = hub.links["sacrum"]
        assert link.config is not None
        assert link.config.sampling_rate_hz == 200.0
    blocks = [b for _, b in items]
    seqs = [b.first_seq for b in blocks]
    assert seqs == list(range(n // 10))
    assert np.array_equal(sample_index(blocks), np.arange(n))
    sensor_t = np.concatenate([b.sensor_time_s for b in blocks])
    assert np.allclose(np.diff(sensor_t), 1 / 200.0, atol=2e-6)
    # virtual arrival clock: 20 packets per second of stream time
    times = np.array([b.time_s[0] for b in blocks])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate == pytest.approx(20.0, rel=0.05)


async def _run_fault_scenario(backfill: bool) -> tuple[list[SampleBlock], object, object]:
    faults = SensorFaults(
        loss_fraction=0.02,
        loss_window_s=(5.5, 11.0),
        link_drops=((3.0, 2.0),),
        reboot_at_s=(1.5,),
        seed=7,
    )
    n = 2400  # 12 s
    async with simulated_hub(
        {"sacrum": ramp_signal(n)},
        faults={"sacrum": faults},
        time_scale=10.0,
        backfill=backfill,
        backoff=FAST_BACKOFF,
    ) as (hub, sensors):
        sensor = sensors["sacrum"]
        await asyncio.wait_for(sensor.done.wait(), timeout=20.0)
        await asyncio.sleep(0.1)
        link = hub.links["sacrum"]
        await link.drain(timeout_s=2.0)
        items = hub.get_nowait()
    return [b for _, b in items], link, sensor


async def test_faults_with_backfill_lose_nothing() -> None:
    blocks, link, sensor = await _run_fault_scenario(backfill=True)
    assert sensor.stats.reboots == 1
    assert sensor.stats.link_drops == 1
    assert sensor.stats.notifications_lost > 0
    assert link.stats.link_losses == 2
    assert link.ingest.stats.reboots == 1
    assert link.ingest.stats.samples_lost == 0
    table = assemble_samples(blocks)  # sorted by segment then sensor time, duplicates removed
    index = np.rint(table["acc_x_mps2"].to_numpy() / profile.SensorConfig().acc_lsb_mps2) + 15000
    assert np.array_equal(index.astype(int), np.arange(2400))


async def test_faults_without_backfill_report_gaps_exactly() -> None:
    blocks, link, sensor = await _run_fault_scenario(backfill=False)
    got = np.unique(sample_index(blocks))
    missing = 2400 - got.size
    assert missing > 0
    # every missing sample is reported as lost, the head of the boot after the reboot included
    assert min(b.first_seq for b in blocks if b.segment == 1) > 0
    assert link.ingest.stats.samples_lost == missing
    assert sum(n for _s, _e, n in link.ingest.stats.gaps) == missing


async def test_two_drifting_sensors_align_after_clock_fit() -> None:
    n = 4000  # 20 s
    signals = {
        "sacrum": ramp_signal(n, ppm=80.0),
        "thigh_left": ramp_signal(n, ppm=-60.0),
    }
    async with simulated_hub(signals, time_scale=4.0) as (hub, sensors):
        await asyncio.wait_for(
            asyncio.gather(*(s.done.wait() for s in sensors.values())), timeout=20.0
        )
        for link in hub.links.values():
            await link.drain(timeout_s=2.0)
        items = hub.get_nowait()
        errors = {}
        drift = {}
        for placement, sensor in sensors.items():
            blocks = [b for p, b in items if p == placement]
            firsts = np.array([b.sensor_time_s[0] for b in blocks])
            model = hub.links[placement].ingest.offline_clock_models()[0]
            fitted = model.to_host(np.concatenate([b.sensor_time_s for b in blocks]))
            idx = sample_index(blocks)
            true = sensor.true_time_s()[idx]
            errors[placement] = pd.Series(fitted - true, index=idx)
            # a sensor that started streaming later missed the motion before (one body)
            assert firsts.size == sensor.stats.packets_sampled >= n // 10 - 20
            drift[placement] = model.drift_ppm
    # a crystal running fast needs fewer host seconds per sensor second (20 s of stream is too
    # short to resolve the ppm value itself under event-loop jitter: sign only)
    assert drift["sacrum"] < drift["thigh_left"]
    diff = (errors["sacrum"] - errors["thigh_left"]).dropna().to_numpy()  # the samples both took
    worst_ms = 1e3 * np.max(np.abs(diff))
    print(f"alignment error ms: median {1e3 * np.median(diff):.3f} max {worst_ms:.3f}")
    assert np.max(np.abs(diff - np.median(diff))) < 0.002
    assert abs(np.median(diff)) < 0.002


async def test_refused_connections_recovered_by_backoff() -> None:
    faults = {"sacrum": SensorFaults(refuse_connections=2)}
    async with simulated_hub(
        {"sacrum": ramp_signal(200)}, faults=faults, time_scale=10.0, backoff=FAST_BACKOFF
    ) as (hub, sensors):
        await asyncio.wait_for(sensors["sacrum"].done.wait(), timeout=10.0)
        link = hub.links["sacrum"]
        assert link.stats.connect_failures == 2
        assert link.stats.connects == 1
        assert sensors["sacrum"].stats.connections_refused == 2
        await link.drain(timeout_s=2.0)
        assert sum(b.n_samples for _, b in hub.get_nowait()) == 200


async def test_garbage_is_counted_and_stream_continues() -> None:
    faults = {"sacrum": SensorFaults(garbage_fraction=0.2, seed=3)}
    raw: list[tuple[str, int, str, bytes]] = []
    async with simulated_hub(
        {"sacrum": ramp_signal(1000)},
        faults=faults,
        time_scale=10.0,
        on_raw=lambda *args: raw.append(args),
    ) as (hub, sensors):
        sensor = sensors["sacrum"]
        await asyncio.wait_for(sensor.done.wait(), timeout=10.0)
        link = hub.links["sacrum"]
        await link.drain(timeout_s=2.0)
        blocks = [b for _, b in hub.get_nowait()]
        errors = sum(link.ingest.stats.decode_errors.values())
    assert sensor.stats.garbage_sent > 0
    assert errors == sensor.stats.garbage_sent
    assert np.array_equal(sample_index(blocks), np.arange(1000))
    data_raw = [r for r in raw if r[2] == "data"]
    assert len(data_raw) == 100 + sensor.stats.garbage_sent
    assert all(r[0] == "sacrum" for r in raw)
    assert [r[1] for r in raw] == sorted(r[1] for r in raw)


async def test_buzz_reaches_the_sensor() -> None:
    async with simulated_hub({"sacrum": ramp_signal(400)}, time_scale=5.0) as (hub, sensors):
        await hub.buzz("sacrum", [120, 60, 120])
        await asyncio.sleep(0.01)
        assert sensors["sacrum"].stats.buzzes[0][1] == (120, 60, 120)


async def test_movesense_imu9_split_packets_decoded() -> None:
    n = 104 * 3
    rng = np.random.default_rng(5)
    acc = rng.normal(0, 3, (n, 3))
    gyr = rng.normal(0, 1, (n, 3))
    mag = rng.normal(30, 5, (n, 3))
    signal = SimulatedSignal(acc, gyr, 104.0, mag_ut=mag, protocol="movesense")
    async with simulated_hub({"thigh_left": signal}, time_scale=5.0) as (hub, sensors):
        await asyncio.wait_for(sensors["thigh_left"].done.wait(), timeout=10.0)
        link = hub.links["thigh_left"]
        await link.drain(timeout_s=2.0)
        blocks = [b for _, b in hub.get_nowait()]
        assert link.stats.notifications == 2 * (n // 8)  # DATA + DATA_PART2 each
    assert [b.first_seq for b in blocks] == list(range(n // 8))
    got_acc = np.concatenate([b.acc_mps2 for b in blocks])
    got_gyr = np.concatenate([b.gyr_radps for b in blocks])
    got_mag = np.concatenate([b.mag_ut for b in blocks])
    np.testing.assert_allclose(got_acc, acc, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got_gyr, gyr, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_mag, mag, rtol=1e-6, atol=1e-4)


async def test_movesense_by_address_without_protocol_is_recognised_from_its_services() -> None:
    n = 208 * 2
    rng = np.random.default_rng(6)
    signal = SimulatedSignal(rng.normal(0, 3, (n, 3)), rng.normal(0, 1, (n, 3)), 208.0,
                             protocol="movesense")
    # protocols={}: the hub is told nothing and assumes stridecue for an address
    async with simulated_hub({"thigh_left": signal}, time_scale=5.0, protocols={}) as (
        hub, sensors
    ):
        await asyncio.wait_for(sensors["thigh_left"].done.wait(), timeout=10.0)
        link = hub.links["thigh_left"]
        await link.drain(timeout_s=2.0)
        blocks = [b for _, b in hub.get_nowait()]
    assert link.protocol == "movesense"
    assert sum(b.n_samples for b in blocks) == n


async def test_scan_finds_sensors_with_battery() -> None:
    from firmware_bridge.bumble_backend import BumbleScannerBackend

    async with simulated_hub({"sacrum": ramp_signal(100)}, time_scale=1.0) as (hub, sensors):
        radio = sensors["sacrum"].radio
        await hub.close()  # a connected sensor stops advertising; free it
        await asyncio.sleep(0.05)
        found = await scan(0.2, backend=BumbleScannerBackend, radio=radio)
    assert [(f.name, f.protocol, f.battery_percent, f.rssi_dbm) for f in found] == [
        ("stridecue-sacrum", "stridecue", 87, -50)
    ]


def test_link_states_are_distinct() -> None:
    assert len({s.value for s in LinkState}) == len(LinkState)


async def test_scan_without_a_usable_adapter_raises_a_one_line_error() -> None:
    from bleak.backends.scanner import BaseBleakScanner
    from bleak.exc import BleakError

    from firmware_bridge.errors import SensorConnectionError

    class NoAdapter(BaseBleakScanner):
        def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs):
            super().__init__(detection_callback, service_uuids)

        async def start(self) -> None:
            raise BleakError("No Bluetooth adapters found.")

        async def stop(self) -> None:
            return None

    with pytest.raises(SensorConnectionError, match="bluetoothctl power on") as info:
        await scan(0.1, backend=NoAdapter)
    assert "\n" not in str(info.value)
