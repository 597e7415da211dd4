#!/usr/bin/python3
"""Plots of a `linklab eval` table: every policy's mean reward with its 95 % interval, and per
class the distribution (CDF over all evaluated steps) of the class's per-step p95 one-way delay,
plus the game's per-step RTT p95.

Reads EVAL_DIR/table.json and EVAL_DIR/episodes/*.json (written by `linklab eval`).

usage: plot_eval.py EVAL_DIR [--out EVAL_DIR/eval.png] [--title TEXT]
Needs Debian's python3-matplotlib. The functions are what notebooks/shaping_eval.ipynb and
notebooks/calibration.ipynb use.
"""
import argparse
import glob
import json
import math
import os
import sys

import matplotlib
import matplotlib.pyplot as plt


class EvalError(Exception):
    """An eval folder that cannot be read (the message names the file)."""


def label(policy):
    """A run folder's last two parts (experiment/time), a baseline's name as it is."""
    parts = [p for p in policy.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) > 2 else policy


def load_table(eval_dir):
    """EVAL_DIR/table.json, with at least one policy."""
    table_path = os.path.join(eval_dir, "table.json")
    try:
        with open(table_path) as f:
            table = json.load(f)
    except (OSError, ValueError) as e:
        raise EvalError(f"{table_path}: {e}") from None
    if not table.get("policies"):
        raise EvalError(f"{table_path}: no policies")
    return table


def classes_of(table):
    """The application classes of the table, in its order."""
    return list(table["policies"][0]["classes"].keys())


def load_steps(eval_dir, table):
    """{policy: {info key: every evaluated step's finite value, over all traces and seeds}}
    from EVAL_DIR/episodes/*.json; EvalError if there are no episode files."""
    steps = {p["policy"]: {} for p in table["policies"]}
    files = sorted(glob.glob(os.path.join(eval_dir, "episodes", "*.json")))
    if not files:
        raise EvalError(f"{eval_dir}/episodes: no episode files")
    for path in files:
        with open(path) as f:
            ep = json.load(f)
        into = steps.setdefault(ep["policy"], {})
        for key, values in ep["info"].items():
            into.setdefault(key, []).extend(v for v in values if v is not None and math.isfinite(v))
    return steps


def cdf_keys(table, steps):
    """[(info key, what)]: each class's per-step one-way delay p95, and the game's RTT p95
    where any policy has it."""
    keys = [(f"{c}.delay95", f"{c}: one-way delay p95 per step") for c in classes_of(table)]
    if any("gaming.rtt95" in s for s in steps.values()):
        keys.append(("gaming.rtt95", "gaming: RTT p95 per step"))
    return keys


def plot_reward(ax, table):
    """Every policy's mean reward per step with its 95 % interval (trained runs in blue)."""
    rows_t = table["policies"]
    y = list(range(len(rows_t)))
    ax.barh(y, [r["reward_mean"] for r in rows_t], xerr=[r["reward_ci95"] for r in rows_t],
            color=["tab:gray" if r["kind"] == "baseline" else "tab:blue" for r in rows_t])
    ax.set_yticks(y, [label(r["policy"]) for r in rows_t], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean reward per step (95 % CI over seeds)")


def plot_cdf(ax, steps, policies, key, what):
    """The CDF over steps of info `key` for each policy (log x axis)."""
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


def plot_class_delays(ax, table):
    """From table.json alone: per policy and class the one-way delay p95 averaged over the
    steps (dot) to its 95th percentile over the steps (bar), log x axis. Two points of the
    distribution the CDFs show where the episodes were not kept."""
    rows_t = table["policies"]
    classes = classes_of(table)
    for k, c in enumerate(classes):
        off = (k - (len(classes) - 1) / 2) * 0.8 / max(1, len(classes))
        for i, r in enumerate(rows_t):
            mean = r["classes"].get(c, {}).get("delay_p95_ms")
            tail = r["classes"].get(c, {}).get("delay_p95_tail_ms")
            if mean is None or tail is None:
                continue
            ax.plot([mean, tail], [i + off, i + off], color=f"C{k}", lw=1.4)
            ax.plot([mean], [i + off], "o", color=f"C{k}", ms=3.5, label=c if i == 0 else None)
            ax.plot([tail], [i + off], "|", color=f"C{k}", ms=7)
    ax.set_yticks(range(len(rows_t)), [label(r["policy"]) for r in rows_t], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("one-way delay p95 per step (ms, log): mean (dot), 95th percentile (bar)")
    ax.grid(True, axis="x", alpha=0.3)


def eval_figure(table, steps, title=None):
    """The reward panel and one CDF panel per cdf_keys() entry, three to a row."""
    policies = [p["policy"] for p in table["policies"]]
    keys = cdf_keys(table, steps)
    n = 1 + len(keys)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    axes = [a for row in axes for a in row]
    plot_reward(axes[0], table)
    for ax, (key, what) in zip(axes[1:], keys):
        plot_cdf(ax, steps, policies, key, what)
    axes[1].legend(fontsize=7, loc="lower right")
    for ax in axes[1 + len(keys):]:
        ax.axis("off")
    traces = ', '.join(os.path.basename(t) for t in table.get('traces', []))
    fig.suptitle(title or f"{table.get('name', 'eval')}: {traces}", fontsize=10)
    fig.tight_layout()
    return fig


def main():
    matplotlib.use("Agg")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_dir")
    ap.add_argument("--out", default=None)
    ap.add_argument("--title", default=None)
    args = ap.parse_args()
    try:
        table = load_table(args.eval_dir)
        steps = load_steps(args.eval_dir, table)
    except EvalError as e:
        sys.exit(f"plot_eval.py: {e}")
    fig = eval_figure(table, steps, args.title)
    out = args.out or os.path.join(args.eval_dir, "eval.png")
    fig.savefig(out, dpi=110)
    print(f"plot_eval.py: wrote {out}")


if __name__ == "__main__":
    main()
