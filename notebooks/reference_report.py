#!/usr/bin/python3
"""Report of the reference agent runs: one learning-curve PNG per experiment and a Markdown
table (README.md) of last-100 training returns per seed against the issue's targets.

usage: reference_report.py results/reference
Reads results/reference/runs/<experiment>/<time>/ (written by experiments/reference/run_all.sh).
"""
import glob
import json
import os
import subprocess
import sys

# experiment -> (title, target return, budget in env steps, published reference)
TARGETS = {
    "ppo_cartpole": ("PPO, CartPole-v1", 475, 200_000, "CleanRL ppo.py 490.04 +- 6.12 at 500k"),
    "dqn_cartpole": ("DQN, CartPole-v1", 475, 300_000, "CleanRL dqn.py 488.69 +- 16.11 at 500k"),
    "ppo_acrobot": ("PPO, Acrobot-v1", -100, 500_000, "CleanRL ppo.py -86.36 +- 1.32 at 500k"),
    "dqn_acrobot": ("DQN, Acrobot-v1", -100, 300_000, "CleanRL dqn.py -91.54 +- 7.20 at 500k"),
    "ppo_pendulum": ("PPO, Pendulum-v1 (continuous)", -300, 300_000, "RL Zoo PPO -172"),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    for name, (title, target, budget, published) in TARGETS.items():
        runs = sorted(glob.glob(os.path.join(root, "runs", name, "*")))
        if not runs:
            print(f"no runs for {name}", file=sys.stderr)
            continue
        png = os.path.join(root, f"{name}.png")
        subprocess.run([sys.executable, os.path.join(here, "plot_runs.py"), *runs, "--out", png,
                        "--title", f"{title}: {budget // 1000}k env steps",
                        "--target", str(target)], check=True)
        summaries = []
        for run in runs:
            with open(os.path.join(run, "summary.json")) as f:
                summaries.append(json.load(f))
        summaries.sort(key=lambda s: s["seed"])
        last = [s["train"]["mean_return_last100"] for s in summaries]
        mean = sum(last) / len(last)
        met = all(v >= target for v in last)
        rows.append((name, title, budget, target, last, mean, met, published,
                     sum(s["train"]["steps_per_second"] for s in summaries) / len(summaries),
                     summaries[0]["git_commit"]))
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write("# Reference agent results\n\n")
        f.write("Made by `experiments/reference/run_all.sh` (configs in `experiments/reference/`),"
                " seeds 1, 2 and 3. Figure: mean return of the last 100 training episodes at the"
                " end of the budget. Learning curves: `<experiment>.png`; full metrics:"
                " `runs/<experiment>/<time>/metrics.h5` (checkpoints are not kept here).\n\n")
        f.write("| experiment | budget | target | seed 1 | seed 2 | seed 3 | mean | all seeds"
                " meet target | published | steps/s | commit |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
        for (name, title, budget, target, last, mean, met, published, sps, commit) in rows:
            seeds = " | ".join(f"{v:.1f}" for v in last)
            f.write(f"| {title} (`{name}`) | {budget // 1000}k | {'≥'} {target} | {seeds} | "
                    f"{mean:.1f} | {'yes' if met else 'NO'} | {published} | {sps:,.0f} | "
                    f"{commit[:10]} |\n")
    print(f"wrote {os.path.join(root, 'README.md')}")


if __name__ == "__main__":
    main()
