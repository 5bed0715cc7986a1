"""The result of analysing a session: what every output (CSV, JSON, report, history) is made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class AnalysisResult:
    """Everything the analysis of one session produced.

    Attributes
    ----------
    events
        One row per gait event: ``time_s``, ``event`` (``initial_contact`` | ``toe_off``),
        ``side`` (``left`` | ``right`` | ``unknown``).
    strides
        One row per stride: the contract columns (``stridecue.constants.STRIDE_CONTRACT_COLUMNS``)
        then ``STRIDE_METRIC_COLUMNS`` and the stability columns; units in every name.
    bouts
        ``start_s``, ``end_s``, ``activity`` (``still`` | ``walking`` | ``running``).
    laps
        ``lap`` (1-based), ``start_s``, ``end_s``, ``duration_s``, ``distance_m`` (NaN if unknown).
    cues
        ``time_s``, ``rule``, ``message``, ``stride_index``, ``side``, ``value``, ``threshold``,
        ``unit``: every cue with the numbers that triggered it.
    summary
        Session-level numbers (JSON-serialisable), see ``docs/metrics.md``.
    quality
        Per-sensor data quality: gaps, effective rate, sync verdict (JSON-serialisable).
    settings
        Every algorithm setting used, so that published values can be compared (JSON-serialisable).
    angles
        Optional per-sample anatomical angles on the session clock (``time_s`` + ``*_deg``).
    """

    events: pd.DataFrame
    strides: pd.DataFrame
    bouts: pd.DataFrame
    laps: pd.DataFrame
    cues: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    angles: pd.DataFrame | None = None
