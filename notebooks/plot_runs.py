#!/usr/bin/python3
"""Learning curves from linklab runs.

For each group of runs (the seeds of one experiment) plots the mean return of the last 100
training episodes against env steps, one thin line per seed and their mean, with an optional
target line. Reads metrics.h5 (/train/episodes: step, return) and summary.json.

usage: plot_runs.py --out curves.png --title "PPO CartPole-v1" [--target 475] RUN_DIR...
Needs Debian's python3-h5py and python3-matplotlib. The functions are what
notebooks/learning_curves.ipynb uses.
"""
import argparse
import json
import os
import sys
import warnings

import h5py
import matplotlib
import matplotlib.pyplot as plt
import numpy as np


def curve(run_dir):
    """(steps, mean return of the last <=100 episodes) at every episode end.
    ValueError if metrics.h5 is not a linklab metrics file."""
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        if f.attrs.get("kind") != "linklab-metrics":
            raise ValueError(f"{run_dir}/metrics.h5: not a linklab metrics file")
        steps = f["train/episodes/step"][:]
        returns = f["train/episodes/return"][:]
    order = np.argsort(steps, kind="stable")
    steps, returns = steps[order], returns[order]
    csum = np.concatenate([[0.0], np.cumsum(returns)])
    idx = np.arange(1, len(returns) + 1)
    lo = np.maximum(0, idx - 100)
    return steps, (csum[idx] - csum[lo]) / (idx - lo)


def summary(run_dir):
    """The run's summary.json (name, seed, algo, env, train figures, ...)."""
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


def has_episodes(run_dir):
    """Whether run_dir/metrics.h5 is a linklab metrics file with /train/episodes (a predictor
    run's has /train/epochs instead)."""
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        return f.attrs.get("kind") == "linklab-metrics" and "train/episodes/step" in f


def find_runs(paths):
    """Run folders (metrics.h5 with /train/episodes and summary.json) among `paths`: each a
    run folder or a folder searched below (checkpoints/ skipped). Returns (runs, skipped),
    skipped a list of (folder, why) for folders with a metrics.h5 that are not training runs."""
    runs, skipped = [], []

    def consider(d):
        if not os.path.isfile(os.path.join(d, "summary.json")):
            skipped.append((d, "no summary.json"))
        elif not has_episodes(d):
            skipped.append((d, "metrics.h5 has no /train/episodes (not an agent's run)"))
        else:
            runs.append(d)

    for p in paths:
        if os.path.isfile(os.path.join(p, "metrics.h5")):
            consider(p)
            continue
        for d, subdirs, files in os.walk(p):
            subdirs[:] = sorted(s for s in subdirs if s != "checkpoints")
            if "metrics.h5" in files:
                consider(d)
                subdirs[:] = []
    return runs, skipped


def group_runs(runs):
    """{experiment name (summary.json's name): [run folders sorted by seed]}, in first-seen
    order."""
    groups = {}
    for r in runs:
        groups.setdefault(summary(r)["name"], []).append(r)
    for name in groups:
        groups[name].sort(key=lambda r: summary(r)["seed"])
    return groups


def mean_over_seeds(curves, points=400):
    """(grid, mean, lo, hi) of per-seed curves [(steps, values)] interpolated on a common grid
    of env steps; lo/hi the seeds' range; NaN where no seed has an episode yet."""
    grid_max = max((s[-1] for s, _ in curves if len(s)), default=0)
    grid = np.linspace(0, grid_max, points)
    interp = [np.interp(grid, s, m, left=np.nan) for s, m in curves if len(s)]
    if not interp:
        nan = np.full_like(grid, np.nan)
        return grid, nan, nan, nan
    stack = np.vstack(interp)
    with warnings.catch_warnings():  # grid points before any seed's first episode
        warnings.simplefilter("ignore", RuntimeWarning)
        return grid, np.nanmean(stack, axis=0), np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)


def plot_group(ax, runs, target=None, band=False):
    """One experiment's seeds on `ax`: a thin line per seed, their mean in black, with
    band=True the seeds' range shaded, and a target line. Returns the per-seed curves."""
    curves = []
    for run in runs:
        steps, mean100 = curve(run)
        ax.plot(steps, mean100, lw=0.8, alpha=0.55, label=f"seed {summary(run)['seed']}")
        curves.append((steps, mean100))
    grid, mean, lo, hi = mean_over_seeds(curves)
    if any(len(s) for s, _ in curves):
        if band and len(curves) > 1:
            ax.fill_between(grid, lo, hi, color="black", alpha=0.12, lw=0, label="seeds' range")
        ax.plot(grid, mean, color="black", lw=2, label="mean")
    if target is not None:
        ax.axhline(target, color="tab:red", ls="--", lw=1, label=f"target {target:g}")
    ax.set_xlabel("env steps")
    ax.grid(alpha=0.3)
    return curves


def main():
    matplotlib.use("Agg")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders (results/<name>/<time>)")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--title", default="")
    p.add_argument("--target", type=float, default=None, help="draw a target return line")
    args = p.parse_args()

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    try:
        plot_group(ax, args.runs, target=args.target)
    except ValueError as e:
        sys.exit(str(e))
    ax.set_ylabel("return (mean of last 100 training episodes)")
    ax.set_title(args.title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
