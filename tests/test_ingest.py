"""SensorIngest: a 10-minute stream with loss, backfill, reboots and corrupt packets."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.ingest import SensorIngest, assemble_samples
from firmware_bridge.movesense import encode_movesense_notifications
from firmware_bridge.profile import SensorConfig, encode_data_packet
from stridecue.constants import SAMPLE_COLUMNS

CFG = SensorConfig(sampling_rate_hz=200.0, samples_per_packet=10)
PERIOD_S = 1.0 / CFG.sampling_rate_hz


def _packets(rng: np.random.Generator, n_packets: int, t0_us: int = 4_000_000_000):
    """(seq, time_us, acc, gyr) of a stream; t0 near the u32 wrap so it wraps early."""
    for seq in range(n_packets):
        acc = rng.normal(0.0, 20.0, (10, 3))
        gyr = rng.normal(0.0, 5.0, (10, 3))
        yield seq, (t0_us + seq * 50_000) % (1 << 32), acc, gyr


def test_ten_minutes_with_loss_and_backfill_every_sample_in_order() -> None:
    rng = np.random.default_rng(42)
    ingest = SensorIngest("stridecue", CFG, gap_timeout_s=5.0)
    n_packets = 12_000  # 10 min at 200 Hz
    lost = rng.random(n_packets) < 0.02
    lost[:5] = False
    lost[-5:] = False
    never_backfilled = lost & (rng.random(n_packets) < 0.25)
    blocks, held, encoded = [], [], {}
    for seq, t_us, acc, gyr in _packets(rng, n_packets):
        arrival = seq * 0.05 + 0.06 + rng.exponential(0.005)
        encoded[seq] = (t_us, acc, gyr)
        if lost[seq]:
            held.append(seq)
            continue
        blocks += ingest.feed(arrival, encode_data_packet(seq, t_us, acc, gyr, CFG))
        if seq % 20 == 0:  # the client asks for backfill now and then
            for gap in ingest.pending_gaps():
                for missing in range(gap.first_seq, gap.last_seq + 1):
                    if never_backfilled[missing]:
                        continue
                    t, a, g = encoded[missing]
                    data = encode_data_packet(missing, t, a, g, CFG, resent=True)
                    blocks += ingest.feed(arrival + 0.01, data)
                for missing in range(gap.first_seq, gap.last_seq + 1):
                    if never_backfilled[missing]:
                        ingest.close_gap(missing, missing)
    ingest.finish()

    table = assemble_samples(blocks)
    assert tuple(table.columns) == SAMPLE_COLUMNS
    expected_packets = n_packets - int(never_backfilled.sum())
    assert len(table) == expected_packets * 10  # no invented, no missing, no duplicate samples
    assert np.all(np.diff(table["sensor_time_s"].to_numpy()) > 0)
    stats = ingest.stats
    assert stats.samples_lost == int(never_backfilled.sum()) * 10
    assert stats.samples_backfilled == int((lost & ~never_backfilled).sum()) * 10
    assert sum(n for _s, _e, n in stats.gaps) == stats.samples_lost
    assert stats.reboots == 0
    assert stats.decode_errors == {}
    # every sample is the one that was sent (within quantisation)
    sent_acc = np.concatenate([encoded[s][1] for s in range(n_packets) if not never_backfilled[s]])
    np.testing.assert_allclose(table[["acc_x_mps2", "acc_y_mps2", "acc_z_mps2"]].to_numpy(),
                               sent_acc, atol=CFG.acc_lsb_mps2)
    # lost gaps sit exactly where the never-backfilled packets were
    t0_s = 4_000_000_000 * 1e-6
    starts = sorted(round((s - t0_s) / 0.05) for s, _e, _n in stats.gaps)
    runs = np.flatnonzero(never_backfilled & ~np.r_[False, never_backfilled[:-1]])
    assert starts == runs.tolist()
    assert table["mag_x_ut"].isna().all()


def test_reboot_starts_new_segment_not_gap() -> None:
    rng = np.random.default_rng(1)
    ingest = SensorIngest("stridecue", CFG)
    blocks = []
    for seq, t_us, acc, gyr in _packets(rng, 100, t0_us=10_000_000):
        blocks += ingest.feed(seq * 0.05, encode_data_packet(seq, t_us, acc, gyr, CFG))
    for seq, t_us, acc, gyr in _packets(rng, 50, t0_us=123):
        data = encode_data_packet(seq, t_us, acc, gyr, CFG, boot_counter=1)
        blocks += ingest.feed(6.0 + seq * 0.05, data)
    ingest.finish()
    assert ingest.stats.reboots == 1
    assert ingest.stats.samples_lost == 0
    assert len(assemble_samples(blocks)) == 1500


def _reboot_without_head(backfill: bool):
    """100 packets, reboot, then boot 1's packets 0..4 never arrive live (seq 5..49 do)."""
    rng = np.random.default_rng(4)
    config = SensorConfig(sampling_rate_hz=200.0, samples_per_packet=10, backfill=backfill)
    ingest = SensorIngest("stridecue", config)
    blocks = []
    for seq, t_us, acc, gyr in _packets(rng, 100, t0_us=10_000_000):
        blocks += ingest.feed(seq * 0.05, encode_data_packet(seq, t_us, acc, gyr, config))
    boot1 = list(_packets(rng, 50, t0_us=50_000))
    for seq, t_us, acc, gyr in boot1[5:]:
        data = encode_data_packet(seq, t_us, acc, gyr, config, boot_counter=1)
        blocks += ingest.feed(6.0 + seq * 0.05, data)
    return ingest, blocks, boot1, config


def test_reboot_head_not_backfilled_is_lost() -> None:
    ingest, blocks, _, _ = _reboot_without_head(backfill=False)
    ingest.finish()
    assert ingest.stats.reboots == 1
    assert ingest.stats.samples_lost == 50
    # the head's sensor time: from the boot's first packet (t = 0.05 s) to the first one seen
    assert ingest.stats.gaps == [(pytest.approx(0.05), pytest.approx(0.30), 50)]
    assert len(assemble_samples(blocks)) == 1000 + 450


def test_reboot_head_is_asked_for_and_backfilled() -> None:
    ingest, blocks, boot1, config = _reboot_without_head(backfill=True)
    (gap,) = ingest.pending_gaps()
    assert (gap.segment, gap.first_seq, gap.last_seq, gap.n_samples) == (1, 0, 4, 50)
    for seq, t_us, acc, gyr in boot1[gap.first_seq : gap.last_seq + 1]:
        data = encode_data_packet(seq, t_us, acc, gyr, config, boot_counter=1, resent=True)
        blocks += ingest.feed(8.6, data)
    ingest.finish()
    assert ingest.stats.samples_lost == 0
    assert ingest.stats.samples_backfilled == 50
    table = assemble_samples(blocks)
    assert len(table) == 1500
    boot1_time = table["sensor_time_s"].to_numpy()[1000:]
    np.testing.assert_allclose(np.diff(boot1_time), PERIOD_S, atol=1e-6)


def test_resent_packet_after_gap_timeout_is_kept_once_and_uncounted_from_lost() -> None:
    rng = np.random.default_rng(5)
    ingest = SensorIngest("stridecue", CFG, gap_timeout_s=1.0)
    packets = list(_packets(rng, 200, t0_us=0))
    blocks = []
    for seq, t_us, acc, gyr in packets:
        if 50 <= seq <= 52:  # lost live; the sensor's answer comes after the 1 s timeout
            continue
        blocks += ingest.feed(seq * 0.05, encode_data_packet(seq, t_us, acc, gyr, CFG))
    assert ingest.pending_gaps() == []
    assert ingest.stats.samples_lost == 30
    late = [encode_data_packet(s, *packets[s][1:], CFG, resent=True) for s in (51, 50, 51)]
    for data in late:  # out of order, and once twice
        blocks += ingest.feed(10.5, data)
    ingest.finish()
    st = ingest.stats
    assert st.late_resent == 2
    assert st.duplicates == 1
    assert st.samples_lost == 10
    assert st.gaps == [(pytest.approx(52 * 0.05), pytest.approx(53 * 0.05), 10)]
    assert st.samples_received + st.samples_lost == 200 * 10
    table = assemble_samples(blocks)
    assert len(table) == 1990
    t = table["sensor_time_s"].to_numpy()
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(t[500:520], np.arange(500, 520) * PERIOD_S, atol=1e-6)


def test_corrupt_packets_are_counted_not_raised() -> None:
    ingest = SensorIngest("stridecue", CFG)
    good = encode_data_packet(0, 0, np.zeros((10, 3)), np.zeros((10, 3)), CFG)
    assert ingest.feed(0.0, good[:-3]) == []
    assert ingest.feed(0.0, b"\x07" + good[1:]) == []
    flipped = bytearray(good)
    flipped[20] ^= 0x10
    assert ingest.feed(0.0, bytes(flipped)) == []
    assert ingest.stats.decode_errors == {
        "ShortPacketError": 1, "UnsupportedVersionError": 1, "CorruptPacketError": 1
    }
    assert len(ingest.feed(0.0, good)) == 1


def test_movesense_stream_gap_is_lost_at_once() -> None:
    rng = np.random.default_rng(2)
    ingest = SensorIngest("movesense", movesense_subscriptions={99: "/Meas/IMU9/104"})
    blocks = []
    for k in range(40):
        if k == 17:
            continue
        notes = encode_movesense_notifications(
            99, 1000 + round(k * 8 * 1000 / 104), rng.normal(size=(8, 3)),
            rng.normal(size=(8, 3)), rng.normal(size=(8, 3)))
        for note in notes:
            blocks += ingest.feed(k * 0.077, note)
    assert ingest.pending_gaps() == []
    assert ingest.stats.samples_lost == 8
    table = assemble_samples(blocks)
    assert len(table) == 39 * 8
    assert not table["mag_x_ut"].isna().any()


def test_assemble_with_offline_clock_model() -> None:
    rng = np.random.default_rng(3)
    ingest = SensorIngest("stridecue", CFG)
    blocks = []
    for seq, t_us, acc, gyr in _packets(rng, 2000, t0_us=0):
        arrival = 100.0 + seq * 0.05 * (1 + 50e-6) + 0.045 + rng.exponential(0.01)
        blocks += ingest.feed(arrival, encode_data_packet(seq, t_us, acc, gyr, CFG))
    models = ingest.offline_clock_models()
    assert models[0].drift_ppm == pytest.approx(50.0, abs=5.0)
    table = assemble_samples(blocks, models)
    # Each packet leaves right after its last sample (0.045 s after its first), so the host time
    # of a sample is its arrival minus the latency: no packet-duration offset remains.
    truth = 100.0 + table["sensor_time_s"].to_numpy() * (1 + 50e-6)
    assert np.max(np.abs(table["time_s"].to_numpy() - truth)) < 0.002


def test_clock_report_one_drift_for_all_boots_in_the_sensor_sign() -> None:
    rng = np.random.default_rng(6)
    ingest = SensorIngest("stridecue", CFG)
    rate = 1 + 50e-6  # the sensor's crystal runs 50 ppm fast, through a reboot

    def feed(boot: int, host_start_s: float, n_packets: int) -> None:
        for seq, t_us, acc, gyr in _packets(rng, n_packets, t0_us=1_000_000):
            arrival = host_start_s + (t_us * 1e-6 - 1.0 + 0.045) / rate + rng.exponential(0.002)
            ingest.feed(arrival, encode_data_packet(seq, t_us, acc, gyr, CFG, boot_counter=boot))

    feed(0, 3.0, 600)  # 30 s
    feed(1, 40.0, 600)  # another 30 s after a reboot
    report = ingest.clock_report()
    assert report["segments"] == [{"segment": 0, "pairs": 600, "span_s": pytest.approx(29.95)},
                                  {"segment": 1, "pairs": 600, "span_s": pytest.approx(29.95)}]
    # no connection-interval steps in this link: the fit and its spread are tight
    assert report["drift_uncertainty_ppm"] < 2.0
    assert report["clock_error_ppm"] == pytest.approx(50.0, abs=report["drift_uncertainty_ppm"])
    assert 0.0 < report["uncertainty_ms"] < 1.0
    models = ingest.offline_clock_models()
    assert models[0].drift_ppm == models[1].drift_ppm
    assert models[1].to_host(1.0) == pytest.approx(40.0, abs=0.001)  # each boot its own offset


def test_duplicates_recognised_without_per_packet_state() -> None:
    """Old packets sent again (live or resent) add nothing, and a live ingest keeps no per-packet
    state: memory does not grow with the session."""
    rng = np.random.default_rng(5)
    ingest = SensorIngest("stridecue", CFG, gap_timeout_s=5.0, keep_clock_pairs=False)
    n_packets = 3000
    lost = rng.random(n_packets) < 0.03
    lost[:3] = lost[-3:] = False
    encoded, blocks = {}, []
    for seq, t_us, acc, gyr in _packets(rng, n_packets):
        encoded[seq] = (t_us, acc, gyr)
        arrival = seq * 0.05 + 0.06
        if not lost[seq]:
            blocks += ingest.feed(arrival, encode_data_packet(seq, t_us, acc, gyr, CFG))
        if seq % 40 == 39:
            for gap in ingest.pending_gaps():
                for missing in range(gap.first_seq, gap.last_seq + 1):
                    t, a, g = encoded[missing]
                    blocks += ingest.feed(arrival, encode_data_packet(missing, t, a, g, CFG, resent=True))
            for old in rng.integers(max(0, seq - 200), seq, 3):  # repeats of arrived packets
                t, a, g = encoded[int(old)]
                if not lost[old] or old < seq - 40:
                    blocks += ingest.feed(arrival, encode_data_packet(int(old), t, a, g, CFG,
                                                                      resent=bool(old % 2)))
    ingest.finish()
    table = assemble_samples(blocks)
    assert len(table) == n_packets * 10  # every packet once: repeats were recognised
    assert np.all(np.diff(table["sensor_time_s"].to_numpy()) > 0)
    assert ingest.stats.duplicates > 0 and ingest.stats.samples_lost == 0
    segment = ingest._segments[0]
    assert segment.clock_pairs == [] and segment.pending == [] and segment.lost == []
    assert ingest.offline_clock_models() == {}
