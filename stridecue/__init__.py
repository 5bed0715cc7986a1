"""stridecue: wearable IMU gait and pelvis monitor for runners returning from a hamstring strain."""

from __future__ import annotations

__version__ = "0.1.0"
