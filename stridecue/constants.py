"""Names, units and frames shared by every stridecue package.

Every column and parameter carries its SI unit in its name (``_s``, ``_mps2``, ``_radps``,
``_ut``, ``_deg``, ``_m``, ``_spm``, ``_hz``). Angles inside computations are radians; angles in
per-stride tables and reports are degrees (``_deg``).

Frames
------
sensor frame
    The axes the IMU reports (``acc_x_mps2`` ...), right-handed, fixed to the sensor housing.
earth frame
    Right-handed, z up (against gravity), x/y horizontal. Heading (the yaw about z) is arbitrary
    for 6D (accelerometer + gyroscope) estimates and magnetic-north referenced (x east, y north,
    ENU) when a magnetometer is used. Orientation quaternions ``q_sensor_to_earth`` are
    ``[w, x, y, z]`` unit quaternions that rotate sensor-frame vectors into the earth frame.
segment frame (pelvis, thigh)
    Anatomical, right-handed: x anterior (forward), y left, z superior (up) when the athlete
    stands in the calibration pose. See ``docs/conventions.md`` for the sign table.
"""

from __future__ import annotations

from typing import Final

#: Standard gravity used everywhere a g is converted to m/s^2.
GRAVITY_MPS2: Final = 9.80665

# --- time --------------------------------------------------------------------------------------
#: Session clock: seconds since the session start on the host's monotonic clock.
TIME_S: Final = "time_s"
#: The sensor's own clock, seconds (unwrapped), before drift correction.
SENSOR_TIME_S: Final = "sensor_time_s"
#: The lowest sampling rate the analysis takes, Hz.
MIN_SAMPLING_RATE_HZ: Final = 20.0

# --- sensor-frame signals ----------------------------------------------------------------------
ACC_MPS2: Final = ("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")
GYR_RADPS: Final = ("gyr_x_radps", "gyr_y_radps", "gyr_z_radps")
MAG_UT: Final = ("mag_x_ut", "mag_y_ut", "mag_z_ut")
IMU_COLUMNS: Final = ACC_MPS2 + GYR_RADPS + MAG_UT
#: Decoded sample table: one row per sample, in this column order.
SAMPLE_COLUMNS: Final = (TIME_S, SENSOR_TIME_S, *IMU_COLUMNS)

# --- sensor placements (roles) -----------------------------------------------------------------
SACRUM: Final = "sacrum"
THIGH_LEFT: Final = "thigh_left"
THIGH_RIGHT: Final = "thigh_right"
PLACEMENTS: Final = (SACRUM, THIGH_LEFT, THIGH_RIGHT)

# --- sides -------------------------------------------------------------------------------------
LEFT: Final = "left"
RIGHT: Final = "right"
UNKNOWN: Final = "unknown"
SIDES: Final = (LEFT, RIGHT, UNKNOWN)

# --- activities --------------------------------------------------------------------------------
STILL: Final = "still"
WALKING: Final = "walking"
RUNNING: Final = "running"
ACTIVITIES: Final = (STILL, WALKING, RUNNING)

# --- events table (analyse output contract: DIR/events.csv) ------------------------------------
EVENT: Final = "event"
SIDE: Final = "side"
INITIAL_CONTACT: Final = "initial_contact"
TOE_OFF: Final = "toe_off"
EVENT_COLUMNS: Final = (TIME_S, EVENT, SIDE)

# --- strides table (analyse output contract: DIR/strides.csv) ----------------------------------
# The first columns are fixed by the contract; the rest are documented in docs/metrics.md.
STRIDE_START_S: Final = "start_s"
STRIDE_END_S: Final = "end_s"
STRIDE_TIME_S: Final = "stride_time_s"
CADENCE_SPM: Final = "cadence_spm"
CONTACT_TIME_S: Final = "contact_time_s"
STRIDE_LENGTH_M: Final = "stride_length_m"
STRIDE_CONTRACT_COLUMNS: Final = (
    STRIDE_START_S,
    STRIDE_END_S,
    SIDE,
    STRIDE_TIME_S,
    CADENCE_SPM,
    CONTACT_TIME_S,
    STRIDE_LENGTH_M,
)

# --- anatomical angles (per sample, degrees) ---------------------------------------------------
PELVIS_TILT_DEG: Final = "pelvis_tilt_deg"  # + anterior tilt
PELVIS_OBLIQUITY_DEG: Final = "pelvis_obliquity_deg"  # + left side up (right side drops)
PELVIS_ROTATION_DEG: Final = "pelvis_rotation_deg"  # + right side forward (pelvis turns left)
THIGH_ANGLE_DEG: Final = "thigh_angle_deg"  # + knee ahead of hip (flexion), to vertical
HIP_FLEXION_DEG: Final = "hip_flexion_deg"  # + flexion, thigh relative to pelvis

# --- per-stride metric columns (documented in docs/metrics.md) ---------------------------------
# A stride runs from the initial contact of one foot (its ``side``) to the next initial contact of
# the same foot. Metrics of a thigh refer to the thigh of the stride's side and are NaN where that
# thigh carries no sensor.
STRIDE_METRIC_COLUMNS: Final = (
    "activity",  # walking | running
    "bout",  # bout number within the session
    "lap",  # lap number (1-based), 0 before the first lap mark
    "step_time_s",  # this IC to the next (opposite-foot) IC
    "flight_time_s",  # step time minus contact time (running; 0 or NaN when walking)
    "duty_factor",  # contact time / stride time
    "speed_mps",  # stride length / stride time
    "step_length_m",  # distance covered during the step that starts the stride
    "vertical_oscillation_m",  # peak-to-trough vertical sacrum displacement within the stride
    "braking_mps",  # forward speed lost from IC to its minimum during contact
    "pelvis_tilt_mean_deg",
    "pelvis_tilt_range_deg",
    "pelvis_tilt_peak_anterior_deg",
    "pelvis_obliquity_range_deg",
    "pelvis_drop_deg",  # drop of the swing side during this stride's contact (positive = drop)
    "pelvis_rotation_range_deg",
    "thigh_angle_ic_deg",  # the overstride measure: thigh flexion to vertical at IC
    "hip_flexion_ic_deg",
    "hip_flexion_peak_deg",
    "hip_extension_peak_deg",  # positive = extension beyond neutral
    "foot_contact_distance_m",  # horizontal distance of the foot ahead of the pelvis at IC
    "gap_crossed",  # True when a data gap falls inside the stride (its metrics are NaN)
)
