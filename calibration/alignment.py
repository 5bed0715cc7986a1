"""Sensor-to-segment alignment: any mounting orientation gives the same anatomical angles.

Method
------
1. **Vertical** (segment z): the mean accelerometer vector over a few seconds of quiet standing
   (the specific force of a still sensor points up). The same period gives the gyroscope bias.
2. **Travel direction**: from the end of the standing period the gyroscope (bias removed) is
   integrated from the levelled standing attitude, gravity is removed from the rotated
   accelerometer and the result integrated to a horizontal velocity. Over a few walking or jogging
   steps the mean velocity points forward; mapped back into each sample's sensor frame and
   averaged it is the anterior direction of a sensor that travels with the body. Because the
   levelling uses the very accelerometer mean (last 0.5 s of standing) that is subtracted, a
   constant accelerometer bias cancels; integrating for 5-10 s keeps the gyroscope drift well
   under a degree.
3. **Pelvis**: x = the travel direction made horizontal, y = z x x.
   **Thigh**: y = the principal axis of the thigh's angular velocity during the movement (leg
   swings or walking: the thigh mostly flexes and extends about its medio-lateral axis), made
   horizontal. Its sign is set so that flexion is positive: from the travel direction when the
   athlete walked (mean speed >= 0.3 m/s, straight), otherwise from the flexion/extension
   asymmetry (the thigh flexes further forward than it extends backward, in gait and in leg
   swings). Left and right thighs use the same frame definition (x anterior, y left); the side is
   the placement name.

References: the functional-calibration approach of Favre et al. (2008/2009, functional
sensor-to-segment alignment of the thigh with a hip swing) and the lower-back frame of mobgap
(is/ml/pa) guided these choices.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from calibration.bias import (
    STILL_ACC_RMS_MPS2,
    STILL_GYRO_RMS_RADPS,
    find_still_periods,
    gyro_bias_from_still,
    still_quality,
)
from calibration.model import Calibration, CalibrationError, SegmentCalibration
from stridecue.constants import SACRUM, THIGH_LEFT, THIGH_RIGHT

#: Smallest mean forward speed over the functional movement that gives a travel direction, m/s.
MIN_TRAVEL_SPEED_MPS = 0.3
#: Smallest |mean velocity| / mean |velocity| accepted for the travel direction (1 = straight).
MIN_TRAVEL_CONSISTENCY = 0.6
#: Smallest share of the thigh's angular-velocity energy about its principal axis.
MIN_THIGH_AXIS_SHARE = 0.5
#: Smallest sagittal range of the thigh during the functional movement, degrees.
MIN_THIGH_RANGE_DEG = 15.0
#: Smallest flexion/extension asymmetry (mid-range of the sagittal excursion), degrees, used to
#: sign the thigh axis when the athlete did not walk.
MIN_THIGH_ASYMMETRY_DEG = 2.0
#: Shortest standing and functional periods accepted, seconds.
MIN_STANDING_S = 2.0
MIN_FUNCTIONAL_S = 1.5


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def integrate_gyro(
    gyr_radps: np.ndarray, q0_sensor_to_earth: np.ndarray, *, sampling_rate_hz: float
) -> np.ndarray:
    """Strapdown attitude by integrating the gyroscope from a known start.

    Parameters
    ----------
    gyr_radps
        (N, 3) rotation rate in the sensor frame, bias removed, rad/s.
    q0_sensor_to_earth
        ``[w, x, y, z]`` orientation at the first sample.
    sampling_rate_hz
        Sampling rate, Hz.

    Returns
    -------
    numpy.ndarray
        (N, 4) ``q_sensor_to_earth`` per sample (sample 0 = ``q0``).
    """
    dq = Rotation.from_rotvec(np.asarray(gyr_radps, dtype=float) / sampling_rate_hz).as_quat(
        scalar_first=True
    )
    out = np.empty((len(dq), 4))
    q = np.asarray(q0_sensor_to_earth, dtype=float)
    for k in range(len(dq)):
        out[k] = q
        q = _quat_mul(q, dq[k])
        q /= np.linalg.norm(q)
    return out


def levelling_rotation(acc_standing_mps2: np.ndarray) -> Rotation:
    """Smallest rotation taking the mean standing specific force onto earth +z."""
    up = _normalise(np.mean(np.asarray(acc_standing_mps2, dtype=float), axis=0))
    rot, _ = Rotation.align_vectors([[0.0, 0.0, 1.0]], [up])
    return rot


def travel_direction(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    standing: tuple[int, int],
    functional: tuple[int, int],
    gyro_bias_radps: np.ndarray,
) -> tuple[np.ndarray, dict[str, float]]:
    """Forward (travel) direction in the sensor frame from walking steps after standing.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer and gyroscope, sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    standing
        ``(i0, i1)`` still standing samples; integration starts at ``i1``.
    functional
        ``(j0, j1)`` samples of the walking/jogging steps, ``j0 >= i1``.
    gyro_bias_radps
        (3,) gyroscope bias.

    Returns
    -------
    direction : numpy.ndarray
        (3,) unit forward direction in the sensor frame (not yet orthogonalised).
    quality : dict
        ``travel_speed_mps`` (|mean horizontal velocity|), ``travel_consistency``
        (|mean velocity| / mean |velocity|).
    """
    acc = np.asarray(acc_mps2, dtype=float)
    gyr = np.asarray(gyr_radps, dtype=float) - gyro_bias_radps
    i0, i1 = standing
    j0, j1 = functional
    # the attitude at the end of standing: the last 0.5 s (standing sway makes the whole-period
    # mean a few tenths of a degree off, which integrates to ~0.2 m/s over 8 s)
    k0 = max(i0, i1 - int(round(0.5 * sampling_rate_hz)))
    level = levelling_rotation(acc[k0:i1])
    g_mps2 = float(np.linalg.norm(np.mean(acc[k0:i1], axis=0)))
    q0 = level.as_quat(scalar_first=True)
    q = integrate_gyro(gyr[i1:j1], q0, sampling_rate_hz=sampling_rate_hz)
    rot = Rotation.from_quat(q, scalar_first=True)
    acc_earth = rot.apply(acc[i1:j1])
    acc_earth[:, 2] -= g_mps2
    vel = np.cumsum(acc_earth, axis=0) / sampling_rate_hz
    sel = slice(j0 - i1, j1 - i1)
    v_h = vel[sel, :2]
    mean_v = np.mean(v_h, axis=0)
    speed = float(np.linalg.norm(mean_v))
    consistency = speed / max(float(np.mean(np.linalg.norm(v_h, axis=1))), 1e-9)
    if speed < 1e-9:
        return np.full(3, np.nan), {"travel_speed_mps": speed, "travel_consistency": consistency}
    d_earth = np.array([mean_v[0], mean_v[1], 0.0]) / speed
    d_sensor = np.mean(rot[sel].inv().apply(d_earth), axis=0)
    return _normalise(d_sensor), {
        "travel_speed_mps": speed,
        "travel_consistency": float(consistency),
    }


def _check_windows(
    n: int, standing: tuple[int, int], functional: tuple[int, int], sampling_rate_hz: float,
    placement: str,
) -> tuple[tuple[int, int], tuple[int, int]]:
    i0, i1 = int(standing[0]), int(standing[1])
    j0, j1 = int(functional[0]), int(functional[1])
    if not (0 <= i0 < i1 <= n and 0 <= j0 < j1 <= n):
        raise ValueError(
            f"standing={standing} and functional={functional} must be (start, end) sample "
            f"ranges inside 0..{n}"
        )
    if j0 < i1:
        raise ValueError(
            f"the functional movement {functional} must start after the standing period {standing}"
        )
    if (i1 - i0) / sampling_rate_hz < MIN_STANDING_S:
        dur_s = (i1 - i0) / sampling_rate_hz
        raise CalibrationError(
            f"the standing period of the {placement} sensor lasts {dur_s:.1f}"
            f" s (need {MIN_STANDING_S:.0f} s): stand still for 5-10 s and redo the calibration"
        )
    if (j1 - j0) / sampling_rate_hz < MIN_FUNCTIONAL_S:
        raise CalibrationError(
            f"the movement after standing lasts {(j1 - j0) / sampling_rate_hz:.1f} s "
            f"(need {MIN_FUNCTIONAL_S:.1f} s): walk 5-10 steps and redo the calibration"
        )
    return (i0, i1), (j0, j1)


def _frame_to_quaternion(x_s: np.ndarray, y_s: np.ndarray, z_s: np.ndarray) -> np.ndarray:
    """q_sensor_to_segment from the segment axes expressed in the sensor frame."""
    matrix = np.vstack([x_s, y_s, z_s])  # rows: segment axes -> v_seg = M @ v_sensor
    return Rotation.from_matrix(matrix).as_quat(scalar_first=True)


def _standing(
    acc: np.ndarray, gyr: np.ndarray, standing: tuple[int, int], sampling_rate_hz: float,
    placement: str,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    i0, i1 = standing
    bias = gyro_bias_from_still(
        acc, gyr, sampling_rate_hz=sampling_rate_hz, still=standing, placement=placement,
        min_duration_s=MIN_STANDING_S,
    )
    quality = still_quality(acc[i0:i1], gyr[i0:i1], sampling_rate_hz=sampling_rate_hz)
    z_s = _normalise(np.mean(acc[i0:i1], axis=0))
    return z_s, bias, quality


def _imu(acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    acc = np.asarray(acc_mps2, dtype=float)
    gyr = np.asarray(gyr_radps, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise ValueError(
            f"acc_mps2 and gyr_radps must both have shape (N, 3), got {acc.shape} and {gyr.shape}"
        )
    return acc, gyr


def _check_finite(acc: np.ndarray, gyr: np.ndarray, window: tuple[int, int], placement: str):
    j0, j1 = window
    if not (np.all(np.isfinite(acc[j0:j1])) and np.all(np.isfinite(gyr[j0:j1]))):
        raise CalibrationError(
            f"the {placement} sensor has missing samples during the calibration movement: "
            "check the connection and redo the calibration"
        )


def calibrate_pelvis(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    standing: tuple[int, int],
    functional: tuple[int, int],
) -> SegmentCalibration:
    """Calibrate the sacrum sensor from standing still, then walking/jogging a few steps.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer (m/s^2) and gyroscope (rad/s), sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    standing
        ``(i0, i1)`` samples of quiet standing (end exclusive), at least 2 s.
    functional
        ``(j0, j1)`` samples of straight walking or jogging that start after ``standing``
        (ideally right after it); 3-10 s.

    Returns
    -------
    SegmentCalibration
        Placement ``"sacrum"``, method ``"travel_direction"``.

    Raises
    ------
    CalibrationError
        The sensor moved while standing, or the steps were too few/slow or not straight.
    """
    acc, gyr = _imu(acc_mps2, gyr_radps)
    standing, functional = _check_windows(len(acc), standing, functional, sampling_rate_hz, SACRUM)
    _check_finite(acc, gyr, (standing[1], functional[1]), SACRUM)
    z_s, bias, quality = _standing(acc, gyr, standing, sampling_rate_hz, SACRUM)
    fwd, tq = travel_direction(
        acc, gyr, sampling_rate_hz=sampling_rate_hz, standing=standing, functional=functional,
        gyro_bias_radps=bias,
    )
    quality.update(tq)
    if tq["travel_speed_mps"] < MIN_TRAVEL_SPEED_MPS:
        raise CalibrationError(
            f"the steps after standing moved the pelvis too little (mean forward speed "
            f"{tq['travel_speed_mps']:.2f} m/s): walk or jog 5-10 steps straight ahead and redo it"
        )
    if tq["travel_consistency"] < MIN_TRAVEL_CONSISTENCY:
        raise CalibrationError(
            f"the steps after standing did not go in one direction (consistency "
            f"{tq['travel_consistency']:.2f}): walk 5-10 steps in a straight line and redo it"
        )
    x_h = fwd - np.dot(fwd, z_s) * z_s
    x_s = _normalise(x_h)
    quality["movement_amplitude"] = tq["travel_speed_mps"]
    quality["axis_consistency"] = tq["travel_consistency"]
    # how far the travel direction was from horizontal in the standing frame (pelvis pitch)
    quality["travel_elevation_deg"] = float(np.degrees(np.arcsin(np.clip(fwd @ z_s, -1, 1))))
    y_s = np.cross(z_s, x_s)
    return SegmentCalibration(
        placement=SACRUM,
        q_sensor_to_segment=_frame_to_quaternion(x_s, y_s, z_s),
        gyro_bias_radps=bias,
        quality=quality,
        method="travel_direction",
    )


def calibrate_thigh(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    side: str,
    standing: tuple[int, int],
    functional: tuple[int, int],
) -> SegmentCalibration:
    """Calibrate a thigh sensor from standing still, then leg swings or walking steps.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer (m/s^2) and gyroscope (rad/s), sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    side
        ``"left"`` or ``"right"``: which thigh carries the sensor.
    standing
        ``(i0, i1)`` samples of quiet standing (end exclusive), at least 2 s.
    functional
        ``(j0, j1)`` samples of walking steps (best) or forward/backward leg swings, after
        ``standing``.

    Returns
    -------
    SegmentCalibration
        Placement ``"thigh_left"``/``"thigh_right"``; method ``"gyro_pca+travel"`` when the
        flexion sign came from the travel direction, ``"gyro_pca+asymmetry"`` otherwise.

    Raises
    ------
    CalibrationError
        The sensor moved while standing, or the movement was too small or not a clear
        flexion/extension.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    placement = THIGH_LEFT if side == "left" else THIGH_RIGHT
    acc, gyr = _imu(acc_mps2, gyr_radps)
    standing, functional = _check_windows(
        len(acc), standing, functional, sampling_rate_hz, placement
    )
    _check_finite(acc, gyr, (standing[1], functional[1]), placement)
    z_s, bias, quality = _standing(acc, gyr, standing, sampling_rate_hz, placement)
    j0, j1 = functional
    w = gyr[j0:j1] - bias
    eigval, eigvec = np.linalg.eigh(w.T @ w / len(w))
    axis = eigvec[:, -1]
    share = float(eigval[-1] / max(np.sum(eigval), 1e-12))
    y_h = axis - np.dot(axis, z_s) * z_s
    if np.linalg.norm(y_h) < 0.5:
        raise CalibrationError(
            f"the {placement} sensor turned mostly about the vertical during the movement: "
            "swing the leg forward and back (or walk 5-10 steps) and redo the calibration"
        )
    y_s = _normalise(y_h)
    # sagittal excursion about the candidate axis (flexion = rotation about -y)
    flex_deg = -np.degrees(np.cumsum(w @ y_s) / sampling_rate_hz)
    flex_range = float(np.ptp(flex_deg))
    midrange = float((np.max(flex_deg) + np.min(flex_deg)) / 2)
    quality["axis_consistency"] = share
    quality["movement_amplitude"] = flex_range
    quality["axis_elevation_deg"] = float(np.degrees(np.arcsin(np.clip(axis @ z_s, -1, 1))))
    if flex_range < MIN_THIGH_RANGE_DEG:
        raise CalibrationError(
            f"the {placement} thigh moved only {flex_range:.0f} deg (need "
            f"{MIN_THIGH_RANGE_DEG:.0f}): walk 5-10 steps or swing the leg forward and back, "
            "then redo the calibration"
        )
    if share < MIN_THIGH_AXIS_SHARE:
        raise CalibrationError(
            f"the {placement} thigh movement had no clear flexion axis (share {share:.2f}): "
            "swing the leg straight forward and back, then redo the calibration"
        )
    fwd, tq = travel_direction(
        acc, gyr, sampling_rate_hz=sampling_rate_hz, standing=standing, functional=functional,
        gyro_bias_radps=bias,
    )
    quality.update(tq)
    walked = (
        tq["travel_speed_mps"] >= MIN_TRAVEL_SPEED_MPS
        and tq["travel_consistency"] >= MIN_TRAVEL_CONSISTENCY
    )
    quality["flexion_asymmetry_deg"] = midrange
    if walked:
        left = np.cross(z_s, fwd)
        sign = 1.0 if left @ y_s >= 0 else -1.0
        y_s = sign * y_s
        quality["travel_axis_angle_deg"] = float(
            np.degrees(np.arccos(np.clip(abs(_normalise(left - (left @ z_s) * z_s) @ y_s), 0, 1)))
        )
        quality["flexion_asymmetry_deg"] = sign * midrange
        method = "gyro_pca+travel"
    else:
        if abs(midrange) < MIN_THIGH_ASYMMETRY_DEG:
            raise CalibrationError(
                f"cannot tell flexion from extension of the {placement} thigh (forward and "
                "backward swings were equal): walk 5-10 steps straight ahead and redo it"
            )
        if midrange < 0:
            y_s = -y_s
            quality["flexion_asymmetry_deg"] = -midrange
        method = "gyro_pca+asymmetry"
    x_s = np.cross(y_s, z_s)
    return SegmentCalibration(
        placement=placement,
        q_sensor_to_segment=_frame_to_quaternion(x_s, y_s, z_s),
        gyro_bias_radps=bias,
        quality=quality,
        method=method,
    )


def with_neutral_from_orientation(
    calibration: SegmentCalibration, q_sensor_to_earth_standing: np.ndarray
) -> SegmentCalibration:
    """Set the neutral offsets to the filter's own view of the standing pose.

    The segment z axis is the standing gravity direction by construction, so the standing angles
    are zero from the accelerometer; an orientation filter may see the same pose a fraction of a
    degree off (its bias or convergence). Passing its quaternions over the standing period makes
    the standing pose exactly zero for the angles computed from that filter.

    Parameters
    ----------
    calibration
        The calibration to refine (neutral offsets are replaced, not accumulated).
    q_sensor_to_earth_standing
        (N, 4) ``[w, x, y, z]`` filter output over the standing period.

    Returns
    -------
    SegmentCalibration
        A copy with ``neutral_sagittal_deg`` and ``neutral_frontal_deg`` set.
    """
    from dataclasses import replace

    from gait.angles import cardan_zxy_rad, segment_orientation

    _, frontal, sagittal = cardan_zxy_rad(
        segment_orientation(q_sensor_to_earth_standing, calibration)
    )
    sag = float(np.degrees(np.nanmean(sagittal)))
    fro = float(np.degrees(np.nanmean(frontal)))
    # thigh angle is minus the sagittal Cardan angle (flexion = rotation about -y)
    if calibration.placement != SACRUM:
        sag = -sag
    return replace(calibration, neutral_sagittal_deg=sag, neutral_frontal_deg=fro)


def auto_calibrate(
    sensors: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    sampling_rate_hz: float,
    min_still_s: float = 5.0,
    functional_s: float = 6.0,
    edge_trim_s: float = 0.5,
) -> Calibration:
    """Calibrate every sensor from the first still period and the movement right after it.

    Parameters
    ----------
    sensors
        ``{placement: (acc_mps2, gyr_radps)}`` with (N, 3) arrays; placements are
        ``"sacrum"``, ``"thigh_left"``, ``"thigh_right"``.
    sampling_rate_hz
        Sampling rate, Hz (the same for every sensor).
    min_still_s
        Shortest standing period searched for, seconds.
    functional_s
        Length of the movement used after the standing period, seconds (shortened to the next
        still period).
    edge_trim_s
        Trimmed from both ends of the detected still period, seconds.

    Returns
    -------
    Calibration
        One :class:`SegmentCalibration` per placement; ``created_time_s`` is the start of the
        sacrum's standing period in seconds from the first sample (NaN without a sacrum).

    Raises
    ------
    CalibrationError
        No still period, or a calibration that cannot be trusted.
    """
    out = Calibration()
    for placement, (acc_mps2, gyr_radps) in sensors.items():
        acc, gyr = _imu(acc_mps2, gyr_radps)
        periods = find_still_periods(
            acc, gyr, sampling_rate_hz=sampling_rate_hz, min_duration_s=min_still_s,
            gyro_rms_threshold_radps=STILL_GYRO_RMS_RADPS * 0.75,
            acc_rms_threshold_mps2=STILL_ACC_RMS_MPS2 * 0.75,
        )
        if not periods:
            raise CalibrationError(
                f"no still standing period of {min_still_s:.0f} s found for the {placement} "
                "sensor: start the session standing still for 10 s, then walk 5-10 steps"
            )
        s0, s1 = periods[0]
        trim = int(round(edge_trim_s * sampling_rate_hz))
        standing = (s0 + trim, s1 - trim)
        f0 = s1
        f1 = min(len(acc), f0 + int(round(functional_s * sampling_rate_hz)))
        later = [p for p in find_still_periods(
            acc, gyr, sampling_rate_hz=sampling_rate_hz, min_duration_s=1.0
        ) if p[0] > f0]
        if later:
            f1 = min(f1, later[0][0])
        if f1 - f0 < int(round(sampling_rate_hz)):
            raise CalibrationError(
                f"no movement after the still standing period of the {placement} sensor: "
                "after standing still for 10 s, walk 5-10 steps"
            )
        if placement == SACRUM:
            seg = calibrate_pelvis(
                acc, gyr, sampling_rate_hz=sampling_rate_hz, standing=standing,
                functional=(f0, f1),
            )
            out.created_time_s = s0 / sampling_rate_hz
        elif placement in (THIGH_LEFT, THIGH_RIGHT):
            seg = calibrate_thigh(
                acc, gyr, sampling_rate_hz=sampling_rate_hz,
                side=placement.removeprefix("thigh_"), standing=standing, functional=(f0, f1),
            )
        else:
            raise ValueError(f"unknown placement {placement!r}")
        out.segments[placement] = seg
    return out
