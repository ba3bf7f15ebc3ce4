# TLS section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids, RUNS).
# Associations per second (associate, one C-ECHO, release) over plain TCP and over TLS 1.3 with
# client certificates, same client (scripts/bench-tls-client.py, raw PDUs in TLS_PROCS
# processes), qrscpd and, when Debian's orthanc is installed, Orthanc with DicomTlsEnabled.
# Certificates are made here with the openssl CLI (EC P-256). Reports the median of RUNS runs and
# the server's CPU seconds per 1,000 associations.
TLS_SECONDS="${TLS_SECONDS:-3}"
TLS_PROCS="${TLS_PROCS:-2}"
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

t_port=$(free_port); t_tls_port=$(free_port)
mkdir -p "$work/t-storage"
"$server" "$t_port" QRSCPD --storage-dir "$work/t-storage" --bind 127.0.0.1 --max-assoc 256 --log-level warning \
    --tls-port "$t_tls_port" --tls-certificate "$tls_dir/server.pem" --tls-key "$tls_dir/server.key" \
    --tls-ca "$tls_dir/ca.pem" >"$work/qrscpd-tls.log" 2>&1 &
t_pid=$!; pids+=("$t_pid")
wait_port "$t_port"

echo
echo "TLS: associations/s (associate + C-ECHO + release), $TLS_PROCS client processes, median of $RUNS runs"
printf '%-40s %12s %22s %9s\n' "server" "assoc/s" "server CPU s / 1000" "failures"
read -r rate cpu failures <<<"$(tls_rate "$t_pid" "$t_port" QRSCPD)"
printf '%-40s %12s %22s %9s\n' "qrscpd, plain" "$rate" "$cpu" "$failures"
read -r rate cpu failures <<<"$(tls_rate "$t_pid" "$t_tls_port" QRSCPD "${tls_client[@]}")"
printf '%-40s %12s %22s %9s\n' "qrscpd, TLS" "$rate" "$cpu" "$failures"
kill "$t_pid" 2>/dev/null || true

if [ -x /usr/sbin/Orthanc ]; then
    o_port=$(free_port)
    mkdir -p "$work/orthanc"
    cat >"$work/orthanc.json" <<JSON
{
  "Name": "bench", "StorageDirectory": "$work/orthanc", "IndexDirectory": "$work/orthanc",
  "DicomAet": "ORTHANC", "DicomPort": $o_port, "HttpServerEnabled": false, "DicomAlwaysAllowEcho": true,
  "DicomCheckCalledAet": false, "Plugins": [],
  "DicomTlsEnabled": true, "DicomTlsCertificate": "$tls_dir/server.pem", "DicomTlsPrivateKey": "$tls_dir/server.key",
  "DicomTlsTrustedCertificates": "$tls_dir/ca.pem", "DicomTlsRemoteCertificateRequired": true
}
JSON
    /usr/sbin/Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 &
    o_pid=$!; pids+=("$o_pid")
    wait_port "$o_port"
    read -r rate cpu failures <<<"$(tls_rate "$o_pid" "$o_port" ORTHANC "${tls_client[@]}")"
    printf '%-40s %12s %22s %9s\n' "Orthanc, TLS (DicomTlsEnabled)" "$rate" "$cpu" "$failures"
    kill "$o_pid" 2>/dev/null || true
else
    echo "Orthanc not installed (scripts/setup --bench installs it): no comparison row"
fi
