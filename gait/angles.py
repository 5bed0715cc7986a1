"""Anatomical angles of the pelvis, thighs and hips from sensor orientations and a calibration.

Conventions (full table in ``docs/conventions.md``)
---------------------------------------------------
The segment orientation is ``q_segment_to_earth = q_sensor_to_earth * conj(q_sensor_to_segment)``.
It is decomposed with ONE Cardan sequence, intrinsic z-x-y::

    R_segment_to_earth = Rz(yaw) @ Rx(frontal) @ Ry(sagittal)

first the heading about the earth vertical, then the frontal-plane angle about the (rotated)
anterior axis, then the sagittal angle about the (twice rotated) medio-lateral axis.

========================  ==========================  =========================================
column                    from                        positive when
========================  ==========================  =========================================
``pelvis_tilt_deg``       + sagittal (about +y left)  anterior tilt: front of the pelvis down
``pelvis_obliquity_deg``  + frontal (about +x fwd)    left side up, right side drops
``pelvis_rotation_deg``   yaw - travel heading        pelvis turns left (right side forward)
``thigh_angle_deg``       - sagittal of the thigh     flexion: knee ahead of the hip
``thigh_abduction_deg``   +/- frontal of the thigh    knee away from the midline (both sides)
``hip_flexion_deg``       thigh angle + pelvis tilt   flexion; negative = extension
========================  ==========================  =========================================

Standing in the calibration pose is zero for every angle (the calibration's neutral offsets are
subtracted). The travel heading removed from the pelvis yaw is, by default, a centred moving
average of the unwrapped yaw over one stride (``heading_window_s``): it follows a track bend and,
live, needs a look-ahead of half a window (0.35 s for the 0.7 s default).

The hip angle is computed in the sagittal plane as thigh angle + pelvis tilt rather than from the
relative rotation of the two sensors, because a 6D orientation filter gives each sensor its own
arbitrary, drifting heading; with a pelvis rotation of +-10 deg the difference from the full joint
angle stays below about 1 deg.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from calibration.model import SegmentCalibration
from gait import quaternion as quat
from stridecue.constants import (
    HIP_FLEXION_DEG,
    PELVIS_OBLIQUITY_DEG,
    PELVIS_ROTATION_DEG,
    PELVIS_TILT_DEG,
    THIGH_ANGLE_DEG,
)

THIGH_ABDUCTION_DEG = "thigh_abduction_deg"
#: Default heading window: one running stride at about 170 steps/min.
DEFAULT_HEADING_WINDOW_S = 0.7


def _quaternions(q: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (unit quaternions with NaN rows replaced by identity, finite-row mask)."""
    arr = np.asarray(q, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must be (N, 4) [w, x, y, z] quaternions, got shape {arr.shape}")
    norm = np.sqrt(np.einsum("ij,ij->i", arr, arr))
    ok = norm > 1e-9  # False for NaN
    if ok.all() and np.isfinite(norm).all():
        return arr / norm[:, None], ok
    ok &= np.isfinite(norm)
    if not np.all(ok):
        warnings.warn(
            f"{int(np.sum(~ok))} of {len(arr)} orientation samples are missing or invalid; "
            "their angles are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    out = np.tile([1.0, 0.0, 0.0, 0.0], (len(arr), 1))
    out[ok] = arr[ok] / norm[ok, None]
    return out, ok


def _q_sensor_to_segment(calibration: SegmentCalibration | np.ndarray) -> np.ndarray:
    if isinstance(calibration, SegmentCalibration):
        return calibration.q_sensor_to_segment
    q = np.asarray(calibration, dtype=float).reshape(4)
    return q / np.linalg.norm(q)


def segment_orientation(
    q_sensor_to_earth: np.ndarray, calibration: SegmentCalibration | np.ndarray
) -> np.ndarray:
    """Segment orientation ``q_segment_to_earth`` (N, 4) from sensor orientations.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` orientation of the sensor (sensor -> earth, z up).
    calibration
        The sensor's :class:`~calibration.model.SegmentCalibration` (or a bare
        ``q_sensor_to_segment``).

    Returns
    -------
    numpy.ndarray
        (N, 4) ``[w, x, y, z]``; NaN rows where the input is invalid.
    """
    q, ok = _quaternions(q_sensor_to_earth, "q_sensor_to_earth")
    out = quat.multiply(q, quat.conjugate(_q_sensor_to_segment(calibration)))
    out[~ok] = np.nan
    return out


def cardan_zxy_rad(q_segment_to_earth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decompose segment orientations with the intrinsic z-x-y Cardan sequence.

    Parameters
    ----------
    q_segment_to_earth
        (N, 4) ``[w, x, y, z]``; NaN rows give NaN angles.

    Returns
    -------
    yaw_rad, frontal_rad, sagittal_rad : numpy.ndarray
        (N,) each: rotation about earth z, then about the segment's anterior axis, then about its
        medio-lateral axis, radians. ``R = Rz(yaw) Rx(frontal) Ry(sagittal)``.
    """
    arr = np.asarray(q_segment_to_earth, dtype=float)
    w, x, y, z = arr.T
    # Elements of R = Rz(yaw) Rx(frontal) Ry(sagittal) from the quaternion (normalised by its
    # squared norm): R21 = sin(frontal), R20 = -cos(frontal) sin(sagittal),
    # R22 = cos(frontal) cos(sagittal), R01 = -sin(yaw) cos(frontal), R11 = cos(yaw) cos(frontal).
    s = 2.0 / (w * w + x * x + y * y + z * z)
    r21 = s * (y * z + w * x)
    r20 = s * (x * z - w * y)
    r22 = 1.0 - s * (x * x + y * y)
    r01 = s * (x * y - w * z)
    r11 = 1.0 - s * (x * x + z * z)
    frontal = np.arctan2(r21, np.hypot(r20, r22))
    return np.arctan2(-r01, r11), frontal, np.arctan2(-r20, r22)


def forward_axis_xy(q_segment_to_earth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Earth x and y components of the segment's anterior (x) axis: ``R00, R10``.

    Parameters
    ----------
    q_segment_to_earth
        (N, 4) ``[w, x, y, z]`` (normalised here); NaN rows give NaN.

    Returns
    -------
    x, y : numpy.ndarray
        (N,) each; their norm is the axis' horizontal length (1 for a level axis).
    """
    w, x, y, z = np.asarray(q_segment_to_earth, dtype=float).T
    s = 2.0 / (w * w + x * x + y * y + z * z)
    return 1.0 - s * (y * y + z * z), s * (x * y + w * z)


def forward_heading_rad(q_segment_to_earth: np.ndarray) -> np.ndarray:
    """Heading of the segment's anterior (x) axis projected on the horizontal plane.

    Unlike the Cardan yaw of :func:`cardan_zxy_rad`, this is where the segment points, whatever
    its frontal-plane angle: ``atan2(R10, R00)`` of its rotation matrix (:func:`forward_axis_xy`).

    Parameters
    ----------
    q_segment_to_earth
        (N, 4) ``[w, x, y, z]``; NaN rows give NaN.

    Returns
    -------
    numpy.ndarray
        (N,) heading, radians (+ counter-clockwise seen from above).
    """
    fx, fy = forward_axis_xy(q_segment_to_earth)
    return np.arctan2(fy, fx)


def moving_average_nan(x: np.ndarray, *, window_samples: int) -> np.ndarray:
    """Centred moving average that ignores NaN and shrinks at the edges.

    Parameters
    ----------
    x
        (N,) signal.
    window_samples
        Window length in samples; the look-ahead is ``window_samples - 1 - window_samples // 2``
        samples.

    Returns
    -------
    numpy.ndarray
        (N,) average; NaN where the window holds no finite sample.
    """
    x = np.asarray(x, dtype=float)
    n = max(int(window_samples), 1)
    finite = np.isfinite(x)
    idx = np.arange(len(x))
    lo = np.clip(idx - n // 2, 0, len(x))
    hi = np.clip(idx - n // 2 + n, 0, len(x))
    csum = np.empty(len(x) + 1)
    csum[0] = 0.0
    if finite.all():  # the common case: the same sums, without the masking
        np.cumsum(x, out=csum[1:])
        return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    np.cumsum(np.where(finite, x, 0.0), out=csum[1:])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (csum[hi] - csum[lo]) / np.maximum(count, 1), np.nan)


def _unwrap_nan(angle_rad: np.ndarray) -> np.ndarray:
    ok = np.isfinite(angle_rad)
    if ok.all():
        return np.unwrap(angle_rad)
    out = np.full_like(angle_rad, np.nan)
    out[ok] = np.unwrap(angle_rad[ok])
    return out


def travel_heading_rad(
    yaw_rad: np.ndarray, *, sampling_rate_hz: float, heading_window_s: float
) -> np.ndarray:
    """Travel heading: centred moving average of the unwrapped yaw over one stride.

    Parameters
    ----------
    yaw_rad
        (N,) segment yaw, radians (any wrapping).
    sampling_rate_hz
        Sampling rate, Hz.
    heading_window_s
        Window, seconds: one stride time makes the stride-periodic pelvis rotation average out.

    Returns
    -------
    numpy.ndarray
        (N,) unwrapped heading, radians.
    """
    n = max(int(round(heading_window_s * sampling_rate_hz)), 1)
    return moving_average_nan(_unwrap_nan(np.asarray(yaw_rad, dtype=float)), window_samples=n)


def _wrap_pi(x: np.ndarray) -> np.ndarray:
    return (x + np.pi) % (2 * np.pi) - np.pi


def pelvis_sample_angles(
    q_sensor_to_earth: np.ndarray, calibration: SegmentCalibration
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-sample part of :func:`pelvis_angles` (everything but the travel heading).

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` orientation of the sacrum sensor.
    calibration
        The sacrum's :class:`~calibration.model.SegmentCalibration`.

    Returns
    -------
    tilt_deg, obliquity_deg, yaw_rad : numpy.ndarray
        (N,) each: pelvic tilt and obliquity (neutral removed) and the pelvis yaw to pass with a
        travel heading to :func:`pelvis_rotation_deg`; NaN where the orientation is invalid.
    """
    q_seg = segment_orientation(q_sensor_to_earth, calibration)
    yaw, frontal, sagittal = cardan_zxy_rad(q_seg)
    return (
        np.degrees(sagittal) - calibration.neutral_sagittal_deg,
        np.degrees(frontal) - calibration.neutral_frontal_deg,
        yaw,
    )


def pelvis_rotation_deg(yaw_rad: np.ndarray, heading_rad: np.ndarray) -> np.ndarray:
    """Pelvis rotation: the pelvis yaw relative to the travel heading, wrapped to +-180 deg.

    Parameters
    ----------
    yaw_rad
        (N,) pelvis yaw (:func:`pelvis_sample_angles`), radians.
    heading_rad
        (N,) travel heading in the same earth frame (:func:`travel_heading_rad`), radians.

    Returns
    -------
    numpy.ndarray
        (N,) ``pelvis_rotation_deg`` (+ pelvis turned left, right side forward).
    """
    return np.degrees(_wrap_pi(yaw_rad - heading_rad))


def pelvis_angles(
    q_sensor_to_earth: np.ndarray,
    calibration: SegmentCalibration,
    *,
    sampling_rate_hz: float,
    heading_reference: str | np.ndarray = "moving_average",
    heading_window_s: float = DEFAULT_HEADING_WINDOW_S,
) -> pd.DataFrame:
    """Pelvic tilt, obliquity and rotation per sample.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` orientation of the sacrum sensor.
    calibration
        The sacrum's :class:`~calibration.model.SegmentCalibration`.
    sampling_rate_hz
        Sampling rate, Hz.
    heading_reference
        ``"moving_average"``: rotation relative to the centred moving average of the yaw over
        ``heading_window_s`` (follows a bend, half a window of look-ahead);
        ``"none"``: yaw relative to the first valid sample (for checks on the spot);
        an (N,) array: the travel heading in radians (earth frame of ``q_sensor_to_earth``).
    heading_window_s
        Window of the moving average, seconds; pass the bout's stride time when known.

    Returns
    -------
    pandas.DataFrame
        ``pelvis_tilt_deg``, ``pelvis_obliquity_deg``, ``pelvis_rotation_deg`` (N rows).
    """
    tilt, obliquity, yaw = pelvis_sample_angles(q_sensor_to_earth, calibration)
    if isinstance(heading_reference, str):
        if heading_reference == "moving_average":
            heading = travel_heading_rad(
                yaw, sampling_rate_hz=sampling_rate_hz, heading_window_s=heading_window_s
            )
        elif heading_reference == "none":
            finite = np.flatnonzero(np.isfinite(yaw))
            heading = np.full_like(yaw, yaw[finite[0]] if finite.size else np.nan)
        else:
            raise ValueError(
                "heading_reference must be 'moving_average', 'none' or an array of headings "
                f"in rad, got {heading_reference!r}"
            )
    else:
        heading = np.asarray(heading_reference, dtype=float).reshape(-1)
        if heading.shape != yaw.shape:
            raise ValueError(
                f"heading_reference must have shape {yaw.shape}, got {heading.shape}"
            )
    return pd.DataFrame(
        {
            PELVIS_TILT_DEG: tilt,
            PELVIS_OBLIQUITY_DEG: obliquity,
            PELVIS_ROTATION_DEG: pelvis_rotation_deg(yaw, heading),
        }
    )


def thigh_sample_angles(
    q_sensor_to_earth: np.ndarray, calibration: SegmentCalibration
) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of :func:`thigh_angles`: ``(thigh_angle_deg, thigh_abduction_deg)``, (N,) each."""
    _, frontal, sagittal = cardan_zxy_rad(segment_orientation(q_sensor_to_earth, calibration))
    abd_sign = -1.0 if calibration.side == "right" else 1.0
    return (
        -np.degrees(sagittal) - calibration.neutral_sagittal_deg,
        abd_sign * (np.degrees(frontal) - calibration.neutral_frontal_deg),
    )


def thigh_angles(q_sensor_to_earth: np.ndarray, calibration: SegmentCalibration) -> pd.DataFrame:
    """Sagittal thigh angle to the vertical and thigh abduction, per sample.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` orientation of a thigh sensor.
    calibration
        That thigh's :class:`~calibration.model.SegmentCalibration` (``placement`` gives the side).

    Returns
    -------
    pandas.DataFrame
        ``thigh_angle_deg`` (+ flexion: knee ahead of the hip) and ``thigh_abduction_deg``
        (+ knee away from the midline), both 0 in the standing calibration pose.
    """
    thigh, abduction = thigh_sample_angles(q_sensor_to_earth, calibration)
    return pd.DataFrame({THIGH_ANGLE_DEG: thigh, THIGH_ABDUCTION_DEG: abduction})


def hip_angles(pelvis_tilt_deg: np.ndarray, thigh_angle_deg: np.ndarray) -> pd.DataFrame:
    """Hip flexion: thigh angle relative to the pelvis in the sagittal plane.

    Parameters
    ----------
    pelvis_tilt_deg
        (N,) pelvic tilt (+ anterior), degrees, on the same samples as ``thigh_angle_deg``.
    thigh_angle_deg
        (N,) thigh angle (+ flexion), degrees.

    Returns
    -------
    pandas.DataFrame
        ``hip_flexion_deg`` = thigh angle + pelvic tilt (+ flexion, negative = extension); an
        anterior pelvic tilt with the thigh still flexes the hip.
    """
    tilt = np.asarray(pelvis_tilt_deg, dtype=float)
    thigh = np.asarray(thigh_angle_deg, dtype=float)
    if tilt.shape != thigh.shape:
        raise ValueError(
            f"pelvis_tilt_deg and thigh_angle_deg must have the same shape, "
            f"got {tilt.shape} and {thigh.shape}"
        )
    return pd.DataFrame({HIP_FLEXION_DEG: thigh + tilt})
