"""Import of files as other tools export them: what is accepted, repaired (and said), refused.

Every repair must be reported; a variant of a file that holds the same samples must give the
same sample table (and, on the real recordings, the same events).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gait.grid import SensorGrid
from recordings.importer import (
    ImportUnits,
    ImportWarning,
    gyro_to_tilt_rate_ratio,
    import_csv_session,
    read_imu_csv,
)
from stridecue import constants as c
from stridecue.cli import main
from stridecue.errors import InputError

COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


def _frame(seconds: float = 20.0, fs: float = 100.0, *, seed: int = 4, bounce_mps2: float = 1.5,
           tilt_rad: float = 0.3, tilt_hz: float = 0.25) -> pd.DataFrame:
    """A 6-axis recording (m/s^2, rad/s) whose gyroscope agrees with its accelerometer.

    The sensor tilts back and forth about a horizontal axis (0.3 rad at 0.25 Hz, peak rate
    0.47 rad/s = 27 deg/s: too slow for the gyroscope's size alone to tell rad/s from deg/s),
    with a 1.8 Hz bounce and noise.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / fs)
    angle = tilt_rad * np.sin(2 * np.pi * tilt_hz * t)
    rate = tilt_rad * 2 * np.pi * tilt_hz * np.cos(2 * np.pi * tilt_hz * t)
    g = c.GRAVITY_MPS2
    bounce = bounce_mps2 * np.sin(2 * np.pi * 1.8 * t)
    # gravity in the sensor frame while the sensor is rotated by `angle` about x
    data = {
        "time_s": t,
        "acc_x": rng.normal(0, 0.05, t.size),
        "acc_y": (g + bounce) * np.sin(angle) + rng.normal(0, 0.05, t.size),
        "acc_z": (g + bounce) * np.cos(angle) + rng.normal(0, 0.05, t.size),
        "gyr_x": -rate + rng.normal(0, 0.01, t.size),
        "gyr_y": rng.normal(0, 0.01, t.size),
        "gyr_z": rng.normal(0, 0.01, t.size),
    }
    return pd.DataFrame(data)


def _read(path: Path, units: ImportUnits | None = None) -> tuple[pd.DataFrame, list[str], dict]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = read_imu_csv(path, units or ImportUnits())
    return read.table, [str(w.message) for w in caught if w.category is ImportWarning], read.report


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def reference(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("ref") / "ref.csv"
    frame.to_csv(path, index=False, float_format="%.6f")
    table, messages, _ = _read(path)
    assert messages == []
    return table


def _write_text(path: Path, frame: pd.DataFrame, **kw) -> Path:
    frame.to_csv(path, index=False, **{"float_format": "%.6f", **kw})
    return path


# ------------------------------------------------------------------------------------ layout
@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda f, p: _write_text(p, f.rename(columns=str.upper)), id="upper"),
        pytest.param(lambda f, p: _write_text(p, f.rename(columns=str.title)), id="title"),
        pytest.param(lambda f, p: _write_text(p, f.rename(columns=lambda n: f" {n} ")),
                     id="spaces"),
        pytest.param(lambda f, p: _write_text(p, f.rename(columns=lambda n: n if n == "time_s" else (
            n.replace("_", " ").title() + (" (m/s^2)" if n.startswith("acc") else " [rad/s]")))),
            id="brackets"),
        pytest.param(lambda f, p: _write_text(p, f.rename(columns=lambda n: n.replace("acc_", "accel")
                                                            .replace("gyr_", "gyroscope_"))),
                     id="aliases"),
        pytest.param(lambda f, p: _write_text(p, f[list(f.columns[::-1])]), id="order"),
        pytest.param(lambda f, p: _write_text(p, f, sep=";", decimal=","),
                     id="semicolon-decimal-comma"),
        pytest.param(lambda f, p: _write_text(p, f, sep="\t"), id="tab"),
        pytest.param(lambda f, p: _write_text(p, f, quoting=1), id="quoted"),
        pytest.param(lambda f, p: _write_text(p, f, lineterminator="\r\n"), id="crlf"),
        pytest.param(lambda f, p: p.write_bytes(b"\xef\xbb\xbf" + _write_text(p, f).read_bytes()) and p,
                     id="bom"),
    ],
)
def test_layouts_of_other_tools_give_the_same_table(tmp_path, frame, reference, write) -> None:
    path = tmp_path / "in.csv"
    write(frame, path)
    table, messages, _ = _read(path)
    assert messages == []
    pd.testing.assert_frame_equal(table, reference)


def test_preamble_and_unknown_columns_are_skipped_and_said(tmp_path, frame, reference) -> None:
    path = tmp_path / "in.csv"
    extra = frame.assign(temp_c=31.5, battery_pct=88)
    extra.insert(0, "index", np.arange(len(frame)))
    _write_text(path, extra)
    path.write_text("# exported by SomeTool 2.1\ndevice;ABC123\nTime,2024-05-01 10:00\n\n"
                    + path.read_text())
    table, messages, report = _read(path)
    pd.testing.assert_frame_equal(table, reference)
    assert messages == ["in.csv: 4 line(s) before the header skipped",
                        "in.csv: column(s) index, temp_c, battery_pct ignored (not a time, acc, gyr "
                        "or mag column)"]
    assert report["ignored_columns"] == ["index", "temp_c", "battery_pct"]


@pytest.mark.parametrize(
    ("column", "scale", "offset_s"),
    [("time_ms", 1e3, 0.0), ("time_us", 1e6, 0.0), ("timestamp_ms", 1e3, 1.7e9),
     ("Time (s)", 1.0, 3600.0)],
)
def test_time_units_and_offsets_are_kept_as_seconds_on_the_file_clock(
    tmp_path, frame, reference, column, scale, offset_s
) -> None:
    path = tmp_path / "in.csv"
    f = frame.copy()
    f.insert(0, column, ((f.pop("time_s") + offset_s) * scale).round(0 if scale > 1 else 6))
    f.to_csv(path, index=False, float_format="%.6f")
    table, messages, _ = _read(path)
    assert messages == []
    np.testing.assert_allclose(table[c.TIME_S] - offset_s, reference[c.TIME_S], atol=2e-6)
    pd.testing.assert_frame_equal(table.drop(columns=[c.TIME_S, c.SENSOR_TIME_S]),
                                  reference.drop(columns=[c.TIME_S, c.SENSOR_TIME_S]))


def test_a_time_column_without_unit_is_read_from_its_steps(tmp_path, frame, reference) -> None:
    path = tmp_path / "in.csv"
    frame.assign(time_s=frame.time_s * 1000).rename(columns={"time_s": "timestamp"}).to_csv(
        path, index=False, float_format="%.3f")
    table, messages, report = _read(path)
    assert messages == ["in.csv: time column 'timestamp' names no unit: its steps (10) make it ms "
                        "(100 Hz); rename it time_ms to say so"]
    np.testing.assert_allclose(table[c.TIME_S], reference[c.TIME_S], atol=1e-9)
    assert report["time_unit_inferred"] == "ms"


@pytest.mark.parametrize(
    ("header", "times", "expected"),
    [
        ("time_min", None, "time column 'time_min': unknown unit"),
        ("time", np.arange(50) * 0.3, "names no unit and its steps .0.3. fit no sampling rate"),
        ("time_s,timestamp_ms", None, "several time columns"),
        ("elapsed", None, "no time column .found elapsed, acc_x"),
    ],
)
def test_unclear_time_columns_are_refused(tmp_path, header, times, expected) -> None:
    t = np.arange(50) / 100.0 if times is None else times
    columns = {name: t for name in header.split(",")}
    frame = pd.DataFrame({**columns, "acc_x": 9.8 + np.sin(t), "acc_z": np.cos(t)})
    path = _write_text(tmp_path / "in.csv", frame)
    with pytest.raises(InputError, match=expected) as exc:
        read_imu_csv(path, ImportUnits())
    assert "\n" not in str(exc.value)


# -------------------------------------------------------------------------------------- rows
def test_repeated_and_swapped_rows_are_repaired_and_counted(tmp_path, frame, reference) -> None:
    f = frame.copy()
    f = pd.concat([f, f.iloc[[300, 301, 900]]]).sort_index(kind="stable")  # 3 repeats
    order = np.arange(len(f))
    for i in (500, 1500):
        order[i], order[i + 1] = order[i + 1], order[i]
    path = _write_text(tmp_path / "in.csv", f.iloc[order])
    table, messages, report = _read(path)
    pd.testing.assert_frame_equal(table, reference)
    assert report["rows_sorted"] == 2
    assert report["rows_repeated"] == 3
    assert any("2 row(s) out of time order (first at line 503): sorted" in m for m in messages)
    assert any("3 repeated row(s) dropped" in m for m in messages)


def test_rows_repeating_a_time_with_other_values_keep_the_first_or_are_refused(
    tmp_path, frame
) -> None:
    f = frame.copy()
    f.loc[[100, 700], "time_s"] = f.loc[[99, 699], "time_s"].to_numpy()
    table, messages, report = _read(_write_text(tmp_path / "few.csv", f))
    assert report["rows_same_time"] == 2
    assert len(table) == len(f) - 2
    assert any("the first kept" in m for m in messages)
    packets = frame.assign(time_s=np.floor(frame.time_s * 20) / 20)  # 5 samples per packet time
    with pytest.raises(InputError, match="repeat the time of the row before.*own time"):
        read_imu_csv(_write_text(tmp_path / "packets.csv", packets), ImportUnits())


def test_a_clock_reset_is_refused_with_the_line(tmp_path, frame) -> None:
    f = frame.copy()
    f.loc[1000:, "time_s"] -= f.loc[1000, "time_s"]
    with pytest.raises(InputError, match=r"time jumps back 9.99 s at line 1002 .*split the file"):
        read_imu_csv(_write_text(tmp_path / "in.csv", f), ImportUnits())


def test_missing_cells_are_filled_over_short_holes_and_dropped_over_long_ones(
    tmp_path, frame, reference
) -> None:
    f = frame.copy().astype({"acc_y": object})
    f.loc[[200, 201], "gyr_z"] = np.nan  # 30 ms hole: filled
    f.loc[400, "acc_y"] = "n/a"  # text: filled
    f.loc[600, "time_s"] = np.nan  # a time: spread between its neighbours
    f.loc[1000:1009, "acc_x"] = np.nan  # 110 ms: rows dropped, a gap
    path = _write_text(tmp_path / "in.csv", f)
    text = path.read_text()
    path.write_text(text + text.splitlines()[-1][:9])  # a last line cut short
    table, messages, report = _read(path)
    assert report["cells_filled"] == 3
    assert report["times_filled"] == 1
    assert report["rows_dropped_holes"] == 10
    assert report["rows_without_values"] == 1
    assert report["gaps"] == 1
    assert len(table) == len(frame) - 10
    kept = table.set_index(np.round(table[c.TIME_S], 6))
    ref = reference.set_index(np.round(reference[c.TIME_S], 6))
    assert kept.loc[6.0, "acc_y_mps2"] == pytest.approx(ref.loc[6.0, "acc_y_mps2"], abs=0.2)
    assert kept.loc[2.005 - 0.005, "gyr_z_radps"] == pytest.approx(
        np.interp(2.0, [1.99, 2.02], ref.loc[[1.99, 2.02], "gyr_z_radps"]))
    np.testing.assert_allclose(table[c.TIME_S].iloc[599], 5.99, atol=1e-9)
    assert not np.isfinite(kept.loc[10.0:10.09]).all().all() or 10.0 not in kept.index
    assert any("3 empty or non-numeric cell(s) (first at line 202) filled" in m for m in messages)
    assert any("1 missing time(s) (first at line 602)" in m for m in messages)
    assert any("10 row(s) dropped where cells are empty" in m for m in messages)
    assert any("1 row(s) without any measurement dropped (first at line 2002)" in m
               for m in messages)
    assert any("1 gap(s) in time" in m for m in messages)


def test_columns_that_hold_nothing_are_not_recorded(tmp_path, frame) -> None:
    f = frame.assign(gyr_z=np.nan, acc_x=0.0)
    table, messages, report = _read(_write_text(tmp_path / "in.csv", f))
    assert table[["acc_x_mps2", "gyr_z_radps"]].isna().all().all()
    assert report["column_unused:gyr_z"] == "holds no numbers"
    assert report["column_unused:acc_x"] == "never changes (0)"
    assert any("gyroscope incomplete (gyr_x, gyr_y)" in m for m in messages)


def test_a_rate_below_the_analysis_minimum_is_refused(tmp_path, frame) -> None:
    with pytest.raises(InputError, match="sampled at 14.3 Hz: the analysis needs at least 20 Hz"):
        read_imu_csv(_write_text(tmp_path / "in.csv", frame.iloc[::7]), ImportUnits())


def test_the_rate_is_the_mean_interval(tmp_path, frame) -> None:
    """Times rounded to whole ms (128 Hz) and unix-time offsets do not bend the rate."""
    t = np.arange(2560) / 128.0
    f = pd.DataFrame({"time_s": np.round(t * 1000) / 1000, "acc_x": 9.8 + np.sin(t),
                      "acc_z": np.cos(t)})
    _, messages, report = _read(_write_text(tmp_path / "ms.csv", f))
    assert any("irregular sampling (19 % of intervals" in m for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        read = read_imu_csv(tmp_path / "ms.csv", ImportUnits())
    assert read.sampling_rate_hz == pytest.approx(128.0, rel=1e-4)  # the median says 125
    unix = frame.assign(time_s=frame.time_s + 1.7e9)
    read = read_imu_csv(_write_text(tmp_path / "unix.csv", unix), ImportUnits())
    assert round(read.sampling_rate_hz, 6) == 100.0  # the median says 100.000095


# ----------------------------------------------------------------------------------- physics
def test_a_slow_gyroscope_in_deg_per_s_is_refused(tmp_path, frame) -> None:
    """27 deg/s at most: its size alone passes, the gravity turn rate does not."""
    dps = frame.assign(**{col: np.degrees(frame[col]) for col in ("gyr_x", "gyr_y", "gyr_z")})
    assert np.percentile(np.abs(dps[["gyr_x", "gyr_y", "gyr_z"]]), 99) < 40
    with pytest.raises(InputError, match="turns 5. times faster than gravity.*--gyr-unit dps"):
        read_imu_csv(_write_text(tmp_path / "dps.csv", dps), ImportUnits())
    table, _, _ = _read(tmp_path / "dps.csv", ImportUnits(gyr_unit="dps"))
    np.testing.assert_allclose(table["gyr_x_radps"], frame["gyr_x"], atol=1e-6)
    with pytest.raises(InputError, match="times slower than gravity.*--gyr-unit radps"):
        read_imu_csv(_write_text(tmp_path / "rad.csv", frame), ImportUnits(gyr_unit="dps"))


def test_gyro_ratio_is_near_one_on_real_walking_and_says_nothing_when_still(shared_data) -> None:
    for trial in sorted((shared_data / "lowerback-walking").iterdir()):
        f = pd.read_csv(trial / "imu.csv")
        acc = f[["acc_x", "acc_y", "acc_z"]].to_numpy()
        gyr = f[["gyr_x", "gyr_y", "gyr_z"]].to_numpy()
        ratio = gyro_to_tilt_rate_ratio(acc, gyr, sampling_rate_hz=100.0)
        assert 0.3 < ratio < 3.0, trial.name
        assert gyro_to_tilt_rate_ratio(acc, np.degrees(gyr), sampling_rate_hz=100.0) > 15
    noise = np.random.default_rng(0).normal(0, 0.01, (2000, 3))
    still = np.tile([0.0, 0.0, 9.81], (2000, 1)) + noise
    assert gyro_to_tilt_rate_ratio(still, np.full((2000, 3), 0.01), sampling_rate_hz=100.0) is None


def test_a_downward_vertical_is_negated_with_a_warning(tmp_path) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(1000) / 100
    f = pd.DataFrame({"time_s": t, "acc_vertical_g": -1 - 0.2 * np.sin(2 * np.pi * 1.8 * t),
                      "acc_ap_g": rng.normal(0, 0.1, t.size)})
    table, messages, report = _read(_write_text(tmp_path / "in.csv", f))
    np.testing.assert_allclose(table["acc_z_mps2"], -f["acc_vertical_g"] * c.GRAVITY_MPS2,
                               atol=1e-5)
    assert report["negated"] == ["acc_vertical"]
    assert any("acc_vertical reads -1.00 g on average: it points down; negated" in m
               for m in messages)


@pytest.mark.parametrize("flip", [False, True])
def test_a_backward_ap_axis_is_negated_while_running(shared_data, tmp_path, flip) -> None:
    """On every real running trial the declared AP axis is kept, and found when negated."""
    for trial in sorted((shared_data / "sacrum-running").iterdir())[::3]:
        f = pd.read_csv(trial / "imu.csv")
        if flip:
            f["acc_ap_g"] = -f["acc_ap_g"]
        table, messages, report = _read(_write_text(tmp_path / "in.csv", f))
        assert report.get("negated", []) == (["acc_ap"] if flip else []), trial.name
        sign = -1.0 if flip else 1.0
        np.testing.assert_allclose(table["acc_x_mps2"], sign * f["acc_ap_g"] * c.GRAVITY_MPS2,
                                   atol=1e-5)


def test_walking_does_not_vote_on_the_ap_axis(tmp_path, frame) -> None:
    body = frame.rename(columns={"acc_x": "acc_ml", "acc_y": "acc_ap", "acc_z": "acc_vertical"})
    body = body.drop(columns=["gyr_x", "gyr_y", "gyr_z"])
    body["acc_ap"] = -body["acc_ap"]
    _, _, report = _read(_write_text(tmp_path / "in.csv", body))
    assert "negated" not in report


# ---------------------------------------------------------------------------- several files
def test_the_same_recording_for_two_placements_is_refused(tmp_path, frame) -> None:
    a = _write_text(tmp_path / "a.csv", frame)
    b = _write_text(tmp_path / "b.csv", frame.rename(columns=str.upper))
    for thigh, says in ((a, "are the same file"), (b, "hold the same samples")):
        with pytest.raises(InputError, match=f"thigh_left and sacrum files {says}"):
            import_csv_session({"sacrum": a, "thigh_left": thigh}, tmp_path / f"s{says[:3]}",
                               units=ImportUnits())


def test_files_on_different_clocks_are_refused_and_partial_overlap_said(tmp_path) -> None:
    sacrum = _write_text(tmp_path / "sacrum.csv", _frame(seed=1))
    later = _frame(seed=2)
    _write_text(tmp_path / "own_clock.csv", later.assign(time_s=later.time_s + 87.25))
    with pytest.raises(InputError, match="does not overlap the sacrum's.*share one clock"):
        import_csv_session({"sacrum": sacrum, "thigh_left": tmp_path / "own_clock.csv"},
                           tmp_path / "s1", units=ImportUnits())
    _write_text(tmp_path / "late.csv", later.assign(time_s=later.time_s + 5.0))
    with (pytest.warns(ImportWarning, match="could not check that the thigh_left clock is in sync"),
          pytest.warns(ImportWarning, match="thigh_left sensor covers 75 % of the sacrum's")):
        import_csv_session({"sacrum": sacrum, "thigh_left": tmp_path / "late.csv"},
                           tmp_path / "s2", units=ImportUnits())


def test_a_sacrum_turning_faster_than_its_thigh_is_refused(tmp_path) -> None:
    """A pelvis turns at a third or less of the thigh's rate (3.6 times less on the simulator)."""
    pelvis = _write_text(tmp_path / "pelvis.csv", _frame(seed=1, tilt_rad=0.2))
    thigh = _write_text(tmp_path / "thigh.csv", _frame(seed=2, tilt_rad=0.6, tilt_hz=0.5))
    with pytest.raises(InputError, match=r"sacrum file turns faster than the thigh_right file "
                       r"\(gyroscope RMS 1.33 vs 0.22 rad/s\).*swap the two files"):
        import_csv_session({"sacrum": thigh, "thigh_right": pelvis}, tmp_path / "s1",
                           units=ImportUnits())
    with pytest.warns(ImportWarning, match="could not check that the thigh_right clock"):
        import_csv_session({"sacrum": pelvis, "thigh_right": thigh}, tmp_path / "s2",
                           units=ImportUnits())


def test_a_sensor_slower_than_the_grid_is_valid_between_its_samples() -> None:
    t = np.arange(0, 2, 1 / 100.0)
    acc = np.tile([0.0, 0.0, 9.81], (len(t), 1))
    held = SensorGrid(origin_s=0.0, sampling_rate_hz=200.0, sensor_rate_hz=100.0)
    held.add(t, acc, None)
    assert held.take(390)[:, 6].all()
    # without its own rate every other point of the 200 Hz grid is 5 ms (1 grid sample) away
    old = SensorGrid(origin_s=0.0, sampling_rate_hz=200.0)
    old.add(t, acc, None)
    assert old.take(390)[:, 6].mean() == pytest.approx(0.5, abs=0.01)
    # a missing 100 Hz sample is still a gap
    gap = SensorGrid(origin_s=0.0, sampling_rate_hz=200.0, sensor_rate_hz=100.0)
    gap.add(np.delete(t, 100), np.delete(acc, 100, axis=0), None)
    valid = gap.take(390)[:, 6]
    assert not valid[200]
    assert valid[196:199].all()
    assert valid[202:205].all()


# ------------------------------------------------------------------------------------- CLI
def test_cli_prints_every_repair_and_stores_the_report(tmp_path, frame, capsys) -> None:
    f = pd.concat([frame, frame.iloc[[50]]]).sort_index(kind="stable")
    path = _write_text(tmp_path / "in.csv", f.rename(columns=str.upper), sep=";", decimal=",")
    assert main(["import", "--sacrum", str(path), "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "warning: in.csv: 1 repeated row(s) dropped (first at line 53)" in out
    meta = json.loads((tmp_path / "s" / "session.json").read_text())
    report = meta["import_report"]["sacrum"]
    assert report["rows_repeated"] == 1
    assert report["delimiter"] == ";"
    assert report["decimal"] == ","
    assert report["columns"]["ACC_X"] == "acc_x_mps2"


VARIANTS = {
    "semicolon, decimal comma, upper case": lambda f, p: _write_text(
        p, f.rename(columns=str.upper), sep=";", decimal=","),
    "unix time in ms": lambda f, p: f.assign(time_s=((f.time_s + 1.7e9) * 1000).round()).rename(
        columns={"time_s": "timestamp_ms"}).to_csv(p, index=False, float_format="%.6f"),
    "repeats, swaps and holes": lambda f, p: _write_text(p, pd.concat(
        [f, f.iloc[[40, 400]]]).sort_index(kind="stable").pipe(
        lambda g: g.iloc[np.r_[0:300, 301, 300, 302:len(g)]]).assign(
        acc_y=lambda g: g.acc_y.where(np.arange(len(g)) % 211 != 5)).astype({"acc_y": object})),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_real_walk_variants_give_the_same_events(tmp_path, shared_data, variant) -> None:
    src = pd.read_csv(shared_data / "lowerback-walking" / "HA_001_Test5_Trial1" / "imu.csv")

    def events(path: Path, name: str) -> np.ndarray:
        assert main(["import", "--sacrum", str(path), "--out", str(tmp_path / f"s_{name}")]) == 0
        assert main(["analyse", str(tmp_path / f"s_{name}"), "--out", str(tmp_path / f"o_{name}"),
                     "--no-history", "--no-report"]) == 0
        return pd.read_csv(tmp_path / f"o_{name}" / "events.csv")["time_s"].to_numpy()

    base = events(_write_text(tmp_path / "base.csv", src), "base")
    path = tmp_path / "variant.csv"
    VARIANTS[variant](src, path)
    got = events(path, "variant")
    offset = 1.7e9 if "unix" in variant else 0.0
    assert len(base) >= 10
    np.testing.assert_allclose(got - offset, base, atol=1e-5)


def test_a_thigh_at_half_the_sacrum_rate_keeps_its_angles(demo_session, demo_result) -> None:
    """The demo's left thigh at 100 Hz (every other sample) beside the 200 Hz sacrum."""
    from gait.pipeline import analyse_tables
    from stridecue.analysis import session_tables

    tables = session_tables(demo_session)
    tables["thigh_left"] = tables["thigh_left"].iloc[::2].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyse_tables(tables, athlete=demo_session.athlete, sampling_rate_hz=200.0,
                                sensor_rates_hz={"sacrum": 200.0, "thigh_left": 100.0})
    def left_running(strides: pd.DataFrame) -> pd.DataFrame:
        return strides[(strides["activity"] == c.RUNNING) & (strides[c.SIDE] == c.LEFT)]

    left, full = left_running(result.strides), left_running(demo_result.strides)
    assert result.quality["sensors"]["thigh_left"]["coverage"] > 0.99
    assert left["thigh_angle_ic_deg"].notna().mean() > 0.95
    assert left["thigh_angle_ic_deg"].median() == pytest.approx(
        full["thigh_angle_ic_deg"].median(), abs=1.0)


def test_analyse_says_why_there_are_no_angles_or_strides(tmp_path, capsys) -> None:
    path = _write_text(tmp_path / "in.csv", _frame(bounce_mps2=0.0))
    assert main(["import", "--sacrum", str(path), "--out", str(tmp_path / "s")]) == 0
    assert main(["analyse", str(tmp_path / "s"), "--out", str(tmp_path / "o"), "--no-history",
                 "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "note: no calibration, so no pelvis or thigh angles, and no braking" in out
    assert "no still standing period" in out
    assert "no strides found in 20.0 s: walking needs 4 steps in a row" in out


@pytest.mark.parametrize(
    ("scale", "rename", "units", "expected"),
    [
        (1000 / c.GRAVITY_MPS2, {}, ImportUnits(), "the file is in milli-g, pass --acc-unit mg"),
        (1000 / c.GRAVITY_MPS2, {}, ImportUnits(acc_unit="g"), "the file is in milli-g"),
        (1.0, {"acc_x": "acc_x_g", "acc_y": "acc_y_g", "acc_z": "acc_z_g"}, ImportUnits(),
         r"the file is in m/s\^2, rename the columns acc_..._mps2"),
        (1e6, {}, ImportUnits(), "not about 1 g: check the accelerometer's unit and scale"),
    ],
)
def test_an_accelerometer_in_another_unit_is_refused_with_the_unit(
    tmp_path, frame, scale, rename, units, expected
) -> None:
    f = frame.assign(**{col: frame[col] * scale for col in ("acc_x", "acc_y", "acc_z")})
    path = _write_text(tmp_path / "in.csv", f.rename(columns=rename))
    with pytest.raises(InputError, match=expected):
        read_imu_csv(path, units)


def test_milli_g_is_a_unit(tmp_path, frame, reference) -> None:
    milli_g = 1000 / c.GRAVITY_MPS2
    f = frame.assign(**{col: frame[col] * milli_g for col in ("acc_x", "acc_y", "acc_z")})
    table, _, _ = _read(_write_text(tmp_path / "in.csv", f, float_format="%.4f"),
                        ImportUnits(acc_unit="mg"))
    np.testing.assert_allclose(table[list(c.ACC_MPS2)], reference[list(c.ACC_MPS2)], atol=1e-5)
