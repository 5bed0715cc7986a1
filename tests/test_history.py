"""Athlete history (SQLite): sessions, baselines, trends with SRC, comparisons, history report."""

from __future__ import annotations

import re
import sqlite3
import time

import pandas as pd
import pytest

from stridecue.errors import StridecueError
from stridecue.history import (
    SCHEMA_VERSION,
    HistoryDB,
    HistoryError,
    default_history_path,
    format_comparison,
    format_trend,
    write_history_report,
)
from tests.test_report import make_result

#: Weekly mean overstride (thigh angle at IC, deg): shrinking, with a bad session at week 6.
OVERSTRIDE_BY_WEEK = (32.0, 31.0, 29.0, 27.0, 25.0, 30.0, 23.0, 21.0)
BAD_WEEK = 5  # 0-based index of the bad session


@pytest.fixture(scope="module")
def rehab_db(tmp_path_factory):
    """Eight weekly sessions of one athlete, overstride shrinking, one bad session."""
    path = tmp_path_factory.mktemp("hist") / "history.sqlite"
    db = HistoryDB(path)
    for week, over in enumerate(OVERSTRIDE_BY_WEEK):
        r = make_result(n_laps=2, strides_per_side_per_lap=80, overstride_deg=(over, over),
                        seed=100 + week)
        started = pd.Timestamp("2024-03-01T18:00:00") + pd.Timedelta(weeks=week)
        db.add_result("Sam", f"w{week + 1}", started.isoformat(), r)
    db.set_baseline("Sam", "first:2")
    yield db
    db.close()


def test_database_created_with_migrations(tmp_path):
    path = tmp_path / "deep" / "h.sqlite"
    with HistoryDB(path) as db:
        assert db.schema_version == SCHEMA_VERSION
    con = sqlite3.connect(path)
    versions = [r[0] for r in con.execute("SELECT version FROM migrations")]
    con.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    # reopening applies nothing twice
    with HistoryDB(path) as db:
        assert db.schema_version == SCHEMA_VERSION


def test_default_path_follows_stridecue_home(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIDECUE_HOME", str(tmp_path / "home"))
    assert default_history_path() == tmp_path / "home" / "history.sqlite"
    with HistoryDB() as db:
        db.add_result("A", "s1", "2024-01-01T10:00:00", make_result(seed=1))
    assert (tmp_path / "home" / "history.sqlite").is_file()
    monkeypatch.delenv("STRIDECUE_HOME")
    assert default_history_path().parts[-3:] == ("share", "stridecue", "history.sqlite")


def test_add_session_is_idempotent(tmp_path):
    r = make_result(seed=2)
    with HistoryDB(tmp_path / "h.sqlite") as db:
        for _ in range(3):
            db.add_result("A", "s1", "2024-01-01T10:00:00", r)
        s = db.sessions("A")
        assert list(s["session_id"]) == ["s1"]
        assert s["distance_m"].iloc[0] == pytest.approx(800.0)
        n_rows = db._con.execute("SELECT COUNT(*) FROM measures").fetchone()[0]
        db.add_result("A", "s1", "2024-01-01T10:00:00", r)
        assert db._con.execute("SELECT COUNT(*) FROM measures").fetchone()[0] == n_rows
        with pytest.raises(HistoryError, match="already belongs"):
            db.add_result("B", "s1", "2024-01-01T10:00:00", r)


def test_user_errors_are_stridecue_errors(tmp_path):
    with HistoryDB(":memory:") as db:
        with pytest.raises(StridecueError, match="no athlete"):
            db.sessions("nobody")
        db.add_result("A", "s1", "2024-01-01", make_result(seed=3))
        with pytest.raises(StridecueError, match="first:N"):
            db.set_baseline("A", "last:2")
        with pytest.raises(StridecueError, match="not in"):
            db.set_baseline("A", ["s9"])
        with pytest.raises(StridecueError, match="ISO 8601"):
            db.add_result("A", "s2", "yesterday-ish", make_result(seed=3))
        with pytest.raises(StridecueError, match="no session"):
            db.compare("s1", "s9")


def test_baseline_mean_and_src(rehab_db):
    base = rehab_db.baseline("Sam").set_index("measure")
    row = base.loc["thigh_angle_ic_deg"]
    assert row["n_sessions"] == 2
    assert row["sessions"] == "w1,w2"
    assert row["mean"] == pytest.approx(31.5, abs=0.6)
    # SRC at least the 2 deg floor and 1.96*sqrt(2)*SD of the two baseline means
    assert row["src"] >= 2.0
    assert row["src"] >= 1.96 * 2**0.5 * row["sd_between"] - 1e-9
    assert row["src"] < 5.0


def test_rehab_trend_flags_improvement_and_bad_session(rehab_db):
    trend = rehab_db.trend("Sam", ["thigh_angle_ic_deg"])
    assert list(trend["session_id"]) == [f"w{i + 1}" for i in range(8)]
    # baseline sessions are not flagged; from week 3 on the overstride is lower beyond the SRC
    assert not trend["improved"].iloc[:2].any()
    later = trend.iloc[2:].drop(index=BAD_WEEK)
    assert later["improved"].all(), trend[["session_id", "mean", "change", "src"]]
    # the bad session fell back to within the SRC of the baseline
    assert not trend["improved"].iloc[BAD_WEEK]
    assert not trend["worse"].any()
    # the bad session is the only setback (worse than the week before beyond the SRC)
    assert list(trend.loc[trend["setback"], "session_id"]) == [f"w{BAD_WEEK + 1}"]
    text = format_trend(trend)
    bad_line = [ln for ln in text.splitlines() if f" w{BAD_WEEK + 1} " in ln][0]
    assert bad_line.rstrip().endswith(" !")
    assert [ln for ln in text.splitlines() if " w8 " in ln][0].rstrip().endswith(" +")
    # neutral measures are never "improved" or "worse"
    neutral = rehab_db.trend("Sam", ["cadence_spm"])
    assert not neutral["improved"].any()
    assert not neutral["worse"].any()


def test_compare_sessions(rehab_db):
    cmp = rehab_db.compare("w1", "w8").set_index("measure")
    over = cmp.loc["thigh_angle_ic_deg"]
    assert over["change"] == pytest.approx(-11.0, abs=1.0)
    assert bool(over["beyond_src"])
    assert over["direction"] == "better"
    same = rehab_db.compare("w1", "w2").set_index("measure")
    assert not bool(same.loc["thigh_angle_ic_deg", "beyond_src"])
    text = format_comparison(rehab_db.compare("w1", "w8"))
    assert re.search(r"overstride.*real change \(better\)", text)


def test_history_report_html(rehab_db, tmp_path):
    path = write_history_report(rehab_db, "Sam", tmp_path / "h.html")
    text = path.read_text(encoding="utf-8")
    assert 'id="sessions-table"' in text
    assert 'id="baseline-table"' in text
    assert "<figure class='plot' id='plot-trend-thigh_angle_ic_deg'>" in text
    assert "setback in session w6" in text
    assert "better than the baseline" in text
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", text)


def test_session_report_includes_history(rehab_db, tmp_path):
    from stridecue.report import write_report

    r = make_result(seed=9)
    text = write_report(r, tmp_path / "r.html", athlete="Sam", history=rehab_db).read_text()
    assert '<pre id="history-trend">' in text
    block = text.split('<pre id="history-trend">')[1].split("</pre>")[0]
    assert "overstride (thigh angle at contact) [deg]  baseline" in block
    assert re.search(r" w6 .* !\n", block)


def test_hundred_sessions_history_is_fast(tmp_path):
    r = make_result(strides_per_side_per_lap=60, seed=4)
    from stridecue.history import session_measures

    measures = session_measures(r)
    with HistoryDB(tmp_path / "h.sqlite") as db:
        dates = pd.date_range("2023-01-01", periods=100, freq="3D", tz="UTC")
        for i, d in enumerate(dates):
            m = measures.assign(mean=measures["mean"] + 0.01 * i)
            db.add_session("A", f"s{i:03d}", d, {"distance_m": 800.0}, m)
        db.set_baseline("A", "first:3")
        t0 = time.perf_counter()
        write_history_report(db, "A", tmp_path / "h.html")
        elapsed = time.perf_counter() - t0
    assert elapsed < 2.0 * 2  # the bench states the real number; leave CI headroom
