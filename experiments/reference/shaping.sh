#!/usr/bin/env bash
# The shaping reference results, results/reference/shaping/ (README "Shaping: reference
# results"). Trains, unless results/reference/shaping/runs/<name>/ already holds its policy:
#   dqn_fluid          experiments/shaping_fluid_dqn.ini (fluid, 300k steps)
#   ppo_fluid          experiments/shaping_fluid_ppo.ini (fluid, 2M steps)
#   dqn_ns3_finetuned  dqn_fluid's last checkpoint trained 20k more steps in ns-3, same traces
#   ppo_internet       experiments/shaping_internet_ppo.ini (fluid, 1M steps)
# then evaluates every baseline and these runs on the held-out traces, in fluid and in ns-3
# (tethered_fluid/, tethered_ns3/), and on the internet link (internet_fluid/, internet_ns3/),
# with a plot per table (eval.png) and each run's learning curve (runs/<name>/curve.png). Needs the shared
# traces (../shared/data/traces/mahimahi). About 15 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
linklab=build/linklab
ref=results/reference/shaping
mkdir -p "$ref/runs"

# The newest run folder of experiment $1 (under results/).
newest() { ls -td "results/$1"/*/ | head -1 | sed 's|/$||'; }

# Copies the artefacts of run folder $1 (not its checkpoints) to $ref/runs/$2.
keep() {
  mkdir -p "$ref/runs/$2"
  cp "$1"/config.ini "$1"/summary.json "$1"/policy.bin "$1"/metrics.h5 "$ref/runs/$2/"
}

if [ ! -f "$ref/runs/dqn_fluid/policy.bin" ]; then
  "$linklab" run experiments/shaping_fluid_dqn.ini
  dqn=$(newest shaping_fluid_dqn)
  keep "$dqn" dqn_fluid
  "$linklab" run "$dqn/config.ini" --set experiment.name=shaping_ns3_dqn_finetune \
    --set 'env.scenario=tethered(capacity=trace,trace=ATT-LTE-driving.down,backend=ns3,htb_leaf=codel)' \
    --set train.init_from="$dqn" --set train.total_steps=20000 --set train.checkpoint_every=20000 \
    --set agent.start_epsilon=0.05 --set agent.learning_starts=0 --set eval.episodes=0
  keep "$(newest shaping_ns3_dqn_finetune)" dqn_ns3_finetuned
fi
if [ ! -f "$ref/runs/ppo_fluid/policy.bin" ]; then
  "$linklab" run experiments/shaping_fluid_ppo.ini
  keep "$(newest shaping_fluid_ppo)" ppo_fluid
fi
if [ ! -f "$ref/runs/ppo_internet/policy.bin" ]; then
  "$linklab" run experiments/shaping_internet_ppo.ini
  keep "$(newest shaping_internet_ppo)" ppo_internet
fi

baselines=(--policy none --policy bottleneck_fq_codel --policy sqm --policy static_htb
  --policy autorate --policy oracle)
tethered=(--policy "$ref/runs/dqn_fluid" --policy "$ref/runs/ppo_fluid"
  --policy "$ref/runs/dqn_ns3_finetuned")
ns3_tethered='env.scenario=tethered(capacity=trace,trace=ATT-LTE-driving-2016.down,backend=ns3,htb_leaf=codel)'
ns3_internet='env.scenario=internet(capacity=constant,base_mbps=20,rtt_ms=60,cross_flows=2,cross_mbps=8,workload=[bulk,video,gaming,web],backend=ns3,htb_leaf=codel)'
"$linklab" eval experiments/shaping_eval.ini "${baselines[@]}" "${tethered[@]}" \
  --out "$ref/tethered_fluid"
"$linklab" eval experiments/shaping_eval.ini "${baselines[@]}" "${tethered[@]}" \
  --set "$ns3_tethered" --out "$ref/tethered_ns3"
"$linklab" eval experiments/shaping_internet_eval.ini "${baselines[@]}" \
  --policy "$ref/runs/ppo_internet" "${tethered[@]}" --out "$ref/internet_fluid"
"$linklab" eval experiments/shaping_internet_eval.ini "${baselines[@]}" \
  --policy "$ref/runs/ppo_internet" "${tethered[@]}" --set "$ns3_internet" --out "$ref/internet_ns3"
for table in tethered_fluid tethered_ns3 internet_fluid internet_ns3; do
  notebooks/plot_eval.py "$ref/$table"
  rm -rf "$ref/$table/episodes"  # per-step series (megabytes); the plot and table stay
done
for run in dqn_fluid dqn_ns3_finetuned ppo_fluid ppo_internet; do
  notebooks/plot_runs.py --out "$ref/runs/$run/curve.png" --title "shaping: $run" "$ref/runs/$run"
done
echo "shaping.sh: tables and plots in $ref"
