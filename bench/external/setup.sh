#!/usr/bin/env bash
# Build the held-out walking data (MS_001 and the mobgap detector anchors) from the mobgap package.
#
# Makes a separate environment with mobgap 1.2.0 (kept apart from the project's: mobgap brings
# numba, scikit-learn, statsmodels and more that the project does not need), unpacks mobgap's
# source distribution, which carries the Mobilise-D lab example data, and runs export_mobgap_lab.py into bench/external/data (ignored by
# git; the data is CC-BY-4.0 and stays out of the repository). Then:
#     .venv/bin/python bench/bench_walking_heldout.py
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$here/work"
mkdir -p "$work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "mobgap==1.2.0"
"$work/venv/bin/pip" download -q --no-deps --no-binary :all: -d "$work" "mobgap==1.2.0"
tar -xzf "$work/mobgap-1.2.0.tar.gz" -C "$work"
"$work/venv/bin/python" "$here/export_mobgap_lab.py" \
    --example-data "$work/mobgap-1.2.0/example_data" --out "$here/data/lowerback-walking"
