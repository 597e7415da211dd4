#!/usr/bin/python3
"""Plots of a `linklab predictor eval`: predicted against actual over time for one series (the
model, its boosted trees and the best classical baseline), and the model's confidence
calibration (mean confidence per bin against the observed share within +-20 %).

Reads the evaluation's JSON (-o) and predictions CSV (--predictions).

usage: plot_predictor.py EVAL.json PREDICTIONS.csv [--out predicted.png] [--series NAME]
       [--target bandwidth] [--seconds 600]
Needs Debian's python3-matplotlib. The functions are what notebooks/predictors.ipynb uses.
"""
import argparse
import csv
import json
import math
import sys

import matplotlib
import matplotlib.pyplot as plt


class PredictorError(Exception):
    """An evaluation or predictions file that cannot be used (the message names it)."""


def fail(message):
    print("plot_predictor.py: " + message, file=sys.stderr)
    sys.exit(1)


def load_eval(path):
    """The evaluation's JSON (`predictor eval -o`): one object per predictor and 'evaluation'."""
    try:
        with open(path) as f:
            figures = json.load(f)
    except (OSError, ValueError) as e:
        raise PredictorError(f"{path}: {e}") from None
    if figures.get("evaluation") is None:
        raise PredictorError(f"{path}: no 'evaluation' object (not a predictor eval's JSON)")
    return figures


def load_predictions(path):
    """The rows of a predictions CSV (`predictor eval --predictions`), as dicts of strings."""
    try:
        with open(path) as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise PredictorError(f"{path}: {e}") from None
    if not rows:
        raise PredictorError(f"{path}: no predictions")
    return rows


def select_rows(rows, series, target, seconds=0, path="predictions"):
    """The rows of one series and target, the first `seconds` of it (0: all)."""
    rows = [r for r in rows if r["series"] == series and r["target"] == target]
    if not rows:
        raise PredictorError(f"{path}: no rows for series {series!r} and target {target!r}")
    if seconds > 0:
        start = float(rows[0]["time_s"])
        rows = [r for r in rows if float(r["time_s"]) - start <= seconds]
    return rows


def mae(figures, name, target):
    """Predictor `name`'s MAE on `target` (the first target's figures are at the top level)."""
    meta = figures["evaluation"]
    p = figures[name] if target == meta["targets"][0] else figures[name]["targets"][target]
    return p["mae"]


def shown_predictors(figures, target):
    """[(label, name in the JSON, column in the CSV)]: the trained model ('model' when there
    is one; each by name, with its boosted trees and the ensembles, when there are several),
    its boosted trees and the best classical baseline by MAE."""
    meta = figures["evaluation"]
    models = meta.get("models") or []
    baselines = [k for k, v in figures.items()
                 if isinstance(v, dict) and v.get("kind") == "baseline"
                 and not k.startswith("boosted_trees")]
    best = min(baselines, key=lambda n: mae(figures, n, target))
    if len(models) == 1:
        shown = [("model", models[0], "model")]
        if "boosted_trees" in figures:
            shown.append(("boosted_trees", "boosted_trees", "boosted_trees"))
    else:
        # "results/<experiment>/<time>" as "<experiment>", also after "boosted_trees:".
        def short(k):
            return ":".join(p.split("/")[-2] if p.count("/") >= 2 else p for p in k.split(":"))
        shown = [(short(k), k, k) for k, v in figures.items()
                 if isinstance(v, dict) and (v.get("kind") in ("model", "ensemble")
                                             or k.startswith("boosted_trees"))]
    shown.append((best, best, best))
    return shown


def plot_predicted(ax, figures, rows, series, target, shown):
    """Actual and each shown predictor's prediction of `target` over time."""
    meta = figures["evaluation"]
    t = [float(r["time_s"]) for r in rows]
    ax.plot(t, [float(r["actual"]) for r in rows], color="black", lw=1.2, label="actual")
    for name, figure_name, column in shown:
        ax.plot(t, [float(r[column]) for r in rows], lw=0.9,
                label=f"{name} (MAE {mae(figures, figure_name, target):.3g})")
    unit = " (Mbit/s)" if target == "bandwidth" else ""
    ax.set_xlabel("time (s)")
    ax.set_ylabel(target + unit)
    ax.set_title(f"{series}: {target} {meta['horizon_s']:g} s ahead")
    ax.legend(fontsize=8)


def calibration_points(figures, figure_name, min_predictions=30):
    """(mean confidence, observed share within +-20 %) of the bins with at least
    `min_predictions` predictions."""
    bins = figures[figure_name]["calibration"]["bins"]
    return ([b["mean_confidence"] for b in bins if b["predictions"] >= min_predictions],
            [b["observed_within_20pct"] for b in bins if b["predictions"] >= min_predictions])


def plot_calibration(ax, figures, shown, title="calibration, all series"):
    """Mean confidence per bin against the observed share within +-20 %, y = x dashed."""
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="calibrated")
    for name, figure_name, _ in shown:
        xs, ys = calibration_points(figures, figure_name)
        if xs and all(not math.isnan(v) for v in xs + ys):
            ax.plot(xs, ys, marker="o", lw=1, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (bins with >= 30 predictions)")
    ax.set_ylabel("observed share within +-20 %")
    ax.set_title(title)
    ax.legend(fontsize=8)


def predictor_figure(figures, rows, series=None, target=None, seconds=0, path="predictions"):
    """Predicted against actual for one series and target (default: the first of each) and the
    calibration beside it."""
    target = target or figures["evaluation"]["targets"][0]
    series = series or rows[0]["series"]
    rows = select_rows(rows, series, target, seconds, path)
    shown = shown_predictors(figures, target)
    fig, (ax, cal) = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [2.3, 1]})
    plot_predicted(ax, figures, rows, series, target, shown)
    plot_calibration(cal, figures, shown)
    fig.tight_layout()
    return fig


def main():
    matplotlib.use("Agg")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_json")
    ap.add_argument("predictions_csv")
    ap.add_argument("--out", default="predicted.png")
    ap.add_argument("--series", default=None, help="the series to plot (default: the first)")
    ap.add_argument("--target", default=None, help="the target to plot (default: the first)")
    ap.add_argument("--seconds", type=float, default=0, help="plot only this much (0: all)")
    args = ap.parse_args()
    try:
        figures = load_eval(args.eval_json)
        rows = load_predictions(args.predictions_csv)
        fig = predictor_figure(figures, rows, args.series, args.target, args.seconds,
                               args.predictions_csv)
    except PredictorError as e:
        fail(str(e))
    fig.savefig(args.out, dpi=110)
    print(f"plot_predictor.py: wrote {args.out}")


if __name__ == "__main__":
    main()
