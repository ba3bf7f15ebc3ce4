// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's lifecycle around retrieves: a peer added by SIGHUP is a usable C-MOVE
/// destination without a restart, and SIGTERM lets a C-GET in progress complete before the
/// daemon exits 0.
@Suite(
    "Reload and stop around retrieves", .serialized, .enabled(if: ExternalTool.interopEnabled),
    .timeLimit(.minutes(4)))
struct RetrieveLifecycleTests {
    static func config(port: Int, peers: [String: Int]) -> String {
        var text = "port: \(port)\nae_title: QRSCPD\nlog_level: info\n"
        if !peers.isEmpty {
            text += "peers:\n"
            for (ae, peerPort) in peers.sorted(by: { $0.key < $1.key }) {
                text += "  \(ae): {host: 127.0.0.1, port: \(peerPort)}\n"
            }
        }
        return text
    }

    /// DCMTK's storescp, the C-MOVE destination.
    static func startStorescp(aeTitle: String, port: Int, directory: URL) throws -> Process {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let storescp = Process()
        storescp.executableURL = URL(fileURLWithPath: "/usr/bin/storescp")
        storescp.arguments = ["-aet", aeTitle, "-od", directory.path, "\(port)"]
        storescp.standardOutput = FileHandle.nullDevice
        storescp.standardError = FileHandle.nullDevice
        try storescp.run()
        return storescp
    }

    static func moveSeries(port: Int, destination: String, study: String, series: String, out: URL) -> [String: Any]? {
        let (_, json) = ExternalTool.pythonPeer(
            "retrieve_peer.py",
            [
                "127.0.0.1", "\(port)", "QRSCPD", "move", "S", out.path, "--dest", destination,
                "QueryRetrieveLevel=SERIES", "StudyInstanceUID=\(study)", "SeriesInstanceUID=\(series)",
            ])
        return (json as? [String: Any])?["final"] as? [String: Any]
    }

    @Test("SIGHUP adds a C-MOVE destination: the move that got A801 before now completes")
    func reloadAddsPeer() throws {
        guard ExternalTool.require("/usr/bin/storescp") else { return }
        let truth = try FixtureArchive.truth()
        let archive = try FixtureArchive.master()
        let series = try #require(
            truth.series.first { $0.NumberOfSeriesRelatedInstances >= 2 && $0.NumberOfSeriesRelatedInstances < 50 })
        let scratch = try LifecycleScratch()
        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        let storescpPort = try freeLoopbackPort()
        let received = URL(fileURLWithPath: scratch.path + "/received")
        let storescp = try Self.startStorescp(aeTitle: "LATECOMER", port: storescpPort, directory: received)
        defer {
            kill(storescp.processIdentifier, SIGKILL)
            storescp.waitUntilExit()
        }
        let configPath = scratch.path + "/qrscpd.yaml"
        try Self.config(port: port, peers: [:]).write(toFile: configPath, atomically: true, encoding: .utf8)

        let daemon = try LaunchedDaemon(
            arguments: ["--config", configPath, "--storage-dir", archive.path],
            environment: ["NOTIFY_SOCKET": notify.path], scratch: scratch)
        defer { daemon.kill() }
        _ = try #require(notify.wait(for: "READY=1", timeout: 120), "no READY=1\n\(daemon.output)")

        let before = Self.moveSeries(
            port: port, destination: "LATECOMER", study: series.StudyInstanceUID,
            series: series.SeriesInstanceUID, out: received)
        #expect(before?["status"] as? Int == 0xA801, "\(String(describing: before))")

        try Self.config(port: port, peers: ["LATECOMER": storescpPort]).write(
            toFile: configPath, atomically: true, encoding: .utf8)
        let mark = notify.count
        kill(daemon.pid, SIGHUP)
        let reloading = try #require(notify.wait(for: "RELOADING=1", from: mark, timeout: 10), "\(daemon.output)")
        _ = try #require(notify.wait(for: "READY=1", from: reloading.index + 1, timeout: 10), "\(daemon.output)")

        let after = Self.moveSeries(
            port: port, destination: "LATECOMER", study: series.StudyInstanceUID,
            series: series.SeriesInstanceUID, out: received)
        #expect(after?["status"] as? Int == 0, "\(String(describing: after))\n\(daemon.output)")
        #expect(after?["NumberOfCompletedSuboperations"] as? Int == series.NumberOfSeriesRelatedInstances)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: received.path)) ?? []
        #expect(files.count == series.NumberOfSeriesRelatedInstances)

        kill(daemon.pid, SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.output)")
    }

    @Test("SIGTERM during a C-GET: STOPPING=1, the C-GET completes, exit 0")
    func stopDuringGet() throws {
        guard ExternalTool.require("/usr/bin/getscu") else { return }
        let truth = try FixtureArchive.truth()
        let archive = try FixtureArchive.master()
        let big = try #require(
            truth.series.max { $0.NumberOfSeriesRelatedInstances < $1.NumberOfSeriesRelatedInstances })
        let scratch = try LifecycleScratch()
        let notify = try NotifyReceiver(path: scratch.path + "/notify")
        let port = try freeLoopbackPort()
        let daemon = try LaunchedDaemon(
            arguments: ["\(port)", "QRSCPD", "--storage-dir", archive.path],
            environment: ["NOTIFY_SOCKET": notify.path], scratch: scratch)
        defer { daemon.kill() }
        _ = try #require(notify.wait(for: "READY=1", timeout: 120), "no READY=1\n\(daemon.output)")

        let out = URL(fileURLWithPath: scratch.path + "/get")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let getscu = Process()
        getscu.executableURL = URL(fileURLWithPath: "/usr/bin/getscu")
        getscu.arguments = [
            "-S", "-aec", "QRSCPD", "-od", out.path, "-k", "QueryRetrieveLevel=SERIES",
            "-k", "StudyInstanceUID=\(big.StudyInstanceUID)", "-k", "SeriesInstanceUID=\(big.SeriesInstanceUID)",
            "127.0.0.1", "\(port)",
        ]
        getscu.environment = ProcessInfo.processInfo.environment.merging(["TCP_NODELAY": "1"]) { _, new in new }
        getscu.standardOutput = FileHandle.nullDevice
        getscu.standardError = FileHandle.nullDevice
        try getscu.run()
        defer { if getscu.isRunning { kill(getscu.processIdentifier, SIGKILL) } }

        // Stop once the retrieve is under way.
        let started = Date()
        while ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) < 5,
            Date().timeIntervalSince(started) < 60, getscu.isRunning
        {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let mark = notify.count
        kill(daemon.pid, SIGTERM)
        #expect(notify.wait(for: "STOPPING=1", from: mark, timeout: 10) != nil, "\(daemon.output)")
        let deadline = Date().addingTimeInterval(60)
        while getscu.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        getscu.waitUntilExit()
        #expect(getscu.terminationStatus == 0, "getscu failed\n\(daemon.output)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(
            files.count == big.NumberOfSeriesRelatedInstances,
            "received \(files.count) of \(big.NumberOfSeriesRelatedInstances)")
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.output)")
        #expect(
            daemon.stderr.contains("gets=1"), "statistics at stop should count the C-GET\n\(daemon.stderr.suffix(2000))"
        )
    }
}
