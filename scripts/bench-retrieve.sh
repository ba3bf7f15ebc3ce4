# C-GET / C-MOVE section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids).
# One study of 400 images of 512x512x16 bit (about 210 MB), retrieved by DCMTK's getscu and
# by movescu into storescp, both writing to tmpfs; each server's CPU seconds per GB sent.
RETRIEVE_INSTANCES="${RETRIEVE_INSTANCES:-400}"
bulk_root="1.2.826.0.1.3680043.10.1489.9.3"

echo
echo "== C-GET / C-MOVE: one study of $RETRIEVE_INSTANCES images of 512x512x16 bit"
"$bin/qrscpd-samples" bulk "$work/r400" --studies 1 --series-per-study 1 --instances-per-series "$RETRIEVE_INSTANCES" \
    --image-size 512 --run 21 | sed 's/^/   /'
study_uid="$bulk_root.21.1.1"
study_bytes=$(du -sb "$work/r400" | awk '{print $1}')
sink=$(mktemp -d /dev/shm/qrscpd-bench-sink.XXXXXX)
trap 'rm -rf "$sink"; cleanup' EXIT

dest_port=$(free_port)
TCP_NODELAY=1 /usr/bin/storescp -aet STORESCP -od "$sink/move" "$dest_port" >/dev/null 2>&1 &
pids+=($!)
mkdir -p "$sink/move"

# qrscpd
rq_port=$(free_port)
"$bin/qrscpd" "$rq_port" QRSCPD --storage-dir "$work/r400" --bind 127.0.0.1 --log-level warning \
    --peer "STORESCP:127.0.0.1:$dest_port" >>"$work/qrscpd-retrieve.log" 2>&1 &
rq_pid=$!; pids+=("$rq_pid")
for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/"$rq_port") 2>/dev/null && break; sleep 0.1; done

# dcmqrscp, with the move destination in its host table
rd_port=$(free_port)
mkdir -p "$work/rd400"
cat >"$work/rd400.cfg" <<CFG
NetworkTCPPort  = $rd_port
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
storescp = (STORESCP, 127.0.0.1, $dest_port)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
DCMQRSCP   $work/rd400   RW (500, 4096mb)   ANY
AETable END
CFG
find "$work/r400" -name '*.dcm' -print0 | xargs -0 dcmqridx "$work/rd400"
TCP_NODELAY=1 dcmqrscp -c "$work/rd400.cfg" >"$work/dcmqrscp-retrieve.log" 2>&1 &
rd_pid=$!; pids+=("$rd_pid")
wait_port "$rd_port"

cpu_all() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }

# retrieve get|move PORT AE PID -> "seconds cpu_seconds files"
retrieve() {
    local mode="$1" port="$2" ae="$3" pid="$4" out before after t0 t1 count
    out="$sink/$mode-$ae"; rm -rf "$out"; mkdir -p "$out"; rm -rf "$sink/move"/*
    before=$(cpu_all "$pid")
    t0=$(date +%s.%N)
    if [ "$mode" = get ]; then
        TCP_NODELAY=1 /usr/bin/getscu -S -aec "$ae" -od "$out" -k QueryRetrieveLevel=STUDY \
            -k StudyInstanceUID="$study_uid" 127.0.0.1 "$port" >/dev/null 2>&1
        count=$(ls "$out" | wc -l)
    else
        TCP_NODELAY=1 /usr/bin/movescu -S -aec "$ae" -aem STORESCP -k QueryRetrieveLevel=STUDY \
            -k StudyInstanceUID="$study_uid" 127.0.0.1 "$port" >/dev/null 2>&1
        count=$(ls "$sink/move" | wc -l)
    fi
    t1=$(date +%s.%N)
    sleep 1  # dcmqrscp's per-association child must be reaped for its CPU to count
    after=$(cpu_all "$pid")
    python3 -c "print('%.3f %.3f %d' % ($t1 - $t0, ($after - $before) / $(getconf CLK_TCK), $count))"
}

printf '%-26s %9s %9s %9s %11s %7s\n' "retrieve" "seconds" "images/s" "MB/s" "CPU s/GB" "files"
for mode in get move; do
    for server in qrscpd dcmqrscp; do
        if [ "$server" = qrscpd ]; then r=($(retrieve "$mode" "$rq_port" QRSCPD "$rq_pid"))
        else r=($(retrieve "$mode" "$rd_port" DCMQRSCP "$rd_pid")); fi
        python3 -c "
s, c, n = ${r[0]}, ${r[1]}, ${r[2]}
b = $study_bytes
print('%-26s %9.2f %9.0f %9.0f %11.2f %7d' % ('$server C-$mode'.replace('C-get', 'C-GET').replace('C-move', 'C-MOVE'), s, n / s, b / 1e6 / s, c / (b / 1e9), n))"
    done
done
echo "qrscpd peak RSS after the retrieves: $(awk '/VmHWM/{print $2, $3}' /proc/$rq_pid/status)"
