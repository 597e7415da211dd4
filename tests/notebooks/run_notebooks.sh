#!/usr/bin/env bash
# The notebooks of notebooks/ executed headless (Debian's jupyter-nbconvert, python3-ipykernel)
# on small results made here with the linklab binary, in WORK_DIR (emptied first):
#   traces/        three synthetic 5-minute LTE-like traces (linklab dataset trace)
#   runs/          PPO on CartPole-v1 and PPO shaping on the fluid backend (traces 1 and 2),
#                  two seeds each, and a small pba_v1 predictor (linklab run, predictor train)
#   eval_fluid/, eval_ns3/
#                  none, sqm, autorate, oracle and the shaping run on the held-out trace 3, two
#                  seeds of 20 s, on each backend (linklab eval; episodes/ kept)
#   predictor/     the predictor on trace 3 (predictor eval -o eval.json --predictions)
#   bench_sim.json linklab bench sim --only calibration (in the background meanwhile; its rows
#                  on the real LTE traces are skipped, saying so, where ../shared/data is absent)
#   notebooks/     the four executed notebooks and their PNGs
# then checks that each executed notebook has no error output and at least one image, and that
# the PNGs each notebook always draws are there. Exits 0 when all pass, 1 on any failure, 2 on
# bad arguments, 77 where jupyter-nbconvert, ipykernel, h5py or matplotlib is missing (a skip).
#
# usage: tests/notebooks/run_notebooks.sh LINKLAB_BINARY WORK_DIR
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 LINKLAB_BINARY WORK_DIR" >&2
  exit 2
fi
if [ ! -x "$1" ]; then
  echo "run_notebooks.sh: $1: not an executable linklab binary" >&2
  exit 2
fi
linklab=$(realpath "$1")
work=$(realpath -m "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3

if ! command -v jupyter >/dev/null || ! jupyter nbconvert --version >/dev/null 2>&1 ||
  ! "$python" -c "import ipykernel, h5py, matplotlib" 2>/dev/null; then
  echo "run_notebooks.sh: skipped: needs Debian's jupyter-nbconvert, python3-ipykernel," \
    "python3-h5py and python3-matplotlib (scripts/setup.sh installs them)" >&2
  exit 77
fi

rm -rf "$work"
mkdir -p "$work/logs" "$work/notebooks"
start=$SECONDS
# Jupyter, IPython and matplotlib write their state here, not into $HOME.
export JUPYTER_RUNTIME_DIR="$work/jupyter" IPYTHONDIR="$work/ipython" MPLCONFIGDIR="$work/mpl"
export PYDEVD_DISABLE_FILE_VALIDATION=1

bench_pid=""
trap 'if [ -n "$bench_pid" ]; then kill "$bench_pid" 2>/dev/null || true; fi' EXIT

# step NAME COMMAND...: runs COMMAND with its output in logs/NAME.log; on failure the log's end.
step() {
  local name=$1 t0=$SECONDS
  shift
  if ! "$@" >"$work/logs/$name.log" 2>&1; then
    echo "run_notebooks.sh: $name failed: $*" >&2
    tail -n 40 "$work/logs/$name.log" >&2
    exit 1
  fi
  echo "run_notebooks.sh: $name ($((SECONDS - t0)) s)"
}

# The calibration report takes longest (about 50 s on one core with the real traces): beside
# the rest.
"$linklab" bench sim --only calibration --json "$work/bench_sim.json" \
  >"$work/logs/bench_sim.log" 2>&1 &
bench_pid=$!

tr="$work/traces"
for s in 1 2 3; do
  step "trace_$s" "$linklab" dataset trace --seed "$s" --duration 5m -o "$tr/t$s" \
    --scenario 'tethered(capacity=markov,markov_min_mbps=1,markov_max_mbps=30,backend=fluid)'
done

quiet=(--set experiment.output="$work/runs" --set train.progress=false)
step run_cartpole "$linklab" run "$root/experiments/reference/ppo_cartpole.ini" --seeds 1,2 \
  "${quiet[@]}" --set experiment.name=nb_ppo_cartpole --set train.total_steps=20000 \
  --set train.checkpoint_every=20000 --set eval.episodes=1
step run_shaping "$linklab" run "$root/experiments/quickstart.ini" --seeds 1,2 "${quiet[@]}" \
  --set experiment.name=nb_shaping_ppo --set train.total_steps=16384 \
  --set train.checkpoint_every=16384 --set eval.episodes=1 \
  --set "env.scenario=tethered(capacity=trace,trace=$tr/t1.down,backend=fluid,htb_leaf=codel)" \
  --set "env.traces=[$tr/t1.down,$tr/t2.down]"
shaping_run=$(ls -d "$work/runs/nb_shaping_ppo"/*/ | head -1)
shaping_run=${shaping_run%/}

for backend in fluid ns3; do
  step "eval_$backend" "$linklab" eval "$root/experiments/quickstart_eval.ini" \
    --out "$work/eval_$backend" --traces "$tr/t3.down" --seeds 2 \
    --policy none --policy sqm --policy autorate --policy oracle --policy "$shaping_run" \
    --set "env.scenario=tethered(capacity=trace,trace=$tr/t3.down,backend=$backend,htb_leaf=codel)" \
    --set env.max_episode_steps=200
done

step predictor_train "$linklab" predictor train "$root/experiments/predictors/pba_v1_lte.ini" \
  "${quiet[@]}" --set experiment.name=nb_predictor --set "data.traces=[$tr/t1.down,$tr/t2.down]" \
  --set train.epochs=3
predictor_run=$(ls -d "$work/runs/nb_predictor"/*/ | head -1)
mkdir -p "$work/predictor"
step predictor_eval "$linklab" predictor eval --model "${predictor_run%/}" \
  --traces "$tr/t3.down" "$tr/t3.up" --format mahimahi --horizon-s 1 \
  -o "$work/predictor/eval.json" --predictions "$work/predictor/predictions.csv"

t0=$SECONDS
if ! wait "$bench_pid"; then
  bench_pid=""
  echo "run_notebooks.sh: linklab bench sim --only calibration failed" >&2
  tail -n 40 "$work/logs/bench_sim.log" >&2
  exit 1
fi
bench_pid=""
echo "run_notebooks.sh: bench_sim (waited $((SECONDS - t0)) s more)"
echo "run_notebooks.sh: results made in $((SECONDS - start)) s"

export LINKLAB_NOTEBOOK_OUT="$work/notebooks"
export LINKLAB_RUNS="$work/runs"
export LINKLAB_EVAL="$work/eval_fluid:$work/eval_ns3"
export LINKLAB_PREDICTOR_EVALS="$work/predictor/eval.json"
export LINKLAB_PREDICTIONS="$work/predictor/predictions.csv"
export LINKLAB_BENCH_SIM="$work/bench_sim.json"
export LINKLAB_EVAL_FLUID="$work/eval_fluid" LINKLAB_EVAL_NS3="$work/eval_ns3"
notebooks=(learning_curves shaping_eval predictors calibration)
for n in "${notebooks[@]}"; do
  step "notebook_$n" jupyter nbconvert --to notebook --execute \
    --ExecutePreprocessor.timeout=600 --output-dir "$work/notebooks" "$root/notebooks/$n.ipynb"
done

# Every executed notebook: no error output, at least one image; the PNGs it always draws.
"$python" - "$work/notebooks" <<'EOF'
import json
import os
import sys

out = sys.argv[1]
always = {
    "learning_curves": ["learning_curves.png"],
    "shaping_eval": ["shaping_eval_reward_delays.png", "shaping_eval_delay_cdfs.png"],
    "predictors": ["predictors_calibration.png", "predictors_predicted_1_predictor.png"],
    "calibration": ["calibration_scenarios.png", "calibration_evals.png"],
}
failed = []
for name, pngs in always.items():
    with open(os.path.join(out, name + ".ipynb")) as f:
        nb = json.load(f)
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o["output_type"] == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    if errors:
        failed.append(f"{name}.ipynb: error output: {errors[0].get('ename')}: {errors[0].get('evalue')}")
    if not images:
        failed.append(f"{name}.ipynb: no image output")
    for png in pngs:
        path = os.path.join(out, png)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            failed.append(f"{name}.ipynb: {png} was not written")
    print(f"run_notebooks.sh: {name}.ipynb: {len(images)} images, {len(errors)} errors")
if failed:
    sys.exit("run_notebooks.sh: " + "; ".join(failed))
EOF
echo "run_notebooks.sh: all notebooks passed in $((SECONDS - start)) s ($work/notebooks)"
