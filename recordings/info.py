"""What a session holds: sensors, samples expected/received/backfilled/lost, gaps, clock drift."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from recordings.session import Session
from stridecue import constants as c


def session_info(session: Session) -> dict[str, Any]:
    """A JSON-serialisable description of a session (what ``stridecue info --json`` prints).

    Per sensor: nominal rate, samples received (in the decoded table), expected (received + lost,
    from the ingest's sequence tracking), backfilled, lost, the gaps that could not be filled
    (sensor time and samples), decode errors, reboots, and the clock drift in ppm from the
    whole-session clock fit. ``alignment_error_ms`` estimates how well the sensors' samples line
    up on the session clock: the spread of each sensor's clock-fit residuals at the lower envelope
    (the fit's own uncertainty), combined over the sensors.
    """
    meta = session.meta
    stats = meta.get("stats", {})
    sensors: dict[str, Any] = {}
    residual_ms = []
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
                }
            )
            sensor_t = table[c.SENSOR_TIME_S].to_numpy(float)
            if len(t) > 100:
                # Drift of the host clock against the sensor clock from the decoded table.
                slope = np.polyfit(sensor_t - sensor_t[0], t - t[0], 1)[0]
                entry["clock_drift_ppm"] = float((slope - 1.0) * 1e6)
            res = st.get("clock_residual_ms")
            if res is not None and math.isfinite(res):
                residual_ms.append(float(res))
        else:
            entry.update({"samples_expected": None, "samples_backfilled": 0, "samples_lost": 0, "gaps": []})
        sensors[s.placement] = entry
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
        "alignment_error_ms": float(np.sqrt(np.sum(np.square(residual_ms)))) if residual_ms else None,
        "raw_log": stats.get("raw_log"),
    }
