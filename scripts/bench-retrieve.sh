# C-GET / C-MOVE section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids, cleanup).
# Two studies, each retrieved from qrscpd and from dcmqrscp by the same four clients:
#   A: RETRIEVE_INSTANCES (400) images of 512x512x16 bit (about 210 MB)
#   B: LARGE_INSTANCES (4) images of LARGE_ROWS x LARGE_COLUMNS (10,000 x 10,000) x 16 bit (about 800 MB)
# Clients: DCMTK getscu (files to tmpfs), DCMTK movescu -> storescp (files to tmpfs), and
# qrscpd-bench get / move (data discarded as it arrives; move goes to its in-process sink).
# Per run: wall time, the server's CPU seconds (utime+stime of the process and of its reaped
# children: dcmqrscp forks one per association) and its peak RSS (VmHWM; dcmqrscp: the child's,
# sampled while it lives; qrscpd's high-water mark is reset before each run).
# Plus the loopback ceiling: iperf3, one TCP stream on 127.0.0.1 for 3 s.
# Figures are medians of RETRIEVE_RUNS (3) runs for A and LARGE_RUNS (2) for B.
RETRIEVE_INSTANCES="${RETRIEVE_INSTANCES:-400}"
LARGE_INSTANCES="${LARGE_INSTANCES:-4}"
LARGE_ROWS="${LARGE_ROWS:-10000}"
LARGE_COLUMNS="${LARGE_COLUMNS:-10000}"
RETRIEVE_RUNS="${RETRIEVE_RUNS:-3}"
LARGE_RUNS="${LARGE_RUNS:-2}"
bulk_root="1.2.826.0.1.3680043.10.1489.9.3"

echo
echo "== C-GET / C-MOVE"
data="$work/retrieve"
large_bytes=$((LARGE_INSTANCES * LARGE_ROWS * LARGE_COLUMNS * 2))
small_bytes=$((RETRIEVE_INSTANCES * 512 * 512 * 2))
# One copy on disk serves both servers (dcmqridx registers the files in place); the DCMTK
# clients write at most one study at a time to tmpfs.
disk_free=$(df -B1 --output=avail "$work" | tail -1)
shm_free=$(df -B1 --output=avail /dev/shm | tail -1)
if [ "$disk_free" -lt $((large_bytes + small_bytes + (1 << 30))) ] || [ "$shm_free" -lt $((large_bytes + (1 << 29))) ]; then
    echo "   not enough space for the ${large_bytes}-byte study (disk $disk_free, /dev/shm $shm_free bytes free): skipped" >&2
    LARGE_INSTANCES=0
fi

"$bin/qrscpd-samples" bulk "$data" --studies 1 --series-per-study 1 --instances-per-series "$RETRIEVE_INSTANCES" \
    --image-size 512 --run 21 | sed 's/^/   /'
studies=("A:$RETRIEVE_RUNS:$bulk_root.21.1.1:$RETRIEVE_INSTANCES:$data/BULK21:$RETRIEVE_INSTANCES images of 512x512x16 bit")
if [ "$LARGE_INSTANCES" -gt 0 ]; then
    "$bin/qrscpd-samples" bulk "$data" --studies 1 --series-per-study 1 --instances-per-series "$LARGE_INSTANCES" \
        --rows "$LARGE_ROWS" --columns "$LARGE_COLUMNS" --run 22 | sed 's/^/   /'
    studies+=("B:$LARGE_RUNS:$bulk_root.22.1.1:$LARGE_INSTANCES:$data/BULK22:$LARGE_INSTANCES images of ${LARGE_ROWS}x${LARGE_COLUMNS}x16 bit")
fi

sink=$(mktemp -d /dev/shm/qrscpd-bench-sink.XXXXXX)
trap 'rm -rf "$sink"; cleanup' EXIT

# Move destinations: DCMTK storescp (for movescu) and qrscpd-bench's sink (for its move mode).
dest_port=$(free_port)
mkdir -p "$sink/move"
TCP_NODELAY=1 /usr/bin/storescp -aet STORESCP -od "$sink/move" "$dest_port" >/dev/null 2>&1 &
pids+=($!)
sink_port=$(free_port)

# qrscpd over the generated archive
rq_port=$(free_port)
"$server" "$rq_port" QRSCPD --storage-dir "$data" --bind 127.0.0.1 --log-level warning \
    --peer "STORESCP:127.0.0.1:$dest_port" --peer "BENCHSINK:127.0.0.1:$sink_port" >>"$work/qrscpd-retrieve.log" 2>&1 &
rq_pid=$!; pids+=("$rq_pid")
for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/"$rq_port") 2>/dev/null && break; sleep 0.1; done

# dcmqrscp over the same files, with both destinations in its host table
rd_port=$(free_port)
mkdir -p "$work/rd-index"
cat >"$work/rd.cfg" <<CFG
NetworkTCPPort  = $rd_port
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
storescp = (STORESCP, 127.0.0.1, $dest_port)
benchsink = (BENCHSINK, 127.0.0.1, $sink_port)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
DCMQRSCP   $work/rd-index   RW (500, 4096mb)   ANY
AETable END
CFG
find "$data" -name '*.dcm' -print0 | xargs -0 /usr/bin/dcmqridx "$work/rd-index"
TCP_NODELAY=1 /usr/bin/dcmqrscp -c "$work/rd.cfg" >"$work/dcmqrscp-retrieve.log" 2>&1 &
rd_pid=$!; pids+=("$rd_pid")
wait_port "$rd_port"

# Loopback ceiling the same day: one iperf3 stream, 3 s.
loopback_gbps=nan
if [ -x /usr/bin/iperf3 ]; then
    ip_port=$(free_port)
    /usr/bin/iperf3 -s -B 127.0.0.1 -p "$ip_port" >/dev/null 2>&1 &
    ip_pid=$!; pids+=("$ip_pid")
    # No connect probe here: iperf3 would take it for a test client. Retry until it listens
    # (with -J, iperf3 3.12 exits 0 and reports a refused connection in the JSON "error").
    for _ in $(seq 1 50); do
        /usr/bin/iperf3 -c 127.0.0.1 -p "$ip_port" -t 3 -J >"$work/iperf3.json" 2>/dev/null || true
        gbps=$(python3 -c '
import json, sys
try:
    print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 8e9))
except (ValueError, KeyError):
    pass' "$work/iperf3.json")
        if [ -n "$gbps" ]; then loopback_gbps=$gbps; break; fi
        sleep 0.1
    done
    kill "$ip_pid" 2>/dev/null || true
    wait "$ip_pid" 2>/dev/null || true
else
    echo "   iperf3 missing (scripts/setup --bench installs it): no loopback ceiling" >&2
fi

cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
# dcmqrscp reaps a finished child within about a second; its CPU counts only once reaped.
wait_reaped() {
    for _ in $(seq 1 100); do
        [ -z "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    echo "   warning: children of $1 still running; their CPU is not counted" >&2
}

results="$work/retrieve.jsonl"
: >"$results"
# run_one STUDY LABEL UID EXPECTED BYTES CLIENT SERVER RUN
run_one() {
    local study="$1" label="$2" uid="$3" expected="$4" bytes="$5" client="$6" server="$7" run="$8"
    local port ae pid watch out before after t0 t1 count sampler rss json client_cpu=null
    if [ "$server" = qrscpd ]; then port=$rq_port; ae=QRSCPD; pid=$rq_pid; watch=self; echo 5 >"/proc/$pid/clear_refs"
    else port=$rd_port; ae=DCMQRSCP; pid=$rd_pid; watch=children; fi
    out="$sink/get"; rm -rf "$out" "$sink/move"/*; mkdir -p "$out"
    rm -f "$work/rss" "$work/rss.ready"
    python3 scripts/bench-peak-rss.py "$pid" "$work/rss" "$watch" &
    sampler=$!
    for _ in $(seq 1 200); do [ -e "$work/rss.ready" ] && break; sleep 0.01; done
    before=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    case "$client" in
        getscu)
            TCP_NODELAY=1 /usr/bin/getscu -S -aec "$ae" -od "$out" -k QueryRetrieveLevel=STUDY \
                -k StudyInstanceUID="$uid" 127.0.0.1 "$port" >/dev/null 2>&1 || true
            count=$(find "$out" -type f | wc -l) ;;
        movescu)
            TCP_NODELAY=1 /usr/bin/movescu -S -aec "$ae" -aem STORESCP -k QueryRetrieveLevel=STUDY \
                -k StudyInstanceUID="$uid" 127.0.0.1 "$port" >/dev/null 2>&1 || true
            count=$(find "$sink/move" -type f | wc -l) ;;
        bench-get)
            json=$("$bin/qrscpd-bench" get "$port" "$ae" "$uid" 2>>"$work/bench-client.log" || true) ;;
        bench-move)
            json=$("$bin/qrscpd-bench" move "$port" "$ae" "$uid" BENCHSINK "$sink_port" 2>>"$work/bench-client.log" || true) ;;
    esac
    t1=$(date +%s.%N)
    [ "$server" = dcmqrscp ] && wait_reaped "$pid"
    after=$(cpu_ticks "$pid")
    kill -TERM "$sampler"; wait "$sampler" || true
    rss=$(cat "$work/rss" 2>/dev/null || echo 0)
    local seconds
    seconds=$(python3 -c "print('%.4f' % ($t1 - $t0))")
    if [ "$client" = bench-get ] || [ "$client" = bench-move ]; then
        # our client times itself (association request to release), without process start-up
        if [ -n "$json" ]; then
            count=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['images'])" "$json")
            seconds=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$json")
            client_cpu=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['client_cpu_seconds'])" "$json")
            [ "$run" = 1 ] && [ "$server" = qrscpd ] && echo "   $client on $study: $json" >>"$work/bench-client.log"
        else
            count=0
        fi
    fi
    printf '{"study": "%s", "label": "%s", "client": "%s", "server": "%s", "run": %d, "seconds": %s, "images": %d, "expected": %d, "bytes": %d, "server_cpu": %s, "rss_kb": %d, "client_cpu": %s}\n' \
        "$study" "$label" "$client" "$server" "$run" "$seconds" "$count" "$expected" "$bytes" \
        "$(python3 -c "print(($after - $before) / $(getconf CLK_TCK))")" "$rss" "$client_cpu" >>"$results"
}

retrieve_start=$(date +%s)
for entry in "${studies[@]}"; do
    IFS=: read -r study runs uid expected dir label <<<"$entry"
    bytes=$(du -sb "$dir" | awk '{print $1}')
    echo "   study $study: $label, $bytes bytes"
    for run in $(seq 1 "$runs"); do
        for client in getscu movescu bench-get bench-move; do
            for server in qrscpd dcmqrscp; do
                run_one "$study" "$label" "$uid" "$expected" "$bytes" "$client" "$server" "$run"
            done
        done
    done
done
rm -rf "$sink"/get "$sink"/move/*
echo "   retrieve runs took $(( $(date +%s) - retrieve_start )) s; our client's max PDU: 1 MiB; DCMTK clients: their default (16 KiB)"
python3 scripts/bench-retrieve-report.py "$results" "$loopback_gbps"
grep -h '^   bench' "$work/bench-client.log" 2>/dev/null | head -4 || true
grep -v '^   bench' "$work/bench-client.log" 2>/dev/null | head -5 | sed 's/^/   client error: /' || true
