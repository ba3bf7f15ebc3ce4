// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Foundation
import TestSupport
import Testing

@testable import QRServer

#if canImport(Glibc)
    import Glibc
#endif

/// Runs an external program with a time limit; stdout+stderr go to a file.
func runTool(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) -> (status: Int32, output: String)
{
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["TCP_NODELAY"] = "1"
    process.environment = environment
    guard let handle = try? FileHandle(forWritingTo: log) else { return (-1, "cannot create log") }
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return (-1, "cannot start \(executable): \(error)") }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    try? handle.close()
    return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}

/// A background storescp (the C-MOVE destination).
final class StoreSCPProcess {
    let port: Int
    let directory: URL
    private let process = Process()

    init(port: Int, arguments: [String] = []) throws {
        self.port = port
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("storescp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/storescp")
        process.arguments = ["-aet", "STORESCP", "-od", directory.path] + arguments + ["\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        // Wait until it listens.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let fd = try? connectToLoopback(port: port, timeout: 1) {
                Glibc.close(fd)
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() {
        // storescp ignores SIGTERM while waiting for an association.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    var files: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "dcm" || !$0.lastPathComponent.hasPrefix(".") }
    }
}

/// Every element of the stored data set is in the received one with the same value (byte
/// order normalised to little endian); pixel data byte for byte.
func expectSameContent(
    received path: String, as item: TestArchive.Item, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let file = try DICOMFile(contentsOf: path)
    #expect(file.meta.uid(.mediaStorageSOPInstanceUID) == item.sopInstanceUID, sourceLocation: sourceLocation)
    for element in item.dataSet {
        guard let got = file.dataSet[element.tag] else {
            Issue.record("\(element.tag) missing in \(path)", sourceLocation: sourceLocation)
            continue
        }
        #expect(
            Array(got.bytes(bigEndian: false)) == Array(element.bytes(bigEndian: false)),
            "\(element.tag) differs (stored \(item.transferSyntax), received \(file.transferSyntax))",
            sourceLocation: sourceLocation)
    }
}

@Suite(
    "C-GET / C-MOVE with DCMTK and pynetdicom against the in-process server", .serialized,
    .enabled(if: InteropPolicy.enabled(requiring: "/usr/bin/getscu", "/usr/bin/movescu", "/usr/bin/storescp")),
    .timeLimit(.minutes(3)))
struct RetrieveToolTests {
    static let study = GetServiceTests.study
    static let series = GetServiceTests.series

    static func archive() throws -> TestArchive {
        let archive = try TestArchive()
        try archive.add(instance: 1, transferSyntax: .explicitVRLittleEndian, pixelBytes: 64 * 64 * 2)
        try archive.add(instance: 2, transferSyntax: .implicitVRLittleEndian, pixelBytes: 64 * 64 * 2)
        try archive.add(
            instance: 3, sopClass: RetrieveUIDs.mrImage, transferSyntax: .explicitVRBigEndian,
            pixelBytes: 64 * 64 * 2)
        try archive.add(series: series + ".2", instance: 4, pixelBytes: 300_000)
        return archive
    }

    static let peerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("InteropTests/Peers/retrieve_peer.py").path

    /// A pynetdicom C-GET (Study Root) of `study` from `server` into `directory`, with the peer's
    /// `options`: its JSON outcome, the final response in it, and its output for messages.
    static func pynetdicomGet(
        _ server: TestServer, into directory: URL, _ options: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    )
        throws -> (json: [String: Any], final: [String: Any], output: String)
    {
        let result = runTool(
            "/usr/bin/env",
            [
                "python3", peerScript, "127.0.0.1", "\(server.port)", TestServer.aeTitle,
                "get", "S", directory.path,
            ] + options
                + ["QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study)"])
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result.output)",
            sourceLocation: sourceLocation)
        let final = try #require(json["final"] as? [String: Any], "\(result.output)", sourceLocation: sourceLocation)
        return (json, final, result.output)
    }

    @Test("getscu at STUDY, SERIES and IMAGE level receives every object intact")
    func getscu() throws {
        let archive = try Self.archive()
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let cases: [(String, [String], [TestArchive.Item])] = [
            ("STUDY", ["-k", "StudyInstanceUID=\(Self.study)"], archive.items),
            (
                "SERIES", ["-k", "StudyInstanceUID=\(Self.study)", "-k", "SeriesInstanceUID=\(Self.series)"],
                Array(archive.items[0...2])
            ),
            (
                "IMAGE",
                [
                    "-k", "StudyInstanceUID=\(Self.study)", "-k", "SeriesInstanceUID=\(Self.series)",
                    "-k", "SOPInstanceUID=\(archive.items[2].sopInstanceUID)",
                ], [archive.items[2]]
            ),
        ]
        for (level, keys, expected) in cases {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("getscu-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: out) }
            let result = runTool(
                "/usr/bin/getscu",
                [
                    "-S", "-aec", TestServer.aeTitle, "-od", out.path,
                    "-k", "QueryRetrieveLevel=\(level)",
                ] + keys
                    + ["127.0.0.1", "\(server.port)"])
            #expect(result.status == 0, "\(level): \(result.output)")
            for item in expected {
                let path = try #require(
                    (try FileManager.default.contentsOfDirectory(atPath: out.path)).first {
                        $0.contains(item.sopInstanceUID)
                    },
                    "\(level): \(item.sopInstanceUID) not received\n\(result.output)")
                try expectSameContent(received: out.appendingPathComponent(path).path, as: item)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).count == expected.count)
        }
        #expect(eventually { server.retrieveLogs("C-GET").count == 3 })
        let logs = server.retrieveLogs("C-GET")
        #expect(logs.map { $0.metadata["status"] } == ["0000", "0000", "0000"])
    }

    @Test("movescu to storescp (Implicit VR LE only): every object converted and intact, final 0000")
    func movescu() throws {
        let archive = try Self.archive()
        let port = try freeLoopbackPort()
        let destination = try StoreSCPProcess(port: port, arguments: ["+xi"])
        defer { destination.stop() }
        let server = try TestServer(
            retrievingFrom: archive.store, peers: ["STORESCP": PeerAddress(host: "127.0.0.1", port: port)])
        defer { server.shutdown() }
        let result = runTool(
            "/usr/bin/movescu",
            [
                "-S", "-aec", TestServer.aeTitle, "-aem", "STORESCP",
                "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=\(Self.study)",
                "127.0.0.1", "\(server.port)",
            ])
        #expect(
            result.status == 0,
            "\(result.output)\n\(server.logs.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n"))")
        #expect(eventually { destination.files.count == archive.items.count })
        for item in archive.items {
            let file = try #require(destination.files.first { $0.lastPathComponent.contains(item.sopInstanceUID) })
            try expectSameContent(received: file.path, as: item)
            #expect(try DICOMFile(contentsOf: file.path).transferSyntax == .implicitVRLittleEndian)
        }
        #expect(eventually { server.retrieveLogs("C-MOVE").count == 1 })
        let log = try #require(server.retrieveLogs("C-MOVE").first)
        #expect(log.metadata["status"] == "0000")
        #expect(log.metadata["completed"] == "\(archive.items.count)")
        // Destination down: failure with a comment, then the server still answers.
        destination.stop()
        let down = runTool(
            "/usr/bin/movescu",
            [
                "-S", "-aec", TestServer.aeTitle, "-aem", "STORESCP",
                "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=\(Self.study)",
                "127.0.0.1", "\(server.port)",
            ])
        #expect(down.output.contains("OutOfResourcesSubOperations"), "\(down.output)")
        #expect(eventually { server.retrieveLogs("C-MOVE").count == 2 })
        #expect(server.retrieveLogs("C-MOVE").last?.metadata["error_comment"]?.contains("connection refused") == true)
    }

    @Test("pynetdicom C-GET proposing only Implicit VR LE: Explicit LE and Big Endian files converted correctly")
    func pynetdicomImplicitOnly() throws {
        let archive = try Self.archive()
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pyget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let (json, final, _) = try Self.pynetdicomGet(server, into: out, ["--implicit-only"])
        #expect(final["status"] as? Int == 0)
        #expect(final["NumberOfCompletedSuboperations"] as? Int == archive.items.count)
        let received = try #require(json["received"] as? [[String: Any]])
        #expect(received.count == archive.items.count)
        for item in archive.items {
            let entry = try #require(received.first { $0["uid"] as? String == item.sopInstanceUID })
            #expect(entry["ts"] as? String == UIDs.implicitLE)
            try expectSameContent(received: try #require(entry["path"] as? String), as: item)
        }
        #expect((json["pending"] as? [Any])?.count == archive.items.count)
    }

    @Test("pynetdicom C-GET cancelled after the first object: FE00, the server serves the next request")
    func pynetdicomCancel() throws {
        let archive = try TestArchive()
        for i in 1...8 { try archive.add(instance: i, pixelBytes: 100_000) }
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pyget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let (json, final, output) = try Self.pynetdicomGet(server, into: out, ["--cancel-after", "1"])
        #expect(final["status"] as? Int == 0xFE00, "\(output)")
        let completed = final["NumberOfCompletedSuboperations"] as? Int ?? -1
        #expect(completed >= 1 && completed < 8)
        #expect((final["FailedSOPInstanceUIDList"] as? [String])?.count == 8 - completed)
        #expect(json["released"] as? Bool == true)
        let again = runTool(
            "/usr/bin/getscu",
            [
                "-S", "-aec", TestServer.aeTitle, "--ignore",
                "-k", "QueryRetrieveLevel=IMAGE", "-k", "StudyInstanceUID=\(Self.study)",
                "-k", "SeriesInstanceUID=\(Self.series)",
                "-k", "SOPInstanceUID=\(archive.items[0].sopInstanceUID)",
                "127.0.0.1", "\(server.port)",
            ])
        #expect(again.status == 0, "\(again.output)")
    }
}
