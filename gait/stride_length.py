"""Walking stride length from a lower-back IMU (inverted-pendulum model) and its calibration.

The inverted-pendulum model (Zijlstra & Hof 2003) treats the body over the stance leg as a pendulum
of length ``l`` (the sensor height above ground). A vertical excursion ``h`` of the sacrum during a
step then corresponds to a step length ``2 * sqrt(2 l h - h^2)``, multiplied by an empirical factor
``K`` (1.25 in the original paper) that accounts for the double-support distance the pendulum does
not cover. A stride is two consecutive steps.

Three ways of getting ``h`` are offered:

``"mobilised"`` (default)
    The Mobilise-D variant (Soltani et al. 2021, as implemented in mobgap's ``SlZijlstra``): the
    vertical acceleration is high-passed (4th-order zero-lag Butterworth, 0.1 Hz), integrated,
    the velocity high-passed at 1 Hz, integrated again; ``h`` is the range of the position over
    each step. Its factor ``K = 4.739 / 4`` (:data:`K_MOBILISED_ALL`) was fitted by Mobilise-D on
    all participants of their multiple-sclerosis project, independent of any data we score on;
    we use it unchanged. On the straight Mobilise-D lab walks it gives 7.6 cm stride-length MAE
    against 12.6 cm for Zijlstra & Hof with ``K = 1.25``; fitting one ``K`` ourselves,
    leave-one-trial-out over the four referenced trials, is worse (about 12 cm), because the
    daily-living trials want ``K`` near 1.0 and the straight walks near 1.16.
``"per_step"``
    The vertical acceleration is integrated twice inside each step only, with the boundary
    conditions of periodic walking (the mean vertical acceleration and the mean vertical velocity
    over a step are zero, the position returns to its start). No filter transients, no drift.
``"highpass"`` (the published baseline)
    Double integration of the whole signal, each integration followed by a zero-lag 4th-order
    0.1 Hz high-pass, as in Zijlstra & Hof 2003.

Whatever the model, the largest error is a per-person scale (pelvis kinematics, sensor placement).
:func:`fit_stride_length_scale` fits that scale from one walk over a known distance (a lap); use it
with ``scale=`` on later walks of the same person.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from gait.events_walking import vertical_acceleration
from gait.signal import filtfilt_butter
from stridecue.errors import InputError

__all__ = [
    "K_MOBILISED_ALL",
    "K_ZIJLSTRA_HOF",
    "fit_stride_length_scale",
    "inverted_pendulum_step_length_m",
    "step_vertical_excursion_m",
    "walking_stride_length_m",
]

#: Empirical correction factor of Zijlstra & Hof (2003) for the inverted-pendulum step length.
K_ZIJLSTRA_HOF = 1.25
#: Mobilise-D factor for the ``"mobilised"`` excursion, fitted on all participants of the MS
#: project (mobgap ``SlZijlstra.PredefinedParameters.step_length_scaling_factor_ms_all``).
K_MOBILISED_ALL = 4.739 / 4
#: Steps longer than this are pauses, not steps: their length is NaN.
_MAX_STEP_S = 2.0
_HIGHPASS_HZ = 0.1
_VELOCITY_HIGHPASS_HZ = 1.0

Method = Literal["mobilised", "per_step", "highpass"]


#: Sacrum height above the ground per body height, when only the height is known.
SENSOR_HEIGHT_PER_HEIGHT = 0.55
#: Body height assumed when the athlete's is not given, m.
DEFAULT_HEIGHT_M = 1.75


def pendulum_length_m(athlete: Mapping[str, Any] | None) -> tuple[float, str]:
    """The inverted pendulum's length (sacrum height above the ground) and where it comes from.

    ``sensor_height_m`` when given, else ``SENSOR_HEIGHT_PER_HEIGHT`` x ``height_m``, else that
    fraction of ``DEFAULT_HEIGHT_M``; the second value says which (``sensor_height_m`` |
    ``height_m`` | ``assumed``).
    """
    athlete = athlete or {}
    if athlete.get("sensor_height_m"):
        return float(athlete["sensor_height_m"]), "sensor_height_m"
    if athlete.get("height_m"):
        return SENSOR_HEIGHT_PER_HEIGHT * float(athlete["height_m"]), "height_m"
    return SENSOR_HEIGHT_PER_HEIGHT * DEFAULT_HEIGHT_M, "assumed"


def _highpass(x: np.ndarray, fs: float, cutoff_hz: float = _HIGHPASS_HZ) -> np.ndarray:
    return filtfilt_butter(x, order=4, cutoff_hz=cutoff_hz, btype="highpass", sampling_rate_hz=fs,
                           axis=-1, padlen=min(len(x) - 1, 3 * int(fs)))


def step_vertical_excursion_m(
    a_v_mps2: np.ndarray,
    ic_idx: np.ndarray,
    *,
    sampling_rate_hz: float,
    method: Method = "mobilised",
) -> np.ndarray:
    """Peak-to-trough vertical displacement of the sensor during each step.

    Parameters
    ----------
    a_v_mps2
        Vertical acceleration (up positive, gravity removed), shape (n,), m/s^2.
    ic_idx
        Initial contacts (sample indices, ascending); step ``k`` runs from ``ic_idx[k]`` to
        ``ic_idx[k + 1]``.
    sampling_rate_hz
        Sampling rate, Hz.
    method
        ``"mobilised"`` (0.1 Hz / 1 Hz high-passes, Mobilise-D), ``"per_step"`` (periodic
        boundary conditions per step) or ``"highpass"`` (0.1 Hz after both integrations,
        Zijlstra & Hof).

    Returns
    -------
    numpy.ndarray
        Shape (len(ic_idx) - 1,), metres; NaN for steps longer than 2 s or containing NaN.
    """
    fs = float(sampling_rate_hz)
    a = np.asarray(a_v_mps2, dtype=float)
    ic = np.asarray(ic_idx, dtype=int)
    n_steps = max(len(ic) - 1, 0)
    out = np.full(n_steps, np.nan)
    if method in ("highpass", "mobilised"):
        finite = np.isfinite(a)
        filled = np.where(finite, a, 0.0)
        if len(filled) < 8:
            pos = np.full(len(filled), np.nan)
        elif method == "highpass":
            vel = _highpass(np.cumsum(filled) / fs, fs)
            pos = _highpass(np.cumsum(vel) / fs, fs)
        else:
            vel = _highpass(np.cumsum(_highpass(filled, fs)) / fs, fs, _VELOCITY_HIGHPASS_HZ)
            pos = np.cumsum(vel) / fs
        pos[~finite] = np.nan
    elif method != "per_step":
        raise InputError(
            f"unknown excursion method {method!r}; use 'mobilised', 'per_step' or 'highpass'"
        )
    for k in range(n_steps):
        i0, i1 = ic[k], ic[k + 1]
        if i1 - i0 < 2 or (i1 - i0) / fs > _MAX_STEP_S:
            continue
        if method != "per_step":
            seg = pos[i0 : i1 + 1]
        else:
            acc = a[i0 : i1 + 1]
            acc = acc - acc.mean()
            vel = np.cumsum(acc) / fs
            vel = vel - vel.mean()
            seg = np.cumsum(vel) / fs
            seg = seg - np.linspace(seg[0], seg[-1], len(seg))
        if np.isfinite(seg).all():
            out[k] = float(seg.max() - seg.min())
    return out


def inverted_pendulum_step_length_m(
    excursion_m: np.ndarray, *, pendulum_length_m: float, k_factor: float = K_MOBILISED_ALL
) -> np.ndarray:
    """Step length of the inverted-pendulum model, ``K * 2 * sqrt(2 l h - h^2)``.

    Parameters
    ----------
    excursion_m
        Vertical excursion ``h`` per step, metres.
    pendulum_length_m
        Pendulum length ``l``: the sensor height above the ground, metres.
    k_factor
        Empirical correction factor ``K`` (default :data:`K_MOBILISED_ALL`; 1.25 after Zijlstra
        & Hof 2003 is :data:`K_ZIJLSTRA_HOF`).

    Returns
    -------
    numpy.ndarray
        Step lengths, metres (NaN where ``h`` is NaN).
    """
    if not pendulum_length_m > 0:
        raise InputError(
            f"pendulum length {pendulum_length_m} m is not positive; give the sensor height in m"
        )
    h = np.clip(np.asarray(excursion_m, dtype=float), 0.0, pendulum_length_m)
    return k_factor * 2.0 * np.sqrt(2.0 * pendulum_length_m * h - h**2)


def walking_stride_length_m(
    acc_mps2: np.ndarray,
    ic_idx: np.ndarray,
    *,
    sampling_rate_hz: float,
    sensor_height_m: float,
    scale: float = 1.0,
    method: Method = "mobilised",
    k_factor: float = K_MOBILISED_ALL,
) -> np.ndarray:
    """Length of every stride (IC ``k`` to IC ``k + 2``) from a lower-back IMU.

    Parameters
    ----------
    acc_mps2
        Sensor-frame specific force, shape (n, 3), m/s^2, gravity included.
    ic_idx
        Initial contacts of both feet (sample indices, ascending), e.g.
        ``detect_walking_events(...).ic_idx``.
    sampling_rate_hz
        Sampling rate, Hz.
    sensor_height_m
        Height of the sensor above the ground when standing (pendulum length), metres.
    scale
        Per-person scale from :func:`fit_stride_length_scale` (1.0 = uncalibrated).
    method
        Vertical excursion method, see :func:`step_vertical_excursion_m`.
    k_factor
        Inverted-pendulum correction factor ``K``.

    Returns
    -------
    numpy.ndarray
        Shape (len(ic_idx),): the stride that starts at each IC; NaN for the last two ICs and
        where a step is a pause (> 2 s) or contains NaN.
    """
    a_v, _ = vertical_acceleration(acc_mps2, sampling_rate_hz=sampling_rate_hz)
    raw = np.asarray(acc_mps2, dtype=float)
    a_v[~np.isfinite(raw).all(axis=1)] = np.nan
    h = step_vertical_excursion_m(a_v, ic_idx, sampling_rate_hz=sampling_rate_hz, method=method)
    step = scale * inverted_pendulum_step_length_m(
        h, pendulum_length_m=sensor_height_m, k_factor=k_factor
    )
    out = np.full(len(ic_idx), np.nan)
    if len(step) >= 2:
        out[: len(step) - 1] = step[:-1] + step[1:]
    return out


def fit_stride_length_scale(predicted_m: np.ndarray, known_distance_m: float) -> float:
    """Per-person scale factor from one walk over a known distance.

    Parameters
    ----------
    predicted_m
        Uncalibrated lengths that together cover the known distance: the step lengths, or
        every other stride (non-overlapping), of that walk, metres. NaN entries are ignored.
    known_distance_m
        The distance actually walked, metres.

    Returns
    -------
    float
        ``known_distance_m / sum(predicted_m)``; NaN (with a warning) if nothing was predicted.

    Raises
    ------
    InputError
        If the known distance is not positive.
    """
    if not known_distance_m > 0:
        raise InputError(
            f"known distance {known_distance_m} m is not positive; give the lap length in metres"
        )
    pred = np.asarray(predicted_m, dtype=float)
    total = float(np.nansum(pred))
    if not total > 0:
        warnings.warn(
            "stride length scale: no valid predicted length to calibrate against; scale is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return float("nan")
    return known_distance_m / total
