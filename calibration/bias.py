"""Still periods and gyroscope bias.

The bias found here is the bias at calibration time. VQF (``gait.orientation``, method ``"vqf"``)
also estimates the gyroscope bias continuously, both at rest and while moving (its "motion bias
estimation"), so the value from the standing period is a good start, not the only correction: a
bias that drifts with temperature during a session is tracked by the filter.
"""

from __future__ import annotations

import numpy as np

from calibration.model import CalibrationError
from stridecue.constants import GRAVITY_MPS2

#: Defaults for stillness detection. Quiet standing sways (gyro RMS ~0.01-0.03 rad/s, acc RMS
#: ~0.02-0.1 m/s^2); a walking step is an order of magnitude above these.
STILL_WINDOW_S = 0.5
STILL_GYRO_RMS_RADPS = 0.08
STILL_ACC_RMS_MPS2 = 0.35
#: The largest gyroscope bias that is plausible for a MEMS IMU; above it the sensor is turning.
MAX_PLAUSIBLE_BIAS_RADPS = 0.2


def _check_imu(acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    acc = np.asarray(acc_mps2, dtype=float)
    gyr = np.asarray(gyr_radps, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise ValueError(
            f"acc_mps2 and gyr_radps must both have shape (N, 3), got {acc.shape} and {gyr.shape}"
        )
    return acc, gyr


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean along axis 0 with a shrinking window at the edges (NaN-free input)."""
    n = max(int(n), 1)
    csum = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    idx = np.arange(x.shape[0])
    lo = np.clip(idx - n // 2, 0, x.shape[0])
    hi = np.clip(idx - n // 2 + n, 0, x.shape[0])
    count = (hi - lo).reshape(-1, *([1] * (x.ndim - 1)))
    return (csum[hi] - csum[lo]) / count


def moving_rms_deviation(x: np.ndarray, *, window_samples: int) -> np.ndarray:
    """RMS deviation of a (N, 3) signal from its own centred moving mean, per sample.

    Parameters
    ----------
    x
        (N, 3) signal.
    window_samples
        Window length in samples.

    Returns
    -------
    numpy.ndarray
        (N,) RMS of the vector deviation (norm over the axes) within the window.
    """
    mean = _moving_mean(x, window_samples)
    mean_sq = _moving_mean(np.sum(x * x, axis=1), window_samples)
    var = mean_sq - np.sum(mean * mean, axis=1)
    return np.sqrt(np.clip(var, 0.0, None))


def stillness_mask(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    window_s: float = STILL_WINDOW_S,
    gyro_rms_threshold_radps: float = STILL_GYRO_RMS_RADPS,
    acc_rms_threshold_mps2: float = STILL_ACC_RMS_MPS2,
) -> np.ndarray:
    """Per-sample boolean: the sensor is (nearly) still around this sample.

    A sample is still when, within a centred window, the gyroscope and accelerometer RMS
    deviations from their window means are below the thresholds, the window-mean rotation rate is
    below a plausible bias (0.2 rad/s) and the mean acceleration norm is within 1 m/s^2 of g.
    Non-finite samples are never still.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer (m/s^2) and gyroscope (rad/s) in the sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    window_s
        Window length, seconds.
    gyro_rms_threshold_radps, acc_rms_threshold_mps2
        Thresholds on the RMS deviations.

    Returns
    -------
    numpy.ndarray
        (N,) bool.
    """
    acc, gyr = _check_imu(acc_mps2, gyr_radps)
    finite = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
    acc0 = np.where(finite[:, None], acc, 0.0)
    gyr0 = np.where(finite[:, None], gyr, 0.0)
    n = max(int(round(window_s * sampling_rate_hz)), 2)
    gyr_dev = moving_rms_deviation(gyr0, window_samples=n)
    acc_dev = moving_rms_deviation(acc0, window_samples=n)
    gyr_mean = np.linalg.norm(_moving_mean(gyr0, n), axis=1)
    acc_norm = np.linalg.norm(_moving_mean(acc0, n), axis=1)
    bad = _moving_mean((~finite).astype(float), n) > 0
    return (
        (gyr_dev < gyro_rms_threshold_radps)
        & (acc_dev < acc_rms_threshold_mps2)
        & (gyr_mean < MAX_PLAUSIBLE_BIAS_RADPS)
        & (np.abs(acc_norm - GRAVITY_MPS2) < 1.0)
        & ~bad
    )


def find_still_periods(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    min_duration_s: float = 2.0,
    window_s: float = STILL_WINDOW_S,
    gyro_rms_threshold_radps: float = STILL_GYRO_RMS_RADPS,
    acc_rms_threshold_mps2: float = STILL_ACC_RMS_MPS2,
) -> list[tuple[int, int]]:
    """Find periods in which the sensor is still.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer (m/s^2) and gyroscope (rad/s), sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    min_duration_s
        Shortest period returned, seconds.
    window_s, gyro_rms_threshold_radps, acc_rms_threshold_mps2
        See :func:`stillness_mask`.

    Returns
    -------
    list of tuple of int
        ``(start_idx, end_idx)`` pairs, end exclusive, in time order.
    """
    mask = stillness_mask(
        acc_mps2,
        gyr_radps,
        sampling_rate_hz=sampling_rate_hz,
        window_s=window_s,
        gyro_rms_threshold_radps=gyro_rms_threshold_radps,
        acc_rms_threshold_mps2=acc_rms_threshold_mps2,
    )
    if mask.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    min_n = int(np.ceil(min_duration_s * sampling_rate_hz))
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_n]


def still_quality(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    window_s: float = STILL_WINDOW_S,
) -> dict[str, float]:
    """Stillness numbers of a segment that is meant to be still.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) samples of the segment.
    sampling_rate_hz
        Sampling rate, Hz.
    window_s
        Window of the moving RMS, seconds.

    Returns
    -------
    dict
        ``still_gyro_rms_radps`` and ``still_acc_rms_mps2`` (largest moving RMS deviation over the
        segment), ``still_gyro_mean_radps`` (norm of the mean rotation rate),
        ``still_duration_s``.
    """
    acc, gyr = _check_imu(acc_mps2, gyr_radps)
    n = min(max(int(round(window_s * sampling_rate_hz)), 2), len(acc))
    return {
        "still_gyro_rms_radps": float(np.max(moving_rms_deviation(gyr, window_samples=n))),
        "still_acc_rms_mps2": float(np.max(moving_rms_deviation(acc, window_samples=n))),
        "still_gyro_mean_radps": float(np.linalg.norm(np.mean(gyr, axis=0))),
        "still_duration_s": len(acc) / sampling_rate_hz,
    }


def gyro_bias_from_still(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    still: tuple[int, int] | None = None,
    placement: str = "sensor",
    gyro_rms_threshold_radps: float = STILL_GYRO_RMS_RADPS,
    acc_rms_threshold_mps2: float = STILL_ACC_RMS_MPS2,
    min_duration_s: float = 1.0,
) -> np.ndarray:
    """Gyroscope bias: the mean rotation rate over a still period, after checking it is still.

    Parameters
    ----------
    acc_mps2, gyr_radps
        (N, 3) accelerometer (m/s^2) and gyroscope (rad/s), sensor frame.
    sampling_rate_hz
        Sampling rate, Hz.
    still
        ``(start_idx, end_idx)`` of the period that should be still (end exclusive); ``None``
        uses all samples.
    placement
        Name used in the error message (``"sacrum"``, ``"thigh_left"`` ...).
    gyro_rms_threshold_radps, acc_rms_threshold_mps2
        Largest moving RMS deviation accepted in the period.
    min_duration_s
        Shortest period accepted, seconds.

    Returns
    -------
    numpy.ndarray
        (3,) bias in rad/s, sensor frame; subtract it from the gyroscope samples.

    Raises
    ------
    CalibrationError
        The period is too short, contains non-finite samples, or the sensor moved in it.
    """
    acc, gyr = _check_imu(acc_mps2, gyr_radps)
    i0, i1 = (0, len(acc)) if still is None else (int(still[0]), int(still[1]))
    acc, gyr = acc[i0:i1], gyr[i0:i1]
    duration_s = len(acc) / sampling_rate_hz
    if duration_s < min_duration_s:
        raise CalibrationError(
            f"the still period of the {placement} sensor lasts {duration_s:.1f} s "
            f"(need {min_duration_s:.0f} s): stand still longer and redo the calibration"
        )
    if not (np.all(np.isfinite(acc)) and np.all(np.isfinite(gyr))):
        raise CalibrationError(
            f"the {placement} sensor has missing samples during the still period: "
            "check the connection and redo the calibration"
        )
    q = still_quality(acc, gyr, sampling_rate_hz=sampling_rate_hz)
    moved = (
        q["still_gyro_rms_radps"] > gyro_rms_threshold_radps
        or q["still_gyro_mean_radps"] > MAX_PLAUSIBLE_BIAS_RADPS
    )
    if moved or q["still_acc_rms_mps2"] > acc_rms_threshold_mps2:
        raise CalibrationError(
            f"the {placement} sensor moved during the {duration_s:.0f} s standing calibration "
            f"(gyro {q['still_gyro_rms_radps']:.2f} rad/s, acc {q['still_acc_rms_mps2']:.2f} "
            "m/s^2): stand still and redo it"
        )
    return np.mean(gyr, axis=0)
