"""The coach's stride report: one self-contained HTML file per session.

The page holds inline SVG plots (``stridecue.report.plots``), inline CSS and a few lines of
inline JavaScript of our own (an error catcher and table sorting); nothing is fetched from
anywhere, so the file opens offline in any browser. ``build_report_html`` is pure (returns the
markup); ``write_report`` writes it. Stable element ids (``summary-table``, ``laps-table``,
``findings-list``, ``plot-*``, ``lap-side-table``, ``cues-table``, ``mobility-table``,
``quality-table``, ``settings-table``) are part of the documented schema
(docs/report_schema.md).
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gait.result import AnalysisResult
from stridecue.errors import SessionError
from stridecue.report import findings as fnd
from stridecue.report import plots

log = logging.getLogger(__name__)

#: Per-stride plot groups: (element id, title, [(column, y label, scale)]).
STRIDE_PLOTS: tuple[tuple[str, str, tuple[tuple[str, str, float], ...]], ...] = (
    ("plot-overstride", "Overstride: thigh angle at contact and foot ahead of the pelvis", (
        ("thigh_angle_ic_deg", "thigh at IC (deg)", 1.0),
        ("foot_contact_distance_m", "foot ahead (m)", 1.0),
    )),
    ("plot-spatiotemporal", "Stride length, cadence and contact time", (
        ("stride_length_m", "stride (m)", 1.0),
        ("cadence_spm", "cadence (spm)", 1.0),
        ("contact_time_s", "contact (ms)", 1000.0),
    )),
    ("plot-pelvis", "Pelvis: tilt (+ anterior), obliquity and rotation", (
        ("pelvis_tilt_mean_deg", "tilt mean (deg)", 1.0),
        ("pelvis_tilt_peak_anterior_deg", "tilt peak ant. (deg)", 1.0),
        ("pelvis_obliquity_range_deg", "obliquity (deg)", 1.0),
        ("pelvis_rotation_range_deg", "rotation (deg)", 1.0),
    )),
    ("plot-hip", "Hip: peak extension (the hip-flexor measure) and flexion at contact", (
        ("hip_extension_peak_deg", "hip ext. peak (deg)", 1.0),
        ("hip_flexion_ic_deg", "hip flex. IC (deg)", 1.0),
    )),
    ("plot-stability", "Rotational stability", (
        ("pelvis_rotation_sd_deg", "rot. SD (deg)", 1.0),
        ("pelvis_rotation_cv", "rot. CV", 1.0),
        ("ml_acc_ratio", "ML acc ratio", 1.0),
        ("step_regularity", "step reg.", 1.0),
        ("stride_regularity", "stride reg.", 1.0),
        ("harmonic_ratio_vt", "HR vertical", 1.0),
        ("lde_per_stride", "LDE /stride", 1.0),
    )),
)

#: Per-lap bar panels: (column, title).
LAP_PANELS: tuple[tuple[str, str], ...] = (
    ("thigh_angle_ic_deg", "overstride: thigh at IC (deg)"),
    ("stride_length_m", "stride length (m)"),
    ("cadence_spm", "cadence (spm)"),
    ("pelvis_tilt_mean_deg", "pelvic tilt mean (deg)"),
    ("hip_extension_peak_deg", "hip extension peak (deg)"),
    ("pelvis_rotation_sd_deg", "pelvic rotation SD (deg)"),
)

#: Most cue rows shown in the report's cue table (all cues are in the exports).
MAX_CUE_ROWS = 300

_CSS = """
:root{--left:#1f77b4;--right:#ff7f0e;--good:#2ca02c;--bad:#d62728;--ink:#222;--mute:#666}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);
 max-width:1100px;margin:0 auto;padding:16px 20px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;
 padding-bottom:3px}h3{font-size:14px;margin:14px 0 4px}
.meta{color:var(--mute)}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f5f5f5;cursor:pointer;user-select:none}td:first-child,th:first-child{text-align:left}
td.text{text-align:left}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:6px 12px;min-width:110px}
.kpi b{display:block;font-size:20px}.kpi span{color:var(--mute);font-size:12px}
ul.findings{padding-left:0;list-style:none}
li.finding{margin:4px 0;padding:6px 10px;border-left:4px solid #bbb;background:#fafafa}
li.finding-good{border-color:var(--good)}li.finding-attention{border-color:var(--bad)}
li.finding-info{border-color:#999}
figure.plot{margin:10px 0 18px}figure.plot figcaption{font-size:12px;color:var(--mute)}
svg.plot-svg{width:100%;height:auto}
.not-measured{color:var(--mute);font-style:italic}
.legend-left{color:var(--left);font-weight:600}.legend-right{color:var(--right);font-weight:600}
#script-errors{color:var(--bad)}
@media print{th{cursor:auto}section{break-inside:avoid-page}}
"""

_JS = """
window.onerror=function(msg,src,line){var d=document.getElementById('script-errors');
 if(d){var p=document.createElement('p');p.className='script-error';
 p.textContent='script error: '+msg+' (line '+line+')';d.appendChild(p);}return false;};
document.addEventListener('DOMContentLoaded',function(){
 document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
   var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows),asc=th.dataset.asc!=='1';
   rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,
    y=b.cells[i].dataset.v||b.cells[i].textContent,nx=parseFloat(x),ny=parseFloat(y);
    var c=(isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny;return asc?c:-c;});
   rows.forEach(function(r){body.appendChild(r);});th.dataset.asc=asc?'1':'0';});});});
 document.body.setAttribute('data-report-ready','1');
});
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt_cell(value: Any, column: str) -> tuple[str, str]:
    """Display text and sort key for one table cell, by the unit suffix of ``column``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-", ""
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value)), str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if column.endswith("pace_s_per_km") and np.isfinite(v):
            return f"{int(v // 60)}:{int(round(v % 60)):02d} /km", f"{v:.3f}"
        if column.endswith(("duration_s", "start_s", "end_s", "time_s")) and not column.endswith(
                ("contact_time_s", "stride_time_s", "step_time_s", "flight_time_s")):
            return f"{v:.1f}", f"{v:.3f}"
        if column.endswith("_s"):
            return f"{v:.3f}", f"{v:.4f}"
        if column.endswith("_m"):
            return f"{v:.2f}", f"{v:.4f}"
        if column.endswith(("_deg", "_spm", "_hz")):
            return f"{v:.1f}", f"{v:.3f}"
        return f"{v:.3g}", f"{v:.6g}"
    return str(value), ""


def html_table(df: pd.DataFrame, table_id: str, *, sortable: bool = True,
               headers: Mapping[str, str] | None = None) -> str:
    """Render ``df`` as an HTML table with a stable id; numbers formatted by unit suffix."""
    headers = headers or {}
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f"<th>{_esc(headers.get(c, c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for column, value in zip(df.columns, row, strict=True):
            text, key = _fmt_cell(value, str(column))
            attr = f' data-v="{_esc(key)}"' if key else ' class="text"'
            cells.append(f"<td{attr}>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{_esc(table_id)}"{cls}><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>")


def _kpi(label: str, value: str, kpi_id: str) -> str:
    return (f'<div class="kpi" id="kpi-{kpi_id}"><b>{_esc(value)}</b>'
            f"<span>{_esc(label)}</span></div>")


def _duration_text(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _athlete_name(athlete: Any) -> str:
    if athlete is None:
        return ""
    if isinstance(athlete, Mapping):
        return str(athlete.get("name", athlete.get("id", "")))
    return str(athlete)


def _quality_table(quality: Mapping[str, Any]) -> pd.DataFrame:
    """Flatten the quality dict into rows (sensor, item, value): each sensor of
    ``quality["sensors"]`` (its ``sync`` one row per entry), then the session-level items."""
    quality = dict(quality or {})
    sensors = quality.pop("sensors", None)
    entries = list(sensors.items()) if isinstance(sensors, Mapping) else []
    if entries and quality:
        entries.append(("session", quality))
    elif not entries:
        entries = list(quality.items())
    rows = []
    for sensor, q in entries:
        if isinstance(q, Mapping):
            for key, value in q.items():
                if isinstance(value, list | tuple) and value and isinstance(value[0], Mapping):
                    text = "; ".join(
                        ", ".join(f"{k}={_short(v)}" for k, v in item.items()) for item in value)
                    rows.append({"sensor": str(sensor), "item": str(key), "value": text})
                elif isinstance(value, Mapping):
                    rows.extend({"sensor": str(sensor), "item": f"{key} {k}", "value": _short(v)}
                                for k, v in value.items())
                else:
                    rows.append({"sensor": str(sensor), "item": str(key),
                                 "value": _short(value)})
        else:
            rows.append({"sensor": "session", "item": str(sensor), "value": _short(q)})
    return pd.DataFrame(rows, columns=["sensor", "item", "value"])


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)[:200]
    return str(value)


def _setting_rows(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """One row per setting; a group of settings (a mapping) gives one row per member, so that
    the stated rules (e.g. ``stability.window_rule``) are shown whole."""
    rows = []
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            rows.extend((f"{key}.{k}", _short(v)) for k, v in value.items())
        else:
            rows.append((str(key), _short(value)))
    return rows


def _plot_or_missing(plot_id: str, title: str, svg: str | None, caption: str) -> str:
    if svg is None:
        return (f'<figure class="plot plot-missing" id="{plot_id}"><p class="not-measured">'
                f"{_esc(title)}: {_esc(caption)}</p></figure>")
    return (f'<figure class="plot" id="{plot_id}"><h3>{_esc(title)}</h3>{svg}'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def build_report_html(
    result: AnalysisResult,
    *,
    athlete: Any = None,
    session_meta: Mapping[str, Any] | None = None,
    mobility: Any = None,
    history: Any = None,
) -> str:
    """The report markup (pure; see ``write_report`` for the parameters)."""
    session_meta = dict(session_meta or {})
    strides = result.strides if result.strides is not None else pd.DataFrame()
    cues = result.cues if result.cues is not None else pd.DataFrame()
    laps = result.laps if result.laps is not None else pd.DataFrame()
    for col in ("start_s", "side"):
        if col not in strides:
            strides = strides.assign(**{col: pd.Series(dtype=float if col == "start_s" else str)})
    summary = fnd.session_summary(strides, laps, cues, result.summary)
    table = fnd.lap_side_table(strides)
    findings, comparison = fnd.all_findings(strides, cues, athlete=athlete, mobility=mobility,
                                            quality=result.quality, table=table)
    missing = fnd.not_measured(strides)
    parts: list[str] = []

    # --- header -----------------------------------------------------------------------------
    name = _athlete_name(athlete)
    title = "Stride report" + (f": {name}" if name else "")
    meta_bits = [f"{k.replace('_', ' ')}: {v}" for k, v in session_meta.items()]
    if isinstance(athlete, Mapping) and athlete.get("injured_side"):
        meta_bits.append(f"injured hamstring: {athlete['injured_side']}")
    parts.append(f"<header><h1>{_esc(title)}</h1><p class='meta'>{_esc(' | '.join(meta_bits))}"
                 "</p></header>")

    # --- summary ----------------------------------------------------------------------------
    kpis = [
        _kpi("distance", f"{summary['distance_m'] / 1000:.2f} km"
             if np.isfinite(summary["distance_m"]) else "-", "distance"),
        _kpi("time", _duration_text(summary["duration_s"]), "time"),
        _kpi("laps", str(summary["n_laps"]), "laps"),
        _kpi("strides", str(summary["n_strides"]), "strides"),
        _kpi("cadence", f"{summary['cadence_spm_mean']:.0f} spm"
             if np.isfinite(summary["cadence_spm_mean"]) else "-", "cadence"),
        _kpi("stride length", f"{summary['stride_length_m_mean']:.2f} m"
             if np.isfinite(summary["stride_length_m_mean"]) else "-", "stride-length"),
        _kpi("contact time", f"{summary['contact_time_s_mean'] * 1000:.0f} ms"
             if np.isfinite(summary["contact_time_s_mean"]) else "-", "contact-time"),
        _kpi("cues", str(summary["n_cues"]), "cues"),
    ]
    summary_df = pd.DataFrame({"quantity": list(summary), "value": list(summary.values())})
    parts.append('<section id="summary"><h2>Session summary</h2><div class="kpis">'
                 + "".join(kpis) + "</div>")
    if summary.get("activity"):
        parts.append(f"<p id='summary-activity'>Cadence, stride length, contact time, laps and "
                     f"findings describe the {_esc(summary['activity'])} strides.</p>")
    splits = fnd.lap_splits(strides, laps)
    if splits.empty:
        parts.append('<p class="not-measured" id="laps-table">No laps marked in this session.</p>')
    else:
        parts.append("<h3>Laps and splits</h3>" + html_table(splits, "laps-table"))
    parts.append("<details><summary>All session numbers</summary>"
                 + _summary_table(summary_df) + "</details></section>")

    # --- findings ---------------------------------------------------------------------------
    items = "".join(
        f'<li class="finding finding-{f.severity} finding-kind-{f.kind}"'
        f'{f" data-measure={chr(34)}{f.measure}{chr(34)}" if f.measure else ""}>'
        f"{_esc(f.text)}</li>" for f in findings)
    parts.append('<section id="findings"><h2>Findings</h2><ul class="findings" id="findings-list">'
                 f"{items}</ul><p class='meta'>A change is only reported when it is larger than "
                 "the smallest real change (SRC, see <a href='#method'>method</a>).</p></section>")

    # --- per lap ----------------------------------------------------------------------------
    legend = ('<p class="legend"><span class="legend-left">&#9632; left</span> &nbsp; '
              '<span class="legend-right">&#9632; right</span> &nbsp; '
              '<span style="color:#d62728">&#9660; cue</span></p>')
    parts.append('<section id="per-lap"><h2>Per lap, left and right</h2>' + legend)
    if table.empty:
        parts.append(_plot_or_missing("plot-laps", "Per-lap means", None, "no usable strides"))
    else:
        svg = plots.lap_bars_svg(table, LAP_PANELS, plot_id="plot-laps")
        parts.append(_plot_or_missing("plot-laps", "Per-lap means (bars) and stride-to-stride SD "
                                      "(whiskers)", svg, "Strides crossing a data gap are left "
                                      "out."))
    if not comparison.empty:
        comp = comparison.drop(columns=["measure"]).rename(columns={
            "a": f"{comparison['period_a'].iloc[0]}", "b": f"{comparison['period_b'].iloc[0]}"})
        comp = comp.drop(columns=["period_a", "period_b"])
        for col in comp.columns[2:6]:  # a, b, change, src in the row's own unit
            comp[col] = [fnd.format_value(v, u) for v, u in zip(comp[col], comp["unit"],
                                                                 strict=True)]
        comp = comp.drop(columns=["unit"])
        parts.append("<h3>First vs last lap</h3>" + html_table(comp, "lap-comparison-table"))
    lap_table = table.assign(label=table["measure"].map(
        lambda c: fnd.MEASURES_BY_COLUMN[c].label if c in fnd.MEASURES_BY_COLUMN else c))
    lap_table = lap_table[["label", "measure", "lap", "side", "mean", "sd", "n"]]
    parts.append("<details><summary>Per-lap, per-side table (lap 0 = whole session)</summary>"
                 + html_table(lap_table, "lap-side-table") + "</details></section>")

    # --- per stride -------------------------------------------------------------------------
    parts.append('<section id="per-stride"><h2>Stride by stride</h2>' + legend)
    for plot_id, title, panels in STRIDE_PLOTS:
        present = [p for p in panels if p[0] in strides and p[0] not in missing]
        absent = [p for p in panels if p not in present]
        notes = "; ".join(
            f"{fnd.MEASURES_BY_COLUMN[c].label if c in fnd.MEASURES_BY_COLUMN else c}: "
            f"{missing.get(c, 'not measured')}" for c, _, _ in absent)
        if present and len(strides):
            svg = plots.stride_timeline_svg(strides, present, plot_id=plot_id, laps=laps,
                                            cues=cues)
            caption = ("Dots: one stride each; for long sessions the median line and the "
                       "interquartile band over time. Triangles: cues.")
            if notes:
                caption += " " + notes + "."
            parts.append(_plot_or_missing(plot_id, title, svg, caption))
        else:
            parts.append(_plot_or_missing(plot_id, title, None, notes or "no strides"))
    parts.append("</section>")

    # --- cues -------------------------------------------------------------------------------
    parts.append('<section id="cues"><h2>Cues given</h2>')
    if cues.empty:
        parts.append('<p class="not-measured" id="cues-table">No cues in this session.</p>')
    else:
        shown = cues.head(MAX_CUE_ROWS)
        laps_of = fnd.cue_laps(shown, strides)
        if laps_of is not None:
            shown = shown.assign(lap=laps_of)
        parts.append(html_table(shown, "cues-table"))
        if len(cues) > MAX_CUE_ROWS:
            parts.append(f"<p class='meta'>First {MAX_CUE_ROWS} of {len(cues)} cues; all are in "
                         "the exports.</p>")
    parts.append("</section>")

    # --- mobility ---------------------------------------------------------------------------
    parts.append('<section id="mobility"><h2>Mobility checks</h2>')
    mob = fnd.mobility_rows(mobility)
    if mob.empty:
        parts.append('<p class="not-measured" id="mobility-table">Not measured: no mobility '
                     "check recorded with this session.</p>")
    else:
        parts.append(html_table(mob, "mobility-table") + "<p class='meta'>Straight-leg raise "
                     f"target about {fnd.SLR_TARGET_DEG:.0f}-70 deg; kneeling hip-flexor test: "
                     "a big pull in front of the thigh means a tight hip flexor.</p>")
    parts.append("</section>")

    # --- history ----------------------------------------------------------------------------
    hist_html = _history_section(history, athlete)
    if hist_html:
        parts.append(hist_html)

    # --- quality ----------------------------------------------------------------------------
    q = _quality_table(result.quality)
    parts.append('<section id="quality"><h2>Data quality</h2>')
    parts.append(html_table(q, "quality-table") if not q.empty else
                 '<p class="not-measured" id="quality-table">No data-quality report.</p>')
    parts.append(f"<p>Strides crossing a data gap: {summary['n_strides_gap']} of "
                 f"{summary['n_strides']} (their metrics are left out).</p></section>")

    # --- method -----------------------------------------------------------------------------
    floors = pd.DataFrame([{"measure": m.label, "column": m.column, "unit": m.unit,
                            "SRC floor": m.floor,
                            "better": {-1: "lower", 1: "higher", 0: "-"}[m.better]}
                           for m in fnd.KEY_MEASURES])
    settings = pd.DataFrame(_setting_rows(result.settings), columns=["setting", "value"])
    parts.append(
        '<section id="method"><h2>Method</h2><p>Smallest real change between two groups of '
        "strides (e.g. lap 1 and lap 2): SRC = max(1.96 &middot; &radic;(SD<sub>a</sub>&sup2;/"
        "n<sub>a</sub> + SD<sub>b</sub>&sup2;/n<sub>b</sub>), floor), i.e. 1.96&middot;&radic;2"
        "&middot;SEM with the SEM from the stride-to-stride variability, but never below a fixed "
        "per-measure floor (sensor placement and calibration do not average out). Strides that "
        "cross a data gap are left out.</p>"
        + html_table(floors, "src-table")
        + "<h3>Analysis settings</h3>"
        + (html_table(settings, "settings-table") if not settings.empty else
           '<p class="not-measured" id="settings-table">No settings recorded.</p>')
        + "</section>")

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta name='generator' content='stridecue report'><title>{_esc(title)}</title>"
        f"<style>{_CSS}</style><script>{_JS}</script></head><body>"
        f"{body}<div id='script-errors'></div>"
        f"<footer class='meta'>Generated {generated} by stridecue.</footer></body></html>\n"
    )


def _summary_table(df: pd.DataFrame) -> str:
    rows = []
    for q, v in zip(df["quantity"], df["value"], strict=True):
        text, _ = _fmt_cell(v, str(q))
        rows.append(f"<tr><td>{_esc(q)}</td><td>{_esc(text)}</td></tr>")
    return ('<table id="summary-table"><thead><tr><th>quantity</th><th>value</th></tr></thead>'
            "<tbody>" + "".join(rows) + "</tbody></table>")


def _history_section(history: Any, athlete: Any) -> str:
    """This session in the athlete's history: the trend table of the key measures."""
    if history is None:
        return ""
    trend = None
    if isinstance(history, pd.DataFrame):
        trend = history
    elif hasattr(history, "trend") and athlete is not None:
        try:
            trend = history.trend(_athlete_name(athlete))
        except Exception as exc:  # noqa: BLE001 - history is optional: report without it
            log.warning("history not included in the report: %s", exc)
            return ""
    if trend is None or trend.empty:
        return ""
    from stridecue.history import format_trend  # local: history imports this module

    return ('<section id="history"><h2>History</h2><pre id="history-trend">'
            + _esc(format_trend(trend)) + "</pre></section>")


def write_report(
    result: AnalysisResult,
    path: str | Path,
    *,
    athlete: Any = None,
    session_meta: Mapping[str, Any] | None = None,
    mobility: Any = None,
    history: Any = None,
) -> Path:
    """Write the coach's stride report as one self-contained HTML file.

    Parameters
    ----------
    result
        The analysis of one session.
    path
        Output file (``.html``); its folder is created if missing.
    athlete
        Athlete name, or a mapping with ``name`` and optionally ``injured_side``
        (``"left"`` | ``"right"``), which sharpens the contralateral hip-flexor finding.
    session_meta
        Shown in the header (e.g. ``session_id``, ``started_at``, ``place``).
    mobility
        Mobility-check results, see ``stridecue.report.findings.mobility_rows``.
    history
        A ``stridecue.history.HistoryDB`` (with ``athlete``) or a ``trend`` DataFrame: adds a
        history section.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    SessionError
        When the file cannot be written.
    """
    path = Path(path)
    text = build_report_html(result, athlete=athlete, session_meta=session_meta,
                             mobility=mobility, history=history)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SessionError(f"cannot write the report to {path}: {exc.strerror}; "
                           "choose a writable output folder") from exc
    return path


__all__ = ["build_report_html", "html_table", "write_report"]
