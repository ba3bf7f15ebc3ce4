#!/usr/bin/env python3
"""Tables, ratios and targets of the TLS section of scripts/bench, from its results file.

usage: bench-tls-report.py RESULTS.jsonl
Each line: {"kind": assoc|find|get|floor, "server", "transport": plain|tls, "name", "r"}, where r is
for assoc {rate, cpu_per_1000, failures}; for find qrscpd-bench's find JSON; for get
{"client": the client's JSON, "server_cpu": s, "rss_kb"}; for floor bench-tls-floor.py's JSON.
A null r (or client) is a failed run: it is counted and left out of the medians.
"""
import json
import sys

TARGETS = "issue 14"


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else None


def verdict(value, ok):
    """ok(value) as a verdict; a figure not measured (None) is said so."""
    if value is None:
        return "not measured"
    return "meets target" if ok(value) else "MISSES target"


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, spec="%.2f"):
    return spec % value if value is not None else "-"


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    assoc, finds, gets, floors, failed, cipher = {}, {}, {}, {}, [], None
    for row in rows:
        key = (row["server"], row["transport"])
        r = row["r"]
        if row["kind"] == "assoc":
            assoc[key] = r
        elif row["kind"] == "find":
            if r is None:
                failed.append(f"C-FIND {row['name']} {key}")
            finds[key + (row["name"],)] = r
        elif row["kind"] == "get":
            client = r["client"]
            if not client or client.get("status") not in ("0000", None) or client.get("failed", 0):
                failed.append(f"C-GET {row['name']} {key}")
                continue
            if client["images"] != 400:
                failed.append(f"C-GET {row['name']} {key}: {client['images']} images, not 400")
            gb = client["bytes"] / 1e9
            gets.setdefault(key + (row["name"],), []).append({
                "seconds": client["seconds"], "gb_s": gb / client["seconds"], "cpu_gb": r["server_cpu"] / gb,
                "rss_mb": r["rss_kb"] / 1024, "client_cpu": client["client_cpu_seconds"], "images": client["images"],
                "tls": client.get("tls", "plain"),
            })
        elif row["kind"] == "floor" and row["name"] == "cipher" and r:
            cipher = r
        elif row["kind"] == "floor" and r:
            floors.setdefault(row["transport"], []).append(r)

    print()
    print("C-FIND latency on one association (qrscpd-bench find), median / p95 ms")
    print("%-34s %16s %16s %16s %16s" % ("query", "qrscpd plain", "qrscpd TLS", "Orthanc plain", "Orthanc TLS"))
    for name, title in (("exact-patient", "exact PatientID (study level)"), ("image-400", "IMAGE level, 400 responses")):
        cells = []
        for key in (("qrscpd", "plain"), ("qrscpd", "tls"), ("orthanc", "plain"), ("orthanc", "tls")):
            r = finds.get(key + (name,))
            cells.append("%7.3f / %-7.3f" % (r["median_ms"], r["p95_ms"]) if r else "-")
        print("%-34s %16s %16s %16s %16s" % (title, *cells))
    expected = {"exact-patient": 1, "image-400": 400}
    for key, r in sorted(finds.items()):
        if r and r["responses_per_query"] != expected[key[2]]:
            failed.append(f"C-FIND {key[2]} {key[:2]}: {r['responses_per_query']} responses, not {expected[key[2]]}")

    print()
    print(f"C-GET of the 400-image study, median of the runs")
    print("%-34s %8s %8s %10s %8s %10s  %s" % ("server, transport, client", "s", "GB/s", "CPU s/GB", "RSS MB",
                                               "client CPU", "negotiated"))
    summary = {}
    for key in sorted(gets):
        runs = gets[key]
        m = {field: median([run[field] for run in runs]) for field in ("seconds", "gb_s", "cpu_gb", "client_cpu")}
        m["rss_mb"] = max(run["rss_mb"] for run in runs)
        m["tls"] = runs[0]["tls"]
        summary[key] = m
        print("%-34s %8.3f %8.3f %10.3f %8.1f %10.2f  %s" % (", ".join(key), m["seconds"], m["gb_s"], m["cpu_gb"],
                                                            m["rss_mb"], m["client_cpu"], m["tls"]))
    floor = {}
    for transport, runs in sorted(floors.items()):
        floor[transport] = {"gb_s": median([r["gb_per_s"] for r in runs]), "cpu_gb": median([r["cpu_s_per_gb"] for r in runs])}
        print("%-34s %8s %8.3f %10.3f %8s %10s  %s" % (f"floor, {transport} (bench-tls-floor.py)", "",
                                                        floor[transport]["gb_s"], floor[transport]["cpu_gb"], "", "",
                                                        runs[0]["tls"]))

    if cipher:
        print("%-34s %8s %8.3f %10.3f %8s %10s  %s" % ("cipher alone, one core (openssl speed)", "",
                                                        cipher["gb_per_s"], 1 / cipher["gb_per_s"], "", "",
                                                        cipher["cipher"]))

    def get(server, transport, client, field):
        m = summary.get((server, transport, client))
        return m[field] if m else None

    print()
    print(f"ratios and targets ({TARGETS})")
    q_rate, o_rate = (assoc.get(("qrscpd", "tls")) or {}).get("rate"), (assoc.get(("orthanc", "tls")) or {}).get("rate")
    x = ratio(q_rate, o_rate)
    print(f"  TLS associations/s, qrscpd / Orthanc: {fmt(x)}x (target >= 2x) -> {verdict(x, lambda v: v >= 2)}")
    x = ratio(q_rate, (assoc.get(("qrscpd", "plain")) or {}).get("rate"))
    print(f"  qrscpd associations/s, TLS / plain: {fmt(x)}")
    for name in ("exact-patient", "image-400"):
        q_tls, q_plain = finds.get(("qrscpd", "tls", name)), finds.get(("qrscpd", "plain", name))
        o_tls = finds.get(("orthanc", "tls", name))
        print(f"  C-FIND {name}: qrscpd TLS / plain latency {fmt(ratio(q_tls and q_tls['median_ms'], q_plain and q_plain['median_ms']))}x; "
              f"Orthanc TLS / qrscpd TLS latency {fmt(ratio(o_tls and o_tls['median_ms'], q_tls and q_tls['median_ms']))}x")
    gbs = get("qrscpd", "tls", "qrscpd-bench", "gb_s")
    print(f"  C-GET over TLS, qrscpd-bench: {fmt(gbs, '%.3f')} GB/s (target >= 1 GB/s) -> {verdict(gbs, lambda v: v >= 1)}")
    for client in ("qrscpd-bench", "pynetdicom"):
        x = ratio(get("qrscpd", "tls", client, "cpu_gb"), get("orthanc", "tls", client, "cpu_gb"))
        print(f"  server CPU/GB over TLS, qrscpd / Orthanc ({client}): {fmt(x)} (target <= 0.5) -> "
              f"{verdict(x, lambda v: v <= 0.5)}")
        x = ratio(get("qrscpd", "tls", client, "cpu_gb"), get("qrscpd", "plain", client, "cpu_gb"))
        y = ratio(get("qrscpd", "tls", client, "gb_s"), get("qrscpd", "plain", client, "gb_s"))
        print(f"  qrscpd TLS / plain ({client}): GB/s {fmt(y)}x, CPU/GB {fmt(x)}x")
    peaks = [m["rss_mb"] for key, m in summary.items() if key[0] == "qrscpd"]
    peak = max(peaks) if peaks else None
    print(f"  qrscpd peak RSS under C-GET load: {fmt(peak, '%.1f')} MB (target < 64 MB) -> {verdict(peak, lambda v: v < 64)}")
    if "tls" in floor:
        print(f"  qrscpd C-GET over TLS (qrscpd-bench) / TLS floor: GB/s {fmt(ratio(gbs, floor['tls']['gb_s']))}x, "
              f"server CPU/GB {fmt(ratio(get('qrscpd', 'tls', 'qrscpd-bench', 'cpu_gb'), floor['tls']['cpu_gb']))}x")
    if "plain" in floor:
        print(f"  qrscpd C-GET plain (qrscpd-bench) / plain floor: GB/s "
              f"{fmt(ratio(get('qrscpd', 'plain', 'qrscpd-bench', 'gb_s'), floor['plain']['gb_s']))}x, server CPU/GB "
              f"{fmt(ratio(get('qrscpd', 'plain', 'qrscpd-bench', 'cpu_gb'), floor['plain']['cpu_gb']))}x")
    for failure in failed:
        print(f"  warning: failed run: {failure}")


if __name__ == "__main__":
    main()
