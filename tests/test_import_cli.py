"""Import of other people's CSV recordings, and the CLI's one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recordings.importer import ImportUnits, ImportWarning, import_csv_session, read_imu_csv
from stridecue import constants as c
from stridecue.cli import main
from stridecue.errors import InputError


def _walk_csv(path: Path, *, unit_g: bool = False, seconds: float = 20.0, fs: float = 100.0,
              columns: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")) -> Path:
    rng = np.random.default_rng(4)
    t = np.arange(0, seconds, 1 / fs)
    step = 2 * np.pi * 1.8 * t
    data = {
        "time_s": t,
        "acc_x": 9.81 + 2.0 * np.sin(step) + rng.normal(0, 0.1, t.size),
        "acc_y": 0.8 * np.sin(step / 2) + rng.normal(0, 0.1, t.size),
        "acc_z": 1.2 * np.cos(step) + rng.normal(0, 0.1, t.size),
        "gyr_x": 0.3 * np.sin(step / 2),
        "gyr_y": 0.2 * np.cos(step),
        "gyr_z": 0.1 * np.sin(step),
    }
    frame = pd.DataFrame({k: data[k] for k in ("time_s", *columns)})
    if unit_g:
        for col in columns:
            if col.startswith("acc"):
                frame[col] = frame[col] / c.GRAVITY_MPS2
    frame.to_csv(path, index=False)
    return path


def test_import_then_tables_in_si(tmp_path: Path) -> None:
    csv = _walk_csv(tmp_path / "in.csv", unit_g=True)
    session = import_csv_session({"sacrum": csv}, tmp_path / "s", units=ImportUnits("g", "radps"))
    table = session.samples("sacrum")
    assert list(table.columns) == list(c.SAMPLE_COLUMNS)
    assert table["acc_x_mps2"].mean() == pytest.approx(9.81, abs=0.1)
    assert (session.path / "source" / "sacrum.csv").read_bytes() == csv.read_bytes()
    assert session.sensors[0].sampling_rate_hz == pytest.approx(100.0)


def test_acc_only_two_axes_is_accepted_with_a_warning(tmp_path: Path) -> None:
    csv = _walk_csv(tmp_path / "in.csv", columns=("acc_x", "acc_z"))
    with pytest.warns(ImportWarning) as record:
        table = read_imu_csv(csv, ImportUnits()).table
    messages = " ".join(str(w.message) for w in record)
    assert "acc_y" in messages and "no gyroscope" in messages
    assert table["acc_y_mps2"].isna().all() and table["gyr_x_radps"].isna().all()


@pytest.mark.parametrize(
    ("mutate", "units", "expected"),
    [
        (lambda f: f.rename(columns={"acc_x": "accel_x_kg"}), ImportUnits(), "unknown column"),
        (lambda f: f.drop(columns=["time_s"]), ImportUnits(), "no time column"),
        (lambda f: f.iloc[::-1], ImportUnits(), "time goes back at 1999 of 2000 rows.*sort"),
        (lambda f: f.assign(acc_x=f.acc_x / 9.81, acc_y=f.acc_y / 9.81, acc_z=f.acc_z / 9.81),
         ImportUnits(), "--acc-unit g"),
        (lambda f: f, ImportUnits(acc_unit="g"), "--acc-unit mps2"),
        (lambda f: f.assign(gyr_x=np.degrees(f.gyr_x) * 300), ImportUnits(), "--gyr-unit dps"),
        (lambda f: f.drop(columns=["acc_x", "acc_y", "acc_z"]), ImportUnits(), "no accelerometer"),
    ],
)
def test_bad_csv_gets_one_clear_error(tmp_path: Path, mutate, units, expected) -> None:
    csv = _walk_csv(tmp_path / "in.csv")
    mutate(pd.read_csv(csv)).to_csv(csv, index=False)
    with pytest.raises(InputError, match=expected) as exc:
        read_imu_csv(csv, units)
    assert "\n" not in str(exc.value)


def test_body_axes_and_units_in_the_column_names(tmp_path: Path) -> None:
    """acc_ap/acc_ml/acc_vertical are stored as x/y/z and the sensor is marked anatomical."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "time_s": np.arange(n) / 100.0,
        "acc_vertical_g": 1.0 + rng.normal(0, 0.2, n),
        "acc_ap_g": rng.normal(0, 0.3, n),
        "acc_ml_g": rng.normal(0, 0.1, n),
        "gyr_vertical_dps": rng.normal(0, 20, n),
    })
    csv = tmp_path / "body.csv"
    frame.to_csv(csv, index=False)
    with pytest.warns(ImportWarning, match="gyroscope incomplete .gyr_vertical."):
        read = read_imu_csv(csv, ImportUnits())
    assert (read.axes, read.acc_unit, read.gyr_unit) == ("anatomical", "g", "dps")
    g = c.GRAVITY_MPS2
    np.testing.assert_allclose(read.table["acc_x_mps2"], frame["acc_ap_g"] * g)
    np.testing.assert_allclose(read.table["acc_y_mps2"], frame["acc_ml_g"] * g)
    np.testing.assert_allclose(read.table["acc_z_mps2"], frame["acc_vertical_g"] * g)
    np.testing.assert_allclose(read.table["gyr_z_radps"], np.radians(frame["gyr_vertical_dps"]))
    assert read.table[["gyr_x_radps", "gyr_y_radps"]].isna().all().all()
    with pytest.warns(ImportWarning):
        session = import_csv_session({"sacrum": csv}, tmp_path / "s", units=ImportUnits(gyr_unit="dps"))
    assert session.sensors[0].axes == "anatomical"
    assert session.sensors[0].extra == {"acc_unit": "g", "gyr_unit": "dps"}


@pytest.mark.parametrize(
    ("columns", "units", "expected"),
    [
        (("acc_x", "acc_vertical"), ImportUnits(), "mixes sensor axes"),
        (("acc_x", "acc_x_g"), ImportUnits(), "same axis"),
        (("acc_x_g", "acc_z_mps2"), ImportUnits(), "different units"),
        (("acc_vertical_g", "acc_ap_g"), ImportUnits(acc_unit="mps2"), "drop --acc-unit"),
        (("acc_x_kg",), ImportUnits(), "unknown column.*acc_x_kg"),
        (("gyr_x_g", "acc_x"), ImportUnits(), "unknown column.*gyr_x_g"),
    ],
)
def test_column_names_that_contradict_get_one_clear_error(tmp_path: Path, columns, units, expected) -> None:
    csv = tmp_path / "in.csv"
    data = {"time_s": np.arange(50) / 100.0}
    data.update({col: np.ones(50) for col in columns})
    pd.DataFrame(data).to_csv(csv, index=False)
    with pytest.raises(InputError, match=expected) as exc:
        read_imu_csv(csv, units)
    assert "\n" not in str(exc.value)


@pytest.fixture(scope="module")
def simulated_run() -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """A simulated 2 s still + 12 s run, accelerometer only, as three files; and the true ICs.

    ``body``: vertical, AP and ML acceleration in g (true orientation); ``vertical``: the vertical
    alone; ``sensor``: the raw sensor-frame accelerometer of a randomly mounted sensor.
    """
    from gait.quaternion import rotate
    from stridecue.simulator import Phase, SensorSpec, SessionPlan, simulate

    plan = SessionPlan(
        phases=[Phase(kind="still", duration_s=2.0),
                Phase(kind="run", duration_s=12.0, speed_mps=4.0, cadence_spm=170.0,
                      contact_time_s=0.22, ramp_s=1.0)],
        path="straight",
        sensors=[SensorSpec(c.SACRUM, sampling_rate_hz=200.0, mounting="random")],
    )
    sim = simulate(plan, seed=3, with_angles=False)
    s = sim.sensors[c.SACRUM]
    acc_earth = rotate(s.q_sensor_to_earth, s.acc_mps2)
    heading = np.gradient(s.position_m[:, :2], axis=0)
    heading /= np.linalg.norm(heading, axis=1, keepdims=True) + 1e-12
    g = c.GRAVITY_MPS2
    body = pd.DataFrame({
        "time_s": s.true_time_s,
        "acc_vertical_g": acc_earth[:, 2] / g,
        "acc_ap_g": np.einsum("ij,ij->i", acc_earth[:, :2], heading) / g,
        "acc_ml_g": (acc_earth[:, 1] * heading[:, 0] - acc_earth[:, 0] * heading[:, 1]) / g,
    })
    sensor = pd.DataFrame({"time_s": s.true_time_s, "acc_x": s.acc_mps2[:, 0],
                           "acc_y": s.acc_mps2[:, 1], "acc_z": s.acc_mps2[:, 2]})
    files = {"body": body, "vertical": body[["time_s", "acc_vertical_g"]], "sensor": sensor}
    ev = sim.truth.events
    ic = np.sort(ev.loc[ev["event"] == "initial_contact", "time_s"].to_numpy())
    return files, ic[(ic > 4.0) & (ic < 13.0)]


@pytest.mark.parametrize("kind", ["body", "sensor", "vertical"])
def test_accelerometer_only_running_gets_its_forward_signal(
    tmp_path: Path, simulated_run, kind: str
) -> None:
    """Without a gyroscope the forward signal comes from body axes or from the running rhythm.

    Body axes (acc_vertical_g, acc_ap_g) give it directly; a randomly mounted sensor's own
    axes give it through :func:`gait.signal.running_forward_axis`. Either way the contacts are
    timed by the AP marker (about -4 ms on the simulator) and braking is measured; the vertical
    alone times them by the vertical-only marker (early at 4 m/s, see
    tests/test_events_running_sim.py) and gives no braking.
    """
    from stridecue.analysis import analyse_session

    files, ic_true = simulated_run
    csv = tmp_path / "run.csv"
    files[kind].to_csv(csv, index=False)
    with pytest.warns(ImportWarning):
        session = import_csv_session({"sacrum": csv}, tmp_path / "s", units=ImportUnits())
    assert session.sensors[0].axes == ("sensor" if kind == "sensor" else "anatomical")
    result = analyse_session(session, on_warning=lambda _m: None)
    ev = result.events
    ic = ev.loc[ev["event"] == "initial_contact", "time_s"].to_numpy()
    err = np.array([ic[np.argmin(np.abs(ic - t))] - t for t in ic_true])
    assert np.all(np.abs(err) < 0.02)  # every true contact found
    braking = result.strides["braking_mps"].to_numpy(float)
    if kind == "vertical":
        assert np.mean(err) < -0.005
        assert np.isnan(braking).all()
    else:
        assert abs(np.mean(err)) < 0.006
        assert np.isfinite(braking).mean() > 0.9
        assert np.nanmedian(braking) > 0.05
    # no medio-lateral signal without orientation, even from an acc_ml column (a body-fixed
    # axis carries the tilt's gravity): the sides stay unknown rather than guessed
    assert set(ev["side"]) == {"unknown"}
    # `stridecue replay` reads the imported sensors' axes as `analyse` does
    from stridecue.analysis import replay_session

    pd.testing.assert_frame_equal(replay_session(session).events, ev)


def test_cli_import_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("time_s,acc_x_kg,foo\n0,1,2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "stridecue.cli", "import", "--sacrum", str(csv), "--out", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown column(s) acc_x_kg" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_missing_session_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a stridecue session" in err[0]


def test_import_then_analyse_writes_the_contract_files(tmp_path: Path, shared_data: Path) -> None:
    """A recording made by someone else (lower-back walking) through import + analyse."""
    src = shared_data / "lowerback-walking" / "HA_001_Test5_Trial1" / "imu.csv"
    session_dir = tmp_path / "walk"
    assert main(["import", "--sacrum", str(src), "--height-m", "1.59", "--sensor-height-m", "0.964",
                 "--out", str(session_dir)]) == 0
    out = tmp_path / "out"
    assert main(["analyse", str(session_dir), "--out", str(out), "--history", str(tmp_path / "h.sqlite")]) == 0
    events = pd.read_csv(out / "events.csv")
    assert list(events.columns[:3]) == ["time_s", "event", "side"]
    assert (events["event"] == "initial_contact").sum() >= 10
    strides = pd.read_csv(out / "strides.csv")
    for col in c.STRIDE_CONTRACT_COLUMNS:
        assert col in strides.columns
    assert len(strides) >= 5
    assert strides["cadence_spm"].between(80, 130).mean() > 0.8
    summary = json.loads((out / "summary.json").read_text())
    assert summary["session"]["n_strides"] == len(strides)
    assert summary["analysis_summary"]["strides"] == len(strides)
    assert (out / "report.html").stat().st_size > 10_000


def test_lap_marks_become_the_sessions_laps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recordings.session import open_session
    from stridecue.analysis import analyse_session

    csv = _walk_csv(tmp_path / "in.csv", seconds=60.0)
    marks = tmp_path / "laps.csv"
    marks.write_text("time_s,note\n2.0,start\n30.5,lap 1\n58.0,lap 2\n")
    for given, name in ((str(marks), "a"), ("2,30.5,58", "b")):
        assert main(["import", "--sacrum", str(csv), "--height-m", "1.8", "--lap-marks", given,
                     "--out", str(tmp_path / name)]) == 0
        session = open_session(tmp_path / name)
        assert session.laps["time_s"].tolist() == [2.0, 30.5, 58.0]
        assert set(session.laps["source"]) == {"import"}
        laps = analyse_session(session).laps
        assert laps[["start_s", "end_s"]].to_numpy().tolist() == [[2.0, 30.5], [30.5, 58.0]]
    assert "with 3 lap marks" in capsys.readouterr().out
    for bad, expected in (("2,70", "lap mark 70 s is outside the sacrum recording"),
                          ("2,x", "--lap-marks: could not convert string to float")):
        assert main(["import", "--sacrum", str(csv), "--lap-marks", bad,
                     "--out", str(tmp_path / "c")]) == 2
        assert expected in capsys.readouterr().err


def test_body_lengths_come_from_a_meta_json_beside_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recordings shared with their metadata (as ../shared/data) carry the height beside them."""
    from recordings.session import open_session

    csv = _walk_csv(tmp_path / "imu.csv")
    assert main(["import", "--sacrum", str(csv), "--out", str(tmp_path / "none")]) == 0
    assert "warning: no --height-m" in capsys.readouterr().out
    (tmp_path / "meta.json").write_text(json.dumps(
        {"height_m": 1.59, "sensor_height_m": 0.964, "weight_kg": 73.0, "sampling_rate_hz": 100}))
    assert main(["import", "--sacrum", str(csv), "--out", str(tmp_path / "meta")]) == 0
    out = capsys.readouterr().out
    assert "height_m 1.59, sensor_height_m 0.964 (from" in out and "no --height-m" not in out
    assert open_session(tmp_path / "meta").athlete == {"height_m": 1.59, "sensor_height_m": 0.964}
    assert main(["import", "--sacrum", str(csv), "--height-m", "1.7",
                 "--out", str(tmp_path / "flag")]) == 0
    assert open_session(tmp_path / "flag").athlete["height_m"] == 1.7
