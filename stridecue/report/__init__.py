"""Coach-facing reports: the per-session stride report (self-contained HTML) and its findings.

Public API
----------
write_report(result, path, *, athlete=None, session_meta=None, mobility=None, history=None)
    Write one self-contained HTML stride report and return its path.
build_report_html(result, ...)
    The same markup as a string (pure).
all_findings, lap_side_table, session_summary, smallest_real_change, KEY_MEASURES
    The numbers and sentences behind the report (``stridecue.report.findings``).
"""

from __future__ import annotations

from stridecue.report.findings import (
    KEY_MEASURES,
    Finding,
    Measure,
    all_findings,
    lap_side_table,
    session_summary,
    smallest_real_change,
)
from stridecue.report.html import build_report_html, write_report

__all__ = [
    "KEY_MEASURES",
    "Finding",
    "Measure",
    "all_findings",
    "build_report_html",
    "lap_side_table",
    "session_summary",
    "smallest_real_change",
    "write_report",
]
