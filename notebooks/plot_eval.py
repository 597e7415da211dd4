#!/usr/bin/python3
"""Plots of a `linklab eval` table: every policy's mean reward with its 95 % interval, and per
class the distribution (CDF over all evaluated steps) of the class's per-step p95 one-way delay,
plus the game's per-step RTT p95.

Reads EVAL_DIR/table.json and EVAL_DIR/episodes/*.json (written by `linklab eval`).

usage: plot_eval.py EVAL_DIR [--out EVAL_DIR/eval.png] [--title TEXT]
Needs Debian's python3-matplotlib.
"""
import argparse
import glob
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def label(policy):
    """A run folder's last two parts (experiment/time), a baseline's name as it is."""
    parts = [p for p in policy.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) > 2 else policy


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_dir")
    ap.add_argument("--out", default=None)
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    table_path = os.path.join(args.eval_dir, "table.json")
    try:
        with open(table_path) as f:
            table = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"plot_eval.py: {table_path}: {e}")
    policies = [p["policy"] for p in table.get("policies", [])]
    if not policies:
        sys.exit(f"plot_eval.py: {table_path}: no policies")
    # Per policy and key: every evaluated step's value, over all traces and seeds.
    steps = {p: {} for p in policies}
    files = sorted(glob.glob(os.path.join(args.eval_dir, "episodes", "*.json")))
    if not files:
        sys.exit(f"plot_eval.py: {args.eval_dir}/episodes: no episode files")
    for path in files:
        with open(path) as f:
            ep = json.load(f)
        into = steps.setdefault(ep["policy"], {})
        for key, values in ep["info"].items():
            into.setdefault(key, []).extend(v for v in values if v is not None and math.isfinite(v))
    classes = list(table["policies"][0]["classes"].keys())
    keys = [(f"{c}.delay95", f"{c}: one-way delay p95 per step") for c in classes]
    if any("gaming.rtt95" in steps[p] for p in policies):
        keys.append(("gaming.rtt95", "gaming: RTT p95 per step"))
    n = 1 + len(keys)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    axes = [a for row in axes for a in row]
    ax = axes[0]
    rows_t = table["policies"]
    y = list(range(len(rows_t)))
    ax.barh(y, [r["reward_mean"] for r in rows_t], xerr=[r["reward_ci95"] for r in rows_t],
            color=["tab:gray" if r["kind"] == "baseline" else "tab:blue" for r in rows_t])
    ax.set_yticks(y, [label(r["policy"]) for r in rows_t], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean reward per step (95 % CI over seeds)")
    for ax, (key, what) in zip(axes[1:], keys):
        for p in policies:
            values = sorted(steps[p].get(key, []))
            if not values:
                continue
            share = [(i + 1) / len(values) for i in range(len(values))]
            ax.step(values, share, where="post", label=label(p))
        ax.set_xscale("log")
        ax.set_xlabel(f"{what} (ms, log)")
        ax.set_ylabel("share of steps")
        ax.grid(True, alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right")
    for ax in axes[1 + len(keys):]:
        ax.axis("off")
    traces = ', '.join(os.path.basename(t) for t in table.get('traces', []))
    title = args.title or f"{table.get('name', 'eval')}: {traces}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out = args.out or os.path.join(args.eval_dir, "eval.png")
    fig.savefig(out, dpi=110)
    print(f"plot_eval.py: wrote {out}")


if __name__ == "__main__":
    main()
