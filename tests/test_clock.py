"""Clock unwrapping and fits against a simulated BLE link (drift, interval quantisation, jitter)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.clock import (
    ClockFit,
    SensorTimeUnwrapper,
    fit_clock,
    fit_clock_boots,
    fit_clock_least_squares,
    fit_uncertainty,
    fit_uncertainty_boots,
    sensor_clock_error_ppm,
    unwrap_sensor_time_us,
)

RATE_HZ = 200.0
SAMPLES_PER_PACKET = 10
PACKET_S = SAMPLES_PER_PACKET / RATE_HZ


def simulate_link(
    rng: np.random.Generator,
    *,
    duration_s: float,
    drift_ppm: float,
    sensor_start_s: float,
    host_start_s: float,
    interval_s: float,
    loss: float = 0.015,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sensor time of first sample, arrival time, true host time of first sample) per packet.

    A packet is ready when its last sample is taken, waits for the next connection event
    (interval quantisation), then exponential jitter; about once a minute a burst of 1-2 s
    where packets queue up and arrive 100-400 ms late; ``loss`` of packets never arrive.
    """
    n = int(duration_s / PACKET_S)
    sensor_first = sensor_start_s + np.arange(n) * PACKET_S  # the sensor paces the packets
    rate = 1.0 + drift_ppm * 1e-6  # host seconds per sensor second
    true_host_first = host_start_s + (sensor_first - sensor_start_s) * rate
    ready = true_host_first + (SAMPLES_PER_PACKET - 1) / RATE_HZ * rate
    phase = rng.uniform(0.0, interval_s)
    event = np.ceil((ready - phase) / interval_s) * interval_s + phase
    arrival = event + rng.exponential(0.004, n)
    for start in rng.uniform(0.0, duration_s, size=max(1, int(duration_s / 60.0))):
        in_burst = (true_host_first >= host_start_s + start) & (
            true_host_first < host_start_s + start + rng.uniform(1.0, 2.0)
        )
        arrival[in_burst] += rng.uniform(0.1, 0.4)
    arrival = np.maximum.accumulate(arrival)  # a link delivers in order
    kept = rng.random(n) >= loss
    return sensor_first[kept], arrival[kept], true_host_first[kept]


def test_unwrap_batch_handles_wraps_and_small_backsteps() -> None:
    true_us = np.arange(0, 3 * (1 << 32), 7_000_123, dtype=np.int64) + 123
    true_us[10], true_us[11] = true_us[11], true_us[10]  # a reordered pair
    got = unwrap_sensor_time_us(true_us % (1 << 32))
    np.testing.assert_array_equal(got, true_us)


def test_unwrap_online_matches_batch_and_keeps_backfill_in_place() -> None:
    rng = np.random.default_rng(3)
    true_us = np.cumsum(rng.integers(40_000, 60_000, 200_000)).astype(np.int64)
    order = np.arange(true_us.size)
    order[5000:5010] = order[5000:5010][::-1]  # a backfilled run arrives late
    unwrapper = SensorTimeUnwrapper()
    got = np.array([unwrapper.update(int(v) % (1 << 32)) for v in true_us[order]])
    np.testing.assert_array_equal(got, true_us[order] - true_us[order][0] + true_us[order][0])
    assert true_us[-1] > 2 * (1 << 32)  # really crossed wraps


def _misalignment_ms(models: list, truths: list) -> float:
    """Max over the session of the difference between two sensors' timing errors."""
    grid = np.linspace(1.0, 599.0, 2000)
    errors = []
    for model, (sensor, true_host) in zip(models, truths, strict=True):
        sensor_at = np.interp(grid, true_host, sensor)
        errors.append(model(sensor_at) - grid)
    return float(np.max(np.abs(errors[0] - errors[1])) * 1e3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lower_envelope_beats_least_squares_beats_arrival_stamping(seed: int) -> None:
    rng = np.random.default_rng(seed)
    links = [
        simulate_link(rng, duration_s=600.0, drift_ppm=80.0, sensor_start_s=1234.5,
                      host_start_s=0.0, interval_s=0.030),
        simulate_link(rng, duration_s=600.0, drift_ppm=-60.0, sensor_start_s=77.0,
                      host_start_s=0.0, interval_s=0.030),
    ]
    truths = [(s, h) for s, _a, h in links]

    envelope = [fit_clock(s, a) for s, a, _h in links]
    lsq = [fit_clock_least_squares(s, a) for s, a, _h in links]
    arrival = [lambda x, s=s, a=a: np.interp(x, s, a) for s, a, _h in links]

    err_envelope = _misalignment_ms([m.to_host for m in envelope], truths)
    err_lsq = _misalignment_ms([m.to_host for m in lsq], truths)
    err_arrival = _misalignment_ms(arrival, truths)
    print(f"seed {seed}: envelope {err_envelope:.2f} ms, lsq {err_lsq:.2f} ms, "
          f"arrival {err_arrival:.1f} ms")
    assert err_envelope < 1.5
    assert err_lsq > err_envelope
    assert err_arrival > 100.0
    assert envelope[0].drift_ppm == pytest.approx(80.0, abs=5.0)
    assert envelope[1].drift_ppm == pytest.approx(-60.0, abs=5.0)


def test_online_fit_tracks_drift_within_about_a_millisecond() -> None:
    rng = np.random.default_rng(11)
    sensor, arrival, true_host = simulate_link(
        rng, duration_s=600.0, drift_ppm=80.0, sensor_start_s=50.0, host_start_s=10.0,
        interval_s=0.015,
    )
    fit = ClockFit()
    errors = []
    const = (SAMPLES_PER_PACKET - 1) / RATE_HZ  # the part of the delay no host fit can see
    for s, a, h in zip(sensor, arrival, true_host, strict=True):
        fit.update(float(s), float(a))
        if s - sensor[0] > 30.0:
            errors.append(fit.to_host(float(s)) - (h + const))
    errors_ms = np.abs(np.array(errors)) * 1e3
    p95 = float(np.percentile(errors_ms, 95))
    print(f"online: p50 {np.median(errors_ms):.2f} ms, p95 {p95:.2f} ms, "
          f"max {errors_ms.max():.2f} ms, drift {fit.drift_ppm:.1f} ppm")
    assert p95 < 3.0
    assert errors_ms.max() < 8.0  # early in the session, before the window fills
    assert fit.drift_ppm == pytest.approx(80.0, abs=20.0)


def test_online_fit_is_deterministic_and_resettable() -> None:
    rng = np.random.default_rng(5)
    sensor, arrival, _ = simulate_link(rng, duration_s=120.0, drift_ppm=-60.0,
                                       sensor_start_s=0.0, host_start_s=0.0, interval_s=0.03)
    models = []
    fit = ClockFit()
    for _ in range(2):
        fit.reset()
        for s, a in zip(sensor, arrival, strict=True):
            fit.update(float(s), float(a))
        models.append(fit.model)
    assert models[0] == models[1]


def test_fit_clock_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal-length"):
        fit_clock([1.0, 2.0], [1.0])
    with pytest.raises(RuntimeError, match="before any update"):
        ClockFit().to_host(1.0)


def test_sensor_clock_error_has_the_simulator_sign() -> None:
    true_s = np.arange(0.0, 100.0, 0.05)
    sensor_s = 3.0 + true_s * (1 + 80e-6)  # a crystal 80 ppm fast counts more sensor seconds
    model = fit_clock(sensor_s, 10.0 + true_s + 0.002)
    assert model.drift_ppm == pytest.approx(-80.0, abs=0.1)  # host seconds per sensor second
    assert sensor_clock_error_ppm(model) == pytest.approx(80.0, abs=0.1)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fit_uncertainty_covers_the_drift_error_and_shrinks_with_length(seed) -> None:
    true_ppm = -60.0 if seed % 2 else 80.0
    spread = {}
    for duration_s in (60.0, 600.0):
        rng = np.random.default_rng(seed)
        sensor, arrival, _ = simulate_link(rng, duration_s=duration_s, drift_ppm=true_ppm,
                                           sensor_start_s=5.0, host_start_s=1.0,
                                           interval_s=0.0075)
        model = fit_clock(sensor, arrival)
        spread[duration_s] = fit_uncertainty(sensor, arrival)
        print(duration_s, f"drift {model.drift_ppm:.1f} +- {spread[duration_s].drift_ppm:.1f}")
        assert abs(model.drift_ppm - true_ppm) <= spread[duration_s].drift_ppm
    assert spread[600.0].drift_ppm < 3.0
    assert spread[600.0].drift_ppm < spread[60.0].drift_ppm
    assert spread[600.0].time_s < spread[60.0].time_s


def test_fit_uncertainty_needs_enough_pairs() -> None:
    result = fit_uncertainty(np.arange(10.0), np.arange(10.0) + 0.01)
    assert np.isnan(result.time_s)
    assert np.isnan(result.drift_ppm)


def test_boots_share_one_drift_and_one_boot_is_fit_clock() -> None:
    rng = np.random.default_rng(8)
    boots = []
    for k in range(2):  # two boots of 300 s, each with its own sensor-time origin and offset
        sensor, arrival, _ = simulate_link(rng, duration_s=300.0, drift_ppm=-60.0,
                                           sensor_start_s=0.05 + 7.0 * k,
                                           host_start_s=20.0 + 330.0 * k, interval_s=0.0075)
        boots.append((sensor, arrival))
    joint = fit_clock_boots(boots)
    spread = fit_uncertainty_boots(boots)
    print(f"joint drift {joint[0].drift_ppm:.2f} +- {spread.drift_ppm:.2f} ppm, "
          f"alone {[round(fit_clock(*b).drift_ppm, 2) for b in boots]}")
    assert joint[0].drift_ppm == joint[1].drift_ppm
    assert joint[0].drift_ppm == pytest.approx(-60.0, abs=max(spread.drift_ppm, 0.5))
    assert spread.drift_ppm < 3.0
    assert joint[1].to_host(7.05) == pytest.approx(350.0 + 0.045, abs=0.003)
    assert fit_clock_boots(boots[:1]) == [fit_clock(*boots[0])]
