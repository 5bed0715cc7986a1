"""Small inline-SVG plots for the stride and history reports (matplotlib, Agg-free SVG backend).

Every function returns the SVG markup as a string, ready to be inlined in HTML: no file is
written. Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot global state).
Left is always blue, right orange; per-stride series longer than ``MAX_POINTS`` per side are
summarised as a median line with an interquartile band over time bins, so an hour-long session
stays a few tens of kilobytes per plot.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from stridecue.constants import LEFT, RIGHT

#: Side colours used in every plot and in the HTML legend.
SIDE_COLOURS: dict[str, str] = {LEFT: "#1f77b4", RIGHT: "#ff7f0e", "both": "#555555",
                                "unknown": "#888888"}
CUE_COLOUR = "#d62728"
GOOD_COLOUR = "#2ca02c"
BAD_COLOUR = "#d62728"
#: Above this many strides per side a per-stride plot shows binned medians instead of points.
MAX_POINTS = 400
#: Number of time bins for the binned summary.
N_BINS = 200

_LONG_DECIMALS = re.compile(r"(\d\.\d{2})\d+")

_RC = {
    "svg.fonttype": "none",
    "font.size": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "path.simplify": True,
}


def _to_svg(fig: Figure, salt: str) -> str:
    """Render ``fig`` to SVG markup without the XML prolog, scalable to its container width."""
    FigureCanvasSVG(fig)
    buf = io.StringIO()
    with mpl.rc_context({**_RC, "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, dpi=150)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # Coordinates in points: two decimals are far below a pixel and halve the markup.
    svg = _LONG_DECIMALS.sub(r"\1", svg)
    # Let CSS size the plot: drop the fixed width/height (the viewBox keeps the aspect ratio).
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    return svg.replace("<svg", '<svg class="plot-svg" role="img"', 1)


def _new_figure(width_in: float, height_in: float) -> Figure:
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig


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
        Laps table (``lap``, ``start_s``): lap starts are drawn as dotted lines.
    cues
        Cues table (``time_s``): every cue is a red triangle at the top of each panel.

    Returns
    -------
    str
        SVG markup.
    """
    n = max(len(panels), 1)
    fig = _new_figure(9.0, 1.45 * n + 0.45)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    t_all = pd.to_numeric(strides["start_s"], errors="coerce").to_numpy(dtype=float) / 60.0
    sides = (strides["side"].astype(str).to_numpy() if "side" in strides
             else np.full(len(strides), "unknown"))
    masks = {side: sides == side for side in (LEFT, RIGHT, "unknown")}
    for ax, (column, ylabel, scale) in zip(axes, panels, strict=False):
        y_all = pd.to_numeric(strides[column], errors="coerce").to_numpy(dtype=float) * scale
        for side, sel in masks.items():
            t, y = t_all[sel], y_all[sel]
            ok = np.isfinite(y)
            if not ok.any():
                continue
            colour = SIDE_COLOURS[side]
            if ok.sum() > MAX_POINTS:
                c, med, q25, q75 = binned_series(t, y)
                ax.fill_between(c, q25, q75, color=colour, alpha=0.25, linewidth=0)
                ax.plot(c, med, color=colour, linewidth=1.1, label=f"{side} (median, IQR)")
            else:
                # points as one embedded bitmap: hundreds of SVG markers would bloat the page
                ax.plot(t[ok], y[ok], "o", color=colour, markersize=2.2, alpha=0.6,
                        label=side, markeredgewidth=0, rasterized=True)
                if ok.sum() >= 15:
                    smooth = pd.Series(y[ok]).rolling(15, center=True, min_periods=5).median()
                    ax.plot(t[ok], smooth.to_numpy(), color=colour, linewidth=1.2)
        _decorate_time_axis(ax, laps, cues)
        ax.set_ylabel(ylabel)
    axes[-1].set_xlabel("session time (min)")
    handles, labels = {}, []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    labels = list(handles)
    fig.legend([handles[k] for k in labels], labels, loc="outside upper right", ncols=5,
               frameon=False, fontsize=7)
    return _to_svg(fig, plot_id)


def _decorate_time_axis(ax, laps, cues) -> None:
    if laps is not None and not laps.empty and "start_s" in laps:
        for _, lap in laps.iterrows():
            x = float(lap["start_s"]) / 60.0
            ax.axvline(x, color="#999999", linestyle=":", linewidth=0.8)
            ax.annotate(f"lap {int(lap['lap'])}", (x, 0), xycoords=("data", "axes fraction"),
                        xytext=(2, 2), textcoords="offset points", fontsize=6, color="#666666")
    if cues is not None and not cues.empty and "time_s" in cues:
        c = cues
        if not c.empty:
            ct = pd.to_numeric(c["time_s"], errors="coerce").to_numpy(dtype=float) / 60.0
            ax.plot(ct, np.full(ct.shape, 0.97), "v", color=CUE_COLOUR, markersize=4,
                    transform=ax.get_xaxis_transform(), label="cue", markeredgewidth=0)


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
    """
    panels = [(c, t) for c, t in panels if (table["measure"] == c).any()]
    n = max(len(panels), 1)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    fig = _new_figure(9.0, 1.9 * nrows + 0.3)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (column, title) in zip(axes.flat, panels, strict=False):
        sub = table[(table["measure"] == column) & (table["lap"] >= 1)]
        laps = sorted(sub["lap"].unique())
        x = np.arange(len(laps))
        sides = [s for s in (LEFT, RIGHT) if (sub["side"] == s).any()] or ["both"]
        width = 0.8 / len(sides)
        for i, side in enumerate(sides):
            s = sub[sub["side"] == side].set_index("lap").reindex(laps)
            ax.bar(x + (i - (len(sides) - 1) / 2) * width, s["mean"], width,
                   yerr=s["sd"].fillna(0), color=SIDE_COLOURS[side], label=side,
                   error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_xticks(x, [f"lap {lap}" for lap in laps])
        ax.set_title(title, fontsize=8)
        ax.grid(axis="x", visible=False)
    if panels:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper right", ncols=2, frameon=False,
                   fontsize=7)
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
    fig = _new_figure(9.0, 2.2)
    ax = fig.add_subplot()
    x = np.arange(len(trend))
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
                ax.plot(x[sel], y[sel], marker, color=colour, markersize=7 if flag == "setback"
                        else 6, linestyle="none", label=label, markeredgewidth=0)
    labels = pd.to_datetime(trend["started_at"], errors="coerce", utc=True)
    ticks = [d.strftime("%d %b") if not pd.isna(d) else str(i) for i, d in enumerate(labels)]
    step = max(1, len(x) // 20)
    ax.set_xticks(x[::step], ticks[::step], rotation=0)
    ax.set_ylabel(ylabel)
    fig.legend(loc="outside upper right", fontsize=7, ncols=5, frameon=False)
    return _to_svg(fig, plot_id)
