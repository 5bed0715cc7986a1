"""The analysis, fed in pieces: samples in, strides and cues out, with a bounded look-ahead.

This is *the* analysis: :func:`gait.pipeline.analyse_tables` is this class fed a whole session in
one piece, the live session feeds it every sample block as it arrives, and replay feeds it the
recorded blocks in their arrival order. Whatever the piece sizes, every computation sees exactly
the same numbers, because every computation is anchored to absolute grid positions, never to
where a piece happened to end:

1. **Grid** (:class:`gait.grid.SensorGrid`): each sensor's samples interpolated on one uniform
   grid at the sacrum's rate; a grid point is decided once a later sample has arrived (or the
   sensor has fallen ``stale_after_s`` behind the sacrum: its values are held and marked invalid).
2. **Orientation** per sensor with a gyroscope: the streaming VQF filter (exactly the batch result
   whatever the chunking), fed grid point by grid point. With ``turn_compensation`` (default) a
   second VQF pass per sensor gives the orientation the blocks use: its accelerometer has the
   bend's centripetal acceleration (speed x turn rate, :mod:`gait.turning`) removed, which
   would otherwise lean the filter's vertical by ``atan(v omega / g)`` (3 deg on a track bend at
   4.4 m/s) and read as obliquity. The first pass is kept for the correction itself: the turn
   rate is the change of the segment heading (calibrated first pass) over the past
   ``turn_window_s`` (one stride, so the pelvic rotation cancels; it lags half a window), the
   direction the left of the present heading. The **speed** is the median contact-model speed
   (:func:`gait.stride_length_running.contact_model_speed_mps`: contact length / contact time,
   with ``stride_length_scale`` when the runner has one) of the last ``TURN_SPEED_STRIDES``
   running strides that ended within ``TURN_SPEED_MAX_AGE_S``; it is 0 (no correction: the
   second pass is fed the raw accelerometer) while the latest block is not labelled running,
   before any running stride, and before the calibration is in use. Speed and calibration are
   fixed per block at absolute positions: block ``m``'s samples use those known once block
   ``m - D`` is done, ``D = 1 + ceil(lookahead / block)`` (3 with the defaults), because block
   ``m - D + 1``'s window, which reaches ``lookahead_s`` past its end, is the first to need them;
   the second pass runs just before each block, up to where its speed is fixed, so nothing
   depends on the chunking. When running stops the speed drops to 0 ``D`` blocks after the
   first non-running label and the second pass settles back on the first (VQF's 3 s time
   constant). The correction reacts to a speed change within about ``D`` blocks plus half a
   stride window, i.e. 1.5-2 s.
3. **Calibration**: the stored one, else ``calibration.alignment.auto_calibrate`` tried on the
   session so far every ``calibration_every_s`` (at fixed grid points); after a first success it
   waits ``calibration_confirm_s`` more of movement and takes that result. Until then strides get
   no angles.
4. **Blocks** of ``block_s``, at fixed grid positions: block ``k`` covers ``[k B, (k+1) B)`` and
   is computed, once the grid reaches ``(k+1) B + lookahead``, from the window
   ``[k B - context, (k+1) B + lookahead)``: anatomical angles (pelvis, thighs, hips), the sacrum
   acceleration in the travel frame (without a gyroscope: the declared body axes, else the
   vertical from gravity's direction and, in running, the forward axis from the running rhythm,
   :func:`gait.signal.running_forward_axis`), the running label (from the ``activity_window_s`` ending
   at the window's end, :func:`gait.activity.activity_label`), and the running events in a
   running block; only the block's own samples and events are kept. What depends on one grid
   point only (its orientation, samples and the calibration: angles, earth-frame acceleration,
   yaw rate) is computed once per grid point (:data:`POINTWISE`), after its second orientation
   pass; only the windowed quantities (travel headings, filters, detectors) per window.
   **Walking** is found by its rhythm, not by the window classifier (which calls slow, shuffling
   and turning walking still): every moving block that is not running is queued, and every
   ``walking_lag_s`` the walking detector runs once over the queued blocks of the period before
   (from ``walking_context_s`` before them to the current block's window end, so every contact
   is seen with the next steps); a contact is accepted only in a run of at least four with no
   step longer than 2 s (:func:`gait.events_walking.walking_bouts_from_steps`' rule), and the
   blocks an accepted run spans are labelled walking (a running block ends a run).
5. **Strides**: consecutive initial contacts of alternating feet, the checks of
   :func:`gait.strides.build_strides` with a causal local step-time median; per-stride metrics from
   the block outputs over the stride (:func:`gait.strides.angle_metrics`,
   :func:`gait.strides.trunk_metrics`), asymmetry against the other side's latest stride,
   stability over trailing windows of the stride's own bout (:mod:`gait.stability`), data
   quality (a stride over a sacrum gap is flagged ``gap_crossed`` and its metrics blanked;
   ``gap_sensors`` names the other sensors with a gap within the stride, whose metrics are
   blank); then the cue engine. Each non-sacrum sensor's clock is checked against the sacrum's
   on fixed 10 s windows of the grid (:class:`gait.sync.SyncTracker`, reported by
   :meth:`StreamAnalyser.quality`).
6. **Finish** (end of the session, the same for both): laps from key presses or double taps
   (detected in blocks of ``tap_block_s`` with ``tap_context_s`` of history), running stride
   length scaled from a marked lap, lap numbers, bouts (block labels merged into bouts of at least
   ``min_bout_s``; walking runs are kept however short, they are decided on contacts), the
   summary.

A running stride is decided ``lookahead_s`` plus up to one block after its last initial contact
(0.75-1.25 s with the defaults, about one or two strides); the cue follows within milliseconds
(benchmarked in ``bench/bench_live.py``). A walking stride is decided ``walking_lag_s`` to twice
that plus ``lookahead_s`` after its last contact (2.75-4.75 s), and the first strides of a walk
wait for its fourth contact.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibration.alignment import auto_calibrate
from calibration.model import Calibration, CalibrationError, SegmentCalibration
from gait import quaternion as quat
from gait.activity import STILL_STD_MPS2, activity_label, merge_short_runs
from gait.angles import (
    DEFAULT_HEADING_WINDOW_S,
    forward_heading_rad,
    pelvis_rotation_deg,
    pelvis_sample_angles,
    thigh_sample_angles,
    travel_heading_rad,
)
from gait.cues import Cue, CueEngine, CueRule
from gait.events_running import assign_running_sides, detect_running_events
from gait.events_walking import (
    MAX_WALKING_STEP_S,
    MIN_WALKING_CONTACTS,
    LowerBackAxesTracker,
    axis_moments,
    detect_walking_events,
    walking_toe_offs,
)
from gait.grid import PointCache, Ring, SensorGrid
from gait.laps import detect_double_taps
from gait.orientation import OrientationEstimator
from gait.signal import (
    gradient,
    project_on_vertical,
    running_forward_axis,
    vertical_axis_from_gravity,
)
from gait.stability import StabilitySettings, stride_stability
from gait.stride_length import pendulum_length_m, walking_stride_length_m
from gait.stride_length_running import contact_model_speed_mps, leg_length_m, stride_yaw_rate_radps
from gait.strides import (
    MAX_STRIDE_TIME_S,
    STEP_TIME_TOLERANCE,
    MetricWarning,
    angle_metrics,
    asymmetry_name,
    stride_side,
    trunk_metrics,
)
from gait.sync import SyncTracker
from gait.turning import (
    causal_centripetal_from_forward_mps2,
    remove_centripetal_acceleration,
    segment_forward_columns,
)
from stridecue import constants as c

logger = logging.getLogger(__name__)

#: Below this sacrum rate the analysis warns that event timing loses accuracy, Hz.
RECOMMENDED_RATE_HZ = 100.0

#: Per-sample outputs of the blocks (columns of the derived buffer).
DERIVED = (
    c.PELVIS_TILT_DEG, c.PELVIS_OBLIQUITY_DEG, c.PELVIS_ROTATION_DEG,
    "thigh_angle_left_deg", "thigh_angle_right_deg", "hip_flexion_left_deg", "hip_flexion_right_deg",
    "vertical_mps2", "forward_mps2", "left_mps2", "yaw_rate_radps",
    "acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "valid", "valid_thigh_left", "valid_thigh_right",
)
_D = {name: k for k, name in enumerate(DERIVED)}
_ANGLE_NAMES = DERIVED[:7]

#: Turn compensation: the speed is the median of this many latest running strides...
TURN_SPEED_STRIDES = 5
#: ...of those ending at most this long before the block that fixes it, s.
TURN_SPEED_MAX_AGE_S = 3.0

#: Per-sample quantities of the blocks that depend on one grid point only (its orientation, its
#: samples and the calibration), not on the window: computed once per grid point.
POINTWISE = (
    c.PELVIS_TILT_DEG, c.PELVIS_OBLIQUITY_DEG, "pelvis_yaw_rad", "thigh_angle_left_deg",
    "thigh_angle_right_deg", "acc_earth_x_mps2", "acc_earth_y_mps2", "acc_earth_z_mps2",
    "yaw_rate_radps", "trunk_yaw_rad",
)
_P = {name: k for k, name in enumerate(POINTWISE)}
_THIGHS = ((c.THIGH_LEFT, c.LEFT), (c.THIGH_RIGHT, c.RIGHT))

#: Metrics whose left-minus-right difference is reported per stride.
ASYMMETRY_METRICS = ("hip_extension_peak_deg", "thigh_angle_ic_deg", c.CONTACT_TIME_S)


@dataclass(frozen=True)
class PipelineSettings:
    """Settings of one analysis (stored in ``summary.json`` under ``settings``)."""

    orientation_method: str = "vqf"
    lap_distance_m: float = 400.0
    detect_double_taps: bool = True
    stride_length_scale: float | None = None  # per-runner scale from an earlier session
    stability: StabilitySettings = field(default_factory=StabilitySettings)
    cue_min_gap_s: float = 6.0
    block_s: float = 0.5
    context_s: float = 2.5
    lookahead_s: float = 0.75
    walking_lag_s: float = 2.0  # walking contacts are looked for this much later (whole blocks)
    walking_context_s: float = 2.5
    activity_window_s: float = 3.0
    min_bout_s: float = 3.0
    trunk_heading_window_s: float = 2.0
    calibration_every_s: float = 5.0
    calibration_confirm_s: float = 10.0
    calibration_search_s: float = 180.0
    stale_after_s: float = 2.0
    tap_block_s: float = 2.0
    tap_context_s: float = 10.0
    baseline_strides: int = 60  # running strides forming the personal baseline when none is given
    turn_compensation: bool = True  # second orientation pass without the bends' centripetal acc
    turn_window_s: float = 0.7  # window of the turn rate (one stride), s

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = asdict(self)
        d["stability"] = self.stability.as_dict()
        return d


@dataclass
class _Ic:
    pos: float  # absolute grid position (fractional)
    side: str
    to_pos: float  # NaN where none
    activity: str


class StreamAnalyser:
    """Samples in (any piece sizes, time order per sensor), strides and cues out.

    Parameters
    ----------
    sampling_rate_hz
        Rate of the analysis grid (the sacrum's nominal rate), Hz.
    placements
        Sensors of the session (must include ``sacrum``).
    athlete
        Athlete settings (``height_m``, ``leg_length_m``, ``lap_distance_m``...).
    calibration
        A stored calibration (``Calibration.to_dict()``), or None to calibrate from the session.
    settings
        :class:`PipelineSettings`.
    retain
        Keep every stride and event for :func:`gait.pipeline.finish_analysis` (batch, replay);
        False keeps only the trailing strides the stability windows need, so memory stays flat
        over a live session (the live session writes strides and cues to the session instead).
    cue_rules, cue_baseline
        Rules for the :class:`~gait.cues.CueEngine` (its defaults when None) and the personal
        baseline per metric (taken from the first ``baseline_strides`` running strides when
        None).
    anatomical_axes
        Placements whose axes are already the body's (x forward, y left, z up).
    sensor_rates_hz
        Each placement's own sampling rate, where known (a sensor slower than the grid is
        valid between its samples; see :class:`gait.grid.SensorGrid`).
    """

    def __init__(
        self,
        *,
        sampling_rate_hz: float,
        placements: tuple[str, ...] | list[str],
        athlete: Mapping[str, Any] | None = None,
        calibration: Mapping[str, Any] | None = None,
        settings: PipelineSettings | None = None,
        cue_rules: list[CueRule] | None = None,
        cue_baseline: Mapping[str, float] | None = None,
        retain: bool = True,
        anatomical_axes: Collection[str] = (),
        sensor_rates_hz: Mapping[str, float] | None = None,
    ) -> None:
        if c.SACRUM not in placements:
            raise ValueError("the analysis needs a sacrum sensor")
        if not sampling_rate_hz or not sampling_rate_hz >= c.MIN_SAMPLING_RATE_HZ:
            raise ValueError(f"sampling_rate_hz must be at least {c.MIN_SAMPLING_RATE_HZ:g} Hz, "
                             f"got {sampling_rate_hz}")
        if sampling_rate_hz < RECOMMENDED_RATE_HZ:
            warnings.warn(
                f"the sacrum is sampled at {sampling_rate_hz:g} Hz: contact, flight and toe-off "
                f"times are resolved to about a sample ({1000 / sampling_rate_hz:.0f} ms), less "
                f"finely than running contact times need; record at {RECOMMENDED_RATE_HZ:g} Hz or "
                "more",
                MetricWarning, stacklevel=2)
        self.settings = settings or PipelineSettings()
        self.fs = float(sampling_rate_hz)
        self.placements = tuple(placements)
        self.athlete = dict(athlete or {})
        # The sacrum's axes are already the body's (x forward, y left, z up; imported files with
        # acc_ap/acc_ml/acc_vertical): without a gyroscope they give the vertical and forward
        # signals directly, instead of estimating them from the gravity direction and the
        # running rhythm.
        self.sacrum_anatomical = c.SACRUM in anatomical_axes
        # Each sensor's own rate, when known: a sensor slower than the grid is not a gap between
        # its samples (SensorGrid).
        self.sensor_rates_hz = dict(sensor_rates_hz or {})
        s = self.settings
        fs = self.fs
        self._block_n = max(1, round(s.block_s * fs))
        self._context_n = round(s.context_s * fs)
        self._look_n = round(s.lookahead_s * fs)
        self._act_n = round(s.activity_window_s * fs)
        self._cal_every_n = round(s.calibration_every_s * fs)
        self._tap_n = round(s.tap_block_s * fs)
        self._tap_ctx_n = round(s.tap_context_s * fs)
        self.origin_s: float | None = None
        self._grids: dict[str, SensorGrid] = {}
        self._level1: dict[str, Ring] = {}  # per sensor: grid rows (7 cols) + q (4 cols)
        self._sync: dict[str, SyncTracker] = {}  # per non-sacrum sensor: its clock vs the sacrum's
        self._orient: dict[str, OrientationEstimator] = {}
        self._n = 0  # grid points decided for every sensor
        # Turn compensation (level-1 columns 7:11 = the orientation the blocks use, 11:15 = first
        # pass): the second pass of block m uses the speed and calibration known once block
        # m - delay is done, delay = 1 + ceil(lookahead / block) (block m - delay + 1's window is
        # the first to need block m's orientation).
        self._orient2: dict[str, tuple[OrientationEstimator, int]] = {}  # and its first grid point
        self._turn_n = round(s.turn_window_s * fs)
        # per sensor: the first pass's segment forward axis (_forward_rows)
        self._forward: dict[str, PointCache] = {}
        if s.turn_compensation and not 0 < self._turn_n < self._context_n:
            raise ValueError("turn_window_s must be positive and shorter than context_s")
        self._turn_delay = 1 + math.ceil(self._look_n / self._block_n)
        self._turn_state: dict[int, tuple[float, Calibration | None]] = {}
        self._turn_done = 0  # grid points of the second pass
        self._run_speeds: deque[tuple[float, float]] = deque(maxlen=TURN_SPEED_STRIDES)
        self._derived = Ring(len(DERIVED))
        self._pointwise = PointCache(len(POINTWISE))  # keyed by the calibration
        self._blocks_done = 0
        self._taps_done = 0
        self.block_labels: list[str] = []
        self.calibration: Calibration | None = (
            Calibration.from_dict(dict(calibration)) if calibration else None
        )
        self.calibration_source = "stored" if calibration else "pending"
        self._cal_attempts = 0
        self._cal_confirm_at: int | None = None
        self._cal_error = "no standing period followed by movement found yet"
        self._early: list[tuple[Any, ...]] = []  # pieces of other sensors before the sacrum's first
        self._baseline_rows: list[dict[str, Any]] = []
        self._ics: list[_Ic] = []
        self._last_ic_pos = -math.inf
        self._walk_run: list[_Ic] = []  # walking contacts waiting for a rhythm (< 4 of them)
        self._walk_last_pos = -math.inf  # last accepted contact of the current walking run
        self._walk_blocks: list[int] = []  # moving, not running blocks awaiting walking contacts
        self._walk_lag_blocks = math.ceil(s.walking_lag_s / s.block_s - 1e-9)
        self._walk_context_n = round(s.walking_context_s * fs)
        # the sacrum's body axes over the recent walking (the side of a walking contact)
        self._walk_axes = LowerBackAxesTracker(sampling_rate_hz=fs)
        self._pending: list[dict[str, Any]] = []
        self.retain = retain
        self.rows: list[dict[str, Any]] = []
        self.rows_dropped = 0  # rows no longer held (retain=False)
        self.events: list[dict[str, Any]] = []
        self.taps_s: list[float] = []
        self._last_by_side: dict[str, dict[str, float]] = {c.LEFT: {}, c.RIGHT: {}}
        self._last_by_side_activity = ""
        self._lde_last = math.nan
        self.engine = CueEngine(cue_rules, baseline=cue_baseline, min_gap_s=s.cue_min_gap_s)
        self._auto_baseline = cue_baseline is None
        self.baseline_source = "given" if cue_baseline is not None else "pending"
        self.cues: list[Cue] = []
        self._finished = False

    # ------------------------------------------------------------------ input
    def add(
        self,
        placement: str,
        time_s: np.ndarray,
        acc_mps2: np.ndarray,
        gyr_radps: np.ndarray | None = None,
        mag_ut: np.ndarray | None = None,
    ) -> None:
        """Add a piece of one sensor's samples (session clock, m/s^2, rad/s, uT)."""
        if placement not in self.placements:
            raise ValueError(f"unknown placement {placement!r}; expected one of {self.placements}")
        t = np.asarray(time_s, float)
        if not len(t):
            return
        if self.origin_s is None:
            if placement != c.SACRUM:
                self._early.append((placement, t, acc_mps2, gyr_radps, mag_ut))
                return
            self.origin_s = float(t[0])
            for p in self.placements:
                self._grids[p] = SensorGrid(origin_s=self.origin_s, sampling_rate_hz=self.fs,
                                            sensor_rate_hz=self.sensor_rates_hz.get(p))
                self._level1[p] = Ring(15)
                if p != c.SACRUM:
                    self._sync[p] = SyncTracker(sampling_rate_hz=self.fs, origin_s=self.origin_s)
            for early in self._early:
                self._grids[early[0]].add(*early[1:])
            self._early = []
        self._grids[placement].add(t, acc_mps2, gyr_radps, mag_ut)

    # ------------------------------------------------------------------ progress
    def advance(self) -> tuple[list[dict[str, Any]], list[Cue]]:
        """Decide what the data so far allows; returns the new strides and cues."""
        if self.origin_s is None or self._finished:
            return [], []
        sac = self._grids[c.SACRUM]
        target = sac.available()
        for p, g in self._grids.items():
            if p == c.SACRUM:
                continue
            stale = not g.samples or sac.last_time_s - g.last_time_s > self.settings.stale_after_s
            if not stale:
                target = min(target, g.available())
        return self._run(target, final=False)

    def finish(self) -> tuple[list[dict[str, Any]], list[Cue]]:
        """End of the session: decide everything left; returns the last strides and cues."""
        if self.origin_s is None or self._finished:
            return [], []
        target = max(g.available() for g in self._grids.values())
        out = self._run(target, final=True)
        self._finished = True
        return out

    def _run(self, target: int, *, final: bool) -> tuple[list[dict[str, Any]], list[Cue]]:
        n_rows, n_cues = self.rows_dropped + len(self.rows), len(self.cues)
        # In pieces of at most a minute, so a whole session fed at once stays bounded in memory
        # (results do not depend on the piece sizes).
        piece = round(60 * self.fs)
        new_rows: list[dict[str, Any]] = []
        while True:
            step = min(piece, max(0, target - self._n))
            if step:
                self._extend_grid(step)
            last = self._n >= target
            self._process(final=final and last)
            self._finalise_pending()
            new_rows.extend(self.rows[max(0, n_rows - self.rows_dropped) :])
            n_rows = self.rows_dropped + len(self.rows)
            self._trim()
            if last:
                return new_rows, self.cues[n_cues:]

    def _extend_grid(self, n: int) -> None:
        taken = {}
        for p, g in self._grids.items():
            rows = taken[p] = g.take(n)
            if p not in self._orient and g.has_gyroscope:
                method = self.settings.orientation_method
                self._orient[p] = OrientationEstimator(sampling_rate_hz=self.fs, method=method)
                self._orient2[p] = (OrientationEstimator(sampling_rate_hz=self.fs, method=method),
                                    self._n)
            if p in self._orient:
                q = self._orient[p].update(rows[:, :3], rows[:, 3:6])
            else:
                q = np.full((n, 4), np.nan)
            self._level1[p].append(np.hstack([rows, q, q]))  # 7:11 replaced by _turn_pass
        sac = taken[c.SACRUM]
        for p, tracker in self._sync.items():
            tracker.add(sac[:, 0:3], sac[:, 6], taken[p][:, 0:3], taken[p][:, 6])
        self._n += n

    def _process(self, *, final: bool) -> None:
        """Calibration attempts, blocks and tap blocks in the order of the grid they need."""
        while True:
            block_end = (self._blocks_done + 1) * self._block_n
            block_need = block_end + self._look_n
            if final and self._blocks_done * self._block_n < self._n:
                block_need = min(block_need, self._n)
            cal_need = self._next_calibration_point()
            if cal_need is not None and cal_need <= self._n and cal_need <= block_need:
                self._try_calibration(cal_need)
                continue
            if block_need <= self._n and self._blocks_done * self._block_n < self._n:
                self._turn_pass(min(self._n, (self._blocks_done + self._turn_delay) * self._block_n))
                self._block(self._blocks_done, final=final)
                self._blocks_done += 1
                self._turn_snapshot()
                self._taps(final=False)
                continue
            break
        if final:
            self._walking_blocks(self._blocks_done, end=self._n)
            self._taps(final=True)

    # ------------------------------------------------------------------ calibration
    def _next_calibration_point(self) -> int | None:
        if self.calibration_source != "pending":
            return None
        if self._cal_confirm_at is not None:
            return self._cal_confirm_at
        point = (self._cal_attempts + 1) * self._cal_every_n
        if point > self.settings.calibration_search_s * self.fs:
            return None
        return point

    def _try_calibration(self, point: int) -> None:
        usable = {
            p: (self._level1[p].get(0, point)[:, 0:3], self._level1[p].get(0, point)[:, 3:6])
            for p in self.placements
            if p in self._orient
        }
        confirming = self._cal_confirm_at is not None
        self._cal_attempts += 1
        try:
            if c.SACRUM not in usable:
                raise CalibrationError("no gyroscope on the sacrum")
            cal = auto_calibrate(usable, sampling_rate_hz=self.fs)
        except (CalibrationError, ValueError) as exc:  # ValueError: no movement after the still yet
            if confirming:  # keep the first success
                self.calibration_source = "auto"
                self._cal_confirm_at = None
            else:
                self._cal_error = str(exc)
            return
        if confirming:
            self.calibration = cal
            self.calibration_source = "auto"
            self._cal_confirm_at = None
        else:
            self.calibration = cal  # provisional until confirmed
            self._cal_confirm_at = point + round(self.settings.calibration_confirm_s * self.fs)

    @property
    def _calibration_ready(self) -> bool:
        return self.calibration is not None and self.calibration_source in ("stored", "auto")

    # ------------------------------------------------------------------ turn compensation
    def _turn_snapshot(self) -> None:
        """Fix the speed and calibration of the second pass of block ``blocks_done + delay - 1``.

        Speed: median of the latest running strides' contact-model speed (ending at most
        ``TURN_SPEED_MAX_AGE_S`` ago), 0 unless the latest block is labelled running.
        """
        speed = 0.0
        if self.block_labels and self.block_labels[-1] == c.RUNNING:
            now = self._blocks_done * self._block_n - TURN_SPEED_MAX_AGE_S * self.fs
            recent = [v for pos, v in self._run_speeds if pos >= now]
            speed = float(np.median(recent)) if recent else 0.0
        cal = self.calibration if self._calibration_ready else None
        self._turn_state[self._blocks_done + self._turn_delay - 1] = (speed, cal)

    def _turn_pass(self, upto: int) -> None:
        """Second orientation pass of grid points ``[turn_done, upto)`` (level-1 columns 7:11)."""
        if not self.settings.turn_compensation:
            return
        bn, wn = self._block_n, self._turn_n
        while self._turn_done < upto:
            m = self._turn_done // bn
            b = min(upto, (m + 1) * bn)
            speed, cal = self._turn_state.get(m, (0.0, None))
            for p, (est, first) in self._orient2.items():
                a = max(self._turn_done, first)  # the first pass started there too
                if a >= b:
                    continue
                h = max(0, a - wn)
                rows = self._level1[p].get(h, b)
                acc = rows[a - h :, 0:3]
                if speed > 0 and cal is not None and p in cal:
                    a_c = causal_centripetal_from_forward_mps2(
                        self._forward_rows(p, cal[p], h, b), np.full(b - h, speed),
                        sampling_rate_hz=self.fs, window_samples=wn,
                    )
                    acc = remove_centripetal_acceleration(acc, rows[a - h :, 11:15], a_c[a - h :])
                rows[a - h :, 7:11] = est.update(acc, rows[a - h :, 3:6])
            self._turn_done = b
            if b == (m + 1) * bn:
                self._turn_state.pop(m, None)

    def _forward_rows(self, p: str, cal: SegmentCalibration, i0: int, i1: int) -> np.ndarray:
        """:func:`~gait.turning.segment_forward_columns` of the first pass over ``[i0, i1)``,
        once per grid point and calibration, with every first-pass orientation decided so far."""
        return self._forward.setdefault(p, PointCache(4)).get(
            cal, i0, i1, self._n,
            lambda a, b: segment_forward_columns(self._level1[p].get(a, b)[:, 11:15],
                                                 cal.q_sensor_to_segment),
        )

    # ------------------------------------------------------------------ blocks
    def _block(self, k: int, *, final: bool) -> None:
        fs = self.fs
        a = k * self._block_n
        b = min(a + self._block_n, self._n)
        w0 = max(0, a - self._context_n)
        w1 = min(b + self._look_n, self._n)
        n = w1 - w0
        out = np.full((n, len(DERIVED)), np.nan)
        sac = self._level1[c.SACRUM].get(w0, w1)
        acc, q_sac = sac[:, 0:3], sac[:, 7:11]
        out[:, _D["acc_x_mps2"] : _D["acc_z_mps2"] + 1] = acc
        # A sacrum gap blanks the strides over it; a thigh gap blanks that thigh's angles only.
        out[:, _D["valid"]] = sac[:, 6] > 0
        for placement, _ in _THIGHS:  # NaN for a thigh the session does not have
            if placement in self._level1:
                out[:, _D[f"valid_{placement}"]] = self._level1[placement].get(w0, w1)[:, 6] > 0
        cal = self.calibration if self._calibration_ready else None
        pw = self._pointwise_rows(w0, w1, cal)
        has_q = bool(np.isfinite(q_sac).all())
        if cal is not None and has_q and c.SACRUM in cal:
            out[:, _D[c.PELVIS_TILT_DEG]] = pw[:, _P[c.PELVIS_TILT_DEG]]
            out[:, _D[c.PELVIS_OBLIQUITY_DEG]] = pw[:, _P[c.PELVIS_OBLIQUITY_DEG]]
            yaw = pw[:, _P["pelvis_yaw_rad"]]
            heading = travel_heading_rad(
                yaw, sampling_rate_hz=fs, heading_window_s=DEFAULT_HEADING_WINDOW_S
            )
            out[:, _D[c.PELVIS_ROTATION_DEG]] = pelvis_rotation_deg(yaw, heading)
        for placement, side in _THIGHS:
            if cal is None or placement not in self._level1 or placement not in cal:
                continue
            if not np.isfinite(self._level1[placement].get(w0, w1)[:, 7:11]).all():
                continue
            th = pw[:, _P[f"thigh_angle_{side}_deg"]]
            out[:, _D[f"thigh_angle_{side}_deg"]] = th
            # hip flexion = thigh angle + pelvic tilt (gait.angles.hip_angles); NaN without tilt
            out[:, _D[f"hip_flexion_{side}_deg"]] = th + out[:, _D[c.PELVIS_TILT_DEG]]
        self._trunk(out, acc, pw if has_q else None, cal)
        act_lo = max(0, n - self._act_n)
        acc_act = np.where(np.isfinite(acc[act_lo:]), acc[act_lo:], 0.0)
        label, moving = c.STILL, False
        if len(acc_act) >= int(fs):
            label, acc_std_mps2 = activity_label(acc_act, sampling_rate_hz=fs)
            moving = acc_std_mps2 >= STILL_STD_MPS2
        # Walking is not the classifier's label: it is where walking contacts form a rhythm
        # (see _walking_contact), so a block is still until its contacts say otherwise.
        self.block_labels.append(c.RUNNING if label == c.RUNNING else c.STILL)
        if label == c.RUNNING:
            self._walking_blocks(k, end=w1)  # walking before this block ends here
            self._end_walking_run()
            self._events(out, w0, a, b, c.RUNNING)
        else:
            if moving:
                self._walk_blocks.append(k)
            lag = self._walk_lag_blocks
            if (k - lag + 1) % max(lag, 1) == 0:  # every lag, the blocks of the period before
                self._walking_blocks(k - lag, end=w1)
        self._derived.append(out[a - w0 : b - w0])

    def _pointwise_rows(self, w0: int, w1: int, cal: Calibration | None) -> np.ndarray:
        """The per-sample quantities (:data:`POINTWISE`) over ``[w0, w1)``, once per grid point
        and calibration (:class:`~gait.grid.PointCache`)."""
        # orientations are final up to _turn_done (the second pass) or every decided point
        ready = self._turn_done if self.settings.turn_compensation else self._n
        return self._pointwise.get(
            cal, w0, w1, ready, lambda a, b: self._pointwise_compute(a, b, cal))

    def _pointwise_compute(self, i0: int, i1: int, cal: Calibration | None) -> np.ndarray:
        out = np.full((i1 - i0, len(POINTWISE)), np.nan)
        sac = self._level1[c.SACRUM].get(i0, i1)
        q = sac[:, 7:11]
        ok = np.isfinite(q).all(axis=1)
        if not ok.any():
            return out
        q = q[ok]
        acc_e = quat.rotate(q, sac[ok, 0:3])
        out[ok, _P["acc_earth_x_mps2"] : _P["acc_earth_z_mps2"] + 1] = acc_e
        out[ok, _P["yaw_rate_radps"]] = quat.rotate(q, sac[ok, 3:6])[:, 2]
        if cal is None:
            return out
        if c.SACRUM in cal:
            tilt, obliquity, yaw = pelvis_sample_angles(q, cal[c.SACRUM])
            out[ok, _P[c.PELVIS_TILT_DEG]] = tilt
            out[ok, _P[c.PELVIS_OBLIQUITY_DEG]] = obliquity
            out[ok, _P["pelvis_yaw_rad"]] = yaw
            out[ok, _P["trunk_yaw_rad"]] = forward_heading_rad(
                quat.multiply(q, quat.conjugate(cal[c.SACRUM].q_sensor_to_segment)))
        for placement, side in _THIGHS:
            if placement not in self._level1 or placement not in cal:
                continue
            rows = self._level1[placement].get(i0, i1)
            ok_th = np.isfinite(rows[:, 7:11]).all(axis=1)
            if not ok_th.any():
                continue
            th = np.full(len(rows), np.nan)
            th[ok_th] = thigh_sample_angles(rows[ok_th, 7:11], cal[placement])[0]
            # held values of a silent sensor are not angles
            out[:, _P[f"thigh_angle_{side}_deg"]] = np.where(rows[:, 6] > 0, th, np.nan)
        return out

    def _trunk(self, out: np.ndarray, acc: np.ndarray, pw: np.ndarray | None,
               cal: Calibration | None) -> None:
        fs = self.fs
        if pw is None:
            # No left signal without orientation: the pelvis' side-to-side tilt leaks gravity
            # into a body-fixed medio-lateral axis, which outweighs the small medio-lateral
            # acceleration (on the simulator its side vote was wrong for 96 % of contacts).
            a0 = np.where(np.isfinite(acc), acc, 0.0)
            if self.sacrum_anatomical:
                out[:, _D["vertical_mps2"]] = a0[:, 2]
                if np.isfinite(acc[:, 0]).any():  # else the AP axis is absent: stays NaN
                    out[:, _D["forward_mps2"]] = a0[:, 0]
                return
            up = vertical_axis_from_gravity(a0, sampling_rate_hz=fs)
            vertical = project_on_vertical(a0, up)
            out[:, _D["vertical_mps2"]] = vertical
            forward = running_forward_axis(a0, up, sampling_rate_hz=fs)
            if forward is not None:
                out[:, _D["forward_mps2"]] = (a0 - vertical[:, None] * up) @ forward
            return
        acc_e = pw[:, _P["acc_earth_x_mps2"] : _P["acc_earth_z_mps2"] + 1]
        out[:, _D["vertical_mps2"]] = acc_e[:, 2]
        out[:, _D["yaw_rate_radps"]] = pw[:, _P["yaw_rate_radps"]]
        if cal is not None and c.SACRUM in cal:
            heading = travel_heading_rad(
                pw[:, _P["trunk_yaw_rad"]], sampling_rate_hz=fs,
                heading_window_s=self.settings.trunk_heading_window_s,
            )
            f0, f1 = np.cos(heading), np.sin(heading)
            out[:, _D["forward_mps2"]] = acc_e[:, 0] * f0 + acc_e[:, 1] * f1
            out[:, _D["left_mps2"]] = -acc_e[:, 0] * f1 + acc_e[:, 1] * f0

    def _walking_blocks(self, last: int, *, end: int) -> None:
        """Walking contacts of the queued blocks up to block ``last``, from one window up to ``end``.

        Walking contacts are looked for every ``walking_lag_s`` (whole blocks), in the queued
        blocks of the period that ended ``walking_lag_s`` earlier, so that the detector sees
        the steps after every contact too (the step peak's prominence and the step rhythm need
        the next steps) and runs once per period rather than once per block. The window is
        ``[first block start - walking_context_s, end)`` with ``end`` the end of the window of
        the block being computed: grid positions, so the result does not depend on the piece
        sizes.
        """
        blocks = [k for k in self._walk_blocks if k <= last]
        if not blocks:
            return
        del self._walk_blocks[: len(blocks)]
        w0 = max(0, blocks[0] * self._block_n - self._walk_context_n)
        sac = self._level1[c.SACRUM].get(w0, end)
        acc = np.where(np.isfinite(sac[:, 0:3]), sac[:, 0:3], 0.0)
        gyr = sac[:, 3:6]
        # The axes from every walking block so far (each block's samples once), not from this
        # window alone: a turn inside a few seconds tilts the window's own estimate.
        new = np.zeros(len(sac), bool)
        for k in blocks:
            new[max(0, k * self._block_n - w0) : max(0, (k + 1) * self._block_n - w0)] = True
        new &= (sac[:, 6] > 0) & np.isfinite(sac[:, 0:3]).all(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if new.any():
                self._walk_axes.update(axis_moments(acc, sampling_rate_hz=self.fs, keep=new))
            ev = detect_walking_events(
                acc, sampling_rate_hz=self.fs, gyr_radps=gyr if np.isfinite(gyr).all() else None,
                axes=self._walk_axes.axes(),
            )
        ic = ev.ic_idx.astype(float)
        to = walking_toe_offs(ev, max_step_s=MAX_WALKING_STEP_S)
        for k in blocks:
            a = k * self._block_n
            self._accept(ic, ev.side, to, w0, a, a + self._block_n, c.WALKING)

    def _events(self, out: np.ndarray, w0: int, a: int, b: int, label: str) -> None:
        fs = self.fs
        col = out.T
        if label == c.RUNNING:
            fwd = col[_D["forward_mps2"]]
            ev = detect_running_events(
                col[_D["vertical_mps2"]], sampling_rate_hz=fs,
                acc_ap_mps2=fwd if np.isfinite(fwd).any() else None,
            )
            rates = {}
            for side in (c.LEFT, c.RIGHT):
                th = col[_D[f"thigh_angle_{side}_deg"]]
                if np.isfinite(th).all():
                    rates[side] = gradient(np.radians(th), 1.0 / fs)
            yaw = col[_D["yaw_rate_radps"]]
            left = col[_D["left_mps2"]]
            sides = assign_running_sides(
                ev.ic_idx, sampling_rate_hz=fs,
                gyr_vertical_radps=yaw if np.isfinite(yaw).any() else None,
                acc_ml_mps2=left if np.isfinite(left).any() else None,
                thigh_left_flexion_radps=rates.get(c.LEFT),
                thigh_right_flexion_radps=rates.get(c.RIGHT),
            )
            self._accept(ev.ic_pos, sides, ev.to_pos, w0, a, b, label)

    def _accept(self, ic: np.ndarray, sides: np.ndarray, to: np.ndarray, w0: int, a: int, b: int,
                label: str) -> None:
        """Keep the contacts of a window that fall in its block's span (deduplicated)."""
        min_sep = 0.2 * self.fs
        for k in range(len(ic)):
            pos = w0 + float(ic[k])
            # [a - 2, b - 1): overlapping the neighbours (deduplicated) so that no contact falls
            # between two blocks, and the sample after every accepted contact is in this block.
            if not (a - 2 <= pos < b - 1) or pos <= self._last_ic_pos + min_sep:
                continue
            if not self._sacrum_valid_at(pos):
                continue  # inside a sacrum gap: the detector saw the bridge, not the contact
            self._last_ic_pos = pos
            to_pos = w0 + float(to[k]) if math.isfinite(to[k]) else math.nan
            if math.isfinite(to_pos) and not self._sacrum_valid_at(to_pos):
                to_pos = math.nan
            if label == c.WALKING:
                self._walking_contact(_Ic(pos, str(sides[k]), to_pos, label))
            else:
                self._add_ic(_Ic(pos, str(sides[k]), to_pos, label))

    def _sacrum_valid_at(self, pos: float) -> bool:
        """Whether the sacrum's grid points on both sides of position ``pos`` hold real data."""
        ring, i = self._level1[c.SACRUM], int(math.floor(pos))
        rows = ring.get(max(i, ring.start), max(min(i + 2, ring.end), ring.start))
        return bool((rows[:, 6] > 0).all())

    # ------------------------------------------------------------------ walking rhythm
    def _walking_contact(self, ic: _Ic) -> None:
        """Accept walking contacts only where they form a walking rhythm.

        The rule of :func:`gait.events_walking.walking_bouts_from_steps`: a walking bout is a
        run of at least ``MIN_WALKING_CONTACTS`` contacts with no step longer than
        ``MAX_WALKING_STEP_S``. The first contacts of a run wait (at most three, each within
        that step time of the previous one) until the run is long enough; later contacts of an
        accepted run are accepted at once. The blocks the accepted run spans are labelled
        walking.
        """
        max_step = MAX_WALKING_STEP_S * self.fs
        last = self._walk_run[-1].pos if self._walk_run else self._walk_last_pos
        if ic.pos - last > max_step:
            self._end_walking_run()
        if self._walk_run or not math.isfinite(self._walk_last_pos):
            self._walk_run.append(ic)
            if len(self._walk_run) < MIN_WALKING_CONTACTS:
                return
            run, self._walk_run = self._walk_run, []
        else:
            run = [ic]
        for x in run:
            self._label_walking(self._walk_last_pos if math.isfinite(self._walk_last_pos) else x.pos,
                                x.pos)
            self._walk_last_pos = x.pos
            self._add_ic(x)

    def _end_walking_run(self) -> None:
        """The current walking run is over: contacts still waiting for a rhythm are dropped."""
        self._walk_run = []
        self._walk_last_pos = -math.inf

    def _label_walking(self, pos0: float, pos1: float) -> None:
        """Label the blocks from grid position ``pos0`` to ``pos1`` walking (running stays)."""
        for k in range(int(pos0) // self._block_n, min(int(pos1) // self._block_n + 1,
                                                      len(self.block_labels))):
            if self.block_labels[k] == c.STILL:
                self.block_labels[k] = c.WALKING

    # ------------------------------------------------------------------ strides
    def _t(self, pos: float) -> float:
        assert self.origin_s is not None
        return self.origin_s + pos / self.fs

    def _add_ic(self, ic: _Ic) -> None:
        self.events.append({c.TIME_S: self._t(ic.pos), c.EVENT: c.INITIAL_CONTACT, c.SIDE: ic.side})
        if math.isfinite(ic.to_pos):
            self.events.append({c.TIME_S: self._t(ic.to_pos), c.EVENT: c.TOE_OFF, c.SIDE: ic.side})
        self._ics.append(ic)
        if len(self._ics) > 8:
            del self._ics[0]
        if len(self._ics) >= 3:
            row = self._stride(self._ics)
            if row is not None:
                self._pending.append(row)
                if row["activity"] == c.RUNNING:
                    speed = contact_model_speed_mps(
                        row[c.CONTACT_TIME_S], row[c.STRIDE_TIME_S],
                        leg_length_m=leg_length_m(self.athlete),
                        scale=self.settings.stride_length_scale or 1.0,
                    )
                    if math.isfinite(speed):
                        self._run_speeds.append((ic.pos, speed))

    def _stride(self, ics: list[_Ic]) -> dict[str, Any] | None:
        """The stride ending at the newest IC, or None (checks of ``build_strides``)."""
        i0, i1, i2 = ics[-3], ics[-2], ics[-1]
        if not (i0.activity == i1.activity == i2.activity):
            return None
        side = stride_side(i0.side, i1.side, i2.side)
        if side is None:
            return None
        t0, t1, t2 = self._t(i0.pos), self._t(i1.pos), self._t(i2.pos)
        stride_time = t2 - t0
        if not 0 < stride_time <= MAX_STRIDE_TIME_S.get(i0.activity, 2.5):
            return None
        times = [self._t(x.pos) for x in ics[-7:]]
        steps = np.diff(times)
        med = float(np.median(steps))
        if any(abs(s - med) > STEP_TIME_TOLERANCE * med for s in (t1 - t0, t2 - t1)):
            return None
        step_time = t1 - t0
        contact = self._t(i0.to_pos) - t0 if math.isfinite(i0.to_pos) else math.nan
        # A runner's foot leaves the ground before the next contact; a walker's after it.
        if not (0 < contact < (step_time if i0.activity == c.RUNNING else stride_time)):
            contact = math.nan
        flight = step_time - contact if math.isfinite(contact) and i0.activity == c.RUNNING else math.nan
        return {
            c.STRIDE_START_S: t0,
            c.STRIDE_END_S: t2,
            c.SIDE: side,
            c.STRIDE_TIME_S: stride_time,
            c.CADENCE_SPM: 120.0 / stride_time,
            c.CONTACT_TIME_S: contact,
            "activity": i0.activity,
            "step_time_s": step_time,
            "flight_time_s": flight,
            "duty_factor": contact / stride_time if math.isfinite(contact) else math.nan,
            "_pos": (i0.pos, i1.pos, i2.pos),
        }

    def _finalise_pending(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        lo = int(math.floor(min(r["_pos"][0] for r in pending))) - round(0.5 * self.fs) - 2
        lo = max(lo, self._derived.start)
        hi = self._derived.end
        d = self._derived.get(lo, hi)
        t = self._t(np.arange(lo, hi))
        start = np.array([r[c.STRIDE_START_S] for r in pending], float)
        end = np.array([r[c.STRIDE_END_S] for r in pending], float)
        contact = np.array([r[c.CONTACT_TIME_S] for r in pending], float)
        named = {name: (t, d[:, _D[name]]) for name in _ANGLE_NAMES if np.isfinite(d[:, _D[name]]).any()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cols = angle_metrics(start, end, np.array([r[c.SIDE] for r in pending], object),
                                 contact, named)
            fwd = d[:, _D["forward_mps2"]]
            cols["vertical_oscillation_m"], cols["braking_mps"] = trunk_metrics(
                start, end, contact, t, d[:, _D["vertical_mps2"]],
                fwd if np.isfinite(fwd).any() else None)
        yaw = d[:, _D["yaw_rate_radps"]]
        yaw_rates = []
        for k in range(len(pending)):  # each over a window anchored to its stride (a cumulative sum)
            p0, _, p2 = pending[k]["_pos"]
            i0 = max(int(math.floor(p0)) - 2 - lo, 0)
            i1 = int(math.ceil(p2)) + 1 - lo
            bounds = {key: [pending[k][key]] for key in (c.STRIDE_START_S, c.STRIDE_END_S)}
            yaw_rates.append(stride_yaw_rate_radps(bounds, t[i0:i1], yaw[i0:i1])[0]
                             if np.isfinite(yaw[i0:i1]).any() else math.nan)
        cols["stride_yaw_rate_radps"] = np.asarray(yaw_rates, float)
        cols[c.STRIDE_LENGTH_M] = np.array([self._walking_length(r, lo, d) for r in pending], float)
        cols["foot_contact_distance_m"] = (
            leg_length_m(self.athlete) * np.sin(np.radians(cols["thigh_angle_ic_deg"])))
        valid = d[:, _D["valid"]] > 0
        for k, row in enumerate(pending):
            row.update({name: float(values[k]) for name, values in cols.items()})
            i0 = int(math.floor(row["_pos"][0])) - lo
            i2 = int(math.ceil(row["_pos"][2])) - lo
            row["gap_crossed"] = bool(not valid[max(i0, 0) : i2 + 1].all())
            row["gap_sensors"] = ";".join(
                p for p, _ in _THIGHS
                if (d[max(i0, 0) : i2 + 1, _D[f"valid_{p}"]] == 0).any()
            )
            del row["_pos"]
            self._asymmetry(row)
            self._stability(row)
            if row["gap_crossed"]:
                _blank(row)
            index = self.rows_dropped + len(self.rows)
            self.rows.append(row)
            self._baseline(row)
            self.cues.extend(self.engine.update(row, index))

    def _walking_length(self, row: Mapping[str, Any], lo: int, d: np.ndarray) -> float:
        if row["activity"] != c.WALKING:
            return math.nan
        sensor_h = pendulum_length_m(self.athlete)[0]
        p0, p1, p2 = row["_pos"]
        w0 = max(0, int(p0) - round(0.5 * self.fs))  # anchored to the stride, not to `lo`
        if w0 < lo:
            return math.nan  # not held (cannot happen while strides are finalised in time)
        acc = d[w0 - lo : int(math.ceil(p2)) + 1 - lo, _D["acc_x_mps2"] : _D["acc_z_mps2"] + 1]
        acc = np.where(np.isfinite(acc), acc, 0.0)
        ic = np.round(np.array([p0, p1, p2]) - w0).astype(int)
        ic = np.clip(ic, 0, len(acc) - 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lengths = walking_stride_length_m(acc, ic, sampling_rate_hz=self.fs, sensor_height_m=sensor_h)
        return float(lengths[0]) if len(lengths) else math.nan

    def _asymmetry(self, row: dict[str, Any]) -> None:
        """Left minus right of each asymmetry metric, from the latest stride of each side.

        Both strides must be of the same activity: a walking stride's contact time is not
        compared with a running one's.
        """
        side = row[c.SIDE]
        if row["activity"] != self._last_by_side_activity:
            self._last_by_side = {c.LEFT: {}, c.RIGHT: {}}
            self._last_by_side_activity = row["activity"]
        for metric in ASYMMETRY_METRICS:
            if side in self._last_by_side:
                self._last_by_side[side][metric] = row.get(metric, math.nan)
            left = self._last_by_side[c.LEFT].get(metric, math.nan)
            right = self._last_by_side[c.RIGHT].get(metric, math.nan)
            row[asymmetry_name(metric)] = left - right

    def _stability(self, row: dict[str, Any]) -> None:
        """Trailing-window stability of this stride (:func:`gait.stability.stride_stability`)."""
        st = self.settings.stability
        rows = [*self.rows[-(2 * st.lde_window_strides) :], row]
        d = self._derived
        lo = max(d.start, int(math.floor((rows[0][c.STRIDE_START_S] - self.origin_s) * self.fs)))
        sig = d.get(lo, d.end)
        values, self._lde_last = stride_stability(
            rows, self._t(np.arange(lo, d.end)), sig[:, _D["vertical_mps2"]],
            sig[:, _D["forward_mps2"]], sig[:, _D["left_mps2"]], st,
            sampling_rate_hz=self.fs, stride_number=self.rows_dropped + len(self.rows),
            lde_last=self._lde_last,
        )
        row.update(values)

    def _baseline(self, row: Mapping[str, Any]) -> None:
        if not self._auto_baseline or self.baseline_source != "pending":
            return
        if row.get("activity") != c.RUNNING or row.get("gap_crossed"):
            return
        self._baseline_rows.append(row)
        if len(self._baseline_rows) >= self.settings.baseline_strides:
            base = {}
            # the rules' metrics, and cadence always (the metronome's target is relative to it)
            for metric in sorted({rule.metric for rule in self.engine.rules} | {c.CADENCE_SPM}):
                vals = np.array([r.get(metric, math.nan) for r in self._baseline_rows], float)
                if np.isfinite(vals).sum() >= self.settings.baseline_strides // 2:
                    base[metric] = float(np.nanmedian(vals))
            self.engine.baseline.update(base)
            self.baseline_source = f"first {len(self._baseline_rows)} running strides"
            self._baseline_rows = []

    # ------------------------------------------------------------------ laps (double taps)
    def _taps(self, *, final: bool) -> None:
        if not self.settings.detect_double_taps:
            return
        while True:
            a = self._taps_done * self._tap_n
            b = a + self._tap_n
            done = self._derived.end  # the sacrum acc is in the derived buffer
            if a >= done or (not final and b + self._look_n > done):
                return
            b = min(b, done)
            w0 = max(0, a - self._tap_ctx_n)
            w1 = min(b + self._look_n, done)
            acc = self._derived.get(w0, w1)[:, _D["acc_x_mps2"] : _D["acc_z_mps2"] + 1]
            for i in detect_double_taps(acc, sampling_rate_hz=self.fs):
                if a <= w0 + i < b:
                    self.taps_s.append(self._t(w0 + int(i)))
            self._taps_done += 1

    # ------------------------------------------------------------------ memory
    def _trim(self) -> None:
        keep1 = self._blocks_done * self._block_n - self._context_n
        if self._walk_blocks:
            keep1 = min(keep1, self._walk_blocks[0] * self._block_n - self._walk_context_n)
        if self.settings.turn_compensation:  # the turn rate's window behind the second pass
            keep1 = min(keep1, self._turn_done - self._turn_n)
        if self.calibration_source == "pending" and self._next_calibration_point() is not None:
            keep1 = 0
        for ring in self._level1.values():
            ring.trim(keep1)
        for cache in self._forward.values():
            cache.trim(keep1)
        self._pointwise.trim(keep1)
        keep_rows = self.rows[-(2 * self.settings.stability.lde_window_strides) :]
        keep_t = keep_rows[0][c.STRIDE_START_S] if keep_rows else math.inf
        keep_d = min(
            self._taps_done * self._tap_n - self._tap_ctx_n,
            int(math.floor((keep_t - self.origin_s) * self.fs)) - 2 if keep_rows else self._derived.end,
            self._derived.end - round(self.settings.stability.window_strides * 1.6 * self.fs),
        )
        self._derived.trim(keep_d)
        if not self.retain:
            drop = len(self.rows) - 2 * self.settings.stability.lde_window_strides
            if drop > 0:
                del self.rows[:drop]
                self.rows_dropped += drop
            self.events.clear()

    def quality(self) -> dict[str, Any]:
        """Data quality of the session so far (JSON-serialisable).

        Every sensor but the sacrum has ``sync``: its clock offset against the sacrum measured
        from the contact transients (:mod:`gait.sync`), with a verdict.
        """
        out: dict[str, Any] = {"sampling_rate_hz": self.fs, "sensors": {}, "gaps": []}
        for p, g in self._grids.items():
            out["sensors"][p], gaps = g.quality(p, self._n)
            out["gaps"].extend(gaps)
            if p in self._sync:
                out["sensors"][p]["sync"] = self._sync[p].estimate().as_dict()
        out["calibration"] = {"pending": "not found", "stored": "stored"}.get(
            self.calibration_source, self.calibration_source)
        if self.calibration_source == "pending":
            out["calibration_error"] = self._cal_error
        return out

    # ------------------------------------------------------------------ live view
    def latest_by_side(self) -> dict[str, dict[str, float]]:
        """The latest finished stride's main metrics per side (for a live view)."""
        out: dict[str, dict[str, float]] = {}
        for row in reversed(self.rows[-8:]):
            side = row[c.SIDE]
            if side not in out:
                out[side] = {k: row.get(k, math.nan) for k in (
                    c.CADENCE_SPM, c.CONTACT_TIME_S, "thigh_angle_ic_deg", "pelvis_tilt_mean_deg",
                    "pelvis_rotation_range_deg", "hip_extension_peak_deg")}
        return out

    @property
    def decided_time_s(self) -> float:
        """Session time up to which strides are decided."""
        if self.origin_s is None:
            return math.nan
        return self._t(self._blocks_done * self._block_n)


def _blank(row: dict[str, Any]) -> None:
    keep = {*c.STRIDE_CONTRACT_COLUMNS, "activity", "bout", "lap", "gap_crossed", "gap_sensors"} - {
        c.STRIDE_TIME_S, c.CADENCE_SPM, c.CONTACT_TIME_S, c.STRIDE_LENGTH_M
    }
    for key, value in row.items():
        if key not in keep and isinstance(value, float):
            row[key] = math.nan


def bouts_from_labels(labels: list[str], *, origin_s: float, block_s: float,
                      min_bout_s: float, end_s: float) -> pd.DataFrame:
    """Bouts from the per-block activity labels: runs of equal labels, short ones merged."""
    if not labels:
        return pd.DataFrame(columns=["start_s", "end_s", "activity"])
    edges = origin_s + np.arange(len(labels) + 1) * block_s
    edges[-1] = max(end_s, edges[-2])
    runs: list[list] = []
    for k, lab in enumerate(labels):
        if runs and runs[-1][2] == lab:
            runs[-1][1] = float(edges[k + 1])
        else:
            runs.append([float(edges[k]), float(edges[k + 1]), lab])
    merged = merge_short_runs(runs, min_bout_s, keep=(c.WALKING,))
    return pd.DataFrame(merged, columns=["start_s", "end_s", "activity"])
