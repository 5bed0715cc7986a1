"""Mobility checks from the rehab articles, measured with the running sensors.

* **Straight-leg raise** (thigh sensor, lying on the back): the peak elevation of the thigh above
  its lying baseline. The articles aim for about 65-70 deg ("if you can't get to about 65 degrees,
  you have to stretch them"); 65 deg is the default target.
* **Kneeling hip-flexor test** (sacrum sensor): from a neutral kneeling position the athlete tucks
  the tailbone under; the sensor measures how far the pelvis tilts posteriorly. The article judges
  the test by feel and gives no number: the 10 deg default target is a stridecue setting, not a
  validated threshold, and the verdict is a prompt for the athlete's own report of the pull.
* **Standing posture** (sacrum sensor): pelvic tilt relative to the standing calibration and the
  sway at rest (RMS of tilt, obliquity and horizontal acceleration over the hold).

Each check is a pure function over orientation quaternions (``q_sensor_to_earth`` from
``gait.orientation``) and the sensor's :class:`~calibration.model.SegmentCalibration`, and
returns a small frozen dataclass with the value (unit in the name), the target, a verdict and
quality flags. :data:`MOBILITY_PROMPTS` holds the step-by-step text for the CLI,
:data:`MOBILITY_STEP_S` how long each step is recorded, and :func:`mobility_script` puts them in
the order the athlete does them (standing calibration first, lying down last).

Steps
-----
Step 0 of every check is "get into position" (the CLI waits for the athlete there); the
measurement window of a check runs from the start of its step 1 to the start of the next check,
so each measurement function sees its still baseline first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from calibration.model import SegmentCalibration
from gait.angles import pelvis_angles, segment_orientation

#: Step-by-step instructions for the CLI, per check.
MOBILITY_PROMPTS: dict[str, tuple[str, ...]] = {
    "straight_leg_raise": (
        "Keep the thigh sensor on this leg. Lie on your back on the floor, legs straight.",
        "Lie still for 3 seconds.",
        "Keeping the knee straight, lift the leg as high as it goes without bending the knee "
        "or lifting the other leg or the pelvis; hold 2 seconds at the top.",
        "Lower the leg slowly and lie still for 2 seconds.",
    ),
    "kneeling_hip_flexor": (
        "Keep the sacrum sensor on. Kneel on this knee inside a doorway, mid-back touching the "
        "doorframe: the thigh you kneel on vertical, the shin of the other leg vertical.",
        "Stay still in this neutral kneeling position for 3 seconds.",
        "Tuck your tailbone under until the gap between your low back and the doorframe "
        "disappears (spill the cereal bowl behind you); hold 3 seconds.",
        "Relax back to neutral. Did you feel a strong pull in the front of the thigh?",
    ),
    "standing_posture": (
        "Keep the sacrum sensor on. Stand with your feet about shoulder-width apart.",
        "Relax into your normal posture, weight at midfoot, and stand still for 10 seconds.",
    ),
}


#: The standing calibration that starts a mobility session (sensor-to-segment alignment).
CALIBRATION_PROMPTS: tuple[str, ...] = (
    "Stand still, feet shoulder-width apart, arms relaxed, looking ahead.",
    "Walk 6-8 steps straight ahead at your normal pace, then stop and stand still.",
)

#: Recording time of each step, seconds (step 0 is the time allowed to get into position).
MOBILITY_STEP_S: dict[str, tuple[float, ...]] = {
    "calibration": (5.0, 9.0),
    "standing_posture": (3.0, 10.0),
    "kneeling_hip_flexor": (6.0, 3.0, 5.0, 3.0),
    "straight_leg_raise": (8.0, 3.0, 6.0, 4.0),
}

#: Which sensor each check needs.
CHECK_PLACEMENT: dict[str, str] = {
    "calibration": "",
    "standing_posture": "sacrum",
    "kneeling_hip_flexor": "sacrum",
    "straight_leg_raise": "thigh",
}


@dataclass(frozen=True)
class MobilityStep:
    """One prompted step of a guided mobility session.

    Attributes
    ----------
    check
        ``"calibration"``, ``"standing_posture"``, ``"kneeling_hip_flexor"`` or
        ``"straight_leg_raise"``.
    side
        ``"left"``/``"right"`` for the one-sided checks, ``""`` otherwise.
    step
        Index of the step within its check (0 = get into position).
    text
        What the athlete is told.
    duration_s
        How long the step is recorded, seconds.
    """

    check: str
    side: str
    step: int
    text: str
    duration_s: float

    @property
    def waits_for_athlete(self) -> bool:
        """True for "get into position" steps (the CLI waits for Enter when interactive)."""
        return self.step == 0 and self.check != "calibration"


def mobility_script(placements: tuple[str, ...] | list[str], *,
                    first_side: str = "left") -> list[MobilityStep]:
    """The ordered steps of a guided mobility session for the sensors worn.

    Parameters
    ----------
    placements
        The placements worn (``"sacrum"``, ``"thigh_left"``, ``"thigh_right"``).
    first_side
        The side tested first in each two-sided check. ``stridecue mobility`` with a profile that
        names the injured side starts with the other one, as clinical tests do: the healthy
        side shows the athlete the movement and gives the reference.

    Returns
    -------
    list of MobilityStep
        Standing calibration; standing posture and the kneeling hip-flexor test (each knee,
        ``first_side`` first) with a sacrum sensor; a straight-leg raise per thigh sensor.

    Raises
    ------
    CalibrationError
        When no sensor that any check uses is worn.
    """
    from calibration.model import CalibrationError

    placements = tuple(placements)
    if first_side not in ("left", "right"):
        raise ValueError(f"first_side must be 'left' or 'right', got {first_side!r}")
    order = ("left", "right") if first_side == "left" else ("right", "left")
    sides = [s for s in order if f"thigh_{s}" in placements]
    checks: list[tuple[str, str]] = [("calibration", "")]
    if "sacrum" in placements:
        checks += [("standing_posture", "")] + [("kneeling_hip_flexor", s) for s in order]
    checks += [("straight_leg_raise", side) for side in sides]
    if len(checks) == 1:
        raise CalibrationError(
            "the mobility checks need the sacrum sensor or a thigh sensor: connect one"
        )
    steps = []
    for check, side in checks:
        texts = CALIBRATION_PROMPTS if check == "calibration" else MOBILITY_PROMPTS[check]
        for i, (text, dur) in enumerate(zip(texts, MOBILITY_STEP_S[check], strict=True)):
            if side and i == 0:
                what = "knee" if check == "kneeling_hip_flexor" else "leg"
                text = f"{side.upper()} {what}: {text}"
            steps.append(MobilityStep(check, side, i, text, dur))
    return steps


@dataclass(frozen=True)
class StraightLegRaiseResult:
    """Straight-leg raise measured with a thigh sensor.

    Attributes
    ----------
    peak_elevation_deg
        Peak thigh elevation above the lying baseline, degrees.
    baseline_elevation_deg
        Elevation of the thigh's long axis above horizontal while lying (should be near 0).
    target_deg
        The target (default 65 deg, from the articles' 65-70 deg).
    passed
        ``peak_elevation_deg >= target_deg`` (False when the value is NaN).
    peak_abduction_deg
        Largest out-of-plane (sideways) movement of the knee during the check, degrees (a leg
        moving sideways inflates nothing but is flagged above 15 degrees).
    flags
        Quality flags: ``"not_lying_flat"``, ``"no_still_baseline"``, ``"leg_moved_sideways"``,
        ``"no_data"``.
    """

    peak_elevation_deg: float
    baseline_elevation_deg: float
    target_deg: float
    passed: bool
    peak_abduction_deg: float
    flags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class KneelingHipFlexorResult:
    """Kneeling hip-flexor test measured with the sacrum sensor.

    Attributes
    ----------
    posterior_tilt_deg
        How far the pelvis tilted posteriorly from its neutral kneeling position (positive), deg.
    neutral_tilt_deg
        Pelvic tilt of the neutral kneeling position relative to the standing calibration, deg.
    target_deg
        Posterior tilt expected without hip-flexor tightness (a stridecue setting, default 10).
    passed
        ``posterior_tilt_deg >= target_deg``.
    flags
        ``"no_still_baseline"``, ``"pelvis_tilted_anteriorly"`` (moved the wrong way),
        ``"trunk_rotated"`` (obliquity beyond 5 deg), ``"no_data"``.
    """

    posterior_tilt_deg: float
    neutral_tilt_deg: float
    target_deg: float
    passed: bool
    flags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StandingPostureResult:
    """Standing posture relative to the standing calibration.

    Attributes
    ----------
    pelvis_tilt_deg
        Mean pelvic tilt over the hold, relative to the calibration (+ anterior), degrees.
    pelvis_obliquity_deg
        Mean obliquity over the hold (+ left side up), degrees.
    tilt_sway_rms_deg, obliquity_sway_rms_deg
        RMS of tilt and obliquity about their means, degrees.
    acc_sway_rms_mps2
        RMS of the horizontal acceleration about its mean, m/s^2 (NaN without accelerometer data).
    max_anterior_tilt_deg
        The threshold used for the verdict (default 5 deg more anterior than the calibration).
    passed
        ``pelvis_tilt_deg <= max_anterior_tilt_deg``.
    flags
        ``"too_short"`` (under 5 s), ``"moving"`` (sway RMS over 2 deg), ``"no_data"``.
    """

    pelvis_tilt_deg: float
    pelvis_obliquity_deg: float
    tilt_sway_rms_deg: float
    obliquity_sway_rms_deg: float
    acc_sway_rms_mps2: float
    max_anterior_tilt_deg: float
    passed: bool
    flags: tuple[str, ...] = field(default_factory=tuple)


def _baseline_slice(n: int, baseline_s: float, sampling_rate_hz: float) -> slice:
    return slice(0, max(1, min(n, int(round(baseline_s * sampling_rate_hz)))))


def thigh_elevation_deg(
    q_sensor_to_earth: np.ndarray, calibration: SegmentCalibration
) -> tuple[np.ndarray, np.ndarray]:
    """Elevation of the hip-to-knee axis above horizontal, and its heading, per sample.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) ``[w, x, y, z]`` thigh sensor orientation.
    calibration
        The thigh's calibration (its segment z axis is the thigh's long axis).

    Returns
    -------
    elevation_deg, heading_deg : numpy.ndarray
        (N,) each, degrees; NaN where the orientation is invalid.
    """
    q_seg = segment_orientation(q_sensor_to_earth, calibration)
    ok = np.all(np.isfinite(q_seg), axis=1)
    knee = np.full((len(q_seg), 3), np.nan)
    if np.any(ok):
        knee[ok] = Rotation.from_quat(q_seg[ok], scalar_first=True).apply([0.0, 0.0, -1.0])
    elevation = np.degrees(np.arcsin(np.clip(knee[:, 2], -1.0, 1.0)))
    heading = np.degrees(np.arctan2(knee[:, 1], knee[:, 0]))
    return elevation, heading


def straight_leg_raise(
    q_sensor_to_earth: np.ndarray,
    calibration: SegmentCalibration,
    *,
    sampling_rate_hz: float,
    baseline_s: float = 2.0,
    target_deg: float = 65.0,
) -> StraightLegRaiseResult:
    """Straight-leg raise: peak thigh elevation from the lying baseline.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) thigh sensor orientation over the whole check (lying still first).
    calibration
        The thigh's :class:`~calibration.model.SegmentCalibration`.
    sampling_rate_hz
        Sampling rate, Hz.
    baseline_s
        Length of the lying baseline at the start, seconds.
    target_deg
        Target elevation, degrees.

    Returns
    -------
    StraightLegRaiseResult
    """
    elevation, heading = thigh_elevation_deg(q_sensor_to_earth, calibration)
    flags: list[str] = []
    base = _baseline_slice(len(elevation), baseline_s, sampling_rate_hz)
    if not np.any(np.isfinite(elevation)) or not np.any(np.isfinite(elevation[base])):
        return StraightLegRaiseResult(np.nan, np.nan, target_deg, False, np.nan, ("no_data",))
    base_elev = float(np.nanmean(elevation[base]))
    if abs(base_elev) > 20.0:
        flags.append("not_lying_flat")
    if np.nanstd(elevation[base]) > 2.0:
        flags.append("no_still_baseline")
    k = int(np.nanargmax(elevation))
    peak = float(elevation[k] - base_elev)
    # sideways: the horizontal heading of the knee vs at baseline, weighted by the cosine of the
    # elevation (about the knee's angle out of the plane of the raise, and well conditioned near
    # vertical), at its largest over the check
    head0 = float(np.degrees(np.angle(np.nanmean(np.exp(1j * np.radians(heading[base]))))))
    out_of_plane = np.abs((heading - head0 + 180.0) % 360.0 - 180.0) * np.cos(np.radians(elevation))
    side = float(np.nanmax(out_of_plane))
    if side > 15.0:
        flags.append("leg_moved_sideways")
    return StraightLegRaiseResult(
        peak_elevation_deg=peak,
        baseline_elevation_deg=base_elev,
        target_deg=target_deg,
        passed=bool(peak >= target_deg),
        peak_abduction_deg=side,
        flags=tuple(flags),
    )


def kneeling_hip_flexor(
    q_sensor_to_earth: np.ndarray,
    calibration: SegmentCalibration,
    *,
    sampling_rate_hz: float,
    baseline_s: float = 2.0,
    target_deg: float = 10.0,
) -> KneelingHipFlexorResult:
    """Kneeling hip-flexor test: posterior pelvic tilt available from neutral kneeling.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) sacrum sensor orientation over the whole check (neutral kneeling first).
    calibration
        The sacrum's :class:`~calibration.model.SegmentCalibration`.
    sampling_rate_hz
        Sampling rate, Hz.
    baseline_s
        Length of the neutral kneeling baseline at the start, seconds.
    target_deg
        Posterior tilt expected without tightness, degrees (stridecue setting, not validated).

    Returns
    -------
    KneelingHipFlexorResult
    """
    a = pelvis_angles(q_sensor_to_earth, calibration, sampling_rate_hz=sampling_rate_hz,
                      heading_reference="none")
    tilt = a["pelvis_tilt_deg"].to_numpy()
    obl = a["pelvis_obliquity_deg"].to_numpy()
    base = _baseline_slice(len(tilt), baseline_s, sampling_rate_hz)
    if not np.any(np.isfinite(tilt[base])):
        return KneelingHipFlexorResult(np.nan, np.nan, target_deg, False, ("no_data",))
    flags: list[str] = []
    neutral = float(np.nanmean(tilt[base]))
    if np.nanstd(tilt[base]) > 1.5:
        flags.append("no_still_baseline")
    posterior = float(neutral - np.nanmin(tilt))
    if np.nanmax(tilt) - neutral > max(posterior, 3.0):
        flags.append("pelvis_tilted_anteriorly")
    if np.nanmax(np.abs(obl - np.nanmean(obl[base]))) > 5.0:
        flags.append("trunk_rotated")
    return KneelingHipFlexorResult(
        posterior_tilt_deg=posterior,
        neutral_tilt_deg=neutral,
        target_deg=target_deg,
        passed=bool(posterior >= target_deg),
        flags=tuple(flags),
    )


def standing_posture(
    q_sensor_to_earth: np.ndarray,
    calibration: SegmentCalibration,
    *,
    sampling_rate_hz: float,
    acc_mps2: np.ndarray | None = None,
    max_anterior_tilt_deg: float = 5.0,
) -> StandingPostureResult:
    """Standing posture: pelvic tilt relative to the calibration, and sway at rest.

    Parameters
    ----------
    q_sensor_to_earth
        (N, 4) sacrum sensor orientation over the hold.
    calibration
        The sacrum's :class:`~calibration.model.SegmentCalibration` (its standing pose is 0).
    sampling_rate_hz
        Sampling rate, Hz.
    acc_mps2
        Optional (N, 3) sacrum accelerometer over the hold, for the horizontal sway.
    max_anterior_tilt_deg
        Largest anterior tilt relative to the calibration that passes, degrees.

    Returns
    -------
    StandingPostureResult
    """
    a = pelvis_angles(q_sensor_to_earth, calibration, sampling_rate_hz=sampling_rate_hz,
                      heading_reference="none")
    tilt = a["pelvis_tilt_deg"].to_numpy()
    obl = a["pelvis_obliquity_deg"].to_numpy()
    if not np.any(np.isfinite(tilt)):
        return StandingPostureResult(
            np.nan, np.nan, np.nan, np.nan, np.nan, max_anterior_tilt_deg, False, ("no_data",)
        )
    flags: list[str] = []
    if len(tilt) / sampling_rate_hz < 5.0:
        flags.append("too_short")
    tilt_mean = float(np.nanmean(tilt))
    obl_mean = float(np.nanmean(obl))
    tilt_rms = float(np.sqrt(np.nanmean((tilt - tilt_mean) ** 2)))
    obl_rms = float(np.sqrt(np.nanmean((obl - obl_mean) ** 2)))
    if max(tilt_rms, obl_rms) > 2.0:
        flags.append("moving")
    acc_rms = float("nan")
    if acc_mps2 is not None:
        acc = np.asarray(acc_mps2, dtype=float)
        q = np.asarray(q_sensor_to_earth, dtype=float)
        ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(q), axis=1)
        if acc.shape == (len(q), 3) and np.any(ok):
            acc_e = Rotation.from_quat(q[ok], scalar_first=True).apply(acc[ok])[:, :2]
            acc_rms = float(np.sqrt(np.mean(np.sum((acc_e - acc_e.mean(axis=0)) ** 2, axis=1))))
    return StandingPostureResult(
        pelvis_tilt_deg=tilt_mean,
        pelvis_obliquity_deg=obl_mean,
        tilt_sway_rms_deg=tilt_rms,
        obliquity_sway_rms_deg=obl_rms,
        acc_sway_rms_mps2=acc_rms,
        max_anterior_tilt_deg=max_anterior_tilt_deg,
        passed=bool(tilt_mean <= max_anterior_tilt_deg),
        flags=tuple(flags),
    )
