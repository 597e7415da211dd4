#!/usr/bin/env bash
# The learned policy linklab-live ships and the live benchmark's reference report:
#   results/reference/live/policy.onnx   PPO trained by experiments/live/live_ppo.ini on two
#                                        synthetic LTE-like traces (the quickstart's), exported
#   results/reference/bench/live.json    `linklab bench live` with that policy (root: namespaces)
# About 3 minutes of training and 5 of benchmark on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
linklab=build/linklab
for seed in 1 2; do
  [ -f "results/traces/lte-like-$seed.down" ] ||
    "$linklab" dataset trace --scenario 'tethered(capacity=markov,markov_min_mbps=1,markov_max_mbps=30,backend=fluid)' \
      --seed "$seed" --duration 10m -o "results/traces/lte-like-$seed"
done
before=$(ls -d results/live_ppo/*/ 2>/dev/null || true)
"$linklab" run experiments/live/live_ppo.ini "$@"
run=""
for dir in $(ls -d results/live_ppo/*/); do
  case " $before " in *" $dir "*) ;; *) run=${dir%/} ;; esac
done
[ -n "$run" ] || { echo "live.sh: the training run left no new folder" >&2; exit 1; }
mkdir -p results/reference/live
"$linklab" export "$run" -o results/reference/live/policy.onnx
"$linklab" bench live --policy results/reference/live/policy.onnx \
  --classes experiments/live/bench_classes.ini --json results/reference/bench/live.json
