"""What to simulate: phases of a session, the sensors worn, and the embedded demo plan.

Everything here is plain data; the model lives in :mod:`stridecue.simulator.kinematics` and the
sensor synthesis in :mod:`stridecue.simulator.sensors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np

from stridecue.constants import PLACEMENTS, SACRUM, THIGH_LEFT
from stridecue.errors import StridecueError

PhaseKind = Literal["still", "walk", "jog", "run"]


class SimulationPlanError(StridecueError):
    """A simulation plan is inconsistent (bad phase, sensor or option)."""


#: Defaults per phase kind (speeds in m/s, cadence in steps/min, angles in degrees).
#: ``contact_fraction`` is contact time / stride time (the duty factor).
_KIND_DEFAULTS: dict[str, dict[str, float]] = {
    "still": dict(
        speed_mps=0.0, cadence_spm=0.0, duty_factor=0.6, pelvis_tilt_mean_deg=0.0,
        pelvis_tilt_range_deg=0.0, pelvis_obliquity_range_deg=0.0,
        pelvis_rotation_range_deg=0.0, pelvis_rotation_range_sd_deg=0.0,
        thigh_angle_ic_deg=0.0, hip_extension_peak_deg=0.0, hip_extension_deficit_deg=0.0,
        knee_flexion_ic_deg=0.0, braking_mps=0.0, lateral_sway_m=0.0, walk_vertical_m=0.0,
        thigh_flexion_peak_phase=0.85,
    ),
    "walk": dict(
        speed_mps=1.4, cadence_spm=110.0, duty_factor=0.62, pelvis_tilt_mean_deg=1.0,
        pelvis_tilt_range_deg=3.0, pelvis_obliquity_range_deg=7.0,
        pelvis_rotation_range_deg=9.0, pelvis_rotation_range_sd_deg=1.0,
        thigh_angle_ic_deg=22.0, hip_extension_peak_deg=12.0, hip_extension_deficit_deg=0.0,
        knee_flexion_ic_deg=5.0, braking_mps=0.15, lateral_sway_m=0.035, walk_vertical_m=0.035,
        thigh_flexion_peak_phase=0.85,
    ),
    "jog": dict(
        speed_mps=3.0, cadence_spm=160.0, duty_factor=0.36, pelvis_tilt_mean_deg=4.0,
        pelvis_tilt_range_deg=5.0, pelvis_obliquity_range_deg=9.0,
        pelvis_rotation_range_deg=11.0, pelvis_rotation_range_sd_deg=1.2,
        thigh_angle_ic_deg=24.0, hip_extension_peak_deg=12.0, hip_extension_deficit_deg=0.0,
        knee_flexion_ic_deg=15.0, braking_mps=0.25, lateral_sway_m=0.025, walk_vertical_m=0.0,
        thigh_flexion_peak_phase=0.80,
    ),
    "run": dict(
        speed_mps=4.5, cadence_spm=170.0, duty_factor=0.31, pelvis_tilt_mean_deg=5.0,
        pelvis_tilt_range_deg=6.0, pelvis_obliquity_range_deg=10.0,
        pelvis_rotation_range_deg=13.0, pelvis_rotation_range_sd_deg=1.5,
        thigh_angle_ic_deg=24.0, hip_extension_peak_deg=15.0, hip_extension_deficit_deg=0.0,
        knee_flexion_ic_deg=18.0, braking_mps=0.30, lateral_sway_m=0.02, walk_vertical_m=0.0,
        thigh_flexion_peak_phase=0.80,
    ),
}

#: Parameters that vary smoothly between phases (ramped), in the order used by the model.
SCHEDULED_PARAMS: tuple[str, ...] = tuple(_KIND_DEFAULTS["run"].keys()) + (
    "gait", "run", "deficit_left_deg", "deficit_right_deg"
)


@dataclass(frozen=True)
class Phase:
    """One phase of a simulated session.

    Parameters
    ----------
    kind
        ``"still"`` (calibration pose: pelvis angles 0, thighs vertical), ``"walk"``, ``"jog"`` or
        ``"run"``. Jog and run use the spring-mass (flight) model, walk the inverted pendulum.
    duration_s, distance_m
        Exactly one of them ends the phase (``still`` takes a duration only).
    speed_mps, cadence_spm
        Mean forward speed and cadence (steps per minute); stride length = 120 speed / cadence.
    contact_time_s, duty_factor
        Contact time per foot, or contact time / stride time. ``contact_time_s`` wins if both
        are given.
    pelvis_tilt_mean_deg, pelvis_tilt_range_deg
        Tilt relative to standing (+ anterior); mean and peak-to-peak, twice per stride.
    pelvis_obliquity_range_deg, pelvis_rotation_range_deg
        Peak-to-peak obliquity and rotation (once per stride).
    pelvis_rotation_range_sd_deg
        Stride-to-stride standard deviation of the rotation range.
    thigh_angle_ic_deg
        Sagittal thigh angle to vertical at initial contact (+ flexion): the overstride knob.
    hip_extension_peak_deg
        Peak hip extension (thigh relative to pelvis) around toe-off, positive = extension.
    hip_extension_deficit_deg, deficit_side
        Asymmetry: the peak hip extension of ``deficit_side`` is reduced by this much.
    knee_flexion_ic_deg
        Knee flexion at initial contact, used only for the foot-contact distance truth.
    braking_mps
        Forward speed taken off by the braking pulse at the start of contact and given back by
        propulsion (running), or the speed fluctuation (walking).
    lateral_sway_m, walk_vertical_m
        Peak-to-peak medio-lateral sway; walking vertical excursion (running's follows from
        the flight time).
    thigh_flexion_peak_phase
        Fraction of the stride (from initial contact) at which the thigh reaches peak flexion.
    ramp_s
        Duration of the smooth transition from the previous phase into this one.
    lap_start
        Lap counting (400 m laps) starts at the beginning of this phase.
    """

    kind: PhaseKind
    duration_s: float | None = None
    distance_m: float | None = None
    speed_mps: float | None = None
    cadence_spm: float | None = None
    contact_time_s: float | None = None
    duty_factor: float | None = None
    pelvis_tilt_mean_deg: float | None = None
    pelvis_tilt_range_deg: float | None = None
    pelvis_obliquity_range_deg: float | None = None
    pelvis_rotation_range_deg: float | None = None
    pelvis_rotation_range_sd_deg: float | None = None
    thigh_angle_ic_deg: float | None = None
    hip_extension_peak_deg: float | None = None
    hip_extension_deficit_deg: float | None = None
    deficit_side: Literal["left", "right"] = "left"
    knee_flexion_ic_deg: float | None = None
    braking_mps: float | None = None
    lateral_sway_m: float | None = None
    walk_vertical_m: float | None = None
    thigh_flexion_peak_phase: float | None = None
    ramp_s: float = 1.5
    lap_start: bool = False

    def resolved(self) -> dict[str, float]:
        """Every scheduled parameter of this phase, defaults filled in.

        Returns
        -------
        dict
            Parameter name -> value (``duty_factor`` resolved from ``contact_time_s``).
        """
        if self.deficit_side not in ("left", "right"):
            raise SimulationPlanError(
                f"deficit_side {self.deficit_side!r} is unknown; use 'left' or 'right'"
            )
        if self.kind not in _KIND_DEFAULTS:
            raise SimulationPlanError(
                f"unknown phase kind {self.kind!r}; use one of {sorted(_KIND_DEFAULTS)}"
            )
        out = dict(_KIND_DEFAULTS[self.kind])
        for name in out:
            value = getattr(self, name, None)
            if value is not None:
                out[name] = float(value)
        if self.contact_time_s is not None and out["cadence_spm"] > 0:
            out["duty_factor"] = float(self.contact_time_s) * out["cadence_spm"] / 120.0
        out["gait"] = 0.0 if self.kind == "still" else 1.0
        out["run"] = 1.0 if self.kind in ("jog", "run") else 0.0
        deficit = out["hip_extension_deficit_deg"]
        out["deficit_left_deg"] = deficit if self.deficit_side == "left" else 0.0
        out["deficit_right_deg"] = deficit if self.deficit_side == "right" else 0.0
        return out


@dataclass(frozen=True)
class SensorSpec:
    """One simulated IMU.

    Parameters
    ----------
    placement
        ``"sacrum"``, ``"thigh_left"`` or ``"thigh_right"``.
    sampling_rate_hz
        Output rate on the sensor's own clock.
    clock_drift_ppm
        Sensor clock error; +80 ppm means the sensor's second is 80 ppm short, so it produces
        its samples faster in true time.
    start_offset_s
        True session time of the sensor's first sample.
    sensor_time_start_s
        The sensor clock reading at its first sample.
    mounting
        ``"aligned"`` (sensor axes = segment axes), ``"random"`` (seeded uniform random
        rotation) or a quaternion ``q_sensor_to_segment`` ``[w, x, y, z]``.
    acc_noise_density_mps2_rthz, gyr_noise_density_radps_rthz
        White noise densities; the per-sample SD is density * sqrt(rate / 2).
    gyr_bias_sd_radps, gyr_bias_random_walk_radps_rts
        Constant bias (drawn per axis) and its random walk (per sqrt(s)).
    magnetometer, mag_field_ut, mag_inclination_deg, mag_noise_ut
        Optional magnetometer: earth field strength, inclination, white noise SD.
    acc_range_mps2, gyr_range_radps
        Full-scale ranges (outputs saturate there).
    noise
        ``False`` gives noise- and bias-free outputs.
    """

    placement: str
    sampling_rate_hz: float = 200.0
    clock_drift_ppm: float = 0.0
    start_offset_s: float = 0.0
    sensor_time_start_s: float = 0.0
    mounting: str | np.ndarray = "aligned"
    acc_noise_density_mps2_rthz: float = 1.8e-3
    gyr_noise_density_radps_rthz: float = 1.4e-4
    gyr_bias_sd_radps: float = 0.005
    gyr_bias_random_walk_radps_rts: float = 2e-5
    magnetometer: bool = False
    mag_field_ut: float = 50.0
    mag_inclination_deg: float = 65.0
    mag_noise_ut: float = 0.3
    acc_range_mps2: float = 16 * 9.80665
    gyr_range_radps: float = float(np.deg2rad(2000.0))
    noise: bool = True


@dataclass(frozen=True)
class SessionPlan:
    """A whole simulated session.

    Parameters
    ----------
    phases
        The phases in order; the first is usually ``still`` (the calibration pose).
    path
        ``"track"`` (400 m lane 1, counter-clockwise) or ``"straight"``.
    sensors
        The IMUs worn.
    lap_marks
        ``"double_tap"`` (two acceleration spikes 0.25 s apart on the sacrum sensor at every lap
        boundary, also listed as key presses), ``"key"`` (key presses only) or ``None``.
    height_m
        Athlete height; segment lengths and offsets scale with it.
    lap_length_m
        Distance between lap boundaries.
    truth_rate_hz
        Rate of the per-sample truth angle table.
    track_heading_deg
        Azimuth of the earth x axis direction of the first straight, counter-clockwise from east
        (matters only for the magnetometer).
    """

    phases: list[Phase]
    path: Literal["track", "straight"] = "track"
    sensors: list[SensorSpec] = field(
        default_factory=lambda: [SensorSpec(SACRUM), SensorSpec(THIGH_LEFT)]
    )
    lap_marks: Literal["double_tap", "key"] | None = None
    height_m: float = 1.78
    lap_length_m: float = 400.0
    truth_rate_hz: float = 100.0
    track_heading_deg: float = 0.0

    def validate(self) -> None:
        """Raise :class:`SimulationPlanError` for anything inconsistent."""
        if not self.phases:
            raise SimulationPlanError("the plan has no phases; add at least one Phase")
        if self.path not in ("track", "straight"):
            raise SimulationPlanError(f"path {self.path!r} is unknown; use 'track' or 'straight'")
        if self.lap_marks not in (None, "double_tap", "key"):
            raise SimulationPlanError(
                f"lap_marks {self.lap_marks!r} is unknown; use 'double_tap', 'key' or None"
            )
        if not 1.2 <= self.height_m <= 2.3:
            raise SimulationPlanError(f"height_m={self.height_m} is implausible; give metres")
        for i, ph in enumerate(self.phases):
            p = ph.resolved()
            if (ph.duration_s is None) == (ph.distance_m is None):
                raise SimulationPlanError(
                    f"phase {i} ({ph.kind}) needs exactly one of duration_s or distance_m"
                )
            if ph.distance_m is not None and p["speed_mps"] <= 0:
                raise SimulationPlanError(
                    f"phase {i} ({ph.kind}) has distance_m but no speed; give duration_s instead"
                )
            if ph.kind != "still" and p["cadence_spm"] <= 0:
                raise SimulationPlanError(f"phase {i} ({ph.kind}) needs cadence_spm > 0")
            if ph.kind in ("jog", "run") and not 0.15 <= p["duty_factor"] < 0.5:
                raise SimulationPlanError(
                    f"phase {i} ({ph.kind}) has duty factor {p['duty_factor']:.2f}; running needs"
                    " contact shorter than a step (0.15-0.5)"
                )
            if ph.kind == "walk" and not 0.5 < p["duty_factor"] < 0.8:
                raise SimulationPlanError(
                    f"phase {i} (walk) has duty factor {p['duty_factor']:.2f}; walking needs"
                    " double support (0.5-0.8)"
                )
        seen = set()
        for s in self.sensors:
            if s.placement not in PLACEMENTS:
                raise SimulationPlanError(
                    f"sensor placement {s.placement!r} is unknown; use one of {PLACEMENTS}"
                )
            if s.placement in seen:
                raise SimulationPlanError(f"two sensors are placed on {s.placement}; keep one")
            seen.add(s.placement)
            if s.sampling_rate_hz <= 0:
                raise SimulationPlanError(f"{s.placement}: sampling_rate_hz must be positive")


def phase_table_row(ph: Phase) -> dict[str, object]:
    """Flatten a phase and its resolved parameters into one truth-table row."""
    row: dict[str, object] = {"kind": ph.kind}
    row.update(ph.resolved())
    for f in fields(ph):
        if f.name in ("deficit_side", "ramp_s", "lap_start"):
            row[f.name] = getattr(ph, f.name)
    return row


def demo_plan() -> SessionPlan:
    """The embedded demo session (about 3.5 minutes).

    Standing calibration 15 s, walking 12 s, a warm-up jog, then two 400 m track laps at running
    speed: lap 1 overstriding (thigh at initial contact ~31 deg, 160 steps/min, more anterior
    tilt), lap 2 corrected (~21 deg, 172 steps/min), then a short walk. Sacrum and left thigh
    sensors at 200 Hz, drift +40 / -30 ppm, seeded random mountings, double-tap lap marks.

    Returns
    -------
    SessionPlan
        The plan; ``simulate(demo_plan(), seed=...)`` runs it.
    """
    run = Phase(kind="run", distance_m=400.0, speed_mps=4.4)
    return SessionPlan(
        phases=[
            Phase(kind="still", duration_s=15.0),
            Phase(kind="walk", duration_s=12.0, speed_mps=1.4, cadence_spm=112.0),
            Phase(kind="jog", duration_s=35.0, speed_mps=3.0, cadence_spm=162.0, ramp_s=2.0),
            replace(
                run, cadence_spm=160.0, contact_time_s=0.235, thigh_angle_ic_deg=31.0,
                pelvis_tilt_mean_deg=9.0, pelvis_tilt_range_deg=7.0,
                hip_extension_peak_deg=10.0, hip_extension_deficit_deg=4.0,
                deficit_side="right", knee_flexion_ic_deg=12.0, braking_mps=0.45,
                pelvis_rotation_range_sd_deg=2.5, ramp_s=2.0, lap_start=True,
            ),
            replace(
                run, cadence_spm=172.0, contact_time_s=0.215, thigh_angle_ic_deg=21.0,
                pelvis_tilt_mean_deg=5.0, pelvis_tilt_range_deg=5.5,
                hip_extension_peak_deg=14.0, hip_extension_deficit_deg=2.0,
                deficit_side="right", knee_flexion_ic_deg=20.0, braking_mps=0.25,
                pelvis_rotation_range_sd_deg=1.2, ramp_s=2.0,
            ),
            Phase(kind="walk", duration_s=10.0, speed_mps=1.3, cadence_spm=108.0, ramp_s=2.5),
        ],
        path="track",
        sensors=[
            SensorSpec(SACRUM, sampling_rate_hz=200.0, clock_drift_ppm=40.0,
                       sensor_time_start_s=1234.5, mounting="random"),
            SensorSpec(THIGH_LEFT, sampling_rate_hz=200.0, clock_drift_ppm=-30.0,
                       start_offset_s=0.013, sensor_time_start_s=87.25, mounting="random"),
        ],
        lap_marks="double_tap",
    )


def overstride_plan() -> SessionPlan:
    """A live-session scenario: a runner who overstrides for a while, then corrects (about 3 min).

    Standing calibration 15 s, walking 12 s, 60 s of easy running (the personal baseline: thigh
    at contact ~21 deg, 172 steps/min), 45 s overstriding (~31 deg, 160 steps/min, more anterior
    tilt), 45 s corrected again, a 10 s walk. Sacrum and left thigh at 200 Hz on a 400 m track.
    """
    easy = Phase(kind="run", duration_s=60.0, speed_mps=4.0, cadence_spm=172.0, contact_time_s=0.22,
                 thigh_angle_ic_deg=21.0, pelvis_tilt_mean_deg=5.0, ramp_s=2.0)
    return SessionPlan(
        phases=[
            Phase(kind="still", duration_s=15.0),
            Phase(kind="walk", duration_s=12.0, speed_mps=1.4, cadence_spm=112.0),
            replace(easy, lap_start=True),
            replace(easy, duration_s=45.0, cadence_spm=160.0, contact_time_s=0.235,
                    thigh_angle_ic_deg=31.0, pelvis_tilt_mean_deg=8.0, braking_mps=0.45),
            replace(easy, duration_s=45.0),
            Phase(kind="walk", duration_s=10.0, speed_mps=1.3, cadence_spm=108.0, ramp_s=2.5),
        ],
        path="track",
        sensors=[
            SensorSpec(SACRUM, sampling_rate_hz=200.0, clock_drift_ppm=40.0,
                       sensor_time_start_s=312.0, mounting="random"),
            SensorSpec(THIGH_LEFT, sampling_rate_hz=200.0, clock_drift_ppm=-30.0,
                       start_offset_s=0.013, sensor_time_start_s=55.5, mounting="random"),
        ],
        lap_marks=None,
    )
