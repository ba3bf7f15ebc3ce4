// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The real daemon serving the fixture archive, retrieved from by DCMTK's getscu / movescu (with
/// storescp as the move destination) and the pynetdicom retrieve peer; every received object is
/// compared element by element with the stored file.
@Suite(
    "C-GET / C-MOVE interop on the fixture archive", .serialized,
    .enabled(if: ExternalTool.interopEnabled), .timeLimit(.minutes(5)))
struct RetrieveInteropTests {
    final class Setup {
        let truth: FixtureTruth
        let directory: URL
        let storescpPort: Int
        let storescp: Process
        let storescpDirectory: URL
        let daemon: DaemonProcess

        init(storescpArguments: [String] = []) throws {
            truth = try FixtureArchive.truth()
            directory = try FixtureArchive.master()
            storescpPort = try freeLoopbackPort()
            storescpDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "storescp-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: storescpDirectory, withIntermediateDirectories: true)
            storescp = Process()
            storescp.executableURL = URL(fileURLWithPath: "/usr/bin/storescp")
            storescp.arguments =
                ["-aet", "STORESCP", "-od", storescpDirectory.path] + storescpArguments + ["\(storescpPort)"]
            storescp.standardOutput = FileHandle.nullDevice
            storescp.standardError = FileHandle.nullDevice
            do {
                try storescp.run()
                daemon = try DaemonProcess(
                    arguments: ["--peer", "STORESCP:127.0.0.1:\(storescpPort)"], storageDirectory: directory)
            } catch {
                // deinit does not run for an init that throws before every property is set.
                if storescp.isRunning {
                    kill(storescp.processIdentifier, SIGKILL)
                    storescp.waitUntilExit()
                }
                try? FileManager.default.removeItem(at: storescpDirectory)
                throw error
            }
            try waitUntilIndexed()
        }

        deinit {
            if storescp.isRunning { kill(storescp.processIdentifier, SIGKILL) }
            storescp.waitUntilExit()
            try? FileManager.default.removeItem(at: storescpDirectory)
            _ = daemon.stop()
        }

        func stopDestination() {
            if storescp.isRunning { kill(storescp.processIdentifier, SIGKILL) }
            storescp.waitUntilExit()
        }

        private func waitUntilIndexed(timeout: TimeInterval = 90) throws {
            let deadline = Date().addingTimeInterval(timeout)
            // The start-up scan finishes before the daemon listens; wait for every study anyway.
            while Date() < deadline {
                let all = FindRunner.run(
                    .dcmtk, port: daemon.port, aeTitle: daemon.aeTitle, model: .studyRoot,
                    keys: ["\(Key.level)=STUDY", Key.studyUID], characterSet: nil, cancelAfter: nil)
                if all.finalStatus == "0000", all.matches.count == truth.studies.count { return }
                Thread.sleep(forTimeInterval: 0.5)
            }
            throw DaemonError("fixture archive not indexed in time\n\(daemon.log)")
        }

        func storedPath(_ instance: FixtureTruth.Instance) -> String {
            instance.path.hasPrefix("/") ? instance.path : directory.appendingPathComponent(instance.path).path
        }
    }

    /// Element by element (byte order normalised), pixel data byte for byte.
    static func expectSame(
        _ receivedPath: String, _ storedPath: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let received = try DICOMFile(contentsOf: receivedPath)
        let stored = try DICOMFile(contentsOf: storedPath)
        for element in stored.dataSet {
            guard let got = received.dataSet[element.tag] else {
                Issue.record("\(element.tag) missing in \(receivedPath)", sourceLocation: sourceLocation)
                continue
            }
            if element.items != nil { continue }  // sequences: compared through their items' presence only
            #expect(
                Array(got.bytes(bigEndian: false)) == Array(element.bytes(bigEndian: false)),
                "\(element.tag): stored \(stored.transferSyntax), received \(received.transferSyntax)",
                sourceLocation: sourceLocation)
        }
    }

    struct LevelCase: Sendable, CustomStringConvertible {
        var model: String  // "P" / "S"
        var level: String
        var description: String { "\(model == "P" ? "Patient" : "Study") Root \(level)" }
    }

    static let levels: [LevelCase] = [
        .init(model: "P", level: "PATIENT"), .init(model: "P", level: "STUDY"), .init(model: "P", level: "SERIES"),
        .init(model: "P", level: "IMAGE"), .init(model: "S", level: "STUDY"), .init(model: "S", level: "SERIES"),
        .init(model: "S", level: "IMAGE"),
    ]

    /// Keys (keyword=value) and expected instances for a level.
    static func selection(_ c: LevelCase, _ truth: FixtureTruth) -> ([String], [FixtureTruth.Instance]) {
        let instance = truth.instances.first { $0.TransferSyntaxUID == "1.2.840.10008.1.2.2" } ?? truth.instances[0]
        var keys = ["QueryRetrieveLevel=\(c.level)"]
        if c.model == "P" { keys.append("PatientID=\(instance.PatientID)") }
        let expected: [FixtureTruth.Instance]
        switch c.level {
        case "PATIENT": expected = truth.instances.filter { $0.PatientID == instance.PatientID }
        case "STUDY":
            keys.append("StudyInstanceUID=\(instance.StudyInstanceUID)")
            expected = truth.instances.filter { $0.StudyInstanceUID == instance.StudyInstanceUID }
        case "SERIES":
            keys += [
                "StudyInstanceUID=\(instance.StudyInstanceUID)", "SeriesInstanceUID=\(instance.SeriesInstanceUID)",
            ]
            expected = truth.instances(ofSeries: instance.SeriesInstanceUID)
        default:
            keys += [
                "StudyInstanceUID=\(instance.StudyInstanceUID)", "SeriesInstanceUID=\(instance.SeriesInstanceUID)",
                "SOPInstanceUID=\(instance.SOPInstanceUID)",
            ]
            expected = [instance]
        }
        return (keys, expected)
    }

    static func files(in dir: URL) -> [URL] {
        (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
    }

    @Test("getscu, movescu and pynetdicom at every level: every object intact, final counts", arguments: levels)
    func everyLevel(_ c: LevelCase) throws {
        let setup = try Setup()
        let (keys, expected) = Self.selection(c, setup.truth)
        let dcmtkKeys = keys.flatMap { ["-k", $0] }
        // getscu
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("getscu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let get = ExternalTool.run(
            "/usr/bin/getscu",
            ["-\(c.model)", "-aec", setup.daemon.aeTitle, "-od", out.path]
                + dcmtkKeys + ["127.0.0.1", "\(setup.daemon.port)"])
        #expect(get.succeeded, "\(get.transcript)\n\(setup.daemon.log)")
        #expect(Self.files(in: out).count == expected.count)
        for instance in expected {
            let file = try #require(
                Self.files(in: out).first { $0.lastPathComponent.contains(instance.SOPInstanceUID) })
            try Self.expectSame(file.path, setup.storedPath(instance))
        }
        // movescu → storescp
        let move = ExternalTool.run(
            "/usr/bin/movescu",
            ["-\(c.model)", "-aec", setup.daemon.aeTitle, "-aem", "STORESCP"]
                + dcmtkKeys + ["127.0.0.1", "\(setup.daemon.port)"])
        #expect(move.succeeded, "\(move.transcript)\n\(setup.daemon.log)")
        for instance in expected {
            let file = try #require(
                Self.files(in: setup.storescpDirectory).first { $0.lastPathComponent.contains(instance.SOPInstanceUID) }
            )
            try Self.expectSame(file.path, setup.storedPath(instance))
        }
        // pynetdicom C-GET and C-MOVE
        for mode in ["get", "move"] {
            let pyOut = FileManager.default.temporaryDirectory.appendingPathComponent("pyretrieve-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: pyOut, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: pyOut) }
            let (_, final) = try setup.daemon.retrieveWithPynetdicom(
                mode, model: c.model, into: pyOut,
                ["--dest", "STORESCP"] + keys)
            #expect(final["status"] as? Int == 0, "\(mode): \(final)")
            #expect(final["NumberOfCompletedSuboperations"] as? Int == expected.count)
            #expect(final["NumberOfFailedSuboperations"] as? Int == 0)
            if mode == "get" {
                for instance in expected {
                    try Self.expectSame(
                        pyOut.appendingPathComponent("\(instance.SOPInstanceUID).dcm").path, setup.storedPath(instance))
                }
            }
        }
    }

    @Test("pynetdicom proposing only Implicit VR LE gets Explicit LE and Big Endian files converted")
    func implicitOnly() throws {
        let setup = try Setup()
        let be = try #require(setup.truth.instances.first { $0.TransferSyntaxUID == "1.2.840.10008.1.2.2" })
        let expected = setup.truth.instances.filter { $0.StudyInstanceUID == be.StudyInstanceUID }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pyretrieve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let (_, final) = try setup.daemon.retrieveWithPynetdicom(
            "get", model: "S", into: out,
            ["--implicit-only", "QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(be.StudyInstanceUID)"])
        #expect(final["status"] as? Int == 0)
        for instance in expected {
            let path = out.appendingPathComponent("\(instance.SOPInstanceUID).dcm").path
            #expect(try DICOMFile(contentsOf: path).transferSyntax == .implicitVRLittleEndian)
            try Self.expectSame(path, setup.storedPath(instance))
        }
    }

    @Test(
        "Destination down: failure status with a comment; cancel mid-GET: FE00; the daemon serves the next association")
    func failuresAndCancel() throws {
        let setup = try Setup()
        let study = setup.truth.studies.max { a, b in a.NumberOfStudyRelatedInstances < b.NumberOfStudyRelatedInstances
        }!
        setup.stopDestination()
        // A C-MOVE's objects go to the destination, not into the peer's directory.
        let (_, down) = try setup.daemon.retrieveWithPynetdicom(
            "move", model: "S", into: FileManager.default.temporaryDirectory,
            ["--dest", "STORESCP", "QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study.StudyInstanceUID)"])
        #expect(down["status"] as? Int == 0xA702)
        #expect((down["ErrorComment"] as? String)?.contains("connection refused") == true, "\(down)")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pyretrieve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let (_, cancelled) = try setup.daemon.retrieveWithPynetdicom(
            "get", model: "S", into: out,
            ["--cancel-after", "1", "QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study.StudyInstanceUID)"])
        if study.NumberOfStudyRelatedInstances > 1 {
            #expect(cancelled["status"] as? Int == 0xFE00, "\(cancelled)")
        }
        let next = ExternalTool.run(
            "/usr/bin/getscu",
            [
                "-S", "-aec", setup.daemon.aeTitle, "--ignore",
                "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=\(study.StudyInstanceUID)",
                "127.0.0.1", "\(setup.daemon.port)",
            ])
        #expect(next.succeeded, "\(next.transcript)")
    }
}
