"""Laps from lap marks: key presses logged by the host, or a double tap on the sacrum sensor.

A lap mark is pressed (or tapped) when the runner crosses the lap line: the first mark starts
lap 1, every later mark ends the current lap and starts the next one. Running after the last
mark is not a lap. The known lap distance (400 m on a standard track, lane 1) gives each lap its
distance; stride length is calibrated from it (``gait.stride_length_running``).

Double taps: two sharp knocks on the sensor housing, 0.15-0.45 s apart. A knock is far sharper
than a running impact (the body low-passes foot strikes before they reach the sacrum), so taps are
found in the acceleration's content above ``tap_highpass_hz``, as peaks that stand out by a
factor over the typical foot-strike peak there.
"""

from __future__ import annotations

import math
from itertools import compress

import numpy as np
import pandas as pd
from scipy import signal as sps

from gait.signal import filtfilt_butter

LAP_COLUMNS = ("lap", "start_s", "end_s", "duration_s", "distance_m", "source")


def laps_from_marks(
    mark_times_s: np.ndarray, *, lap_distance_m: float | None, source: str = "key"
) -> pd.DataFrame:
    """Laps between consecutive marks (a mark closer than 20 s to the previous one is a repeat)."""
    marks = np.sort(np.asarray(mark_times_s, float))
    kept: list[float] = []
    for m in marks:
        if not kept or m - kept[-1] >= 20.0:
            kept.append(float(m))
    rows = []
    for i in range(len(kept) - 1):
        rows.append(
            {
                "lap": i + 1,
                "start_s": kept[i],
                "end_s": kept[i + 1],
                "duration_s": kept[i + 1] - kept[i],
                "distance_m": float(lap_distance_m) if lap_distance_m else np.nan,
                "source": source,
            }
        )
    return pd.DataFrame(rows, columns=list(LAP_COLUMNS))


def _running_median(values: list[float], *, half: int) -> list[float]:
    """Centred running median over ``2 half + 1`` values (fewer at the ends), NaN and inf left out.

    The numbers of pandas' ``rolling(2 half + 1, center=True, min_periods=1).median()``: the
    middle value, or the mean of the two middle values, of the window's values sorted.
    """
    finite = [math.isfinite(v) for v in values]
    out = []
    for j in range(len(values)):
        a, b = max(0, j - half), j + half + 1
        w = sorted(values[a:b] if all(finite[a:b]) else compress(values[a:b], finite[a:b]))
        k = len(w)
        out.append(math.nan if not k else w[k // 2] if k % 2 else (w[k // 2 - 1] + w[k // 2]) / 2)
    return out


def detect_double_taps(
    acc_mps2: np.ndarray,
    *,
    sampling_rate_hz: float,
    tap_highpass_hz: float = 30.0,
    min_factor: float = 3.0,
    min_peak_mps2: float = 8.0,
    gap_s: tuple[float, float] = (0.15, 0.45),
) -> np.ndarray:
    """Sample indices of double taps (the index of the second knock of each pair).

    Parameters
    ----------
    acc_mps2
        Sensor-frame acceleration, shape (N, 3), m/s^2 (NaN allowed).
    sampling_rate_hz
        Sampling rate, Hz; must be at least ``2.5 * tap_highpass_hz``.
    tap_highpass_hz
        High-pass cut-off isolating the knocks, Hz.
    min_factor
        A knock's high-passed magnitude must exceed this many times the typical peak of the
        surrounding 10 s (the median of the per-second maxima: foot strikes while running).
    min_peak_mps2
        ... and this absolute level.
    gap_s
        Allowed time between the two knocks of a double tap.
    """
    fs = float(sampling_rate_hz)
    acc = np.asarray(acc_mps2, float)
    if fs < 2.5 * tap_highpass_hz or len(acc) < int(fs):
        return np.zeros(0, int)
    if not np.isfinite(acc).all():
        acc = np.nan_to_num(acc)
    sq = filtfilt_butter(acc, order=4, cutoff_hz=tap_highpass_hz, btype="highpass",
                         sampling_rate_hz=fs) ** 2
    hp = np.sqrt((sq[:, 0] + sq[:, 1]) + sq[:, 2])  # numpy.linalg.norm(..., axis=1), its additions
    if not (hp > min_peak_mps2).any():  # no knock can pass the threshold
        return np.zeros(0, int)
    per = int(fs)
    n_sec = len(hp) // per
    sec_max = hp[: n_sec * per].reshape(n_sec, per).max(axis=1)
    typical = _running_median(sec_max.tolist(), half=5)  # the surrounding 11 s
    # threshold of each second; the samples after the last whole second take the last one's
    thr = np.maximum(min_factor * np.array(typical), min_peak_mps2)
    peaks, _ = sps.find_peaks(hp, distance=max(1, int(0.08 * fs)))
    knocks = peaks[hp[peaks] > thr[np.minimum(peaks // per, n_sec - 1)]]
    out = []
    i = 0
    while i < len(knocks) - 1:
        gap = (knocks[i + 1] - knocks[i]) / fs
        if gap_s[0] <= gap <= gap_s[1]:
            out.append(int(knocks[i + 1]))
            i += 2
        else:
            i += 1
    return np.asarray(out, int)
