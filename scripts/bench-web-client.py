#!/usr/bin/env python3
"""HTTP client of the DICOMweb benchmark (scripts/bench-web.sh): one keep-alive connection,
requests one after the other, the same for every server. Prints one JSON object per call.

usage:
  bench-web-client.py get PORT REPEATS TEMPLATE [--count N] [--accept A] [--pid PID]
      GET TEMPLATE REPEATS times; "{n}" in it becomes 1 + (i * 97) % N (a spread of values).
      Reports latency (median, p95, first), bytes and JSON items of the last response.
  bench-web-client.py frames PORT SERIES_PATH UID_FILE [--pid PID]
      GET SERIES_PATH/instances/{uid}/frames/1 for every SOP Instance UID in UID_FILE.
  bench-web-client.py stow PORT DIR [--pid PID]
      POST every *.dcm under DIR to /dicom-web/studies, one instance per request.
  bench-web-client.py load PORT DIR
      POST every *.dcm under DIR to Orthanc's REST API (/instances), to fill it.
  bench-web-client.py uids PORT SERIES_PATH
      Prints the SOP Instance UIDs of a series (QIDO-RS), sorted by InstanceNumber.
With --pid, the server's CPU seconds (utime + stime from /proc) over the measured requests
are reported too; client_cpu_seconds is this process's own CPU time.
"""
import http.client
import json
import os
import statistics
import sys
import time

FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1'
BOUNDARY = "qrscpd-bench-web-boundary-6e1f"


def server_cpu(pid):
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def client_cpu():
    t = os.times()
    return t.user + t.system


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def options(args):
    opts = {}
    rest = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            opts[args[i][2:]] = args[i + 1]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    return rest, opts


def dicom_files(directory):
    found = []
    for root, _, names in os.walk(directory):
        found.extend(os.path.join(root, n) for n in names if n.endswith(".dcm"))
    return sorted(found)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def cmd_get(port, repeats, template, opts):
    count = int(opts.get("count", "1"))
    headers = {"Accept": opts.get("accept", "application/dicom+json")}
    pid = int(opts["pid"]) if "pid" in opts else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    times, size, items = [], 0, 0
    cpu0, scpu0 = client_cpu(), server_cpu(pid)
    start = time.perf_counter()
    for i in range(repeats):
        path = template.replace("{n}", str(1 + (i * 97) % count))
        t0 = time.perf_counter()
        status, data = request(conn, "GET", path, headers=headers)
        times.append(time.perf_counter() - t0)
        if status not in (200, 204):
            fail(f"GET {path}: HTTP {status}: {data[:200]!r}")
        size = len(data)
        items = len(json.loads(data)) if data else 0
    seconds = time.perf_counter() - start
    first = times[0]
    times.sort()
    print(json.dumps({
        "median_ms": statistics.median(times) * 1e3, "p95_ms": times[int(0.95 * (len(times) - 1))] * 1e3,
        "first_ms": first * 1e3, "requests": repeats, "seconds": seconds, "bytes": size, "items": items,
        "server_cpu_seconds": server_cpu(pid) - scpu0, "client_cpu_seconds": client_cpu() - cpu0,
    }))


def cmd_frames(port, series_path, uid_file, opts):
    uids = [u for u in open(uid_file).read().split() if u]
    pid = int(opts["pid"]) if "pid" in opts else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    total = 0
    cpu0, scpu0 = client_cpu(), server_cpu(pid)
    start = time.perf_counter()
    for uid in uids:
        path = f"{series_path}/instances/{uid}/frames/1"
        status, data = request(conn, "GET", path, headers={"Accept": FRAME_ACCEPT})
        if status != 200:
            fail(f"GET {path}: HTTP {status}: {data[:200]!r}")
        total += len(data)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "frames": len(uids), "seconds": seconds, "bytes": total,
        "server_cpu_seconds": server_cpu(pid) - scpu0, "client_cpu_seconds": client_cpu() - cpu0,
    }))


def cmd_stow(port, directory, opts):
    files = dicom_files(directory)
    pid = int(opts["pid"]) if "pid" in opts else None
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
               "Accept": "application/dicom+json"}
    bodies = []
    for path in files:  # read before timing: the figure is the server's, not our disk's
        with open(path, "rb") as f:
            part = f.read()
        bodies.append(b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + part
                      + b"\r\n--" + BOUNDARY.encode() + b"--\r\n")
    largest = max(len(b) for b in bodies)
    cpu0, scpu0 = client_cpu(), server_cpu(pid)
    start = time.perf_counter()
    for path, body in zip(files, bodies):
        status, data = request(conn, "POST", "/dicom-web/studies", body=body, headers=headers)
        if status != 200:
            fail(f"STOW {path}: HTTP {status}: {data[:300]!r}")
    seconds = time.perf_counter() - start
    print(json.dumps({
        "images": len(files), "seconds": seconds, "bytes": sum(len(b) for b in bodies), "largest_request": largest,
        "server_cpu_seconds": server_cpu(pid) - scpu0, "client_cpu_seconds": client_cpu() - cpu0,
    }))


def cmd_load(port, directory):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    files = dicom_files(directory)
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as f:
            status, data = request(conn, "POST", "/instances", body=f.read(),
                                   headers={"Content-Type": "application/dicom"})
        if status != 200:
            fail(f"load {path}: HTTP {status}: {data[:200]!r}")
    print(json.dumps({"files": len(files), "seconds": time.perf_counter() - start}))


def cmd_uids(port, series_path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    status, data = request(conn, "GET", f"{series_path}/instances?includefield=00200013",
                           headers={"Accept": "application/dicom+json"})
    if status != 200:
        fail(f"instances of {series_path}: HTTP {status}")
    rows = json.loads(data)
    rows.sort(key=lambda r: int(r.get("00200013", {}).get("Value", [0])[0]))
    for r in rows:
        print(r["00080018"]["Value"][0])


def main():
    args, opts = options(sys.argv[1:])
    if not args:
        fail(__doc__)
    mode, port = args[0], int(args[1])
    if mode == "get":
        cmd_get(port, int(args[2]), args[3], opts)
    elif mode == "frames":
        cmd_frames(port, args[2], args[3], opts)
    elif mode == "stow":
        cmd_stow(port, args[2], opts)
    elif mode == "load":
        cmd_load(port, args[2])
    elif mode == "uids":
        cmd_uids(port, args[2])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
