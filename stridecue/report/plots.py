"""Small inline-SVG plots for the stride and history reports.

Every function returns the SVG markup as a string, ready to be inlined in HTML: no file is
written. The figures are drawn with ``stridecue.report.svgchart`` (SVG paths written directly,
ticks and text metrics from matplotlib). Left is always blue, right orange; per-stride series
longer than ``MAX_POINTS`` per side are summarised as a median line with an interquartile band
over time bins, so an hour-long session stays a few tens of kilobytes per plot.

Layout is fixed: margins are set in points from the labels a figure shows (the widest y tick
label, one legend row, one title line). Crowded lap labels and lap tick labels are thinned so
that none overlap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from stridecue.constants import LEFT, RIGHT
from stridecue.report.svgchart import (
    LABEL_PAD_PT,
    LINE,
    TEXT_PT,
    TICK_PAD_PT,
    TICK_PT,
    TITLE_PAD_PT,
    Axes,
    Chart,
    Handle,
    legend_height_pt,
    text_width_pt,
)

#: Side colours used in every plot and in the HTML legend.
SIDE_COLOURS: dict[str, str] = {LEFT: "#1f77b4", RIGHT: "#ff7f0e", "both": "#555555",
                                "unknown": "#888888"}
CUE_COLOUR = "#d62728"
GOOD_COLOUR = "#2ca02c"
BAD_COLOUR = "#d62728"
LAP_LINE_COLOUR = "#999999"
LAP_LABEL_COLOUR = "#666666"
#: Above this many strides per side a per-stride plot shows binned medians instead of points.
MAX_POINTS = 400
#: Number of time bins for the binned summary.
N_BINS = 200

#: Blank space kept at the figure edges (points).
_EDGE_PT = 4.0
#: Font sizes (points) of the small-panel titles and the lap labels.
_TITLE_FONT_PT = 8.0
_LAP_FONT_PT = 6.0
#: Space kept between neighbouring tick labels or lap labels (points).
_LABEL_GAP_PT = 6.0
#: Height below a panel taken by the x tick marks and one row of tick labels (points).
_XTICK_ROWS_PT = TICK_PT + TICK_PAD_PT + LINE * TEXT_PT
#: Room for an axis label beside its tick labels (points).
_AXIS_LABEL_PT = LABEL_PAD_PT + LINE * TEXT_PT
_LEGEND_COLUMNS = 5


def binned_series(
    t: np.ndarray, y: np.ndarray, n_bins: int = N_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median and interquartile range of ``y`` in ``n_bins`` equal time bins.

    Parameters
    ----------
    t, y
        Stride times (s) and values; NaNs in ``y`` are ignored.
    n_bins
        Number of bins over ``[min(t), max(t)]``.

    Returns
    -------
    centre_s, median, q25, q75
        Arrays over the bins that hold at least one finite value.
    """
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size == 0:
        empty = np.empty(0)
        return empty, empty, empty, empty
    edges = np.linspace(t.min(), t.max() + 1e-9, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, n_bins - 1)
    df = pd.DataFrame({"b": idx, "y": y})
    g = df.groupby("b")["y"]
    q25, med, q75 = g.quantile(0.25), g.median(), g.quantile(0.75)
    centres = (edges[:-1] + edges[1:])[med.index.to_numpy()] / 2.0
    return centres, med.to_numpy(), q25.to_numpy(), q75.to_numpy()


def stride_timeline_svg(
    strides: pd.DataFrame,
    panels: Sequence[tuple[str, str, float]],
    *,
    plot_id: str,
    laps: pd.DataFrame | None = None,
    cues: pd.DataFrame | None = None,
) -> str:
    """Per-stride values over the session, left and right in one view, one panel per measure.

    Parameters
    ----------
    strides
        Strides table with ``start_s``, ``side`` and the panel columns.
    panels
        ``(column, ylabel, scale)`` triples; ``scale`` multiplies the values (1000 for s -> ms).
        The panels share the time axis.
    plot_id
        Used as the SVG id salt (unique ids when several SVGs share a page).
    laps
        Laps table (``lap``, ``start_s``): lap starts are drawn as dotted lines in every panel
        and labelled in the bottom panel (as many labels as fit side by side).
    cues
        Cues table (``time_s``): every cue is a red triangle at the top of each panel.

    Returns
    -------
    str
        SVG markup.
    """
    n = max(len(panels), 1)
    lap_x, lap_no = _lap_starts_min(laps)
    cue_x = (pd.to_numeric(cues["time_s"], errors="coerce").to_numpy(dtype=float) / 60.0
             if cues is not None and not cues.empty and "time_s" in cues else np.empty(0))
    chart = Chart.grid(9.0, 1.45 * n + 0.45, n, 1, top_pt=legend_height_pt(1) + _EDGE_PT,
                       bottom_pt=_XTICK_ROWS_PT + _AXIS_LABEL_PT + _EDGE_PT,
                       vgap_pt=2 * _EDGE_PT, sharex=True)
    axes = chart.axes[:, 0]
    t_all = pd.to_numeric(strides["start_s"], errors="coerce").to_numpy(dtype=float) / 60.0
    sides = (strides["side"].astype(str).to_numpy() if "side" in strides
             else np.full(len(strides), "unknown"))
    masks = {side: sides == side for side in (LEFT, RIGHT, "unknown")}
    for ax, (column, ylabel, scale) in zip(axes, panels, strict=False):
        y_all = pd.to_numeric(strides[column], errors="coerce").to_numpy(dtype=float) * scale
        for side, sel in masks.items():
            _stride_series(ax, t_all[sel], y_all[sel], SIDE_COLOURS[side], side)
        if lap_x.size:
            ax.vlines(lap_x, colour=LAP_LINE_COLOUR, width=0.8, dotted=True)
        if cue_x.size:
            ax.markers(cue_x, np.full(cue_x.shape, 0.97), marker="v", size=4, colour=CUE_COLOUR,
                       y_in_axes=True, label="cue")
        ax.ylabel = ylabel
    axes[-1].xlabel = "session time (min)"
    chart.layout(ylabels=True)
    _lap_labels(axes[-1], lap_x, lap_no)
    return chart.svg(plot_id)


def _stride_series(ax: Axes, t: np.ndarray, y: np.ndarray, colour: str, side: str) -> None:
    """One side's strides: dots and a running median, or the binned median and IQR band."""
    ok = np.isfinite(y)
    if not ok.any():
        return
    if ok.sum() > MAX_POINTS:
        c, med, q25, q75 = binned_series(t, y)
        ax.band(c, q25, q75, colour=colour, alpha=0.25)
        ax.line(c, med, colour=colour, width=1.1, label=f"{side} (median, IQR)")
        return
    ax.dots(t[ok], y[ok], colour=colour, size=2.2, alpha=0.6, label=side)
    if ok.sum() >= 15:
        smooth = pd.Series(y[ok]).rolling(15, center=True, min_periods=5).median()
        ax.line(t[ok], smooth.to_numpy(), colour=colour, width=1.2)


def _lap_starts_min(laps: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Lap start times (min) and lap numbers of a laps table (empty when there are none)."""
    if laps is None or laps.empty or "start_s" not in laps:
        return np.empty(0), np.empty(0, dtype=int)
    x = pd.to_numeric(laps["start_s"], errors="coerce").to_numpy(dtype=float) / 60.0
    return x, laps["lap"].astype(int).to_numpy()


def _lap_labels(ax: Axes, lap_x: np.ndarray, lap_no: np.ndarray) -> None:
    """``lap N`` at the foot of the lap lines, skipping a label where it would overlap the last."""
    if lap_x.size == 0:
        return
    width_pt = max(text_width_pt(f"lap {k}", _LAP_FONT_PT) for k in lap_no) + _LABEL_GAP_PT
    free_from_pt = -np.inf
    for x, k in zip(lap_x, lap_no, strict=True):
        x_pt = float(ax.px(x))
        if not np.isfinite(x_pt) or x_pt < free_from_pt:
            continue
        ax.note(x, f"lap {k}", size=_LAP_FONT_PT, colour=LAP_LABEL_COLOUR)
        free_from_pt = x_pt + width_pt


def _thinned_ticks(ax: Axes, x: np.ndarray, labels: Sequence[str]) -> None:
    """``labels`` at ``x`` as x ticks, every k-th only, k the smallest that avoids overlap."""
    if len(x) == 0:
        ax.xticks = (np.empty(0), [])
        return
    lo, hi = ax.xlim
    spacing_pt = (np.min(np.diff(x)) if len(x) > 1 else hi - lo) / (hi - lo) * ax.w_pt
    need_pt = max(text_width_pt(lab, TEXT_PT) for lab in labels) + _LABEL_GAP_PT
    step = max(1, math.ceil(need_pt / max(spacing_pt, 1e-9)))
    ax.xticks = (np.asarray(x, dtype=float)[::step], list(labels)[::step])


def lap_bars_svg(
    table: pd.DataFrame, panels: Sequence[tuple[str, str]], *, plot_id: str
) -> str:
    """Per-lap means (bars, SD whiskers), left and right side by side, one small panel each.

    Parameters
    ----------
    table
        Output of ``findings.lap_side_table`` (``measure``, ``lap``, ``side``, ``mean``, ``sd``).
    panels
        ``(column, title)`` pairs, one panel each, in order; panels without data are skipped.
    plot_id
        SVG id salt.

    Notes
    -----
    With many laps only every k-th bar group is labelled (``lap 1``, ``lap 9``, ...), k the
    smallest step at which the labels do not overlap.
    """
    panels = [(c, t) for c, t in panels if (table["measure"] == c).any()]
    n = max(len(panels), 1)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    title_pt = TITLE_PAD_PT + LINE * _TITLE_FONT_PT
    chart = Chart.grid(9.0, 1.9 * nrows + 0.3, nrows, ncols, top_pt=legend_height_pt(1) + title_pt,
                       bottom_pt=_XTICK_ROWS_PT + _EDGE_PT,
                       vgap_pt=_XTICK_ROWS_PT + title_pt + _EDGE_PT)
    for ax in list(chart.axes.flat)[len(panels):]:
        ax.visible = False
    ticks = []
    for ax, (column, title) in zip(chart.axes.flat, panels, strict=False):
        sub = table[(table["measure"] == column) & (table["lap"] >= 1)]
        laps = sorted(sub["lap"].unique())
        x = np.arange(len(laps), dtype=float)
        sides = [s for s in (LEFT, RIGHT) if (sub["side"] == s).any()] or ["both"]
        width = 0.8 / len(sides)
        for i, side in enumerate(sides):
            s = sub[sub["side"] == side].set_index("lap").reindex(laps)
            at = x + (i - (len(sides) - 1) / 2) * width
            mean = s["mean"].to_numpy(dtype=float)
            ax.bars(at, mean, width=width, colour=SIDE_COLOURS[side], label=side)
            ax.errorbars(at, mean, s["sd"].fillna(0).to_numpy(dtype=float), colour="#000000",
                         width=0.8, capsize=2)
        ax.title, ax.title_pt = title, _TITLE_FONT_PT
        ticks.append((ax, x, [f"lap {lap}" for lap in laps]))
    chart.layout(ylabels=False)
    for ax, x, lap_labels in ticks:
        _thinned_ticks(ax, x, lap_labels)
    return chart.svg(plot_id)


def trend_svg(
    trend: pd.DataFrame,
    *,
    ylabel: str,
    plot_id: str,
    baseline_mean: float = float("nan"),
    src: float = float("nan"),
) -> str:
    """A measure across sessions: mean with SD whiskers, baseline band, flagged sessions.

    Parameters
    ----------
    trend
        Rows of one measure from ``HistoryDB.trend``: ``started_at``, ``mean``, ``sd``,
        ``improved``, ``worse``, ``setback``.
    ylabel
        Axis label with unit.
    plot_id
        SVG id salt.
    baseline_mean, src
        The baseline band is drawn as ``baseline_mean +- src``.
    """
    chart = Chart.grid(9.0, 2.2, 1, 1, top_pt=0.0, bottom_pt=_XTICK_ROWS_PT + _EDGE_PT,
                       vgap_pt=0.0)
    ax = chart.axes[0, 0]
    x = np.arange(len(trend), dtype=float)
    y = trend["mean"].to_numpy(dtype=float)
    sd = trend["sd"].to_numpy(dtype=float)
    if np.isfinite(baseline_mean) and np.isfinite(src):
        ax.hspan(baseline_mean - src, baseline_mean + src, colour="#bbbbbb", alpha=0.35,
                 label="baseline +- SRC")
        ax.hline(baseline_mean, colour="#777777", width=0.8)
    ax.line(x, y, colour="#444444", width=1.0)
    ax.errorbars(x, y, np.nan_to_num(sd), colour="#444444", width=0.6, capsize=2)
    ax.markers(x, y, marker="o", size=3, colour="#444444", edge_width=1.0)
    if "beyond_src" in trend:
        neutral = trend["beyond_src"].fillna(False).astype(bool).to_numpy().copy()
        for flag in ("improved", "worse"):
            if flag in trend:
                neutral &= ~trend[flag].fillna(False).astype(bool).to_numpy()
        if neutral.any():
            ax.markers(x[neutral], y[neutral], marker="o", size=7, colour="#222222", face="none",
                       edge_width=1.0, label="changed beyond SRC")
    for flag, colour, marker, label in (("improved", GOOD_COLOUR, "o", "better beyond SRC"),
                                        ("worse", BAD_COLOUR, "o", "worse beyond SRC"),
                                        ("setback", BAD_COLOUR, "X", "setback vs previous")):
        if flag in trend:
            sel = trend[flag].fillna(False).astype(bool).to_numpy()
            if sel.any():
                ax.markers(x[sel], y[sel], marker=marker, size=7 if flag == "setback" else 6,
                           colour=colour, label=label)
    # matplotlib lists an errorbar after the other labelled marks; so does this legend
    ax.legend.append(("session mean +- SD", Handle("errorbar", "#444444", width=1.0, size=3)))
    ax.ylabel = ylabel
    chart.top_pt = max(legend_height_pt(math.ceil(len(ax.legend) / _LEGEND_COLUMNS)), _EDGE_PT)
    chart.layout(ylabels=True)
    dates = pd.to_datetime(trend["started_at"], errors="coerce", utc=True)
    _thinned_ticks(ax, x, [d.strftime("%d %b") if not pd.isna(d) else str(i)
                           for i, d in enumerate(dates)])
    return chart.svg(plot_id)
