# DICOMweb section of scripts/bench (sourced: uses $bin, $work, free_port, wait_port, pids).
# qrscpd's HTTP port against Orthanc (Debian 12) with Debian's orthanc-dicomweb plugin, both on
# loopback, both holding the same files: WEB_STUDIES (5,000) one-image studies of 64x64 and one
# study with a series of WEB_SERIES_INSTANCES (400) images of 512x512x16 bit. Orthanc is filled
# through its REST API before any measurement. Client: scripts/bench-web-client.py (one
# keep-alive connection, requests one after the other), plus wrk for the QIDO rate.
#   QIDO /studies?PatientID= : latency, median and p95 of QIDO_REPEATS, a different patient each time;
#                              rate from wrk (WRK_CONNECTIONS connections, 2 threads, WRK_SECONDS)
#   QIDO /studies            : every study, median of UNIVERSAL_REPEATS
#   series metadata          : the 400-instance series, first request and median of METADATA_REPEATS
#   frames                   : frame 1 of every instance of that series (one request each, native,
#                              Explicit VR Little Endian); median of FRAME_RUNS; server CPU s/GB
#   STOW-RS                  : WEB_STOW_INSTANCES (400) new 512x512x16-bit images, one per request
#                              (the HTTP server's body limit is 1 MiB), answered once stored
#   peak RSS                 : VmHWM of each server, reset after Orthanc is filled
WEB_STUDIES="${WEB_STUDIES:-5000}"
WEB_SERIES_INSTANCES="${WEB_SERIES_INSTANCES:-400}"
WEB_STOW_INSTANCES="${WEB_STOW_INSTANCES:-400}"
QIDO_REPEATS="${QIDO_REPEATS:-200}"
UNIVERSAL_REPEATS="${UNIVERSAL_REPEATS:-10}"
METADATA_REPEATS="${METADATA_REPEATS:-5}"
FRAME_RUNS="${FRAME_RUNS:-3}"
WRK_SECONDS="${WRK_SECONDS:-5}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-4}"
bulk_root="1.2.826.0.1.3680043.10.1489.9.3"
web_client=(python3 scripts/bench-web-client.py)

echo
echo "== DICOMweb: qrscpd vs Orthanc $(dpkg-query -W -f '${Version}' orthanc 2>/dev/null) + orthanc-dicomweb $(dpkg-query -W -f '${Version}' orthanc-dicomweb 2>/dev/null)"
web="$work/web"
"$bin/qrscpd-samples" bulk "$web" --studies "$WEB_STUDIES" --series-per-study 1 --instances-per-series 1 \
    --image-size 64 --studies-per-patient 1 --run 31 | sed 's/^/   /'
"$bin/qrscpd-samples" bulk "$web" --studies 1 --series-per-study 1 --instances-per-series "$WEB_SERIES_INSTANCES" \
    --image-size 512 --run 32 | sed 's/^/   /'
"$bin/qrscpd-samples" bulk "$work/web-stow" --studies 1 --series-per-study 1 --instances-per-series "$WEB_STOW_INSTANCES" \
    --image-size 512 --run 33 | sed 's/^/   /'
series_path="/dicom-web/studies/$bulk_root.32.1.1/series/$bulk_root.32.2.1.1"

# qrscpd: index the files first, then serve them (DICOM port unused here).
"$server" 1 QRSCPD --storage-dir "$web" --index-db "$work/web.sqlite" --scan-only >/dev/null 2>&1
wq_http=$(free_port)
"$server" "$(free_port)" QRSCPD --storage-dir "$web" --index-db "$work/web.sqlite" --bind 127.0.0.1 \
    --http-port "$wq_http" --log-level warning >>"$work/qrscpd-web.log" 2>&1 &
wq_pid=$!; pids+=("$wq_pid")
wait_port "$wq_http"

# Orthanc: temporary storage, HTTP on a free loopback port, no authentication, DICOMweb plugin.
wo_http=$(free_port)
mkdir -p "$work/orthanc-storage"
cat >"$work/orthanc.json" <<CFG
{
  "Name": "bench",
  "StorageDirectory": "$work/orthanc-storage",
  "IndexDirectory": "$work/orthanc-storage",
  "HttpPort": $wo_http,
  "DicomPort": $(free_port),
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "SaveJobs": false,
  "SyncStorageArea": true,
  "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
  "DicomWeb": {"Enable": true, "Root": "/dicom-web/"}
}
CFG
/usr/sbin/Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 &
wo_pid=$!; pids+=("$wo_pid")
wait_port "$wo_http"
echo "   filling Orthanc through its REST API: $("${web_client[@]}" load "$wo_http" "$web")"

"${web_client[@]}" uids "$wq_http" "$series_path" >"$work/web-uids"
[ "$(wc -l <"$work/web-uids")" = "$WEB_SERIES_INSTANCES" ] || { echo "qrscpd lists $(wc -l <"$work/web-uids") instances" >&2; exit 1; }
echo 5 >"/proc/$wq_pid/clear_refs"; echo 5 >"/proc/$wo_pid/clear_refs"

results="$work/web.jsonl"
: >"$results"
record() {  # record NAME SERVER JSON
    printf '{"name": "%s", "server": "%s", "r": %s}\n' "$1" "$2" "$3" >>"$results"
}
# wrk_rate PORT PATH -> requests/s (exits if any answer was not 2xx)
wrk_rate() {
    local out
    out=$(/usr/bin/wrk -t2 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" -H 'Accept: application/dicom+json' \
        "http://127.0.0.1:$1$2")
    if grep -q 'Non-2xx' <<<"$out"; then echo "wrk: $(grep 'Non-2xx' <<<"$out") on $2" >&2; exit 1; fi
    awk '/^Requests\/sec/{print $2}' <<<"$out"
}
median_of() {  # median_of N CMD... -> the JSON line of the median run by "seconds"
    local n="$1"; shift
    for _ in $(seq 1 "$n"); do "$@"; done | python3 -c '
import json, sys
runs = sorted((json.loads(l) for l in sys.stdin if l.strip()), key=lambda r: r["seconds"])
print(json.dumps(runs[len(runs) // 2]))'
}

for server in qrscpd orthanc; do
    if [ "$server" = qrscpd ]; then port=$wq_http; pid=$wq_pid; else port=$wo_http; pid=$wo_pid; fi
    record qido-patient "$server" "$("${web_client[@]}" get "$port" "$QIDO_REPEATS" \
        "/dicom-web/studies?PatientID=BULK-31-{n}" --count "$WEB_STUDIES" --pid "$pid")"
    record qido-rate "$server" "{\"rate\": $(wrk_rate "$port" "/dicom-web/studies?PatientID=BULK-31-$((WEB_STUDIES / 2))")}"
    record qido-universal "$server" "$("${web_client[@]}" get "$port" "$UNIVERSAL_REPEATS" /dicom-web/studies --pid "$pid")"
    record metadata "$server" "$("${web_client[@]}" get "$port" "$METADATA_REPEATS" "$series_path/metadata" --pid "$pid")"
    record frames "$server" "$(median_of "$FRAME_RUNS" "${web_client[@]}" frames "$port" "$series_path" "$work/web-uids" --pid "$pid")"
done
for server in qrscpd orthanc; do
    if [ "$server" = qrscpd ]; then port=$wq_http; pid=$wq_pid; else port=$wo_http; pid=$wo_pid; fi
    sync
    record stow "$server" "$("${web_client[@]}" stow "$port" "$work/web-stow" --pid "$pid")"
    record rss "$server" "{\"kb\": $(awk '/VmHWM/{print $2}' "/proc/$pid/status")}"
done
kill "$wq_pid" "$wo_pid" 2>/dev/null || true
# The disk's own ceiling for such files in the same run (one writer, as the STOW client is one).
stow_size=$(find "$work/web-stow" -name '*.dcm' -printf '%s\n' -quit)
web_ceiling=$(python3 scripts/bench-fsync-ceiling.py "$work/web-ceiling" 1 "$WEB_STOW_INSTANCES" "$stow_size" |
    python3 -c 'import json, sys; print("%.0f" % json.load(sys.stdin)["files_per_s"])')

python3 - "$results" "$WEB_STUDIES" "$WEB_SERIES_INSTANCES" "$WEB_STOW_INSTANCES" "$web_ceiling" <<'REPORT'
import json, sys
studies, series, stow, ceiling = (int(a) for a in sys.argv[2:6])
rows = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    rows.setdefault(e["name"], {})[e["server"]] = e["r"]

def show(label, q, o, ratio, note=""):
    print("%-46s %22s %22s %10s  %s" % (label, q, o, ratio, note))

print("%-46s %22s %22s %10s  %s" % ("benchmark", "qrscpd", "Orthanc", "ratio", "client CPU q / o (cores)"))
def cores(r):
    return r["client_cpu_seconds"] / max(r["seconds"], 1e-9)
for key, label in (("qido-patient", "QIDO /studies?PatientID=, ms (p95)"),
                   ("qido-universal", "QIDO /studies (%d studies), ms (p95)" % (studies + 1)),
                   ("metadata", "series metadata (%d instances), ms (p95)" % series)):
    q, o = rows[key]["qrscpd"], rows[key]["orthanc"]
    show(label, "%.2f (%.2f)" % (q["median_ms"], q["p95_ms"]), "%.2f (%.2f)" % (o["median_ms"], o["p95_ms"]),
         "%.1fx" % (o["median_ms"] / q["median_ms"]),
         "%.2f / %.2f; items %d / %d; first %.1f / %.1f ms" % (cores(q), cores(o), q["items"], o["items"], q["first_ms"], o["first_ms"]))
q, o = rows["qido-rate"]["qrscpd"], rows["qido-rate"]["orthanc"]
show("QIDO PatientID rate (wrk), requests/s", "%.0f/s" % q["rate"], "%.0f/s" % o["rate"], "%.1fx" % (q["rate"] / o["rate"]))
q, o = rows["frames"]["qrscpd"], rows["frames"]["orthanc"]
qr, orate = q["bytes"] / q["seconds"] / 1e6, o["bytes"] / o["seconds"] / 1e6
show("%d frames, MB/s (s)" % series, "%.0f (%.3f)" % (qr, q["seconds"]), "%.0f (%.3f)" % (orate, o["seconds"]), "%.2fx" % (qr / orate),
     "%.2f / %.2f" % (cores(q), cores(o)))
qc, oc = q["server_cpu_seconds"] / (q["bytes"] / 1e9), o["server_cpu_seconds"] / (o["bytes"] / 1e9)
show("  server CPU s per GB of frames", "%.2f" % qc, "%.2f" % oc, "%.2fx" % (qc / max(oc, 1e-9)), "(ratio q/o; lower is better)")
q, o = rows["stow"]["qrscpd"], rows["stow"]["orthanc"]
qs, os_ = q["images"] / q["seconds"], o["images"] / o["seconds"]
show("STOW-RS %d images, images/s (1 per request)" % stow, "%.0f/s" % qs, "%.0f/s" % os_, "%.2fx" % (qs / os_),
     "%.2f / %.2f; server CPU %.2f / %.2f s" % (cores(q), cores(o), q["server_cpu_seconds"], o["server_cpu_seconds"]))
show("  disk ceiling, durable files, 1 writer", "%d/s" % ceiling, "", "", "(temporary file, fdatasync, rename, directory fsync)")
q, o = rows["rss"]["qrscpd"], rows["rss"]["orthanc"]
show("peak RSS (after loading), MB", "%.0f" % (q["kb"] / 1024), "%.0f" % (o["kb"] / 1024), "%.2fx" % (q["kb"] / o["kb"]))
REPORT
