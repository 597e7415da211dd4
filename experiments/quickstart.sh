#!/usr/bin/env bash
# The quickstart (scripts/setup.sh quickstart runs it): a short version of the shaping
# experiment on a tethered link.
#   1. three synthetic LTE-like traces (the tethered family's Markov capacity with outages,
#      10 minutes each): results/traces/lte-like-{1,2,3}.{down,up}
#   2. PPO trained on the fluid backend over traces 1 and 2 (experiments/quickstart.ini):
#      results/quickstart/<time>/
#   3. the trained policy and every baseline evaluated in ns-3 on the held-out trace 3
#      (experiments/quickstart_eval.ini): results/quickstart/<time>/eval_ns3/table.md
#   4. a plot of that table: results/quickstart/<time>/eval_ns3/eval.png
#   5. the trained policy exported as ONNX (what linklab-live runs): results/quickstart/<time>/model.onnx
# Extra arguments go to the training run (e.g. --set train.total_steps=100000).
set -euo pipefail
cd "$(dirname "$0")/.."
linklab=build/linklab
for seed in 1 2 3; do
  "$linklab" dataset trace --scenario 'tethered(capacity=markov,markov_min_mbps=1,markov_max_mbps=30,backend=fluid)' \
    --seed "$seed" --duration 10m -o "results/traces/lte-like-$seed"
done
before=$(ls -d results/quickstart/*/ 2>/dev/null || true)
"$linklab" run experiments/quickstart.ini "$@"
run=""
for dir in $(ls -d results/quickstart/*/); do
  case " $before " in *" $dir "*) ;; *) run=${dir%/} ;; esac
done
if [ -z "$run" ]; then
  echo "quickstart: the training run left no new folder under results/quickstart/" >&2
  exit 1
fi
"$linklab" eval experiments/quickstart_eval.ini --out "$run/eval_ns3" \
  --policy none --policy sqm --policy static_htb --policy autorate --policy oracle --policy "$run"
notebooks/plot_eval.py "$run/eval_ns3" --title "quickstart: held-out trace lte-like-3, ns-3"
"$linklab" export "$run" -o "$run/model.onnx"
echo "quickstart: the table is $run/eval_ns3/table.md, the plot $run/eval_ns3/eval.png," \
  "the policy $run/model.onnx"
