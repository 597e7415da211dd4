#!/usr/bin/env bash
# The learned policy linklab-live ships, the live benchmark's reference report and what the
# simulator predicts for the same capacity and classes (README "Live: linklab-live"):
#   results/reference/live/policy.onnx       PPO trained by experiments/live/live_ppo.ini on two
#                                            synthetic LTE-like traces, exported
#   results/reference/bench/live.json        `linklab bench live` with that policy (as root:
#                                            network namespaces), on the bench's synthetic series
#   results/reference/live/bench_capacity.down  that series as a mahimahi trace
#   results/reference/live/sim_fluid/, sim_ns3/  `linklab eval` of the same policies there
#   results/reference/live/compare.md        live against simulated, side by side
# About 5 minutes of training, 5 of benchmark and 5 of simulation on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
linklab=build/linklab
ref=results/reference/live
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
mkdir -p "$ref" results/reference/bench
"$linklab" export "$run" -o "$ref/policy.onnx"
"$linklab" bench live --policy "$ref/policy.onnx" --classes experiments/live/bench_classes.ini \
  --trace-out "$ref/bench_capacity.down" --json results/reference/bench/live.json
rm -rf "$ref/sim_fluid" "$ref/sim_ns3"
"$linklab" eval experiments/live/live_eval.ini --policy none --policy autorate --policy "$run" \
  --out "$ref/sim_fluid"
rm -rf "$ref/sim_fluid/episodes"
"$linklab" eval experiments/live/live_eval.ini --policy none --policy autorate --policy "$run" \
  --set "env.scenario=tethered(capacity=trace,trace=$ref/bench_capacity.down,backend=ns3,buffer_packets=1000,rtt_ms=20)" \
  --out "$ref/sim_ns3"
rm -rf "$ref/sim_ns3/episodes"  # per-step logs: not kept in git
/usr/bin/python3 notebooks/live_vs_sim.py results/reference/bench/live.json "$ref/sim_fluid" \
  "$ref/sim_ns3" --out "$ref/compare.md"
