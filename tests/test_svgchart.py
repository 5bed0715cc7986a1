"""The report's SVG chart canvas: limits, ticks and text widths as matplotlib's, well-formed SVG.

``stridecue.report.svgchart`` promises that its panels get the limits matplotlib's autoscale
would give the same data and the tick labels a matplotlib axis would draw; these tests hold it to
that against real matplotlib axes (Agg canvas), on random data.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from stridecue.report import plots, svgchart
from stridecue.report.findings import lap_side_table
from stridecue.report.html import LAP_PANELS
from tests.test_report import make_result


def _random_series(rng: np.random.Generator) -> np.ndarray:
    scale = 10.0 ** rng.integers(-3, 4)
    y = rng.normal(rng.normal(0, 5) * scale, scale, size=int(rng.integers(1, 50)))
    if rng.random() < 0.2:
        y[:] = y[0]  # constant: the range must be widened
    if rng.random() < 0.3:
        y[rng.random(y.size) < 0.2] = np.nan
    return y


def test_autoscale_and_ticks_match_a_matplotlib_axis():
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    rng = np.random.default_rng(0)
    fig = Figure(figsize=(8, 30))
    cases = []
    for k in range(40):
        ax = fig.add_subplot(20, 2, k + 1)
        y = _random_series(rng)
        x = np.arange(y.size, dtype=float)
        bars = k % 3 == 0
        chart = svgchart.Chart.grid(4.0, 1.5, 1, 1, top_pt=5.0, bottom_pt=20.0, vgap_pt=0.0)
        ours = chart.axes[0, 0]
        if bars:
            ax.bar(x, y, 0.8)
            ours.bars(x, y, width=0.8, colour="#000000")
        else:
            ax.plot(x, y)
            ours.line(x, y, colour="#000000", width=1.0)
        chart.layout(ylabels=False)
        nbins = int(rng.integers(1, 10))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))
        fmt = ScalarFormatter(useOffset=False)
        fmt.set_scientific(False)
        ax.yaxis.set_major_formatter(fmt)
        cases.append((ax, ours, nbins))
    fig.canvas.draw()
    for ax, ours, nbins in cases:
        np.testing.assert_allclose(ours.ylim, ax.get_ylim(), rtol=1e-12)
        np.testing.assert_allclose(ours.xlim, ax.get_xlim(), rtol=1e-12)
        locs, labels = svgchart.ticks(*ax.get_ylim(), nbins)
        shown = [(t.get_position()[1], t.get_text()) for t in ax.yaxis.get_ticklabels()
                 if t.get_visible() and t.get_text()]
        lo, hi = ax.get_ylim()
        shown = [(p, s) for p, s in shown if lo - 1e-9 * (hi - lo) <= p <= hi + 1e-9 * (hi - lo)]
        assert labels == [s for _, s in shown]
        np.testing.assert_allclose(locs, [p for p, _ in shown])


def test_empty_panel_gets_matplotlibs_default_limits():
    assert svgchart.autoscale([]) == (0.0, 1.0)
    assert svgchart.autoscale([np.array([np.nan, np.inf])]) == (0.0, 1.0)


def test_text_width_matches_matplotlib_text_metrics():
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    for text in ("0.05", "1000", "\N{MINUS SIGN}12.5", "thigh at IC (deg)", "lap 39",
                 "left (median, IQR)"):
        for size in (6.0, 7.0, 10.0):
            expected = text_to_path.get_text_width_height_descent(
                text, FontProperties(family="DejaVu Sans", size=size), ismath=False)[0]
            assert svgchart.text_width_pt(text, size) == pytest.approx(expected, abs=0.6)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in _parse(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_timeline_is_well_formed_with_unique_ids_and_a_legend():
    r = make_result(n_laps=3, seed=40)
    panels = (("thigh_angle_ic_deg", "thigh at IC (deg)", 1.0),
              ("contact_time_s", "contact (ms)", 1000.0))
    a = plots.stride_timeline_svg(r.strides, panels, plot_id="plot-a", laps=r.laps, cues=r.cues)
    b = plots.stride_timeline_svg(r.strides, panels, plot_id="plot-b", laps=r.laps, cues=r.cues)
    ids_a = [e.get("id") for e in _parse(a).iter() if e.get("id")]
    ids_b = [e.get("id") for e in _parse(b).iter() if e.get("id")]
    assert len(ids_a) == 2  # one clip path per panel
    assert not set(ids_a) & set(ids_b)
    texts = _texts(a)
    for word in ("thigh at IC (deg)", "contact (ms)", "session time (min)", "left", "right",
                 "cue", "lap 1", "lap 2", "lap 3"):
        assert word in texts, word
    assert a.startswith('<svg class="plot-svg" role="img"')
    # the bottom panel alone carries the time tick labels, every panel its y tick labels
    assert texts.count("0") == 1


def _note_positions(svg: str, prefix: str) -> list[tuple[float, str]]:
    return [(float(t.get("x")), t.text) for t in _parse(svg).iter("{http://www.w3.org/2000/svg}text")
            if (t.text or "").startswith(prefix)]


def test_lap_labels_of_a_long_session_do_not_overlap():
    r = make_result(n_laps=39, strides_per_side_per_lap=60, seed=41)
    svg = plots.stride_timeline_svg(r.strides, (("cadence_spm", "cadence (spm)", 1.0),),
                                    plot_id="p", laps=r.laps, cues=r.cues)
    labels = _note_positions(svg, "lap ")
    assert 10 <= len(labels) < 39
    width = svgchart.text_width_pt("lap 39", 6.0)
    assert all(b[0] - a[0] >= width for a, b in zip(labels, labels[1:], strict=False))
    assert labels[0][1] == "lap 1"


def test_lap_bar_ticks_are_thinned_to_fit():
    r = make_result(n_laps=39, strides_per_side_per_lap=60, seed=42)
    svg = plots.lap_bars_svg(lap_side_table(r.strides), LAP_PANELS, plot_id="plot-laps")
    tree = _parse(svg)
    ns = "{http://www.w3.org/2000/svg}"
    checked = 0
    for group in tree.iter(f"{ns}g"):
        if group.get("text-anchor") != "middle":
            continue
        xs = [float(t.get("x")) for t in group.iter(f"{ns}text")]
        names = [t.text for t in group.iter(f"{ns}text")]
        if names and names[0].startswith("lap "):
            assert names[0] == "lap 1"
            assert len(names) < 39
            assert min(np.diff(xs)) > svgchart.text_width_pt("lap 39", 10.0)
            checked += 1
    assert checked == 6  # every panel's lap labels
    assert "left" in _texts(svg)
    assert "right" in _texts(svg)


def test_bars_stand_on_zero_and_skip_missing_values():
    chart = svgchart.Chart.grid(4.0, 2.0, 1, 1, top_pt=10.0, bottom_pt=20.0, vgap_pt=0.0)
    ax = chart.axes[0, 0]
    ax.bars(np.arange(3.0), np.array([2.0, np.nan, 4.0]), width=0.8, colour="#123456")
    chart.layout(ylabels=False)
    assert ax.ylim[0] == 0.0
    assert ax.ylim[1] == pytest.approx(4.2)
    bars = [p for p in _parse(chart.svg("s")).iter("{http://www.w3.org/2000/svg}path")
            if p.get("fill") == "#123456"]
    assert len(bars) == 1
    assert bars[0].get("d").count("z") == 2


def test_trend_legend_lists_the_errorbar_last():
    trend = pd.DataFrame({"started_at": pd.date_range("2024-04-01", periods=5, freq="7D"),
                          "mean": [32.0, 30.0, 27.0, 31.0, 23.0], "sd": 2.0,
                          "improved": [False, False, True, False, True],
                          "worse": False, "setback": [False, False, False, True, False],
                          "beyond_src": [False, False, True, False, True]})
    svg = plots.trend_svg(trend, ylabel="deg", plot_id="t", baseline_mean=31.0, src=3.7)
    texts = _texts(svg)
    legend = [t for t in texts if re.search(r"SRC|SD|previous", t)]
    assert legend == ["baseline +- SRC", "better beyond SRC", "setback vs previous",
                      "session mean +- SD"]
    assert "01 Apr" in texts
    assert "29 Apr" in texts
