"""A physically consistent running simulator with ground truth.

It synthesises what a sacrum IMU and one or two thigh IMUs measure for a runner, from a kinematic
model of pelvis and thigh motion, together with per-stride, per-event, per-sample and per-lap
truth. See ``docs/simulator.md`` for the model and its limits.

Examples
--------
>>> from stridecue.simulator import demo_plan, simulate
>>> sim = simulate(demo_plan(), seed=1)
>>> sim.sensors["sacrum"].acc_mps2.shape[1]
3
"""

from __future__ import annotations

from .core import Simulation, Truth, simulate
from .kinematics import Kinematics
from .plan import Phase, SensorSpec, SessionPlan, SimulationPlanError, demo_plan, overstride_plan
from .sensors import SensorData
from .track import TRACK_BEND_RADIUS_M, TRACK_STRAIGHT_M, path_pose

__all__ = [
    "TRACK_BEND_RADIUS_M",
    "TRACK_STRAIGHT_M",
    "Kinematics",
    "Phase",
    "SensorData",
    "SensorSpec",
    "SessionPlan",
    "Simulation",
    "SimulationPlanError",
    "Truth",
    "demo_plan",
    "overstride_plan",
    "path_pose",
    "simulate",
]
