# TLS section of scripts/bench (sourced: uses $bin, $server, $work, free_port, wait_port, pids, RUNS).
# Plain TCP against TLS 1.3 with client certificates, same clients, same run: qrscpd (one process
# with a plain and a TLS port) and, when Debian's orthanc is installed, Orthanc with DicomTlsEnabled
# (and once more without it, on the same storage, for its plain figures). Both hold the same files:
# the 400-image study of the retrieve section (512x512x16 bit, generated the same way) and the
# 499 one-image studies of the C-FIND section (Orthanc is filled through its REST API first).
#   associations/s : associate, one C-ECHO, release (scripts/bench-tls-client.py, raw PDUs in
#                    TLS_PROCS processes), median of RUNS runs; server CPU s per 1,000 associations
#   C-FIND         : latency (median, p95) on one association, qrscpd-bench find: an exact
#                    PatientID (TLS_FIND_REPEATS queries) and the 400 instances of the series
#   C-GET          : the 400-image study by qrscpd-bench get (data discarded as it arrives) and by
#                    pynetdicom (scripts/bench-tls-pynetdicom.py); median of TLS_GET_RUNS runs; GB/s
#                    of data set bytes, server CPU s/GB (/proc/PID/stat), server peak RSS
#                    (scripts/bench-peak-rss.py, high-water mark reset before each run)
#   floor          : scripts/bench-tls-floor.py pushes the same bytes from memory through TLS 1.3
#                    over loopback with the cipher qrscpd negotiated (and through plain TCP); and
#                    that cipher's speed on one core without sockets (openssl speed, 16 KiB blocks)
# The summary (scripts/bench-tls-report.py) prints every ratio and whether it meets its target.
# Certificates are made here with the openssl CLI (EC P-256).
TLS_SECONDS="${TLS_SECONDS:-3}"
TLS_PROCS="${TLS_PROCS:-2}"
TLS_FIND_REPEATS="${TLS_FIND_REPEATS:-200}"
TLS_GET_RUNS="${TLS_GET_RUNS:-3}"
tls_dir="$work/tls"
mkdir -p "$tls_dir"
(
    cd "$tls_dir"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj "/CN=qrscpd bench CA" 2>/dev/null
    for name in server client; do
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" \
            -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$name.ext"
        openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$name.ext" \
            -out "$name.pem" 2>/dev/null
    done
)
tls_client=(--tls "$tls_dir/ca.pem" "$tls_dir/client.pem" "$tls_dir/client.key")

cpu_seconds() {  # cpu_seconds PID -> user+system CPU seconds of the process so far
    awk '{printf "%.3f\n", ($14 + $15) / 100}' "/proc/$1/stat"
}

# tls_rate PID PORT AE [--tls ...] -> "median_rate server_cpu_s_per_1000 failures"
tls_rate() {
    local pid="$1" port="$2" ae="$3"; shift 3
    local lines=() before after
    before=$(cpu_seconds "$pid")
    for _ in $(seq 1 "$RUNS"); do
        lines+=("$(python3 scripts/bench-tls-client.py 127.0.0.1 "$port" "$ae" "$TLS_SECONDS" "$TLS_PROCS" "$@")")
    done
    after=$(cpu_seconds "$pid")
    printf '%s\n' "${lines[@]}" | python3 -c '
import json, sys
cpu = float(sys.argv[1])
runs = sorted((json.loads(l) for l in sys.stdin if l.strip()), key=lambda r: r["rate"])
total = sum(r["rate"] * r["seconds"] for r in runs)
print("%.0f %.3f %d" % (runs[len(runs) // 2]["rate"], 1000 * cpu / max(total, 1), sum(r["failures"] for r in runs)))
' "$(python3 -c "print($after - $before)")"
}

# The data: the C-FIND section's 499 one-image studies and the retrieve section's 400-image study.
tls_data="$work/tls-data"
"$bin/qrscpd-samples" bulk "$tls_data" --studies 499 --series-per-study 1 --instances-per-series 1 \
    --image-size 64 --studies-per-patient 1 --run 7 >/dev/null
"$bin/qrscpd-samples" bulk "$tls_data" --studies 1 --series-per-study 1 --instances-per-series 400 \
    --image-size 512 --run 21 >/dev/null
tls_study="1.2.826.0.1.3680043.10.1489.9.3.21.1.1"
tls_series="1.2.826.0.1.3680043.10.1489.9.3.21.2.1.1"
tls_results="$work/tls.jsonl"
: >"$tls_results"

# tls_record KIND SERVER TRANSPORT NAME JSON -> one line of the results
tls_record() {
    printf '{"kind": "%s", "server": "%s", "transport": "%s", "name": "%s", "r": %s}\n' "$@" >>"$tls_results"
}

# tls_assoc_row LABEL SERVER TRANSPORT PID PORT AE [--tls ...]: one associations/s row
tls_assoc_row() {
    local label="$1" srv="$2" transport="$3"; shift 3
    local rate cpu failures
    read -r rate cpu failures <<<"$(tls_rate "$@")"
    printf '%-40s %12s %22s %9s\n' "$label" "$rate" "$cpu" "$failures"
    tls_record assoc "$srv" "$transport" assoc "{\"rate\": $rate, \"cpu_per_1000\": $cpu, \"failures\": $failures}"
}

# tls_finds SERVER TRANSPORT PORT AE [--tls ...]: the two C-FIND rows
tls_finds() {
    local srv="$1" transport="$2" port="$3" ae="$4"; shift 4
    local json
    json=$("$bin/qrscpd-bench" find "$port" "$ae" "$TLS_FIND_REPEATS" STUDY "PatientID=BULK-7-250" StudyInstanceUID= "$@" \
        2>>"$work/tls-client.log") || json=null
    tls_record find "$srv" "$transport" exact-patient "$json"
    json=$("$bin/qrscpd-bench" find "$port" "$ae" 20 IMAGE "StudyInstanceUID=$tls_study" "SeriesInstanceUID=$tls_series" \
        SOPInstanceUID= InstanceNumber= "$@" 2>>"$work/tls-client.log") || json=null
    tls_record find "$srv" "$transport" image-400 "$json"
}

# tls_get SERVER TRANSPORT CLIENT PID PORT AE [--tls ...]: one C-GET of the study; the server's CPU
# and peak RSS over the run beside the client's figures
tls_get() {
    local srv="$1" transport="$2" client="$3" pid="$4" port="$5" ae="$6"; shift 6
    local json before after sampler rss
    echo 5 >"/proc/$pid/clear_refs"
    rm -f "$work/tls-rss" "$work/tls-rss.ready"
    python3 scripts/bench-peak-rss.py "$pid" "$work/tls-rss" self &
    sampler=$!
    for _ in $(seq 1 200); do [ -e "$work/tls-rss.ready" ] && break; sleep 0.01; done
    before=$(cpu_seconds "$pid")
    if [ "$client" = qrscpd-bench ]; then
        json=$("$bin/qrscpd-bench" get "$port" "$ae" "$tls_study" "$@" 2>>"$work/tls-client.log") || json=null
    else
        json=$(timeout 600 python3 scripts/bench-tls-pynetdicom.py "$port" "$ae" "$tls_study" "$@" \
            2>>"$work/tls-client.log") || json=null
    fi
    after=$(cpu_seconds "$pid")
    kill -TERM "$sampler"; wait "$sampler" || true
    rss=$(cat "$work/tls-rss" 2>/dev/null || echo 0)
    [ -n "$json" ] || json=null
    tls_record get "$srv" "$transport" "$client" \
        "{\"client\": $json, \"server_cpu\": $(python3 -c "print($after - $before)"), \"rss_kb\": $rss}"
}

# tls_gets SERVER PID PLAIN_PORT TLS_PORT AE: TLS_GET_RUNS runs of both clients; plain rows only
# when PLAIN_PORT is not "-"
tls_gets() {
    local srv="$1" pid="$2" plain="$3" secure="$4" ae="$5"
    for _ in $(seq 1 "$TLS_GET_RUNS"); do
        for client in qrscpd-bench pynetdicom; do
            [ "$plain" = - ] || tls_get "$srv" plain "$client" "$pid" "$plain" "$ae"
            [ "$secure" = - ] || tls_get "$srv" tls "$client" "$pid" "$secure" "$ae" "${tls_client[@]}"
        done
    done
}

t_port=$(free_port); t_tls_port=$(free_port)
"$server" "$t_port" QRSCPD --storage-dir "$tls_data" --bind 127.0.0.1 --max-assoc 256 --log-level warning \
    --tls-port "$t_tls_port" --tls-certificate "$tls_dir/server.pem" --tls-key "$tls_dir/server.key" \
    --tls-ca "$tls_dir/ca.pem" >"$work/qrscpd-tls.log" 2>&1 &
t_pid=$!; pids+=("$t_pid")
wait_port "$t_port"
wait_port "$t_tls_port"

echo
echo "== TLS: plain TCP vs TLS 1.3 (client certificates), qrscpd vs Orthanc $(dpkg-query -W -f '${Version}' orthanc 2>/dev/null)"
echo "associations/s (associate + C-ECHO + release), $TLS_PROCS client processes, median of $RUNS runs"
printf '%-40s %12s %22s %9s\n' "server" "assoc/s" "server CPU s / 1000" "failures"
tls_assoc_row "qrscpd, plain" qrscpd plain "$t_pid" "$t_port" QRSCPD
tls_assoc_row "qrscpd, TLS" qrscpd tls "$t_pid" "$t_tls_port" QRSCPD "${tls_client[@]}"
tls_finds qrscpd plain "$t_port" QRSCPD
tls_finds qrscpd tls "$t_tls_port" QRSCPD "${tls_client[@]}"
tls_gets qrscpd "$t_pid" "$t_port" "$t_tls_port" QRSCPD
kill "$t_pid" 2>/dev/null || true

if [ -x /usr/sbin/Orthanc ]; then
    mkdir -p "$work/orthanc-tls"
    # orthanc_start TLS_ENABLED -> o_pid, o_port, o_http: the same storage each time
    orthanc_start() {
        o_port=$(free_port); o_http=$(free_port)
        cat >"$work/orthanc-tls.json" <<JSON
{
  "Name": "bench", "StorageDirectory": "$work/orthanc-tls", "IndexDirectory": "$work/orthanc-tls",
  "HttpServerEnabled": true, "HttpPort": $o_http, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "SaveJobs": false, "Plugins": [],
  "DicomAet": "ORTHANC", "DicomPort": $o_port, "DicomCheckCalledAet": false, "DicomAlwaysAllowEcho": true,
  "DicomAlwaysAllowFind": true, "DicomAlwaysAllowGet": true,
  "DicomTlsEnabled": $1, "DicomTlsCertificate": "$tls_dir/server.pem", "DicomTlsPrivateKey": "$tls_dir/server.key",
  "DicomTlsTrustedCertificates": "$tls_dir/ca.pem", "DicomTlsRemoteCertificateRequired": true
}
JSON
        /usr/sbin/Orthanc "$work/orthanc-tls.json" >>"$work/orthanc-tls.log" 2>&1 &
        o_pid=$!; pids+=("$o_pid")
        wait_port "$o_http"
        wait_port "$o_port"
    }
    orthanc_start true
    echo "   filling Orthanc through its REST API: $(python3 scripts/bench-web-client.py load "$o_http" "$tls_data")"
    tls_assoc_row "Orthanc, TLS (DicomTlsEnabled)" orthanc tls "$o_pid" "$o_port" ORTHANC "${tls_client[@]}"
    tls_finds orthanc tls "$o_port" ORTHANC "${tls_client[@]}"
    tls_gets orthanc "$o_pid" - "$o_port" ORTHANC
    kill "$o_pid" 2>/dev/null || true
    wait "$o_pid" 2>/dev/null || true
    orthanc_start false
    tls_assoc_row "Orthanc, plain" orthanc plain "$o_pid" "$o_port" ORTHANC
    tls_finds orthanc plain "$o_port" ORTHANC
    tls_gets orthanc "$o_pid" "$o_port" - ORTHANC
    kill "$o_pid" 2>/dev/null || true
else
    echo "Orthanc not installed (scripts/setup --bench installs it): no comparison rows"
fi

# The floor: the same bytes as qrscpd-bench's TLS C-GET, with the cipher it negotiated.
read -r floor_bytes floor_cipher <<<"$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    c = r["r"].get("client") if r["kind"] == "get" else None
    if r["server"] == "qrscpd" and r["transport"] == "tls" and r["name"] == "qrscpd-bench" and c:
        print(c["bytes"], c["tls"].split()[-1]); break
else:
    print(209715200, "TLS_AES_128_GCM_SHA256")' "$tls_results")"
for _ in $(seq 1 "$TLS_GET_RUNS"); do
    tls_record floor floor tls floor "$(python3 scripts/bench-tls-floor.py "$floor_bytes" tls \
        "$tls_dir/ca.pem" "$tls_dir/server.pem" "$tls_dir/server.key" "$floor_cipher" || echo null)"
    tls_record floor floor plain floor "$(python3 scripts/bench-tls-floor.py "$floor_bytes" plain || echo null)"
done
# The cipher alone on one core (16 KiB records, the size TLS sends bulk data in): what encryption
# by itself allows, without sockets.
cipher_kbs=$(openssl speed -evp "$(python3 -c '
import sys
print({"TLS_AES_128_GCM_SHA256": "aes-128-gcm", "TLS_AES_256_GCM_SHA384": "aes-256-gcm"}.get(sys.argv[1], "chacha20-poly1305"))' \
    "$floor_cipher")" -bytes 16384 -seconds 1 2>/dev/null | awk 'END{sub("k$", "", $NF); print $NF}')
tls_record floor cipher tls cipher "{\"cipher\": \"$floor_cipher\", \"gb_per_s\": $(python3 -c "print(${cipher_kbs:-0} * 1000 / 1e9)")}"
echo "   load average during the TLS section: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
python3 scripts/bench-tls-report.py "$tls_results"
grep -v '^$' "$work/tls-client.log" 2>/dev/null | head -5 | sed 's/^/   client error: /' || true
