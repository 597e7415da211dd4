#!/usr/bin/env bash
# The predictor reference results, results/reference/predictors/<name>/ (README "Predictors:
# reference results"): each holds the run's config.ini and summary.json, the held-out
# evaluation (eval.json, eval.md: the model, its boosted trees and the classical baselines) and
# predicted.png (predicted against actual; confidence calibration).
#
#   real_1s, real_5s       pba_v1 on two mahimahi LTE traces (experiments/predictors/
#                          pba_v1_lte.ini), evaluated on six mahimahi files never trained on
#                          (needs ../shared/data/traces; skipped, saying so, without them)
#   tethered_v1            pba_v1 as source 002 sets it up (six features, four targets, 15 min
#                          ahead) on a week of the tethered link (experiments/predictors/
#                          pba_v1_sim.ini), evaluated on two days recorded with another seed
#   internet_v1            the same on the internet link
#   internet_v3            pba_v3's internet mode, 1 min ahead (pba_v3_internet.ini)
#   datacenter_v3          pba_v3's datacenter mode, 1 min ahead, on a day of the datacenter
#                          fabric (rtt 4 ms, so that the fluid backend's step is 1 ms)
#   hybrid_v3              the two pba_v3 modes together on both held-out recordings: the mode
#                          detector and the hybrid (predictor eval --ensemble both)
#   multi_horizon          1, 15 and 60 min ahead from one model (multi_horizon.ini)
#   traffic_v1             source 001's traffic predictor: the internet link's offered traffic
#                          1 min ahead from 10 features (traffic_v1.ini)
#
# The recordings (results/datasets/, not kept in git) are made first when missing. About 40
# minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
linklab=build/linklab
ref=results/reference/predictors
data=results/datasets
mkdir -p "$ref" "$data"

# The newest run folder of experiment $1 (under results/).
newest() { ls -td "results/$1"/*/ | head -1 | sed 's|/$||'; }

record() {  # record SCENARIO DURATION SEED FILE
  [ -f "$data/$4" ] && return
  "$linklab" dataset generate --scenario "$1" --duration "$2" --interval 60s --seed "$3" \
    -o "$data/$4"
}
record 'tethered(backend=fluid)' 7d 1 tethered-week.h5
record 'tethered(backend=fluid)' 2d 2 tethered-heldout.h5
record 'internet(backend=fluid)' 7d 1 internet-week.h5
record 'internet(backend=fluid)' 2d 2 internet-heldout.h5

# evaluate NAME RUN HORIZON_S INTERVAL_S FORMAT TRACES...: the held-out evaluation of run
# folder RUN into $ref/NAME, with its plot.
evaluate() {
  local name=$1 run=$2 horizon=$3 interval=$4 format=$5
  shift 5
  local out="$ref/$name"
  mkdir -p "$out"
  cp "$run/config.ini" "$run/summary.json" "$out/"
  "$linklab" predictor eval --model "$run" --traces "$@" --format "$format" \
    --horizon-s "$horizon" --interval-s "$interval" -o "$out/eval.json" \
    --predictions "$run/predictions.csv" | tee "$out/eval.md"
  notebooks/plot_predictor.py "$out/eval.json" "$run/predictions.csv" --out "$out/predicted.png" \
    --seconds "$((interval * 600))"
}

mahimahi=../shared/data/traces/mahimahi
if [ -d "$mahimahi" ]; then
  held=()
  for f in ATT-LTE-driving-2016 TMobile-LTE-short Verizon-LTE-short; do
    held+=("$mahimahi/$f.down" "$mahimahi/$f.up")
  done
  for h in 1 5; do
    "$linklab" predictor train experiments/predictors/pba_v1_lte.ini \
      --set experiment.name="pba_v1_lte_${h}s" --set data.horizon_s="$h"
    evaluate "real_${h}s" "$(newest "pba_v1_lte_${h}s")" "$h" 1 mahimahi "${held[@]}"
  done
else
  echo "predictors.sh: $mahimahi is not here: real_1s and real_5s skipped" >&2
fi

"$linklab" predictor train experiments/predictors/pba_v1_sim.ini --set experiment.name=tethered_v1
evaluate tethered_v1 "$(newest tethered_v1)" 900 60 h5 "$data/tethered-heldout.h5"
"$linklab" predictor train experiments/predictors/pba_v1_sim.ini --set experiment.name=internet_v1 \
  --set "data.traces=[$data/internet-week.h5]"
evaluate internet_v1 "$(newest internet_v1)" 900 60 h5 "$data/internet-heldout.h5"
"$linklab" predictor train experiments/predictors/multi_horizon.ini
for h in 60 900 3600; do
  evaluate "multi_horizon_$((h / 60))min" "$(newest multi_horizon)" "$h" 60 h5 \
    "$data/internet-heldout.h5"
done
"$linklab" predictor train experiments/predictors/traffic_v1.ini
evaluate traffic_v1 "$(newest traffic_v1)" 60 60 h5 "$data/internet-heldout.h5"
"$linklab" predictor train experiments/predictors/pba_v3_internet.ini
internet_v3=$(newest pba_v3_internet)
evaluate internet_v3 "$internet_v3" 60 60 h5 "$data/internet-heldout.h5"
record 'datacenter(backend=fluid,rtt_ms=4)' 1d 1 datacenter-day.h5
record 'datacenter(backend=fluid,rtt_ms=4)' 6h 2 datacenter-heldout.h5
"$linklab" predictor train experiments/predictors/pba_v3_internet.ini \
  --set experiment.name=pba_v3_datacenter --set model.name=pba_v3_datacenter \
  --set "data.traces=[$data/datacenter-day.h5]" --set train.epochs=30 --set train.patience=5
datacenter_v3=$(newest pba_v3_datacenter)
evaluate datacenter_v3 "$datacenter_v3" 60 60 h5 "$data/datacenter-heldout.h5"

mkdir -p "$ref/hybrid_v3"
"$linklab" predictor eval --model "$datacenter_v3" --model "$internet_v3" --ensemble both \
  --traces "$data/datacenter-heldout.h5" "$data/internet-heldout.h5" --format h5 \
  --horizon-s 60 --interval-s 60 -o "$ref/hybrid_v3/eval.json" | tee "$ref/hybrid_v3/eval.md"
echo "predictors.sh: results in $ref"
