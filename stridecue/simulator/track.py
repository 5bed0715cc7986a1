"""Path geometry: a straight line or lane 1 of a standard 400 m track (pure functions).

Lane 1 is measured 0.30 m from the kerb: two bends of radius 36.80 m and two straights of
(400 - 2 pi 36.80) / 2 = 84.39 m, so one lap is exactly 400 m. The runner goes counter-clockwise
(left turns), starting at the beginning of a straight heading along earth +x.
"""

from __future__ import annotations

import numpy as np

TRACK_BEND_RADIUS_M = 36.80
TRACK_LAP_M = 400.0
TRACK_STRAIGHT_M = (TRACK_LAP_M - 2.0 * np.pi * TRACK_BEND_RADIUS_M) / 2.0
_BEND_M = np.pi * TRACK_BEND_RADIUS_M


def path_pose(distance_m: np.ndarray, path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position and heading at a distance along the path.

    Parameters
    ----------
    distance_m
        Distance along the path from its origin (any real value; the track repeats).
    path
        ``"track"`` or ``"straight"``.

    Returns
    -------
    x_m, y_m, heading_rad
        Earth-frame position and heading (unwrapped: it grows by 2 pi per lap on the track).
    """
    s = np.asarray(distance_m, dtype=float)
    if path == "straight":
        return s.copy(), np.zeros_like(s), np.zeros_like(s)
    r = TRACK_BEND_RADIUS_M
    lap = np.floor(s / TRACK_LAP_M)
    u = s - lap * TRACK_LAP_M
    x = np.empty_like(u)
    y = np.empty_like(u)
    h = np.empty_like(u)
    b1 = TRACK_STRAIGHT_M
    b2 = b1 + _BEND_M
    b3 = b2 + TRACK_STRAIGHT_M
    m0 = u < b1
    m1 = (u >= b1) & (u < b2)
    m2 = (u >= b2) & (u < b3)
    m3 = u >= b3
    x[m0], y[m0], h[m0] = u[m0], 0.0, 0.0
    a = (u[m1] - b1) / r
    x[m1], y[m1], h[m1] = b1 + r * np.sin(a), r - r * np.cos(a), a
    x[m2], y[m2], h[m2] = b1 - (u[m2] - b2), 2.0 * r, np.pi
    a = (u[m3] - b3) / r
    x[m3], y[m3], h[m3] = -r * np.sin(a), r + r * np.cos(a), np.pi + a
    return x, y, h + 2.0 * np.pi * lap
