#!/usr/bin/env bash
# Reproduces results/reference/: every config in this folder with seeds 1, 2 and 3, then the
# learning-curve plots and the results table (notebooks/reference_report.py). About 5 minutes
# on two cores. Needs a built tree (scripts/setup.sh build) and python3-h5py/matplotlib.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/reference
rm -rf "$out/runs"
for cfg in experiments/reference/*.ini; do
  ./build/linklab run "$cfg" --seeds 1,2,3 --set experiment.output="$out/runs" \
    --set train.progress=false
done
# Checkpoints (models, optimisers, replay buffers) stay out of the committed results.
rm -rf "$out"/runs/*/*/checkpoints
/usr/bin/python3 notebooks/reference_report.py "$out"
