"""Turn compensation: remove the centripetal acceleration of a bend before the orientation filter.

Why
---
An orientation filter takes the vertical from the accelerometer (low-pass, VQF's ``tauAcc`` is
3 s). On a bend the body accelerates towards the centre: ``a_c = v * omega`` (4.4 m/s on a 36.8 m
track bend gives 0.53 m/s^2), so the measured specific force leans by ``atan(a_c / g)``, about
3 deg, for the 26 s the bend lasts, and the filter reads that lean as pelvic obliquity (and, for a
sensor mounted at an angle, partly as tilt).

Method (two passes)
-------------------
1. A first orientation pass (any filter) and the sensor's calibration give the segment heading;
   its centred moving average over one stride is the travel heading ``psi`` (the stride-periodic
   pelvis rotation averages out), as in :func:`gait.angles.travel_heading_rad`.
2. The turn rate ``d psi / dt`` (smoothed over the same window) times the forward speed ``v`` is
   the centripetal acceleration, pointing to the left of the travel direction for a left turn:
   ``a_c = v * dpsi/dt * [-sin psi, cos psi, 0]`` in the earth frame.
3. ``a_c`` is rotated into the sensor frame with the first-pass orientation and subtracted from the
   accelerometer; the filter is run again on the corrected accelerometer. A first-pass tilt error
   of 3 deg changes the rotated correction by 5 % of 0.5 m/s^2, which is negligible.

The speed comes from outside (the stride table: stride length / stride time, see
:func:`speed_from_strides`); where it is unknown (NaN, or outside strides) no correction is made.
The correction depends on the heading only through its rate, so the arbitrary heading of a 6D
filter does not matter, and it is the same for the sacrum and the thigh sensors.

Streaming form
--------------
The streaming analysis (:class:`gait.stream.StreamAnalyser`) cannot look ahead for the centred
heading average, so :func:`causal_centripetal_acceleration_mps2` takes the turn rate from the past
only: the change of the segment heading over the preceding window of one stride (the pelvic
rotation is at the same phase at both ends and cancels), divided by the window's duration. That
rate is the mean over the window, i.e. it lags by half a window (0.35 s); against VQF's 3 s
accelerometer time constant this leaves about a tenth of the lean for a second at the start and
the end of a bend. The direction is the left of the segment's present heading: its stride-periodic
rotation (+-10 deg) changes the correction by under 2 % and adds a stride-frequency part that the
filter's low-pass removes.

All functions are pure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from calibration.model import SegmentCalibration
from gait import quaternion as quat
from gait.angles import (
    DEFAULT_HEADING_WINDOW_S,
    cardan_zxy_rad,
    forward_axis_xy,
    moving_average_nan,
    segment_orientation,
    travel_heading_rad,
)
from gait.orientation import estimate_orientation

__all__ = [
    "causal_centripetal_acceleration_mps2",
    "causal_centripetal_from_forward_mps2",
    "centripetal_acceleration_mps2",
    "estimate_orientation_turn_compensated",
    "remove_centripetal_acceleration",
    "segment_forward_columns",
    "speed_from_strides",
]


def speed_from_strides(
    time_s: np.ndarray,
    stride_start_s: np.ndarray,
    stride_end_s: np.ndarray,
    stride_length_m: np.ndarray,
) -> np.ndarray:
    """Forward speed per sample from a stride table (stride length / stride time).

    Parameters
    ----------
    time_s
        (N,) sample times, seconds.
    stride_start_s, stride_end_s
        (M,) start and end of each stride, seconds (strides of both feet may overlap; the speed
        of overlapping strides is averaged).
    stride_length_m
        (M,) stride length, metres (NaN where unknown).

    Returns
    -------
    numpy.ndarray
        (N,) speed, m/s; NaN outside every stride with a known length.
    """
    t = np.asarray(time_s, dtype=float)
    start = np.asarray(stride_start_s, dtype=float)
    end = np.asarray(stride_end_s, dtype=float)
    length = np.asarray(stride_length_m, dtype=float)
    if not (start.shape == end.shape == length.shape):
        raise ValueError("stride_start_s, stride_end_s and stride_length_m must have one shape")
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = length / (end - start)
    ok = np.isfinite(speed) & (end > start)
    total = np.zeros(len(t))
    count = np.zeros(len(t))
    i0 = np.searchsorted(t, start[ok], side="left")
    i1 = np.searchsorted(t, end[ok], side="left")
    # difference arrays: add each stride's speed over [i0, i1)
    d_sum = np.zeros(len(t) + 1)
    d_cnt = np.zeros(len(t) + 1)
    np.add.at(d_sum, i0, speed[ok])
    np.add.at(d_sum, i1, -speed[ok])
    np.add.at(d_cnt, i0, 1.0)
    np.add.at(d_cnt, i1, -1.0)
    total = np.cumsum(d_sum)[:-1]
    count = np.cumsum(d_cnt)[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0.5, total / np.maximum(count, 1.0), np.nan)


def centripetal_acceleration_mps2(
    q_sensor_to_earth: np.ndarray,
    calibration: SegmentCalibration | np.ndarray,
    speed_mps: np.ndarray | float,
    *,
    sampling_rate_hz: float,
    heading_window_s: float = DEFAULT_HEADING_WINDOW_S,
) -> np.ndarray:
    """Earth-frame centripetal acceleration of the travel path, per sample.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` first-pass orientation of the sensor.
    calibration
        The sensor's :class:`~calibration.model.SegmentCalibration` (or its
        ``q_sensor_to_segment``): gives the segment's anterior axis and so its heading.
    speed_mps
        Forward speed, m/s: a scalar or (N,) per sample; NaN means unknown (no correction).
    sampling_rate_hz
        Sampling rate, Hz.
    heading_window_s
        Window of the travel heading and of its rate, seconds (one stride).

    Returns
    -------
    numpy.ndarray
        (N, 3) acceleration in the earth frame of ``q_sensor_to_earth`` (z component 0), m/s^2;
        0 where the speed or the orientation is unknown.
    """
    q = np.asarray(q_sensor_to_earth, dtype=float)
    n = len(q)
    speed = np.broadcast_to(np.asarray(speed_mps, dtype=float), (n,))
    yaw, _, _ = cardan_zxy_rad(segment_orientation(q, calibration))
    heading = travel_heading_rad(yaw, sampling_rate_hz=sampling_rate_hz,
                                 heading_window_s=heading_window_s)
    out = np.zeros((n, 3))
    if n < 2 or not np.any(np.isfinite(heading)):
        return out
    rate = np.gradient(np.where(np.isfinite(heading), heading, np.nan)) * sampling_rate_hz
    w = max(int(round(heading_window_s * sampling_rate_hz)), 1)
    rate = moving_average_nan(rate, window_samples=w)
    a_c = speed * rate
    ok = np.isfinite(a_c) & np.isfinite(heading)
    out[ok, 0] = -a_c[ok] * np.sin(heading[ok])
    out[ok, 1] = a_c[ok] * np.cos(heading[ok])
    return out


def remove_centripetal_acceleration(
    acc_mps2: np.ndarray, q_sensor_to_earth: np.ndarray, centripetal_earth_mps2: np.ndarray
) -> np.ndarray:
    """Subtract an earth-frame acceleration from sensor-frame accelerometer samples.

    Parameters
    ----------
    acc_mps2
        (N, 3) accelerometer, sensor frame, m/s^2.
    q_sensor_to_earth
        (N, 4) orientation used to rotate the correction into the sensor frame.
    centripetal_earth_mps2
        (N, 3) acceleration to remove, earth frame (from
        :func:`centripetal_acceleration_mps2`).

    Returns
    -------
    numpy.ndarray
        (N, 3) corrected accelerometer; unchanged where the orientation is invalid.
    """
    acc = np.array(acc_mps2, dtype=float, copy=True)
    q = np.asarray(q_sensor_to_earth, dtype=float)
    a = np.asarray(centripetal_earth_mps2, dtype=float)
    ok = np.all(np.isfinite(q), axis=1) & np.all(np.isfinite(a), axis=1) & np.any(a != 0, axis=1)
    # element-wise arithmetic: the same numbers however the samples are chunked
    if ok.all():
        acc -= quat.rotate(quat.conjugate(q), a)
    elif ok.any():
        acc[ok] -= quat.rotate(quat.conjugate(q[ok]), a[ok])
    return acc


def segment_forward_columns(
    q_sensor_to_earth: np.ndarray, q_sensor_to_segment: np.ndarray
) -> np.ndarray:
    """The segment's anterior axis in the earth frame, per row: what the turn rate is made of.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` orientation of the sensor.
    q_sensor_to_segment
        (4,) the sensor's calibration (its segment x axis is the heading).

    Returns
    -------
    numpy.ndarray
        (N, 4): the axis' earth x and y components, their norm (the horizontal length of the unit
        axis) and the heading ``atan2(y, x)``, rad. Element-wise, so rows computed in any pieces
        are the same numbers.
    """
    q = np.asarray(q_sensor_to_earth, dtype=float)
    fx, fy = forward_axis_xy(
        quat.multiply(q, quat.conjugate(np.asarray(q_sensor_to_segment, dtype=float))))
    out = np.empty((len(q), 4))
    out[:, 0], out[:, 1] = fx, fy
    out[:, 2] = np.sqrt(fx * fx + fy * fy)
    out[:, 3] = np.arctan2(fy, fx)
    return out


def causal_centripetal_from_forward_mps2(
    forward: np.ndarray, speed_mps: np.ndarray, *, sampling_rate_hz: float, window_samples: int
) -> np.ndarray:
    """:func:`causal_centripetal_acceleration_mps2` from :func:`segment_forward_columns`.

    Parameters
    ----------
    forward
        (N, 4) from :func:`segment_forward_columns`, history included.
    speed_mps
        (N,) forward speed, m/s; 0 or NaN = no correction.
    sampling_rate_hz, window_samples
        As for :func:`causal_centripetal_acceleration_mps2`.

    Returns
    -------
    numpy.ndarray
        (N, 3) as :func:`causal_centripetal_acceleration_mps2`.
    """
    n, w = len(forward), int(window_samples)
    out = np.zeros((n, 3))
    if w < 1 or n <= w:
        return out
    fx, fy, norm, psi = forward.T
    turn = np.remainder(psi[w:] - psi[:-w] + np.pi, 2.0 * np.pi) - np.pi
    with np.errstate(invalid="ignore", divide="ignore"):
        a_c = np.asarray(speed_mps, dtype=float)[w:] * turn * (sampling_rate_hz / w) / norm[w:]
    ok = np.isfinite(a_c) & (norm[w:] > 0.1) & (norm[:-w] > 0.1) & (a_c != 0)
    out[w:, 0] = np.where(ok, -a_c * fy[w:], 0.0)
    out[w:, 1] = np.where(ok, a_c * fx[w:], 0.0)
    return out


def causal_centripetal_acceleration_mps2(
    q_sensor_to_earth: np.ndarray,
    q_sensor_to_segment: np.ndarray,
    speed_mps: np.ndarray,
    *,
    sampling_rate_hz: float,
    window_samples: int,
) -> np.ndarray:
    """Earth-frame centripetal acceleration from past samples only (the streaming form).

    Row ``i`` uses the segment heading at rows ``i - window_samples`` and ``i``: turn rate =
    heading change over the window / its duration, direction = left of the heading at ``i``
    (module docs). Only element-wise arithmetic, so every row's value is the same whatever rows
    are passed along with it.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` first-pass orientation of the sensor, history included.
    q_sensor_to_segment
        (4,) the sensor's calibration (its segment x axis is the heading).
    speed_mps
        (N,) forward speed, m/s; 0 or NaN = no correction.
    sampling_rate_hz
        Sampling rate, Hz.
    window_samples
        Window of the turn rate, samples (one stride).

    Returns
    -------
    numpy.ndarray
        (N, 3) acceleration in the earth frame of ``q_sensor_to_earth`` (z component 0), m/s^2;
        0 in the first ``window_samples`` rows (no history) and where the speed, the orientation
        or a horizontal heading is missing.
    """
    return causal_centripetal_from_forward_mps2(
        segment_forward_columns(q_sensor_to_earth, q_sensor_to_segment), speed_mps,
        sampling_rate_hz=sampling_rate_hz, window_samples=window_samples,
    )


def estimate_orientation_turn_compensated(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    calibration: SegmentCalibration | np.ndarray,
    speed_mps: np.ndarray | float,
    q_first_pass: np.ndarray | None = None,
    heading_window_s: float = DEFAULT_HEADING_WINDOW_S,
    mag_ut: np.ndarray | None = None,
    **filter_options: Any,
) -> np.ndarray:
    """Second orientation pass with the bend's centripetal acceleration removed.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer (m/s^2) and gyroscope (rad/s), sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    calibration
        The sensor's calibration (its anterior axis gives the travel heading).
    speed_mps
        Forward speed, scalar or (N,), m/s (e.g. :func:`speed_from_strides`); NaN = unknown.
    q_first_pass
        (N, 4) first-pass orientation; estimated here with the same filter options when omitted.
    heading_window_s
        Travel-heading window, seconds (one stride).
    mag_ut
        Optional (N, 3) magnetometer, passed to the filter.
    **filter_options
        Passed to :func:`gait.orientation.estimate_orientation` (``method=...`` and its
        parameters).

    Returns
    -------
    numpy.ndarray
        (N, 4) ``[w, x, y, z]`` ``q_sensor_to_earth`` of the second pass.
    """
    if q_first_pass is None:
        q_first_pass = estimate_orientation(acc_mps2, gyr_radps, sampling_rate_hz=sampling_rate_hz,
                                            mag_ut=mag_ut, **filter_options)
    a_c = centripetal_acceleration_mps2(q_first_pass, calibration, speed_mps,
                                        sampling_rate_hz=sampling_rate_hz,
                                        heading_window_s=heading_window_s)
    acc = remove_centripetal_acceleration(acc_mps2, q_first_pass, a_c)
    return estimate_orientation(acc, gyr_radps, sampling_rate_hz=sampling_rate_hz, mag_ut=mag_ut,
                                **filter_options)
