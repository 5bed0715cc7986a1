"""Cue rules: decide, stride by stride, when to tell the runner something and when to stay quiet.

The engine is fed one finished stride at a time (a mapping of the per-stride metric columns), in
the order strides end, by the live session and by the batch analysis alike, so a replayed session
gives the cues live gave. Every rule has:

- a metric (a stride column), a direction (``above`` or ``below``) and a threshold, absolute or
  relative to a personal baseline (``baseline + delta`` or ``baseline * (1 + fraction)``);
- a ``k`` of ``n`` vote: the rule becomes active when at least ``k`` of the last ``n`` valid
  strides are beyond the threshold, and inactive again when at most ``k_off`` of the last ``n`` are
  beyond ``threshold -/+ hysteresis`` (so a value that hovers at the threshold does not flap);
- a priority: when several rules want to speak, the one with the highest priority speaks;
- a minimum gap between two cues of any rule (``min_gap_s``) and a repeat interval while a rule
  stays active (``repeat_s``).

Nothing is said while every rule is inactive.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stridecue import constants as c

CUE_COLUMNS = (
    c.TIME_S,
    "rule",
    "message",
    "stride_index",
    c.SIDE,
    "value",
    "threshold",
    "unit",
    "priority",
)


@dataclass(frozen=True)
class CueRule:
    """One cue rule (see module docs).

    Attributes
    ----------
    name
        Rule id: ``overstride``, ``cadence``, ``anterior_tilt``, ``rotation_instability``,
        ``hip_extension_asymmetry``.
    metric
        Stride column the rule watches.
    direction
        ``above``: cue when the metric exceeds the threshold; ``below``: when it falls under it.
    threshold
        Absolute threshold in the metric's unit; ignored when ``baseline_delta`` or
        ``baseline_fraction`` is set and a baseline exists.
    baseline_delta, baseline_fraction
        Threshold relative to the runner's baseline of the metric: ``baseline + delta`` or
        ``baseline * (1 + fraction)`` (signed: the cadence rule's +0.05 sets a target 5 % above
        the baseline and cues while the cadence stays below it).
    """

    name: str
    metric: str
    direction: str
    message: str
    unit: str
    threshold: float = math.nan
    baseline_delta: float | None = None
    baseline_fraction: float | None = None
    hysteresis: float = 0.0
    k: int = 3
    n: int = 5
    k_off: int = 1
    priority: int = 1
    repeat_s: float = 20.0
    enabled: bool = True
    per_side: bool = False
    activities: tuple[str, ...] = (c.RUNNING,)  # strides of other activities are ignored


def default_rules() -> list[CueRule]:
    """The rules the rehab advice asks for, with conservative defaults.

    Overstride uses an absolute threshold (a baseline taken while overstriding would hide it);
    the others are relative to the runner's own baseline.
    """
    return [
        CueRule(
            name="overstride",
            metric="thigh_angle_ic_deg",
            direction="above",
            threshold=26.0,
            hysteresis=1.5,
            k=2,
            n=3,
            k_off=0,
            priority=5,
            repeat_s=20.0,
            message="Shorter stride, land under you",
            unit="deg",
        ),
        CueRule(
            name="cadence",
            metric=c.CADENCE_SPM,
            direction="below",
            baseline_fraction=0.05,
            hysteresis=1.5,
            k=4,
            n=6,
            priority=3,
            message="Quicker, lighter steps",
            unit="spm",
            enabled=False,
        ),
        CueRule(
            name="anterior_tilt",
            metric="pelvis_tilt_mean_deg",
            direction="above",
            baseline_delta=4.0,
            hysteresis=1.0,
            k=4,
            n=6,
            priority=4,
            message="Tuck the pelvis, run tall",
            unit="deg",
        ),
        CueRule(
            name="rotation_instability",
            metric="pelvis_rotation_range_deg",
            direction="above",
            baseline_delta=4.0,
            hysteresis=1.0,
            k=5,
            n=8,
            priority=2,
            message="Steady the hips, quiet the twist",
            unit="deg",
        ),
        CueRule(
            name="hip_extension_asymmetry",
            metric="hip_extension_peak_asymmetry_deg",
            direction="above",
            threshold=6.0,
            hysteresis=1.0,
            k=6,
            n=8,
            priority=1,
            message="Push back evenly with both legs",
            unit="deg",
        ),
    ]


@dataclass
class Cue:
    """A cue given, with the stride and numbers that triggered it."""

    time_s: float
    rule: str
    message: str
    stride_index: int
    side: str
    value: float
    threshold: float
    unit: str
    priority: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {k: getattr(self, k) for k in CUE_COLUMNS}


@dataclass
class _RuleState:
    beyond: deque[bool] = field(default_factory=deque)
    beyond_off: deque[bool] = field(default_factory=deque)
    values: deque[float] = field(default_factory=deque)
    active: bool = False
    last_cue_s: float = -math.inf


class CueEngine:
    """Stride-by-stride cue decisions (see module docs).

    Parameters
    ----------
    rules
        The rules; ``default_rules()`` when None.
    baseline
        Personal baseline value per metric (e.g. from the first minutes or an earlier session).
    min_gap_s
        Minimum time between two cues of any rule.
    """

    def __init__(
        self,
        rules: list[CueRule] | None = None,
        *,
        baseline: Mapping[str, float] | None = None,
        min_gap_s: float = 6.0,
    ) -> None:
        self.rules = [r for r in (rules if rules is not None else default_rules()) if r.enabled]
        self.baseline = dict(baseline or {})
        self.min_gap_s = min_gap_s
        self._state: dict[tuple[str, str], _RuleState] = {}
        self._last_cue_s = -math.inf
        self.cues_: list[Cue] = []

    def threshold(self, rule: CueRule) -> float:
        """The threshold in force for a rule (NaN when it needs a baseline that is missing)."""
        base = self.baseline.get(rule.metric)
        if rule.baseline_delta is not None:
            return base + rule.baseline_delta if base is not None else math.nan
        if rule.baseline_fraction is not None:
            return base * (1.0 + rule.baseline_fraction) if base is not None else math.nan
        return rule.threshold

    def update(self, stride: Mapping[str, Any], stride_index: int) -> list[Cue]:
        """Feed one finished stride; returns the cue to give now (at most one) as a list."""
        t = float(stride.get(c.STRIDE_END_S, math.nan))
        side = str(stride.get(c.SIDE, c.UNKNOWN))
        candidates: list[tuple[CueRule, float, float]] = []
        activity = stride.get("activity", c.RUNNING)
        for rule in self.rules:
            if activity not in rule.activities:
                continue
            value = stride.get(rule.metric, math.nan)
            value = float(value) if value is not None else math.nan
            thr = self.threshold(rule)
            if math.isnan(value) or math.isnan(thr):
                continue
            key = (rule.name, side if rule.per_side else "")
            st = self._state.setdefault(key, _RuleState())
            sign = 1.0 if rule.direction == "above" else -1.0
            st.beyond.append(sign * (value - thr) > 0)
            st.beyond_off.append(sign * (value - (thr - sign * rule.hysteresis)) > 0)
            st.values.append(value)
            while len(st.beyond) > rule.n:
                st.beyond.popleft()
                st.beyond_off.popleft()
                st.values.popleft()
            if not st.active and sum(st.beyond) >= rule.k:
                st.active = True
            elif st.active and sum(st.beyond_off) <= rule.k_off:
                st.active = False
            if st.active and t - st.last_cue_s >= rule.repeat_s:
                candidates.append((rule, value, thr))
        if not candidates or t - self._last_cue_s < self.min_gap_s:
            return []
        rule, value, thr = max(candidates, key=lambda x: x[0].priority)
        st = self._state[(rule.name, side if rule.per_side else "")]
        st.last_cue_s = t
        self._last_cue_s = t
        cue = Cue(
            time_s=t,
            rule=rule.name,
            message=rule.message,
            stride_index=stride_index,
            side=side,
            value=round(value, 3),
            threshold=round(thr, 3),
            unit=rule.unit,
            priority=rule.priority,
        )
        self.cues_.append(cue)
        return [cue]

    def active_rules(self) -> list[str]:
        """Names of the rules currently active."""
        return sorted({name for (name, _), st in self._state.items() if st.active})


def run_cues(
    strides: pd.DataFrame,
    *,
    rules: list[CueRule] | None = None,
    baseline: Mapping[str, float] | None = None,
    min_gap_s: float = 6.0,
) -> pd.DataFrame:
    """Feed a stride table through a fresh engine in stride-end order; the cues as a table."""
    engine = CueEngine(rules, baseline=baseline, min_gap_s=min_gap_s)
    if len(strides):
        ordered = strides.sort_values(c.STRIDE_END_S, kind="stable")
        for idx, row in zip(ordered.index, ordered.to_dict("records"), strict=True):
            engine.update(row, int(idx))
    return pd.DataFrame([cue.as_dict() for cue in engine.cues_], columns=list(CUE_COLUMNS))
