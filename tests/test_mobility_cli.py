"""Guided mobility checks: script, simulated athlete vs truth, prompts, history, CLI end to end."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest

from calibration.mobility import MOBILITY_STEP_S, mobility_script
from calibration.model import CalibrationError
from recordings.session import open_session
from stridecue.athlete import ProfileError, load_profile
from stridecue.cli import main
from stridecue.history import HistoryDB, format_mobility, write_history_report
from stridecue.mobility_cli import (
    ANSWER_KIND,
    STEP_KIND,
    Prompter,
    check_windows,
    format_results,
    measure_mobility,
    run_script,
    step_marks,
)
from stridecue.report.findings import mobility_findings, mobility_rows
from stridecue.simulator.mobility import simulate_mobility

ALL = ("sacrum", "thigh_left", "thigh_right")
#: Truth measure of each result key.
TRUTH_OF = {
    "standing_pelvis_tilt": ("standing_posture", "", "pelvis_tilt_deg"),
    "kneeling_hip_flexor_left": ("kneeling_hip_flexor", "left", "posterior_tilt_deg"),
    "kneeling_hip_flexor_right": ("kneeling_hip_flexor", "right", "posterior_tilt_deg"),
    "straight_leg_raise_left": ("straight_leg_raise", "left", "peak_elevation_deg"),
    "straight_leg_raise_right": ("straight_leg_raise", "right", "peak_elevation_deg"),
}


def _journal(sim) -> list[dict]:
    return [{"kind": STEP_KIND, "time_s": r.start_s, "check": r.check, "side": r.side,
             "step": r.step} for r in sim.steps.itertuples(index=False)]


def _signals(sim) -> dict:
    return {p: (d.true_time_s, d.acc_mps2, d.gyr_radps, d.sampling_rate_hz)
            for p, d in sim.sensors.items()}


def _truth(sim, key: str) -> float:
    check, side, measure = TRUTH_OF[key]
    t = sim.truth
    return float(t[(t["check"] == check) & (t["side"] == side)
                   & (t["measure"] == measure)]["value"].iloc[0])


def test_script_follows_the_sensors_worn():
    steps = mobility_script(ALL)
    checks = list(dict.fromkeys((s.check, s.side) for s in steps))
    assert checks == [("calibration", ""), ("standing_posture", ""),
                      ("kneeling_hip_flexor", "left"), ("kneeling_hip_flexor", "right"),
                      ("straight_leg_raise", "left"), ("straight_leg_raise", "right")]
    for s in steps:
        assert s.duration_s == MOBILITY_STEP_S[s.check][s.step]
    assert [s.waits_for_athlete for s in steps if s.step == 0] == [False] + [True] * 5
    assert "RIGHT leg" in [s for s in steps if s.side == "right" and s.step == 0][-1].text
    thigh_only = {(s.check, s.side) for s in mobility_script(["thigh_right"])}
    assert thigh_only == {("calibration", ""), ("straight_leg_raise", "right")}
    with pytest.raises(CalibrationError, match="sacrum sensor or a thigh sensor"):
        mobility_script([])


def test_check_windows_start_after_getting_into_position():
    sim = simulate_mobility(mobility_script(["sacrum"]), placements=["sacrum"], seed=0)
    marks = step_marks(_journal(sim))
    win = check_windows(marks, sim.duration_s)
    starts = sim.steps.set_index(["check", "side", "step"])["start_s"]
    assert win[("calibration", "")][0] == starts[("calibration", "", 0)]
    assert win[("kneeling_hip_flexor", "left")] == (
        starts[("kneeling_hip_flexor", "left", 1)], starts[("kneeling_hip_flexor", "right", 0)])
    assert win[("kneeling_hip_flexor", "right")][1] == sim.duration_s


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simulated_checks_measured_within_tolerance(seed):
    """Random mountings, noise and bias: every check within 1 deg of the simulated truth."""
    sim = simulate_mobility(mobility_script(ALL), placements=ALL, seed=seed)
    results, cal = measure_mobility(_signals(sim), _journal(sim))
    assert set(results) == {*TRUTH_OF, "standing_sway"}
    for key in TRUTH_OF:
        assert results[key]["value"] == pytest.approx(_truth(sim, key), abs=1.0), key
        assert results[key]["passed"] == (
            results[key]["value"] <= results[key]["target"] if key == "standing_pelvis_tilt"
            else results[key]["value"] >= results[key]["target"])
    sway = float(sim.truth.query("measure == 'tilt_sway_rms_deg'")["value"].iloc[0])
    assert results["standing_sway"]["value"] == pytest.approx(sway, abs=0.3)
    # the calibration found each sensor's mounting (any orientation)
    for p, d in sim.sensors.items():
        q_est, q_true = cal[p].q_sensor_to_segment, d.q_sensor_to_segment
        assert abs(float(np.dot(q_est, q_true))) > np.cos(np.radians(3.0) / 2), p


def test_measure_needs_the_mobility_steps():
    sim = simulate_mobility(mobility_script(["sacrum"]), placements=["sacrum"], seed=0)
    from stridecue.errors import SessionError

    with pytest.raises(SessionError, match="stridecue mobility"):
        measure_mobility(_signals(sim), [])


def test_interactive_prompts_wait_for_enter_and_record_the_answer():
    """A fake athlete: Enter at each 'get into position', 'y' to the left pull question."""
    steps = mobility_script(["sacrum"])
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        time.sleep(0.01)
        return "y" if "pull" in prompt and asked.count(prompt) == 1 else ""

    said: list[str] = []
    entries: list[dict] = []
    t0 = time.monotonic()
    scale = 2000.0  # session seconds per host second: the script takes a few tens of ms

    async def pump() -> None:
        return None

    asyncio.run(run_script(
        steps, prompter=Prompter(said.append, ask),
        journal=lambda kind, **f: entries.append({"kind": kind, **f}),
        session_time_s=lambda: (time.monotonic() - t0) * scale, pump=pump, time_scale=scale))
    enters = [a for a in asked if "Enter" in a]
    pulls = [a for a in asked if "pull" in a]
    assert len(enters) == 3  # standing posture + two kneeling tests
    assert len(pulls) == 2
    marks = step_marks(entries)
    assert list(zip(marks["check"], marks["step"], strict=True)) == [
        (s.check, s.step) for s in steps]
    # each step lasts at least its scripted time on the session clock
    gaps = np.diff(marks["time_s"].to_numpy())
    assert np.all(gaps >= np.array([s.duration_s for s in steps[:-1]]) - 1e-9)
    answers = [e for e in entries if e["kind"] == ANSWER_KIND]
    assert [(a["side"], a["answer"]) for a in answers] == [("left", "yes"), ("right", "no")]
    assert any("kneeling hip flexor (left)" in s for s in said)


def test_non_interactive_schedule_is_exact():
    steps = mobility_script(["thigh_left"])
    entries: list[dict] = []
    t0 = time.monotonic()

    async def pump() -> None:
        return None

    asyncio.run(run_script(
        steps, prompter=Prompter(lambda s: None, None),
        journal=lambda kind, **f: entries.append({"kind": kind, **f}),
        session_time_s=lambda: (time.monotonic() - t0) * 1000.0, pump=pump, time_scale=1000.0,
        start_s=2.0))
    expected = 2.0 + np.concatenate([[0.0], np.cumsum([s.duration_s for s in steps])[:-1]])
    np.testing.assert_allclose([e["time_s"] for e in entries], expected)


def _row(value: float, passed: bool, **extra) -> dict:
    return {"test": "straight_leg_raise", "side": "left", "value": value, "unit": "deg",
            "target": 65.0, "target_text": "at least 65 deg", "passed": passed, "flags": [],
            "note": "", **extra}


def test_history_keeps_mobility_across_sessions(tmp_path):
    path = tmp_path / "h.sqlite"
    with HistoryDB(path) as db:
        db.add_mobility("Sam", "m1", "2026-01-05T10:00:00",
                        {"straight_leg_raise_left": _row(58.0, False)})
        db.add_mobility("Sam", "m2", "2026-02-05T10:00:00",
                        {"straight_leg_raise_left": _row(66.0, True)})
        # adding a session again replaces its results
        db.add_mobility("Sam", "m2", "2026-02-05T10:00:00",
                        {"straight_leg_raise_left": _row(67.0, True)})
        mob = db.mobility("Sam")
        assert list(mob["session_id"]) == ["m1", "m2"]
        assert list(mob["value"]) == [58.0, 67.0]
        assert list(mob["passed"]) == [False, True]
        text = format_mobility(mob)
        assert "Straight-leg raise (left)  target at least 65 deg" in text
        assert "not met" in text
        assert "+9.0 deg" in text
        html = write_history_report(db, "Sam", tmp_path / "h.html").read_text()
        assert 'id="mobility-history-table"' in html
        assert "67.0 deg" in html
        with pytest.raises(Exception, match="another athlete"):
            db.add_mobility("Alex", "m1", "2026-01-05", {"k": _row(1.0, False)})


def test_version_1_database_gets_the_mobility_table(tmp_path):
    path = tmp_path / "old.sqlite"
    from stridecue.history import _MIGRATIONS

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE migrations (version INTEGER PRIMARY KEY, description TEXT NOT "
                "NULL, applied_at TEXT NOT NULL)")
    con.executescript(_MIGRATIONS[0][2])
    con.execute("INSERT INTO migrations VALUES (1, 'v1', '2025-01-01')")
    con.commit()
    con.close()
    with HistoryDB(path) as db:
        assert db.schema_version >= 2
        db.add_mobility("Sam", "m1", "2026-01-05", {"k": _row(70.0, True)})
        assert len(db.mobility("Sam")) == 1


def test_report_rows_show_target_and_verdict():
    stored = {
        "straight_leg_raise_left": _row(58.0, False),
        "kneeling_hip_flexor_right": {**_row(6.0, False), "test": "kneeling_hip_flexor",
                                      "side": "right", "target_text": "at least 10 deg"},
        "kneeling_hip_flexor_left": {**_row(14.0, True), "test": "kneeling_hip_flexor",
                                     "note": "no strong pull"},
        "standing_pelvis_tilt": {**_row(7.0, False), "test": "standing_pelvis_tilt", "side": ""},
    }
    rows = mobility_rows(stored)
    assert list(rows["target"])[:2] == ["at least 65 deg", "at least 10 deg"]
    assert list(rows["verdict"]) == [
        "below target: stretch the hamstrings",
        "tight: kneeling hip-flexor stretch (posterior tilt below target)",
        "no static stretch needed: dynamic mobility (twisted warrior)",
        "above the limit"]
    texts = [f.text for f in mobility_findings(stored)]
    assert any("Left straight-leg raise 58 deg" in t for t in texts)
    assert any("tight right hip flexor" in t for t in texts)


@pytest.fixture(scope="module")
def cli_session(tmp_path_factory):
    """``stridecue mobility --simulate`` over the bumble/bleak path (sacrum + left thigh)."""
    d = tmp_path_factory.mktemp("mob")
    out, db = d / "session", d / "h.sqlite"
    code = main(["mobility", "--simulate", "--speed", "8", "--sim-thighs", "left", "--seed", "4",
                 "--out", str(out), "--athlete", "Sam", "--history", str(db)])
    assert code == 0
    return out, db


def test_cli_simulated_session_measured_stored_and_reanalysable(cli_session, capsys):
    out, db = cli_session
    session = open_session(out)
    assert session.meta["kind"] == "mobility"
    assert session.meta["source"] == "simulated"
    results = session.meta["mobility"]
    truth = pd.read_csv(out / "truth" / "truth_mobility.csv").fillna("")
    for key, (check, side, measure) in TRUTH_OF.items():
        if key == "straight_leg_raise_right":
            assert key not in results
            continue
        value = truth[(truth["check"] == check) & (truth["side"] == side)
                      & (truth["measure"] == measure)]["value"].iloc[0]
        assert results[key]["value"] == pytest.approx(value, abs=1.5), key
    assert session.meta["calibration"]["segments"].keys() == {"sacrum", "thigh_left"}
    journal = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    assert sum(e["kind"] == STEP_KIND for e in journal) == len(mobility_script(
        ["sacrum", "thigh_left"]))
    with HistoryDB(db) as h:
        assert len(h.mobility("Sam")) == len(results)
    # measured again from the recorded session alone: the same numbers
    capsys.readouterr()
    assert main(["mobility", "--measure", str(out), "--history", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "Straight-leg raise, left" in printed
    assert "target at least 65 deg" in printed
    again = open_session(out).meta["mobility"]
    for key in results:
        assert again[key]["value"] == pytest.approx(results[key]["value"], abs=1e-9)


def test_cli_mobility_user_errors(tmp_path, capsys):
    assert main(["mobility", "--yes"]) == 2
    assert "--out SESSION" in capsys.readouterr().err
    assert main(["mobility", "--out", str(tmp_path / "s")]) == 2
    assert "--sacrum" in capsys.readouterr().err


def test_profile_targets_and_injured_side(tmp_path):
    """The profile's targets replace the defaults; the injured side is tested second and gets
    its difference to the healthy side."""
    steps = mobility_script(ALL, first_side="right")
    sides = [s.side for s in steps if s.check == "straight_leg_raise" and s.step == 0]
    assert sides == ["right", "left"]
    sim = simulate_mobility(steps, placements=ALL, seed=2)
    results, _ = measure_mobility(_signals(sim), _journal(sim), injured_side="left",
                                  targets={"straight_leg_raise_target_deg": 80.0,
                                           "hip_flexor_target_deg": 4.0})
    slr_left, slr_right = results["straight_leg_raise_left"], results["straight_leg_raise_right"]
    assert slr_left["target"] == 80.0 and "80 deg" in slr_left["target_text"]
    assert slr_left["passed"] == (slr_left["value"] >= 80.0)
    assert results["kneeling_hip_flexor_right"]["target"] == 4.0
    assert slr_left["injured_side"] and "injured_side" not in slr_right
    assert slr_left["difference_to_other_side_deg"] == pytest.approx(
        slr_left["value"] - slr_right["value"])
    line = next(x for x in format_results(results) if "left" in x and "raise" in x.lower())
    assert "injured side:" in line
    bad = tmp_path / "p.toml"
    bad.write_text("[mobility]\nstraight_leg_raise_target_deg = 650\n")
    with pytest.raises(ProfileError, match="straight_leg_raise_target_deg"):
        load_profile(bad)
    good = tmp_path / "g.toml"
    good.write_text('[athlete]\nname = "Sam"\ninjured_side = "left"\n[mobility]\nhip_flexor_target_deg = 12\n')
    assert load_profile(good).mobility_targets == {"hip_flexor_target_deg": 12.0}


def test_history_prints_mobility_of_an_athlete_without_runs(cli_session, tmp_path, capsys):
    _out, db = cli_session
    capsys.readouterr()
    assert main(["history", "Sam", "--history", str(db),
                 "--out", str(tmp_path / "h.html")]) == 0
    printed = capsys.readouterr().out
    assert "Mobility checks:" in printed and "Straight-leg raise (left)" in printed
    assert 'id="mobility-history-table"' in (tmp_path / "h.html").read_text()
