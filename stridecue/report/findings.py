"""Key measures, per-lap / per-side aggregation, smallest real change and plain-language findings.

Pure computation on DataFrames: no file I/O. The HTML report, the exports and the athlete history
all take their numbers from here, so the same stride table always gives the same words.

Smallest real change (SRC)
--------------------------
A difference between two groups of strides (lap 1 vs lap 2, left vs right, session A vs session B)
is only called a change when it is larger than the smallest real change::

    SRC = max(1.96 * sqrt(SE_a**2 + SE_b**2), floor)
    SE_x = SD_x / sqrt(n_x)         (stride-to-stride SD of the measure in group x, n_x strides)

With equal groups this is the usual ``1.96 * sqrt(2) * SEM``. ``floor`` is a fixed per-measure
minimum (``Measure.floor``): the smallest change the project is willing to call real whatever the
number of strides, because many strides make the standard error tiny while sensor placement,
calibration and day-to-day variation do not shrink. Across sessions (``stridecue.history``) the
SEM is the between-session SD of the baseline sessions' means and the same floor applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stridecue.constants import LEFT, RIGHT, RUNNING, WALKING

#: The label of the pooled (both sides) rows in per-lap / per-side tables.
BOTH: str = "both"
#: z for a two-sided 95 % interval.
Z95: float = 1.96


@dataclass(frozen=True)
class Measure:
    """A stride measure the report, the findings and the history speak about.

    Attributes
    ----------
    column
        Column name in the strides table (unit in the name).
    label
        Short human name ("overstride (thigh angle at contact)").
    unit
        Display unit ("deg", "m", "spm", "s", "" for dimensionless).
    floor
        Fixed minimum smallest real change, in ``unit`` (see the module docstring).
    better
        -1 when lower is better for a returning hamstring, +1 when higher is better, 0 neutral.
    needs
        What must be worn for the measure to exist: ``"thigh"``, ``"sacrum"`` (orientation),
        ``"any"`` (events from any sensor) - used for "not measured" messages.
    group
        Section of the report: ``"overstride"``, ``"spatiotemporal"``, ``"pelvis"``, ``"hip"``,
        ``"stability"``.
    """

    column: str
    label: str
    unit: str
    floor: float
    better: int
    needs: str
    group: str


#: The measures the report plots, the findings test and the history stores, in report order.
#: Floors are project choices (conservative, of the order of the minimal detectable changes
#: reported for running kinematics); replace them with published values as they are validated.
KEY_MEASURES: tuple[Measure, ...] = (
    Measure("thigh_angle_ic_deg", "overstride (thigh angle at contact)", "deg", 2.0, -1,
            "thigh", "overstride"),
    Measure("foot_contact_distance_m", "foot contact distance ahead of the pelvis", "m", 0.03, -1,
            "thigh", "overstride"),
    Measure("stride_length_m", "stride length", "m", 0.05, 0, "any", "spatiotemporal"),
    Measure("cadence_spm", "cadence", "spm", 2.0, 0, "any", "spatiotemporal"),
    Measure("contact_time_s", "contact time", "s", 0.010, 0, "any", "spatiotemporal"),
    Measure("pelvis_tilt_mean_deg", "pelvic tilt (mean, + anterior)", "deg", 2.0, -1, "sacrum",
            "pelvis"),
    Measure("pelvis_tilt_peak_anterior_deg", "peak anterior pelvic tilt", "deg", 2.0, -1,
            "sacrum", "pelvis"),
    Measure("pelvis_obliquity_range_deg", "pelvic obliquity range", "deg", 2.0, 0, "sacrum",
            "pelvis"),
    Measure("pelvis_drop_deg", "pelvic drop", "deg", 1.5, -1, "sacrum", "pelvis"),
    Measure("pelvis_rotation_range_deg", "pelvic rotation range", "deg", 2.0, 0, "sacrum",
            "pelvis"),
    Measure("hip_extension_peak_deg", "peak hip extension", "deg", 3.0, 1, "thigh", "hip"),
    Measure("hip_flexion_ic_deg", "hip flexion at contact", "deg", 3.0, -1, "thigh", "hip"),
    Measure("pelvis_rotation_sd_deg", "pelvic rotation variability (SD)", "deg", 0.5, -1,
            "sacrum", "stability"),
    Measure("pelvis_rotation_cv", "pelvic rotation variability (CV)", "", 0.02, -1, "sacrum",
            "stability"),
    Measure("ml_acc_ratio", "side-to-side acceleration ratio", "", 0.05, -1, "sacrum",
            "stability"),
    Measure("step_regularity", "step regularity", "", 0.05, 1, "sacrum", "stability"),
    Measure("stride_regularity", "stride regularity", "", 0.05, 1, "sacrum", "stability"),
    Measure("harmonic_ratio_vt", "harmonic ratio (vertical)", "", 0.2, 1, "sacrum",
            "stability"),
    Measure("lde_per_stride", "local dynamic stability (divergence per stride)", "", 0.1, -1,
            "sacrum", "stability"),
)
MEASURES_BY_COLUMN: dict[str, Measure] = {m.column: m for m in KEY_MEASURES}

#: Why a measure is missing, by what it needs.
NOT_MEASURED_REASON: dict[str, str] = {
    "thigh": "no thigh sensor",
    "sacrum": "no sacrum orientation (accelerometer-only data)",
    "any": "no usable strides",
}

#: Straight-leg raise the rehab advice aims for (seed 003: "65 to 70 degrees").
SLR_TARGET_DEG: float = 65.0


@dataclass(frozen=True)
class Finding:
    """One plain-language statement of the report.

    Attributes
    ----------
    kind
        ``"change"``, ``"no_change"``, ``"asymmetry"``, ``"not_measured"``, ``"cues"``,
        ``"mobility"``, ``"quality"``.
    text
        The sentence shown to the coach.
    severity
        ``"good"`` (a change for the better), ``"attention"`` (worth acting on) or ``"info"``.
    measure
        The measure column the finding is about, if any.
    """

    kind: str
    text: str
    severity: str = "info"
    measure: str | None = None


def smallest_real_change(
    sd_a: float, n_a: float, sd_b: float, n_b: float, floor: float
) -> float:
    """Smallest real change between the means of two groups of strides.

    Parameters
    ----------
    sd_a, sd_b
        Stride-to-stride standard deviation of the measure in each group (same unit as floor).
    n_a, n_b
        Number of strides in each group.
    floor
        Fixed per-measure minimum.

    Returns
    -------
    float
        ``max(1.96 * sqrt(sd_a**2 / n_a + sd_b**2 / n_b), floor)``; ``floor`` when an SD is NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        se2 = sd_a**2 / max(n_a, 1) + sd_b**2 / max(n_b, 1)
    if not np.isfinite(se2):
        return float(floor)
    return float(max(Z95 * np.sqrt(se2), floor))


def available_measures(strides: pd.DataFrame) -> list[Measure]:
    """Key measures with at least one finite value in ``strides``."""
    out = []
    for m in KEY_MEASURES:
        if m.column in strides.columns:
            values = pd.to_numeric(strides[m.column], errors="coerce")
            if np.isfinite(values.to_numpy(dtype=float)).any():
                out.append(m)
    return out


def strides_activity(strides: pd.DataFrame) -> str:
    """The activity the session's aggregates describe: ``running`` where any stride is a
    running stride, else ``walking`` where any is a walking one, else ``""``."""
    if "activity" not in strides.columns:
        return ""
    acts = set(strides["activity"].astype(str))
    return RUNNING if RUNNING in acts else WALKING if WALKING in acts else ""


def whole_strides(strides: pd.DataFrame) -> pd.DataFrame:
    """Strides that do not cross a data gap, of every activity (for distances covered)."""
    if "gap_crossed" not in strides.columns:
        return strides
    return strides.loc[~strides["gap_crossed"].fillna(False).astype(bool).to_numpy()]


def usable_strides(strides: pd.DataFrame) -> pd.DataFrame:
    """Strides whose metrics may be aggregated.

    Drops strides that cross a data gap, and keeps one activity (:func:`strides_activity`):
    a walking stride's contact time, cadence and stride length are not a running stride's, so
    the walks of a warm-up or a recovery would shift every running mean and comparison.
    """
    whole = whole_strides(strides)
    activity = strides_activity(strides)
    return whole.loc[whole["activity"].astype(str) == activity] if activity else whole


def lap_side_table(
    strides: pd.DataFrame, measures: Sequence[Measure] | None = None
) -> pd.DataFrame:
    """Mean, SD and count of each measure per lap and side (long format).

    Parameters
    ----------
    strides
        The strides table (contract + metric columns). ``lap`` missing means one lap (1).
    measures
        Measures to aggregate; all available key measures by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure``, ``lap`` (0 = whole session), ``side`` (``left`` | ``right`` |
        ``both``), ``mean``, ``sd``, ``n``. Rows with no finite value are left out.
    """
    if measures is None:
        measures = available_measures(strides)
    s = usable_strides(strides)
    cols = [m.column for m in measures if m.column in s.columns]
    empty = pd.DataFrame(columns=["measure", "lap", "side", "mean", "sd", "n"])
    if not cols or s.empty:
        return empty
    lap = (s["lap"].fillna(0).astype(int).to_numpy() if "lap" in s.columns
           else np.ones(len(s), dtype=int))
    side_code, side_names = pd.factorize(
        s["side"].astype(str).to_numpy() if "side" in s.columns else np.full(len(s), "unknown"))
    measure_code, measure_names = pd.factorize(np.asarray(cols, dtype=object))
    values = s[cols].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
    # Long format: measure after measure, strides in table order, finite values only. Each
    # grouping below is one integer key over these rows (measure, then lap, then side).
    finite = np.isfinite(values.T)
    column, row = np.nonzero(finite)
    v = values.T[finite]
    measure_l, lap_l, side_l = measure_code[column], lap[row], side_code[row]
    n_laps, n_sides = int(max(lap.max(), 0)) + 1, max(len(side_names), 1)
    frames = []
    for by_lap, by_side in ((True, True), (True, False), (False, True), (False, False)):
        # Strides outside every lap (lap 0: before the first mark) count for the whole
        # session only, so that "lap 0" in this table always means the whole session.
        sel = lap_l > 0 if by_lap else np.ones(len(v), dtype=bool)
        key = measure_l[sel].astype(np.int64)
        key = key * n_laps + (lap_l[sel] if by_lap else 0)
        key = key * n_sides + (side_l[sel] if by_side else 0)
        agg = pd.Series(v[sel]).groupby(key, sort=False).agg(["mean", "std", "count"])
        k = agg.index.to_numpy()
        frames.append(pd.DataFrame({
            "measure": measure_names[k // (n_laps * n_sides)],
            "lap": (k // n_sides) % n_laps if by_lap else 0,
            "side": side_names[k % n_sides] if by_side else BOTH,
            "mean": agg["mean"].to_numpy(), "sd": agg["std"].to_numpy(),
            "n": agg["count"].to_numpy(),
        }))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["n"] > 0]
    out = out[out["side"].isin([LEFT, RIGHT, BOTH])]
    order = {m.column: i for i, m in enumerate(KEY_MEASURES)}
    out = out.assign(_o=out["measure"].map(order).fillna(len(order)))
    out = out.sort_values(["_o", "lap", "side"], kind="stable").drop(columns="_o")
    out = out.astype({"measure": str, "lap": int, "side": str, "n": int})
    return out.reset_index(drop=True)


def _fmt(value: float, unit: str) -> str:
    """Format a value for a sentence with a sensible number of decimals."""
    if not np.isfinite(value):
        return "n/a"
    if unit in ("deg", "spm"):
        text = f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"
    elif unit == "m":
        text = f"{value:.2f}"
    elif unit == "s":
        text = f"{value * 1000:.0f}"
        return f"{text} ms"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def format_value(value: float, unit: str) -> str:
    """Public formatter used by the HTML and text renderers (``"31 deg"``, ``"212 ms"``)."""
    return _fmt(float(value), unit)


def _cell(table: pd.DataFrame, measure: str, lap: int, side: str) -> tuple[float, float, int]:
    row = table[(table["measure"] == measure) & (table["lap"] == lap) & (table["side"] == side)]
    if row.empty:
        return float("nan"), float("nan"), 0
    r = row.iloc[0]
    return float(r["mean"]), float(r["sd"]), int(r["n"])


def _halves(strides: pd.DataFrame) -> pd.DataFrame:
    """Relabel strides as 'lap' 1 / 2 by the first and second half of the session time."""
    s = strides.copy()
    t = pd.to_numeric(s["start_s"], errors="coerce") if "start_s" in s else pd.Series(
        np.arange(len(s)), index=s.index)
    mid = (t.min() + t.max()) / 2.0
    s["lap"] = np.where(t <= mid, 1, 2)
    return s


def change_findings(
    strides: pd.DataFrame, table: pd.DataFrame | None = None
) -> tuple[list[Finding], pd.DataFrame]:
    """Findings about changes between the first and the last lap (or half) of the session.

    Parameters
    ----------
    strides
        The strides table.
    table
        ``lap_side_table(strides)`` when already computed (used when the session has laps).

    Returns
    -------
    findings
        One ``change`` finding per measure beyond its SRC and one ``no_change`` summary.
    comparison
        Columns ``measure``, ``label``, ``unit``, ``a``, ``b``, ``change``, ``src``,
        ``beyond_src``, ``period_a``, ``period_b``.
    """
    s = usable_strides(strides)
    laps = sorted(int(x) for x in pd.unique(s["lap"].dropna())) if "lap" in s else []
    laps = [x for x in laps if x >= 1]
    if len(laps) >= 2:
        first, last = laps[0], laps[-1]
        name_a, name_b = f"lap {first}", f"lap {last}"
    else:
        s = _halves(s)
        first, last = 1, 2
        name_a, name_b = "the first half", "the second half"
        table = None
    if table is None:
        table = lap_side_table(s)
    rows, findings, unchanged = [], [], []
    for m in available_measures(s):
        a, sd_a, n_a = _cell(table, m.column, first, BOTH)
        b, sd_b, n_b = _cell(table, m.column, last, BOTH)
        if n_a < 2 or n_b < 2:
            continue
        src = smallest_real_change(sd_a, n_a, sd_b, n_b, m.floor)
        change = b - a
        beyond = bool(abs(change) > src)
        rows.append({"measure": m.column, "label": m.label, "unit": m.unit, "a": a, "b": b,
                     "change": change, "src": src, "beyond_src": beyond,
                     "period_a": name_a, "period_b": name_b})
        if beyond:
            verb = "fell" if change < 0 else "rose"
            if m.better == 0:
                severity = "info"
            else:
                severity = "good" if np.sign(change) == m.better else "attention"
            text = (f"{m.label.capitalize()} {verb} from {_fmt(a, m.unit)} in {name_a} to "
                    f"{_fmt(b, m.unit)} in {name_b} (smallest real change "
                    f"{_fmt(src, m.unit)}).")
            findings.append(Finding("change", text, severity, m.column))
        else:
            unchanged.append(m.label)
    if unchanged:
        findings.append(Finding(
            "no_change",
            f"No real change from {name_a} to {name_b} (within the smallest real change) in: "
            + ", ".join(unchanged) + ".",
        ))
    cols = ["measure", "label", "unit", "a", "b", "change", "src", "beyond_src", "period_a",
            "period_b"]
    return findings, pd.DataFrame(rows, columns=cols)


def _injured_side(athlete: Any) -> str | None:
    if isinstance(athlete, Mapping):
        side = athlete.get("injured_side")
        if side in (LEFT, RIGHT):
            return str(side)
    return None


def asymmetry_findings(strides: pd.DataFrame, athlete: Any = None,
                       table: pd.DataFrame | None = None) -> list[Finding]:
    """Left/right findings: hip extension (the contralateral hip-flexor logic), overstride, drop.

    A hip that extends less than the other beyond the SRC points at a tight hip flexor on that
    side (seed 003: a tight hip flexor stops the hip going behind the body and pulls the pelvis
    into anterior tilt; trouble in one hamstring often comes with a tight hip flexor on the
    *other* side). When ``athlete["injured_side"]`` is known the finding says whether the pattern
    is the contralateral one. ``table``: ``lap_side_table(strides)`` when already computed.
    """
    if table is None:
        table = lap_side_table(usable_strides(strides))
    out: list[Finding] = []
    injured = _injured_side(athlete)
    for column in ("hip_extension_peak_deg", "thigh_angle_ic_deg", "pelvis_drop_deg",
                   "contact_time_s"):
        m = MEASURES_BY_COLUMN[column]
        left, sd_l, n_l = _cell(table, column, 0, LEFT)
        right, sd_r, n_r = _cell(table, column, 0, RIGHT)
        if n_l < 2 or n_r < 2:
            continue
        src = smallest_real_change(sd_l, n_l, sd_r, n_r, m.floor)
        diff = right - left
        if abs(diff) <= src:
            continue
        if column == "hip_extension_peak_deg":
            low, high = (RIGHT, LEFT) if diff < 0 else (LEFT, RIGHT)
            low_v, high_v = (right, left) if diff < 0 else (left, right)
            text = (f"{low.capitalize()} hip extension {_fmt(abs(diff), 'deg')} less than "
                    f"{high} ({_fmt(low_v, 'deg')} vs {_fmt(high_v, 'deg')}): check the {low} "
                    f"hip flexor (kneeling hip-flexor test).")
            if injured is not None:
                if injured != low:
                    text += (f" This is the side opposite the injured {injured} hamstring: the "
                             "contralateral pattern the rehab advice warns about.")
                else:
                    text += f" It is on the same side as the injured {injured} hamstring."
            else:
                text += (" A tight hip flexor often goes with hamstring trouble on the other "
                         "side.")
            out.append(Finding("asymmetry", text, "attention", column))
        elif column == "thigh_angle_ic_deg":
            far = RIGHT if diff > 0 else LEFT
            near = LEFT if far == RIGHT else RIGHT
            text = (f"The {far} thigh lands {_fmt(abs(diff), 'deg')} further ahead at contact "
                    f"than the {near} ({_fmt(max(left, right), 'deg')} vs "
                    f"{_fmt(min(left, right), 'deg')}): cue a shorter {far} stride.")
            out.append(Finding("asymmetry", text, "attention", column))
        else:
            more = RIGHT if diff > 0 else LEFT
            less = LEFT if more == RIGHT else RIGHT
            text = (f"{m.label.capitalize()} is {_fmt(abs(diff), m.unit)} larger on the {more} "
                    f"than on the {less} ({_fmt(max(left, right), m.unit)} vs "
                    f"{_fmt(min(left, right), m.unit)}).")
            out.append(Finding("asymmetry", text, "info", column))
    return out


def not_measured(strides: pd.DataFrame) -> dict[str, str]:
    """Map of key-measure column -> reason, for measures with no finite value."""
    present = {m.column for m in available_measures(strides)}
    return {m.column: f"not measured: {NOT_MEASURED_REASON[m.needs]}"
            for m in KEY_MEASURES if m.column not in present}


def sides_with_thigh_data(strides: pd.DataFrame) -> set[str]:
    """The sides whose thigh measures have at least one finite value."""
    sides: set[str] = set()
    if "thigh_angle_ic_deg" not in strides or "side" not in strides:
        return sides
    v = pd.to_numeric(strides["thigh_angle_ic_deg"], errors="coerce")
    for side in (LEFT, RIGHT):
        if v[strides["side"] == side].notna().any():
            sides.add(side)
    return sides


def not_measured_findings(strides: pd.DataFrame) -> list[Finding]:
    """One finding per group of measures that could not be measured, with the reason."""
    missing = not_measured(strides)
    out: list[Finding] = []
    by_reason: dict[str, list[str]] = {}
    for column, reason in missing.items():
        by_reason.setdefault(reason, []).append(MEASURES_BY_COLUMN[column].label)
    for reason, labels in by_reason.items():
        out.append(Finding("not_measured", f"{', '.join(labels).capitalize()}: {reason}."))
    thigh_sides = sides_with_thigh_data(strides)
    if len(thigh_sides) == 1:
        (have,) = thigh_sides
        other = RIGHT if have == LEFT else LEFT
        out.append(Finding(
            "not_measured",
            f"{other.capitalize()} thigh angles: not measured: no {other} thigh sensor "
            "(left/right comparison of thigh and hip angles is not possible).",
        ))
    return out


def cue_findings(cues: pd.DataFrame, strides: pd.DataFrame) -> list[Finding]:
    """A sentence on how many cues of which kind were given, and in which laps."""
    if cues is None or cues.empty:
        return [Finding("cues", "No cues were given in this session.")]
    rules = cues["rule"].astype(str).value_counts() if "rule" in cues else pd.Series(dtype=int)
    parts = [f"{n} {rule.replace('_', ' ')}" for rule, n in rules.items()]
    text = f"{len(cues)} cues: " + ", ".join(parts)
    laps = cue_laps(cues, strides)
    if laps is not None and laps.notna().any():
        per_lap = laps.dropna().astype(int).value_counts().sort_index()
        text += "; " + ", ".join(f"{n} in lap {lap}" for lap, n in per_lap.items() if lap >= 1)
    return [Finding("cues", text + ".")]


def cue_laps(cues: pd.DataFrame, strides: pd.DataFrame) -> pd.Series | None:
    """The lap of each cue from its ``stride_index`` (NaN where unknown)."""
    if "lap" not in strides or "stride_index" not in cues:
        return None
    idx = pd.to_numeric(cues["stride_index"], errors="coerce")
    lap = strides["lap"].reset_index(drop=True)
    ok = idx.between(0, len(lap) - 1)
    out = pd.Series(np.nan, index=cues.index)
    out[ok] = lap.to_numpy()[idx[ok].astype(int).to_numpy()]
    return out


def _mobility_verdict(test: str, value: float, target: float, passed: Any, note: str) -> str:
    """Plain-language verdict of one mobility result (see ``mobility_rows``)."""
    measured = isinstance(passed, bool | np.bool_)
    if "straight_leg_raise" in test or "slr" in test.split("_"):
        if not np.isfinite(value):
            return ""
        limit = target if np.isfinite(target) else SLR_TARGET_DEG
        return "below target: stretch the hamstrings" if value < limit else "enough range"
    if "hip_flexor" in test or "kneeling" in test:
        words = note.lower()
        pulled = any(w in words for w in ("pull", "tight", "positive", "true")) and not (
            words.startswith("no ") or words.startswith("false"))
        if pulled:
            return "tight: kneeling hip-flexor stretch"
        if measured and not passed:
            return "tight: kneeling hip-flexor stretch (posterior tilt below target)"
        if measured or words.strip():
            return "no static stretch needed: dynamic mobility (twisted warrior)"
        return ""
    if measured:
        return "within the limit" if passed else "above the limit"
    return ""


def mobility_rows(mobility: Any) -> pd.DataFrame:
    """Normalise mobility-check results to a table.

    Parameters
    ----------
    mobility
        ``None``; a DataFrame with columns ``test``, ``side``, ``value``, ``unit`` (``note``,
        ``target`` optional); or a mapping ``name -> value`` / ``name -> {"value":...,
        "unit":..., "side":..., "note":..., "target":..., "target_text":..., "passed":...}``
        (the rows ``stridecue mobility`` stores in the session). Names ending in ``_deg`` get the
        unit ``deg``.

    Returns
    -------
    pandas.DataFrame
        Columns ``test``, ``side``, ``value``, ``unit``, ``target``, ``note``, ``verdict``;
        ``target`` is the stored target text (or the default straight-leg-raise target).
    """
    cols = ["test", "side", "value", "unit", "target", "note", "verdict"]
    if mobility is None:
        return pd.DataFrame(columns=cols)
    if isinstance(mobility, pd.DataFrame):
        df = mobility.copy()
    else:
        rows = []
        for name, v in dict(mobility).items():
            row: dict[str, Any] = {"test": str(name), "side": "", "value": v, "unit": "",
                                   "note": "", "target": "", "target_value": np.nan,
                                   "passed": None}
            if isinstance(v, Mapping):
                row.update({k: v[k] for k in ("value", "unit", "side", "note", "test", "passed")
                            if k in v})
                row["target_value"] = v.get("target", np.nan)
                row["target"] = v.get("target_text", "") or (
                    f"{v['target']:g}" if isinstance(v.get("target"), int | float) else "")
                row.setdefault("test", str(name))
            if not row["unit"] and str(name).endswith("_deg"):
                row["unit"] = "deg"
            if not row["side"]:
                for side in (LEFT, RIGHT):
                    if f"_{side}" in str(name) or str(name).startswith(f"{side}_"):
                        row["side"] = side
            rows.append(row)
        df = pd.DataFrame(rows)
    for c in cols:
        if c not in df:
            df[c] = ""
    verdicts = []
    targets = []
    for _, r in df.iterrows():
        test = str(r["test"]).lower()
        value = pd.to_numeric(pd.Series([r["value"]]), errors="coerce").iloc[0]
        target = pd.to_numeric(pd.Series([r.get("target_value", np.nan)]), errors="coerce").iloc[0]
        note = str(r["value"]) if not np.isfinite(value) else ""
        note = (note + " " + str(r["note"])).strip()
        verdicts.append(_mobility_verdict(test, value, target, r.get("passed"), note))
        slr = "straight_leg_raise" in test or "slr" in test.split("_")
        targets.append(r["target"] or (f"about {SLR_TARGET_DEG:.0f}-70 deg" if slr else ""))
    df["verdict"] = verdicts
    df["target"] = targets
    return df[cols].reset_index(drop=True)


def mobility_findings(mobility: Any) -> list[Finding]:
    """Findings from the mobility checks (straight-leg raise target, tight hip flexor)."""
    df = mobility_rows(mobility)
    out = []
    for _, r in df.iterrows():
        if r["verdict"].startswith("below target"):
            side = f"{r['side']} " if r["side"] else ""
            out.append(Finding(
                "mobility",
                f"{side.capitalize()}straight-leg raise {float(r['value']):.0f} deg: below the "
                f"{SLR_TARGET_DEG:.0f}-70 deg the rehab advice aims for: stretch the hamstrings.",
                "attention"))
        elif r["verdict"].startswith("tight"):
            side = f"{r['side']} " if r["side"] else ""
            out.append(Finding(
                "mobility",
                f"Kneeling hip-flexor test: tight {side}hip flexor: add the kneeling hip-flexor "
                "stretch (3 min, pelvis tucked under).", "attention"))
    return out


def quality_findings(strides: pd.DataFrame, quality: Mapping[str, Any]) -> list[Finding]:
    """Findings about data quality: strides lost to gaps, sync verdicts that are not ok."""
    out = []
    if "gap_crossed" in strides and len(strides):
        n_gap = int(strides["gap_crossed"].fillna(False).astype(bool).sum())
        if n_gap:
            frac = n_gap / len(strides)
            out.append(Finding(
                "quality",
                f"{n_gap} of {len(strides)} strides ({frac:.0%}) cross a data gap and are left "
                "out of the averages.", "attention" if frac > 0.05 else "info"))
    out.extend(Finding("quality", line, "attention") for line in out_of_sync_lines(quality or {}))
    return out


def out_of_sync_lines(quality: Mapping[str, Any]) -> list[str]:
    """One line per sensor whose clock is out of sync with the sacrum's (``quality["sensors"][p]
    ["sync"]``, :mod:`gait.sync`): what is wrong and what to do."""
    out = []
    for placement, q in (quality.get("sensors") or {}).items():
        sync = q.get("sync") if isinstance(q, Mapping) else None
        if not isinstance(sync, Mapping) or sync.get("verdict") != "out of sync":
            continue
        out.append(
            f"The {placement.replace('_', ' ')} sensor is {sync['max_abs_offset_ms']:.0f} ms "
            f"out of sync with the sacrum (offset {sync['offset_ms']:+.0f} ms, drift "
            f"{sync['drift_ppm']:+.0f} ppm, measured from the foot contacts; more than "
            f"{sync['threshold_ms']:.0f} ms): its angles at contact are off. For imported files, "
            "import them again without --no-sync-correction (the import corrects the clock); for "
            "a live recording, look at the sensor's clock fit with stridecue info SESSION.")
    return out


def all_findings(
    strides: pd.DataFrame,
    cues: pd.DataFrame,
    *,
    athlete: Any = None,
    mobility: Any = None,
    quality: Mapping[str, Any] | None = None,
    table: pd.DataFrame | None = None,
) -> tuple[list[Finding], pd.DataFrame]:
    """Every finding of a session report, most important first, and the lap comparison table.

    ``table`` is ``lap_side_table(strides)`` when the caller has it already; it is computed once
    here otherwise.
    """
    if table is None:
        table = lap_side_table(strides)
    changes, comparison = change_findings(strides, table)
    findings = (
        [f for f in changes if f.kind == "change"]
        + asymmetry_findings(strides, athlete, table)
        + mobility_findings(mobility)
        + cue_findings(cues, strides)
        + [f for f in changes if f.kind != "change"]
        + quality_findings(strides, quality or {})
        + not_measured_findings(strides)
    )
    return findings, comparison


def _num(strides: pd.DataFrame, column: str) -> pd.Series:
    if column not in strides:
        return pd.Series(np.nan, index=strides.index, dtype=float)
    return pd.to_numeric(strides[column], errors="coerce").astype(float)


def _distance_from_strides(strides: pd.DataFrame) -> float:
    """Distance covered: sum of stride lengths per side, averaged over the sides with data."""
    length = _num(strides, "stride_length_m")
    if not np.isfinite(length.to_numpy()).any():
        return float("nan")
    sides = strides["side"].astype(str) if "side" in strides else pd.Series("unknown",
                                                                             index=strides.index)
    per_side = length.groupby(sides).sum(min_count=1).dropna()
    return float(per_side.mean()) if len(per_side) else float("nan")


def _finite_or_nan(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v if np.isfinite(v) else float("nan")


def session_summary(strides: pd.DataFrame, laps: pd.DataFrame, cues: pd.DataFrame,
                    analysis_summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Session-level numbers of the report and of ``summary.json`` (keys carry their unit).

    Values given by the analysis (``analysis_summary["distance_m"]``, ``["duration_s"]``) win
    over the ones estimated here. NaN means unknown.
    """
    analysis_summary = analysis_summary or {}
    s = usable_strides(strides)
    start = _num(strides, "start_s")
    end = _num(strides, "end_s")
    duration = _finite_or_nan(analysis_summary.get("duration_s"))
    if not np.isfinite(duration) and len(strides):
        duration = float(end.max() - start.min())
    distance = _finite_or_nan(analysis_summary.get("distance_m"))
    if not np.isfinite(distance) and laps is not None and "distance_m" in laps and len(laps):
        lap_d = pd.to_numeric(laps["distance_m"], errors="coerce")
        if lap_d.notna().all():
            distance = float(lap_d.sum())
    if not np.isfinite(distance):
        distance = _distance_from_strides(whole_strides(strides))
    sides = strides["side"].astype(str) if "side" in strides else pd.Series(dtype=str)
    gap = (strides["gap_crossed"].fillna(False).astype(bool) if "gap_crossed" in strides
           else pd.Series(False, index=strides.index))

    def mean(col: str) -> float:
        v = _num(s, col).mean()
        return float(v) if np.isfinite(v) else float("nan")

    return {
        "duration_s": duration,
        "distance_m": distance,
        "n_strides": int(len(strides)),
        "n_strides_left": int((sides == LEFT).sum()),
        "n_strides_right": int((sides == RIGHT).sum()),
        "n_strides_gap": int(gap.sum()),
        "n_laps": int(len(laps)) if laps is not None else 0,
        "n_cues": int(len(cues)) if cues is not None else 0,
        "activity": strides_activity(strides),  # what the means describe
        "cadence_spm_mean": mean("cadence_spm"),
        "stride_length_m_mean": mean("stride_length_m"),
        "contact_time_s_mean": mean("contact_time_s"),
        "speed_mps_mean": mean("speed_mps"),
        "thigh_angle_ic_deg_mean": mean("thigh_angle_ic_deg"),
        "pelvis_tilt_mean_deg_mean": mean("pelvis_tilt_mean_deg"),
        "hip_extension_peak_deg_mean": mean("hip_extension_peak_deg"),
        "pelvis_rotation_sd_deg_mean": mean("pelvis_rotation_sd_deg"),
    }


def lap_splits(strides: pd.DataFrame, laps: pd.DataFrame) -> pd.DataFrame:
    """One row per lap: time, distance, pace and mean stride numbers.

    Returns
    -------
    pandas.DataFrame
        Columns ``lap``, ``start_s``, ``duration_s``, ``distance_m``, ``pace_s_per_km``,
        ``n_strides``, ``cadence_spm``, ``stride_length_m``, ``contact_time_s``,
        ``thigh_angle_ic_deg``.
    """
    cols = ["lap", "start_s", "duration_s", "distance_m", "pace_s_per_km", "n_strides",
            "cadence_spm", "stride_length_m", "contact_time_s", "thigh_angle_ic_deg"]
    if laps is None or laps.empty:
        return pd.DataFrame(columns=cols)
    s = usable_strides(strides)
    lap_of = (s["lap"] if "lap" in s else pd.Series(np.nan, index=s.index)).to_numpy()
    lap_of_all = strides["lap"].to_numpy() if "lap" in strides else None
    means = ("cadence_spm", "stride_length_m", "contact_time_s", "thigh_angle_ic_deg")
    values = {c: _num(s, c) for c in means}
    whole = whole_strides(strides)  # distances count the strides of every activity
    rows = []
    for _, lap in laps.sort_values("lap").iterrows():
        n = int(lap["lap"])
        rows_n = np.flatnonzero(lap_of == n)
        start = _finite_or_nan(lap.get("start_s"))
        dur = _finite_or_nan(lap.get("duration_s"))
        if not np.isfinite(dur):
            dur = _finite_or_nan(lap.get("end_s")) - start
        dist = _finite_or_nan(lap.get("distance_m"))
        if not np.isfinite(dist):
            in_lap = whole[whole["lap"] == n] if "lap" in whole else whole.iloc[0:0]
            dist = _distance_from_strides(in_lap)
        rows.append({
            "lap": n, "start_s": start, "duration_s": dur, "distance_m": dist,
            "pace_s_per_km": dur / dist * 1000.0 if np.isfinite(dist) and dist > 0 else np.nan,
            "n_strides": int((lap_of_all == n).sum()) if lap_of_all is not None else 0,
            **{c: values[c].iloc[rows_n].mean() for c in means},
        })
    return pd.DataFrame(rows, columns=cols)
