// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// qrscpd-bench MODE PORT AE [options]
//   assoc PORT AE SECONDS CONCURRENCY  associations/s (associate, one C-ECHO, release)
//   echo  PORT AE COUNT                C-ECHOs/s on one association
//   find  PORT AE REPEATS LEVEL KEY=VALUE...  C-FIND latency (median, p95) and responses/s
//   get   PORT AE STUDY_UID            C-GET of a study, data discarded as it arrives
//   move  PORT AE STUDY_UID DEST_AE SINK_PORT  C-MOVE of a study to DEST_AE, served by an
//                                      in-process discarding Storage SCP on SINK_PORT
//   store-sink PORT AE SECONDS         the discarding Storage SCP alone, for SECONDS
// --tls CA CERT KEY (anywhere): the client connects over TLS, verifying the server against CA and
// presenting CERT; get and find then report the negotiated protocol and cipher.
// Prints one JSON object: operations, wall seconds, rate and the client's own CPU seconds,
// so the benchmark can show the client was not the bottleneck.

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
}

let arguments = BenchTLS.positionalArguments
guard arguments.count >= 5, let port = Int(arguments[2]) else {
    FileHandle.standardError.write(
        Data(
            "usage: qrscpd-bench assoc PORT AE SECONDS CONCURRENCY | echo PORT AE COUNT | find … | get … | move … | store-sink …\n"
                .utf8))
    exit(1)
}
/// `, "tls": "TLSv1.3 TLS_AES_128_GCM_SHA256"` after a TLS run, nothing after a plain one.
var negotiatedTLSField: String { BenchTLS.lastNegotiated.map { ", \"tls\": \"\($0)\"" } ?? "" }

let client = BenchClient(port: port, calledAE: arguments[3])
let cpuStart = cpuSeconds()
let wallStart = Date()
var operations = 0
var failures = 0

switch arguments[1] {
case "assoc":
    let seconds = Double(arguments[4]) ?? 3
    let concurrency = arguments.count > 5 ? Int(arguments[5]) ?? 2 : 2
    let deadline = Date().addingTimeInterval(seconds)
    let lock = NSLock()
    let group = DispatchGroup()
    nonisolated(unsafe) var counts = (ok: 0, failed: 0)
    for _ in 0..<concurrency {
        group.enter()
        Thread.detachNewThread {
            var ok = 0
            var failed = 0
            while Date() < deadline {
                do {
                    try client.runAssociation(echoes: 1)
                    ok += 1
                } catch {
                    failed += 1
                    if failed > 100 { break }
                }
            }
            lock.lock()
            counts.ok += ok
            counts.failed += failed
            lock.unlock()
            group.leave()
        }
    }
    group.wait()
    operations = counts.ok
    failures = counts.failed
case "echo":
    let count = Int(arguments[4]) ?? 10000
    do {
        try client.runAssociation(echoes: count)
        operations = count
    } catch {
        FileHandle.standardError.write(Data("echo run failed: \(error)\n".utf8))
        failures = 1
    }
case "find":
    let repeats = Int(arguments[4]) ?? 100
    let level = arguments.count > 5 ? arguments[5] : "STUDY"
    do {
        let result = try FindBench(port: port, calledAE: arguments[3])
            .run(level: level, keys: Array(arguments.dropFirst(6)), repeats: repeats)
        let sorted = result.latenciesMS.sorted()
        let median = sorted[sorted.count / 2]
        let p95 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))]
        print(
            String(
                format:
                    "{\"queries\": %d, \"responses_per_query\": %d, \"median_ms\": %.3f, \"p95_ms\": %.3f, \"responses_per_s\": %.0f, \"client_cpu_seconds\": %.3f, \"seconds\": %.3f",
                repeats, result.responsesPerQuery, median, p95, Double(result.totalResponses) / result.seconds,
                cpuSeconds() - cpuStart, result.seconds) + negotiatedTLSField + "}")
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("find run failed: \(error)\n".utf8))
        exit(1)
    }
case "get", "move":
    let bench = RetrieveBench(port: port, calledAE: arguments[3])
    do {
        let result: RetrieveBench.Result
        if arguments[1] == "get" {
            result = try bench.get(studyUID: arguments[4])
        } else {
            guard arguments.count >= 7, let sinkPort = Int(arguments[6]) else {
                throw BenchError("usage: qrscpd-bench move PORT AE STUDY_UID DEST_AE SINK_PORT")
            }
            let sink = try StoreSink(port: sinkPort, aeTitle: arguments[5])
            sink.start()
            result = try bench.move(studyUID: arguments[4], destinationAE: arguments[5], sink: sink)
        }
        print(
            String(
                format:
                    "{\"images\": %d, \"bytes\": %d, \"seconds\": %.4f, \"images_per_s\": %.1f, \"mb_per_s\": %.1f, \"client_cpu_seconds\": %.4f, \"max_pdu\": %d, \"status\": \"%04X\", \"completed\": %d, \"failed\": %d, ",
                result.images, result.bytes, result.seconds, Double(result.images) / result.seconds,
                Double(result.bytes) / 1e6 / result.seconds, cpuSeconds() - cpuStart,
                Int(RetrieveBench.maxPDULength), Int(result.status.rawValue), result.completed, result.failed)
                + "\"transfer_syntax\": \"\(result.transferSyntax)\"" + negotiatedTLSField + "}")
        exit(result.status.isSuccess && result.failed == 0 ? 0 : 1)
    } catch {
        FileHandle.standardError.write(Data("\(arguments[1]) run failed: \(error)\n".utf8))
        exit(1)
    }
case "store-sink":
    do {
        let sink = try StoreSink(port: port, aeTitle: arguments[3])
        sink.start()
        Thread.sleep(forTimeInterval: Double(arguments[4]) ?? 60)
        let totals = sink.totals()
        print(
            "{\"images\": \(totals.images), \"bytes\": \(totals.bytes), \"associations\": \(totals.associationsDone)}")
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("store-sink failed: \(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(Data("unknown mode \(arguments[1])\n".utf8))
    exit(1)
}

let wall = Date().timeIntervalSince(wallStart)
let cpu = cpuSeconds() - cpuStart
print(
    String(
        format:
            "{\"operations\": %d, \"failures\": %d, \"seconds\": %.4f, \"rate\": %.1f, \"client_cpu_seconds\": %.4f}",
        operations, failures, wall, Double(operations) / wall, cpu))
exit(failures > 0 && operations == 0 ? 1 : 0)
