"""The coach's stride report, its findings and the exports, on synthetic AnalysisResults.

``make_result`` builds a plausible analysis (laps, left/right strides, overstride falling from lap
to lap, cues, NaNs, a data gap); the other report tests and the benchmark import it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from gait.result import AnalysisResult
from stridecue.constants import STRIDE_CONTRACT_COLUMNS, STRIDE_METRIC_COLUMNS
from stridecue.errors import StridecueError
from stridecue.exports import BOUT_COLUMNS, SCHEMA_VERSION, export_strides
from stridecue.report import findings as fnd
from stridecue.report import write_report
from stridecue.report.html import STRIDE_PLOTS, build_report_html

STABILITY_COLUMNS = ("pelvis_rotation_sd_deg", "pelvis_rotation_cv", "ml_acc_ratio",
                     "step_regularity", "stride_regularity", "harmonic_ratio_vt",
                     "lde_per_stride")


def make_result(
    *,
    n_laps: int = 2,
    strides_per_side_per_lap: int = 120,
    overstride_deg: Sequence[float] = (31.0, 21.0),
    hip_extension_deg: tuple[float, float] = (8.0, 14.0),
    thigh_sides: Sequence[str] = ("left", "right"),
    sacrum_orientation: bool = True,
    gap: bool = True,
    n_cues: int = 6,
    seed: int = 0,
) -> AnalysisResult:
    """A plausible AnalysisResult of a track session.

    Parameters
    ----------
    n_laps
        Number of laps (400 m each).
    strides_per_side_per_lap
        Strides of each foot per lap.
    overstride_deg
        Mean thigh angle at IC per lap (interpolated when shorter than ``n_laps``).
    hip_extension_deg
        Mean peak hip extension (left, right).
    thigh_sides
        Sides that wear a thigh sensor; thigh/hip metrics are NaN on the others.
    sacrum_orientation
        False gives an accelerometer-only import: pelvis angles and stability are NaN.
    gap
        Mark 5 strides in lap 1 as crossing a data gap (their metrics NaN).
    n_cues
        Overstride cues in lap 1 (plus one tilt cue).
    seed
        Random seed.
    """
    rng = np.random.default_rng(seed)
    stride_time = 0.72
    n_per_lap = strides_per_side_per_lap
    n = n_laps * n_per_lap
    t_left = 5.0 + np.arange(n) * stride_time + rng.normal(0, 0.005, n)
    t_left = np.maximum.accumulate(t_left)
    lap_of = np.repeat(np.arange(1, n_laps + 1), n_per_lap)
    target = np.interp(np.arange(n_laps), np.linspace(0, n_laps - 1, len(overstride_deg)),
                       overstride_deg) if len(overstride_deg) > 1 else np.full(n_laps,
                                                                               overstride_deg[0])
    frames = []
    for side, offset in (("left", 0.0), ("right", stride_time / 2)):
        start = t_left + offset
        st = stride_time + rng.normal(0, 0.01, n)
        stride_length = 2.6 - 0.02 * (target[lap_of - 1] - 21) + rng.normal(0, 0.05, n)
        contact = 0.24 + rng.normal(0, 0.008, n)
        df = pd.DataFrame({
            "start_s": start, "end_s": start + st, "side": side, "stride_time_s": st,
            "cadence_spm": 120.0 / st, "contact_time_s": contact,
            "stride_length_m": stride_length,
            "activity": "running", "bout": 1, "lap": lap_of, "step_time_s": st / 2,
            "flight_time_s": st / 2 - contact, "duty_factor": contact / st,
            "speed_mps": stride_length / st, "step_length_m": stride_length / 2,
            "vertical_oscillation_m": 0.08 + rng.normal(0, 0.005, n),
            "braking_mps": 0.3 + rng.normal(0, 0.03, n),
            "pelvis_tilt_mean_deg": 12.0 + rng.normal(0, 1.0, n),
            "pelvis_tilt_range_deg": 6.0 + rng.normal(0, 0.5, n),
            "pelvis_tilt_peak_anterior_deg": 15.0 + rng.normal(0, 1.0, n),
            "pelvis_obliquity_range_deg": 9.0 + rng.normal(0, 0.8, n),
            "pelvis_drop_deg": 4.0 + rng.normal(0, 0.6, n),
            "pelvis_rotation_range_deg": 14.0 + rng.normal(0, 1.5, n),
            "thigh_angle_ic_deg": target[lap_of - 1] + rng.normal(0, 2.0, n),
            "hip_flexion_ic_deg": target[lap_of - 1] + 10 + rng.normal(0, 2.0, n),
            "hip_flexion_peak_deg": 55.0 + rng.normal(0, 3.0, n),
            "hip_extension_peak_deg": hip_extension_deg[0 if side == "left" else 1]
            + rng.normal(0, 2.0, n),
            "foot_contact_distance_m": 0.30 + 0.01 * (target[lap_of - 1] - 21)
            + rng.normal(0, 0.02, n),
            "gap_crossed": False,
            "pelvis_rotation_sd_deg": 1.5 + rng.normal(0, 0.2, n),
            "pelvis_rotation_cv": 0.1 + rng.normal(0, 0.01, n),
            "ml_acc_ratio": 0.6 + rng.normal(0, 0.03, n),
            "step_regularity": 0.85 + rng.normal(0, 0.03, n),
            "stride_regularity": 0.9 + rng.normal(0, 0.02, n),
            "harmonic_ratio_vt": 2.8 + rng.normal(0, 0.3, n),
            "lde_per_stride": 0.7 + rng.normal(0, 0.05, n),
        })
        if side not in thigh_sides:
            df[["thigh_angle_ic_deg", "hip_flexion_ic_deg", "hip_flexion_peak_deg",
                "hip_extension_peak_deg", "foot_contact_distance_m"]] = np.nan
        frames.append(df)
    strides = pd.concat(frames).sort_values("start_s", kind="stable").reset_index(drop=True)
    metric_cols = [c for c in strides.columns if c.endswith(("_deg", "_m", "_cv", "_ratio",
                                                             "regularity", "_vt", "_stride"))]
    if not sacrum_orientation:
        pelvis = [c for c in strides.columns if c.startswith("pelvis_") or c in STABILITY_COLUMNS
                  or c.startswith("hip_")]
        strides[pelvis] = np.nan
    # a few random NaNs, then a data gap of five strides in lap 1
    holes = rng.choice(len(strides), size=max(1, len(strides) // 50), replace=False)
    strides.loc[holes, "pelvis_tilt_mean_deg"] = np.nan
    gap_start_s = float("nan")
    if gap:
        idx = np.arange(40, 45)
        strides.loc[idx, "gap_crossed"] = True
        strides.loc[idx, metric_cols] = np.nan
        gap_start_s = float(strides.loc[40, "start_s"])
    lap_start = np.array([strides.loc[strides["lap"] == k, "start_s"].min()
                          for k in range(1, n_laps + 1)])
    lap_end = np.array([strides.loc[strides["lap"] == k, "end_s"].max()
                        for k in range(1, n_laps + 1)])
    laps = pd.DataFrame({"lap": np.arange(1, n_laps + 1), "start_s": lap_start,
                         "end_s": lap_end, "duration_s": lap_end - lap_start,
                         "distance_m": 400.0})
    ic = strides[["start_s", "side"]].rename(columns={"start_s": "time_s"}).assign(
        event="initial_contact")
    to = ic.assign(time_s=ic["time_s"] + strides["contact_time_s"].fillna(0.24), event="toe_off")
    events = pd.concat([ic, to]).sort_values("time_s", kind="stable")[["time_s", "event", "side"]]
    events = events.reset_index(drop=True)
    lap1 = np.flatnonzero((strides["lap"] == 1).to_numpy())
    cue_idx = np.sort(rng.choice(lap1[50:], size=n_cues, replace=False))
    cues = pd.DataFrame({
        "time_s": strides.loc[cue_idx, "end_s"].to_numpy(), "rule": "overstride",
        "message": "shorter stride, land under you", "stride_index": cue_idx,
        "side": strides.loc[cue_idx, "side"].to_numpy(),
        "value": strides.loc[cue_idx, "thigh_angle_ic_deg"].to_numpy(), "threshold": 28.0,
        "unit": "deg"})
    tilt_i = int(lap1[-10])
    cues = pd.concat([cues, pd.DataFrame({
        "time_s": [float(strides.loc[tilt_i, "end_s"])], "rule": ["anterior_tilt"],
        "message": ["tuck the pelvis"], "stride_index": [tilt_i], "side": ["left"],
        "value": [19.0], "threshold": [18.0], "unit": ["deg"]})], ignore_index=True)
    bouts = pd.DataFrame({"start_s": [float(strides["start_s"].min())],
                          "end_s": [float(strides["end_s"].max())], "activity": ["running"]})
    sensors = ["sacrum"] + [f"thigh_{s}" for s in thigh_sides]
    quality = {s: {"effective_rate_hz": 99.6, "n_gaps": int(gap and s == "sacrum"),
                   "gaps": ([{"start_s": gap_start_s, "duration_s": 2.1}]
                            if gap and s == "sacrum" else []),
                   "sync_verdict": "ok"} for s in sensors}
    return AnalysisResult(
        events=events, strides=strides, bouts=bouts, laps=laps, cues=cues,
        summary={"duration_s": float(strides["end_s"].max())},
        quality=quality, settings={"orientation_filter": "vqf", "ic_detector": "sacrum_running",
                                   "sampling_rate_hz": 100.0}, angles=None)


# --- findings -------------------------------------------------------------------------------


def test_smallest_real_change_uses_floor_and_sem():
    # many strides: SE tiny, the floor wins
    assert fnd.smallest_real_change(2.0, 1000, 2.0, 1000, 2.0) == 2.0
    # few noisy strides: 1.96*sqrt(2)*SD/sqrt(n)
    src = fnd.smallest_real_change(10.0, 4, 10.0, 4, 2.0)
    assert src == pytest.approx(1.96 * np.sqrt(2) * 10.0 / 2.0)
    assert fnd.smallest_real_change(np.nan, 5, 1.0, 5, 0.5) == 0.5


def test_lap_side_table_means_and_gap_strides_left_out():
    r = make_result(seed=1)
    table = fnd.lap_side_table(r.strides)
    usable = r.strides[~r.strides["gap_crossed"]]
    lap1_left = usable[(usable["lap"] == 1) & (usable["side"] == "left")]
    row = table[(table["measure"] == "thigh_angle_ic_deg") & (table["lap"] == 1)
                & (table["side"] == "left")].iloc[0]
    assert row["mean"] == pytest.approx(lap1_left["thigh_angle_ic_deg"].mean())
    assert row["n"] == lap1_left["thigh_angle_ic_deg"].notna().sum()
    whole = table[(table["measure"] == "cadence_spm") & (table["lap"] == 0)
                  & (table["side"] == "both")].iloc[0]
    assert whole["n"] == usable["cadence_spm"].notna().sum()


def test_aggregates_describe_the_running_strides_and_distance_counts_the_walks():
    r = make_result(seed=2)
    run = r.strides
    walk = run.iloc[:40].copy()
    walk["activity"] = "walking"
    walk["start_s"] -= 200.0
    walk["end_s"] -= 200.0
    walk["contact_time_s"], walk["cadence_spm"], walk["stride_length_m"] = 0.7, 110.0, 1.3
    mixed = pd.concat([walk, run], ignore_index=True)
    usable = fnd.usable_strides(mixed)
    assert (usable["activity"] == "running").all()
    assert len(usable) == (~run["gap_crossed"]).sum()
    summary = fnd.session_summary(mixed, None, None)
    alone = fnd.session_summary(run, None, None)
    assert summary["activity"] == "running"
    assert summary["contact_time_s_mean"] == pytest.approx(alone["contact_time_s_mean"])
    # the walks were walked: 40 left strides of 1.3 m, averaged over the two sides
    assert summary["distance_m"] == pytest.approx(alone["distance_m"] + 40 * 1.3 / 2)
    walks_only = fnd.session_summary(walk, None, None)
    assert walks_only["activity"] == "walking"
    assert walks_only["contact_time_s_mean"] == pytest.approx(0.7)


def test_overstride_drop_is_reported_with_numbers():
    r = make_result(overstride_deg=(31.0, 21.0), seed=2)
    found, comparison = fnd.all_findings(r.strides, r.cues)
    texts = [f.text for f in found]
    over = [t for t in texts if t.startswith("Overstride")]
    assert len(over) == 1
    m = re.search(r"fell from (\d+) deg in lap 1 to (\d+) deg in lap 2", over[0])
    assert m is not None, over[0]
    assert abs(int(m.group(1)) - 31) <= 1
    assert abs(int(m.group(2)) - 21) <= 1
    row = comparison.set_index("measure").loc["thigh_angle_ic_deg"]
    assert bool(row["beyond_src"])
    assert [f for f in found if f.measure == "thigh_angle_ic_deg"][0].severity == "good"


def test_change_within_src_is_not_claimed():
    # 1 deg apart with a 2 deg floor: no change may be claimed
    r = make_result(overstride_deg=(25.0, 24.0), seed=3)
    found, comparison = fnd.all_findings(r.strides, r.cues)
    assert not any(f.kind == "change" and f.measure == "thigh_angle_ic_deg" for f in found)
    assert not bool(comparison.set_index("measure").loc["thigh_angle_ic_deg", "beyond_src"])
    no_change = [f.text for f in found if f.kind == "no_change"]
    assert no_change
    assert "overstride" in no_change[0]


def test_contralateral_hip_flexor_finding():
    r = make_result(hip_extension_deg=(8.0, 14.0), seed=4)
    found, _ = fnd.all_findings(r.strides, r.cues, athlete={"name": "A", "injured_side": "right"})
    hip = [f.text for f in found if f.measure == "hip_extension_peak_deg"]
    assert len(hip) == 1
    m = re.match(r"Left hip extension (\d+\.\d) deg less than right", hip[0])
    assert m is not None, hip[0]
    assert abs(float(m.group(1)) - 6.0) < 0.8
    assert "check the left hip flexor" in hip[0]
    assert "opposite the injured right hamstring" in hip[0]
    # symmetric hips: no asymmetry claim
    r2 = make_result(hip_extension_deg=(11.0, 11.5), seed=4)
    found2, _ = fnd.all_findings(r2.strides, r2.cues)
    assert not any(f.measure == "hip_extension_peak_deg" for f in found2)


def test_missing_sensors_are_named():
    r = make_result(thigh_sides=("right",), sacrum_orientation=False, seed=5)
    texts = " ".join(f.text for f in fnd.all_findings(r.strides, r.cues)[0])
    assert "not measured: no sacrum orientation" in texts
    assert "no left thigh sensor" in texts
    r2 = make_result(thigh_sides=(), seed=5)
    texts2 = " ".join(f.text for f in fnd.all_findings(r2.strides, r2.cues)[0])
    assert "Overstride (thigh angle at contact)" in texts2
    assert "not measured: no thigh sensor" in texts2


def test_mobility_rows_and_findings():
    mob = {"straight_leg_raise_left_deg": 72.0, "straight_leg_raise_right_deg": 58.0,
           "kneeling_hip_flexor_left": {"value": "big pull in front of thigh"}}
    rows = fnd.mobility_rows(mob)
    assert list(rows["side"]) == ["left", "right", "left"]
    assert rows.loc[1, "verdict"].startswith("below target")
    texts = [f.text for f in fnd.mobility_findings(mob)]
    assert any("Right straight-leg raise 58 deg" in t for t in texts)
    assert any("tight left hip flexor" in t for t in texts)


def test_single_lap_compares_halves():
    r = make_result(n_laps=1, overstride_deg=(30.0,), seed=6)
    half = r.strides["start_s"] > r.strides["start_s"].median()
    r.strides.loc[half, "thigh_angle_ic_deg"] -= 8.0
    found, comparison = fnd.all_findings(r.strides, r.cues)
    assert comparison["period_a"].iloc[0] == "the first half"
    assert any("in the first half" in f.text and f.measure == "thigh_angle_ic_deg"
               for f in found)


# --- HTML report ----------------------------------------------------------------------------


def test_report_is_self_contained_with_every_plot(tmp_path):
    r = make_result(seed=7)
    path = write_report(r, tmp_path / "out" / "report.html",
                        athlete={"name": "Sam", "injured_side": "right"},
                        session_meta={"session_id": "s1", "place": "track"},
                        mobility={"straight_leg_raise_right_deg": 60.0})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # nothing fetched from elsewhere
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text)
    assert "<link" not in text
    for plot_id, _, _ in STRIDE_PLOTS:
        m = re.search(rf'<figure class="plot" id="{plot_id}">.*?</figure>', text, re.S)
        assert m is not None, plot_id
        assert "<svg" in m.group(0)
    for table_id in ("summary-table", "laps-table", "lap-side-table", "cues-table",
                     "mobility-table", "quality-table", "settings-table", "findings-list"):
        assert f'id="{table_id}"' in text
    assert "fell from" in text
    assert "Sam" in text
    # the five gap strides are reported
    assert "Strides crossing a data gap: 5 of" in text


def test_report_degrades_without_thigh_and_pelvis(tmp_path):
    r = make_result(thigh_sides=(), sacrum_orientation=False, gap=False, seed=8)
    text = write_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    for plot_id in ("plot-overstride", "plot-hip", "plot-pelvis", "plot-stability"):
        assert f'<figure class="plot plot-missing" id="{plot_id}">' in text
    assert "not measured: no thigh sensor" in text
    assert '<figure class="plot" id="plot-spatiotemporal">' in text


def test_report_with_empty_result(tmp_path):
    empty = pd.DataFrame()
    r = AnalysisResult(events=empty, strides=empty, bouts=empty, laps=empty, cues=empty)
    text = build_report_html(r)
    assert "No laps marked" in text
    assert 'id="plot-overstride"' in text


def test_report_write_error_is_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StridecueError, match="writable"):
        write_report(make_result(strides_per_side_per_lap=60, seed=9), blocker / "r.html")


def test_long_session_report_is_small_and_decimated(tmp_path):
    r = make_result(n_laps=12, strides_per_side_per_lap=420, overstride_deg=(31, 21), seed=10)
    text = write_report(r, tmp_path / "long.html").read_text(encoding="utf-8")
    assert len(r.strides) > 10_000
    assert len(text) < 3_000_000
    assert "median, IQR" in text


# --- exports --------------------------------------------------------------------------------


def test_exports_round_trip(tmp_path):
    r = make_result(seed=11)
    r.strides["bout"] = 0  # one running bout, as the pipeline numbers it
    paths = export_strides(r, tmp_path / "exp")
    assert set(paths) == {"strides_csv", "strides_parquet", "events_csv", "bouts_csv", "summary_json"}
    csv = pd.read_csv(paths["strides_csv"])
    assert tuple(csv.columns[:len(STRIDE_CONTRACT_COLUMNS)]) == STRIDE_CONTRACT_COLUMNS
    known = [c for c in STRIDE_METRIC_COLUMNS if c in csv.columns]
    assert known == [c for c in csv.columns if c in STRIDE_METRIC_COLUMNS]
    pq = pd.read_parquet(paths["strides_parquet"])
    assert list(pq.columns) == list(csv.columns)
    np.testing.assert_allclose(pq["thigh_angle_ic_deg"], csv["thigh_angle_ic_deg"], rtol=1e-5)
    ev = pd.read_csv(paths["events_csv"])
    assert list(ev.columns) == ["time_s", "event", "side"]
    assert len(ev) == len(r.events)
    summary = json.loads(paths["summary_json"].read_text())
    assert summary["schema_version"] == SCHEMA_VERSION
    assert summary["session"]["n_strides"] == len(r.strides)
    assert summary["session"]["distance_m"] == pytest.approx(800.0)
    assert summary["laps"][0]["lap"] == 1
    bouts = pd.read_csv(paths["bouts_csv"])
    assert list(bouts.columns) == list(BOUT_COLUMNS)
    assert len(bouts) == len(r.bouts) and bouts["n_strides"].sum() == len(r.strides)
    whole = r.strides[~r.strides["gap_crossed"].astype(bool)]
    for row in bouts[bouts["n_strides"] > 0].itertuples():
        mine = whole[whole["bout"] == row.bout]
        assert row.cadence_spm_mean == pytest.approx(mine["cadence_spm"].mean(), rel=1e-5)


def test_schema_doc_lists_every_exported_column(tmp_path):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "report_schema.md").read_text()
    r = make_result(seed=12)
    paths = export_strides(r, tmp_path)
    for column in pd.read_csv(paths["strides_csv"]).columns:
        assert f"`{column}`" in doc, column
    summary = json.loads(paths["summary_json"].read_text())
    for key in summary["session"]:
        assert f"`{key}`" in doc, key
    for key in summary:
        assert f"`{key}`" in doc, key


def test_report_header_names_the_session_not_its_whole_metadata(demo_session, demo_result,
                                                                tmp_path):
    from stridecue.analysis import write_outputs

    out = write_outputs(demo_result, tmp_path / "out", session=demo_session)
    header = re.search(r"<header>(.*?)</header>", out.report_html.read_text(), re.S).group(1)
    assert f"session id: {demo_session.session_id}" in header
    assert "sensors: " + ", ".join(demo_session.placements) in header
    assert "source: simulated" in header
    # ingest statistics, lap marks and the simulator's plan stay in session.json
    for key in ("packets_received", "stats", "simulation", "format version"):
        assert key not in header


def test_settings_groups_are_shown_whole() -> None:
    r = make_result(seed=3)
    rule = "a window holds only strides of the newest stride bout and activity; " * 6  # > 200
    r.settings["stability"] = {"window_strides": 20, "window_rule": rule}
    text = build_report_html(r)
    assert "stability.window_rule" in text and rule.strip() in text
    assert "stability.window_strides" in text
