# C-STORE ingest section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids).
# 2,000 images of 512x512x16 bit, one storescu association and 4 in parallel, each server
# starting from an empty archive; median of INGEST_RUNS runs, qrscpd and dcmqrscp alternating.
# qrscpd makes every object durable before answering (fdatasync of the file, rename, fsync of
# its directory, index row; grouped across associations); dcmqrscp writes without fsync.
#
# Two things keep the comparison honest:
# - dcmqrscp's parallel run gets one storage area (AE title) per association: with 4
#   associations storing into one area its processes corrupt each other's index.dat and
#   refuse or lose images (seen here: 11 of 2,000 stored). Each server's stored count is
#   checked; a run that lost images gives no ratio.
# - No run directory is deleted until the section ends: on ext4 without a journal (this
#   machine's disk) the inode allocator skips inodes freed in the last 5-35 s, so files
#   created right after a large delete cost several times the CPU, and the server measured
#   next would pay for the previous run's clean-up.
# - Every run is followed by a sync (not timed): dcmqrscp leaves its gigabyte of images in
#   the page cache, and without it the next run's fsyncs would wait behind that write-back.
# The last line is the disk's own ceiling for such files (bench-fsync-ceiling.py), measured
# in the same run, like iperf3 for the retrieve section.
INGEST_SERIES="${INGEST_SERIES:-4}"
INGEST_PER_SERIES="${INGEST_PER_SERIES:-500}"
INGEST_RUNS="${INGEST_RUNS:-3}"
ingest_count=$((INGEST_SERIES * INGEST_PER_SERIES))

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# dcmqrscp forks a child per association: its children's CPU is in the parent's cutime/cstime.
cpu_ticks_with_children() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }

echo
echo "== C-STORE ingest: $ingest_count images of 512x512x16 bit"
"$bin/qrscpd-samples" bulk "$work/ingest" --studies 1 --series-per-study "$INGEST_SERIES" \
    --instances-per-series "$INGEST_PER_SERIES" --image-size 512 --run 11 | sed 's/^/   /'
ingest_bytes=$(du -sb "$work/ingest" | awk '{print $1}')
series_dirs=($(find "$work/ingest" -mindepth 3 -maxdepth 3 -type d | sort))
needed=$((ingest_bytes * (4 * INGEST_RUNS + 2)))
if [ "$(df -B1 --output=avail "$work" | tail -1)" -lt "$needed" ]; then
    echo "   not enough disk space for $((4 * INGEST_RUNS)) ingest runs ($needed bytes): C-STORE skipped" >&2
    return 0
fi
ingest_results="$work/ingest.jsonl"
: >"$ingest_results"

# storescu_run PARALLEL PORT AE_PREFIX: one association over all images, or one per series
# directory (AE_PREFIX1..N when the server wants one title per association, else AE_PREFIX).
storescu_run() {
    local parallel="$1" port="$2" ae="$3" per_assoc_ae="${4:-}" i=0 ps=() p dir
    if [ "$parallel" = 1 ]; then
        TCP_NODELAY=1 /usr/bin/storescu -aec "$ae" +sd +r -q 127.0.0.1 "$port" "$work/ingest"
        return
    fi
    for dir in "${series_dirs[@]}"; do
        i=$((i + 1))
        TCP_NODELAY=1 /usr/bin/storescu -aec "$ae${per_assoc_ae:+$i}" +sd +r -q 127.0.0.1 "$port" "$dir" & ps+=($!)
    done
    for p in "${ps[@]}"; do wait "$p" || true; done
}

# record SERVER PARALLEL T0 T1 TICKS STORED
record() {
    python3 -c '
import json, sys
server, par, t0, t1, ticks, stored, hz = sys.argv[1:8]
print(json.dumps({"server": server, "parallel": int(par), "seconds": float(t1) - float(t0),
                  "cpu": int(ticks) / int(hz), "stored": int(stored)}))' "$@" "$(getconf CLK_TCK)" >>"$ingest_results"
}

run_qrscpd_ingest() {  # PARALLEL RUN
    local dir="$work/q-ingest-$1-$2"; mkdir -p "$dir"
    local port; port=$(free_port)
    "$server" "$port" QRSCPD --storage-dir "$dir" --index-db "$dir.sqlite" --bind 127.0.0.1 \
        --max-assoc 16 --log-level warning >>"$work/qrscpd-ingest.log" 2>&1 &
    local pid=$!; pids+=("$pid"); wait_port "$port"
    local before after t0 t1
    before=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
    storescu_run "$1" "$port" QRSCPD
    t1=$(date +%s.%N); after=$(cpu_ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    record qrscpd "$1" "$t0" "$t1" $((after - before)) "$(find "$dir" -name '*.dcm' | wc -l)"
}

run_dcmqrscp_ingest() {  # PARALLEL RUN
    local dir="$work/d-ingest-$1-$2" i areas=""
    for i in $(seq 1 "$INGEST_SERIES"); do
        mkdir -p "$dir/$i"
        areas+="DCMQRSCP$i   $dir/$i   RW (500, 8192mb)   ANY"$'\n'
    done
    local port; port=$(free_port)
    cat >"$dir.cfg" <<CFG
NetworkTCPPort  = $port
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
${areas}AETable END
CFG
    TCP_NODELAY=1 dcmqrscp -c "$dir.cfg" >>"$work/dcmqrscp-ingest.log" 2>&1 &
    local pid=$!; pids+=("$pid"); wait_port "$port"
    local before after t0 t1
    before=$(cpu_ticks_with_children "$pid"); t0=$(date +%s.%N)
    if [ "$1" = 1 ]; then storescu_run 1 "$port" DCMQRSCP1; else storescu_run "$1" "$port" DCMQRSCP per-association; fi
    t1=$(date +%s.%N)
    sleep 1  # let the per-association children exit so that their CPU is accounted
    after=$(cpu_ticks_with_children "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    record dcmqrscp "$1" "$t0" "$t1" $((after - before)) "$(find "$dir" -type f ! -name 'index.dat' | wc -l)"
}

for parallel in 1 "$INGEST_SERIES"; do
    for run in $(seq 1 "$INGEST_RUNS"); do
        run_qrscpd_ingest "$parallel" "$run"; sync
        run_dcmqrscp_ingest "$parallel" "$run"; sync
    done
done

ceiling="$work/fsync-ceiling.jsonl"
python3 scripts/bench-fsync-ceiling.py "$work/fsync-ceiling-1" 1 400 >"$ceiling"
python3 scripts/bench-fsync-ceiling.py "$work/fsync-ceiling-$INGEST_SERIES" "$INGEST_SERIES" 800 >>"$ceiling"

python3 - "$ingest_results" "$ceiling" "$ingest_count" "$ingest_bytes" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ceilings = {c["writers"]: c for c in (json.loads(l) for l in open(sys.argv[2]) if l.strip())}
n, b = int(sys.argv[3]), int(sys.argv[4])
gb = b / 1e9
print("%-34s %10s %10s %12s %8s %8s" % ("ingest (median run)", "images/s", "MB/s", "CPU s/GB", "stored", "ratio"))
for par in sorted({r["parallel"] for r in runs}):
    label = "1 association" if par == 1 else "%d associations in parallel" % par
    rows = {}
    for server in ("qrscpd", "dcmqrscp"):
        mine = sorted((r for r in runs if r["server"] == server and r["parallel"] == par), key=lambda r: r["seconds"])
        rows[server] = mine[len(mine) // 2]
        rows[server]["complete"] = all(r["stored"] >= n for r in mine)
        rows[server]["worst_stored"] = min(r["stored"] for r in mine)
    q, d = rows["qrscpd"], rows["dcmqrscp"]
    ratio = "%.2fx" % (d["seconds"] / q["seconds"]) if q["complete"] and d["complete"] else "n/a"
    for server, r in (("qrscpd", q), ("dcmqrscp", d)):
        print("%-34s %10.0f %10.0f %12.2f %8s %8s" % (
            "%-8s %s" % (server, label), n / r["seconds"], b / 1e6 / r["seconds"], r["cpu"] / gb,
            "%d" % r["worst_stored"] if not r["complete"] else "all", ratio if server == "qrscpd" else ""))
    if not (q["complete"] and d["complete"]):
        print("   a server lost or refused images in some run: no ratio")
for writers, c in sorted(ceilings.items()):
    print("%-34s %10.0f %10.0f   (write, fdatasync, rename, directory fsync; no network)" % (
        "disk ceiling, %d writer%s" % (writers, "" if writers == 1 else "s"), c["files_per_s"], c["mb_per_s"]))
PY
echo "durability: qrscpd fdatasyncs each file, fsyncs its directory and commits the index row"
echo "before its C-STORE-RSP (group commit across associations); dcmqrscp writes without fsync"
echo "and, for 4 associations, stores into 4 areas (one AE title each; one shared area loses images)."
