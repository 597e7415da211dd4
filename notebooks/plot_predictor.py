#!/usr/bin/python3
"""Plots of a `linklab predictor eval`: predicted against actual over time for one series (the
model, its boosted trees and the best classical baseline), and the model's confidence
calibration (mean confidence per bin against the observed share within +-20 %).

Reads the evaluation's JSON (-o) and predictions CSV (--predictions).

usage: plot_predictor.py EVAL.json PREDICTIONS.csv [--out predicted.png] [--series NAME]
       [--target bandwidth] [--seconds 600]
Needs Debian's python3-matplotlib.
"""
import argparse
import csv
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fail(message):
    print("plot_predictor.py: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_json")
    ap.add_argument("predictions_csv")
    ap.add_argument("--out", default="predicted.png")
    ap.add_argument("--series", default=None, help="the series to plot (default: the first)")
    ap.add_argument("--target", default=None, help="the target to plot (default: the first)")
    ap.add_argument("--seconds", type=float, default=0, help="plot only this much (0: all)")
    args = ap.parse_args()
    try:
        with open(args.eval_json) as f:
            figures = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{args.eval_json}: {e}")
    meta = figures.get("evaluation")
    if meta is None:
        fail(f"{args.eval_json}: no 'evaluation' object (not a predictor eval's JSON)")
    target = args.target or meta["targets"][0]
    try:
        with open(args.predictions_csv) as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail(f"{args.predictions_csv}: {e}")
    if not rows:
        fail(f"{args.predictions_csv}: no predictions")
    series = args.series or rows[0]["series"]
    rows = [r for r in rows if r["series"] == series and r["target"] == target]
    if not rows:
        fail(f"{args.predictions_csv}: no rows for series {series!r} and target {target!r}")
    if args.seconds > 0:
        start = float(rows[0]["time_s"])
        rows = [r for r in rows if float(r["time_s"]) - start <= args.seconds]

    models = meta.get("models") or []
    model = models[0] if len(models) == 1 else None
    baselines = [k for k, v in figures.items()
                 if isinstance(v, dict) and v.get("kind") == "baseline" and k != "boosted_trees"]

    def mae(name):
        p = figures[name] if target == meta["targets"][0] else figures[name]["targets"][target]
        return p["mae"]

    best = min(baselines, key=mae)
    shown = (["model"] if model else []) + (["boosted_trees"] if "boosted_trees" in figures else [])
    shown.append(best)

    fig, (ax, cal) = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2.3, 1]})
    t = [float(r["time_s"]) for r in rows]
    ax.plot(t, [float(r["actual"]) for r in rows], color="black", lw=1.2, label="actual")
    for name in shown:
        key = name
        figure_name = model if name == "model" else name
        ax.plot(t, [float(r[key]) for r in rows], lw=0.9,
                label=f"{name if name != 'model' else 'model'} (MAE {mae(figure_name):.3g})")
    unit = " (Mbit/s)" if target == "bandwidth" else ""
    ax.set_xlabel("time (s)")
    ax.set_ylabel(target + unit)
    ax.set_title(f"{series}: {target} {meta['horizon_s']:g} s ahead")
    ax.legend(fontsize=8)

    cal.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="calibrated")
    for name in shown:
        figure_name = model if name == "model" else name
        bins = figures[figure_name]["calibration"]["bins"]
        xs = [b["mean_confidence"] for b in bins if b["predictions"] >= 30]
        ys = [b["observed_within_20pct"] for b in bins if b["predictions"] >= 30]
        if xs and all(not math.isnan(v) for v in xs + ys):
            cal.plot(xs, ys, marker="o", lw=1, label=name)
    cal.set_xlim(0, 1)
    cal.set_ylim(0, 1)
    cal.set_xlabel("confidence (bins with >= 30 predictions)")
    cal.set_ylabel("observed share within +-20 %")
    cal.set_title("calibration, all series")
    cal.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"plot_predictor.py: wrote {args.out}")


if __name__ == "__main__":
    main()
