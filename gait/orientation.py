"""Orientation estimation: sensor-to-earth quaternions from acc, gyr (and mag) samples.

Output convention
-----------------
Every method returns ``q_sensor_to_earth``: ``(N, 4)`` unit ``[w, x, y, z]`` quaternions that
rotate sensor-frame vectors into an earth frame with z up. With a magnetometer the earth frame
is ENU (x east, y north, z up); without one (6D) the heading is arbitrary but fixed at start.

Methods
-------
``"vqf"`` (default)
    The online VQF filter (Laidig & Seel 2023, ``vqf`` package), run through
    ``VQF.updateBatch`` in compiled code. Causal, with gyroscope bias estimation at rest and in
    motion and magnetic disturbance rejection.
``"vqf_offline"``
    The ``vqf`` package's ``offlineVQF``: acausal (uses future samples), batch only.
``"madgwick"``, ``"mahony"``, ``"ekf"``
    The ``ahrs`` filters, wrapped: the rate is always passed explicitly, each filter is stepped
    sample by sample from our own initial orientation (first valid sample), and its native frame
    is converted here, in one place, to ours. Their native frames were checked against synthetic
    truth (see ``tests/test_orientation.py``): all three give a z-up sensor-to-earth quaternion in
    6D; in 9D Madgwick and the EKF (``frame="NED"`` with the accelerometer sign ``ahrs`` uses)
    work in north-west-up and Mahony in ENU. ``ahrs`` normalises the magnetometer inside every
    filter, so the unit it documents (nT, uT or mT in different places) does not matter; the EKF's
    magnetic reference is set here from the dip angle of the first valid sample instead of the
    ``ahrs`` default (Munich).

Why VQF online is the default
-----------------------------
On BROAD (15 trials, optical truth; ``bench/bench_orientation.py`` writes the figures to
``bench/results/orientation.md``) online VQF reaches 0.70 deg RMS inclination error averaged over
all trials in 6D (published: 0.72 deg), against 1.66 deg for ``ahrs`` Madgwick, 3.3 deg for the
``ahrs`` EKF and 6.7 deg for ``ahrs`` Mahony with default gains (first 60 s of every trial, the
same samples for every method). Offline VQF reaches 0.52 deg but uses future samples, so live
cueing could not use it and replay would not equal live. Online VQF runs in compiled code at
about 0.4 us per sample in batch, 75 times faster than ``ahrs`` Madgwick (28 us per sample) on
the same machine. Our default *is* plain online VQF with its published parameters: we did not
tune it on BROAD, because choosing parameters on those trials would be fitting the test data.

Bad samples
-----------
A sample with any non-finite value (in acc, gyr or, when used, mag) is *held*: the last valid
sample is fed to the filter instead, for gaps up to ``max_gap_s`` (default 0.1 s). Longer gaps
(from the first sample past ``max_gap_s``) and samples before the first valid one are not fed to
the filter at all and give NaN rows; the filter resumes from its last state when data returns.
Each new gap raises an :class:`OrientationDataWarning`. The hold is causal and part of the
streaming state, so streaming still equals batch exactly.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
from ahrs.filters import EKF, Madgwick, Mahony
from vqf import VQF, offlineVQF

from gait import quaternion as quat
from stridecue.errors import InputError

__all__ = [
    "DEFAULT_MAX_GAP_S",
    "METHODS",
    "OrientationDataWarning",
    "OrientationEstimator",
    "OrientationUnitError",
    "estimate_gyro_bias",
    "estimate_orientation",
]

METHODS = ("vqf", "vqf_offline", "madgwick", "mahony", "ekf")
STREAMING_METHODS = ("vqf", "madgwick", "mahony", "ekf")
DEFAULT_MAX_GAP_S = 0.1
#: Unit checks run on chunks of at least this many valid samples (single samples are ambiguous:
#: a runner in flight measures almost no acceleration).
MIN_UNIT_CHECK_SAMPLES = 20

# Parameters each ahrs filter really reads (it silently ignores anything else).
_AHRS_PARAMS = {
    "madgwick": {"gain", "gain_imu", "gain_marg"},
    "mahony": {"k_P", "k_I"},
    "ekf": {"noises", "var_gyr", "var_acc", "var_mag", "P"},
}
_VQF_PARAMS = set(VQF(0.01).params)
# A +90 deg turn about z takes north-west-up axes onto east-north-up axes.
_Q_NWU_TO_ENU = quat.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.pi / 2)


class OrientationUnitError(InputError):
    """Accelerometer or gyroscope data are in the wrong unit."""


class OrientationDataWarning(UserWarning):
    """Non-finite samples were held or left out of the orientation estimate."""


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def _as_xyz(arr: Any, name: str) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(arr, dtype=float))
    if out.ndim == 1:
        out = out[None, :]
    if out.ndim != 2 or out.shape[1] != 3:
        raise ValueError(f"{name} must have shape (3,) or (n, 3), got {np.shape(arr)}")
    return out


def _check_rate(sampling_rate_hz: float) -> float:
    rate = float(sampling_rate_hz)
    if not np.isfinite(rate) or rate <= 0:
        raise InputError(f"sampling_rate_hz must be a positive number, got {sampling_rate_hz!r}")
    return rate


def check_units(acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> None:
    """Raise :class:`OrientationUnitError` when acc looks like g or gyr looks like deg/s.

    Parameters
    ----------
    acc_mps2, gyr_radps
        ``(n, 3)`` arrays; rows with non-finite values are ignored. Checked only when at least
        ``MIN_UNIT_CHECK_SAMPLES`` valid rows are present.

    Raises
    ------
    OrientationUnitError
        Median ``|acc|`` between 0.3 and 3 (gravity in g), or gyro magnitudes beyond what a
        +-2000 deg/s sensor can report in rad/s (99th percentile above 35 rad/s) or a median
        above 10 rad/s (deg/s data).
    """
    ok = np.all(np.isfinite(acc_mps2), axis=1) & np.all(np.isfinite(gyr_radps), axis=1)
    if ok.sum() < MIN_UNIT_CHECK_SAMPLES:
        return
    acc_norm = np.linalg.norm(acc_mps2[ok], axis=1)
    gyr_norm = np.linalg.norm(gyr_radps[ok], axis=1)
    med_acc = float(np.median(acc_norm))
    if 0.3 < med_acc < 3.0:
        raise OrientationUnitError(
            f"accelerometer median magnitude is {med_acc:.2f}, i.e. in g: "
            "multiply by 9.80665 to pass m/s^2"
        )
    if float(np.percentile(gyr_norm, 99)) > 35.0 or float(np.median(gyr_norm)) > 10.0:
        p99 = float(np.percentile(gyr_norm, 99))
        raise OrientationUnitError(
            f"gyroscope magnitudes reach {p99:.0f} (99th percentile), typical of deg/s:"
            " multiply by pi/180 to pass rad/s"
        )


def _check_params(method: str, params: dict[str, Any]) -> None:
    allowed = _VQF_PARAMS if method.startswith("vqf") else _AHRS_PARAMS[method]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InputError(
            f"unknown parameter(s) {unknown} for orientation method {method!r}: "
            f"use one of {sorted(allowed)}"
        )


def _initial_quat_enu(acc: np.ndarray, mag: np.ndarray | None) -> np.ndarray:
    """Orientation from one accelerometer (+ magnetometer) sample: sensor -> z-up (ENU)."""
    if mag is None:
        return quat.from_two_vectors(acc, np.array([0.0, 0.0, 1.0]))
    z = acc / np.linalg.norm(acc)
    east = np.cross(mag, z)
    east /= np.linalg.norm(east)
    north = np.cross(z, east)
    # Rows are the earth axes expressed in the sensor frame: R maps sensor -> earth.
    return quat.from_rotation_matrix(np.vstack([east, north, z]))


# --------------------------------------------------------------------------------------------
# gap handling (causal, stateful)
# --------------------------------------------------------------------------------------------
def _fill_gaps(
    acc: np.ndarray,
    gyr: np.ndarray,
    mag: np.ndarray | None,
    gap: dict[str, Any],
    max_gap_samples: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, int]:
    """Hold the last valid sample over short gaps; returns filled arrays, feed mask, new gaps."""
    n = acc.shape[0]
    bad = ~(np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1))
    if mag is not None:
        bad |= ~np.all(np.isfinite(mag), axis=1)
    if not bad.any():
        if n:
            gap["run"] = 0
            gap["last"] = [acc[-1].copy(), gyr[-1].copy(), None if mag is None else mag[-1].copy()]
        return acc, gyr, mag, np.ones(n, dtype=bool), 0
    idx = np.arange(n)
    last_valid = np.maximum.accumulate(np.where(~bad, idx, -1))
    run = np.where(last_valid >= 0, idx - last_valid, gap["run"] + idx + 1)
    has_source = (last_valid >= 0) | (gap["last"] is not None)
    fill = bad & (run <= max_gap_samples) & has_source
    feed = ~bad | fill
    # number of gaps that start in this chunk
    prev_bad = np.concatenate([[gap["run"] > 0], bad[:-1]])
    new_gaps = int(np.sum(bad & ~prev_bad))
    acc, gyr = acc.copy(), gyr.copy()
    mag = None if mag is None else mag.copy()
    arrays = [a for a in (acc, gyr, mag) if a is not None]
    if fill.any():
        src = last_valid[fill]
        for k, arr in enumerate(arrays):
            held = gap["last"][k] if gap["last"] is not None else np.full(3, np.nan)
            arr[fill] = np.where((src >= 0)[:, None], arr[np.maximum(src, 0)], held)
    valid_last = np.flatnonzero(~bad)
    if valid_last.size:
        j = valid_last[-1]
        gap["last"] = [acc[j].copy(), gyr[j].copy(), None if mag is None else mag[j].copy()]
    gap["run"] = int(n - 1 - valid_last[-1]) if valid_last.size else gap["run"] + n
    return acc, gyr, mag, feed, new_gaps


# --------------------------------------------------------------------------------------------
# streaming estimator
# --------------------------------------------------------------------------------------------
class OrientationEstimator:
    """Streaming orientation estimate; chunked updates give exactly the batch result.

    Parameters
    ----------
    sampling_rate_hz
        Sampling rate of acc, gyr and mag (one common rate), Hz.
    method
        ``"vqf"`` (default), ``"madgwick"``, ``"mahony"`` or ``"ekf"`` (``"vqf_offline"`` is
        batch only: use :func:`estimate_orientation`).
    max_gap_s
        Longest run of non-finite samples bridged by holding the last valid sample, seconds.
    **params
        Filter parameters: VQF parameter names (``tauAcc``, ``tauMag``, ...), Madgwick ``gain``,
        Mahony ``k_P``/``k_I``, EKF ``noises``/``var_gyr``/``var_acc``/``var_mag``. Unknown names
        raise :class:`stridecue.errors.InputError` (``ahrs`` would silently ignore them).

    Attributes
    ----------
    bias_radps_
        Current gyroscope bias estimate, rad/s, shape (3,) (VQF; Mahony's integral (bias)
        term; NaN for Madgwick and the EKF, which estimate none).
    bias_trace_radps_
        VQF only: the per-sample bias estimate of the last :meth:`update`, shape (n, 3).
    """

    def __init__(
        self,
        *,
        sampling_rate_hz: float,
        method: str = "vqf",
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        **params: Any,
    ) -> None:
        if method not in STREAMING_METHODS:
            raise InputError(
                f"orientation method {method!r} cannot stream: use one of {STREAMING_METHODS}"
            )
        _check_params(method, params)
        self.sampling_rate_hz = _check_rate(sampling_rate_hz)
        self._unit_rows: list[tuple[np.ndarray, np.ndarray]] | None = []
        self.method = method
        self.max_gap_s = float(max_gap_s)
        self.params = dict(params)
        self._max_gap_samples = int(np.floor(self.max_gap_s * self.sampling_rate_hz + 1e-9))
        self._uses_mag: bool | None = None
        self._gap: dict[str, Any] = {"run": 0, "last": None}
        self._vqf: VQF | None = None
        self._filter: Any = None
        self._q_native: np.ndarray | None = None
        self.bias_trace_radps_ = np.empty((0, 3))
        if method == "vqf":
            self._vqf = VQF(1.0 / self.sampling_rate_hz, **self.params)

    # ---- ahrs filter construction --------------------------------------------------------
    def _check_units_once(self, acc: np.ndarray, gyr: np.ndarray) -> None:
        """Check units once, on the stream's first ``MIN_UNIT_CHECK_SAMPLES`` rows or more (a
        later short chunk of running, mostly flight, has a small median |acc| that passes for g)."""
        if self._unit_rows is None:
            return
        self._unit_rows.append((acc, gyr))
        if sum(len(a) for a, _ in self._unit_rows) >= MIN_UNIT_CHECK_SAMPLES:
            rows, self._unit_rows = self._unit_rows, None
            check_units(np.vstack([a for a, _ in rows]), np.vstack([g for _, g in rows]))

    def _make_ahrs(self, acc0: np.ndarray, mag0: np.ndarray | None) -> None:
        rate = self.sampling_rate_hz
        dt = 1.0 / rate
        if self.method == "madgwick":
            self._filter = Madgwick(frequency=rate, Dt=dt, **self.params)
        elif self.method == "mahony":
            self._filter = Mahony(frequency=rate, Dt=dt, **self.params)
        else:
            kw = dict(self.params)
            if mag0 is not None:
                cos_up = float(acc0 @ mag0 / (np.linalg.norm(acc0) * np.linalg.norm(mag0)))
                dip = float(np.arcsin(np.clip(-cos_up, -1.0, 1.0)))
                kw["magnetic_ref"] = np.array([np.cos(dip), 0.0, -np.sin(dip)])
            self._filter = EKF(frequency=rate, Dt=dt, frame="NED", **kw)
            if mag0 is not None:
                self._filter.mag = mag0[None, :]  # switches ahrs' EKF to its 9D model
        q0 = _initial_quat_enu(acc0, mag0)
        self._q_native = self._enu_to_native(q0)

    def _native_frame_is_nwu(self) -> bool:
        return bool(self._uses_mag) and self.method in ("madgwick", "ekf")

    def _enu_to_native(self, q: np.ndarray) -> np.ndarray:
        if self._native_frame_is_nwu():
            return quat.multiply(quat.conjugate(_Q_NWU_TO_ENU), q)
        return q

    def _native_to_enu(self, q: np.ndarray) -> np.ndarray:
        if self._native_frame_is_nwu():
            return quat.multiply(_Q_NWU_TO_ENU, q)
        return q

    # ---- update --------------------------------------------------------------------------
    def update(
        self, acc_mps2: np.ndarray, gyr_radps: np.ndarray, mag_ut: np.ndarray | None = None
    ) -> np.ndarray:
        """Feed one sample (shape (3,)) or a chunk (n, 3); return ``q_sensor_to_earth`` (n, 4).

        Parameters
        ----------
        acc_mps2
            Accelerometer, m/s^2, gravity included, sensor frame.
        gyr_radps
            Gyroscope, rad/s, sensor frame.
        mag_ut
            Magnetometer, uT (any unit works: only its direction is used), or None for 6D. Pass
            it on every call or on none.

        Returns
        -------
        numpy.ndarray
            ``(n, 4)`` unit quaternions ``[w, x, y, z]``; NaN rows for samples not fed (gaps).
        """
        acc = _as_xyz(acc_mps2, "acc_mps2")
        gyr = _as_xyz(gyr_radps, "gyr_radps")
        mag = None if mag_ut is None else _as_xyz(mag_ut, "mag_ut")
        if gyr.shape != acc.shape or (mag is not None and mag.shape != acc.shape):
            raise ValueError(
                f"acc, gyr (and mag) must have the same shape, got {acc.shape}, {gyr.shape}"
                + ("" if mag is None else f", {mag.shape}")
            )
        uses_mag = mag is not None
        if self._uses_mag is None:
            self._uses_mag = uses_mag
        elif self._uses_mag != uses_mag:
            raise ValueError("pass mag_ut on every update or on none (the filter is 6D or 9D)")
        self._check_units_once(acc, gyr)
        n = acc.shape[0]
        acc, gyr, mag, feed, new_gaps = _fill_gaps(acc, gyr, mag, self._gap, self._max_gap_samples)
        if new_gaps:
            warnings.warn(
                f"{new_gaps} gap(s) of non-finite IMU samples: held the last valid sample for up"
                f" to {self.max_gap_s} s, {int(np.sum(~feed))} sample(s) left out (NaN)",
                OrientationDataWarning,
                stacklevel=2,
            )
        out = np.full((n, 4), np.nan)
        if not feed.any():
            if self.method == "vqf":
                self.bias_trace_radps_ = np.full((n, 3), np.nan)
            return out
        if not feed.all():
            acc, gyr = acc[feed], gyr[feed]
            mag = None if mag is None else mag[feed]
        if self.method == "vqf":
            out[feed] = self._update_vqf(acc, gyr, mag)
            trace = np.full((n, 3), np.nan)
            trace[feed] = self._last_bias
            self.bias_trace_radps_ = trace
        else:
            out[feed] = self._update_ahrs(acc, gyr, mag)
        return out

    def _update_vqf(self, acc: np.ndarray, gyr: np.ndarray, mag: np.ndarray | None) -> np.ndarray:
        assert self._vqf is not None
        acc = np.ascontiguousarray(acc)
        gyr = np.ascontiguousarray(gyr)
        if mag is None:
            res = self._vqf.updateBatch(gyr, acc)
            q = res["quat6D"]
        else:
            res = self._vqf.updateBatch(gyr, acc, np.ascontiguousarray(mag))
            q = res["quat9D"]
        self._last_bias = res["bias"]
        return q

    def _update_ahrs(self, acc: np.ndarray, gyr: np.ndarray, mag: np.ndarray | None) -> np.ndarray:
        m = acc.shape[0]
        start = 0
        out = np.empty((m, 4))
        if self._filter is None:
            self._make_ahrs(acc[0], None if mag is None else mag[0])
            out[0] = self._q_native
            start = 1
        f = self._filter
        q = self._q_native
        if self.method == "ekf":
            if mag is None:
                for t in range(start, m):
                    q = f.update(q, gyr[t], acc[t])
                    out[t] = q
            else:
                for t in range(start, m):
                    q = f.update(q, gyr[t], acc[t], mag[t])
                    out[t] = q
        elif mag is None:
            for t in range(start, m):
                q = f.updateIMU(q, gyr[t], acc[t])
                out[t] = q
        else:
            for t in range(start, m):
                q = f.updateMARG(q, gyr[t], acc[t], mag[t])
                out[t] = q
        self._q_native = np.asarray(q, dtype=float).copy()
        return self._native_to_enu(out)

    # ---- results and state ---------------------------------------------------------------
    @property
    def bias_radps_(self) -> np.ndarray:
        """Current gyroscope bias estimate, rad/s, shape (3,)."""
        if self._vqf is not None:
            return np.asarray(self._vqf.getBiasEstimate()[0], dtype=float).copy()
        if self.method == "mahony" and self._filter is not None:
            return np.asarray(self._filter.b, dtype=float).copy()
        return np.full(3, np.nan)

    @property
    def state(self) -> dict[str, Any]:
        """Everything that evolves: hand it to a fresh estimator with the same parameters."""
        st: dict[str, Any] = {
            "method": self.method,
            "sampling_rate_hz": self.sampling_rate_hz,
            "uses_mag": self._uses_mag,
            "gap": copy.deepcopy(self._gap),
        }
        if self._vqf is not None:
            st["vqf"] = copy.deepcopy(self._vqf.state)
        elif self._filter is not None:
            f = self._filter
            st["q_native"] = self._q_native.copy()
            if self.method == "mahony":
                st["b"] = np.array(f.b, dtype=float)
            if self.method == "ekf":
                st["P"] = np.array(f.P, dtype=float)
                st["m_ref"] = np.array(f.m_ref, dtype=float)
        return st

    @state.setter
    def state(self, st: dict[str, Any]) -> None:
        if st["method"] != self.method or st["sampling_rate_hz"] != self.sampling_rate_hz:
            raise ValueError(
                f"state of a {st['method']} estimator at {st['sampling_rate_hz']} Hz cannot be"
                f" loaded into a {self.method} estimator at {self.sampling_rate_hz} Hz"
            )
        self._uses_mag = st["uses_mag"]
        self._gap = copy.deepcopy(st["gap"])
        if self._vqf is not None:
            self._vqf.state = copy.deepcopy(st["vqf"])
            return
        if "q_native" not in st:
            self._filter = None
            self._q_native = None
            return
        rate = self.sampling_rate_hz
        if self.method == "madgwick":
            self._filter = Madgwick(frequency=rate, Dt=1.0 / rate, **self.params)
        elif self.method == "mahony":
            self._filter = Mahony(frequency=rate, Dt=1.0 / rate, **self.params)
            self._filter.b = np.array(st["b"], dtype=float)
        else:
            self._filter = EKF(
                frequency=rate, Dt=1.0 / rate, frame="NED",
                magnetic_ref=np.array(st["m_ref"], dtype=float), **self.params,
            )
            self._filter.P = np.array(st["P"], dtype=float)
            if self._uses_mag:
                self._filter.mag = np.zeros((1, 3))
        self._q_native = np.array(st["q_native"], dtype=float)


# --------------------------------------------------------------------------------------------
# batch API
# --------------------------------------------------------------------------------------------
def _offline(
    acc: np.ndarray,
    gyr: np.ndarray,
    mag: np.ndarray | None,
    rate: float,
    max_gap_s: float,
    params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    check_units(acc, gyr)
    gap: dict[str, Any] = {"run": 0, "last": None}
    max_gap_samples = int(np.floor(max_gap_s * rate + 1e-9))
    acc, gyr, mag, feed, new_gaps = _fill_gaps(acc, gyr, mag, gap, max_gap_samples)
    if new_gaps:
        warnings.warn(
            f"{new_gaps} gap(s) of non-finite IMU samples: held the last valid sample for up to"
            f" {max_gap_s} s, {int(np.sum(~feed))} sample(s) left out (NaN)",
            OrientationDataWarning,
            stacklevel=3,
        )
    n = acc.shape[0]
    q = np.full((n, 4), np.nan)
    bias = np.full((n, 3), np.nan)
    if feed.any():
        res = offlineVQF(
            np.ascontiguousarray(gyr[feed]),
            np.ascontiguousarray(acc[feed]),
            None if mag is None else np.ascontiguousarray(mag[feed]),
            1.0 / rate,
            params or None,
        )
        q[feed] = res["quat6D"] if mag is None else res["quat9D"]
        bias[feed] = res["bias"]
    return q, bias


def _validate_batch(acc_mps2, gyr_radps, mag_ut):  # noqa: ANN001, ANN202
    acc = _as_xyz(acc_mps2, "acc_mps2")
    gyr = _as_xyz(gyr_radps, "gyr_radps")
    mag = None if mag_ut is None else _as_xyz(mag_ut, "mag_ut")
    if gyr.shape != acc.shape or (mag is not None and mag.shape != acc.shape):
        raise ValueError("acc_mps2, gyr_radps (and mag_ut) must all have shape (N, 3)")
    return acc, gyr, mag


def estimate_orientation(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    mag_ut: np.ndarray | None = None,
    method: str = "vqf",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    **params: Any,
) -> np.ndarray:
    """Estimate ``q_sensor_to_earth`` for a whole recording.

    Parameters
    ----------
    acc_mps2
        ``(N, 3)`` accelerometer, m/s^2, gravity included, sensor frame.
    gyr_radps
        ``(N, 3)`` gyroscope, rad/s, sensor frame.
    sampling_rate_hz
        Common sampling rate, Hz.
    mag_ut
        Optional ``(N, 3)`` magnetometer (uT); with it the earth frame is ENU, without it the
        heading is arbitrary.
    method
        One of ``METHODS``; ``"vqf"`` by default (see the module docstring for why).
    max_gap_s
        Longest run of non-finite samples bridged by holding the last valid one, seconds.
    **params
        Filter parameters (see :class:`OrientationEstimator`).

    Returns
    -------
    numpy.ndarray
        ``(N, 4)`` unit quaternions ``[w, x, y, z]`` (NaN rows where data were missing too long).

    Raises
    ------
    OrientationUnitError
        Accelerometer in g or gyroscope in deg/s.
    stridecue.errors.InputError
        Unknown method, parameter, or a non-positive sampling rate.
    """
    if method not in METHODS:
        raise InputError(f"unknown orientation method {method!r}: use one of {METHODS}")
    acc, gyr, mag = _validate_batch(acc_mps2, gyr_radps, mag_ut)
    if method == "vqf_offline":
        _check_params(method, params)
        return _offline(acc, gyr, mag, _check_rate(sampling_rate_hz), max_gap_s, params)[0]
    est = OrientationEstimator(
        sampling_rate_hz=sampling_rate_hz, method=method, max_gap_s=max_gap_s, **params
    )
    return est.update(acc, gyr, mag)


def estimate_gyro_bias(
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    *,
    sampling_rate_hz: float,
    mag_ut: np.ndarray | None = None,
    offline: bool = False,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    **params: Any,
) -> np.ndarray:
    """VQF's per-sample gyroscope bias estimate (rest and motion bias estimation), rad/s.

    Parameters
    ----------
    acc_mps2, gyr_radps, sampling_rate_hz, mag_ut, max_gap_s
        As for :func:`estimate_orientation`.
    offline
        Use the acausal offline VQF (better early in a recording) instead of the online one.
    **params
        VQF parameters.

    Returns
    -------
    numpy.ndarray
        ``(N, 3)`` bias in rad/s, the value to *subtract* from the gyroscope reading.
    """
    acc, gyr, mag = _validate_batch(acc_mps2, gyr_radps, mag_ut)
    if offline:
        _check_params("vqf_offline", params)
        return _offline(acc, gyr, mag, _check_rate(sampling_rate_hz), max_gap_s, params)[1]
    est = OrientationEstimator(
        sampling_rate_hz=sampling_rate_hz, method="vqf", max_gap_s=max_gap_s, **params
    )
    est.update(acc, gyr, mag)
    return est.bias_trace_radps_
