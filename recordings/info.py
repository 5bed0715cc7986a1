"""What a session holds: sensors, samples expected/received/backfilled/lost, gaps, clock drift."""

from __future__ import annotations

import itertools
import math
from typing import Any

from recordings.session import Session
from stridecue import constants as c


def _clock_entry(clock: dict[str, Any]) -> dict[str, Any]:
    """Drift and fit uncertainty of one sensor from its whole-session clock fit (all boots)."""
    return {
        "clock_drift_ppm": clock.get("clock_error_ppm"),
        "clock_drift_uncertainty_ppm": clock.get("drift_uncertainty_ppm"),
        "clock_uncertainty_ms": clock.get("uncertainty_ms"),
    }


def session_info(session: Session) -> dict[str, Any]:
    """A JSON-serialisable description of a session (what ``stridecue info --json`` prints).

    Per sensor: nominal rate, samples received (in the decoded table), expected (received + lost,
    from the ingest's sequence tracking), backfilled, lost, the gaps that could not be filled
    (sensor time and samples), decode errors, reboots, and from the whole-session clock fit:

    ``clock_drift_ppm``
        How fast the sensor's clock runs against the host's, in ppm: positive when the sensor's
        crystal runs fast (the sign ``record --simulate --drift-ppm`` uses). One value for all
        boots of a sensor that rebooted (a reboot restarts its clock, not its crystal).
    ``clock_drift_uncertainty_ppm``, ``clock_uncertainty_ms``
        How far the drift, and the sensor's samples on the session clock, move when each half
        of the session is fitted on its own (:func:`firmware_bridge.clock.fit_uncertainty_boots`).

    ``alignment_error_ms`` estimates how well the sensors' samples line up on the session clock:
    the largest root-sum-square of two sensors' ``clock_uncertainty_ms`` (None with fewer than
    two fitted sensors). Like any host-side fit it cannot see a constant difference in radio
    latency between two links; only a physical event seen by both sensors can.
    """
    meta = session.meta
    stats = meta.get("stats", {})
    sensors: dict[str, Any] = {}
    duration = 0.0
    for s in session.sensors:
        table = session.samples(s.placement)
        t = table[c.TIME_S].to_numpy(float)
        st = stats.get(s.placement, {})
        entry: dict[str, Any] = {
            "protocol": s.protocol,
            "address": s.address,
            "sampling_rate_hz": s.sampling_rate_hz,
            "samples_received": int(len(table)),
            "start_s": float(t[0]) if len(t) else None,
            "end_s": float(t[-1]) if len(t) else None,
        }
        if len(t) > 1:
            duration = max(duration, float(t[-1] - t[0]))
            entry["effective_rate_hz"] = float((len(t) - 1) / (t[-1] - t[0]))
        if st:
            lost = int(st.get("samples_lost", 0))
            entry.update(
                {
                    "samples_expected": int(len(table)) + lost,
                    "samples_backfilled": int(st.get("samples_backfilled", 0)),
                    "samples_lost": lost,
                    "gaps": [
                        {"start_sensor_time_s": g[0], "end_sensor_time_s": g[1], "samples": g[2]}
                        for g in st.get("gaps", [])
                    ],
                    "decode_errors": st.get("decode_errors", {}),
                    "reboots": int(st.get("reboots", 0)),
                    **_clock_entry(st.get("clock", {})),
                }
            )
        else:
            entry.update({"samples_expected": None, "samples_backfilled": 0, "samples_lost": 0,
                          "gaps": [], **_clock_entry({})})
        sensors[s.placement] = entry
    uncertainties = [e["clock_uncertainty_ms"] for e in sensors.values()
                     if e.get("clock_uncertainty_ms") is not None]
    alignment = max(
        (math.hypot(a, b) for a, b in itertools.combinations(uncertainties, 2)), default=None
    )
    return {
        "path": str(session.path),
        "format_version": meta.get("format_version"),
        "software_version": meta.get("software_version"),
        "created_utc": meta.get("created_utc"),
        "source": meta.get("source"),
        "athlete": meta.get("athlete", {}),
        "finalized": bool(meta.get("finalized")),
        "repaired": bool(meta.get("repaired", False)),
        "duration_s": duration,
        "laps": int(len(session.laps)),
        "cues": int(len(session.cues)),
        "sensors": sensors,
        "alignment_error_ms": alignment,
        "raw_log": stats.get("raw_log"),
    }
