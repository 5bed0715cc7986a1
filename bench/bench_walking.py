"""Accuracy of walking events, cadence and stride length on the lower-back walking recordings.

Run: ``.venv/bin/python bench/bench_walking.py``. Prints the figures and writes
``bench/results/walking.md``. Data: ../shared/data/lowerback-walking (Mobilise-D technical
validation lab example, CC-BY-4.0; Mico-Amigo et al. JNER 2023; Kirk et al. Sci Data 2024),
L5 IMU at 100 Hz against the INDIP multi-sensor reference.

Scoring
-------
- Product path (the headline): each trial's ``imu.csv`` imported with ``import_csv_session``
  (what ``stridecue import`` does) and analysed with ``analyse_session`` (what ``stridecue
  analyse`` does); its initial contacts are scored as below, its walking strides give the
  cadence per reference bout (mean ``cadence_spm`` of the strides inside the bout) and the
  stride length (a reported stride whose start and end are both within 100 ms of a reference
  stride's). Also the seconds of reported walking against the reference bouts and the
  contacts reported outside every reference bout (not scored: the reference does not say
  whether those are steps). Everything below it is the detector study on whole recordings.
- Initial contacts: detections inside each reference walking bout (widened by the tolerance) are
  matched one-to-one to reference ICs (nearest first) within +-100 ms and +-50 ms; F1 over all
  scored ICs. Timing MAE over the +-100 ms matches. HA_002's straight walks have no reference and
  are not scored.
- Side: fraction of matched ICs with the reference foot.
- Cadence: per reference bout, from the detected ICs in the bout, against the reference mean
  cadence of the bout (the mean of 120 / stride time over the reference strides). Headline: the
  pipeline's definition, the mean of the per-stride cadence of ``build_strides`` (the same
  definition as the reference's); beside it ``walking_cadence_spm`` (step times, pauses and
  Hampel outliers removed). Both applied to the reference's own ICs are reported as the floor
  that the reference's incomplete IC lists set.
- Variants: the same scoring without the step-rhythm completion, and with the detector run only
  inside the walking bouts of ``classify_activity`` (what the pipeline did before it found
  walking by its rhythm).
- IC parameters, leave-one-trial-out (LOO): the three detector numbers (step low-pass, slope
  low-pass, prominence) are selected from a 36-setting grid on three trials and scored on the
  fourth; the pooled held-out F1 is the headline, the shipped setting (selected on all four) is
  reported in-sample beside it. The step-rhythm completion is not on the grid (see the variants).
- Reference gaps: an unmatched detection that lies between two consecutive reference ICs of the
  SAME foot sits where the reference must have missed a contact of the other foot.
- Stride length: a reference stride is scored when both of its ICs were detected (+-100 ms); ours
  is the stride between those two detected ICs. Baseline: Zijlstra & Hof 2003 (high-pass double
  integration, pendulum length = sensor height, K = 1.25) on the same detected ICs. Ours: the
  Mobilise-D excursion with its published K (fitted by Mobilise-D on other people); also the
  per-step excursion with the same K, and ours with one K fitted LOO over the four trials.
  "Calibrated":
  one scale per person fitted with ``fit_stride_length_scale`` on ONE other trial of the same
  person (the known distance = the reference length of that trial's strides) and applied unchanged
  to the test trial. Only HA_001 has two referenced straight walks; HA_002 cannot be calibrated.
  Other models (Weinberg, a cadence regression, K plus an offset) are fitted by least squares on
  the strides of the other three trials and scored on each straight walk.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

import gait.events_walking as ew
from gait.activity import classify_activity
from gait.events_walking import (
    WalkingEvents,
    detect_walking_events,
    vertical_acceleration,
    walking_cadence_spm,
    walking_toe_offs,
)
from gait.result import AnalysisResult
from gait.stream import PipelineSettings
from gait.stride_length import (
    K_MOBILISED_ALL,
    K_ZIJLSTRA_HOF,
    fit_stride_length_scale,
    walking_stride_length_m,
)
from gait.strides import build_strides
from recordings.importer import ImportUnits, import_csv_session
from stridecue.analysis import analyse_session
from stridecue.constants import (
    CADENCE_SPM,
    EVENT,
    CONTACT_TIME_S,
    INITIAL_CONTACT,
    SACRUM,
    SIDE,
    STRIDE_END_S,
    STRIDE_LENGTH_M,
    STRIDE_START_S,
    TIME_S,
    TOE_OFF,
    WALKING,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lowerback-walking"
OUT = Path(__file__).resolve().parent / "results" / "walking.md"
TOLS_S = (0.1, 0.05)
TO_TOL_S = 0.15  # toe-off matching tolerance (a stance time is ~0.6-0.9 s; a step ~0.5 s)
LAG_SWEEP_S = (0.0, 1.0, 2.0, 3.0, 4.0)
IC_GRID = list(itertools.product((2.0, 2.5, 3.0, 4.0), (4.0, 5.0, 7.0), (0.15, 0.3, 0.5)))


@contextlib.contextmanager
def ic_parameters(**values: float) -> Iterator[None]:
    """Temporarily set module constants of the detector (benchmark use only)."""
    names = tuple(values)
    old = [getattr(ew, n) for n in names]
    for n, v in values.items():
        setattr(ew, n, v)
    try:
        yield
    finally:
        for n, v in zip(names, old, strict=True):
            setattr(ew, n, v)


def grid_parameters(step_hz: float, slope_hz: float, prominence_mps2: float) -> Iterator[None]:
    """The three numbers selected on the grid."""
    return ic_parameters(_STEP_LOWPASS_HZ=step_hz, _IC_LOWPASS_HZ=slope_hz,
                         _STEP_PROMINENCE_MPS2=prominence_mps2)


def ic_counts(tr: dict) -> dict[float, tuple[int, int, int]]:
    """Per tolerance: true positives, detections in bouts and reference ICs of one trial."""
    fs = float(tr["meta"]["sampling_rate_hz"])
    ev = detect_walking_events(tr["acc"], sampling_rate_hz=fs, gyr_radps=tr["gyr"])
    det_s = tr["time"][0] + ev.ic_idx / fs
    out = {}
    for tol_s in TOLS_S:
        tp = n_det = 0
        for _, b in tr["bouts"].iterrows():
            inb = np.flatnonzero((det_s >= b.start_s - tol_s) & (det_s <= b.end_s + tol_s))
            ref = tr["ic"][tr["ic"].walking_bout == b.walking_bout]
            tp += len(match(det_s[inb], ref.time_s.to_numpy(), tol_s))
            n_det += len(inb)
        out[tol_s] = (tp, n_det, len(tr["ic"]))
    return out


def loo_ic(trials: list[dict]) -> dict:
    """Leave-one-trial-out selection of the IC parameters; pooled held-out and in-sample F1."""
    table = {}
    for g in IC_GRID:
        with grid_parameters(*g):
            table[g] = {t["name"]: ic_counts(t) for t in trials}

    def f1(g: tuple, names: list[str], tol: float = 0.1) -> float:
        tp = sum(table[g][n][tol][0] for n in names)
        return 2 * tp / sum(table[g][n][tol][1] + table[g][n][tol][2] for n in names)

    def criterion(g: tuple, names: list[str]) -> float:
        # timing matters as well as finding the step: mean of F1 at +-100 ms and +-50 ms
        return (f1(g, names, 0.1) + f1(g, names, 0.05)) / 2

    def pooled(names: list[str], picks: dict, tol: float) -> float:
        tp = sum(table[picks[n]][n][tol][0] for n in names)
        return 2 * tp / sum(table[picks[n]][n][tol][1] + table[picks[n]][n][tol][2] for n in names)

    names = [t["name"] for t in trials]
    held, picks = {}, {}
    for n in names:
        others = [m for m in names if m != n]
        best = max(IC_GRID, key=lambda g, o=others: criterion(g, o))
        picks[n], held[n] = best, f1(best, [n])
    shipped = (ew._STEP_LOWPASS_HZ, ew._IC_LOWPASS_HZ, ew._STEP_PROMINENCE_MPS2)
    return {
        "loo_f1": pooled(names, picks, 0.1), "loo_f1_50": pooled(names, picks, 0.05),
        "held": held, "picks": picks,
        "in_sample_best": max(IC_GRID, key=lambda g: criterion(g, names)),
        "shipped": shipped, "shipped_f1": f1(shipped, names) if shipped in table else np.nan,
        "straight_loo": pooled([n for n in names if "Test5" in n], picks, 0.1),
        "daily_loo": pooled([n for n in names if "Test11" in n], picks, 0.1),
    }


def bout_cadence_spm(ic_s: np.ndarray, side: np.ndarray) -> float:
    """Cadence of a bout as the pipeline reports it: mean of 120 / stride time of its strides."""
    if len(ic_s) < 3:
        return float("nan")
    strides = build_strides(ic_s, side, None, activity=WALKING)
    return float(strides[CADENCE_SPM].mean()) if len(strides) else float("nan")


def match(det_s: np.ndarray, ref_s: np.ndarray, tol_s: float) -> list[tuple[int, int]]:
    """One-to-one nearest matching of detections to references within a tolerance."""
    pairs = sorted(
        (abs(d - r), i, j) for j, r in enumerate(ref_s) for i, d in enumerate(det_s)
        if abs(d - r) <= tol_s
    )
    used_d, used_r, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            out.append((i, j))
    return out


def load(trial: Path) -> dict:
    """Read one trial."""
    imu = pd.read_csv(trial / "imu.csv")
    return {
        "name": trial.name,
        "acc": imu[["acc_x", "acc_y", "acc_z"]].to_numpy(),
        "gyr": imu[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(),
        "time": imu["time_s"].to_numpy(),
        "ic": pd.read_csv(trial / "initial_contacts.csv"),
        "strides": pd.read_csv(trial / "strides.csv"),
        "bouts": pd.read_csv(trial / "walking_bouts.csv"),
        "meta": json.loads((trial / "meta.json").read_text()),
    }


def detections(tr: dict, mode: str = "shipped") -> WalkingEvents:
    """Walking events of one trial.

    ``shipped``: the detector over the whole recording (as with bouts from
    ``walking_bouts_from_steps``: in these trials every detection inside a reference bout belongs
    to a run of >= 4 contacts). ``no_completion``: the same without the step-rhythm completion.
    ``activity_bouts``: the detector run inside each walking bout of ``classify_activity`` only
    (what the pipeline did before it found walking by its rhythm).
    """
    fs = float(tr["meta"]["sampling_rate_hz"])
    kw = {"sampling_rate_hz": fs}
    if mode == "no_completion":
        with ic_parameters(_FILL_RATIO=np.inf, _WEAK_PROMINENCE_MPS2=np.inf):
            return detect_walking_events(tr["acc"], gyr_radps=tr["gyr"], **kw)
    if mode == "shipped":
        return detect_walking_events(tr["acc"], gyr_radps=tr["gyr"], **kw)
    ic, side = [], []
    for b in classify_activity(tr["acc"], **kw).itertuples():
        i0, i1 = int(round(b.start_s * fs)), int(round(b.end_s * fs))
        if b.activity != WALKING or i1 - i0 < 2 * fs:
            continue
        ev = detect_walking_events(tr["acc"][i0:i1], gyr_radps=tr["gyr"][i0:i1], **kw)
        ic.append(i0 + ev.ic_idx)
        side.append(ev.side)
    ic_idx = np.concatenate(ic) if ic else np.zeros(0, int)
    sides = np.concatenate(side) if side else np.zeros(0, object)
    return WalkingEvents(ic_idx, sides, np.full(len(ic_idx), -1), fs)


def evaluate_trial(tr: dict, mode: str = "shipped") -> dict:
    """Events, cadence and per-stride predictions for one trial."""
    fs = float(tr["meta"]["sampling_rate_hz"])
    ev = detections(tr, mode)
    det_s = tr["time"][0] + ev.ic_idx / fs
    res = {"name": tr["name"], "n_ref": len(tr["ic"])}
    for tol in TOLS_S:
        pairs, n_det, in_gap, _ = match_in_bouts(det_s, tr, tol)
        res[f"tp_{tol}"], res[f"ndet_{tol}"] = len(pairs), n_det
        if tol == 0.1:
            ref_s, ref_side = tr["ic"].time_s.to_numpy(), tr["ic"].side.to_numpy()
            res["abs_err_s"] = np.abs([det_s[i] - ref_s[j] for i, j in pairs])
            res["side_ok"] = np.array([ev.side[i] == ref_side[j] for i, j in pairs])
            res["unmatched"], res["in_ref_gap"] = n_det - len(pairs), in_gap
    # cadence per bout: as the pipeline reports it (mean of the stride cadences of
    # build_strides), walking_cadence_spm, and both on the reference's own ICs
    cad, cad_steps, cad_ref, cad_ref_steps = [], [], [], []
    for _, b in tr["bouts"].iterrows():
        inb = (det_s >= b.start_s - 0.1) & (det_s <= b.end_s + 0.1)
        ref = tr["ic"][tr["ic"].walking_bout == b.walking_bout]
        ref_idx = np.round((ref.time_s - tr["time"][0]) * fs).to_numpy()
        cad.append(bout_cadence_spm(det_s[inb], ev.side[inb]) - b.avg_cadence_spm)
        cad_steps.append(walking_cadence_spm(ev.ic_idx[inb], sampling_rate_hz=fs)
                         - b.avg_cadence_spm if inb.sum() >= 3 else np.nan)
        cad_ref.append(bout_cadence_spm(ref.time_s.to_numpy(), ref.side.to_numpy())
                       - b.avg_cadence_spm)
        cad_ref_steps.append(walking_cadence_spm(ref_idx, sampling_rate_hz=fs)
                             - b.avg_cadence_spm)
    res["cadence_err_spm"] = np.array(cad)
    res["cadence_steps_err_spm"] = np.array(cad_steps)
    res["cadence_ref_ic_err_spm"] = np.array(cad_ref)
    res["cadence_ref_ic_steps_err_spm"] = np.array(cad_ref_steps)
    # strides: reference, ours (Mobilise-D excursion, published K), per-step excursion (same K),
    # baseline (Zijlstra & Hof), ours with K = 1 (for the LOO fit of one K)
    h = float(tr["meta"]["sensor_height_m"])
    kw = {"sampling_rate_hz": fs, "sensor_height_m": h}
    ours = walking_stride_length_m(tr["acc"], ev.ic_idx, **kw)
    per_step = walking_stride_length_m(tr["acc"], ev.ic_idx, method="per_step", **kw)
    base = walking_stride_length_m(
        tr["acc"], ev.ic_idx, method="highpass", k_factor=K_ZIJLSTRA_HOF, **kw
    )
    a_v, _ = vertical_acceleration(tr["acc"], sampling_rate_hz=fs)
    rows = []
    for _, s in tr["strides"].iterrows():
        i0 = np.flatnonzero(np.abs(det_s - s.start_s) <= 0.1)
        i1 = np.flatnonzero(np.abs(det_s - s.end_s) <= 0.1)
        if len(i0) and len(i1) and i1[0] == i0[0] + 2:
            k = i0[0]
            raw = ours[k] / K_MOBILISED_ALL
            seg = a_v[ev.ic_idx[k] : ev.ic_idx[k + 2]]
            rows.append((s.stride_length_m, ours[k], base[k], per_step[k], raw,
                         (seg.max() - seg.min()) ** 0.25,
                         fs / (ev.ic_idx[k + 2] - ev.ic_idx[k]), float(tr["meta"]["height_m"])))
    res["strides"] = np.array(rows, dtype=float).reshape(-1, 8)
    return res


def classify_misses(det_s: np.ndarray, ref: pd.DataFrame, pairs: list[tuple[int, int]],
                    ) -> tuple[int, int]:
    """Unmatched detections inside same-foot reference gaps, and reference contacts missed
    with an unmatched detection 100-250 ms away (a contact found but timed too far off)."""
    rt, rs = ref.time_s.to_numpy(), ref.side.to_numpy()
    gaps = [(rt[j] + 0.1, rt[j + 1] - 0.1) for j in range(len(rt) - 1) if rs[j] == rs[j + 1]]
    matched_d = {i for i, _ in pairs}
    matched_r = {j for _, j in pairs}
    free = np.array([d for i, d in enumerate(det_s) if i not in matched_d])
    in_gap = sum(any(lo < d < hi for lo, hi in gaps) for d in free)
    timing = sum(1 for j, r in enumerate(rt)
                 if j not in matched_r and len(free) and np.min(np.abs(free - r)) <= 0.25)
    return int(in_gap), int(timing)


def match_in_bouts(
    det_s: np.ndarray, tr: dict, tol_s: float
) -> tuple[list[tuple[int, int]], int, int, int]:
    """Match detections to the reference ICs bout by bout, as every walking score here does.

    Only detections inside a reference bout (+- ``tol_s``) are scored, each matched one-to-one
    to that bout's contacts (:func:`match`).

    Returns
    -------
    pairs, n_scored, in_gap, timing
        The matches as (index into ``det_s``, row position in ``tr["ic"]``); the number of
        detections scored; and :func:`classify_misses`' two counts summed over the bouts.
    """
    bout_of = tr["ic"].walking_bout.to_numpy()
    pairs: list[tuple[int, int]] = []
    n_scored = in_gap = timing = 0
    for _, b in tr["bouts"].iterrows():
        inb = np.flatnonzero((det_s >= b.start_s - tol_s) & (det_s <= b.end_s + tol_s))
        rows = np.flatnonzero(bout_of == b.walking_bout)
        ref = tr["ic"].iloc[rows]
        bout_pairs = match(det_s[inb], ref.time_s.to_numpy(), tol_s)
        gap, late = classify_misses(det_s[inb], ref, bout_pairs)
        pairs += [(int(inb[i]), int(rows[j])) for i, j in bout_pairs]
        n_scored += len(inb)
        in_gap += gap
        timing += late
    return pairs, n_scored, in_gap, timing


def product_result(trial: Path, settings: PipelineSettings | None = None, *,
                   acc_only: bool = False) -> AnalysisResult:
    """What ``stridecue import`` + ``stridecue analyse`` give for one trial.

    The trial's ``imu.csv`` is imported into a session (m/s^2, rad/s; the athlete's height and
    sensor height given as ``--height-m`` / ``--sensor-height-m`` would give them) and the
    session analysed by :func:`stridecue.analysis.analyse_session`, the CLI's analysis. With
    ``acc_only`` the imported file holds only ``time_s`` and the accelerometer columns (a
    sensor without gyroscope).
    """
    meta = json.loads((trial / "meta.json").read_text())
    athlete = {"height_m": meta["height_m"], "sensor_height_m": meta["sensor_height_m"]}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        csv = trial / "imu.csv"
        if acc_only:
            csv = Path(tmp) / "imu_acc.csv"
            pd.read_csv(trial / "imu.csv")[["time_s", "acc_x", "acc_y", "acc_z"]].to_csv(
                csv, index=False)
        session = import_csv_session({SACRUM: csv}, Path(tmp) / "session",
                                     units=ImportUnits(), athlete=athlete)
        return analyse_session(session, settings=settings, on_warning=lambda message: None)


def evaluate_product(tr: dict, result: AnalysisResult) -> dict:
    """Score the events and strides of the product path against the reference.

    Initial contacts as in :func:`evaluate_trial`; cadence per reference bout: the mean
    ``cadence_spm`` of the reported strides that lie in the bout (+-100 ms); stride length: each
    reference stride whose two contacts are the start and end of a reported stride (+-100 ms).
    Also the reported walking bouts against the reference bouts (seconds of overlap).
    """
    ev = result.events[result.events[EVENT] == INITIAL_CONTACT]
    det_s = ev[TIME_S].to_numpy(float)
    res = {"name": tr["name"], "n_ref": len(tr["ic"])}
    for tol in TOLS_S:
        pairs, n_det, in_gap, timing = match_in_bouts(det_s, tr, tol)
        res[f"tp_{tol}"], res[f"ndet_{tol}"] = len(pairs), n_det
        if tol == 0.1:
            ref_s, ref_side = tr["ic"].time_s.to_numpy(), tr["ic"].side.to_numpy()
            det_side = ev[SIDE].to_numpy()
            res["abs_err_s"] = np.abs([det_s[i] - ref_s[j] for i, j in pairs])
            res["side_ok"] = np.array([det_side[i] == ref_side[j] for i, j in pairs], bool)
            res["miss_timing"], res["fp_in_gap"] = timing, in_gap
    st = result.strides
    walk = st[st["activity"] == WALKING]
    cad = []
    for _, b in tr["bouts"].iterrows():
        inb = (walk[STRIDE_START_S] >= b.start_s - 0.1) & (walk[STRIDE_END_S] <= b.end_s + 0.1)
        value = walk.loc[inb, CADENCE_SPM].mean() if inb.any() else np.nan
        cad.append(value - b.avg_cadence_spm)
    res["cadence_err_spm"] = np.array(cad)
    pairs = []
    for _, s in tr["strides"].iterrows():
        hit = walk[(np.abs(walk[STRIDE_START_S] - s.start_s) <= 0.1)
                   & (np.abs(walk[STRIDE_END_S] - s.end_s) <= 0.1)]
        if len(hit):
            pairs.append((s.stride_length_m, float(hit[STRIDE_LENGTH_M].iloc[0])))
    res["stride_m"] = np.array(pairs, dtype=float).reshape(-1, 2)
    res["n_ref_strides"] = len(tr["strides"])
    # contact time: the reported stride that starts at the reference stride's contact
    ref_st = tr["strides"][np.isfinite(tr["strides"].stance_time_s)]
    pairs = []
    for _, s in ref_st.iterrows():
        hit = walk[np.abs(walk[STRIDE_START_S] - s.start_s) <= 0.1]
        if len(hit) and np.isfinite(hit[CONTACT_TIME_S].iloc[0]):
            pairs.append((s.stance_time_s, float(hit[CONTACT_TIME_S].iloc[0])))
    res["contact_s"] = np.array(pairs, dtype=float).reshape(-1, 2)
    res["n_ref_stance"] = len(ref_st)
    # toe-off events: each reference final contact (stride start + stance) against the
    # reported toe-offs of the same foot, one to one within +-TO_TOL_S
    tos = result.events[result.events[EVENT] == TOE_OFF]
    errs = []
    for foot in ("left", "right"):
        ref_fc = (ref_st.start_s + ref_st.stance_time_s)[ref_st.side == foot].to_numpy(float)
        det = tos.loc[tos[SIDE] == foot, TIME_S].to_numpy(float)
        errs += [det[i] - ref_fc[j] for i, j in match(det, ref_fc, TO_TOL_S)]
    res["to_err_s"] = np.array(errs, float)
    inside = np.zeros(len(det_s), bool)
    for _, b in tr["bouts"].iterrows():
        inside |= (det_s >= b.start_s - 0.1) & (det_s <= b.end_s + 0.1)
    res["outside"] = int((~inside).sum())
    bouts = result.bouts[result.bouts["activity"] == WALKING]
    ref_s = sum(b.end_s - b.start_s for b in tr["bouts"].itertuples())
    ours_s = float((bouts["end_s"] - bouts["start_s"]).sum())
    overlap = sum(max(0.0, min(b.end_s, o.end_s) - max(b.start_s, o.start_s))
                  for b in tr["bouts"].itertuples() for o in bouts.itertuples())
    res["bout_s"] = (ref_s, ours_s, overlap)
    return res


def loo_model_mae(results: dict, cols: tuple[int, ...], per_height: bool) -> str:
    """MAE (cm) on the straight strides of a least-squares model fitted on the other trials.

    ``cols`` index the stride rows of :func:`evaluate_trial` (8 = a constant); with
    ``per_height`` the target is stride length / height and the prediction is scaled back.
    """
    def design(st: np.ndarray) -> np.ndarray:
        full = np.c_[st, np.ones(len(st))]
        return full[:, list(cols)]

    errs = []
    for name, r in results.items():
        if "Test5" not in name:
            continue
        train = np.vstack([o["strides"] for n, o in results.items() if n != name])
        train = train[np.isfinite(train).all(axis=1)]
        y = train[:, 0] / (train[:, 7] if per_height else 1.0)
        coef, *_ = np.linalg.lstsq(design(train), y, rcond=None)
        test = r["strides"]
        pred = design(test) @ coef * (test[:, 7] if per_height else 1.0)
        errs.append(np.abs(pred - test[:, 0]))
    e = np.concatenate(errs)
    return f"{100 * np.nanmean(e):.1f}"


def contact_time_lines(res: dict[str, dict]) -> list[str]:
    """Toe-off and contact time as the product reports them, against the reference."""
    def cell(e: np.ndarray, n_ref: int) -> str:
        return (f"{1000 * np.mean(np.abs(e)):.0f} ({1000 * np.mean(e):+.0f}) [{len(e)}/{n_ref}]"
                if len(e) else f"- [0/{n_ref}]")

    def contact_err(rs: list[dict]) -> np.ndarray:
        return np.concatenate([r["contact_s"][:, 1] - r["contact_s"][:, 0] for r in rs])

    lines = ["", "Toe-off and contact time (stance) of walking strides: the reported stride "
             "that starts within 100 ms of a reference stride's contact, its `contact_time_s` "
             "against the reference's stance time; the reported toe-off events against the "
             "reference's final contacts (stride start + stance time) of the same foot, one to "
             f"one within +-{1000 * TO_TOL_S:.0f} ms. Mean absolute error (mean signed error) "
             "ms [scored / reference strides with a stance time]:", "",
             "| trial | contact time | toe-off timing |", "|---|---|---|"]
    for name, r in res.items():
        lines.append(f"| {name} | {cell(contact_err([r]), r['n_ref_stance'])} | "
                     f"{cell(r['to_err_s'], r['n_ref_stance'])} |")
    for label, key in (("straight", "Test5"), ("daily living", "Test11")):
        rs = [r for n, r in res.items() if key in n]
        n_ref = sum(r["n_ref_stance"] for r in rs)
        lines.append(f"| **{label}** | {cell(contact_err(rs), n_ref)} | "
                     f"{cell(np.concatenate([r['to_err_s'] for r in rs]), n_ref)} |")
    return lines


def acc_only_lines(trials: list[dict], full: dict[str, dict], f1, mae_cm) -> list[str]:
    """The product path on the accelerometer columns only, beside the full sensor."""
    res = {t["name"]: evaluate_product(t, product_result(DATA / t["name"], acc_only=True))
           for t in trials}
    lines = ["", "Accelerometer only (the same files imported without their gyroscope columns, "
             "as from a sensor without one): contacts and walking bouts come from the "
             "accelerometer alone in both cases, so what changes is the side (the medio-lateral "
             "acceleration after the contact alone, without the yaw rate's vote) and whatever "
             "depends on it (strides need a side).", "",
             "| trial | F1 @100 ms | timing MAE ms | side correct (full sensor) | cadence MAE "
             "per reference bout spm | stride length MAE cm (strides scored) |",
             "|---|---|---|---|---|---|"]
    for name, r in res.items():
        m, n_ok, _ = mae_cm([r])
        lines.append(
            f"| {name} | {f1([r], 0.1):.3f} | {1000 * r['abs_err_s'].mean():.0f} | "
            f"{r['side_ok'].mean():.2f} ({full[name]['side_ok'].mean():.2f}) | "
            f"{np.nanmean(np.abs(r['cadence_err_spm'])):.1f} | {m:.1f} ({n_ok}) |")
    ok = np.concatenate([r["side_ok"] for r in res.values()])
    ok_full = np.concatenate([r["side_ok"] for r in full.values()])
    lines += ["", f"Side correct over all matched contacts: accelerometer only {ok.mean():.2f} "
              f"({ok.sum()} of {len(ok)}), full sensor {ok_full.mean():.2f} ({ok_full.sum()} "
              f"of {len(ok_full)})."]
    return lines


def _opposite_toe_offs(a_v: np.ndarray, ic_idx: np.ndarray, fs: float, rule: str,
                       lowpass_hz: float = 2.0) -> np.ndarray:
    """Toe-off of the other foot after each contact by one rule (sample index, -1 if none).

    ``zero``: the shipped rule, the low-passed vertical acceleration falls back through zero
    after its step peak (before the next contact); ``minimum``: the rule before, its minimum
    within 300 ms after the step peak; ``mccamley``: McCamley et al. 2012, the maximum of the
    Gaussian-derivative CWT (gaus1, scale 16 at 100 Hz, so sigma 16 / sqrt(2) samples = 0.113 s)
    of the CWT that marks the contacts, between the contact and the next one.
    """
    n = len(a_v)
    out = np.full(len(ic_idx), -1, int)
    if rule == "mccamley":
        sigma = 0.113 * fs
        v = np.cumsum(a_v - np.mean(a_v)) / fs
        v = v - np.polyval(np.polyfit(np.arange(n), v, 1), np.arange(n))
        ic_sig = gaussian_filter1d(-v, sigma, order=1)
        sig = gaussian_filter1d(ic_sig, sigma, order=1)
    else:
        sig = ew._lowpass(a_v, lowpass_hz, fs)
    for k, i in enumerate(ic_idx):
        nxt = ic_idx[k + 1] if k + 1 < len(ic_idx) else n
        if rule == "mccamley":
            hi = min(n, i + int(0.4 * fs), nxt)
            if hi > i + 1:
                out[k] = i + int(np.argmax(sig[i:hi]))
            continue
        p = i + int(np.argmax(sig[i : min(n, i + int(0.3 * fs) + 1)]))  # the step peak
        if rule == "minimum":
            hi = min(n, p + int(0.3 * fs) + 1)
            out[k] = p + int(np.argmin(sig[p:hi])) if hi > p + 1 else -1
            continue
        out[k] = ew.first_fall_through_zero(sig, p, min(n, p + int(0.5 * fs) + 1, nxt))
    return out


def stance_errors(tr: dict, ev: WalkingEvents, opposite_to: np.ndarray) -> np.ndarray:
    """Stance time (ours - reference, s) where both contacts of the stance were detected.

    A reference stride is scored when its first contact and the reference's next contact (the
    other foot's) are matched by consecutive detected contacts (+-100 ms): then the only
    difference between the two stance times is the toe-off rule and the first contact's timing.
    """
    fs = ev.sampling_rate_hz
    own = walking_toe_offs(WalkingEvents(ev.ic_idx, ev.side, opposite_to, fs))
    det_s = tr["time"][0] + ev.ic_idx / fs
    ref_ic = np.sort(tr["ic"].time_s.to_numpy(float))
    errs = []
    for _, s in tr["strides"].iterrows():
        if not np.isfinite(s.stance_time_s):
            continue
        k = int(np.argmin(np.abs(det_s - s.start_s))) if len(det_s) else -1
        nxt = ref_ic[ref_ic > s.start_s + 0.05]
        if (k < 0 or k + 1 >= len(det_s) or abs(det_s[k] - s.start_s) > 0.1 or not len(nxt)
                or nxt[0] >= s.end_s - 0.05 or abs(det_s[k + 1] - nxt[0]) > 0.1
                or not np.isfinite(own[k])):
            continue
        errs.append((own[k] - ev.ic_idx[k]) / fs - s.stance_time_s)
    return np.asarray(errs, float)


def toe_off_study_lines(trials: list[dict]) -> list[str]:
    """Toe-off rules on whole recordings, scored on the stance time of the reference strides."""
    rules = [("**shipped: the 2 Hz step signal falls back through zero after the step peak**",
              "zero", 2.0),
             ("the rule before: minimum of the 2 Hz step signal within 300 ms after the peak",
              "minimum", 2.0),
             ("McCamley et al. 2012 (CWT, published scale; anchor)", "mccamley", 0.0)]
    rules += [(f"the shipped rule at {hz:g} Hz (sensitivity)", "zero", hz) for hz in (1.5, 3, 4)]
    lines = ["", "### Toe-off rules on whole recordings (study)", ""]
    lines.append(
        "The detector's contacts over each whole recording, and for each rule the toe-off of the "
        "other foot after each contact; a foot's stance time is its contact to its toe-off after "
        "the next contact (`walking_toe_offs`). Scored on the reference strides whose contact "
        "and the next contact (the other foot's) were both detected (+-100 ms), against the "
        "reference's stance time: mean absolute error (mean signed error), ms."
    )
    lines.append("")
    names = [t["name"] for t in trials]
    lines.append("| rule | " + " | ".join(names) + " | straight | daily living | all |")
    lines.append("|---|" + "---|" * (len(names) + 3))
    for label, rule, hz in rules:
        per = {}
        for tr in trials:
            fs = float(tr["meta"]["sampling_rate_hz"])
            ev = detections(tr)
            a_v, _ = vertical_acceleration(tr["acc"], sampling_rate_hz=fs)
            to = _opposite_toe_offs(a_v, ev.ic_idx, fs, rule, hz)
            per[tr["name"]] = stance_errors(tr, ev, to)

        def cell(e: np.ndarray) -> str:
            return (f"{1000 * np.mean(np.abs(e)):.0f} ({1000 * np.mean(e):+.0f}; n={len(e)})"
                    if len(e) else "-")

        groups = [np.concatenate([per[n] for n in names if key in n])
                  for key in ("Test5", "Test11")]
        lines.append(f"| {label} | " + " | ".join(cell(per[n]) for n in names) + " | "
                     + " | ".join(cell(g) for g in groups)
                     + f" | {cell(np.concatenate(list(per.values())))} |")
    lines.append("")
    lines.append(
        "Why the shipped rule: after a contact the pelvis is caught by both legs and its vertical "
        "acceleration peaks; when the trailing foot leaves, the body vaults over the single "
        "stance leg and the vertical acceleration falls back below 1 g. The crossing uses the "
        "detector's own 2 Hz step signal, so it adds no parameter; the table shows the rule at "
        "other cut-offs only to say how much the choice matters (1.5-2 Hz give about the same "
        "on these data, 3-4 Hz end the double support earlier). The rule before (the minimum) "
        "was 0.14 s late on the straight walks. McCamley's published CWT rule is as good on "
        "the straight walks and worse in daily living, where it ends the double support early. "
        "Published anchors: McCamley et al. 2012 report final-contact errors of "
        "0.03 +- 0.03 s on young healthy adults (a different reference and protocol)."
    )
    return lines


def product_section(trials: list[dict]) -> list[str]:
    """The headline: what ``stridecue import`` + ``stridecue analyse`` deliver, scored."""
    def f1(rs: list[dict], tol: float) -> float:
        tp = sum(r[f"tp_{tol}"] for r in rs)
        return 2 * tp / sum(r[f"ndet_{tol}"] + r["n_ref"] for r in rs)

    def mae_cm(rs: list[dict]) -> tuple[float, int, int]:
        st = np.vstack([r["stride_m"] for r in rs])
        ok = np.isfinite(st).all(axis=1)
        return (100 * float(np.mean(np.abs(st[ok, 1] - st[ok, 0]))), int(ok.sum()),
                sum(r["n_ref_strides"] for r in rs))

    res = {t["name"]: evaluate_product(t, product_result(DATA / t["name"])) for t in trials}
    rs = list(res.values())
    straight = [r for n, r in res.items() if "Test5" in n]
    daily = [r for n, r in res.items() if "Test11" in n]
    lines = ["", "### Product path (headline): `stridecue import` + `stridecue analyse`", ""]
    lines.append(
        "Each trial's `imu.csv` imported into a session with the athlete's height and sensor "
        "height, analysed by the CLI's `analyse_session` (the streaming analysis of "
        "`gait/stream.py`, default settings), and the events and strides it reports scored "
        "against the reference (see `evaluate_product`). Walking is found as the stream does it: "
        "the walking detector over every moving stretch that is not running, run every "
        "`walking_lag_s` (2 s) over the blocks of the period before so that it sees the next "
        "steps, and contacts accepted only where they form a walking rhythm (>= 4 contacts, no "
        "step > 2 s); the blocks those contacts span are the walking bouts. Nothing here is "
        "fitted to these trials: the detector's three numbers are the study's below (the "
        "same setting in each of its leave-one-trial-out folds), the stride-length factor is "
        "Mobilise-D's."
    )
    lines.append("")
    lines.append("| trial | ref ICs | F1 @100 ms | F1 @50 ms | timing MAE ms | cadence error per "
                 "reference bout spm | stride length MAE cm (strides scored / reference) | "
                 "missed ICs / of which a detection 100-250 ms off | unmatched detections / of "
                 "which in a same-foot reference gap | reference walking s | reported walking s "
                 "| overlap s | contacts outside reference bouts | side correct |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in res.items():
        m, n_ok, n_ref = mae_cm([r])
        lines.append(
            f"| {name} | {r['n_ref']} | {f1([r], 0.1):.3f} | {f1([r], 0.05):.3f} | "
            f"{1000 * r['abs_err_s'].mean():.0f} | "
            + ", ".join(f"{v:+.1f}" for v in r["cadence_err_spm"])
            + f" | {m:.1f} ({n_ok}/{n_ref}) | {r['n_ref'] - r['tp_0.1']} / {r['miss_timing']} | "
            f"{r['ndet_0.1'] - r['tp_0.1']} / {r['fp_in_gap']} | "
            f"{r['bout_s'][0]:.1f} | {r['bout_s'][1]:.1f} | "
            f"{r['bout_s'][2]:.1f} | {r['outside']} | {r['side_ok'].mean():.2f} |"
        )
    c_s = np.concatenate([r["cadence_err_spm"] for r in straight])
    c_d = np.concatenate([r["cadence_err_spm"] for r in daily])
    m_s, n_s, nr_s = mae_cm(straight)
    m_d, n_d, nr_d = mae_cm(daily)
    lines.append("")
    lines.append(
        f"**All trials: IC F1 @100 ms {f1(rs, 0.1):.3f}** (@50 ms {f1(rs, 0.05):.3f}; straight "
        f"{f1(straight, 0.1):.3f}, daily living {f1(daily, 0.1):.3f}; target >= 0.90, "
        "open-source lower-back detectors ~0.53). "
        f"**Cadence** MAE per reference bout: straight {np.nanmean(np.abs(c_s)):.1f} spm, daily "
        f"living {np.nanmean(np.abs(c_d)):.1f} spm ({np.isfinite(c_d).sum()} of {len(c_d)} bouts "
        "with strides; target within 2 spm). "
        f"**Stride length** MAE: straight walks {m_s:.1f} cm ({n_s} of {nr_s} reference strides "
        f"reported), daily living {m_d:.1f} cm ({n_d} of {nr_d}); target <= 5 cm straight, "
        "inverted pendulum ~6 cm published."
    )
    tp = sum(r["tp_0.1"] for r in rs)
    unknown = sum(r["fp_in_gap"] for r in rs)
    f1_gap = 2 * tp / sum(r["ndet_0.1"] + r["n_ref"] for r in rs) if not unknown else (
        2 * tp / (sum(r["ndet_0.1"] + r["n_ref"] for r in rs) - unknown))
    lines.append("")
    lines.append(
        "Where we lose: the misses and unmatched detections are in the daily-living trials, most "
        f"in HA_002 (slow shuffling and turns). {unknown} unmatched detections lie between two "
        "reference contacts of the same foot, where the reference skipped the other foot's "
        "contact; counting them as unknown instead of false, all-trial F1 @100 ms would be "
        f"{f1_gap:.3f}. {sum(r['miss_timing'] for r in rs)} of the "
        f"{sum(r['n_ref'] - r['tp_0.1'] for r in rs)} missed contacts have an unmatched "
        "detection 100-250 ms away: found, but timed too far off (turns; see the study below "
        "for the trunk signals tried). Cadence in daily living and stride length are limited as "
        "the study below explains (the reference's own contacts give 7 spm on these bouts; "
        "the straight strides vary by 8.5 cm SD while the sacrum's excursion does not). "
        "Reported walking exceeds the reference's bouts (the contacts outside them form runs of "
        "at least four steps; the reference's bouts follow its own rules for what counts as a "
        f"walking bout); {sum(r['bout_s'][2] for r in rs):.1f} of the "
        f"{sum(r['bout_s'][0] for r in rs):.1f} s of the reference's bouts are reported as "
        "walking."
    )
    lines += contact_time_lines(res)
    lines += acc_only_lines(trials, res, f1, mae_cm)
    # latency against accuracy: the walking look-ahead
    lines += ["", "Walking look-ahead (`walking_lag_s`: a walking contact is decided one to two "
              "lags plus 0.75 s after it) against IC F1 @100 ms over all trials (the shipped "
              "2 s is set from the detector's need, about two slow steps after the contact; not "
              "selected on this table, where it is within a contact or two of 3 and 4 s):", ""]
    lines.append("| walking_lag_s | " + " | ".join(n for n in res) + " | all |")
    lines.append("|---|" + "---|" * (len(res) + 1))
    for lag in LAG_SWEEP_S:
        settings = PipelineSettings(walking_lag_s=lag)
        sweep = [evaluate_product(t, product_result(DATA / t["name"], settings)) for t in trials]
        lines.append(f"| {lag:.1f} | " + " | ".join(f"{f1([r], 0.1):.3f}" for r in sweep)
                     + f" | {f1(sweep, 0.1):.3f} |")
    return lines


def main() -> None:
    """Run the evaluation and write the markdown fragment."""
    trials = [load(p) for p in sorted(DATA.iterdir()) if p.is_dir()]
    scored = [t for t in trials if len(t["ic"])]
    results = {t["name"]: evaluate_trial(t) for t in scored}
    loo = loo_ic(scored)

    def f1(rs: list[dict], tol: float) -> float:
        tp = sum(r[f"tp_{tol}"] for r in rs)
        return 2 * tp / sum(r[f"ndet_{tol}"] + r["n_ref"] for r in rs)

    lines = ["## Walking events, cadence and stride length (lower-back IMU)", ""]
    lines.append(
        "Data: ../shared/data/lowerback-walking, 2 healthy adults, L5 IMU 100 Hz, INDIP reference "
        "(Mobilise-D lab example, CC-BY-4.0; Mico-Amigo et al. 2023, Kirk et al. 2024). "
        "Produced by `bench/bench_walking.py`; scoring is described in its docstring. "
        "All parameters are fixed for every trial (no per-trial tuning). Four trials are scored "
        "(127 reference ICs, 2 people): every figure here is indicative."
    )
    lines += product_section(scored)
    lines += ["", "### The detector on whole recordings (study; not what the product runs)", ""]
    lines.append(
        f"**Headline, leave-one-trial-out: F1 @100 ms {loo['loo_f1']:.3f}** (straight "
        f"{loo['straight_loo']:.3f}, daily living {loo['daily_loo']:.3f}; @50 ms "
        f"{loo['loo_f1_50']:.3f}): the three detector numbers (step low-pass, slope low-pass, "
        "prominence) selected from a 36-setting grid on three trials by the mean of F1 @100 ms "
        "and @50 ms, scored on the fourth. Held-out F1 @100 ms per trial: "
        + ", ".join(f"{n} {v:.3f} (picked {loo['picks'][n]})" for n, v in loo["held"].items())
        + f". Shipped setting {loo['shipped']} (the selection on all four trials, "
        f"{loo['in_sample_best']}): in-sample F1 {loo['shipped_f1']:.3f}, detailed below."
    )
    lines.append("")
    lines.append("| trial | ref ICs | F1 @100 ms | F1 @50 ms | timing MAE ms | side correct | "
                 "unmatched detections | of which in a same-foot reference gap |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n_ref']} | {f1([r], 0.1):.3f} | {f1([r], 0.05):.3f} | "
            f"{1000 * r['abs_err_s'].mean():.0f} | {r['side_ok'].mean():.2f} | "
            f"{r['unmatched']} | {r['in_ref_gap']} |"
        )
    rs = list(results.values())
    all_err = np.concatenate([r["abs_err_s"] for r in rs])
    all_side = np.concatenate([r["side_ok"] for r in rs])
    lines.append(
        f"| **all (in-sample)** | {sum(r['n_ref'] for r in rs)} | **{f1(rs, 0.1):.3f}** | "
        f"**{f1(rs, 0.05):.3f}** | {1000 * all_err.mean():.0f} | {all_side.mean():.2f} | "
        f"{sum(r['unmatched'] for r in rs)} | {sum(r['in_ref_gap'] for r in rs)} |"
    )
    straight = [r for n, r in results.items() if "Test5" in n]
    daily = [r for n, r in results.items() if "Test11" in n]
    lines.append("")
    lines.append(
        f"In-sample: straight walks F1 @100 ms {f1(straight, 0.1):.3f}, @50 ms "
        f"{f1(straight, 0.05):.3f}; daily living F1 @100 ms {f1(daily, 0.1):.3f}, @50 ms "
        f"{f1(daily, 0.05):.3f}. Anchors (published/open lower-back detectors on this kind of "
        "data): F1 ~0.77 @200 ms, ~0.53 @100 ms, < 0.35 @50 ms. Target: >= 0.90 @100 ms: met on "
        "the straight walks and on HA_001's daily living, not on HA_002's daily living. There "
        "the reference itself lists consecutive contacts of the same foot (the INDIP missed the "
        "other foot's contact in slow shuffling and turning), and the last column counts our "
        "unmatched detections that fall inside such gaps, where a contact of the other foot "
        "must have happened: they are scored as false positives but are probably real steps. "
        "The remaining misses in HA_002 are turns (pelvis yaw rate up to 2 rad/s) and very slow "
        "steps where the vertical acceleration shows no clear loading peak and our contact is "
        "100-250 ms away from the reference one; no other trunk signal we tried (slopes of the "
        "vertical, antero-posterior or medio-lateral acceleration at other cut-offs, pitch and "
        "roll rates) clearly times the reference contacts better in turns (the best, the "
        "steepest fall of the forward acceleration, gained 3 of 50 turning contacts when picked "
        "after the fact: not adopted)."
    )
    # variants: completion off, the pipeline's activity bouts
    variants = {
        "shipped (step-rhythm completion, whole recording)": results,
        "without the step-rhythm completion": {
            t["name"]: evaluate_trial(t, "no_completion") for t in scored},
        "inside `classify_activity` walking bouts only (the pipeline before)": {
            t["name"]: evaluate_trial(t, "activity_bouts") for t in scored},
    }
    lines += ["", "### What the completion and the bouts change (in-sample)", ""]
    lines.append("| detections | F1 @100 ms | F1 @50 ms | F1 @100 ms counting detections in "
                 "same-foot reference gaps as unknown | cadence MAE straight spm | cadence MAE "
                 "daily living spm | same, step-time estimator | daily-living bouts with "
                 "cadence | HA_002 shuffling bout (17-35 s) cadence error spm |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for label, res in variants.items():
        rs = list(res.values())
        tp = sum(r["tp_0.1"] for r in rs)
        gap_f1 = 2 * tp / sum(r["ndet_0.1"] - r["in_ref_gap"] + r["n_ref"] for r in rs)
        c_s = np.concatenate([r["cadence_err_spm"] for n, r in res.items() if "Test5" in n])
        c_d = np.concatenate([r["cadence_err_spm"] for n, r in res.items() if "Test11" in n])
        c_ds = np.concatenate(
            [r["cadence_steps_err_spm"] for n, r in res.items() if "Test11" in n])
        shuffle = res["HA_002_Test11_Trial1"]
        lines.append(
            f"| {label} | {f1(rs, 0.1):.3f} | {f1(rs, 0.05):.3f} | {gap_f1:.3f} | "
            f"{np.nanmean(np.abs(c_s)):.1f} | {np.nanmean(np.abs(c_d)):.1f} | "
            f"{np.nanmean(np.abs(c_ds)):.1f} | {np.isfinite(c_d).sum()} of {len(c_d)} | "
            f"{shuffle['cadence_err_spm'][1]:+.1f} (step-time estimator "
            f"{shuffle['cadence_steps_err_spm'][1]:+.1f}) |"
        )
    lines.append("")
    lines.append(
        "The step-rhythm completion adds contacts where the rhythm says a step was missed "
        "(turns, first and last steps, shuffling). Scored against this reference it is about "
        "neutral on F1, because most of the contacts it adds in HA_002 fall where the "
        "reference itself skipped a contact (between two reference contacts of the same foot); "
        "it is kept because it lowers the daily-living cadence error as the pipeline reports "
        "it, most in the slow shuffling bout (last column), where a missed step removes or "
        "distorts whole strides. "
        "The last row is what `stridecue analyse` delivered before walking was found by its "
        "rhythm: the window-based activity classifier labels slow, shuffling and turning "
        "walking as still (HA_002's 17-35 s bout entirely), so those contacts were never "
        "looked for. The stream now runs the walking detector over every moving stretch that "
        "is not running and keeps the contacts that form a walking rhythm (the rule of "
        "`walking_bouts_from_steps`); the product-path table above is the result."
    )
    lines += toe_off_study_lines(scored)
    # cadence
    cs = np.concatenate([r["cadence_err_spm"] for r in straight])
    cd = np.concatenate([r["cadence_err_spm"] for r in daily])
    css = np.concatenate([r["cadence_steps_err_spm"] for r in straight])
    cds = np.concatenate([r["cadence_steps_err_spm"] for r in daily])
    cf = np.concatenate([r["cadence_ref_ic_err_spm"] for r in daily])
    cfs = np.concatenate([r["cadence_ref_ic_steps_err_spm"] for r in daily])
    lines += ["", "### Cadence (per reference bout)", ""]
    lines.append(
        "As the pipeline reports it: the mean over the bout's strides (from `build_strides`, "
        "which drops strides with two contacts of one foot in a row or an irregular step) of "
        "120 / stride time, the same definition as the reference's bout cadence. "
        f"Straight walks: MAE {np.nanmean(np.abs(cs)):.1f} spm ({len(cs)} bouts); daily living: "
        f"MAE {np.nanmean(np.abs(cd)):.1f} spm ({len(cd)} bouts), worst "
        f"{np.nanmax(np.abs(cd)):.1f} spm. The step-time estimator `walking_cadence_spm` "
        f"(pauses and Hampel outliers removed): straight {np.nanmean(np.abs(css)):.1f}, daily "
        f"living {np.nanmean(np.abs(cds)):.1f} spm. The reference's own contacts through the "
        f"same two estimators are {np.nanmean(np.abs(cf)):.1f} and {np.nanmean(np.abs(cfs)):.1f} "
        "spm off the reference bout cadence in daily living: its contact lists have gaps and "
        "its bout cadence averages only the strides it accepted, so per-bout daily-living "
        "cadence within 2 spm is out of reach of any estimator on contacts scored against "
        "these bouts. Per-bout daily-living errors: "
        + ", ".join(f"{v:+.1f}" for v in cd)
        + " spm. Anchors: ~3 spm straight, ~6 spm overall. Target within 2 spm: met straight, "
        "not in daily living."
    )
    # stride length
    lines += ["", "### Stride length", ""]
    lines.append(
        "| trials | strides | baseline Zijlstra & Hof K=1.25 MAE cm | **ours: Mobilise-D "
        "excursion, published K=4.739/4** MAE cm | per-step excursion, same K, MAE cm | ours "
        "with one K fitted leave-one-trial-out MAE cm | ours calibrated on another trial of the "
        "person MAE cm |"
    )
    lines.append("|---|---|---|---|---|---|---|")

    def mae(a: np.ndarray, b: np.ndarray) -> float:
        ok = np.isfinite(a) & np.isfinite(b)
        return 100 * float(np.mean(np.abs(a[ok] - b[ok])))

    def scale_from(name: str) -> float:
        st = results[name]["strides"]
        ok = np.isfinite(st[:, 1])
        return fit_stride_length_scale(st[ok, 1], float(st[ok, 0].sum()))

    def loo_k(name: str) -> float:
        st = np.vstack([r["strides"] for n, r in results.items() if n != name])
        ok = np.isfinite(st[:, 4])
        return float(np.median(st[ok, 0] / st[ok, 4]))

    calib_pairs = {
        "HA_001_Test5_Trial1": "HA_001_Test5_Trial2",
        "HA_001_Test5_Trial2": "HA_001_Test5_Trial1",
        "HA_001_Test11_Trial1": "HA_001_Test5_Trial1",
    }
    for label, names in (
        ("straight (HA_001 Test5 x2)", [n for n in results if "Test5" in n]),
        ("daily living HA_001 Test11", ["HA_001_Test11_Trial1"]),
        ("daily living HA_002 Test11", ["HA_002_Test11_Trial1"]),
    ):
        cols: list[list[np.ndarray]] = [[] for _ in range(6)]
        for n in names:
            st = results[n]["strides"]
            k = scale_from(calib_pairs[n]) if n in calib_pairs else np.nan
            for c, v in zip(cols, (st[:, 0], st[:, 2], st[:, 1], st[:, 3],
                                   st[:, 4] * loo_k(n), st[:, 1] * k), strict=True):
                c.append(v)
        ref, bas, our, per, loo_v, cal = (np.concatenate(c) for c in cols)
        cal_txt = f"{mae(cal, ref):.1f}" if np.isfinite(cal).any() else "n/a"
        lines.append(
            f"| {label} | {len(ref)} | {mae(bas, ref):.1f} | **{mae(our, ref):.1f}** | "
            f"{mae(per, ref):.1f} | {mae(loo_v, ref):.1f} | {cal_txt} |"
        )
    st = np.vstack([r["strides"] for n, r in results.items() if "Test5" in n])
    walk_mean = np.concatenate([
        np.full(len(r["strides"]), r["strides"][:, 0].mean())
        for n, r in results.items() if "Test5" in n])
    corr = float(np.corrcoef(st[:, 0], st[:, 1])[0, 1])
    lines.append("")
    lines.append(
        "Why 5 cm per stride is out of reach of trunk-excursion models on these straight walks: "
        "the reference stride lengths vary from stride to stride (SD "
        f"{100 * st[:, 0].std():.1f} cm; the walks accelerate and stop within 7 strides) while "
        "the sacrum's vertical excursion hardly changes; the correlation between our stride "
        f"lengths and the reference's over the straight strides is {corr:+.2f}. "
        "Even the exact mean stride length of each walk, given to every stride, is "
        f"{100 * np.mean(np.abs(st[:, 0] - walk_mean)):.1f} cm MAE. Our mean error over the "
        f"straight strides is {100 * np.mean(st[:, 1] - st[:, 0]):+.1f} cm (no bias to remove). "
        "Other models, each fitted leave-one-trial-out on the strides of the other three "
        "trials and scored on the straight strides (not shipped): "
        + ", ".join(f"{name} {loo_model_mae(results, cols, norm)}" for name, cols, norm in (
            ("Weinberg (K x vertical-acceleration range^0.25)", (5,), False),
            ("stride length / height = a + b x stride frequency", (8, 6), True),
            ("stride length = a x pendulum length (K=1) + b", (4, 8), False),
        ))
        + " cm MAE: all worse than the published K, because the fits are dominated by the "
        "daily-living strides (turns, stepping on the spot)."
    )
    lines.append("")
    lines.append(
        "The shipped model fits nothing on these data: it is the Mobilise-D inverted-pendulum "
        "variant with the factor Mobilise-D fitted on other people. Fitting one K here, "
        "leave-one-trial-out, is worse on the straight walks, because the daily-living strides "
        "want K near 1.0 and the straight ones near 1.16; the two straight walks of the same "
        "person already differ by 12 % in that ratio, which alone is ~7 cm of stride length, so "
        "per-person calibration on one trial does not help either. Calibration: HA_001 Test5 "
        "Trial1 <-> Trial2, HA_001 Test11 on Test5 Trial1; HA_002 has no referenced straight "
        "walk. Anchors: ~6 cm (5 %) straight with the inverted pendulum, 14-16 cm in daily-living "
        "bouts. Target: <= 5 cm straight: not met. Only 12 straight strides of one person are "
        "scored: read these figures as indicative."
    )
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
