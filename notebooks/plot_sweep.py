#!/usr/bin/python3
"""One varied key of a linklab sweep against its figures.

Reads a `linklab sweep collect` table.json and plots, for each figure, its mean over seeds with
the 95 % interval against the values of --key: one line per combination of the other varied
keys. A numeric key whose values span two decades or more gets a log axis.

usage: plot_sweep.py --table DIR/collect/table.json --key agent.learning_rate --out plot.png
       [--figure eval.mean_return ...]
Needs Debian's python3-matplotlib.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(table, key, figure):
    """{label of the other keys: [(x, mean, ci95)]} in the table's order."""
    out = {}
    for row in table["points"]:
        values = row["values"]
        others = ", ".join(f"{k}={v}" for k, v in values.items() if k != key)
        f = row["figures"][figure]
        if f["mean"] is None:
            continue
        out.setdefault(others, []).append((values[key], f["mean"], f["ci95"] or 0.0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--figure", action="append", help="default: every figure of the table")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.table) as f:
        table = json.load(f)
    if table.get("kind") != "linklab-sweep-table":
        sys.exit(f"{a.table}: not a linklab sweep table")
    if a.key not in table["keys"]:
        sys.exit(f"{a.table}: {a.key} is not a varied key ({', '.join(table['keys'])})")
    figures = a.figure or table["figures"]
    for name in figures:
        if name not in table["figures"]:
            sys.exit(f"{a.table}: no figure {name} ({', '.join(table['figures'])})")
    xs = [row["values"][a.key] for row in table["points"]]
    numeric = all(isinstance(x, (int, float)) for x in xs)
    fig, axes = plt.subplots(1, len(figures), figsize=(4.2 * len(figures), 3.4), squeeze=False)
    for ax, name in zip(axes[0], figures):
        for label, pts in series(table, a.key, name).items():
            if numeric:
                pts.sort(key=lambda p: p[0])
                x = [p[0] for p in pts]
            else:
                x = [str(p[0]) for p in pts]
            ax.errorbar(x, [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", capsize=3,
                        label=label or None)
        if numeric and min(xs) > 0 and max(xs) / min(xs) >= 100:
            ax.set_xscale("log")
        ax.set_xlabel(a.key)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if any(series(table, a.key, name)):
            handles, labels = ax.get_legend_handles_labels()
            if labels:
                ax.legend(fontsize=7)
    fig.suptitle(f"sweep {table['sweep']['name']}: mean and 95 % interval over seeds", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out, dpi=100)


if __name__ == "__main__":
    main()
