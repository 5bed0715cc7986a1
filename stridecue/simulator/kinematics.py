"""The kinematic model: pelvis and thigh motion of a runner as smooth functions of time.

The model is built on a dense internal grid (1 kHz) from a few globally integrated signals
(stride phase, distance along the path, the spring-mass vertical motion). Everything else
(pelvis and thigh angles, sensor positions) is a closed-form function of those and of the
smoothly ramped phase parameters, so any stretch of the session can be evaluated on its own.
Sensor signals come from quintic interpolating splines of the dense sensor positions and segment
angles; accelerations and angular velocities are the splines' analytic derivatives, so the
signals are exactly consistent with the exposed position and orientation truth.

Frames and signs follow ``stridecue.constants``: earth z up, segment x anterior, y left, z up;
segment orientation is the Cardan sequence z-x-y (yaw, then obliquity/ab-adduction about x,
then tilt/flexion about y). Pelvis: + tilt anterior, + obliquity left side up, + rotation pelvis
turned left. Thigh: + thigh angle = knee ahead of the hip (the thigh's y angle is minus it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.signal import butter, sosfiltfilt

from stridecue.constants import GRAVITY_MPS2, PLACEMENTS, SACRUM, THIGH_LEFT, THIGH_RIGHT

from .plan import SCHEDULED_PARAMS, SessionPlan
from .track import path_pose

#: Internal grid step (s).
DENSE_DT_S = 1e-3
#: Extra grid before 0 and after the session end (s), so splines have margins.
GRID_MARGIN_S = 1.0
#: Running contact model, fitted to real sacrum recordings (see ``docs/simulator.md`` and
#: ``bench/bench_simulator_realism.py``). Vertical: the active (spring-mass) force has the
#: shape ``x^a (1 - x)^b`` over the contact (x = time since IC / contact time), skewed towards
#: early stance as measured at the sacrum.
ACTIVE_SHAPE_A = 1.96
ACTIVE_SHAPE_B = 1.67
#: Impact transient at the sacrum (after soft tissue): a raised-cosine (Hann) bump starting at
#: IC, of this duration (s) and peak (m/s^2); its impulse is taken out of the active force.
IMPACT_DURATION_S = 0.0665
IMPACT_PEAK_MPS2 = 18.9
#: Forward: a raised-cosine braking pulse starting at IC, of this duration (s), that takes
#: ``braking_mps`` off the forward speed, and a raised-cosine propulsion pulse over this
#: fraction of the contact giving it back (flight is ballistic: no forward acceleration).
BRAKING_DURATION_S = 0.0496
PROPULSION_FRACTION = (0.275, 0.977)
#: Speed scaling of the impact and braking pulses: duration x (v / v_ref)^-k_d, impact peak x
#: (v / v_ref)^k_p (faster running: shorter, larger impact and sharper braking).
CONTACT_REFERENCE_SPEED_MPS = 3.3
IMPACT_SPEED_EXPONENT_DURATION = 1.43
IMPACT_SPEED_EXPONENT_PEAK = 0.36
BRAKING_SPEED_EXPONENT_DURATION = 0.85


#: Walking: the pelvis height over one step (phase 0 = initial contact, 1 = the next one) as the
#: cosine and sine coefficients of harmonics 1-8, peak-to-peak 1 (scaled by ``walk_vertical_m``);
#: and the forward-speed fluctuation in the same form (scaled by ``braking_mps``). The mean step
#: of the real straight lab walks, computed by
#: :func:`stridecue.simulator.realism.walking_step_harmonics` (checked against it by
#: ``tests/test_simulator_vs_real.py``): the loading peak just after each contact, not a sinusoid.
WALK_HEIGHT_HARMONICS = (
    (-0.43465, -0.20833), (-0.03638, -0.01768), (-0.00773, -0.01486), (0.00579, -0.00293),
    (-0.00007, -0.00127), (0.00056, -0.00121), (0.00043, -0.00013), (0.00016, -0.00014),
)
WALK_SPEED_HARMONICS = (
    (0.40878, 0.22243), (0.02327, 0.06281), (-0.03014, 0.03228), (0.01272, -0.00102),
    (0.00148, 0.00174), (0.00022, -0.00392), (0.00192, -0.00049), (-0.00026, -0.00111),
)
#: Walking: the pelvis is turned furthest to the left (right side back) this fraction of a
#: stride after the right foot's contact, and to the right as long after the left's (the first
#: harmonic of the yaw rate over the real straight walks' strides,
#: :func:`stridecue.simulator.realism.walking_rotation_phase`). Running keeps 0 (no real
#: reference: the sacral running recordings have no gyroscope).
WALK_ROTATION_PHASE = 0.22


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Quintic smoothstep 0 -> 1 on [0, 1], C2 at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10.0 + x * (-15.0 + 6.0 * x))


def cardan_zxy_matrix(yaw: np.ndarray, ax: np.ndarray, ay: np.ndarray) -> np.ndarray:
    """Rotation matrices ``Rz(yaw) Rx(ax) Ry(ay)``, shape (N, 3, 3), segment -> earth."""
    ca, sa = np.cos(yaw), np.sin(yaw)
    cb, sb = np.cos(ax), np.sin(ax)
    cc, sc = np.cos(ay), np.sin(ay)
    r = np.empty((*np.shape(yaw), 3, 3))
    r[..., 0, 0] = ca * cc - sa * sb * sc
    r[..., 0, 1] = -sa * cb
    r[..., 0, 2] = ca * sc + sa * sb * cc
    r[..., 1, 0] = sa * cc + ca * sb * sc
    r[..., 1, 1] = ca * cb
    r[..., 1, 2] = sa * sc - ca * sb * cc
    r[..., 2, 0] = -cb * sc
    r[..., 2, 1] = sb
    r[..., 2, 2] = cb * cc
    return r


def cardan_zxy_body_rate(angles: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Angular velocity in the segment frame from z-x-y Cardan angles and their rates.

    Parameters
    ----------
    angles, rates
        (N, 3): (yaw, ax, ay) in rad and their time derivatives in rad/s.

    Returns
    -------
    numpy.ndarray
        (N, 3) angular velocity of the segment frame expressed in the segment frame, rad/s.
    """
    b, c = angles[:, 1], angles[:, 2]
    dz, dx, dy = rates[:, 0], rates[:, 1], rates[:, 2]
    cb, sb, cc, sc = np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    return np.column_stack(
        [cc * dx - sc * cb * dz, dy + sb * dz, sc * dx + cc * cb * dz]
    )


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) to ``[w, x, y, z]`` quaternions (N, 4), w >= 0."""
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(r).as_quat()  # x, y, z, w
    q = np.column_stack([q[:, 3], q[:, :3]])
    q[q[:, 0] < 0] *= -1.0
    return q


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """``[w, x, y, z]`` quaternion(s) to rotation matrix/matrices."""
    q = np.asarray(q, dtype=float)
    w, x, y, z = np.moveaxis(q / np.linalg.norm(q, axis=-1, keepdims=True), -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


@dataclass(frozen=True)
class Geometry:
    """Body dimensions (m) scaled from height (Winter's segment proportions)."""

    hip_height_m: float
    hip_half_width_m: float
    thigh_length_m: float
    shank_length_m: float
    r_sacrum_in_pelvis_m: np.ndarray
    r_thigh_sensor_in_thigh_m: np.ndarray  # for the left thigh; y mirrored for the right

    @classmethod
    def from_height(cls, height_m: float) -> Geometry:
        """Scale the reference 1.78 m body to ``height_m``."""
        k = height_m / 1.78
        return cls(
            hip_height_m=0.53 * height_m,
            hip_half_width_m=0.085 * k,
            thigh_length_m=0.245 * height_m,
            shank_length_m=0.246 * height_m,
            r_sacrum_in_pelvis_m=np.array([-0.10, 0.0, 0.03]) * k,
            r_thigh_sensor_in_thigh_m=np.array([0.0, 0.07, -0.20]) * k,
        )


class Schedule:
    """Phase boundaries and smoothly ramped parameters as functions of time."""

    def __init__(self, plan: SessionPlan) -> None:
        rows = [ph.resolved() for ph in plan.phases]
        # A still phase keeps the cadence of the nearest moving phase (the phase clock keeps
        # running with zero amplitude, so gait starts smoothly).
        moving = [r["cadence_spm"] for r in rows if r["cadence_spm"] > 0] or [100.0]
        last = moving[0]
        for r in rows:
            if r["cadence_spm"] <= 0:
                r["cadence_spm"] = last
            last = r["cadence_spm"]
        self.names = SCHEDULED_PARAMS
        self.values = np.array([[r[n] for n in self.names] for r in rows])
        n = len(rows)
        self.start_s = np.zeros(n)
        self.end_s = np.zeros(n)
        self.ramp_s = np.zeros(n)
        iv = self.names.index("speed_mps")
        t = 0.0
        for j, ph in enumerate(plan.phases):
            v_prev = self.values[max(j - 1, 0), iv]
            v = self.values[j, iv]
            ramp = ph.ramp_s if j > 0 else 0.0
            if ph.duration_s is not None:
                dur = float(ph.duration_s)
            else:
                # distance covered = v dur - (v - v_prev) ramp / 2 (the smoothstep's mean is 1/2)
                dur = (float(ph.distance_m) + (v - v_prev) * ramp / 2.0) / v
            ramp = min(ramp, dur)
            self.start_s[j], self.end_s[j], self.ramp_s[j] = t, t + dur, ramp
            t += dur
        self.duration_s = t

    def phase_index(self, t: np.ndarray) -> np.ndarray:
        """Index of the phase containing each time (clipped to the first/last phase)."""
        j = np.searchsorted(self.start_s, t, side="right") - 1
        return np.clip(j, 0, len(self.start_s) - 1)

    def params(self, t: np.ndarray, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Ramped parameter values at times ``t``."""
        t = np.asarray(t, dtype=float)
        j = self.phase_index(t)
        jp = np.maximum(j - 1, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(self.ramp_s[j] > 0, (t - self.start_s[j]) / self.ramp_s[j], 1.0)
        s = smoothstep(x)
        out = {}
        for name in names or self.names:
            k = self.names.index(name)
            v0, v1 = self.values[jp, k], self.values[j, k]
            out[name] = v0 + (v1 - v0) * s
        return out


def _hann_pulse(t: np.ndarray, t0: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """Raised-cosine pulse ``sin^2(pi (t - t0) / dur)`` on ``[t0, t0 + dur]``, else 0 (peak 1)."""
    u = (t - t0) / dur
    return np.where((u > 0) & (u < 1), np.sin(np.pi * np.clip(u, 0, 1)) ** 2, 0.0)


def _hann_integral(t: np.ndarray, t0: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """Integral of :func:`_hann_pulse` from ``t0`` to ``t`` (0 before, ``dur/2`` after)."""
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    return dur * (u / 2.0 - np.sin(2 * np.pi * u) / (4 * np.pi))


def running_contact_profiles(
    t_since_ic_s: np.ndarray, step_time_s: np.ndarray, contact_time_s: np.ndarray,
    braking_mps: np.ndarray, speed_mps: np.ndarray | float = CONTACT_REFERENCE_SPEED_MPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Running pelvis accelerations over one step, from the model constants.

    Parameters
    ----------
    t_since_ic_s
        Time since the step's initial contact, in ``[0, step_time_s)``.
    step_time_s, contact_time_s
        Step time and contact time (s), broadcastable.
    braking_mps
        Forward speed lost by the braking pulse (m/s).
    speed_mps
        Running speed (m/s), scales the impact and braking pulses.

    Returns
    -------
    vertical_force_mps2
        Vertical specific force (acceleration + g), m/s^2: 0 in flight, impact + active force in
        contact, with a mean over the step of exactly g (impulse balance).
    forward_acc_mps2
        Forward acceleration, m/s^2: braking then propulsion pulses, zero in flight, zero net
        impulse over the step.
    forward_dv_mps
        Forward speed relative to the step mean (the integral of ``forward_acc_mps2`` minus its
        mean over the step), m/s.
    """
    from scipy.special import beta

    g = GRAVITY_MPS2
    t, ts, tc = t_since_ic_s, step_time_s, contact_time_s
    x = np.clip(t / tc, 0.0, 1.0)
    rel = np.maximum(np.asarray(speed_mps, dtype=float), 0.5) / CONTACT_REFERENCE_SPEED_MPS
    d_imp = np.minimum(IMPACT_DURATION_S * rel**-IMPACT_SPEED_EXPONENT_DURATION, 0.5 * tc)
    k_imp = IMPACT_PEAK_MPS2 * rel**IMPACT_SPEED_EXPONENT_PEAK
    impact = k_imp * _hann_pulse(t, 0.0, d_imp)
    a, b = ACTIVE_SHAPE_A, ACTIVE_SHAPE_B
    active_area = beta(a + 1.0, b + 1.0) * tc  # integral of x^a (1-x)^b over the contact
    amp = (g * ts - k_imp * d_imp / 2.0) / active_area
    f_z = np.where(t < tc, amp * x**a * (1.0 - x) ** b, 0.0) + impact
    d_b = np.minimum(BRAKING_DURATION_S * rel**-BRAKING_SPEED_EXPONENT_DURATION, 0.5 * tc)
    p0, p1 = PROPULSION_FRACTION[0] * tc, PROPULSION_FRACTION[1] * tc
    k_b = 2.0 * braking_mps / d_b
    k_p = 2.0 * braking_mps / (p1 - p0)
    a_x = -k_b * _hann_pulse(t, 0.0, d_b) + k_p * _hann_pulse(t, p0, p1 - p0)
    dv = -k_b * _hann_integral(t, 0.0, d_b) + k_p * _hann_integral(t, p0, p1 - p0)
    # mean over the step of a pulse's integral: K D / 2 (Ts - t0 - D / 2) / Ts
    mean = braking_mps * ((ts - d_b / 2.0) - (ts - p0 - (p1 - p0) / 2.0)) / ts
    return f_z, a_x, dv + mean


def step_harmonics(
    step_phase: np.ndarray, coefficients: tuple[tuple[float, float], ...]
) -> np.ndarray:
    """``sum_k a_k cos(2 pi k s) + b_k sin(2 pi k s)`` at step phases ``s``."""
    out = np.zeros(np.shape(step_phase))
    for k, (a, b) in enumerate(coefficients, start=1):
        out += a * np.cos(2 * np.pi * k * step_phase) + b * np.sin(2 * np.pi * k * step_phase)
    return out


def _cumtrapz(y: np.ndarray, dt: float) -> np.ndarray:
    out = np.empty_like(y)
    out[0] = 0.0
    np.cumsum((y[1:] + y[:-1]) * (0.5 * dt), out=out[1:])
    return out


def _thigh_wave(phi_leg, c, pf, ic, ext):
    """Sagittal thigh angle (rad) over the leg's stride phase (0 = its initial contact).

    Key points: peak extension ``-ext`` at toe-off (phase ``c``), peak flexion at ``pf``, and
    exactly ``ic`` at initial contact (phase 0) on the late-swing retraction; cosine
    interpolation between them (C1).
    """
    span_b = 1.0 - pf + c
    s0 = (1.0 - pf) / span_b
    w0 = 0.5 * (1.0 - np.cos(np.pi * s0))
    flex = (ic + ext * w0) / (1.0 - w0)
    amp = flex + ext
    in_a = (phi_leg >= c) & (phi_leg < pf)
    xa = (phi_leg - c) / (pf - c)
    xb = np.mod(phi_leg - pf, 1.0) / span_b
    wa = -ext + amp * 0.5 * (1.0 - np.cos(np.pi * xa))
    wb = flex - amp * 0.5 * (1.0 - np.cos(np.pi * xb))
    return np.where(in_a, wa, wb)


class Kinematics:
    """The session's motion: global integrated signals plus closed-form evaluation.

    Parameters
    ----------
    plan
        The session plan (validated).
    rng
        Random generator for stride-to-stride variability.
    """

    def __init__(self, plan: SessionPlan, rng: np.random.Generator) -> None:
        self.plan = plan
        self.geometry = Geometry.from_height(plan.height_m)
        self.schedule = Schedule(plan)
        self.dt = DENSE_DT_S
        self.t0 = -GRID_MARGIN_S
        self.n = int(round((self.schedule.duration_s + 2 * GRID_MARGIN_S) / self.dt)) + 1
        t = self.t0 + np.arange(self.n) * self.dt
        p = self.schedule.params(
            t, ("cadence_spm", "speed_mps", "duty_factor", "braking_mps", "gait", "run")
        )
        g = GRAVITY_MPS2
        # stride phase: right IC at integers, left IC at integers + 1/2
        self.phi = _cumtrapz(p["cadence_spm"] / 120.0, self.dt)
        step_phase = np.mod(2.0 * self.phi, 1.0)
        d = np.clip(2.0 * p["duty_factor"], 0.05, 0.95)
        contact = step_phase < d
        gw, w = p["gait"], p["run"]
        b = p["braking_mps"]
        ts = 60.0 / p["cadence_spm"]
        tc = d * ts
        f_z, m_run = np.empty(self.n), np.empty(self.n)
        for i in range(0, self.n, 200_000):  # in blocks: bounded temporaries on long sessions
            k = slice(i, i + 200_000)
            f_z[k], _, m_run[k] = running_contact_profiles(
                step_phase[k] * ts[k], ts[k], tc[k], b[k], p["speed_mps"][k]
            )
        m_walk = b * step_harmonics(2.0 * self.phi, WALK_SPEED_HARMONICS)
        self.v_fwd = p["speed_mps"] + gw * (w * m_run + (1.0 - w) * m_walk)
        self.s = _cumtrapz(self.v_fwd, self.dt)
        self.s -= np.interp(0.0, t, self.s)
        # spring-mass vertical acceleration: -g in flight, impact + active force in contact
        # whose impulse over the step is g * step time (running_contact_profiles).
        a_z = f_z - g
        sos = butter(2, 0.25, fs=1.0 / self.dt, output="sos")
        vz = _cumtrapz(a_z, self.dt)
        vz -= sosfiltfilt(sos, vz)
        z = _cumtrapz(vz, self.dt)
        self.z_run = z - sosfiltfilt(sos, z)
        del a_z, f_z, vz, z, m_run, m_walk, contact, step_phase
        # stride-to-stride variability of the rotation range (standard normal per stride)
        self.rot_noise = rng.standard_normal(int(np.floor(self.phi[-1])) + 3)
        # lap origin: distance at the start of the first lap_start phase (else session start)
        starts = [j for j, ph in enumerate(plan.phases) if ph.lap_start]
        self.lap_origin_s = float(self.schedule.start_s[starts[0]]) if starts else 0.0
        self.lap_origin_m = float(np.interp(self.lap_origin_s, t, self.s))

    # ------------------------------------------------------------------ evaluation
    def time(self, idx: np.ndarray) -> np.ndarray:
        """True session time of dense grid indices."""
        return self.t0 + np.asarray(idx) * self.dt

    def index_range(self, t_from: float, t_to: float, margin_s: float = 0.05) -> np.ndarray:
        """Dense grid indices covering ``[t_from, t_to]`` plus a margin, clipped to the grid."""
        i0 = max(int(np.floor((t_from - margin_s - self.t0) / self.dt)), 0)
        i1 = min(int(np.ceil((t_to + margin_s - self.t0) / self.dt)), self.n - 1)
        return np.arange(i0, i1 + 1)

    def state(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Closed-form body state on dense grid indices.

        Returns
        -------
        dict
            ``time_s``; pelvis Cardan angles ``pelvis_yaw``, ``pelvis_obliquity``,
            ``pelvis_tilt``, ``heading`` (rad); ``thigh_left``/``thigh_right`` (rad, + flexion)
            and ``abd_left``/``abd_right``; ``pos_<placement>`` (N, 3) earth positions (m) of
            each sensor site; ``angles_<placement>`` (N, 3) the z-x-y Cardan angles of that
            site's segment; ``v_fwd``, ``s``; and the parameters used.
        """
        idx = np.asarray(idx)
        t = self.time(idx)
        p = self.schedule.params(t)
        geo = self.geometry
        phi = self.phi[idx]
        s = self.s[idx]
        gw, w = p["gait"], p["run"]
        c = p["duty_factor"]
        deg = np.pi / 180.0
        # pelvis angles (rad)
        tilt_mean, tilt_rng = p["pelvis_tilt_mean_deg"] * deg, p["pelvis_tilt_range_deg"] * deg
        tilt = gw * (tilt_mean + 0.5 * tilt_rng * np.cos(2 * np.pi * (2.0 * phi - 2.0 * c)))
        obl = -gw * 0.5 * p["pelvis_obliquity_range_deg"] * deg * np.cos(
            2 * np.pi * (phi - 0.5 * c)
        )
        n = np.floor(phi).astype(int)
        frac = phi - n
        e = self.rot_noise[n] + (self.rot_noise[n + 1] - self.rot_noise[n]) * 0.5 * (
            1 - np.cos(np.pi * frac)
        )
        rot_rng = np.maximum(
            p["pelvis_rotation_range_deg"] + p["pelvis_rotation_range_sd_deg"] * e, 0.0
        )
        rot_phase = phi - (1.0 - w) * WALK_ROTATION_PHASE  # walking: the real lag (see above)
        rot = gw * 0.5 * rot_rng * deg * np.cos(2 * np.pi * rot_phase)
        x_path, y_path, heading = path_pose(s - self.lap_origin_m, self.plan.path)
        yaw = heading + rot
        # pelvis origin (midpoint of the hip joint centres)
        sway = -gw * 0.5 * p["lateral_sway_m"] * np.cos(2 * np.pi * (phi - 0.5 * c))
        z_walk = p["walk_vertical_m"] * step_harmonics(2.0 * phi, WALK_HEIGHT_HARMONICS)
        z = (
            geo.hip_height_m
            + gw * (w * self.z_run[idx] + (1.0 - w) * z_walk)
            - gw * (0.01 + 0.025 * w)
        )
        nx, ny = -np.sin(heading), np.cos(heading)
        pelvis = np.column_stack([x_path + sway * nx, y_path + sway * ny, z])
        r_p = cardan_zxy_matrix(yaw, obl, tilt)
        out: dict[str, np.ndarray] = {
            "time_s": t, "phi": phi, "s": s, "v_fwd": self.v_fwd[idx], "heading": heading,
            "pelvis_yaw": yaw, "pelvis_rotation": rot, "pelvis_obliquity": obl,
            "pelvis_tilt": tilt, "pos_pelvis": pelvis,
        }
        out.update({f"param_{k}": v for k, v in p.items()})
        out[f"pos_{SACRUM}"] = pelvis + r_p @ geo.r_sacrum_in_pelvis_m
        out[f"angles_{SACRUM}"] = np.column_stack([yaw, obl, tilt])
        tilt_to = tilt_mean + 0.5 * tilt_rng
        for side, placement, sign, offset in (
            ("left", THIGH_LEFT, 1.0, 0.5),
            ("right", THIGH_RIGHT, -1.0, 0.0),
        ):
            deficit = p[f"deficit_{side}_deg"]
            ext = (p["hip_extension_peak_deg"] - deficit) * deg + tilt_to
            phi_leg = np.mod(phi - offset, 1.0)
            theta = gw * _thigh_wave(
                phi_leg, c, p["thigh_flexion_peak_phase"], p["thigh_angle_ic_deg"] * deg, ext
            )
            abd = sign * gw * deg * (2.0 + 2.0 * np.cos(2 * np.pi * (phi_leg - 0.7)))
            r_t = cardan_zxy_matrix(yaw, abd, -theta)
            hip = pelvis + r_p @ np.array([0.0, sign * geo.hip_half_width_m, 0.0])
            r_sensor = geo.r_thigh_sensor_in_thigh_m * np.array([1.0, sign, 1.0])
            out[f"thigh_{side}"] = theta
            out[f"abd_{side}"] = abd
            out[f"pos_{placement}"] = hip + r_t @ r_sensor
            out[f"angles_{placement}"] = np.column_stack([yaw, abd, -theta])
            rel = np.einsum("nji,njk->nik", r_p, r_t)
            out[f"hip_flexion_{side}"] = np.arctan2(rel[:, 2, 0], rel[:, 2, 2])
        return out

    def sensor_truth(
        self,
        placement: str,
        true_time_s: np.ndarray,
        q_sensor_to_segment: np.ndarray | None = None,
        state: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Noise-free kinematics of a sensor site at arbitrary true times.

        Parameters
        ----------
        placement
            ``"sacrum"``, ``"thigh_left"`` or ``"thigh_right"``.
        true_time_s
            Sorted true session times inside the session.
        q_sensor_to_segment
            Mounting ``[w, x, y, z]``; identity if omitted.
        state
            A precomputed :meth:`state` on a dense index range covering the times (optional).

        Returns
        -------
        dict
            ``position_m`` (N, 3) earth, ``velocity_mps``, ``acceleration_mps2`` (earth, without
            gravity), ``q_segment_to_earth`` and ``q_sensor_to_earth`` (N, 4), ``acc_mps2`` (N, 3)
            specific force in the sensor frame, ``gyr_radps`` (N, 3) in the sensor frame.
        """
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
        t = np.asarray(true_time_s, dtype=float)
        if state is None:
            state = self.state(self.index_range(float(t.min()), float(t.max())))
        tt = state["time_s"]
        y = np.column_stack([state[f"pos_{placement}"], state[f"angles_{placement}"]])
        spl = make_interp_spline(tt, y, k=5)
        v0, v1, v2 = spl(t), spl(t, 1), spl(t, 2)
        r_seg = cardan_zxy_matrix(v0[:, 3], v0[:, 4], v0[:, 5])
        w_seg = cardan_zxy_body_rate(v0[:, 3:], v1[:, 3:])
        r_s2seg = np.eye(3) if q_sensor_to_segment is None else quat_to_matrix(
            q_sensor_to_segment
        )
        r_s2e = r_seg @ r_s2seg
        f_earth = v2[:, :3] + np.array([0.0, 0.0, GRAVITY_MPS2])
        acc = np.einsum("nji,nj->ni", r_s2e, f_earth)
        gyr = w_seg @ r_s2seg  # = (R_s2seg^T w_seg^T)^T
        return {
            "position_m": v0[:, :3],
            "velocity_mps": v1[:, :3],
            "acceleration_mps2": v2[:, :3],
            "q_segment_to_earth": matrix_to_quat(r_seg),
            "q_sensor_to_earth": matrix_to_quat(r_s2e),
            "acc_mps2": acc,
            "gyr_radps": gyr,
        }

