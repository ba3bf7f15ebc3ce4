# C-FIND section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids).
FIND_REPEATS="${FIND_REPEATS:-200}"
STREAM_REPEATS="${STREAM_REPEATS:-20}"
bulk_root="1.2.826.0.1.3680043.10.1489.9.3"

# find_stats PORT AE REPEATS LEVEL KEYS... -> "median_ms p95_ms responses responses_per_s client_cpu_share"
find_stats() {
    "$bin/qrscpd-bench" find "$@" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("%.3f %.3f %d %.0f %.2f" % (r["median_ms"], r["p95_ms"], r["responses_per_query"], r["responses_per_s"],
                              r["client_cpu_seconds"] / max(r["seconds"], 1e-9)))'
}

start_qrscpd() {  # start_qrscpd STORAGE [INDEX_DB] -> sets q_port, q_pid
    q_port=$(free_port)
    local index_args=()
    [ -n "${2:-}" ] && index_args=(--index-db "$2")
    "$server" "$q_port" QRSCPD --storage-dir "$1" "${index_args[@]}" --bind 127.0.0.1 --log-level warning \
        >>"$work/qrscpd-find.log" 2>&1 &
    q_pid=$!; pids+=("$q_pid")
    for _ in $(seq 1 1200); do (exec 3<>/dev/tcp/127.0.0.1/"$q_port") 2>/dev/null && return 0; sleep 0.1; done
    echo "qrscpd did not start" >&2; exit 1
}

queries() {  # queries LABEL PORT AE  -> table rows for the standard query set
    local port="$2" ae="$3"
    printf '%-44s %s\n' "exact PatientID" "$(find_stats "$port" "$ae" "$FIND_REPEATS" STUDY "PatientID=$EXACT_ID" StudyInstanceUID=)"
    printf '%-44s %s\n' "PatientName prefix ($PREFIX)" "$(find_stats "$port" "$ae" "$FIND_REPEATS" STUDY "PatientName=$PREFIX" StudyInstanceUID=)"
    printf '%-44s %s\n' "StudyDate one month ($MONTH)" "$(find_stats "$port" "$ae" "$FIND_REPEATS" STUDY "StudyDate=$MONTH" StudyInstanceUID=)"
    printf '%-44s %s\n' "universal (every study)" "$(find_stats "$port" "$ae" "$STREAM_REPEATS" STUDY StudyInstanceUID= PatientID= StudyDate=)"
    if [ -n "${IMAGE_STUDY:-}" ]; then
        printf '%-44s %s\n' "IMAGE level, 400-instance series" "$(find_stats "$port" "$ae" 50 IMAGE "StudyInstanceUID=$IMAGE_STUDY" "SeriesInstanceUID=$IMAGE_SERIES" SOPInstanceUID= InstanceNumber=)"
    fi
}

echo
echo "== C-FIND, 500-study archive (499 one-image studies + one 400-image series), both servers"
"$bin/qrscpd-samples" bulk "$work/a500" --studies 499 --series-per-study 1 --instances-per-series 1 \
    --image-size 64 --studies-per-patient 1 --run 7 >/dev/null
"$bin/qrscpd-samples" bulk "$work/a500" --studies 1 --series-per-study 1 --instances-per-series 400 \
    --image-size 64 --run 8 >/dev/null
EXACT_ID="BULK-7-250"; PREFIX="BULK^PATIENT25*"; MONTH="20240601-20240630"
IMAGE_STUDY="$bulk_root.8.1.1"; IMAGE_SERIES="$bulk_root.8.2.1.1"

start_qrscpd "$work/a500"
mkdir -p "$work/d500"
cat >"$work/d500.cfg" <<CFG
NetworkTCPPort  = $(free_port)
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
DCMQRSCP   $work/d500   RW (500, 4096mb)   ANY
AETable END
CFG
d_port=$(awk '/NetworkTCPPort/{print $3}' "$work/d500.cfg")
find "$work/a500" -name '*.dcm' -print0 | xargs -0 dcmqridx "$work/d500"
TCP_NODELAY=1 dcmqrscp -c "$work/d500.cfg" >"$work/dcmqrscp-find.log" 2>&1 &
d_pid=$!; pids+=("$d_pid")
wait_port "$d_port"

printf '%-44s %s\n' "query" "median ms, p95 ms, responses, responses/s, client CPU (cores)"
echo "-- qrscpd"; q_rows="$(queries q "$q_port" QRSCPD)"; echo "$q_rows"
echo "-- dcmqrscp"; d_rows="$(queries d "$d_port" DCMQRSCP)"; echo "$d_rows"
echo "-- ratio dcmqrscp/qrscpd (median latency; for streaming rows: qrscpd/dcmqrscp responses/s)"
paste <(echo "$q_rows") <(echo "$d_rows") | python3 -c '
import sys
for line in sys.stdin:
    q, d = line.rstrip("\n").split("\t")
    name = q[:44].strip(); qv = q[44:].split(); dv = d[44:].split()
    lat = float(dv[0]) / max(float(qv[0]), 1e-9); rate = float(qv[3]) / max(float(dv[3]), 1e-9)
    print("%-44s latency %.1fx faster, responses/s %.1fx" % (name, lat, rate))'
kill "$q_pid" "$d_pid" 2>/dev/null || true

echo
echo "== qrscpd alone, 10,000 studies as files (then one more with a 400-image series)"
"$bin/qrscpd-samples" bulk "$work/a10k" --studies 10000 --series-per-study 1 --instances-per-series 1 \
    --image-size 64 --studies-per-patient 1 --run 9 | sed 's/^/   /'
t0=$(date +%s.%N); "$server" 1 QRSCPD --storage-dir "$work/a10k" --index-db "$work/a10k.sqlite" --scan-only >/dev/null 2>&1
t1=$(date +%s.%N); "$server" 1 QRSCPD --storage-dir "$work/a10k" --index-db "$work/a10k.sqlite" --scan-only >/dev/null 2>&1
t2=$(date +%s.%N)
python3 -c "print('scan, cold:      %.0f files/s (%.2f s for 10,000 files)' % (10000/($t1-$t0), $t1-$t0))"
python3 -c "print('re-scan, unchanged: %.2f s for 10,000 files (%.1f s per 100,000)' % ($t2-$t1, ($t2-$t1)*10))"
# After the scan figures: one more study with a 400-image series, for the IMAGE-level row
# (indexed by the daemon's start-up scan).
"$bin/qrscpd-samples" bulk "$work/a10k" --studies 1 --series-per-study 1 --instances-per-series 400 \
    --image-size 64 --run 10 >/dev/null
EXACT_ID="BULK-9-4242"; PREFIX="BULK^PATIENT424*"; MONTH="20240601-20240630"
IMAGE_STUDY="$bulk_root.10.1.1"; IMAGE_SERIES="$bulk_root.10.2.1.1"
start_qrscpd "$work/a10k" "$work/a10k.sqlite"
queries q "$q_port" QRSCPD
kill "$q_pid" 2>/dev/null || true

echo
echo "== qrscpd alone, 1,000,000 instances (index rows: 10,000 patients x 2 studies x 2 series x 25)"
"$bin/qrscpd-samples" synthetic-index "$work/m1.sqlite" --patients 10000 --studies-per-patient 2 \
    --series-per-study 2 --instances-per-series 25 | sed 's/^/   /'
mkdir -p "$work/empty"
EXACT_ID="SYN0004242"; PREFIX="DOE42*"; MONTH="20200601-20200630"; IMAGE_STUDY=""
start_qrscpd "$work/empty" "$work/m1.sqlite"
queries q "$q_port" QRSCPD
echo "qrscpd peak RSS (1M index): $(awk '/VmHWM/{print $2, $3}' /proc/$q_pid/status 2>/dev/null || echo n/a)"
kill "$q_pid" 2>/dev/null || true
