"""Sensor synthesis: sample instants (clock drift, offsets), mounting, noise, bias, taps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from stridecue.constants import ACC_MPS2, GYR_RADPS, MAG_UT, SENSOR_TIME_S, TIME_S

from .kinematics import matrix_to_quat, quat_to_matrix
from .plan import SensorSpec, SimulationPlanError

#: Lap-mark tap: half-sine acceleration spike along the sensor's +z axis.
TAP_DURATION_S = 0.015
TAP_PEAK_MPS2 = 40.0
TAP_INTERVAL_S = 0.25
#: Impact transmitted from the foot to a thigh sensor at its own leg's initial contact (running):
#: a damped oscillation along the thigh's long axis (the shock travelling up the leg, and the
#: soft tissue under the sensor ringing), starting at the contact. The kinematic model moves the
#: thigh rigidly with the hip, so without it a thigh sensor would see only the pelvis' impact,
#: the same at both feet's contacts and of the sacrum's shape; a thigh-mounted accelerometer
#: sees its own leg's impact larger, sharper and earlier than the sacrum (about 2-5 g at running
#: speeds). Peak at ``CONTACT_REFERENCE_SPEED_MPS``, scaled like the sacral impact with speed;
#: not fitted to real thigh data (``../shared/data`` has none).
THIGH_IMPACT_PEAK_MPS2 = 30.0
THIGH_IMPACT_FREQUENCY_HZ = 20.0
THIGH_IMPACT_DECAY_S = 0.015


@dataclass
class SensorData:
    """What one simulated IMU produced, plus its noise-free truth.

    Attributes
    ----------
    placement, sampling_rate_hz, clock_drift_ppm, start_offset_s
        As in the :class:`~stridecue.simulator.plan.SensorSpec`.
    sensor_time_s
        (N,) the sensor's own timestamps (``sensor_time_start_s + k / rate``).
    true_time_s
        (N,) the true session time of each sample.
    acc_mps2, gyr_radps
        (N, 3) measured specific force and angular velocity in the sensor frame.
    mag_ut
        (N, 3) magnetic field in the sensor frame, or ``None``.
    q_sensor_to_segment
        (4,) the mounting ``[w, x, y, z]``.
    acc_clean_mps2, gyr_clean_radps
        (N, 3) noise-, bias- and tap-free signals (the kinematic truth).
    q_sensor_to_earth
        (N, 4) true sensor orientation.
    position_m
        (N, 3) true earth-frame position of the sensor.
    gyr_bias_radps
        (N, 3) the gyroscope bias that was added.
    """

    placement: str
    sampling_rate_hz: float
    clock_drift_ppm: float
    start_offset_s: float
    sensor_time_s: np.ndarray
    true_time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    mag_ut: np.ndarray | None
    q_sensor_to_segment: np.ndarray
    acc_clean_mps2: np.ndarray
    gyr_clean_radps: np.ndarray
    q_sensor_to_earth: np.ndarray
    position_m: np.ndarray
    gyr_bias_radps: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """The samples as a table in ``stridecue.constants.SAMPLE_COLUMNS`` order.

        ``time_s`` is the true session time (what a perfectly synchronised host would stamp);
        the magnetometer columns are NaN without a magnetometer.
        """
        mag = self.mag_ut if self.mag_ut is not None else np.full_like(self.acc_mps2, np.nan)
        data = {TIME_S: self.true_time_s, SENSOR_TIME_S: self.sensor_time_s}
        for cols, arr in ((ACC_MPS2, self.acc_mps2), (GYR_RADPS, self.gyr_radps), (MAG_UT, mag)):
            for i, col in enumerate(cols):
                data[col] = arr[:, i]
        return pd.DataFrame(data)


def sample_times(spec: SensorSpec, session_end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Sensor-clock and true times of every sample a sensor produces within the session.

    A sensor whose clock runs fast by ``clock_drift_ppm`` ticks ``1 / rate`` on its own clock
    every ``1 / (rate (1 + ppm 1e-6))`` true seconds.

    Returns
    -------
    sensor_time_s, true_time_s
        (N,) each.
    """
    rate = float(spec.sampling_rate_hz)
    scale = 1.0 + spec.clock_drift_ppm * 1e-6
    n = int(np.floor((session_end_s - spec.start_offset_s) * rate * scale)) + 1
    if n <= 0:
        raise SimulationPlanError(
            f"{spec.placement}: start_offset_s={spec.start_offset_s} is after the session end;"
            " make it smaller"
        )
    k = np.arange(n, dtype=float)
    return spec.sensor_time_start_s + k / rate, spec.start_offset_s + k / (rate * scale)


def mounting_quaternion(spec: SensorSpec, rng: np.random.Generator) -> np.ndarray:
    """``q_sensor_to_segment`` for a spec: identity, a seeded random rotation or the given one."""
    m = spec.mounting
    if isinstance(m, str):
        if m == "aligned":
            return np.array([1.0, 0.0, 0.0, 0.0])
        if m == "random":
            return matrix_to_quat(Rotation.random(random_state=rng).as_matrix()[None])[0]
        raise SimulationPlanError(
            f"{spec.placement}: mounting {m!r} is unknown; use 'aligned', 'random' or a quaternion"
        )
    q = np.asarray(m, dtype=float)
    if q.shape != (4,) or not np.isfinite(q).all() or np.linalg.norm(q) < 1e-9:
        raise SimulationPlanError(
            f"{spec.placement}: mounting must be a [w, x, y, z] quaternion of shape (4,)"
        )
    return q / np.linalg.norm(q)


def add_measurement_errors(
    spec: SensorSpec,
    acc_clean: np.ndarray,
    gyr_clean: np.ndarray,
    q_sensor_to_earth: np.ndarray,
    rng: np.random.Generator,
    field_earth_ut: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Noise, bias, magnetometer and saturation on top of the clean signals.

    Returns
    -------
    acc_mps2, gyr_radps, mag_ut (or None), gyr_bias_radps
    """
    n = len(acc_clean)
    rate = spec.sampling_rate_hz
    bw = np.sqrt(rate / 2.0)
    # draw in a fixed order so the streams do not depend on options
    acc_noise = rng.standard_normal((n, 3)) * spec.acc_noise_density_mps2_rthz * bw
    gyr_noise = rng.standard_normal((n, 3)) * spec.gyr_noise_density_radps_rthz * bw
    bias0 = rng.standard_normal(3) * spec.gyr_bias_sd_radps
    walk = np.cumsum(rng.standard_normal((n, 3)), axis=0) * (
        spec.gyr_bias_random_walk_radps_rts / np.sqrt(rate)
    )
    mag_noise = rng.standard_normal((n, 3)) * spec.mag_noise_ut
    if not spec.noise:
        acc_noise[:] = 0.0
        gyr_noise[:] = 0.0
        bias0[:] = 0.0
        walk[:] = 0.0
        mag_noise[:] = 0.0
    bias = bias0 + walk
    acc = np.clip(acc_clean + acc_noise, -spec.acc_range_mps2, spec.acc_range_mps2)
    gyr = np.clip(gyr_clean + bias + gyr_noise, -spec.gyr_range_radps, spec.gyr_range_radps)
    mag = None
    if spec.magnetometer:
        r = quat_to_matrix(q_sensor_to_earth)
        mag = np.einsum("nji,j->ni", r, field_earth_ut) + mag_noise
    return acc, gyr, mag, bias


def earth_field_ut(spec: SensorSpec, track_heading_deg: float) -> np.ndarray:
    """Earth magnetic field in the simulation's earth frame (x = first straight, z up)."""
    incl = np.deg2rad(spec.mag_inclination_deg)
    north = np.deg2rad(90.0 - track_heading_deg)  # north azimuth in the frame, CCW from x
    horiz = spec.mag_field_ut * np.cos(incl)
    return np.array(
        [horiz * np.cos(north), horiz * np.sin(north), -spec.mag_field_ut * np.sin(incl)]
    )


def add_thigh_impacts(
    acc: np.ndarray, true_time_s: np.ndarray, ic_s: np.ndarray, peak_mps2: np.ndarray,
    axis_sensor: np.ndarray,
) -> None:
    """Add the impact transmitted from the foot at each of the leg's contacts (in place).

    Parameters
    ----------
    acc
        (N, 3) the thigh sensor's specific force, m/s^2 (modified).
    true_time_s
        (N,) true time of each sample, s.
    ic_s, peak_mps2
        (M,) the leg's initial contacts (s) and each impact's peak (m/s^2; 0 for none).
    axis_sensor
        (3,) the thigh's long axis (segment +z) in the sensor frame.
    """
    dur = 5.0 * THIGH_IMPACT_DECAY_S
    for t_ic, peak in zip(ic_s, peak_mps2, strict=True):
        if not peak > 0:
            continue
        i0, i1 = np.searchsorted(true_time_s, [t_ic, t_ic + dur])
        x = true_time_s[i0:i1] - t_ic
        wave = np.sin(2 * np.pi * THIGH_IMPACT_FREQUENCY_HZ * x) * np.exp(-x / THIGH_IMPACT_DECAY_S)
        acc[i0:i1] += (peak * wave)[:, None] * axis_sensor[None, :]


def add_taps(
    acc: np.ndarray, true_time_s: np.ndarray, tap_times_s: np.ndarray, *, sampling_rate_hz: float
) -> None:
    """Add half-sine spikes along sensor +z at each tap time (in place).

    The spike lasts ``TAP_DURATION_S`` or three sample periods, whichever is longer (a sensor's
    anti-alias filter spreads a tap over a few samples), so every tap is seen.
    """
    dur = max(TAP_DURATION_S, 3.0 / sampling_rate_hz)
    for t_tap in tap_times_s:
        i0, i1 = np.searchsorted(true_time_s, [t_tap, t_tap + dur])
        x = (true_time_s[i0:i1] - t_tap) / dur
        acc[i0:i1, 2] += TAP_PEAK_MPS2 * np.sin(np.pi * x)
