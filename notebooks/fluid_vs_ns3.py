"""The fluid backend against ns-3: the calibration cases of a `linklab bench sim` report
(`calibration`: a scenario's bottleneck throughput and p95 delay; `calibration_class`: per class
under shaping) and `linklab eval` tables of the same policies on both backends, as scatter
plots of fluid against ns-3 with the y = x line and relative gaps. What
notebooks/calibration.ipynb shows; no command line.

Needs Debian's python3-matplotlib.
"""
import re

import numpy as np

# Per-class calibration metrics (sim/calibration.h), with a log axis or not.
CLASS_METRICS = [("throughput_mbps", "throughput Mbit/s", True),
                 ("delay_p95_ms", "one-way delay p95 ms", True),
                 ("rtt_p95_ms", "game RTT p95 ms", True),
                 ("game_loss_rate", "game loss rate", False),
                 ("video_bitrate_kbps", "video bitrate kbit/s", True),
                 ("video_stall_s", "video stall s", False),
                 ("fct_ms", "web page ms", True)]

# Eval table figures per policy: (key or (key, class, key), title, log axis).
EVAL_METRICS = [("reward_mean", "reward per step", False),
                ("link_util", "link utilisation", False),
                ("video_kbps", "video kbit/s", True),
                ("video_stall_s_per_min", "video stall s/min", False),
                ("gaming_rtt_p95_ms", "game RTT p95 ms", True),
                ("web_page_ms", "web page ms", True)]


def short_scenario(spec):
    """A scenario spec with trace paths cut to their file names."""
    return re.sub(r"trace=[^,()]*/", "trace=", spec)


def report_rows(report, case):
    """The rows of a bench report of one case (`calibration`, `calibration_class`) that ran."""
    return [r for r in report.get("results", []) if r.get("case") == case and "skipped" not in r]


def skipped_rows(report):
    """(case, why) of the calibration cases the report skipped (a missing trace, ...)."""
    return [(r["case"], r["skipped"]) for r in report.get("results", [])
            if r.get("case", "").startswith("calibration") and "skipped" in r]


def gap(fluid, ns3):
    """fluid / ns3 - 1, or None where either is missing or ns3 is 0."""
    if fluid is None or ns3 is None or ns3 == 0 or fluid != fluid or ns3 != ns3:
        return None
    return fluid / ns3 - 1.0


def pct(g, bold=False):
    """A relative gap as '+4.0 %' ('–' if None), in bold when `bold`."""
    if g is None:
        return "–"
    text = f"{100 * g:+.1f} %"
    return f"**{text}**" if bold else text


def plot_against(ax, ns3, fluid, title, log=True, **style):
    """Fluid (y) against ns-3 (x) as points (matplotlib scatter `style`); points with a
    missing value (or <= 0 on a log axis) are left out. Returns how many were drawn."""
    pts = [(x, y) for x, y in zip(ns3, fluid) if x is not None and y is not None
           and x == x and y == y and (not log or (x > 0 and y > 0))]
    if pts:
        xs, ys = zip(*pts)
        ax.scatter(xs, ys, **style)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("ns-3", fontsize=8)
    ax.set_ylabel("fluid", fontsize=8)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.tick_params(which="both", labelsize=7)
    ax.grid(True, alpha=0.3)
    return len(pts)


def finish_diagonal(ax, log=True, target=None):
    """The y = x line over the axes' range (after every plot_against on them), with the
    target band."""
    lo = min(ax.get_xlim()[0], ax.get_ylim()[0])
    hi = max(ax.get_xlim()[1], ax.get_ylim()[1])
    x = np.geomspace(lo, hi, 50) if log and lo > 0 else np.linspace(lo, hi, 50)
    ax.plot(x, x, color="grey", lw=0.8, ls="--", zorder=0)
    if target:
        ax.fill_between(x, x * (1 - target), x * (1 + target), color="grey", alpha=0.12, lw=0,
                        zorder=0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)


def eval_value(row, key):
    """A policy row's figure: `key` a table key or (\"classes\", class, key)."""
    if isinstance(key, tuple):
        return row["classes"].get(key[1], {}).get(key[2])
    return row.get(key)


def pair_policies(fluid_table, ns3_table):
    """[(policy, fluid row, ns-3 row)] of the policies both tables evaluated, in ns-3's order."""
    fluid = {p["policy"]: p for p in fluid_table["policies"]}
    return [(p["policy"], fluid[p["policy"]], p) for p in ns3_table["policies"]
            if p["policy"] in fluid]


def differences(fluid_table, ns3_table):
    """What else differs between two eval tables than the backend: env parameters (the
    scenario's without `backend`), seeds and traces, as 'key: fluid | ns-3' lines."""
    out = []
    ef, en = dict(fluid_table["env_params"]), dict(ns3_table["env_params"])
    drop = re.compile(r",?backend=\w+")
    ef["scenario"] = drop.sub("", ef.get("scenario", ""))
    en["scenario"] = drop.sub("", en.get("scenario", ""))
    for k in sorted(set(ef) | set(en)):
        if ef.get(k) != en.get(k):
            out.append(f"env {k}: {ef.get(k)} | {en.get(k)}")
    for k in ("seeds", "traces"):
        if fluid_table.get(k) != ns3_table.get(k):
            out.append(f"{k}: {fluid_table.get(k)} | {ns3_table.get(k)}")
    return out


def kendall_tau(a, b):
    """Kendall's tau-a between two equally long sequences of numbers (1: the same order)."""
    n, s = len(a), 0
    for i in range(n):
        for j in range(i + 1, n):
            s += np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
    return s / (n * (n - 1) / 2) if n > 1 else float("nan")

