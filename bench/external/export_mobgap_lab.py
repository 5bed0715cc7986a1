"""Export the Mobilise-D lab example data that the mobgap package ships, in our test-data layout.

The ``mobgap`` source distribution (version 1.2.0 on the package registry) carries the
Mobilise-D technical validation study's lab example: 9 trials of 3 people (HA_001, HA_002 and
MS_001, a person with multiple sclerosis), L5 IMU at 100 Hz with the INDIP reference
(CC-BY-4.0; Mico-Amigo et al. 2023, Kirk et al. 2024). ``../shared/data/lowerback-walking``
holds the two healthy adults; MS_001 is not in it, so it can be scored as a held-out person
(``bench/bench_walking_heldout.py``).

This script, run with a Python that has ``mobgap`` installed (``bench/external/setup.sh`` makes
that environment, apart from the project's: mobgap brings numba, scikit-learn, statsmodels and
more that the project does not need):

1. loads every trial through mobgap's own loader (``LabExampleDataset``, INDIP reference at
   walking-bout level) and writes it in the ``lowerback-walking`` layout: ``imu.csv``
   (``time_s``, accelerometer m/s^2, gyroscope rad/s), ``initial_contacts.csv``,
   ``strides.csv``, ``walking_bouts.csv``, ``meta.json``;
2. checks that the trials also in ``../shared/data/lowerback-walking`` come out byte for byte
   the same (so the held-out trials are converted exactly like the shared ones);
3. runs mobgap's three open-source initial-contact detectors (``IcdShinImproved``,
   ``IcdIonescu``, ``IcdHKLeeImproved``, default settings, body frame) on every reference walking
   bout, as the Mobilise-D pipeline applies them, and writes their contacts (s) to
   ``icd_anchor.json``: the anchors the held-out benchmark scores beside ours.

Usage::

    python bench/external/export_mobgap_lab.py --example-data SDIST/example_data --out DIR
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "lowerback-walking"
META_EXTRA = {
    "sensor_site": "lower back (L5), McRoberts MM+",
    "reference": "INDIP multi-sensor reference system",
    "source": "Mobilise-D technical validation study lab example (mobgap example_data)",
    "licence": "CC-BY-4.0 data; cite Mico-Amigo et al. JNER 2023 and Kirk et al. Sci Data 2024",
}


def _dataset(example_data: Path):
    """mobgap's lab example dataset read from an unpacked source distribution's example_data."""
    from mobgap.data import LabExampleDataset, _example_data

    if not (example_data / "data" / "lab").is_dir():
        sys.exit(f"error: {example_data} has no data/lab folder; pass the example_data folder of "
                 "the unpacked mobgap source distribution")
    # mobgap reads its example data from a repository checkout; point it at the sdist's copy
    _example_data.LOCAL_EXAMPLE_PATH = example_data
    _example_data.BRIAN = None
    return LabExampleDataset(reference_system="INDIP", reference_para_level="wb")


def _write_trial(d, out: Path) -> None:
    fs = float(d.sampling_rate_hz)
    imu = d.data_ss
    table = pd.DataFrame({"time_s": np.arange(len(imu)) / fs})
    for axis in "xyz":
        table[f"acc_{axis}"] = imu[f"acc_{axis}"].to_numpy()
    for axis in "xyz":
        table[f"gyr_{axis}"] = np.radians(imu[f"gyr_{axis}"].to_numpy())  # mobgap: deg/s
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "imu.csv", index=False, float_format="%.6f")
    ref = d.reference_parameters_
    ic = ref.ic_list.reset_index()
    contacts = {"time_s": ic["ic"] / fs, "side": ic["lr_label"], "walking_bout": ic["wb_id"]}
    pd.DataFrame(contacts).to_csv(out / "initial_contacts.csv", index=False, float_format="%.3f")
    st = ref.stride_parameters.reset_index()
    pd.DataFrame({
        "start_s": st["start"] / fs, "end_s": st["end"] / fs,
        "side": st["lr_label"] if "lr_label" in st else "",
        "stride_length_m": st["length_m"], "speed_mps": st["speed_mps"],
        "stride_time_s": st["duration_s"], "stance_time_s": st["stance_time_s"],
        "swing_time_s": st["swing_time_s"], "walking_bout": st["wb_id"],
    }).to_csv(out / "strides.csv", index=False, float_format="%.4f")
    wb = ref.wb_list.reset_index()
    pd.DataFrame({
        "walking_bout": wb["wb_id"], "start_s": wb["start"] / fs, "end_s": wb["end"] / fs,
        "n_strides": wb["n_strides"], "avg_cadence_spm": wb["avg_cadence_spm"],
        "avg_stride_length_m": wb["avg_stride_length_m"],
        "avg_walking_speed_mps": wb["avg_walking_speed_mps"],
    }).to_csv(out / "walking_bouts.csv", index=False, float_format="%.4f")
    meta = dict(d.participant_metadata)
    meta["sampling_rate_hz"] = fs
    meta.update(META_EXTRA)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))


def _anchor_contacts(d) -> dict[str, list[float]]:
    """Contacts (s) of mobgap's three detectors, run on every reference walking bout."""
    from mobgap.initial_contacts import IcdHKLeeImproved, IcdIonescu, IcdShinImproved
    from mobgap.utils.conversions import to_body_frame

    fs = float(d.sampling_rate_hz)
    data = to_body_frame(d.data_ss)
    out: dict[str, list[float]] = {}
    for algo in (IcdShinImproved, IcdIonescu, IcdHKLeeImproved):
        ics: list[float] = []
        for _, wb in d.reference_parameters_.wb_list.iterrows():
            seg = data.iloc[int(wb["start"]) : int(wb["end"]) + 1]
            found = algo().detect(seg, sampling_rate_hz=fs).ic_list_["ic"]
            ics += [(int(wb["start"]) + int(i)) / fs for i in found]
        out[algo.__name__] = ics
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example-data", type=Path, required=True,
                        help="the example_data folder of the unpacked mobgap source distribution")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the trials to")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    anchors = {}
    for d in _dataset(args.example_data.resolve()):
        g = d.group_label
        name = f"{g.cohort}_{g.participant_id}_{g.test}_{g.trial}"
        _write_trial(d, args.out / name)
        anchors[name] = _anchor_contacts(d)
        shared = SHARED / name
        if shared.is_dir():
            same = all(filecmp.cmp(args.out / name / f, shared / f, shallow=False)
                       for f in ("imu.csv", "initial_contacts.csv", "strides.csv",
                                 "walking_bouts.csv", "meta.json"))
            if not same:
                sys.exit(f"error: {name} differs from {shared}: the conversion is not the one "
                         "the shared data was made with")
            print(f"{name}: written, identical to ../shared")
        else:
            print(f"{name}: written (not in ../shared: held out)")
    (args.out / "icd_anchor.json").write_text(json.dumps(anchors, indent=1))
    print(f"wrote {args.out / 'icd_anchor.json'}")


if __name__ == "__main__":
    main()
