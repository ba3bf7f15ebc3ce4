# C-STORE ingest section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids).
# 2,000 images of 512x512x16 bit, one storescu association and 4 in parallel, each server
# starting from an empty archive. qrscpd makes every object durable before answering
# (fdatasync of the file, rename, fsync of its directory, index row; grouped across
# associations); dcmqrscp writes without fsync.
INGEST_SERIES="${INGEST_SERIES:-4}"
INGEST_PER_SERIES="${INGEST_PER_SERIES:-500}"
ingest_count=$((INGEST_SERIES * INGEST_PER_SERIES))

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo
echo "== C-STORE ingest: $ingest_count images of 512x512x16 bit"
"$bin/qrscpd-samples" bulk "$work/ingest" --studies 1 --series-per-study "$INGEST_SERIES" \
    --instances-per-series "$INGEST_PER_SERIES" --image-size 512 --run 11 | sed 's/^/   /'
ingest_bytes=$(du -sb "$work/ingest" | awk '{print $1}')
series_dirs=($(find "$work/ingest" -mindepth 3 -maxdepth 3 -type d | sort))

# ingest NAME PARALLEL PORT AE PID -> "seconds cpu_seconds"
ingest() {
    local parallel="$2" port="$3" ae="$4" pid="$5" dir
    local before after t0 t1 ps=()
    before=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    if [ "$parallel" = 1 ]; then
        TCP_NODELAY=1 /usr/bin/storescu -aec "$ae" +sd +r -q 127.0.0.1 "$port" "$work/ingest"
    else
        for dir in "${series_dirs[@]}"; do
            TCP_NODELAY=1 /usr/bin/storescu -aec "$ae" +sd +r -q 127.0.0.1 "$port" "$dir" & ps+=($!)
        done
        for p in "${ps[@]}"; do wait "$p"; done
    fi
    t1=$(date +%s.%N)
    after=$(cpu_ticks "$pid")
    python3 -c "print('%.3f %.3f' % ($t1 - $t0, ($after - $before) / $(getconf CLK_TCK)))"
}

run_qrscpd_ingest() {  # PARALLEL -> "seconds cpu"
    local dir="$work/q-ingest-$1"; rm -rf "$dir"; mkdir -p "$dir"
    local port; port=$(free_port)
    "$bin/qrscpd" "$port" QRSCPD --storage-dir "$dir" --index-db "$dir.sqlite" --bind 127.0.0.1 \
        --max-assoc 16 --log-level warning >>"$work/qrscpd-ingest.log" 2>&1 &
    local pid=$!; pids+=("$pid"); wait_port "$port"
    ingest qrscpd "$1" "$port" QRSCPD "$pid"
    local stored; stored=$(find "$dir" -name '*.dcm' | wc -l)
    [ "$stored" = "$ingest_count" ] || echo "  warning: qrscpd stored $stored of $ingest_count" >&2
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir" "$dir.sqlite"*
}

run_dcmqrscp_ingest() {  # PARALLEL -> "seconds cpu"
    local dir="$work/d-ingest-$1"; rm -rf "$dir"; mkdir -p "$dir"
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
DCMQRSCP   $dir   RW (500, 8192mb)   ANY
AETable END
CFG
    TCP_NODELAY=1 dcmqrscp -c "$dir.cfg" >>"$work/dcmqrscp-ingest.log" 2>&1 &
    local pid=$!; pids+=("$pid"); wait_port "$port"
    # dcmqrscp forks a child per association: count the children's CPU through the parent's
    # cumulative fields (cutime/cstime) as well.
    local before after t0 t1 ps=()
    before=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
    t0=$(date +%s.%N)
    if [ "$1" = 1 ]; then
        TCP_NODELAY=1 /usr/bin/storescu -aec DCMQRSCP +sd +r -q 127.0.0.1 "$port" "$work/ingest"
    else
        local d
        for d in "${series_dirs[@]}"; do
            TCP_NODELAY=1 /usr/bin/storescu -aec DCMQRSCP +sd +r -q 127.0.0.1 "$port" "$d" & ps+=($!)
        done
        for p in "${ps[@]}"; do wait "$p"; done
    fi
    t1=$(date +%s.%N)
    sleep 1  # let the per-association children exit so their CPU is accounted
    after=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat")
    python3 -c "print('%.3f %.3f' % ($t1 - $t0, ($after - $before) / $(getconf CLK_TCK)))"
    # A run where dcmqrscp refused or lost images would give a meaningless ratio: say so.
    local stored; stored=$(find "$dir" -type f ! -name 'index.dat' | wc -l)
    [ "$stored" -ge "$ingest_count" ] || echo "  warning: dcmqrscp stored $stored of $ingest_count" >&2
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$dir"
}

printf '%-34s %10s %10s %12s %8s\n' "ingest" "images/s" "MB/s" "CPU s/GB" "ratio"
for parallel in 1 "$INGEST_SERIES"; do
    q=($(run_qrscpd_ingest "$parallel"))
    d=($(run_dcmqrscp_ingest "$parallel"))
    python3 - "$parallel" "${q[@]}" "${d[@]}" "$ingest_count" "$ingest_bytes" <<'PY'
import sys
par, qs, qc, ds, dc, n, b = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6]), int(sys.argv[7])
gb = b / 1e9
label = "1 association" if par == "1" else f"{par} associations in parallel"
print("%-34s %10.0f %10.0f %12.2f %8s" % ("qrscpd   " + label, n / qs, b / 1e6 / qs, qc / gb, "%.2fx" % ((n / qs) / (n / ds))))
print("%-34s %10.0f %10.0f %12.2f" % ("dcmqrscp " + label, n / ds, b / 1e6 / ds, dc / gb))
PY
done
echo "durability: qrscpd fdatasyncs each file, fsyncs its directory and commits the index row"
echo "before its C-STORE-RSP (group commit across associations); dcmqrscp writes without fsync."
