#!/usr/bin/env python3
"""Live against simulated: `linklab bench live`'s report beside `linklab eval` tables of the same
capacity and classes (experiments/reference/live.sh). For each of none, autorate and the learned
policy: the throughput as a fraction of no shaping's, and the 95th percentile of the latency
probe's RTT under load (live: ping, every reply; sim: the game's RTT, the 95th percentile over
steps of each step's p95), with the differences.

usage: live_vs_sim.py LIVE.json EVAL_DIR [EVAL_DIR...] [--out FILE.md]
"""
import argparse
import json
import os
import sys


def backend_of(table):
    """'ns3' or 'fluid': the backend of a `linklab eval` table's scenario."""
    return "ns3" if "backend=ns3" in table["env_params"].get("scenario", "") else "fluid"


def live_rows(report):
    rows = {}
    for r in report.get("results", []):
        if "total_mbps" not in r:
            continue
        rows[r["mode"]] = {"fraction": r.get("fraction_of_none"),
                           "p95_ms": r.get("ping_loaded", {}).get("p95_ms"),
                           "mbps": r["total_mbps"]}
    return rows


def sim_rows(table):
    rows, none = {}, None
    for p in table["policies"]:
        mbps = sum(c["mbps"] for c in p["classes"].values())
        name = p["policy"] if p["kind"] == "baseline" else "learned"
        rows[name] = {"mbps": mbps, "p95_ms": p.get("gaming_rtt_p95_tail_ms")}
        if name == "none":
            none = mbps
    for r in rows.values():
        r["fraction"] = r["mbps"] / none if none else None
    return rows


def fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("live")
    ap.add_argument("evals", nargs="+")
    ap.add_argument("--out")
    a = ap.parse_args()
    live = live_rows(json.load(open(a.live)))
    sims = []
    for d in a.evals:
        t = json.load(open(os.path.join(d, "table.json")))
        sims.append((backend_of(t), sim_rows(t)))
    head = "| policy | live: of none | live: ping p95 ms |"
    sep = "|---|---|---|"
    for b, _ in sims:
        head += f" {b}: of none | {b}: game RTT p95 ms | live - {b}: of none | live / {b}: p95 |"
        sep += "---|---|---|---|"
    lines = ["# linklab-live against the simulator", "",
             f"Live: {a.live}. Simulated: {', '.join(a.evals)}.", "",
             "Throughput as a fraction of no shaping's in the same setting; the latency probe's "
             "RTT p95 under load (live: ping; sim: the game's).", "", head, sep]
    for name in ("none", "autorate", "learned"):
        if name not in live:
            continue
        l = live[name]
        row = f"| {name} | {fmt(l['fraction'])} | {fmt(l['p95_ms'], 0)} |"
        for _, s in sims:
            r = s.get(name)
            if not r:
                row += " – | – | – | – |"
                continue
            diff = None if l["fraction"] is None or r["fraction"] is None else l["fraction"] - r["fraction"]
            ratio = None if not r["p95_ms"] or l["p95_ms"] is None else l["p95_ms"] / r["p95_ms"]
            row += f" {fmt(r['fraction'])} | {fmt(r['p95_ms'], 0)} | {fmt(diff)} | {fmt(ratio)} |"
        lines.append(row)
    text = "\n".join(lines) + "\n"
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            f.write(text)
        os.replace(a.out + ".tmp", a.out)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
