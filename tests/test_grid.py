"""The sensor grid: decided values do not depend on how samples arrive or how points are taken."""

from __future__ import annotations

import numpy as np

from gait.grid import SensorGrid


def _take_all(grid: SensorGrid, sizes: np.ndarray, start: int) -> tuple[list[np.ndarray], int]:
    out = []
    k = start
    while grid.decided < grid.available():
        out.append(grid.take(max(1, min(int(sizes[k % len(sizes)]), grid.available() - grid.decided))))
        k += 1
    return out, k


def test_whole_session_at_once_equals_live_chunks() -> None:
    """A session added at once (batch) and one added in chunks (live) give the same grid rows
    bit for bit, whatever the take sizes: each point is interpolated between the samples
    around it, not over everything held."""
    rng = np.random.default_rng(5)
    fs = 200.0
    for _ in range(40):
        n = int(rng.integers(20, 3000))
        t = 0.3 + np.cumsum(rng.uniform(0.3, 1.7, n)) / fs  # jittered clock
        x = rng.normal(size=(n, 6)) * [10, 10, 10, 3, 3, 3]
        drop = rng.random(n) < 0.02  # lost samples
        t, x = t[~drop], x[~drop]
        sizes = rng.integers(1, 400, 50)
        batch = SensorGrid(origin_s=0.0, sampling_rate_hz=fs)
        batch.add(t, x[:, :3], x[:, 3:])
        rows_batch, _ = _take_all(batch, sizes, 0)
        live = SensorGrid(origin_s=0.0, sampling_rate_hz=fs)
        rows_live, k = [], 0
        cuts = np.unique(np.concatenate([[0], rng.integers(10, len(t), 30), [len(t)]]))
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            live.add(t[a:b], x[a:b, :3], x[a:b, 3:])
            got, k = _take_all(live, sizes, k)
            rows_live += got
        a_rows, b_rows = np.vstack(rows_batch), np.vstack(rows_live)
        assert np.array_equal(a_rows, b_rows)
        # and equal to interpolating over every sample, with the validity of the nearest sample
        g = np.arange(len(a_rows)) / fs
        for k in range(6):
            assert np.array_equal(a_rows[:, k], np.interp(g, t, x[:, k]))
        assert batch.gaps == live.gaps
