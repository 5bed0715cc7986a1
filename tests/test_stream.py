"""The stream analysis fed in arbitrary pieces gives exactly the batch run's strides and cues."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gait.pipeline import analyse_tables, finish_analysis
from gait.stream import StreamAnalyser
from stridecue import constants as c
from stridecue.analysis import session_tables


@pytest.fixture(scope="module")
def demo_tables(demo_session):
    return session_tables(demo_session)


def _feed_random_chunks(analyser: StreamAnalyser, tables, rng: np.random.Generator) -> list[dict]:
    """Time-ordered pieces of random length (1 ms to 3 s) for every sensor; rows as emitted."""
    arrays = {p: (t[c.TIME_S].to_numpy(float), t.loc[:, list(c.ACC_MPS2)].to_numpy(float),
                  t.loc[:, list(c.GYR_RADPS)].to_numpy(float)) for p, t in tables.items()}
    edge = min(a[0][0] for a in arrays.values())
    end = max(a[0][-1] for a in arrays.values())
    emitted = []
    while edge <= end:
        step = float(rng.choice([0.001, 0.01, 0.05, 0.3, 1.0, 3.0]))
        for p in [c.SACRUM, *[q for q in arrays if q != c.SACRUM]]:
            t, acc, gyr = arrays[p]
            i0, i1 = np.searchsorted(t, [edge, edge + step])
            if i1 > i0:
                analyser.add(p, t[i0:i1], acc[i0:i1], gyr[i0:i1])
        rows, _ = analyser.advance()
        emitted.extend(rows)
        edge += step
    rows, _ = analyser.finish()
    return emitted + rows


@pytest.mark.parametrize("seed", [0, 1])
def test_chunked_stream_equals_batch_exactly(demo_tables, seed: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = analyse_tables(demo_tables, sampling_rate_hz=200.0)
        analyser = StreamAnalyser(sampling_rate_hz=200.0, placements=list(demo_tables))
        emitted = _feed_random_chunks(analyser, demo_tables, np.random.default_rng(seed))
        streamed = finish_analysis(analyser)
    assert len(batch.strides) > 300 and len(batch.cues) >= 2
    pd.testing.assert_frame_equal(streamed.strides, batch.strides, check_exact=True)
    pd.testing.assert_frame_equal(streamed.cues, batch.cues, check_exact=True)
    pd.testing.assert_frame_equal(streamed.events, batch.events, check_exact=True)
    pd.testing.assert_frame_equal(streamed.bouts, batch.bouts, check_exact=True)
    # the rows handed out live are the batch rows (before the session-level stride length/laps)
    live = pd.DataFrame(emitted)
    for col in (c.STRIDE_START_S, c.STRIDE_END_S, "thigh_angle_ic_deg", "pelvis_tilt_mean_deg"):
        np.testing.assert_array_equal(live[col].to_numpy(), batch.strides[col].to_numpy())


def test_memory_stays_bounded_without_retain(demo_tables) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyser = StreamAnalyser(sampling_rate_hz=200.0, placements=list(demo_tables), retain=False)
        emitted = _feed_random_chunks(analyser, demo_tables, np.random.default_rng(3))
    held = analyser._derived.end - analyser._derived.start
    assert len(emitted) > 300
    assert len(analyser.rows) <= 2 * analyser.settings.stability.lde_window_strides
    assert held < 60 * 200  # under a minute of per-sample outputs, however long the session
    for ring in analyser._level1.values():
        assert ring.end - ring.start < 10 * 200


def test_a_sensor_that_vanishes_does_not_stall_the_stream(demo_tables) -> None:
    """The thigh stops at 100 s: the sacrum's strides keep coming, thigh metrics go NaN."""
    tables = dict(demo_tables)
    thigh = tables[c.THIGH_LEFT]
    tables[c.THIGH_LEFT] = thigh[thigh[c.TIME_S] < 100.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyser = StreamAnalyser(sampling_rate_hz=200.0, placements=list(tables), retain=True)
        emitted = _feed_random_chunks(analyser, tables, np.random.default_rng(5))
    late = [r for r in emitted if r[c.STRIDE_START_S] > 110.0 and r["activity"] == c.RUNNING]
    assert len(late) > 100
    assert all(np.isnan(r["thigh_angle_ic_deg"]) for r in late)
    assert all(np.isfinite(r["pelvis_tilt_mean_deg"]) for r in late[:50])


def test_no_event_is_reported_inside_a_sacrum_gap(demo_tables) -> None:
    """Gaps are bridged for the filters; a contact found on the bridge is not a measured one."""
    sac = demo_tables[c.SACRUM]
    t = sac[c.TIME_S].to_numpy(float)
    gaps = [(t[0] + s, t[0] + s + 0.15) for s in (100.0, 150.07, 200.13)]  # running, 3 phases
    drop = np.zeros(len(t), bool)
    for a, b in gaps:
        drop |= (t > a) & (t < b)
    tables = {**demo_tables, c.SACRUM: sac[~drop].reset_index(drop=True)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = analyse_tables(demo_tables)
        holed = analyse_tables(tables)
    for a, b in gaps:
        ev = holed.events[c.TIME_S].to_numpy(float)
        assert not ((ev > a) & (ev < b)).any()
        near = full.events[(full.events[c.TIME_S] > a - 1.0) & (full.events[c.TIME_S] < b + 1.0)]
        assert (near[c.EVENT] == c.INITIAL_CONTACT).sum() >= 5  # running there: contacts exist
        st = holed.strides
        over = st[(st[c.STRIDE_START_S] < b) & (st[c.STRIDE_END_S] > a)]
        assert over["gap_crossed"].all()  # a stride over the gap is flagged


def test_a_slow_sacrum_is_warned_about() -> None:
    with pytest.warns(UserWarning, match="sampled at 50 Hz: contact, flight and toe-off times"):
        StreamAnalyser(sampling_rate_hz=50.0, placements=(c.SACRUM,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        StreamAnalyser(sampling_rate_hz=100.0, placements=(c.SACRUM,))
