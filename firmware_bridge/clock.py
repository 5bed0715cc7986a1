"""Sensor-to-host clock mapping: u32 timestamp unwrapping and lower-envelope clock fits.

Model: ``host_time_s = host_ref_s + (sensor_time_s - sensor_ref_s) * (1 + drift_ppm * 1e-6)``.

Each notification gives a pair (sensor time of its first sample, host arrival time). Their
difference ``arrival - sensor`` is ``offset + drift * sensor + delay`` with ``delay >= 0``
(radio scheduling, connection-interval waiting, host stack). As in NTP's minimum-delay filter,
the pairs with the smallest delay carry the clock; the others only add noise. The fit is the
line *below all points* that is closest to them on average: an edge of the lower convex hull of
``(sensor, arrival - sensor)``, namely the edge spanning the mean sensor time (that line
minimises the mean vertical distance subject to staying below every point).

What a host-side fit cannot see: the constant part of the delay (minimum radio latency, the
time to fill a packet). It is absorbed in the offset and is the same for every sensor of the
same model and configuration; only a physical event seen by all sensors can check it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, overload

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

_WRAP_US: Final = 1 << 32
_HALF_WRAP_US: Final = 1 << 31


# =============================================================================================
# Unwrapping
# =============================================================================================
def unwrap_sensor_time_us(values_us: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Unwrap a sequence of u32 microsecond timestamps into a monotonic-ish int64 sequence.

    Each value is placed in the wrap epoch nearest to the previous one, so small backward
    steps (reordered or backfilled packets) are kept as backward steps, not as a wrap.

    Parameters
    ----------
    values_us
        u32 timestamps in arrival order.

    Returns
    -------
    numpy.ndarray
        int64 microseconds, starting in the epoch of the first value.
    """
    raw = np.asarray(values_us, dtype=np.int64) % _WRAP_US
    if raw.size == 0:
        return raw
    steps = np.diff(raw)
    steps = (steps + _HALF_WRAP_US) % _WRAP_US - _HALF_WRAP_US
    out = np.empty_like(raw)
    out[0] = raw[0]
    np.cumsum(steps, out=out[1:])
    out[1:] += raw[0]
    return out


class SensorTimeUnwrapper:
    """Online version of :func:`unwrap_sensor_time_us` (state: the newest unwrapped value).

    Values are placed nearest to the newest value seen so far, so a backfilled packet from the
    past keeps its place instead of jumping one wrap ahead.
    """

    def __init__(self) -> None:
        self._newest_us: int | None = None

    def reset(self) -> None:
        """Forget the state (after a sensor reboot)."""
        self._newest_us = None

    def update(self, value_us: int) -> int:
        """Unwrap one u32 value; returns int microseconds."""
        value_us %= _WRAP_US
        if self._newest_us is None:
            self._newest_us = value_us
            return value_us
        step = (value_us - self._newest_us + _HALF_WRAP_US) % _WRAP_US - _HALF_WRAP_US
        unwrapped = self._newest_us + step
        self._newest_us = max(self._newest_us, unwrapped)
        return unwrapped


# =============================================================================================
# Clock model and fits
# =============================================================================================
@dataclass(frozen=True)
class ClockModel:
    """A linear sensor-to-host clock mapping.

    Parameters
    ----------
    sensor_ref_s
        A sensor time the model is anchored at (seconds, unwrapped).
    host_ref_s
        Host time at ``sensor_ref_s``.
    drift_ppm
        How much faster the host clock runs than the sensor's, in parts per million (a sensor
        crystal that runs slow gives a positive value).
    """

    sensor_ref_s: float
    host_ref_s: float
    drift_ppm: float

    @property
    def rate(self) -> float:
        """Host seconds per sensor second."""
        return 1.0 + self.drift_ppm * 1e-6

    @property
    def offset_s(self) -> float:
        """Host minus sensor time at ``sensor_ref_s``."""
        return self.host_ref_s - self.sensor_ref_s

    @overload
    def to_host(self, sensor_time_s: float) -> float: ...

    @overload
    def to_host(self, sensor_time_s: FloatArray) -> FloatArray: ...

    def to_host(self, sensor_time_s: float | FloatArray) -> float | FloatArray:
        """Map sensor time (s, unwrapped) to host time (s)."""
        return self.host_ref_s + (sensor_time_s - self.sensor_ref_s) * self.rate


def _lower_hull(x: FloatArray, y: FloatArray) -> list[int]:
    """Indices of the lower convex hull of points sorted by x (Andrew's monotone chain)."""
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (x[a] - x[o]) * (y[i] - y[o]) - (y[a] - y[o]) * (x[i] - x[o])
            if cross <= 0.0:
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def lower_envelope_line(x: FloatArray, y: FloatArray) -> tuple[float, float, float]:
    """The line below all points ``(x, y)`` closest to them on average.

    Parameters
    ----------
    x, y
        Point coordinates (any order). ``x`` should be centred near 0 for accuracy.

    Returns
    -------
    tuple of float
        ``(x_ref, y_ref, slope)``: the line is ``y = y_ref + slope * (x - x_ref)``.
    """
    order = np.argsort(x, kind="stable")
    xs = np.asarray(x, dtype=np.float64)[order]
    ys = np.asarray(y, dtype=np.float64)[order]
    x_mean = float(xs.mean())
    if xs.size == 1 or xs[-1] - xs[0] <= 0.0:
        return x_mean, float(ys.min()), 0.0
    hull = _lower_hull(xs, ys)
    for a, b in zip(hull[:-1], hull[1:], strict=True):
        if xs[b] >= x_mean:
            slope = float((ys[b] - ys[a]) / (xs[b] - xs[a]))
            return float(xs[a]), float(ys[a]), slope
    a, b = hull[-2], hull[-1]
    return float(xs[a]), float(ys[a]), float((ys[b] - ys[a]) / (xs[b] - xs[a]))


def fit_clock(sensor_time_s: npt.ArrayLike, arrival_time_s: npt.ArrayLike) -> ClockModel:
    """Offline whole-session lower-envelope clock fit.

    Parameters
    ----------
    sensor_time_s
        Sensor time of each notification's first sample (seconds, unwrapped).
    arrival_time_s
        Host arrival time of each notification (seconds).

    Returns
    -------
    ClockModel

    Raises
    ------
    ValueError
        Empty or mismatched inputs.
    """
    sensor, arrival = _finite_pairs(sensor_time_s, arrival_time_s)
    origin = float(sensor[0])
    x_ref, d_ref, slope = lower_envelope_line(sensor - origin, arrival - sensor)
    return ClockModel(
        sensor_ref_s=origin + x_ref, host_ref_s=origin + x_ref + d_ref, drift_ppm=slope * 1e6
    )


def _finite_pairs(
    sensor_time_s: npt.ArrayLike, arrival_time_s: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    sensor = np.asarray(sensor_time_s, dtype=np.float64)
    arrival = np.asarray(arrival_time_s, dtype=np.float64)
    if sensor.shape != arrival.shape or sensor.ndim != 1 or sensor.size == 0:
        raise ValueError(
            f"need two equal-length 1-d arrays, got {sensor.shape} and {arrival.shape}"
        )
    ok = np.isfinite(sensor) & np.isfinite(arrival)
    if not ok.any():
        raise ValueError("no finite (sensor_time_s, arrival_time_s) pairs")
    return sensor[ok], arrival[ok]


def fit_clock_boots(
    pairs: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
) -> list[ClockModel]:
    """Whole-session fit of one sensor across reboots: one drift, one offset per boot.

    A reboot restarts the sensor's clock but not its crystal, so every boot shares the drift.
    The drift is the one whose per-boot supporting lines (each below all of its boot's points)
    lie closest to the points on average, summed over the boots; with a single boot this is
    :func:`fit_clock`. The optimum is at the slope of one of the boots' lower-hull edges, so
    those are the candidates.

    Parameters
    ----------
    pairs
        ``(sensor_time_s, arrival_time_s)`` per boot, as for :func:`fit_clock`.

    Returns
    -------
    list of ClockModel
        One per boot, in order, all with the same ``drift_ppm``.

    Raises
    ------
    ValueError
        No boot, or a boot with empty or mismatched inputs.
    """
    if not pairs:
        raise ValueError("need the pairs of at least one boot")
    if len(pairs) == 1:
        return [fit_clock(*pairs[0])]
    boots = []  # origin, hull x, hull d, number of points, mean x, mean d
    slopes = [0.0]
    for sensor_time, arrival_time in pairs:
        sensor, arrival = _finite_pairs(sensor_time, arrival_time)
        origin = float(sensor[0])
        order = np.argsort(sensor, kind="stable")
        x = (sensor - origin)[order]
        d = (arrival - sensor)[order]
        hull = _lower_hull(x, d)
        xv, dv = x[hull], d[hull]
        slopes += list(np.diff(dv) / np.diff(xv)) if xv.size > 1 and xv[-1] > xv[0] else []
        boots.append((origin, xv, dv, x.size, float(x.mean()), float(d.mean())))
    candidates = np.unique(np.asarray(slopes))
    candidates = candidates[np.isfinite(candidates)]
    cost = np.zeros(candidates.size)
    for _origin, xv, dv, n, x_mean, d_mean in boots:
        offset = (dv[None, :] - candidates[:, None] * xv[None, :]).min(axis=1)
        cost += n * (d_mean - offset - candidates * x_mean)
    slope = float(candidates[int(np.argmin(cost))])
    models = []
    for origin, xv, dv, _n, _xm, _dm in boots:
        k = int(np.argmin(dv - slope * xv))
        models.append(ClockModel(sensor_ref_s=origin + float(xv[k]),
                                 host_ref_s=origin + float(xv[k] + dv[k]), drift_ppm=slope * 1e6))
    return models


def sensor_clock_error_ppm(model: ClockModel) -> float:
    """How fast the sensor's clock runs against the host's, in ppm (positive: sensor fast).

    The inverse view of ``model.drift_ppm`` (host seconds per sensor second): a sensor whose
    crystal runs 80 ppm fast counts ``1 + 80e-6`` sensor seconds per host second.
    """
    return (1.0 / model.rate - 1.0) * 1e6


@dataclass(frozen=True)
class FitUncertainty:
    """How much a whole-session clock fit depends on which part of the session it sees.

    Parameters
    ----------
    time_s
        Largest difference of mapped host time between the whole fit and a half fit, over that
        half.
    drift_ppm
        Largest difference of drift between the whole fit and a half fit.
    """

    time_s: float
    drift_ppm: float


def fit_uncertainty(sensor_time_s: npt.ArrayLike, arrival_time_s: npt.ArrayLike) -> FitUncertainty:
    """Split-half spread of :func:`fit_clock` (one boot; see :func:`fit_uncertainty_boots`)."""
    return fit_uncertainty_boots([(sensor_time_s, arrival_time_s)])


def fit_uncertainty_boots(
    pairs: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
) -> FitUncertainty:
    """Split-half spread of :func:`fit_clock_boots`.

    The pairs are split at the middle of the session's arrival-time span; each half is fitted
    on its own and compared with the whole fit (drift, and mapped host time over that half of
    each boot). When the lower envelope is pinned by many parts of the session the halves agree
    with the whole; when it rests on one step of the minimum delay (the beat between packet
    period and connection interval moves it in steps tens of seconds apart) they disagree by
    about as much as the whole fit may be wrong. In simulated links (``tests/test_clock.py``'s
    model, 7.5 ms interval, 20 seeds) the drift spread covered the true drift error in 20 of 20
    60 s and 600 s sessions and 18 of 20 120 s sessions. Like every host-side figure it cannot
    see the constant part of the delay (see the module notes).

    Parameters
    ----------
    pairs
        ``(sensor_time_s, arrival_time_s)`` per boot, as for :func:`fit_clock_boots`.

    Returns
    -------
    FitUncertainty
        NaN fields when a half holds fewer than 10 pairs.
    """
    boots = [_finite_pairs(sensor, arrival) for sensor, arrival in pairs]
    nan = FitUncertainty(float("nan"), float("nan"))
    every_arrival = np.concatenate([arrival for _sensor, arrival in boots])
    middle = 0.5 * (float(every_arrival.min()) + float(every_arrival.max()))
    full = fit_clock_boots(boots)
    worst_s = worst_ppm = 0.0
    for first_half in (True, False):
        parts, models = [], []
        for (sensor, arrival), model in zip(boots, full, strict=True):
            half = (arrival < middle) if first_half else (arrival >= middle)
            if half.any():
                parts.append((sensor[half], arrival[half]))
                models.append(model)
        if sum(sensor.size for sensor, _arrival in parts) < 10:
            return nan
        for (sensor, _arrival), part, whole in zip(parts, fit_clock_boots(parts), models,
                                                   strict=True):
            # both mappings are lines: the largest difference over the half is at one of its ends
            ends = np.array([sensor.min(), sensor.max()])
            worst_s = max(worst_s, float(np.abs(part.to_host(ends) - whole.to_host(ends)).max()))
            worst_ppm = max(worst_ppm, abs(part.drift_ppm - whole.drift_ppm))
    return FitUncertainty(worst_s, worst_ppm)


def fit_clock_least_squares(
    sensor_time_s: npt.ArrayLike, arrival_time_s: npt.ArrayLike
) -> ClockModel:
    """Ordinary least-squares fit of arrival on sensor time (for comparison only).

    Its offset includes the *mean* delay rather than the minimum one, and delay bursts pull it.
    """
    sensor = np.asarray(sensor_time_s, dtype=np.float64)
    arrival = np.asarray(arrival_time_s, dtype=np.float64)
    origin = float(sensor[0])
    slope, intercept = np.polyfit(sensor - origin, arrival - sensor, 1)
    return ClockModel(sensor_ref_s=origin, host_ref_s=origin + intercept, drift_ppm=slope * 1e6)


class ClockFit:
    """Online lower-envelope clock fit over a sliding window of sensor time.

    The window is cut into buckets of ``bucket_s`` sensor seconds; each bucket keeps only its
    minimum-delay pair. The line is refitted (lower hull of the bucket minima, edge spanning
    their mean) whenever a bucket closes, and on every update during the first buckets.
    Deterministic: the same updates give the same model.

    Parameters
    ----------
    window_s
        Length of the sliding window in sensor seconds.
    bucket_s
        Bucket length in sensor seconds.

    Notes
    -----
    The window must be long against the beat between packet period and connection interval:
    when they are commensurate (50 ms packets, 15 ms interval) the minimum delay follows a
    sawtooth of a few ms that slides with the drift, and a 60 s window mistakes it for drift.
    300 s gave p50 0.13 ms, p95 2.1 ms, max 5.5 ms (early on) in the simulated link of
    ``tests/test_clock.py``.
    """

    def __init__(self, window_s: float = 300.0, bucket_s: float = 5.0) -> None:
        if not 0.0 < bucket_s < window_s:
            raise ValueError(f"need 0 < bucket_s < window_s, got {bucket_s}, {window_s}")
        self.window_s = window_s
        self.bucket_s = bucket_s
        self._buckets: deque[tuple[int, float, float]] = deque()  # (index, sensor, delay)
        self._current: tuple[int, float, float] | None = None
        self._model: ClockModel | None = None
        self.n_updates = 0

    def reset(self) -> None:
        """Forget everything (after a sensor reboot)."""
        self._buckets.clear()
        self._current = None
        self._model = None
        self.n_updates = 0

    @property
    def model(self) -> ClockModel | None:
        """The current model, or None before the first update."""
        return self._model

    @property
    def drift_ppm(self) -> float:
        """Current drift estimate in ppm (0 before two buckets exist)."""
        return 0.0 if self._model is None else self._model.drift_ppm

    @property
    def offset_s(self) -> float:
        """Current host-minus-sensor offset at the model's reference (NaN before any update)."""
        return float("nan") if self._model is None else self._model.offset_s

    def update(self, sensor_time_s: float, arrival_time_s: float) -> None:
        """Add one (sensor time of a packet's first sample, host arrival time) pair."""
        self.n_updates += 1
        delay = arrival_time_s - sensor_time_s
        index = int(sensor_time_s // self.bucket_s)
        current = self._current
        if current is None:
            self._current = (index, sensor_time_s, delay)
            self._refit()
            return
        if index == current[0]:
            if delay < current[2]:
                self._current = (index, sensor_time_s, delay)
                if len(self._buckets) < 3:
                    self._refit()
            return
        if index < current[0]:
            # A late (backfilled) packet: improve its old bucket's minimum if present.
            for k, (b_index, _s, b_delay) in enumerate(self._buckets):
                if b_index == index and delay < b_delay:
                    self._buckets[k] = (index, sensor_time_s, delay)
                    break
            return
        self._buckets.append(current)
        self._current = (index, sensor_time_s, delay)
        oldest_index = index - int(self.window_s / self.bucket_s)
        while self._buckets and self._buckets[0][0] < oldest_index:
            self._buckets.popleft()
        self._refit()

    def _refit(self) -> None:
        points = list(self._buckets)
        if self._current is not None:
            points.append(self._current)
        sensor = np.array([p[1] for p in points])
        delay = np.array([p[2] for p in points])
        origin = float(sensor[-1])
        if len(points) < 3:
            # Too short a baseline for a slope: a pure offset from the smallest delay.
            k = int(np.argmin(delay))
            self._model = ClockModel(
                sensor_ref_s=float(sensor[k]), host_ref_s=float(sensor[k] + delay[k]),
                drift_ppm=0.0,
            )
            return
        x_ref, d_ref, slope = lower_envelope_line(sensor - origin, delay)
        self._model = ClockModel(
            sensor_ref_s=origin + x_ref, host_ref_s=origin + x_ref + d_ref, drift_ppm=slope * 1e6
        )

    @overload
    def to_host(self, sensor_time_s: float) -> float: ...

    @overload
    def to_host(self, sensor_time_s: FloatArray) -> FloatArray: ...

    def to_host(self, sensor_time_s: float | FloatArray) -> float | FloatArray:
        """Map sensor time to host time with the current model.

        Raises
        ------
        RuntimeError
            Before the first :meth:`update`.
        """
        if self._model is None:
            raise RuntimeError("ClockFit.to_host called before any update()")
        return self._model.to_host(sensor_time_s)
