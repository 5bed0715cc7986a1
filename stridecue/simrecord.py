"""Record a simulated session through the real byte path, without a radio.

The simulator's samples are packed into stridecue profile data packets (int16, 10 samples per
notification, sequence numbers, the sensor's own drifting timestamps), given arrival times the
way a BLE link delivers them (connection-interval quantisation plus jitter), and written to the
session's raw log exactly as the live client writes real notifications. Finalising the session
then decodes the raw log with the same ingest code the live client uses, including the clock fit.
The Bluetooth path itself (bumble peripheral, bleak client) is exercised by ``stridecue record
--simulate``; this module is the fast, deterministic path for the demo, tests and benchmarks.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.profile import SensorConfig, encode_config, encode_data_packet
from recordings.rawlog import Channel
from recordings.session import SensorInfo, Session, SessionWriter
from stridecue.simulator import SessionPlan, simulate


@dataclass(frozen=True)
class LinkModel:
    """How notifications reach the host: delay = interval wait + exponential jitter (seconds)."""

    connection_interval_s: float = 0.015
    jitter_mean_s: float = 0.002
    loss_fraction: float = 0.0  # lost for good (no backfill in this path)


def _sensor_config(rate_hz: float, has_mag: bool) -> SensorConfig:
    return SensorConfig(
        model="stridecue-sim",
        sampling_rate_hz=float(rate_hz),
        mag_lsb_ut=0.15 if has_mag else None,
        mag_range_ut=4900.0 if has_mag else None,
    )


def _notifications(
    index: int, sensor: Any, cfg: SensorConfig, link: LinkModel, rng: np.random.Generator
) -> Iterator[tuple[int, int, bytes]]:
    """(arrival_ns, sensor_index, payload) of one sensor's data packets, in send order."""
    n = len(sensor.true_time_s)
    per = cfg.samples_per_packet
    last_arrival = 0
    for seq, i0 in enumerate(range(0, n, per)):
        i1 = min(n, i0 + per)
        if link.loss_fraction and rng.random() < link.loss_fraction:
            continue
        payload = encode_data_packet(
            seq,
            int(round(sensor.sensor_time_s[i0] * 1e6)),
            sensor.acc_mps2[i0:i1],
            sensor.gyr_radps[i0:i1],
            cfg,
            mag_ut=None if sensor.mag_ut is None else sensor.mag_ut[i0:i1],
        )
        sent = sensor.true_time_s[i1 - 1]
        wait = link.connection_interval_s * rng.random()
        arrival = sent + wait + rng.exponential(link.jitter_mean_s)
        arrival_ns = max(int(arrival * 1e9), last_arrival)  # a link delivers in order
        last_arrival = arrival_ns
        yield arrival_ns, index, payload


def record_simulated_session(
    plan: SessionPlan,
    out: Path,
    *,
    seed: int,
    athlete: dict[str, Any] | None = None,
    link: LinkModel | None = None,
    progress: Any = None,
) -> Session:
    """Simulate ``plan`` and record it as a session folder (raw log, tables, truth).

    Parameters
    ----------
    plan
        The simulated session plan (``stridecue.simulator``).
    out
        New session folder.
    seed
        Seed of the simulation and of the link model.
    athlete
        Athlete settings stored in the session (height_m, leg_length_m, lap_distance_m, name).
    link
        Delivery model of the notifications.
    progress
        Optional callable ``progress(fraction)`` for a progress bar.
    """
    link = link or LinkModel()
    sim = simulate(plan, seed=seed)
    rng = np.random.default_rng(seed + 1)
    placements = list(sim.sensors)
    configs = {
        p: _sensor_config(sim.sensors[p].sampling_rate_hz, sim.sensors[p].mag_ut is not None)
        for p in placements
    }
    sensors = [
        SensorInfo(
            placement=p,
            protocol="stridecue",
            address=f"SIM:{i:02d}",
            name=f"stridecue-sim-{p}",
            sampling_rate_hz=configs[p].sampling_rate_hz,
        )
        for i, p in enumerate(placements)
    ]
    athlete = dict(athlete or {})
    athlete.setdefault("height_m", getattr(plan, "height_m", 1.78))
    writer = SessionWriter(
        Path(out), sensors=sensors, source="simulated", athlete=athlete,
        extra_meta={"simulation": {"seed": seed, "plan": repr(plan)}},
    )
    with writer:
        for p in placements:
            writer.append_raw(0, p, Channel.CONFIG, encode_config(configs[p]))
        streams = [
            _notifications(i, sim.sensors[p], configs[p], link, rng) for i, p in enumerate(placements)
        ]
        total = sum(len(sim.sensors[p].true_time_s) // configs[p].samples_per_packet + 1 for p in placements)
        raw = writer.raw
        assert raw is not None
        keys = _lap_keys(sim)
        for count, (arrival_ns, index, payload) in enumerate(heapq.merge(*streams)):
            while keys and keys[0] * 1e9 <= arrival_ns:
                writer.journal("lap", time_s=keys.pop(0), source="key")
            raw.append(arrival_ns, index, Channel.DATA, payload)
            if progress is not None and count % 2000 == 0:
                progress(count / total)
        sim.write_truth(writer.path / "truth")
    session = writer.finalize()
    if progress is not None:
        progress(1.0)
    return session


def _lap_keys(sim: Any) -> list[float]:
    marks = getattr(sim.truth, "lap_marks", None)
    if marks is None or not len(marks):
        return []
    keyed = marks[marks["method"] == "key"] if "method" in marks else marks.iloc[0:0]
    return sorted(float(t) for t in keyed["time_s"])
