"""Calibration records: a :class:`SegmentCalibration` per sensor, grouped in a :class:`Calibration`.

A calibration is pure data. It is stored in the session metadata as JSON (``to_dict`` /
``from_dict``) and can be reused for later sessions of the same athlete as long as the sensors are
clipped on the same way (a re-clipped sensor needs a new calibration: the mounting is part of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stridecue.constants import PLACEMENTS
from stridecue.errors import CalibrationError

__all__ = ["CALIBRATION_FORMAT_VERSION", "Calibration", "CalibrationError", "SegmentCalibration"]

#: Version of the JSON layout written by :meth:`Calibration.to_dict`.
CALIBRATION_FORMAT_VERSION = 1


def _as_unit_quaternion(q: Any, name: str) -> np.ndarray:
    arr = np.asarray(q, dtype=float).reshape(-1)
    if arr.shape != (4,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite [w, x, y, z] quaternion, got {q!r}")
    norm = float(np.linalg.norm(arr))
    if norm < 1e-9:
        raise ValueError(f"{name} must be a unit [w, x, y, z] quaternion, got a zero vector")
    arr = arr / norm
    # one sign convention (w >= 0) so that equal rotations compare equal
    return -arr if arr[0] < 0 else arr


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _from_json_float(value: Any) -> float:
    return float("nan") if value is None else float(value)


@dataclass(frozen=True)
class SegmentCalibration:
    """The sensor-to-segment alignment of one sensor and its standing neutral.

    Attributes
    ----------
    placement
        ``"sacrum"``, ``"thigh_left"`` or ``"thigh_right"``.
    q_sensor_to_segment
        ``[w, x, y, z]`` unit quaternion rotating sensor-frame vectors into the segment frame
        (x anterior, y left, z up in the standing calibration pose).
    gyro_bias_radps
        Gyroscope bias (3,) in the sensor frame, rad/s, from the standing period.
    neutral_sagittal_deg, neutral_frontal_deg
        Sagittal and frontal angles of the standing pose as the orientation filter sees them
        (pelvis: tilt and obliquity; thigh: thigh angle and abduction); subtracted by
        :mod:`gait.angles` so that standing is zero. 0 by construction (the segment z axis is the
        standing gravity direction) until
        :func:`calibration.alignment.with_neutral_from_orientation` refines them with the
        filter's own estimate.
    quality
        Numbers describing how trustworthy the calibration is (JSON-serialisable floats):
        ``still_gyro_rms_radps``, ``still_acc_rms_mps2``, ``still_duration_s``,
        ``movement_amplitude`` (pelvis: mean forward speed, m/s; thigh: sagittal range, deg),
        ``axis_consistency`` (0..1, 1 = perfectly consistent direction/axis) and others.
    method
        How the anterior direction was found (``"travel_direction"``, ``"gyro_pca+travel"``,
        ``"gyro_pca+asymmetry"``).
    """

    placement: str
    q_sensor_to_segment: np.ndarray
    gyro_bias_radps: np.ndarray
    neutral_sagittal_deg: float = 0.0
    neutral_frontal_deg: float = 0.0
    quality: dict[str, float] = field(default_factory=dict)
    method: str = ""

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        object.__setattr__(
            self,
            "q_sensor_to_segment",
            _as_unit_quaternion(self.q_sensor_to_segment, "q_sensor_to_segment"),
        )
        bias = np.asarray(self.gyro_bias_radps, dtype=float).reshape(-1)
        if bias.shape != (3,):
            raise ValueError(f"gyro_bias_radps must have shape (3,), got {bias.shape}")
        object.__setattr__(self, "gyro_bias_radps", bias)

    @property
    def side(self) -> str:
        """``"left"``/``"right"`` for a thigh, ``"unknown"`` for the sacrum."""
        if self.placement.startswith("thigh_"):
            return self.placement.removeprefix("thigh_")
        return "unknown"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (NaN stored as ``None``)."""
        return {
            "placement": self.placement,
            "q_sensor_to_segment": [float(v) for v in self.q_sensor_to_segment],
            "gyro_bias_radps": [float(v) for v in self.gyro_bias_radps],
            "neutral_sagittal_deg": _json_float(self.neutral_sagittal_deg),
            "neutral_frontal_deg": _json_float(self.neutral_frontal_deg),
            "quality": {k: _json_float(v) for k, v in self.quality.items()},
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentCalibration:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            placement=data["placement"],
            q_sensor_to_segment=np.asarray(data["q_sensor_to_segment"], dtype=float),
            gyro_bias_radps=np.asarray(data["gyro_bias_radps"], dtype=float),
            neutral_sagittal_deg=_from_json_float(data.get("neutral_sagittal_deg", 0.0)),
            neutral_frontal_deg=_from_json_float(data.get("neutral_frontal_deg", 0.0)),
            quality={k: _from_json_float(v) for k, v in data.get("quality", {}).items()},
            method=str(data.get("method", "")),
        )


@dataclass
class Calibration:
    """The calibrations of one session, keyed by placement.

    Attributes
    ----------
    segments
        ``{placement: SegmentCalibration}``.
    created_time_s
        Session-clock time of the standing period used, seconds (NaN if unknown).
    athlete
        Optional athlete identifier, so that the calibration can be reused across sessions.
    """

    segments: dict[str, SegmentCalibration] = field(default_factory=dict)
    created_time_s: float = float("nan")
    athlete: str = ""

    def __getitem__(self, placement: str) -> SegmentCalibration:
        """Return the calibration of one placement."""
        try:
            return self.segments[placement]
        except KeyError:
            raise CalibrationError(
                f"no calibration for the {placement} sensor: "
                "record a standing + walking calibration with that sensor on"
            ) from None

    def __contains__(self, placement: object) -> bool:
        """Return True when ``placement`` is calibrated."""
        return placement in self.segments

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {
            "format_version": CALIBRATION_FORMAT_VERSION,
            "created_time_s": _json_float(self.created_time_s),
            "athlete": self.athlete,
            "segments": {k: v.to_dict() for k, v in self.segments.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Rebuild from :meth:`to_dict` output."""
        version = data.get("format_version", CALIBRATION_FORMAT_VERSION)
        if version != CALIBRATION_FORMAT_VERSION:
            raise CalibrationError(
                f"calibration format version {version} is not supported "
                f"(expected {CALIBRATION_FORMAT_VERSION}): recalibrate the sensors"
            )
        return cls(
            segments={
                k: SegmentCalibration.from_dict(v) for k, v in data.get("segments", {}).items()
            },
            created_time_s=_from_json_float(data.get("created_time_s")),
            athlete=str(data.get("athlete", "")),
        )
