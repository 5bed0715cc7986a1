"""Samples of one sensor, arriving in pieces, put on the analysis grid in order.

The analysis runs on one uniform time grid per session: grid index ``i`` is at
``origin_s + i / sampling_rate_hz`` (the origin is the first sacrum sample). A grid point is
*decided* for a sensor once a sample at or after it has arrived (or the sensor is declared stale):
its value is then the linear interpolation between the two samples around it, which depends on
those two samples only, so the decided grid is the same however the samples were chunked.

:class:`Ring` is the growable, trimmable array behind every buffer of the streaming analysis:
values are addressed by absolute index, old ones are dropped when nothing needs them any more.
:class:`PointCache` holds values computed once per grid point.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["PointCache", "Ring", "SensorGrid"]


class Ring:
    """Rows addressed by absolute index ``[start, end)``; append at the end, trim at the start."""

    def __init__(self, width: int, dtype: type = float, *, start: int = 0) -> None:
        self._data = np.empty((256, width), dtype=dtype)
        self._off = 0  # row of _data holding absolute index `start`
        self.start = start
        self.end = start

    def append(self, rows: np.ndarray) -> None:
        """Append rows (shape (n, width))."""
        n = len(rows)
        used = self.end - self.start
        if self._off + used + n > len(self._data):
            cap = max(256, 2 * (used + n))
            new = np.empty((cap, self._data.shape[1]), dtype=self._data.dtype)
            new[:used] = self._data[self._off : self._off + used]
            self._data, self._off = new, 0
        self._data[self._off + used : self._off + used + n] = rows
        self.end += n

    def get(self, i0: int, i1: int) -> np.ndarray:
        """Rows ``[i0, i1)`` (a view); they must be held."""
        if i0 < self.start or i1 > self.end or i1 < i0:
            raise IndexError(f"rows [{i0}, {i1}) not held (holding [{self.start}, {self.end}))")
        return self._data[self._off + i0 - self.start : self._off + i1 - self.start]

    def trim(self, before: int) -> None:
        """Drop the rows before absolute index ``before``."""
        before = min(max(before, self.start), self.end)
        self._off += before - self.start
        self.start = before


class PointCache:
    """Rows that depend on their own grid point only (and on a key, e.g. the calibration).

    Each grid point is computed once, with every point ready so far (so a whole session fed at
    once computes them in long pieces), and again only when the key changes or rows before those
    held are asked for (then from the first row asked). Since every row depends on its own point
    only, the values do not depend on where the pieces end.

    Parameters
    ----------
    width
        Columns per row.
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self.ring = Ring(width)
        self.key: object = None

    def get(self, key: object, i0: int, i1: int, ready: int,
            compute: Callable[[int, int], np.ndarray]) -> np.ndarray:
        """Rows ``[i0, i1)``; ``compute(a, b)`` gives rows ``[a, b)``, ``ready`` bounds ``b``."""
        if key is not self.key or not self.ring.start <= i0 <= self.ring.end:
            self.ring, self.key = Ring(self.width, start=i0), key
        if self.ring.end < i1:
            self.ring.append(compute(self.ring.end, max(i1, ready)))
        return self.ring.get(i0, i1)

    def trim(self, before: int) -> None:
        """Drop the rows before absolute index ``before``."""
        self.ring.trim(before)


class SensorGrid:
    """One sensor's samples in, its decided grid values out (see module docs).

    Parameters
    ----------
    origin_s, sampling_rate_hz
        The analysis grid.
    sensor_rate_hz
        The sensor's own rate, when known. A grid point is valid within 0.75 sample of a real
        sample: of the grid's period, or of the sensor's when it samples slower than the grid
        (a 100 Hz thigh on a 200 Hz sacrum grid has points 5 ms from its samples everywhere).
    """

    #: Columns of every decided grid row.
    COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z", "valid")

    def __init__(self, *, origin_s: float, sampling_rate_hz: float,
                 sensor_rate_hz: float | None = None) -> None:
        self.origin_s = float(origin_s)
        self.fs = float(sampling_rate_hz)
        own = float(sensor_rate_hz) if sensor_rate_hz and sensor_rate_hz > 0 else self.fs
        self.valid_within_s = 0.75 / min(self.fs, own)
        self._t = np.zeros(0)
        self._x = np.zeros((0, 6))
        self.decided = 0  # grid points decided so far
        self.samples = 0
        self.first_index: int | None = None  # first grid index at or after the first sample
        self.has_gyroscope: bool | None = None
        self.has_magnetometer = False
        self.valid_points = 0
        self.gaps: list[list[int]] = []  # [first, last + 1) grid index of every run of invalid points
        self._first_time_s = math.nan

    def grid_time_s(self, i0: int, i1: int) -> np.ndarray:
        """Session times of grid indices ``[i0, i1)``."""
        return self.origin_s + np.arange(i0, i1) / self.fs

    def add(self, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray | None,
            mag_ut: np.ndarray | None = None) -> None:
        """Add samples (any order; samples behind the decided grid only fill its future)."""
        t = np.asarray(time_s, float)
        if not len(t):
            return
        if mag_ut is not None and np.isfinite(mag_ut).any():
            self.has_magnetometer = True
        if not self.samples:
            self._first_time_s = float(t[0])
        gyr = np.full((len(t), 3), np.nan) if gyr_radps is None else np.asarray(gyr_radps, float)
        x = np.hstack([np.asarray(acc_mps2, float), gyr])
        if self.has_gyroscope is None:
            self.has_gyroscope = bool(np.isfinite(gyr).all(axis=1).any())
        self.samples += len(t)
        if len(self._t) and t[0] <= self._t[-1] or np.any(np.diff(t) <= 0):
            t = np.concatenate([self._t, t])
            x = np.vstack([self._x, x])
            order = np.argsort(t, kind="stable")
            t, x = t[order], x[order]
            keep = np.concatenate([[True], np.diff(t) > 0])
            self._t, self._x = t[keep], x[keep]
        else:
            self._t = np.concatenate([self._t, t])
            self._x = np.vstack([self._x, x])
        if self.first_index is None:
            self.first_index = max(0, math.ceil((self._t[0] - self.origin_s) * self.fs - 1e-9))

    def _track_gaps(self, valid: np.ndarray, i0: int) -> None:
        first = self.first_index or 0
        self.valid_points += int(valid.sum())
        bad = ~valid
        bad[: max(0, first - i0)] = False  # before the sensor's first sample: not a gap
        edges = np.flatnonzero(np.diff(np.concatenate([[0], bad.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2] + i0, edges[1::2] + i0, strict=True):
            if self.gaps and self.gaps[-1][1] == start:
                self.gaps[-1][1] = int(stop)
            else:
                self.gaps.append([int(start), int(stop)])

    def quality(self, placement: str, n_points: int) -> tuple[dict, list[dict]]:
        """Per-sensor quality (samples, effective rate, gaps, coverage) and its gap list."""
        span = self.last_time_s - self._first_time_s
        gaps = [
            {"placement": placement, "start_s": self.origin_s + a / self.fs,
             "end_s": self.origin_s + b / self.fs, "duration_s": (b - a) / self.fs}
            for a, b in self.gaps if b < n_points  # a run reaching the end is the sensor's end
        ]
        return {
            "samples": int(self.samples),
            "effective_rate_hz": (self.samples - 1) / span if span > 0 else math.nan,
            "gaps": len(gaps),
            "gap_time_s": float(sum(g["duration_s"] for g in gaps)),
            "coverage": self.valid_points / n_points if n_points else math.nan,
            "has_gyroscope": bool(self.has_gyroscope),
            "has_magnetometer": self.has_magnetometer,
            "accelerometer_axes": 3,
        }, gaps

    @property
    def last_time_s(self) -> float:
        """Time of the latest sample held (NaN before any)."""
        return float(self._t[-1]) if len(self._t) else math.nan

    def available(self) -> int:
        """Grid points that can be decided now (those at or before the latest sample)."""
        if not len(self._t):
            return 0
        return int(math.floor((self._t[-1] - self.origin_s) * self.fs + 1e-9)) + 1

    def take(self, n: int) -> np.ndarray:
        """Decide the next ``n`` grid points: rows of :attr:`COLUMNS`.

        Points before the sensor's first sample, or beyond its latest one (a stale sensor), hold
        the nearest sample and are marked not valid; so are points more than 0.75 sample
        (``valid_within_s``) from any real sample (gaps are bridged linearly, as the orientation
        filter needs).
        """
        i0 = self.decided
        g = self.grid_time_s(i0, i0 + n)
        out = np.empty((n, 7))
        t = self._t
        if not len(t):
            out[:] = np.nan
            out[:, 6] = 0.0
            self.decided += n
            return out
        # The samples around these points: interpolating on them gives the same numbers as on
        # all the samples held (a whole session added at once) when they are all finite.
        lo = max(0, int(np.searchsorted(t, g[0], side="right")) - 1) if n else 0
        hi = min(len(t), int(np.searchsorted(t, g[-1])) + 1) if n else 0
        near_x = self._x[lo:hi]
        local = hi - lo > 1 and bool(np.isfinite(near_x).all())
        for k in range(6):
            if local:
                out[:, k] = np.interp(g, t[lo:hi], near_x[:, k])
                continue
            col = self._x[:, k]
            ok = np.isfinite(col)
            out[:, k] = np.interp(g, t[ok], col[ok]) if ok.sum() > 1 else np.nan
        idx = np.searchsorted(t, g)
        near = np.minimum(
            np.abs(g - t[np.clip(idx - 1, 0, len(t) - 1)]), np.abs(t[np.clip(idx, 0, len(t) - 1)] - g)
        )
        out[:, 6] = near <= self.valid_within_s
        self._track_gaps(out[:, 6] > 0, i0)
        self.decided += n
        # Keep the two samples around the next undecided point (and everything after).
        keep_from = max(0, int(np.searchsorted(t, self.origin_s + self.decided / self.fs)) - 2)
        if keep_from > 0:
            self._t, self._x = t[keep_from:], self._x[keep_from:]
        return out
