#!/usr/bin/env python3
"""Tables and target check for the C-GET / C-MOVE section of scripts/bench.

usage: bench-retrieve-report.py RESULTS.jsonl LOOPBACK_GBPS
Each line of RESULTS is one run: study, label, client, server, seconds, images, expected,
bytes (the study's size on disk), server_cpu (s), rss_kb (server peak; dcmqrscp: its child),
client_cpu (s, our client only). Per study, client and server the median of the runs is shown
(each column its own median), with the ratio qrscpd/dcmqrscp, then the issue's targets.
"""
import json
import statistics
import sys

runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
loopback = float(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] not in ("", "nan") else None

CLIENTS = [
    ("getscu", "C-GET  getscu -> tmpfs"),
    ("movescu", "C-MOVE movescu -> storescp (tmpfs)"),
    ("bench-get", "C-GET  qrscpd-bench (discarding)"),
    ("bench-move", "C-MOVE qrscpd-bench -> discarding sink"),
]
SERVERS = ("qrscpd", "dcmqrscp")


def med(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


summary = {}  # (study, client, server) -> figures
studies = []
for r in runs:
    if r["study"] not in [s for s, _ in studies]:
        studies.append((r["study"], r["label"]))

for study, label in studies:
    rows_of_study = [r for r in runs if r["study"] == study]
    size = rows_of_study[0]["bytes"]
    nruns = max(r["run"] for r in rows_of_study)
    print()
    print(f"-- {label}, {size / 1e6:.1f} MB on disk; median of {nruns} run(s)")
    print("%-40s %-9s %8s %9s %8s %9s %9s %8s" % ("client", "server", "seconds", "images/s", "MB/s",
                                               "CPU s/GB", "RSS MB", "cli CPU"))
    for client, title in CLIENTS:
        figures = {}
        for server in SERVERS:
            rows = [r for r in rows_of_study if r["client"] == client and r["server"] == server]
            if not rows:
                continue
            bad = [r for r in rows if r["images"] != r["expected"]]
            seconds = med(rows, "seconds")
            cpu = med(rows, "server_cpu")
            f = {
                "seconds": seconds,
                "images_s": rows[0]["expected"] / seconds,
                "mb_s": size / 1e6 / seconds,
                "cpu_gb": cpu / (size / 1e9),
                "rss_mb": max(r["rss_kb"] for r in rows) / 1024,
                "client_cpu": med(rows, "client_cpu"),
                "incomplete": len(bad),
            }
            figures[server] = f
            summary[(study, client, server)] = f
            cli = "%8.2f" % f["client_cpu"] if f["client_cpu"] is not None else "%8s" % "-"
            images_s = "%9.0f" % f["images_s"] if f["images_s"] >= 100 else "%9.2f" % f["images_s"]
            print("%-40s %-9s %8.3f %s %8.0f %9.3f %9.1f %s" % (
                title, server, f["seconds"], images_s, f["mb_s"], f["cpu_gb"], f["rss_mb"], cli))
            if bad:
                print(f"   warning: {len(bad)} run(s) received {bad[0]['images']} of {bad[0]['expected']} images")
        if len(figures) == 2:
            q, d = figures["qrscpd"], figures["dcmqrscp"]
            print("%-40s %-9s %7.2fx %8.2fx %7.2fx %8.2fx %8.2fx" % (
                "", "q/d", q["seconds"] / d["seconds"], q["images_s"] / d["images_s"], q["mb_s"] / d["mb_s"],
                q["cpu_gb"] / d["cpu_gb"] if d["cpu_gb"] else float("nan"), q["rss_mb"] / d["rss_mb"]))

print()
if loopback is not None:
    print(f"loopback ceiling (iperf3, one TCP stream on 127.0.0.1, 3 s): {loopback:.2f} GB/s")
print("targets (issue 4):")


def verdict(ok):
    return "met" if ok else "MISSED"


cpu_ratios = [(s, c, summary[(s, c, "qrscpd")]["cpu_gb"] / summary[(s, c, "dcmqrscp")]["cpu_gb"])
              for s, _ in studies for c, _ in CLIENTS
              if (s, c, "qrscpd") in summary and (s, c, "dcmqrscp") in summary
              and summary[(s, c, "dcmqrscp")]["cpu_gb"] > 0]
if cpu_ratios:
    worst = max(cpu_ratios, key=lambda t: t[2])
    print(f"  server CPU per GB <= 1/3 of dcmqrscp's: worst ratio {worst[2]:.2f} ({worst[0]}, {worst[1]}); "
          f"best {min(t[2] for t in cpu_ratios):.2f} -> {verdict(worst[2] <= 1 / 3)}")
large = studies[-1][0]
for client in ("bench-get", "bench-move"):
    f = summary.get((large, client, "qrscpd"))
    if f:
        gbs = f["mb_s"] / 1000
        print(f"  >= 1.5 GB/s with the discarding client on {large}, {client}: {gbs:.2f} GB/s -> {verdict(gbs >= 1.5)}")
walls = [(s, c, summary[(s, c, "qrscpd")]["seconds"] / summary[(s, c, "dcmqrscp")]["seconds"])
         for s, _ in studies for c in ("getscu", "movescu")
         if (s, c, "qrscpd") in summary and (s, c, "dcmqrscp") in summary]
if walls:
    worst = max(walls, key=lambda t: t[2])
    print(f"  wall time with DCMTK clients no worse than dcmqrscp: worst ratio {worst[2]:.2f} "
          f"({worst[0]}, {worst[1]}) -> {verdict(worst[2] <= 1.0)}")
for s, _ in studies:
    peaks = [summary[(s, c, "qrscpd")]["rss_mb"] for c, _ in CLIENTS if (s, c, "qrscpd") in summary]
    if peaks:
        print(f"  qrscpd peak RSS < 64 MB on {s}: {max(peaks):.1f} MB -> {verdict(max(peaks) < 64)}")
