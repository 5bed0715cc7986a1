"""Running stride length from what the sacrum and thigh sensors see, with a per-runner scale.

Model
-----
The body's mean forward speed equals the distance it travels over its stance foot divided by the
contact time, so a stride covers ``stride_length = L_c * stride_time / contact_time`` where
``L_c`` is the contact length (how far the pelvis travels over the planted foot):

- with a thigh sensor on the stride's side: ``L_c = L * (sin(theta_ic) - sin(theta_to))``, the
  foot's horizontal travel under the hip between initial contact (thigh flexed by ``theta_ic``)
  and toe-off (thigh extended, ``theta_to`` negative), ``L`` the leg length;
- without: ``L_c = 2 * L * sin(phi)`` with ``cos(phi) = 1 - dz / L``, the arc of a leg of length
  ``L`` that lowers the pelvis by ``dz`` (the sacrum's drop from IC to its lowest point in
  stance, from double integration).

Both geometries ignore the knee and ankle, so each carries a systematic, runner-specific error;
one scale factor per runner absorbs it. It is fitted from a known distance (a 400 m lap marked
by a double tap or a key press): ``scale = known_distance / predicted_distance``, and then applies
to every later stride. The expected error after one calibration lap is reported in
``bench/REPORT.md`` (simulator and the treadmill recordings with known belt speed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stridecue import constants as c

#: Leg length (greater trochanter to floor) as a fraction of body height (anthropometric tables).
LEG_LENGTH_PER_HEIGHT = 0.53


def leg_length_m(athlete: dict[str, float] | None) -> float:
    """Leg length from the athlete settings: ``leg_length_m``, else 0.53 x ``height_m``, else 0.93 m."""
    athlete = athlete or {}
    if athlete.get("leg_length_m"):
        return float(athlete["leg_length_m"])
    if athlete.get("height_m"):
        return LEG_LENGTH_PER_HEIGHT * float(athlete["height_m"])
    return LEG_LENGTH_PER_HEIGHT * 1.75


def contact_length_from_thigh_m(
    thigh_angle_ic_deg: np.ndarray, thigh_angle_to_deg: np.ndarray, *, leg_length_m: float
) -> np.ndarray:
    """Contact length from the thigh angles at IC and toe-off (rigid-leg geometry)."""
    ic = np.radians(np.asarray(thigh_angle_ic_deg, float))
    to = np.radians(np.asarray(thigh_angle_to_deg, float))
    return leg_length_m * (np.sin(ic) - np.sin(to))


def contact_length_from_drop_m(drop_m: np.ndarray, *, leg_length_m: float) -> np.ndarray:
    """Contact length from the pelvis drop during stance (arc of a rigid leg)."""
    dz = np.clip(np.asarray(drop_m, float), 0.0, 0.5 * leg_length_m)
    cos_phi = 1.0 - dz / leg_length_m
    return 2.0 * leg_length_m * np.sqrt(np.clip(1.0 - cos_phi**2, 0.0, None))


def stance_drop_m(
    strides: pd.DataFrame, time_s: np.ndarray, acc_vertical_mps2: np.ndarray
) -> np.ndarray:
    """The sacrum's drop from IC to its lowest point during contact, per stride (m).

    The vertical specific force minus its stride mean is integrated twice over the stride, with
    the velocity's mean and the position's linear trend removed (periodic motion).
    """
    out = np.full(len(strides), np.nan)
    for k, row in enumerate(strides.itertuples(index=False)):
        if not math.isfinite(row.contact_time_s):
            continue
        i0, i1 = np.searchsorted(time_s, [row.start_s, row.end_s])
        if i1 - i0 < 10:
            continue
        t = time_s[i0:i1]
        dt = np.diff(t, prepend=t[0])
        a = acc_vertical_mps2[i0:i1]
        a = a - np.mean(a)
        v = np.cumsum(a * dt)
        v -= np.mean(v)
        p = np.cumsum(v * dt)
        p -= np.polyval(np.polyfit(t - t[0], p, 1), t - t[0])
        n_contact = int(np.searchsorted(t, row.start_s + row.contact_time_s))
        if n_contact < 2:
            continue
        out[k] = float(p[0] - np.min(p[:n_contact]))
    return out


def running_stride_length_m(
    strides: pd.DataFrame,
    *,
    leg_length_m: float,
    stance_drop_m: np.ndarray | None = None,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated-or-scaled stride length per running stride and the model used.

    Parameters
    ----------
    strides
        Stride table with ``stride_time_s``, ``contact_time_s``, and where available
        ``thigh_angle_ic_deg`` / ``thigh_angle_to_deg``.
    leg_length_m
        Leg length, m.
    stance_drop_m
        Per-stride pelvis drop during stance (m), for strides without thigh angles.
    scale
        Per-runner scale (1.0 = uncalibrated).

    Returns
    -------
    stride_length_m, model
        Lengths (m; NaN where neither model applies) and per-stride ``thigh`` | ``sacrum`` | ``""``.
    """
    n = len(strides)
    contact = strides[c.CONTACT_TIME_S].to_numpy(float)
    stride_time = strides[c.STRIDE_TIME_S].to_numpy(float)
    lc = np.full(n, np.nan)
    model = np.full(n, "", dtype=object)
    if "thigh_angle_ic_deg" in strides and "thigh_angle_to_deg" in strides:
        thigh = contact_length_from_thigh_m(
            strides["thigh_angle_ic_deg"].to_numpy(float),
            strides["thigh_angle_to_deg"].to_numpy(float),
            leg_length_m=leg_length_m,
        )
        ok = np.isfinite(thigh) & (thigh > 0)
        lc[ok] = thigh[ok]
        model[ok] = "thigh"
    if stance_drop_m is not None:
        drop = contact_length_from_drop_m(stance_drop_m, leg_length_m=leg_length_m)
        ok = ~np.isfinite(lc) & np.isfinite(drop) & (drop > 0)
        lc[ok] = drop[ok]
        model[ok] = "sacrum"
    with np.errstate(invalid="ignore", divide="ignore"):
        length = scale * lc * stride_time / contact
    length[~np.isfinite(length)] = np.nan
    return length, model


def fit_scale_from_laps(
    strides: pd.DataFrame, laps: pd.DataFrame, length_column: str
) -> tuple[float, int | None]:
    """Scale from the first complete lap: known distance / predicted distance.

    Strides overlap by one step, so the distance covered in a lap is half the sum of the stride
    lengths that start in it; strides missing inside the lap (NaN lengths, skipped events) are
    accounted for by the fraction of the lap's time the measured strides cover. Returns
    ``(scale, lap)``, or ``(nan, None)`` when no lap has enough measured strides.
    """
    if not len(laps) or not len(strides):
        return math.nan, None
    for lap in laps.itertuples(index=False):
        if not math.isfinite(lap.distance_m):
            continue
        inside = (strides[c.STRIDE_START_S] >= lap.start_s) & (strides[c.STRIDE_START_S] < lap.end_s)
        lengths = strides.loc[inside, length_column].to_numpy(float)
        covered = np.isfinite(lengths)
        if covered.sum() < 20:
            continue
        t_cov = strides.loc[inside, c.STRIDE_TIME_S].to_numpy(float)[covered].sum()
        predicted = lengths[covered].sum() * (lap.end_s - lap.start_s) / t_cov
        if predicted > 0:
            return float(lap.distance_m / predicted), int(lap.lap)
    return math.nan, None
