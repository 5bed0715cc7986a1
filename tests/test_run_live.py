"""`stridecue run --simulate`: cues within a stride of overstriding, quiet after; replay identical."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gait.cues import Cue
from recordings.session import open_session
from stridecue import constants as c
from stridecue.athlete import ProfileError, load_profile
from stridecue.cli import main
from stridecue.cue_outputs import AudioOutput, Metronome
from stridecue.live_session import compare_with_live, read_live_strides

#: overstride_plan(): still 15 s, walk 12 s, easy run 60 s, overstriding 45 s, corrected 45 s.
OVERSTRIDE_FROM_S, OVERSTRIDE_TO_S = 87.0, 132.0


@pytest.fixture(scope="module")
def live_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "session"
    jsonl = out.parent / "cues.jsonl"
    code = main(["run", "--simulate", "--speed", "8", "--no-view", "--no-history", "--out", str(out),
                 "--outputs", "terminal,haptic,jsonl", "--jsonl", str(jsonl)])
    assert code == 0
    return out


def test_cues_come_within_a_stride_of_overstriding_and_stop_after(live_run: Path) -> None:
    session = open_session(live_run)
    strides = pd.DataFrame(read_live_strides(session))
    cues = session.cues
    over = cues[cues["rule"] == "overstride"]
    assert len(over) >= 2
    # the first stride measured beyond the threshold, and the cue it caused
    beyond = strides[(strides["thigh_angle_ic_deg"] > 26.0) & (strides[c.STRIDE_START_S] > 60.0)]
    first = beyond.iloc[0]
    assert OVERSTRIDE_FROM_S - 1.0 < first[c.STRIDE_START_S] < OVERSTRIDE_FROM_S + 4.0
    cue = over.iloc[0]
    left_strides = strides[(strides[c.SIDE] == first[c.SIDE]) & (strides[c.STRIDE_START_S] >= first[c.STRIDE_START_S])]
    # within one stride of the same leg after the first overstriding stride
    assert cue["stride_index"] <= left_strides.index[1]
    assert cue["value"] > 26.0
    # no overstride cue once the correction has settled (ramp 2 s + the k-of-n window)
    assert (over[c.TIME_S] < OVERSTRIDE_TO_S + 4.0).all()
    corrected = strides[strides[c.STRIDE_START_S] > OVERSTRIDE_TO_S + 4.0]["thigh_angle_ic_deg"].dropna()
    assert len(corrected) > 20 and corrected.median() < 24.0
    # the haptic buzz reached the simulated sacrum sensor over Bluetooth, once per cue
    haptic = session.meta["haptic"]
    assert haptic["sent"] == len(cues) and haptic["received"]["sacrum"] == len(cues)
    # the JSON lines carry every cue with its stride
    lines = [json.loads(x) for x in (live_run.parent / "cues.jsonl").read_text().splitlines()]
    assert [x["rule"] for x in lines] == list(cues["rule"])
    assert all(x["stride"][c.STRIDE_END_S] == pytest.approx(x[c.TIME_S]) for x in lines)
    # the report was written at the end
    assert (live_run / "analysis" / "report.html").is_file()


def test_replay_gives_the_live_strides_and_cues_bit_for_bit(live_run: Path) -> None:
    check = compare_with_live(open_session(live_run))
    assert check["strides_live"] > 300 and check["cues_live"] >= 2
    assert check["strides_identical"] and check["cues_identical"], check


def test_profile_sets_rules_language_and_rejects_mistakes(tmp_path: Path) -> None:
    good = tmp_path / "sam.toml"
    good.write_text('[athlete]\nname = "Sam"\nheight_m = 1.78\n[cues]\nlanguage = "de"\n'
                    'cadence_increase_percent = 7.5\n[cues.rules.overstride]\nthreshold = 24.0\n'
                    '[cues.rules.cadence]\nenabled = true\n[baseline]\ncadence_spm = 160\n')
    profile = load_profile(good)
    rules = {r.name: r for r in profile.cue_rules()}
    assert rules["overstride"].threshold == 24.0 and rules["overstride"].message.startswith("Kürzere")
    assert rules["cadence"].enabled and rules["cadence"].baseline_fraction == pytest.approx(0.075)
    assert profile.baseline == {"cadence_spm": 160.0}
    for text, message in (('[cues]\nlanguage = "xx"\n', "language"),
                          ('[athlete]\nheight_m = 178\n', "height_m"),
                          ('[cues.rules.overstrid]\nthreshold = 1\n', "no such rule"),
                          ('[cues]\nvolume = 3\n', "unknown setting"),
                          ('[athlete\n', "not valid TOML")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ProfileError, match=message):
            load_profile(bad)


def _cue() -> Cue:
    return Cue(time_s=12.0, rule="overstride", message="Kürzere Schritte", stride_index=3, side="left",
               value=30.0, threshold=26.0, unit="deg", priority=5)


def test_audio_speaks_with_espeak_and_falls_back_to_text(tmp_path: Path, monkeypatch) -> None:
    lines: list[str] = []
    silent = AudioOutput("de", device_present=False, write=lines.append)
    silent.emit(_cue(), {})
    assert silent.mode == "text" and "unavailable" in lines[0] and lines[-1] == "(audio) Kürzere Schritte"
    # a speech program on PATH and a device: the real subprocess is started with the voice
    log = tmp_path / "spoken.txt"
    fake = tmp_path / "espeak-ng"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    speaking = AudioOutput("de", device_present=True, write=lines.append)
    speaking.emit(_cue(), {})
    speaking.close()
    assert speaking.mode == "speech" and log.read_text().split() == ["-v", "de", "-s", "170", "Kürzere", "Schritte"]


def test_metronome_schedule_keeps_the_beat_and_follows_running() -> None:
    ticks: list[float] = []
    now = [0.0]
    met = Metronome(lambda: ticks.append(now[0]), increase_percent=5.0)

    def run_until(t_end: float, *, base: float | None, last_run: float | None, jitter: float = 0.0) -> None:
        while now[0] < t_end:
            delay = met.step(now[0], baseline_cadence_spm=base, last_running_stride_s=last_run)
            now[0] += delay + jitter  # a late caller

    run_until(5.0, base=None, last_run=0.0)  # no baseline yet: silent
    assert ticks == [] and not met.on
    run_until(15.0, base=160.0, last_run=14.0, jitter=0.004)  # running, target 168 steps/min
    assert met.target_spm == pytest.approx(168.0) and met.on
    beats = np.diff(ticks)
    assert np.all(beats > 0) and np.median(beats) == pytest.approx(60 / 168, abs=0.005)
    assert len(ticks) == pytest.approx(10.0 * 168 / 60, abs=2)  # the grid does not drift
    n = len(ticks)
    run_until(25.0, base=160.0, last_run=14.0)  # the last running stride was 14 s: stops at 17 s
    assert not met.on and all(t <= 17.0 + 1e-9 for t in ticks[n:])


def test_run_plays_the_metronome_while_running(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "ticks.txt"
    player = tmp_path / "aplay"
    player.write_text(f'#!/bin/sh\necho "$1" >> {log}\n')
    player.chmod(player.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent")  # a sound server is configured
    profile = tmp_path / "p.toml"
    profile.write_text("[cues]\nmetronome = true\noutputs = [\"terminal\"]\n[baseline]\ncadence_spm = 160\n")
    out = tmp_path / "s"
    assert main(["run", "--simulate", "--speed", "8", "--duration", "50", "--no-view", "--no-history",
                 "--profile", str(profile), "--out", str(out)]) == 0
    session = open_session(out)
    meta = session.meta["metronome"]
    assert meta["target_spm"] == pytest.approx(168.0) and meta["ticks"] > 20
    played = log.read_text().split()
    assert played and all(p.endswith("tick.wav") for p in played)
    journal = [e for e in session.journal() if e.get("kind") == "metronome"]
    assert journal and journal[0]["state"] == "on"
    assert journal[0][c.TIME_S] > 27.0  # the simulated runner stands and walks for 27 s first
