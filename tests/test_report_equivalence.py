"""The fast report and export paths against straightforward reference implementations.

``lap_side_table`` groups one integer key per grouping instead of melting the table and grouping
by string columns; the reference below is the earlier, plain pandas version. Both must agree to
the last bit, dtypes included, on real analysis output and on random tables with NaN, infinities,
strides outside every lap, unknown sides and missing columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stridecue.constants import LEFT, RIGHT
from stridecue.exports import event_table, stride_table, write_csv
from stridecue.report import findings as fnd
from tests.test_report import make_result


def lap_side_table_reference(strides: pd.DataFrame, measures=None) -> pd.DataFrame:
    """``findings.lap_side_table`` as first written: melt, then group by string keys."""
    if measures is None:
        measures = fnd.available_measures(strides)
    s = fnd.usable_strides(strides)
    cols = [m.column for m in measures if m.column in s.columns]
    empty = pd.DataFrame(columns=["measure", "lap", "side", "mean", "sd", "n"])
    if not cols or s.empty:
        return empty
    lap = s["lap"] if "lap" in s.columns else pd.Series(1, index=s.index)
    side = s["side"] if "side" in s.columns else pd.Series("unknown", index=s.index)
    data = s[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    data = data.assign(_lap=lap.fillna(0).astype(int).to_numpy(),
                       _side=side.astype(str).to_numpy())
    long = data.melt(id_vars=["_lap", "_side"], var_name="measure", value_name="v")
    long = long[np.isfinite(long["v"].to_numpy())]
    frames = []
    for keys, fixed_lap, fixed_side in ((["_lap", "_side"], None, None),
                                        (["_lap"], None, fnd.BOTH),
                                        (["_side"], 0, None),
                                        ([], 0, fnd.BOTH)):
        part = long[long["_lap"] > 0] if "_lap" in keys else long
        agg = part.groupby(["measure", *keys], sort=False)["v"].agg(
            ["mean", "std", "count"]).reset_index()
        agg = agg.rename(columns={"_lap": "lap", "_side": "side", "std": "sd", "count": "n"})
        if fixed_lap is not None:
            agg["lap"] = fixed_lap
        if fixed_side is not None:
            agg["side"] = fixed_side
        frames.append(agg[["measure", "lap", "side", "mean", "sd", "n"]])
    out = pd.concat(frames, ignore_index=True)
    out = out[out["n"] > 0]
    out = out[out["side"].isin([LEFT, RIGHT, fnd.BOTH])]
    order = {m.column: i for i, m in enumerate(fnd.KEY_MEASURES)}
    out = out.assign(_o=out["measure"].map(order).fillna(len(order)))
    out = out.sort_values(["_o", "lap", "side"], kind="stable").drop(columns="_o")
    out["lap"] = out["lap"].astype(int)
    out["n"] = out["n"].astype(int)
    return out.reset_index(drop=True)


def _assert_same_table(strides: pd.DataFrame, measures=None) -> None:
    pd.testing.assert_frame_equal(fnd.lap_side_table(strides, measures),
                                  lap_side_table_reference(strides, measures), check_exact=True)


def _damaged(seed: int) -> tuple[pd.DataFrame, list[fnd.Measure] | None]:
    """A random strides table with holes, infinities, lap 0, unknown sides, missing columns."""
    rng = np.random.default_rng(seed)
    r = make_result(n_laps=int(rng.integers(1, 5)),
                    strides_per_side_per_lap=int(rng.integers(30, 60)), seed=seed,
                    gap=bool(seed % 2), thigh_sides=[("left", "right"), ("left",), ()][seed % 3],
                    sacrum_orientation=bool(seed % 5))
    s = r.strides
    if seed % 3 == 0:
        s = s.sample(n=int(rng.integers(1, 40)), random_state=seed).sort_index()
    s = s.reset_index(drop=True)
    n = len(s)
    floats = [c for c in s.columns if s[c].dtype == float]
    for c in rng.choice(floats, size=5):
        rows = rng.choice(n, size=int(rng.integers(0, n)), replace=False)
        s.loc[rows, c] = rng.choice([np.nan, np.inf, -np.inf])
    if seed % 4 == 1:
        s.loc[rng.choice(n, size=n // 3), "lap"] = 0
    if seed % 5 == 2:
        s.loc[rng.choice(n, size=n // 3), "side"] = "unknown"
    if seed % 7 == 3:
        s = s.drop(columns=["lap"])
    if seed % 11 == 4:
        s = s.drop(columns=["side"])
    if seed % 6 == 5 and "lap" in s:
        s["lap"] = s["lap"].astype(float)
        s.loc[0, "lap"] = np.nan
    if seed % 13 == 6:
        s = s.iloc[:0]
    if seed % 17 == 7:
        s[[m.column for m in fnd.KEY_MEASURES if m.column in s]] = np.nan
    measures = None
    if seed % 5 == 0:
        extra = [fnd.Measure("speed_mps", "speed", "m/s", 0.1, 0, "any", "x"),
                 fnd.Measure("duty_factor", "duty factor", "", 0.1, 0, "any", "x")]
        measures = list(rng.choice(np.array(fnd.KEY_MEASURES, dtype=object), size=4)) + extra
        if seed % 2:
            measures += measures[:2]  # a measure asked for twice
    return s, measures


@pytest.mark.parametrize("seed", range(60))
def test_lap_side_table_equals_reference_on_random_tables(seed):
    _assert_same_table(*_damaged(seed))


def test_lap_side_table_equals_reference_on_a_real_analysis(demo_result):
    _assert_same_table(demo_result.strides)
    one_lap = demo_result.strides.assign(lap=1)
    _assert_same_table(one_lap)



def lap_splits_reference(strides: pd.DataFrame, laps: pd.DataFrame) -> pd.DataFrame:
    """``findings.lap_splits`` as first written: one boolean row filter per lap."""
    cols = ["lap", "start_s", "duration_s", "distance_m", "pace_s_per_km", "n_strides",
            "cadence_spm", "stride_length_m", "contact_time_s", "thigh_angle_ic_deg"]
    if laps is None or laps.empty:
        return pd.DataFrame(columns=cols)
    s = fnd.usable_strides(strides)
    lap_col = s["lap"] if "lap" in s else pd.Series(np.nan, index=s.index)
    rows = []
    for _, lap in laps.sort_values("lap").iterrows():
        n = int(lap["lap"])
        sel = s[lap_col == n]
        start = fnd._finite_or_nan(lap.get("start_s"))
        dur = fnd._finite_or_nan(lap.get("duration_s"))
        if not np.isfinite(dur):
            dur = fnd._finite_or_nan(lap.get("end_s")) - start
        dist = fnd._finite_or_nan(lap.get("distance_m"))
        if not np.isfinite(dist):  # the distance covered counts the strides of every activity
            whole = fnd.whole_strides(strides)
            in_lap = whole[whole["lap"] == n] if "lap" in whole else whole.iloc[0:0]
            dist = fnd._distance_from_strides(in_lap)
        rows.append({
            "lap": n, "start_s": start, "duration_s": dur, "distance_m": dist,
            "pace_s_per_km": dur / dist * 1000.0 if np.isfinite(dist) and dist > 0 else np.nan,
            "n_strides": int((strides["lap"] == n).sum()) if "lap" in strides else 0,
            "cadence_spm": fnd._num(sel, "cadence_spm").mean(),
            "stride_length_m": fnd._num(sel, "stride_length_m").mean(),
            "contact_time_s": fnd._num(sel, "contact_time_s").mean(),
            "thigh_angle_ic_deg": fnd._num(sel, "thigh_angle_ic_deg").mean(),
        })
    return pd.DataFrame(rows, columns=cols)


@pytest.mark.parametrize("seed", range(30))
def test_lap_splits_equals_reference_on_random_tables(seed):
    strides, _ = _damaged(seed)
    rng = np.random.default_rng(seed)
    laps = make_result(n_laps=int(rng.integers(1, 6)), seed=seed).laps
    if seed % 3 == 0:
        laps.loc[laps.index[::2], "distance_m"] = np.nan
    if seed % 4 == 0:
        laps = laps.drop(columns=["duration_s"])
    if seed % 5 == 0:
        laps = laps.iloc[::-1]
    pd.testing.assert_frame_equal(fnd.lap_splits(strides, laps),
                                  lap_splits_reference(strides, laps), check_exact=True)


def test_lap_splits_equals_reference_on_a_real_analysis(demo_result):
    pd.testing.assert_frame_equal(fnd.lap_splits(demo_result.strides, demo_result.laps),
                                  lap_splits_reference(demo_result.strides, demo_result.laps),
                                  check_exact=True)



@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_findings_from_one_shared_table_equal_findings_from_their_own(seed):
    strides, _ = _damaged(seed)
    r = make_result(seed=seed)
    athlete = {"name": "A", "injured_side": "right"}
    found, comparison = fnd.all_findings(strides, r.cues, athlete=athlete)
    changes, own_comparison = fnd.change_findings(strides)
    expected = ([f for f in changes if f.kind == "change"]
                + fnd.asymmetry_findings(strides, athlete)
                + fnd.mobility_findings(None) + fnd.cue_findings(r.cues, strides)
                + [f for f in changes if f.kind != "change"]
                + fnd.quality_findings(strides, {}) + fnd.not_measured_findings(strides))
    assert found == expected
    pd.testing.assert_frame_equal(comparison, own_comparison, check_exact=True)


# --- CSV writing ------------------------------------------------------------------------------


def _random_table(seed: int) -> pd.DataFrame:
    """Columns of every dtype the exports meet, with NaN, infinities, -0.0 and awkward text."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    floats = rng.normal(0, 10.0 ** rng.integers(-8, 9, size=n), size=n)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-310, 1e300, 0.1, 123456.5])
    pick = rng.random(n) < 0.3
    floats[pick] = rng.choice(special, size=int(pick.sum()))
    words = np.array(["left", "right", "a,b", 'say "hi"', "two\nlines", "", "ünïcode", " "],
                     dtype=object)
    text = rng.choice(words, size=n)
    text[rng.random(n) < 0.2] = None
    table = pd.DataFrame({
        "time_s": floats,
        "small_f32": np.clip(floats, -1e30, 1e30).astype(np.float32),
        "lap": rng.integers(-2, 40, size=n),
        "count_u8": rng.integers(0, 255, size=n).astype(np.uint8),
        "gap_crossed": rng.random(n) < 0.5,
        "side": pd.array(text, dtype="str"),
        "note": text,
        "flag_or_missing": pd.Series(rng.choice([True, False, None], size=n), dtype=object),
        "mixed": pd.Series(rng.choice(np.array([1.5, "x", None, 3], dtype=object), size=n),
                           dtype=object),
    })
    return table.iloc[:, sorted(rng.choice(table.shape[1], size=int(rng.integers(1, 10)),
                                           replace=False))]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("float_format", ["%.6g", "%.6f"])
def test_write_csv_equals_pandas_on_random_tables(tmp_path, seed, float_format):
    table = _random_table(seed)
    table.to_csv(tmp_path / "pandas.csv", index=False, float_format=float_format)
    write_csv(table, tmp_path / "ours.csv", float_format=float_format)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


def test_write_csv_equals_pandas_on_a_real_analysis(tmp_path, demo_result):
    for name, table, float_format in (("strides", stride_table(demo_result), "%.6g"),
                                      ("events", event_table(demo_result), "%.6f")):
        table.to_csv(tmp_path / f"{name}_pandas.csv", index=False, float_format=float_format)
        write_csv(table, tmp_path / f"{name}.csv", float_format=float_format)
        assert ((tmp_path / f"{name}.csv").read_bytes()
                == (tmp_path / f"{name}_pandas.csv").read_bytes()), name


def test_write_csv_leaves_other_dtypes_to_pandas(tmp_path):
    table = pd.DataFrame({"x": [1.0, np.nan], "day": pd.to_datetime(["2024-05-01", None]),
                          "lap": pd.array([1, None], dtype="Int64")})
    table.to_csv(tmp_path / "pandas.csv", index=False, float_format="%.6g")
    write_csv(table, tmp_path / "ours.csv", float_format="%.6g")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
