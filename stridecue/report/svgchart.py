"""A small SVG chart canvas for the report figures: panels with linear axes, written directly.

The report draws three kinds of figure (per-stride timelines, per-lap bars, trends across
sessions) made of a few simple marks: lines, bands, dots, markers, bars, whiskers, dotted
lines, text. As matplotlib artists, laid out and rendered by matplotlib, the six figures of a
one-hour session took 0.85 CPU s (2.5 s with constrained layout) plus 0.25 s to import it; this
module writes the same marks as SVG paths (one path per series) in about 0.1 s. It takes from
matplotlib only what is cheap and what makes the figures look as before: tick positions
(``MaxNLocator``), tick labels (``ScalarFormatter``) and the metrics of its default font
(DejaVu Sans), so limits, ticks, labels and margins come out as a matplotlib axis would draw
them (``tests/test_svgchart.py`` checks it against matplotlib).

Usage: ``Chart.grid`` gives panels (``Axes``); marks are added to them in data units; ``Chart.
layout`` sets the limits (data range plus 5 % margins, as matplotlib's autoscale), the ticks and
the left margin from the widest tick label; ``Chart.svg`` writes the markup. Coordinates are in
points (1/72 in) from the top left corner, the SVG's viewBox unit.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Text of every figure: matplotlib's default font first, so that the metrics below hold.
FONT_FAMILY = ("'DejaVu Sans', 'Bitstream Vera Sans', 'Lucida Grande', Verdana, Geneva, "
               "Arial, Helvetica, sans-serif")
#: Size of tick labels and axis labels (points), matplotlib's default font size.
TEXT_PT = 10.0
#: Line height of one row of text, in multiples of the font size.
LINE = 1.2
#: Tick mark length, gap from tick to label, gap from tick labels to axis label (points).
TICK_PT = 3.5
TICK_PAD_PT = 3.5
LABEL_PAD_PT = 4.0
#: Gap between a panel's top and its title's baseline (points).
TITLE_PAD_PT = 6.0
#: Width of the panel frame and the tick marks (points).
FRAME_PT = 0.8
#: Data range added on each side of the limits, as a fraction of the range.
MARGIN = 0.05
#: At most one y tick per this many points of panel height, one x tick per this many of width.
YTICK_SPACING_PT = 16.0
XTICK_SPACING_PT = 30.0
#: Legend: font size and spacing in multiples of it (matplotlib's defaults).
LEGEND_PT = 7.0
_LEGEND_HANDLE, _LEGEND_HANDLE_H, _LEGEND_TEXT_PAD = 2.0, 0.7, 0.8
_LEGEND_COLUMN_GAP, _LEGEND_BORDER, _LEGEND_EDGE, _LEGEND_ROW_GAP = 2.0, 0.4, 0.5, 0.5
#: Where text sits on its baseline, in multiples of the font size: the height of digits and
#: capitals (for centring and top alignment) and the descent below the baseline.
_CAP = 0.73
_DESCENT = 0.24


@functools.lru_cache(maxsize=4096)
def text_width_pt(text: str, size_pt: float) -> float:
    """Width of ``text`` set in DejaVu Sans at ``size_pt`` (points), by matplotlib's metrics."""
    if not text:
        return 0.0
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(family="DejaVu Sans", size=size_pt)
    return float(text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0])


def legend_height_pt(n_rows: int) -> float:
    """Height a figure legend of ``n_rows`` rows takes at the top edge (points)."""
    if n_rows <= 0:
        return 0.0
    em = LEGEND_PT
    return em * (_LEGEND_EDGE + 2 * _LEGEND_BORDER + LINE * n_rows
                 + _LEGEND_ROW_GAP * (n_rows - 1))


def _f(v: float) -> str:
    """A coordinate with two decimals: far below a pixel, and short markup."""
    return f"{v:.2f}"


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def _polyline(x: np.ndarray, y: np.ndarray) -> str:
    """Path data through the points, broken where a coordinate is not finite."""
    out, pen_down = [], False
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if math.isfinite(xi) and math.isfinite(yi):
            out.append(f"{'L' if pen_down else 'M'}{_f(xi)} {_f(yi)}")
            pen_down = True
        else:
            pen_down = False
    return "".join(out)


def nonsingular(lo: float, hi: float) -> tuple[float, float]:
    """Widen an empty or zero-width range as matplotlib's locators do."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator().nonsingular(lo, hi)


def autoscale(values: Sequence[np.ndarray], sticky: Sequence[float] = ()) -> tuple[float, float]:
    """Limits of one axis from its data: the finite range plus ``MARGIN`` on each side.

    As matplotlib's autoscale: no data gives (0, 1); a zero-width range is widened; a margin
    stops at a sticky value (bars stand on 0) that it would otherwise cross.
    """
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return 0.0, 1.0
    lo = float(min(v.min() for v in finite))
    hi = float(max(v.max() for v in finite))
    lo, hi = nonsingular(lo, hi)
    stickies = np.sort(np.asarray(sticky, dtype=float))
    tol = 1e-5 * abs(hi - lo)
    i0 = int(np.searchsorted(stickies, lo + tol)) - 1
    i1 = int(np.searchsorted(stickies, hi - tol))
    delta = (hi - lo) * MARGIN
    new_lo, new_hi = lo - delta, hi + delta
    if i0 != -1:
        new_lo = max(new_lo, float(stickies[i0]))
    if i1 != len(stickies):
        new_hi = min(new_hi, float(stickies[i1]))
    return new_lo, new_hi


def ticks(lo: float, hi: float, nbins: int) -> tuple[np.ndarray, list[str]]:
    """Tick positions within [lo, hi] and their labels, as a matplotlib axis would draw them.

    ``MaxNLocator`` with matplotlib's default steps; ``ScalarFormatter`` without offset or
    scientific notation (plain numbers, with a true minus sign).
    """
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    locs = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(False)
    fmt.create_dummy_axis()
    fmt.axis.set_view_interval(lo, hi)
    labels = fmt.format_ticks(locs)
    tol = 1e-10 * abs(hi - lo)
    keep = (locs >= min(lo, hi) - tol) & (locs <= max(lo, hi) + tol)
    return locs[keep], [lab for lab, k in zip(labels, keep, strict=True) if k]


# --- marks --------------------------------------------------------------------------------------


def marker_path(marker: str, x: np.ndarray, y: np.ndarray, size_pt: float) -> str:
    """Path data of one marker (``o`` circle, ``v`` triangle down, ``X`` filled x) per point.

    Shapes and sizes as matplotlib's markers of the same name and ``markersize``.
    """
    r = size_pt / 2.0
    parts = []
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if not (math.isfinite(xi) and math.isfinite(yi)):
            continue
        if marker == "o":
            parts.append(f"M{_f(xi - r)} {_f(yi)}a{_f(r)} {_f(r)} 0 1 0 {_f(2 * r)} 0"
                         f"a{_f(r)} {_f(r)} 0 1 0 {_f(-2 * r)} 0z")
        elif marker == "v":
            parts.append(f"M{_f(xi)} {_f(yi + r)}L{_f(xi - r)} {_f(yi - r)}"
                         f"L{_f(xi + r)} {_f(yi - r)}z")
        elif marker == "X":
            s = size_pt / 4.0
            pts = ((-1, -2), (0, -1), (1, -2), (2, -1), (1, 0), (2, 1), (1, 2), (0, 1),
                   (-1, 2), (-2, 1), (-1, 0), (-2, -1))
            parts.append("M" + "L".join(f"{_f(xi + s * px)} {_f(yi + s * py)}"
                                        for px, py in pts) + "z")
        else:
            raise ValueError(f"unknown marker {marker!r}")
    return "".join(parts)


@dataclass(frozen=True)
class Handle:
    """How a legend entry is drawn: ``kind`` line | marker | patch | errorbar."""

    kind: str
    colour: str
    width: float = 1.0
    marker: str = "o"
    size: float = 0.0
    alpha: float = 1.0
    face: str | None = None


@dataclass
class Axes:
    """One panel. Marks are recorded in data units; they are drawn once the limits are known.

    Attributes
    ----------
    x_pt, y_pt, w_pt, h_pt
        Placement in the figure (points from the top left), set by ``Chart.layout``.
    xlim, ylim
        Data limits, set by ``Chart.layout`` unless given.
    xticks
        ``(positions, labels)`` to use instead of automatic x ticks.
    """

    x_pt: float = 0.0
    y_pt: float = 0.0
    w_pt: float = 0.0
    h_pt: float = 0.0
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    xticks: tuple[np.ndarray, list[str]] | None = None
    xticklabels: bool = True
    ylabel: str = ""
    xlabel: str = ""
    title: str = ""
    title_pt: float = 8.0
    visible: bool = True
    xdata: list[np.ndarray] = field(default_factory=list)
    ydata: list[np.ndarray] = field(default_factory=list)
    ysticky: list[float] = field(default_factory=list)
    legend: list[tuple[str, Handle]] = field(default_factory=list)
    _marks: list[Callable[[Axes], str]] = field(default_factory=list)
    _labels: list[Callable[[Axes], str]] = field(default_factory=list)

    # -- data to figure points -----------------------------------------------------------------

    def px(self, x: np.ndarray | float) -> np.ndarray:
        """x in data units -> figure points."""
        lo, hi = self.xlim
        return self.x_pt + (np.asarray(x, dtype=float) - lo) / (hi - lo) * self.w_pt

    def py(self, y: np.ndarray | float) -> np.ndarray:
        """y in data units -> figure points (downwards)."""
        lo, hi = self.ylim
        return self.y_pt + self.h_pt - (np.asarray(y, dtype=float) - lo) / (hi - lo) * self.h_pt

    def _data(self, x: np.ndarray | None, y: np.ndarray | None) -> None:
        """Record data for the limits; of x, y pairs only the points finite in both count."""
        x = None if x is None else np.asarray(x, dtype=float).ravel()
        y = None if y is None else np.asarray(y, dtype=float).ravel()
        if x is not None and y is not None:
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
        if x is not None:
            self.xdata.append(x)
        if y is not None:
            self.ydata.append(y)

    def _label(self, label: str | None, handle: Handle) -> None:
        if label:
            self.legend.append((label, handle))

    # -- marks ---------------------------------------------------------------------------------

    def line(self, x: np.ndarray, y: np.ndarray, *, colour: str, width: float,
             label: str | None = None) -> None:
        """A line through the points, broken at NaN."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self._data(x, y)
        self._label(label, Handle("line", colour, width))
        self._marks.append(lambda ax: (
            f'<path d="{_polyline(ax.px(x), ax.py(y))}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}" stroke-linejoin="round" stroke-linecap="square"/>'))

    def band(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, colour: str,
             alpha: float) -> None:
        """The area between two curves over the same x."""
        x, lo, hi = (np.asarray(v, dtype=float) for v in (x, lo, hi))
        self._data(np.concatenate([x, x]), np.concatenate([lo, hi]))
        self._marks.append(lambda ax: (
            f'<path d="{_polyline(ax.px(np.concatenate([x, x[::-1]])), ax.py(np.concatenate([hi, lo[::-1]])))}z" '  # noqa: E501
            f'fill="{colour}" fill-opacity="{alpha}"/>') if x.size else "")

    def dots(self, x: np.ndarray, y: np.ndarray, *, colour: str, size: float, alpha: float,
             label: str | None = None) -> None:
        """Round dots of diameter ``size`` (points): one path, each dot a zero-length stroke."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self._data(x, y)
        self._label(label, Handle("marker", colour, width=0.0, marker="o", size=size,
                                  alpha=alpha))

        def draw(ax: Axes) -> str:
            ok = np.isfinite(x) & np.isfinite(y)
            d = "".join(f"M{_f(a)} {_f(b)}h0" for a, b in
                        zip(ax.px(x[ok]).tolist(), ax.py(y[ok]).tolist(), strict=True))
            return (f'<path d="{d}" fill="none" stroke="{colour}" stroke-opacity="{alpha}" '
                    f'stroke-width="{size}" stroke-linecap="round"/>')
        self._marks.append(draw)

    def markers(self, x: np.ndarray, y: np.ndarray, *, marker: str, size: float, colour: str,
                face: str | None = None, edge_width: float = 0.0, y_in_axes: bool = False,
                label: str | None = None) -> None:
        """Markers at the points; ``y_in_axes``: y is a fraction of the panel height.

        ``face`` None fills with ``colour``, ``"none"`` leaves the marker open; ``edge_width``
        outlines it in ``colour``.
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self._data(x, None if y_in_axes else y)
        fill = colour if face is None else face
        self._label(label, Handle("marker", colour, width=edge_width, marker=marker, size=size,
                                  face=fill))

        def draw(ax: Axes) -> str:
            yy = ax.y_pt + ax.h_pt * (1.0 - y) if y_in_axes else ax.py(y)
            edge = (f' stroke="{colour}" stroke-width="{edge_width}"' if edge_width > 0
                    else "")
            return f'<path d="{marker_path(marker, ax.px(x), yy, size)}" fill="{fill}"{edge}/>'
        self._marks.append(draw)

    def vlines(self, x: np.ndarray, *, colour: str, width: float, dotted: bool = False) -> None:
        """Full-height vertical lines at x (they widen the x limits, not the y limits)."""
        x = np.asarray(x, dtype=float)
        self._data(x, None)
        dash = f' stroke-dasharray="{_f(width)} {_f(1.65 * width)}"' if dotted else ""

        def draw(ax: Axes) -> str:
            top, bottom = _f(ax.y_pt), _f(ax.y_pt + ax.h_pt)
            d = "".join(f"M{_f(a)} {top}V{bottom}" for a in ax.px(x[np.isfinite(x)]).tolist())
            return f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"{dash}/>'
        self._marks.append(draw)

    def bars(self, x: np.ndarray, height: np.ndarray, *, width: float, colour: str,
             label: str | None = None) -> None:
        """Bars from 0 to ``height`` centred on x, one path (NaN heights are left out)."""
        x, height = np.asarray(x, dtype=float), np.asarray(height, dtype=float)
        ok = np.isfinite(x) & np.isfinite(height)
        self._data(np.concatenate([x[ok] - width / 2, x[ok] + width / 2]),
                   np.concatenate([np.zeros(int(ok.sum())), height[ok]]))
        self.ysticky.append(0.0)
        self._label(label, Handle("patch", colour))

        def draw(ax: Axes) -> str:
            x0, x1 = ax.px(x[ok] - width / 2), ax.px(x[ok] + width / 2)
            y0, y1 = ax.py(np.zeros(int(ok.sum()))), ax.py(height[ok])
            d = "".join(f"M{_f(a)} {_f(b)}H{_f(c)}V{_f(e)}H{_f(a)}z" for a, b, c, e in
                        zip(x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist(), strict=True))
            return f'<path d="{d}" fill="{colour}"/>'
        self._marks.append(draw)

    def errorbars(self, x: np.ndarray, y: np.ndarray, err: np.ndarray, *, colour: str,
                  width: float, capsize: float, cap_width: float = 1.0) -> None:
        """Whiskers ``y +- err`` with caps ``2 * capsize`` wide (points), as matplotlib's."""
        x, y, err = (np.asarray(v, dtype=float) for v in (x, y, err))
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(err)
        self._data(np.concatenate([x[ok], x[ok]]),
                   np.concatenate([y[ok] - err[ok], y[ok] + err[ok]]))

        def draw(ax: Axes) -> str:
            xs = ax.px(x[ok]).tolist()
            lo, hi = ax.py(y[ok] - err[ok]).tolist(), ax.py(y[ok] + err[ok]).tolist()
            whiskers = "".join(f"M{_f(a)} {_f(b)}V{_f(c)}" for a, b, c in
                               zip(xs, lo, hi, strict=True))
            caps = "".join(f"M{_f(a - capsize)} {_f(b)}h{_f(2 * capsize)}" for a, b in
                           zip(xs + xs, lo + hi, strict=True))
            return (f'<path d="{whiskers}" fill="none" stroke="{colour}" '
                    f'stroke-width="{width}"/><path d="{caps}" fill="none" stroke="{colour}" '
                    f'stroke-width="{cap_width}"/>')
        self._marks.append(draw)

    def hspan(self, y0: float, y1: float, *, colour: str, alpha: float,
              label: str | None = None) -> None:
        """A full-width horizontal band between y0 and y1."""
        self._data(None, np.array([y0, y1]))
        self._label(label, Handle("patch", colour, alpha=alpha))
        self._marks.append(lambda ax: (
            f'<rect x="{_f(ax.x_pt)}" y="{_f(float(ax.py(y1)))}" width="{_f(ax.w_pt)}" '
            f'height="{_f(float(ax.py(y0) - ax.py(y1)))}" fill="{colour}" '
            f'fill-opacity="{alpha}"/>'))

    def hline(self, y: float, *, colour: str, width: float) -> None:
        """A full-width horizontal line at y."""
        self._data(None, np.array([y]))
        self._marks.append(lambda ax: (
            f'<path d="M{_f(ax.x_pt)} {_f(float(ax.py(y)))}h{_f(ax.w_pt)}" stroke="{colour}" '
            f'stroke-width="{width}"/>'))

    def note(self, x: float, text: str, *, size: float, colour: str, dx_pt: float = 2.0,
             dy_pt: float = 2.0) -> None:
        """Small text at x (data), its baseline ``dy_pt`` above the panel's bottom edge."""
        self._labels.append(lambda ax: (
            f'<text x="{_f(float(ax.px(x)) + dx_pt)}" y="{_f(ax.y_pt + ax.h_pt - dy_pt)}" '
            f'font-size="{size}" fill="{colour}">{_esc(text)}</text>'))


@dataclass
class Chart:
    """A figure of ``nrows`` x ``ncols`` panels with fixed margins (points).

    ``top_pt``, ``bottom_pt`` and ``vgap_pt`` are given; the left margin and the gap between
    columns follow from the widest y tick label (``layout``).
    """

    width_pt: float
    height_pt: float
    axes: np.ndarray
    top_pt: float
    bottom_pt: float
    vgap_pt: float
    sharex: bool = False
    right_pt: float = 8.0
    edge_pt: float = 4.0
    _yticks: dict[int, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    _tick_pt: float = 0.0

    @classmethod
    def grid(cls, width_in: float, height_in: float, nrows: int, ncols: int, *, top_pt: float,
             bottom_pt: float, vgap_pt: float, sharex: bool = False) -> Chart:
        """A chart of empty panels; with ``sharex`` the panels of a column share their x axis."""
        axes = np.empty((nrows, ncols), dtype=object)
        for i in range(nrows):
            for j in range(ncols):
                axes[i, j] = Axes(xticklabels=not sharex or i == nrows - 1)
        return cls(width_in * 72.0, height_in * 72.0, axes, top_pt, bottom_pt, vgap_pt, sharex)

    def visible_axes(self) -> list[Axes]:
        return [ax for ax in self.axes.flat if ax.visible]

    def legend_entries(self) -> list[tuple[str, Handle]]:
        """Labelled marks of all panels, first occurrence of each label, in order."""
        seen: dict[str, Handle] = {}
        for ax in self.axes.flat:
            for label, handle in ax.legend:
                seen.setdefault(label, handle)
        return list(seen.items())

    def layout(self, *, ylabels: bool) -> float:
        """Limits, ticks and placement of every panel; returns the panel width (points)."""
        nrows, ncols = self.axes.shape
        h_pt = (self.height_pt - self.top_pt - self.bottom_pt
                - (nrows - 1) * self.vgap_pt) / nrows
        for j in range(ncols):
            column = [ax for ax in self.axes[:, j] if ax.visible]
            shared = autoscale([v for ax in column for v in ax.xdata]) if self.sharex else None
            for ax in column:
                if ax.xlim is None:
                    ax.xlim = shared if shared is not None else autoscale(ax.xdata)
                if ax.ylim is None:
                    ax.ylim = autoscale(ax.ydata, ax.ysticky)
        nbins = int(np.clip(h_pt // YTICK_SPACING_PT, 1, 9))
        yticks = {id(ax): ticks(*ax.ylim, nbins) for ax in self.visible_axes()}
        tick_pt = TICK_PT + TICK_PAD_PT + max(
            (text_width_pt(lab, TEXT_PT) for t in yticks.values() for lab in t[1]), default=0.0)
        label_pt = LABEL_PAD_PT + LINE * TEXT_PT if ylabels else 0.0
        left_pt = self.edge_pt + label_pt + tick_pt
        gap_pt = tick_pt + label_pt + 2 * self.edge_pt
        w_pt = (self.width_pt - left_pt - self.right_pt - (ncols - 1) * gap_pt) / ncols
        for (i, j), ax in np.ndenumerate(self.axes):
            ax.x_pt = left_pt + j * (w_pt + gap_pt)
            ax.y_pt = self.top_pt + i * (h_pt + self.vgap_pt)
            ax.w_pt, ax.h_pt = w_pt, h_pt
        self._yticks = yticks
        self._tick_pt = tick_pt
        return w_pt

    # -- rendering -----------------------------------------------------------------------------

    def svg(self, salt: str) -> str:
        """The chart as SVG markup, scalable to its container width (CSS sizes it)."""
        out = [f'<svg class="plot-svg" role="img" xmlns="http://www.w3.org/2000/svg" '
               f'version="1.1" viewBox="0 0 {_f(self.width_pt)} {_f(self.height_pt)}" '
               f'style="font-family: {FONT_FAMILY}">',
               f'<rect width="{_f(self.width_pt)}" height="{_f(self.height_pt)}" '
               'fill="#ffffff"/>']
        for k, ax in enumerate(self.visible_axes()):
            clip = f"{_esc(salt)}-clip{k}"
            box = (f'x="{_f(ax.x_pt)}" y="{_f(ax.y_pt)}" width="{_f(ax.w_pt)}" '
                   f'height="{_f(ax.h_pt)}"')
            out.append(f'<clipPath id="{clip}"><rect {box}/></clipPath>'
                       f'<g clip-path="url(#{clip})">' + "".join(m(ax) for m in ax._marks)
                       + "</g>")
            out.append(f'<rect {box} fill="none" stroke="#000000" stroke-width="{FRAME_PT}"/>')
            out.append(self._axis_svg(ax))
            out.extend(lab(ax) for lab in ax._labels)
        out.append(self._legend_svg())
        out.append("</svg>")
        return "".join(out)

    def _axis_svg(self, ax: Axes) -> str:
        """Tick marks, tick labels, axis labels and title of one panel."""
        ylocs, ylabels = self._yticks[id(ax)]
        if ax.xticks is not None:
            xlocs, xlabels = ax.xticks
        else:
            xlocs, xlabels = ticks(*ax.xlim, int(np.clip(ax.w_pt // XTICK_SPACING_PT, 1, 9)))
        xlocs = np.asarray(xlocs, dtype=float)
        yy, xx = ax.py(ylocs).tolist(), ax.px(xlocs).tolist()
        bottom = ax.y_pt + ax.h_pt
        marks = ("".join(f"M{_f(ax.x_pt)} {_f(y)}h{_f(-TICK_PT)}" for y in yy)
                 + "".join(f"M{_f(x)} {_f(bottom)}v{_f(TICK_PT)}" for x in xx))
        out = [f'<path d="{marks}" stroke="#000000" stroke-width="{FRAME_PT}"/>'] if marks else []
        text = [f'<text x="{_f(ax.x_pt - TICK_PT - TICK_PAD_PT)}" '
                f'y="{_f(y + _CAP * TEXT_PT / 2)}">{_esc(lab)}</text>'
                for y, lab in zip(yy, ylabels, strict=True)]
        out.append(f'<g font-size="{TEXT_PT}" text-anchor="end">{"".join(text)}</g>')
        label_top = bottom + TICK_PT + TICK_PAD_PT
        if ax.xticklabels:
            text = [f'<text x="{_f(x)}" y="{_f(label_top + _CAP * TEXT_PT)}">{_esc(lab)}</text>'
                    for x, lab in zip(xx, xlabels, strict=True)]
            out.append(f'<g font-size="{TEXT_PT}" text-anchor="middle">{"".join(text)}</g>')
        if ax.xlabel:
            y = label_top + LINE * TEXT_PT + LABEL_PAD_PT + _CAP * TEXT_PT
            out.append(f'<text x="{_f(ax.x_pt + ax.w_pt / 2)}" y="{_f(y)}" '
                       f'font-size="{TEXT_PT}" text-anchor="middle">{_esc(ax.xlabel)}</text>')
        if ax.ylabel:
            x = ax.x_pt - self._tick_pt - LABEL_PAD_PT - _DESCENT * TEXT_PT
            y = ax.y_pt + ax.h_pt / 2
            out.append(f'<text x="{_f(x)}" y="{_f(y)}" transform="rotate(-90 {_f(x)} {_f(y)})" '
                       f'font-size="{TEXT_PT}" text-anchor="middle">{_esc(ax.ylabel)}</text>')
        if ax.title:
            out.append(f'<text x="{_f(ax.x_pt + ax.w_pt / 2)}" '
                       f'y="{_f(ax.y_pt - TITLE_PAD_PT)}" font-size="{ax.title_pt}" '
                       f'text-anchor="middle">{_esc(ax.title)}</text>')
        return "".join(out)

    def _legend_svg(self, ncols: int = 5) -> str:
        """A frameless legend in the top right corner, entries filled column by column."""
        entries = self.legend_entries()
        if not entries:
            return ""
        em = LEGEND_PT
        ncols = min(ncols, len(entries))
        nrows, n_large = divmod(len(entries), ncols)
        sizes = [nrows + 1] * n_large + [nrows] * (ncols - n_large)
        columns, start = [], 0
        for size in sizes:
            columns.append(entries[start:start + size])
            start += size
        handle_w, pad = _LEGEND_HANDLE * em, _LEGEND_TEXT_PAD * em
        widths = [max(handle_w + pad + text_width_pt(label, em) for label, _ in col)
                  for col in columns]
        total = sum(widths) + _LEGEND_COLUMN_GAP * em * (len(columns) - 1)
        x = self.width_pt - (_LEGEND_EDGE + _LEGEND_BORDER) * em - total
        top = (_LEGEND_EDGE + _LEGEND_BORDER) * em
        row_h = (LINE + _LEGEND_ROW_GAP) * em
        out = [f'<g font-size="{em}">']
        for col, col_w in zip(columns, widths, strict=True):
            for r, (label, handle) in enumerate(col):
                centre = top + r * row_h + LINE * em / 2
                out.append(_handle_svg(handle, x, centre, handle_w, _LEGEND_HANDLE_H * em))
                out.append(f'<text x="{_f(x + handle_w + pad)}" '
                           f'y="{_f(centre + _CAP * em / 2)}">{_esc(label)}</text>')
            x += col_w + _LEGEND_COLUMN_GAP * em
        out.append("</g>")
        return "".join(out)


def _handle_svg(h: Handle, x: float, centre: float, w: float, hh: float) -> str:
    """The legend symbol of one entry in the box [x, x + w] centred on ``centre``."""
    mid = np.array([x + w / 2])
    if h.kind == "line":
        return (f'<path d="M{_f(x)} {_f(centre)}h{_f(w)}" stroke="{h.colour}" '
                f'stroke-width="{h.width}"/>')
    if h.kind == "patch":
        return (f'<rect x="{_f(x)}" y="{_f(centre - hh / 2)}" width="{_f(w)}" '
                f'height="{_f(hh)}" fill="{h.colour}" fill-opacity="{h.alpha}"/>')
    if h.kind == "errorbar":
        cx, cap = x + w / 2, h.size / 2
        return (f'<path d="M{_f(x)} {_f(centre)}h{_f(w)}M{_f(cx)} {_f(centre - hh)}'
                f'v{_f(2 * hh)}M{_f(cx - cap)} {_f(centre - hh)}h{_f(2 * cap)}'
                f'M{_f(cx - cap)} {_f(centre + hh)}h{_f(2 * cap)}" stroke="{h.colour}" '
                f'stroke-width="{h.width}"/>'
                f'<path d="{marker_path("o", mid, np.array([centre]), h.size)}" '
                f'fill="{h.colour}"/>')
    edge = f' stroke="{h.colour}" stroke-width="{h.width}"' if h.width > 0 else ""
    fill = h.face or h.colour
    return (f'<path d="{marker_path(h.marker, mid, np.array([centre]), h.size)}" '
            f'fill="{fill}" fill-opacity="{h.alpha}"{edge}/>')
