#!/usr/bin/python3
"""Learning curves from linklab runs.

For each group of runs (the seeds of one experiment) plots the mean return of the last 100
training episodes against env steps, one thin line per seed and their mean, with an optional
target line. Reads metrics.h5 (/train/episodes: step, return) and summary.json.

usage: plot_runs.py --out curves.png --title "PPO CartPole-v1" [--target 475] RUN_DIR...
Needs Debian's python3-h5py and python3-matplotlib.
"""
import argparse
import json
import os
import sys
import warnings

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def curve(run_dir):
    """(steps, mean return of the last <=100 episodes) at every episode end."""
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        if f.attrs.get("kind") != "linklab-metrics":
            sys.exit(f"{run_dir}/metrics.h5: not a linklab metrics file")
        steps = f["train/episodes/step"][:]
        returns = f["train/episodes/return"][:]
    order = np.argsort(steps, kind="stable")
    steps, returns = steps[order], returns[order]
    csum = np.concatenate([[0.0], np.cumsum(returns)])
    idx = np.arange(1, len(returns) + 1)
    lo = np.maximum(0, idx - 100)
    return steps, (csum[idx] - csum[lo]) / (idx - lo)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders (results/<name>/<time>)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--title", default="")
    p.add_argument("--target", type=float, default=None, help="draw a target return line")
    args = p.parse_args()

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    grid_max = 0
    curves = []
    for run in args.runs:
        steps, mean100 = curve(run)
        with open(os.path.join(run, "summary.json")) as f:
            seed = json.load(f)["seed"]
        ax.plot(steps, mean100, lw=0.8, alpha=0.55, label=f"seed {seed}")
        curves.append((steps, mean100))
        grid_max = max(grid_max, steps[-1] if len(steps) else 0)
    grid = np.linspace(0, grid_max, 400)
    interp = [np.interp(grid, s, m, left=np.nan) for s, m in curves if len(s)]
    if interp:
        with warnings.catch_warnings():  # grid points before any seed's first episode
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.vstack(interp), axis=0)
        ax.plot(grid, mean, color="black", lw=2, label="mean")
    if args.target is not None:
        ax.axhline(args.target, color="tab:red", ls="--", lw=1, label=f"target {args.target:g}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("return (mean of last 100 training episodes)")
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
