"""Clock offset and drift of a sensor against the sacrum, measured from the signals themselves.

Every foot contact loads the sacrum and the thighs within a few milliseconds: the impact and
loading transient reaches every sensor on the body at (nearly) the same instant. A thigh whose
clock is late by ``offset`` shows the transients ``offset`` after the sacrum on the session
clock, so the lag of the peak of the cross-correlation of the two sensors' acceleration
magnitudes (band-passed to the transients, :data:`BAND_HZ`) estimates the offset.

Two stages, both from per-window quantities at fixed positions of the analysis grid (window
``k`` covers grid points ``[k W, (k + 1) W)``, :data:`WINDOW_S`), so that a session fed in pieces
(live) gives the same numbers as fed whole (batch):

1. **Coarse**: in steady running the transients repeat every step, so the cross-correlation of
   the transients has a peak at every multiple of the step time and cannot tell an offset of
   250 ms from one of 250 ms minus a step. The slow *envelope* of the transients (their
   amplitude low-passed at :data:`ENVELOPE_HZ`) does not repeat: standing, walking, running,
   stopping and speed changes shape it the same way at both sensors. The lag of the peak of
   its cross-covariance, summed over the windows of the first :data:`COARSE_SPAN_S` of
   movement, is the coarse offset (within a few tens of ms). No clear peak (steady running
   only, no start or stop): the offset is unknown.
2. **Fine**: each window's normalised cross-correlation of the band-passed magnitudes, searched
   within :data:`FINE_SEARCH_S` of the prediction (the coarse offset for the first windows,
   then the line fitted to the windows so far, so a drifting clock is tracked), its peak
   refined by a parabola through the three samples around it. Windows whose peak correlation
   is below :data:`MIN_CORRELATION` (no running, a gap, a sensor off the body) are left out.
   A robust line through the window lags gives the offset (at the middle of the measured span)
   and the drift (ppm, when the measured span is at least :data:`MIN_DRIFT_SPAN_S`).

Verdict: ``unknown`` with fewer than :data:`MIN_WINDOWS` accepted windows or no coarse peak;
``out of sync`` when the offset anywhere in the measured span exceeds :data:`THRESHOLD_MS`;
``ok`` otherwise. The estimate measures when the transients arrive: a systematic difference in
when the thigh and the sacrum see the impact (the thigh sees its own leg's impact earlier and
sharper) is part of it; on the simulator it is a few ms (``bench/bench_sync.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.signal import butter, correlate, sosfilt

from gait.grid import SensorGrid
from gait.signal import parabolic_peak_offset
from stridecue.constants import GRAVITY_MPS2

__all__ = [
    "THRESHOLD_MS",
    "SyncEstimate",
    "SyncTracker",
    "estimate_clock_offset",
]

#: Band of the acceleration magnitude that carries the contact transients, Hz (capped at 0.4 of
#: the sampling rate).
BAND_HZ = (5.0, 30.0)
#: Low-pass of the transients' amplitude for the coarse stage, Hz.
ENVELOPE_HZ = 0.5
#: Window of one cross-correlation, s.
WINDOW_S = 10.0
#: Largest offset looked for, s.
MAX_LAG_S = 0.5
#: Fine search: this far either side of the prediction, s (under half the shortest running step).
FINE_SEARCH_S = 0.1
#: The coarse stage correlates the envelopes from this long before the first window with
#: transients...
COARSE_CONTEXT_S = 30.0
#: ...to this long after it, s.
COARSE_SPAN_S = 300.0
#: Coarse peak: its normalised envelope covariance must reach this...
MIN_COARSE_CORRELATION = 0.5
#: ...and exceed every other local maximum more than one step away (0.25 s) by this factor.
COARSE_PEAK_RATIO = 1.2
#: A window counts when the peak of its normalised cross-correlation reaches this.
MIN_CORRELATION = 0.3
#: Windows needed for a verdict (one minute of running).
MIN_WINDOWS = 6
#: The drift is estimated when the measured windows span this long, s (else 0).
MIN_DRIFT_SPAN_S = 120.0
#: A window's points must be valid (not in a gap) in this fraction for both sensors.
MIN_VALID_FRACTION = 0.95
#: The transients must reach this RMS (band-passed magnitude) at both sensors, m/s^2.
MIN_TRANSIENT_RMS_MPS2 = 0.5
#: An offset larger than this (anywhere in the session) is "out of sync", ms. At the thigh's
#: angular velocity at initial contact in running (280 deg/s on the simulator, see
#: ``bench/results/sync.md``) 10 ms moves ``thigh_angle_ic_deg`` by 2.8 deg.
THRESHOLD_MS = 10.0

#: Method string stored with every estimate.
METHOD = (f"cross-correlation of the {BAND_HZ[0]:g}-{BAND_HZ[1]:g} Hz acceleration magnitude "
          f"against the sacrum, {WINDOW_S:g} s windows; coarse lag from the {ENVELOPE_HZ:g} Hz "
          "envelope")


@dataclass
class SyncEstimate:
    """A sensor's clock against the sacrum's.

    Attributes
    ----------
    offset_s
        How late the sensor stamps the same instant (positive: its times are late; subtract
        :meth:`offset_at_s` to correct them), at ``reference_time_s``; NaN when unknown.
    drift_ppm
        Rate of change of the offset, ppm (0 when the measured span is too short to tell).
    reference_time_s
        Session time the offset refers to (the middle of the measured windows).
    precision_s
        Standard error of the offset from the spread of the window lags (NaN when unknown).
    windows
        Windows that measured a lag.
    span_s
        Time from the first to the last of those windows' middles.
    max_abs_offset_s
        Largest ``|offset|`` over the measured span (with the drift).
    verdict
        ``ok``, ``out of sync`` or ``unknown``.
    reason
        Why ``unknown`` (empty otherwise).
    """

    offset_s: float = math.nan
    drift_ppm: float = 0.0
    reference_time_s: float = math.nan
    precision_s: float = math.nan
    windows: int = 0
    span_s: float = 0.0
    max_abs_offset_s: float = math.nan
    verdict: str = "unknown"
    reason: str = ""

    def offset_at_s(self, time_s: np.ndarray | float) -> np.ndarray | float:
        """The offset (s) at session times ``time_s`` (0 when unknown)."""
        if not math.isfinite(self.offset_s):
            return 0.0 * np.asarray(time_s, float)
        since = np.asarray(time_s, float) - self.reference_time_s
        return self.offset_s + self.drift_ppm * 1e-6 * since

    def as_dict(self) -> dict[str, Any]:
        """The ``quality["sensors"][placement]["sync"]`` entry (JSON-serialisable)."""
        known = math.isfinite(self.offset_s)
        return {
            "offset_ms": round(1e3 * self.offset_s, 2) if known else None,
            "drift_ppm": round(self.drift_ppm, 1) if known else None,
            "precision_ms": (round(1e3 * self.precision_s, 2)
                             if math.isfinite(self.precision_s) else None),
            "max_abs_offset_ms": round(1e3 * self.max_abs_offset_s, 2) if known else None,
            "windows": self.windows,
            "verdict": self.verdict,
            "reason": self.reason,
            "threshold_ms": THRESHOLD_MS,
            "method": METHOD,
        }


@dataclass
class _Window:
    mid_s: float
    fine: np.ndarray  # normalised cross-correlation over lags -L..L (zeros: nothing measured)


@dataclass
class SyncTracker:
    """Per-window cross-correlations of one sensor against the sacrum, fed grid rows in order.

    Both acceleration magnitudes go through one causal band-pass (:data:`BAND_HZ`; the same
    filter on both, so it delays both alike) and, for the coarse stage, a causal low-pass of
    the band-passed amplitude (:data:`ENVELOPE_HZ`); the filters run continuously over the
    session, so no window edge is seen, and the windows are slices at fixed grid positions.

    Parameters
    ----------
    sampling_rate_hz
        Rate of the grid both sensors' rows are on.
    origin_s
        Session time of grid point 0.
    """

    sampling_rate_hz: float
    origin_s: float = 0.0
    windows_: list[_Window] = field(default_factory=list)

    def __post_init__(self) -> None:
        fs = float(self.sampling_rate_hz)
        self._w = round(WINDOW_S * fs)
        self._lag = round(MAX_LAG_S * fs)
        self._context = round(COARSE_CONTEXT_S * fs)
        self._coarse_n = round(COARSE_SPAN_S * fs)
        high = min(BAND_HZ[1], 0.4 * fs)
        band = butter(2, (BAND_HZ[0], high), btype="band", fs=fs, output="sos")
        env = butter(4, ENVELOPE_HZ, fs=fs, output="sos")
        self._filters = [(band, np.zeros((band.shape[0], 2))) for _ in range(2)]
        self._env_filters = [(env, np.zeros((env.shape[0], 2))) for _ in range(2)]
        self._last = [GRAVITY_MPS2, GRAVITY_MPS2]  # last finite magnitude (bridges NaN)
        self._buf = np.empty((0, 4))  # band-passed ref, ref valid, band-passed other, other valid
        self._done = 0  # grid points consumed into finished windows
        # the envelopes for the coarse stage: from COARSE_CONTEXT_S before the first window
        # with transients to COARSE_SPAN_S after it
        self._env = np.empty((0, 2))
        self._env_start = 0  # grid index of _env[0]
        self._first_moving: int | None = None  # grid index of the first window with transients
        self._pending: list[tuple[np.ndarray, ...]] = []  # pieces not processed yet
        self._pending_n = 0

    def add(self, ref_acc_mps2: np.ndarray, ref_valid: np.ndarray, other_acc_mps2: np.ndarray,
            other_valid: np.ndarray) -> None:
        """The next grid points of both sensors: (n, 3) accelerations and (n,) validity.

        Pieces are collected and processed a window's worth at a time (the live stream hands
        over a few points per notification; the filters and windows do not depend on the piece
        sizes, so neither do the results).
        """
        self._pending.append((np.array(ref_acc_mps2, float), np.array(ref_valid, float),
                              np.array(other_acc_mps2, float), np.array(other_valid, float)))
        self._pending_n += len(self._pending[-1][0])
        if self._pending_n >= self._w:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        ref_acc_mps2, ref_valid, other_acc_mps2, other_valid = (
            np.concatenate(part) for part in zip(*self._pending, strict=True))
        self._pending, self._pending_n = [], 0
        cols, envs = [], []
        for k, acc in enumerate((ref_acc_mps2, other_acc_mps2)):
            m = np.linalg.norm(np.asarray(acc, float), axis=1)
            bad = ~np.isfinite(m)
            if bad.any():  # hold the last finite value: NaN would poison the filter state
                m[bad] = np.nan
                idx = np.where(~bad, np.arange(len(m)), -1)
                np.maximum.accumulate(idx, out=idx)
                m = np.where(idx >= 0, m[np.maximum(idx, 0)], self._last[k])
            if len(m):
                self._last[k] = float(m[-1])
            sos, zi = self._filters[k]
            b, zi = sosfilt(sos, m - GRAVITY_MPS2, zi=zi)
            self._filters[k] = (sos, zi)
            sos_e, zi_e = self._env_filters[k]
            e, zi_e = sosfilt(sos_e, np.abs(b), zi=zi_e)
            self._env_filters[k] = (sos_e, zi_e)
            cols.append(b)
            envs.append(e)
        rows = np.column_stack([cols[0], np.asarray(ref_valid, float), cols[1],
                                np.asarray(other_valid, float)])
        self._env = np.vstack([self._env, np.column_stack(envs)])
        self._buf = np.vstack([self._buf, rows])
        while len(self._buf) >= self._w:
            self._window(self._buf[: self._w])
            self._buf = self._buf[self._w :]
            self._done += self._w
            if self._first_moving is None:  # keep only the context before movement
                drop = max(0, self._done - self._context - self._env_start)
                self._env = self._env[drop:]
                self._env_start += drop
        if self._first_moving is not None:  # up to the span after the first movement
            self._env = self._env[: max(0, self._first_moving + self._coarse_n - self._env_start)]

    def _window(self, rows: np.ndarray) -> None:
        ok = (rows[:, 1] > 0) & (rows[:, 3] > 0)
        n, L = len(rows), self._lag
        fine = np.zeros(2 * L + 1)
        if ok.mean() >= MIN_VALID_FRACTION:
            bx, by = rows[:, 0], rows[:, 2]
            if min(np.std(bx), np.std(by)) >= MIN_TRANSIENT_RMS_MPS2:
                cc = correlate(by, bx, mode="full", method="fft")[n - 1 - L : n + L]
                fine = cc / float(np.linalg.norm(bx) * np.linalg.norm(by))
                if self._first_moving is None:
                    self._first_moving = self._done
        mid = self.origin_s + (self._done + 0.5 * n) / self.sampling_rate_hz
        self.windows_.append(_Window(mid, fine))

    def estimate(self) -> SyncEstimate:
        """The offset, drift and verdict from the windows so far (see module docs)."""
        self._flush()
        fs, L = float(self.sampling_rate_hz), self._lag
        moving = [w for w in self.windows_ if w.fine.any()]
        if len(moving) < MIN_WINDOWS:
            need_s = MIN_WINDOWS * WINDOW_S
            return SyncEstimate(windows=len(moving),
                                reason=f"less than {need_s:g} s of running seen by both sensors")
        coarse = _coarse_lag(self._env, fs=fs, max_lag=L)
        if coarse is None:
            return SyncEstimate(reason="no start, stop or pace change to align the sensors on")
        search = round(FINE_SEARCH_S * fs)
        times, lags = [], []
        for w in moving:
            if len(lags) >= 2:
                a, b = _line(np.array(times), np.array(lags))
                predicted = a + b * w.mid_s
            else:
                predicted = coarse if not lags else lags[-1]
            centre = int(round(predicted * fs)) + L
            lo, hi = max(1, centre - search), min(2 * L - 1, centre + search)
            if hi <= lo:
                continue
            k = lo + int(np.argmax(w.fine[lo : hi + 1]))
            if w.fine[k] < MIN_CORRELATION:
                continue
            times.append(w.mid_s)
            lags.append((k - L + parabolic_peak_offset(*w.fine[k - 1 : k + 2])) / fs)
        if len(lags) < MIN_WINDOWS:
            return SyncEstimate(windows=len(lags),
                                reason="the contact transients of the two sensors do not match")
        t, lag = np.array(times), np.array(lags)
        a, b = _line(t, lag)
        span = float(t[-1] - t[0])
        if span < MIN_DRIFT_SPAN_S:
            b = 0.0
            a = float(np.median(lag))
        ref = float(0.5 * (t[0] + t[-1]))
        offset = a + b * ref
        resid = lag - (a + b * t)
        precision = float(np.std(resid, ddof=1) / math.sqrt(len(lag))) if len(lag) > 1 else math.nan
        worst = float(max(abs(a + b * t[0]), abs(a + b * t[-1])))
        verdict = "out of sync" if worst > THRESHOLD_MS * 1e-3 else "ok"
        return SyncEstimate(offset_s=float(offset), drift_ppm=float(b * 1e6), reference_time_s=ref,
                            precision_s=precision, windows=len(lag), span_s=span,
                            max_abs_offset_s=worst, verdict=verdict)


def _coarse_lag(env: np.ndarray, *, fs: float, max_lag: int) -> float | None:
    """The lag (s) of the clear peak of the envelope changes' cross-correlation, or None.

    ``env``: (n, 2) the sacrum's and the other sensor's transient envelope.
    """
    if len(env) < 4 * max_lag:
        return None
    # the envelopes' changes (starts, stops, pace changes), not their level: the levels'
    # covariance is broad and its peak pulled to zero lag by what both sensors share at the
    # same grid positions (the start of the filters, the end of the span)
    d = np.diff(env, axis=0)
    x, y = d[:, 0] - d[:, 0].mean(), d[:, 1] - d[:, 1].mean()
    n = len(x)
    energy = float(np.linalg.norm(x) * np.linalg.norm(y))
    if not energy > 0:
        return None
    r = correlate(y, x, mode="full", method="fft")[n - 1 - max_lag : n + max_lag] / energy
    k = int(np.argmax(r))
    if r[k] < MIN_COARSE_CORRELATION or k in (0, len(r) - 1):
        return None
    # other local maxima more than a quarter second away must be clearly lower
    inner = np.flatnonzero((r[1:-1] > r[:-2]) & (r[1:-1] >= r[2:])) + 1
    far = inner[np.abs(inner - k) > 0.25 * fs]
    if len(far) and r[k] < COARSE_PEAK_RATIO * float(r[far].max()):
        return None
    return (k - max_lag + parabolic_peak_offset(*r[k - 1 : k + 2])) / fs


def _line(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope of a robust line: least squares, again without outliers."""
    if len(t) < 2 or np.ptp(t) <= 0:
        return float(np.median(y)), 0.0
    b, a = np.polyfit(t, y, 1)
    resid = y - (a + b * t)
    mad = max(float(np.median(np.abs(resid - np.median(resid)))), 2e-3 / 1.4826)
    keep = np.abs(resid) <= 3 * 1.4826 * mad
    if keep.sum() >= 2 and np.ptp(t[keep]) > 0:
        b, a = np.polyfit(t[keep], y[keep], 1)
    return float(a), float(b)


def estimate_clock_offset(
    ref_time_s: np.ndarray,
    ref_acc_mps2: np.ndarray,
    other_time_s: np.ndarray,
    other_acc_mps2: np.ndarray,
    *,
    sampling_rate_hz: float,
    rates_hz: Mapping[str, float] | None = None,
) -> SyncEstimate:
    """Clock offset and drift of one sensor against the sacrum (see module docs).

    Both sensors' samples are put on one grid at ``sampling_rate_hz`` from the sacrum's first
    sample (:class:`gait.grid.SensorGrid`, as the analysis does) and fed to a
    :class:`SyncTracker`.

    Parameters
    ----------
    ref_time_s, ref_acc_mps2
        (N,) and (N, 3): the sacrum's sample times (s) and specific force (m/s^2).
    other_time_s, other_acc_mps2
        (M,) and (M, 3): the other sensor's, on its own (possibly offset) clock.
    sampling_rate_hz
        Rate of the common grid (the sacrum's rate).
    rates_hz
        ``{"ref": ..., "other": ...}``: each sensor's own rate where known (a slower sensor is
        valid between its samples).

    Returns
    -------
    SyncEstimate
    """
    rates = dict(rates_hz or {})
    t_ref = np.asarray(ref_time_s, float)
    if not len(t_ref):
        return SyncEstimate(reason="no sacrum samples")
    grids = []
    for key, t, acc in (("ref", t_ref, ref_acc_mps2), ("other", other_time_s, other_acc_mps2)):
        g = SensorGrid(origin_s=float(t_ref[0]), sampling_rate_hz=sampling_rate_hz,
                       sensor_rate_hz=rates.get(key))
        g.add(np.asarray(t, float), np.asarray(acc, float), None)
        grids.append(g)
    n = min(g.available() for g in grids)
    tracker = SyncTracker(sampling_rate_hz=sampling_rate_hz, origin_s=float(t_ref[0]))
    piece = round(60 * sampling_rate_hz)
    for i in range(0, n, piece):
        a, b = (g.take(min(piece, n - i)) for g in grids)
        tracker.add(a[:, 0:3], a[:, 6], b[:, 0:3], b[:, 6])
    return tracker.estimate()
