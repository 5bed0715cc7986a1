"""Small inline-SVG plots for the stride and history reports (matplotlib, Agg-free SVG backend).

Every function returns the SVG markup as a string, ready to be inlined in HTML: no file is
written. Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot global state).
Left is always blue, right orange; per-stride series longer than ``MAX_POINTS`` per side are
summarised as a median line with an interquartile band over time bins, so an hour-long session
stays a few tens of kilobytes per plot.

Layout is fixed, not solved: margins are set in points from the font metrics of the labels a
figure actually shows (the widest y tick label, one legend row, one title line), which gives the
same room as matplotlib's constrained layout at a fraction of its cost. Many similar marks are one
artist each (all lap lines of a panel, all bars of a side), and crowded lap labels and tick labels
are thinned so that none overlap. matplotlib is imported on first use: the exports do not need it.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stridecue.constants import LEFT, RIGHT

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpec

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

_LONG_DECIMALS = re.compile(r"(\d\.\d{2})\d+")

#: Style of every figure: matplotlib's defaults (10 pt text, boxed axes) with text kept as text.
#: Tick labels show plain values, never a separate offset ("+1e3") that would need its own room.
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "path.simplify": True,
    "axes.formatter.useoffset": False,
}

_PT_PER_IN = 72.0
#: Line height of one row of text, in multiples of the font size.
_LINE = 1.2
#: Blank space kept at the figure edges (points).
_EDGE_PT = 4.0
#: Font sizes (points) of the legends, the small-panel titles and the lap labels.
_LEGEND_FONT_PT = 7.0
_TITLE_FONT_PT = 8.0
_LAP_FONT_PT = 6.0
#: Space kept between neighbouring tick labels or lap labels (points).
_LABEL_GAP_PT = 6.0
#: Legend columns of every figure legend.
_LEGEND_COLUMNS = 5
#: At most one y tick per this many points of axes height.
_YTICK_SPACING_PT = 16.0


def _style() -> AbstractContextManager[Any]:
    """The rc context every figure is built and rendered in (imports matplotlib on first use)."""
    import matplotlib as mpl

    return mpl.rc_context(_RC)


def _rc(key: str) -> Any:
    import matplotlib as mpl

    return mpl.rcParams[key]


def _text_width_pt(texts: Sequence[str], size_pt: float) -> float:
    """Width (points) of the widest of ``texts`` set in the default font at ``size_pt``."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(size=size_pt)
    return max((text_to_path.get_text_width_height_descent(t, prop, ismath=False)[0]
                for t in texts if t), default=0.0)


def _font_pt() -> float:
    return float(_rc("font.size"))


def _tick_space_pt(axis: str) -> float:
    """Tick mark plus the gap to its label (points)."""
    return float(_rc(f"{axis}tick.major.size")) + float(_rc(f"{axis}tick.major.pad"))


def _xtick_rows_pt() -> float:
    """Height below an axes taken by the x tick marks and one row of tick labels (points)."""
    return _tick_space_pt("x") + _LINE * _font_pt()


def _axis_label_pt() -> float:
    """Room for an axis label beside its tick labels: label pad plus one text line (points)."""
    return float(_rc("axes.labelpad")) + _LINE * _font_pt()


def _title_pt(size_pt: float) -> float:
    """Height above an axes taken by a one-line title (points)."""
    return float(_rc("axes.titlepad")) + _LINE * size_pt


def _legend_pt(n_rows: int) -> float:
    """Height of a frameless figure legend of ``n_rows`` rows at the top edge (points)."""
    if n_rows <= 0:
        return 0.0
    em = _LEGEND_FONT_PT
    pads = float(_rc("legend.borderaxespad")) + 2 * float(_rc("legend.borderpad"))
    spacing = float(_rc("legend.labelspacing"))
    return em * (pads + _LINE * n_rows + spacing * (n_rows - 1))


def _new_grid(
    width_in: float, height_in: float, nrows: int, ncols: int, *, top_pt: float,
    bottom_pt: float, vgap_pt: float, sharex: bool = False,
) -> tuple[Figure, GridSpec, np.ndarray]:
    """A figure with an ``nrows`` x ``ncols`` grid of axes and fixed vertical margins.

    The left margin and the column gaps are provisional until ``_fit_columns``, which sets them
    from the tick labels once the data are drawn (the y ticks depend on the axes height only).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    gs = fig.add_gridspec(nrows, ncols, left=0.1, right=0.99, wspace=0.2)
    axes = gs.subplots(sharex=sharex, squeeze=False)
    _set_rows(fig, gs, top_pt=top_pt, bottom_pt=bottom_pt, vgap_pt=vgap_pt)
    return fig, gs, axes


def _update_grid(fig: Figure, gs: GridSpec, **params: float) -> None:
    """Change the grid's margins or gaps and move its axes there."""
    gs.update(**params)
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is not None and spec.get_gridspec() is gs:
            ax.set_position(spec.get_position(fig))


def _set_rows(fig: Figure, gs: GridSpec, *, top_pt: float, bottom_pt: float,
              vgap_pt: float) -> None:
    """Fixed top and bottom margins and row gaps; y ticks as dense as the axes height allows."""
    from matplotlib.ticker import MaxNLocator

    nrows = gs.nrows
    h_pt = fig.get_figheight() * _PT_PER_IN
    axes_h_pt = (h_pt - top_pt - bottom_pt - (nrows - 1) * vgap_pt) / nrows
    _update_grid(fig, gs, top=1.0 - top_pt / h_pt, bottom=bottom_pt / h_pt,
                 hspace=vgap_pt / axes_h_pt)
    nbins = int(np.clip(axes_h_pt // _YTICK_SPACING_PT, 1, 9))
    for ax in fig.axes:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))


def _ytick_labels(ax: Axes) -> list[str]:
    """The y tick labels ``ax`` will draw, as the axis itself computes them."""
    lo, hi = sorted(ax.get_ylim())
    locs = np.asarray(ax.yaxis.get_major_locator()(), dtype=float)
    labels = ax.yaxis.get_major_formatter().format_ticks(locs)
    tol = 1e-9 * max(hi - lo, 1e-300)
    return [lab for loc, lab in zip(locs, labels, strict=True) if lo - tol <= loc <= hi + tol]


def _fit_columns(fig: Figure, gs: GridSpec, axes: np.ndarray, *, ylabels: bool) -> float:
    """Set the left margin and column gaps from the widest y tick label; align the y labels.

    Returns
    -------
    float
        Width of one axes (points).
    """
    shown = [ax for ax in axes.flat if ax.get_visible()]
    tick_pt = _tick_space_pt("y") + _text_width_pt(
        [lab for ax in shown for lab in _ytick_labels(ax)], _font_pt())
    label_pt = _axis_label_pt() if ylabels else 0.0
    ncols = axes.shape[1]
    w_pt = fig.get_figwidth() * _PT_PER_IN
    left_pt = _EDGE_PT + label_pt + tick_pt
    gap_pt = tick_pt + label_pt + 2 * _EDGE_PT
    right_pt = 2 * _EDGE_PT
    axes_w_pt = (w_pt - left_pt - right_pt - (ncols - 1) * gap_pt) / ncols
    _update_grid(fig, gs, left=left_pt / w_pt, right=1.0 - right_pt / w_pt,
                 wspace=gap_pt / axes_w_pt)
    if ylabels:
        # the label's outer edge sits label pad + tick labels left of the axes, in every panel
        x = -(tick_pt + float(_rc("axes.labelpad"))) / axes_w_pt
        for ax in shown:
            ax.yaxis.set_label_coords(x, 0.5)
    return axes_w_pt


def _thinned_ticks(ax: Axes, x: np.ndarray, labels: Sequence[str], axes_w_pt: float) -> None:
    """Put ``labels`` at ``x`` as x ticks, every k-th only, k the smallest that avoids overlap."""
    if len(x) == 0:
        ax.set_xticks([])
        return
    lo, hi = sorted(ax.get_xlim())
    span = max(hi - lo, 1e-12)
    spacing_pt = (np.min(np.diff(x)) if len(x) > 1 else span) / span * axes_w_pt
    need_pt = _text_width_pt(labels, _font_pt()) + _LABEL_GAP_PT
    step = max(1, math.ceil(need_pt / max(spacing_pt, 1e-9)))
    ax.set_xticks(np.asarray(x)[::step], list(labels)[::step])


def _figure_legend(fig: Figure, handles: list, labels: list[str]) -> None:
    """A frameless legend in the top right corner of the figure (above the top axes)."""
    if handles:
        fig.legend(handles, labels, loc="upper right", ncols=_LEGEND_COLUMNS, frameon=False,
                   fontsize=_LEGEND_FONT_PT)


def _to_svg(fig: Figure, salt: str) -> str:
    """Render ``fig`` to SVG markup without the XML prolog, scalable to its container width."""
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, dpi=150)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # Coordinates in points: two decimals are far below a pixel and halve the markup.
    svg = _LONG_DECIMALS.sub(r"\1", svg)
    # Let CSS size the plot: drop the fixed width/height (the viewBox keeps the aspect ratio).
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    return svg.replace("<svg", '<svg class="plot-svg" role="img"', 1)


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
    with _style():
        top_pt = _legend_pt(1) + _EDGE_PT
        bottom_pt = _xtick_rows_pt() + _axis_label_pt() + _EDGE_PT
        fig, gs, grid = _new_grid(9.0, 1.45 * n + 0.45, n, 1, top_pt=top_pt,
                                  bottom_pt=bottom_pt, vgap_pt=2 * _EDGE_PT, sharex=True)
        axes = grid[:, 0]
        t_all = pd.to_numeric(strides["start_s"], errors="coerce").to_numpy(dtype=float) / 60.0
        sides = (strides["side"].astype(str).to_numpy() if "side" in strides
                 else np.full(len(strides), "unknown"))
        masks = {side: sides == side for side in (LEFT, RIGHT, "unknown")}
        for ax, (column, ylabel, scale) in zip(axes, panels, strict=False):
            y_all = pd.to_numeric(strides[column], errors="coerce").to_numpy(dtype=float) * scale
            for side, sel in masks.items():
                _stride_series(ax, t_all[sel], y_all[sel], SIDE_COLOURS[side], side)
            _lap_lines(ax, lap_x)
            if cue_x.size:
                ax.plot(cue_x, np.full(cue_x.shape, 0.97), "v", color=CUE_COLOUR, markersize=4,
                        transform=ax.get_xaxis_transform(), label="cue", markeredgewidth=0)
            ax.set_ylabel(ylabel)
        axes[-1].set_xlabel("session time (min)")
        handles: dict[str, Any] = {}
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
        _figure_legend(fig, list(handles.values()), list(handles))
        axes_w_pt = _fit_columns(fig, gs, grid, ylabels=True)
        _lap_labels(axes[-1], lap_x, lap_no, axes_w_pt)
        return _to_svg(fig, plot_id)


def _stride_series(ax: Axes, t: np.ndarray, y: np.ndarray, colour: str, side: str) -> None:
    """One side's strides: dots and a running median, or the binned median and IQR band."""
    ok = np.isfinite(y)
    if not ok.any():
        return
    if ok.sum() > MAX_POINTS:
        c, med, q25, q75 = binned_series(t, y)
        ax.fill_between(c, q25, q75, color=colour, alpha=0.25, linewidth=0)
        ax.plot(c, med, color=colour, linewidth=1.1, label=f"{side} (median, IQR)")
        return
    # points as one embedded bitmap: hundreds of SVG markers would bloat the page
    ax.plot(t[ok], y[ok], "o", color=colour, markersize=2.2, alpha=0.6, label=side,
            markeredgewidth=0, rasterized=True)
    if ok.sum() >= 15:
        smooth = pd.Series(y[ok]).rolling(15, center=True, min_periods=5).median()
        ax.plot(t[ok], smooth.to_numpy(), color=colour, linewidth=1.2)


def _lap_starts_min(laps: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Lap start times (min) and lap numbers of a laps table (empty when there are none)."""
    if laps is None or laps.empty or "start_s" not in laps:
        return np.empty(0), np.empty(0, dtype=int)
    x = pd.to_numeric(laps["start_s"], errors="coerce").to_numpy(dtype=float) / 60.0
    return x, laps["lap"].astype(int).to_numpy()


def _lap_lines(ax: Axes, lap_x: np.ndarray) -> None:
    """Dotted full-height lines at the lap starts: one artist; they widen the time axis."""
    if lap_x.size == 0:
        return
    from matplotlib.collections import LineCollection

    segments = np.stack([np.column_stack([lap_x, np.zeros_like(lap_x)]),
                         np.column_stack([lap_x, np.ones_like(lap_x)])], axis=1)
    ax.add_collection(LineCollection(segments, colors=LAP_LINE_COLOUR, linestyles=":",
                                     linewidths=0.8, transform=ax.get_xaxis_transform()),
                      autolim=False)
    ax.update_datalim(np.column_stack([lap_x, np.zeros_like(lap_x)]), updatey=False)
    ax.autoscale(axis="x")


def _lap_labels(ax: Axes, lap_x: np.ndarray, lap_no: np.ndarray, axes_w_pt: float) -> None:
    """``lap N`` at the foot of the lap lines, skipping a label where it would overlap the last."""
    if lap_x.size == 0:
        return
    from matplotlib.transforms import offset_copy

    lo, hi = ax.get_xlim()
    width_pt = _text_width_pt([f"lap {k}" for k in lap_no], _LAP_FONT_PT) + _LABEL_GAP_PT
    at = offset_copy(ax.get_xaxis_transform(), fig=ax.figure, x=2, y=2, units="points")
    free_from_pt = -np.inf
    for x, k in zip(lap_x, lap_no, strict=True):
        x_pt = (x - lo) / (hi - lo) * axes_w_pt
        if not np.isfinite(x_pt) or x_pt < free_from_pt:
            continue
        ax.text(x, 0, f"lap {k}", transform=at, fontsize=_LAP_FONT_PT, color=LAP_LABEL_COLOUR)
        free_from_pt = x_pt + width_pt


def _bars(ax: Axes, x: np.ndarray, height: np.ndarray, width: float, err: np.ndarray,
          colour: str, label: str) -> None:
    """Bars from 0 with error whiskers, all bars one path (bars with a NaN height are left out)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    ok = np.isfinite(height)
    x0, x1, h = x[ok] - width / 2, x[ok] + width / 2, height[ok]
    zero = np.zeros_like(h)
    polys = np.stack([np.column_stack(p) for p in ((x0, zero), (x0, h), (x1, h), (x1, zero))],
                     axis=1)
    patch = PathPatch(Path.make_compound_path_from_polys(polys) if len(polys) else
                      Path(np.empty((0, 2))), facecolor=colour, edgecolor="none", label=label)
    patch.sticky_edges.y.append(0.0)
    ax.add_patch(patch)
    ax.errorbar(x, height, yerr=err, fmt="none", ecolor="k", elinewidth=0.8, capsize=2,
                label="_nolegend_")


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
    with _style():
        title_pt = _title_pt(_TITLE_FONT_PT)
        top_pt = _legend_pt(1) + title_pt
        fig, gs, axes = _new_grid(9.0, 1.9 * nrows + 0.3, nrows, ncols, top_pt=top_pt,
                                  bottom_pt=_xtick_rows_pt() + _EDGE_PT,
                                  vgap_pt=_xtick_rows_pt() + title_pt + _EDGE_PT)
        for ax in axes.flat[len(panels):]:
            ax.set_visible(False)
        ticks = []
        for ax, (column, title) in zip(axes.flat, panels, strict=False):
            sub = table[(table["measure"] == column) & (table["lap"] >= 1)]
            laps = sorted(sub["lap"].unique())
            x = np.arange(len(laps), dtype=float)
            sides = [s for s in (LEFT, RIGHT) if (sub["side"] == s).any()] or ["both"]
            width = 0.8 / len(sides)
            for i, side in enumerate(sides):
                s = sub[sub["side"] == side].set_index("lap").reindex(laps)
                _bars(ax, x + (i - (len(sides) - 1) / 2) * width,
                      s["mean"].to_numpy(dtype=float), width,
                      s["sd"].fillna(0).to_numpy(dtype=float), SIDE_COLOURS[side], side)
            ax.set_title(title, fontsize=_TITLE_FONT_PT)
            ticks.append((ax, x, [f"lap {lap}" for lap in laps]))
        handles, labels = axes.flat[0].get_legend_handles_labels() if panels else ([], [])
        _figure_legend(fig, handles, labels)
        axes_w_pt = _fit_columns(fig, gs, axes, ylabels=False)
        for ax, x, lap_labels in ticks:
            _thinned_ticks(ax, x, lap_labels, axes_w_pt)
        return _to_svg(fig, plot_id)


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
    with _style():
        bottom_pt = _xtick_rows_pt() + _EDGE_PT
        # the legend has at most six entries: room for two rows, set exactly below
        fig, gs, grid = _new_grid(9.0, 2.2, 1, 1, top_pt=_legend_pt(2), bottom_pt=bottom_pt,
                                  vgap_pt=0.0)
        ax = grid[0, 0]
        x = np.arange(len(trend), dtype=float)
        y = trend["mean"].to_numpy(dtype=float)
        sd = trend["sd"].to_numpy(dtype=float)
        if np.isfinite(baseline_mean) and np.isfinite(src):
            ax.axhspan(baseline_mean - src, baseline_mean + src, color="#bbbbbb", alpha=0.35,
                       linewidth=0, label="baseline +- SRC")
            ax.axhline(baseline_mean, color="#777777", linewidth=0.8)
        ax.errorbar(x, y, yerr=np.nan_to_num(sd), color="#444444", marker="o", markersize=3,
                    linewidth=1.0, elinewidth=0.6, capsize=2, label="session mean +- SD")
        if "beyond_src" in trend:
            neutral = trend["beyond_src"].fillna(False).astype(bool).to_numpy().copy()
            for flag in ("improved", "worse"):
                if flag in trend:
                    neutral &= ~trend[flag].fillna(False).astype(bool).to_numpy()
            if neutral.any():
                ax.plot(x[neutral], y[neutral], "o", markerfacecolor="none", color="#222222",
                        markersize=7, linestyle="none", label="changed beyond SRC")
        for flag, colour, marker, label in (("improved", GOOD_COLOUR, "o", "better beyond SRC"),
                                            ("worse", BAD_COLOUR, "o", "worse beyond SRC"),
                                            ("setback", BAD_COLOUR, "X", "setback vs previous")):
            if flag in trend:
                sel = trend[flag].fillna(False).astype(bool).to_numpy()
                if sel.any():
                    ax.plot(x[sel], y[sel], marker, color=colour,
                            markersize=7 if flag == "setback" else 6, linestyle="none",
                            label=label, markeredgewidth=0)
        ax.set_ylabel(ylabel)
        handles, labels = ax.get_legend_handles_labels()
        top_pt = max(_legend_pt(math.ceil(len(handles) / _LEGEND_COLUMNS)), _EDGE_PT)
        _set_rows(fig, gs, top_pt=top_pt, bottom_pt=bottom_pt, vgap_pt=0.0)
        _figure_legend(fig, handles, labels)
        axes_w_pt = _fit_columns(fig, gs, grid, ylabels=True)
        dates = pd.to_datetime(trend["started_at"], errors="coerce", utc=True)
        _thinned_ticks(ax, x, [d.strftime("%d %b") if not pd.isna(d) else str(i)
                               for i, d in enumerate(dates)], axes_w_pt)
        return _to_svg(fig, plot_id)
