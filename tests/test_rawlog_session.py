"""The session on disk: raw log integrity, crash safety, repair, pandas readability."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recordings.rawlog import FILE_HEADER, Channel, RawLogWriter, ReadReport, read_raw_log
from recordings.session import SensorInfo, SessionWriter, open_session
from stridecue import constants as c
from stridecue.errors import SessionError


def _write_log(path: Path, n: int) -> list[bytes]:
    payloads = [bytes([i % 256]) * (10 + i % 50) for i in range(n)]
    with RawLogWriter(path) as w:
        for i, p in enumerate(payloads):
            w.append(i * 1000, i % 3, Channel.DATA, p)
    return payloads


def test_raw_log_round_trip(tmp_path: Path) -> None:
    payloads = _write_log(tmp_path / "raw.log", 500)
    records = list(read_raw_log(tmp_path / "raw.log"))
    assert [r.payload for r in records] == payloads
    assert [r.host_time_ns for r in records] == [i * 1000 for i in range(500)]
    assert {r.sensor_index for r in records} == {0, 1, 2}


def test_raw_log_truncated_tail_keeps_every_whole_record(tmp_path: Path) -> None:
    path = tmp_path / "raw.log"
    payloads = _write_log(path, 100)
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # the process died while writing the last record
    report = ReadReport()
    records = list(read_raw_log(path, report))
    assert [r.payload for r in records] == payloads[:-1]
    assert report.truncated_tail_bytes > 0
    assert report.damaged_bytes == 0


def test_raw_log_damage_in_the_middle_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "raw.log"
    payloads = _write_log(path, 100)
    data = bytearray(path.read_bytes())
    middle = len(FILE_HEADER) + (len(data) - len(FILE_HEADER)) // 2
    data[middle : middle + 5] = b"\xff\x00\xff\x00\xff"
    path.write_bytes(bytes(data))
    report = ReadReport()
    got = [r.payload for r in read_raw_log(path, report)]
    assert len(got) in (98, 99)  # one or two records hit by the damage, all others kept
    assert set(got) <= set(payloads)
    assert got[0] == payloads[0] and got[-1] == payloads[-1]
    assert report.damaged_bytes > 0


def test_not_a_raw_log_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "raw.log"
    path.write_bytes(b"hello world, not a log")
    with pytest.raises(SessionError, match="not a stridecue raw log"):
        list(read_raw_log(path))


def test_session_writer_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "something.txt").write_text("keep me")
    with pytest.raises(SessionError, match="already exists"):
        SessionWriter(tmp_path / "x", sensors=[SensorInfo("sacrum")], source="live")
    assert (tmp_path / "x" / "something.txt").read_text() == "keep me"


def test_open_missing_session_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="not a stridecue session"):
        open_session(tmp_path)


def test_demo_session_tables_read_with_pandas_in_one_call(demo_session) -> None:
    path = demo_session.path / "samples" / "sacrum.parquet"
    table = pd.read_parquet(path)
    assert list(table.columns) == list(c.SAMPLE_COLUMNS)
    assert len(table) > 200 * 200
    t = table[c.TIME_S].to_numpy()
    assert np.all(np.diff(t) > 0)
    # 200 Hz on the host clock after the clock fit (sensor drift +40 ppm removed)
    assert np.median(np.diff(t)) == pytest.approx(1 / 200, rel=1e-3)
    assert demo_session.meta["finalized"] is True
    stats = demo_session.meta["stats"]
    assert stats["sacrum"]["samples_lost"] == 0
    assert stats["raw_log"]["damaged_bytes"] == 0


def test_demo_session_clock_fit_puts_samples_on_true_time(demo_session) -> None:
    """The raw log's arrival times and the clock fit recover the simulator's true sample times."""
    truth_dir = demo_session.truth_dir
    assert truth_dir is not None
    from stridecue.cli import DEMO_SEED
    from stridecue.simulator import demo_plan, simulate

    sim = simulate(demo_plan(), seed=DEMO_SEED, with_angles=False)
    for placement in demo_session.placements:
        table = demo_session.samples(placement)
        true_t = sim.sensors[placement].true_time_s
        assert len(table) == len(true_t)
        err = table[c.TIME_S].to_numpy() - true_t
        # Offset = the smallest link latency seen (< 1 ms); drift fully removed.
        assert np.max(np.abs(err)) < 0.002
        assert np.ptp(err) < 0.001


_RECORDER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from firmware_bridge.profile import SensorConfig, encode_config, encode_data_packet
    from recordings.rawlog import Channel
    from recordings.session import SensorInfo, SessionWriter

    out = sys.argv[1]
    cfg = SensorConfig()
    w = SessionWriter(out, sensors=[SensorInfo("sacrum", sampling_rate_hz=200.0)], source="live")
    w.append_raw(0, "sacrum", Channel.CONFIG, encode_config(cfg))
    rng = np.random.default_rng(0)
    t0 = time.monotonic()
    seq = 0
    print("ready", flush=True)
    while True:  # 20 packets per second of 10 samples, in real time, until killed
        acc = rng.normal(0, 1, (10, 3)) + [0, 0, 9.81]
        gyr = rng.normal(0, 0.1, (10, 3))
        now = time.monotonic() - t0
        w.append_raw(int(now * 1e9), "sacrum", Channel.DATA,
                     encode_data_packet(seq, seq * 50_000, acc, gyr, cfg))
        if seq % 20 == 0:
            w.journal("note", time_s=now, seq=seq)
        seq += 1
        time.sleep(0.05)
    """
)


def test_recording_killed_mid_session_still_opens(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", _RECORDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(3.0)
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    session = open_session(out)  # repairs: decodes the raw log into the sample table
    assert session.meta.get("repaired") is True
    table = session.samples("sacrum")
    recorded_s = len(table) / 200.0
    # At most the last second (plus the start-up of the recorder) is lost.
    assert recorded_s > 3.0 - 1.0 - 0.5, recorded_s
    seq = table[c.SENSOR_TIME_S].to_numpy()
    assert np.all(np.diff(seq) > 0)
    assert killed_at > 0
    # Opening again does not repair again, and the table reads the same.
    again = open_session(out)
    assert len(again.samples("sacrum")) == len(table)
