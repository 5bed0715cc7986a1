"""Walking on a held-out person (MS_001) and open-source detectors scored the same way.

Data: the Mobilise-D lab example that the ``mobgap`` package's source distribution carries
(CC-BY-4.0; Mico-Amigo et al. 2023, Kirk et al. 2024), exported by
``bench/external/export_mobgap_lab.py`` (``bash bench/external/setup.sh`` builds it into
``bench/external/data``; the trials that are also in ``../shared/data/lowerback-walking`` come
out byte for byte the same). MS_001, a person with multiple sclerosis, is not in ``../shared``:
nothing in the project was chosen while looking at it, so it is a held-out test of the walking
analysis.

1. **Held-out product path**: each MS_001 trial through ``stridecue import`` + ``stridecue
   analyse`` exactly as ``bench/bench_walking.py`` does it for the shared trials
   (:func:`bench_walking.product_result`, scored by :func:`bench_walking.evaluate_product`).
2. **Anchors**: mobgap's three open-source lower-back initial-contact detectors
   (``IcdShinImproved``, ``IcdIonescu``, ``IcdHKLeeImproved``; default settings), run by the
   exporter on every *reference* walking bout, as the Mobilise-D pipeline applies them after its
   own bout detection, scored with the same one-to-one matching inside the reference bouts as
   ours. They are handed the reference bouts; ours finds its own walking in the whole recording.

Run: ``.venv/bin/python bench/bench_walking_heldout.py`` -> ``bench/results/walking_heldout.md``
(without the exported data it says how to build it and leaves the results file as it is).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_walking as bw  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("STRIDECUE_HELDOUT_WALKING",
                           HERE / "external" / "data" / "lowerback-walking"))
OUT = HERE / "results" / "walking_heldout.md"
ANCHORS = ("IcdShinImproved", "IcdIonescu", "IcdHKLeeImproved")
ANCHOR_TOLS_S = (0.05, 0.1, 0.2)
NEAREST_S = 0.25


def f1(counts: list[tuple[int, int, int]]) -> float:
    """F1 from (true positives, detections scored, reference contacts) summed over trials."""
    tp, nd, nr = (sum(c[i] for c in counts) for i in range(3))
    return 2 * tp / (nd + nr) if nd + nr else float("nan")


def counts(det_s: np.ndarray, tr: dict, tol_s: float) -> tuple[int, int, int]:
    pairs, n_det, _, _ = bw.match_in_bouts(np.sort(det_s), tr, tol_s)
    return len(pairs), n_det, len(tr["ic"])


def signed_errors_by_side(det_s: np.ndarray, tr: dict) -> dict[str, np.ndarray]:
    """Nearest detection minus reference IC time (s), per reference foot, where one lies within
    ``NEAREST_S`` (not one-to-one: it shows how far off the contacts outside +-100 ms are)."""
    ref = tr["ic"]
    out = {}
    for side in ("left", "right"):
        r = ref.time_s[ref.side == side].to_numpy(float)
        if not len(det_s):
            out[side] = np.zeros(0)
            continue
        k = np.abs(det_s[None, :] - r[:, None]).argmin(axis=1)
        e = det_s[k] - r
        out[side] = e[np.abs(e) <= NEAREST_S]
    return out


def main() -> None:
    if not (DATA.is_dir() and (DATA / "icd_anchor.json").is_file()):
        print(f"held-out walking data not found at {DATA}: build it with "
              "`bash bench/external/setup.sh` (needs the package registry); results unchanged")
        return
    t0 = time.perf_counter()
    warnings.simplefilter("ignore")
    anchors = json.loads((DATA / "icd_anchor.json").read_text())
    loaded = [bw.load(p) for p in sorted(DATA.iterdir()) if p.is_dir()]
    trials = {tr["name"]: tr for tr in loaded if len(tr["ic"])}  # HA_002's straight walks: none
    held_out = [n for n in trials if not (bw.DATA / n).is_dir()]
    ours = {n: bw.product_result(DATA / n) for n in trials}
    results = {n: bw.evaluate_product(trials[n], ours[n]) for n in trials}
    lines = [
        "## Walking on a held-out person (MS_001) and open-source detectors on the same data",
        "",
        "Data: the Mobilise-D lab example carried by the `mobgap` 1.2.0 source distribution "
        "(CC-BY-4.0; Mico-Amigo et al. 2023, Kirk et al. 2024), exported by "
        "`bench/external/export_mobgap_lab.py` (built by `bash bench/external/setup.sh`; the "
        "HA trials come out byte for byte as in `../shared`). MS_001 (a person with multiple "
        "sclerosis, 3 trials, 109 reference contacts) is not in `../shared`: no setting of the "
        "project was chosen while looking at it. Produced by `bench/bench_walking_heldout.py`.",
        "",
        "### Held-out: MS_001 through `stridecue import` + `stridecue analyse`",
        "",
        "Scored exactly as the product-path table of the walking benchmark (`evaluate_product`).",
        "",
        "| trial | ref ICs | F1 @100 ms | F1 @50 ms | timing MAE ms | nearest detection's "
        "median signed error, left / right foot ms (n within 250 ms) | cadence error per "
        "reference bout spm | stride length MAE cm (scored / reference) | contact time MAE ms "
        "(n) | side correct |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in held_out:
        r = results[n]
        st = r["stride_m"]
        ok = np.isfinite(st).all(axis=1)
        ct = r["contact_s"]
        det = ours[n].events
        det_s = det.loc[det["event"] == "initial_contact", "time_s"].to_numpy(float)
        by_side = signed_errors_by_side(det_s, trials[n])
        lines.append(
            f"| {n} | {r['n_ref']} | {2 * r['tp_0.1'] / (r['ndet_0.1'] + r['n_ref']):.3f} | "
            f"{2 * r['tp_0.05'] / (r['ndet_0.05'] + r['n_ref']):.3f} | "
            f"{1000 * r['abs_err_s'].mean():.0f} | "
            + " / ".join(f"{1000 * np.median(e):+.0f} ({len(e)})" for e in by_side.values())
            + " | " + ", ".join(f"{v:+.1f}" for v in r["cadence_err_spm"])
            + f" | {100 * np.mean(np.abs(st[ok, 1] - st[ok, 0])):.1f} ({ok.sum()}/"
            f"{r['n_ref_strides']}) | {1000 * np.mean(np.abs(ct[:, 1] - ct[:, 0])):.0f} "
            f"({len(ct)}) | {r['side_ok'].mean():.2f} |"
        )
    ho = [results[n] for n in held_out]

    def pooled_f1(rs: list[dict], tol: float) -> float:
        return f1([(r[f"tp_{tol}"], r[f"ndet_{tol}"], r["n_ref"]) for r in rs])

    straight = [results[n] for n in held_out if "Test5" in n]
    daily = [results[n] for n in held_out if "Test11" in n]
    cad_s = np.concatenate([r["cadence_err_spm"] for r in straight])
    cad_d = np.concatenate([r["cadence_err_spm"] for r in daily])
    lines += [
        "",
        f"**MS_001: IC F1 @100 ms {pooled_f1(ho, 0.1):.3f}** (@50 ms {pooled_f1(ho, 0.05):.3f}; "
        f"straight {pooled_f1(straight, 0.1):.3f}, daily living {pooled_f1(daily, 0.1):.3f}); "
        f"cadence MAE per reference bout straight {np.nanmean(np.abs(cad_s)):.1f} spm, daily "
        f"living {np.nanmean(np.abs(cad_d)):.1f} spm. The two healthy adults of `../shared` "
        "through the same path: the walking benchmark's product-path table.",
        "",
        "Where we lose: MS_001 walks asymmetrically (on the straight walks the left-to-right step "
        "lasts 0.65-0.9 s, the right-to-left one 0.35-0.45 s). On the straight walks the trunk's "
        "loading peak of the right steps comes before the reference's right contact, so our "
        "right contacts there are early by a median 110-135 ms and most fall outside +-100 ms (the "
        "signed errors above); the left ones are found within about 30 ms. Nothing was changed "
        "for this person: this is how the shipped detector generalises.",
        "",
        "### Open-source detectors on the same trials (anchors)",
        "",
        "F1 of initial contacts inside the reference walking bouts, one-to-one matching at each "
        "tolerance. mobgap's detectors are run on each *reference* bout (they are given where "
        "the walking is); ours is the product path over the whole recording (it finds its own "
        "walking). HA = the two healthy adults of `../shared` (127 contacts), MS = MS_001, held "
        "out (109 contacts).",
        "",
        "| detector | HA @50 ms | HA @100 ms | HA @200 ms | MS @50 ms | MS @100 ms | MS @200 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = {g: [n for n in trials if n.startswith(g)] for g in ("HA", "MS")}
    for algo in ANCHORS:
        cells = [
            f"{f1([counts(np.array(anchors[n][algo]), trials[n], tol) for n in names]):.3f}"
            for names in groups.values() for tol in ANCHOR_TOLS_S
        ]
        lines.append(f"| mobgap `{algo}` | " + " | ".join(cells) + " |")
    cells = []
    for names in groups.values():
        for tol in ANCHOR_TOLS_S:
            c = []
            for n in names:
                ev = ours[n].events
                det_s = ev.loc[ev["event"] == "initial_contact", "time_s"].to_numpy(float)
                c.append(counts(det_s, trials[n], tol))
            cells.append(f"**{f1(c):.3f}**")
    lines.append("| **stridecue** (product path) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Published anchors on comparable data (lower-back detectors, Mobilise-D validation): F1 "
        "about 0.77 at +-200 ms and below 0.35 at +-50 ms.",
        "",
        f"Run time {time.perf_counter() - t0:.0f} s.",
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
