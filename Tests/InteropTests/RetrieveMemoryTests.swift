// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Retrieving a study much larger than the memory bound: the daemon streams large files and
/// loads only a small window ahead, so its peak resident size stays near its idle size; and a
/// requester that stops answering C-STORE-RQs is aborted after the association timeout.
@Suite(
    "C-GET memory bound and stalled requesters", .serialized, .enabled(if: ExternalTool.interopEnabled),
    .timeLimit(.minutes(10)))
struct RetrieveMemoryTests {
    /// Five instances of 10240 × 10240 × 16 bit: 200 MiB of Pixel Data each, 1 GiB in all.
    static let fileCount = 5
    static let side = 10240
    static var pixelBytes: Int { side * side * 2 }
    /// Peak growth allowed over the idle peak: well below one file, so a daemon that held
    /// any one file whole would fail.
    static let allowedGrowthKiB = 100 * 1024

    /// A study of large Secondary Capture instances under `directory`. The Pixel Data is zeros
    /// left as a hole in a sparse file: the test is about the daemon's memory, not the disk.
    static func writeLargeStudy(in directory: URL) throws -> String {
        let study = "1.2.826.0.1.3680043.10.1489.999.\(getpid()).1"
        let series = study + ".1"
        let folder = directory.appendingPathComponent("large")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for n in 1...fileCount {
            var d = DataSet()
            d.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.7")
            d.set(.sopInstanceUID, vr: .UI, string: series + ".\(n)")
            d.set(.studyInstanceUID, vr: .UI, string: study)
            d.set(.seriesInstanceUID, vr: .UI, string: series)
            d.set(.patientID, vr: .LO, string: "LARGE")
            d.set(.patientName, vr: .PN, string: "Large^Study")
            d.set(.modality, vr: .CS, string: "OT")
            d.set(DICOM.Tag(0x0020, 0x0013), vr: .IS, string: "\(n)")  // Instance Number
            d.set(DICOM.Tag(0x0028, 0x0002), uint16: 1)  // Samples per Pixel
            d.set(DICOM.Tag(0x0028, 0x0004), vr: .CS, string: "MONOCHROME2")
            d.set(DICOM.Tag(0x0028, 0x0010), uint16: UInt16(side))  // Rows
            d.set(DICOM.Tag(0x0028, 0x0011), uint16: UInt16(side))  // Columns
            d.set(DICOM.Tag(0x0028, 0x0100), uint16: 16)  // Bits Allocated
            d.set(DICOM.Tag(0x0028, 0x0101), uint16: 16)  // Bits Stored
            d.set(DICOM.Tag(0x0028, 0x0102), uint16: 15)  // High Bit
            d.set(.pixelRepresentation, uint16: 0)
            var bytes = try DICOMFile.encode(dataSet: d, transferSyntax: .explicitVRLittleEndian)
            // Pixel Data (7FE0,0010) OW header; its value is the sparse tail of the file.
            let length = UInt32(pixelBytes)
            bytes += [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x57, 0x00, 0x00]
            bytes += [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
            let path = folder.appendingPathComponent("im\(n).dcm").path
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw DaemonError("cannot create \(path): errno \(errno)") }
            defer { close(fd) }
            guard write(fd, bytes, bytes.count) == bytes.count, ftruncate(fd, off_t(bytes.count + pixelBytes)) == 0
            else {
                throw DaemonError("cannot write \(path): errno \(errno)")
            }
        }
        return study
    }

    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-large-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A C-GET of `study` by get_discard_peer.py, which counts what arrives and keeps nothing;
    /// returns the JSON outcome it printed (a missing one fails the test, with the daemon's log).
    static func discardingGet(
        from daemon: DaemonProcess, study: String, options: [String] = [], timeout: TimeInterval,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        let (result, json) = ExternalTool.pythonPeer(
            "get_discard_peer.py",
            ["127.0.0.1", "\(daemon.port)", daemon.aeTitle, study] + options,
            timeout: timeout)
        return try #require(
            json as? [String: Any], "\(result.transcript)\n\(daemon.log.suffix(3000))",
            sourceLocation: sourceLocation)
    }

    @Test("C-GET of a 1 GiB study: every byte arrives, peak RSS stays under idle + 100 MB")
    func largeStudyPeakMemory() throws {
        // The bound must be one a whole-file send would break.
        #expect(Self.allowedGrowthKiB * 1024 < Self.pixelBytes)
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let study = try Self.writeLargeStudy(in: scratch)
        let daemon = try DaemonProcess(storageDirectory: scratch)
        defer { _ = daemon.stop() }
        #expect(daemon.echoWithDCMTK().succeeded)
        let idlePeak = daemon.peakResidentKiB
        try #require(idlePeak > 0)

        let out = try Self.discardingGet(from: daemon, study: study, timeout: 400)
        let final = out["final"] as? [String: Any]
        #expect(final?["status"] as? Int == 0, "\(out)\n\(daemon.log.suffix(3000))")
        #expect(final?["NumberOfCompletedSuboperations"] as? Int == Self.fileCount)
        #expect(out["received"] as? Int == Self.fileCount)
        #expect((out["received_bytes"] as? Int ?? 0) > Self.fileCount * Self.pixelBytes)

        let peak = daemon.peakResidentKiB
        print(
            "RetrieveMemoryTests: 1 GiB C-GET: idle VmHWM \(idlePeak) KiB, after \(peak) KiB, growth \(peak - idlePeak) KiB"
        )
        #expect(
            peak - idlePeak < Self.allowedGrowthKiB,
            "peak RSS grew by \(peak - idlePeak) KiB retrieving \(Self.fileCount) × \(Self.pixelBytes) bytes")
        #expect(daemon.echoWithDCMTK().succeeded)
    }

    /// One instance of `side` × `side` × 16 bit whose Pixel Data is a pseudo-random pattern, so
    /// that a piece sent twice, lost or out of order shows in a byte-for-byte comparison.
    static func writePatternedInstance(in directory: URL, side: Int) throws -> (study: String, path: String) {
        let study = "1.2.826.0.1.3680043.10.1489.999.\(getpid()).2"
        var state: UInt32 = 0x1234_5678
        let pixels = [UInt8](unsafeUninitializedCapacity: side * side * 2) { buffer, count in
            for i in 0..<buffer.count {
                state = state &* 1_664_525 &+ 1_013_904_223
                buffer[i] = UInt8(truncatingIfNeeded: state >> 24)
            }
            count = buffer.count
        }
        var d = DataSet()
        d.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.7")
        d.set(.sopInstanceUID, vr: .UI, string: study + ".1.1")
        d.set(.studyInstanceUID, vr: .UI, string: study)
        d.set(.seriesInstanceUID, vr: .UI, string: study + ".1")
        d.set(.patientID, vr: .LO, string: "PATTERN")
        d.set(.modality, vr: .CS, string: "OT")
        d.set(DICOM.Tag(0x0028, 0x0002), uint16: 1)
        d.set(DICOM.Tag(0x0028, 0x0004), vr: .CS, string: "MONOCHROME2")
        d.set(DICOM.Tag(0x0028, 0x0010), uint16: UInt16(side))
        d.set(DICOM.Tag(0x0028, 0x0011), uint16: UInt16(side))
        d.set(DICOM.Tag(0x0028, 0x0100), uint16: 16)
        d.set(DICOM.Tag(0x0028, 0x0101), uint16: 16)
        d.set(DICOM.Tag(0x0028, 0x0102), uint16: 15)
        d.set(.pixelRepresentation, uint16: 0)
        d.set(.pixelData, vr: .OW, bytes: pixels[...])
        let path = directory.appendingPathComponent("pattern.dcm").path
        let bytes = try DICOMFile.encode(dataSet: d, transferSyntax: .explicitVRLittleEndian)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw DaemonError("cannot write \(path)")
        }
        return (study, path)
    }

    @Test(
        "A large file streamed in pieces, and one converted whole, arrive byte for byte",
        arguments: [false, true])
    func largeFileIntact(implicitOnly: Bool) throws {
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        // 3000 × 3000 × 2 bytes: above the whole-file limit, several pieces of any PDU size.
        let (study, stored) = try Self.writePatternedInstance(in: scratch, side: 3000)
        let daemon = try DaemonProcess(storageDirectory: scratch)
        defer { _ = daemon.stop() }
        let out = scratch.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let (_, final) = try daemon.retrieveWithPynetdicom(
            "get", model: "S", into: out,
            (implicitOnly ? ["--implicit-only"] : []) + ["QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study)"],
            timeout: 120)
        #expect(final["status"] as? Int == 0)
        #expect(final["NumberOfCompletedSuboperations"] as? Int == 1)
        let path = out.appendingPathComponent("\(study).1.1.dcm").path
        #expect(
            try DICOMFile(contentsOf: path).transferSyntax
                == (implicitOnly ? .implicitVRLittleEndian : .explicitVRLittleEndian))
        try RetrieveInteropTests.expectSame(path, stored)
    }

    @Test("C-MOVE streams a large file to storescp byte for byte")
    func largeFileMovedIntact() throws {
        guard ExternalTool.require("/usr/bin/storescp") else { return }
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (study, stored) = try Self.writePatternedInstance(in: scratch, side: 3000)
        let received = scratch.appendingPathComponent("moved")
        let storescpPort = try freeLoopbackPort()
        let storescp = try RetrieveLifecycleTests.startStorescp(
            aeTitle: "STORESCP", port: storescpPort, directory: received)
        defer {
            kill(storescp.processIdentifier, SIGKILL)
            storescp.waitUntilExit()
        }
        let daemon = try DaemonProcess(
            arguments: ["--peer", "STORESCP:127.0.0.1:\(storescpPort)"], storageDirectory: scratch)
        defer { _ = daemon.stop() }
        let (_, final) = try daemon.retrieveWithPynetdicom(
            "move", model: "S", into: received,
            ["--dest", "STORESCP", "QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study)"], timeout: 120)
        #expect(final["status"] as? Int == 0, "\(daemon.log.suffix(2000))")
        #expect(final["NumberOfCompletedSuboperations"] as? Int == 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: received.path)
        let file = try #require(files.first { $0.hasSuffix("\(study).1.1") }, "storescp wrote \(files)")
        try RetrieveInteropTests.expectSame(received.appendingPathComponent(file).path, stored)
    }

    @Test("C-CANCEL during a C-GET of large files: FE00 after the file in flight, files read ahead dropped")
    func cancelDuringLargeGet() throws {
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let study = try Self.writeLargeStudy(in: scratch)
        let daemon = try DaemonProcess(storageDirectory: scratch)
        defer { _ = daemon.stop() }
        let idlePeak = daemon.peakResidentKiB
        let out = scratch.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // The peer cancels while handling the first C-STORE-RQ, before answering it.
        let (outcome, final) = try daemon.retrieveWithPynetdicom(
            "get", model: "S", into: out,
            ["--cancel-after", "1", "QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study)"], timeout: 300)
        #expect(final["status"] as? Int == 0xFE00, "\(final)\n\(daemon.log.suffix(2000))")
        #expect(final["NumberOfCompletedSuboperations"] as? Int == 1)
        #expect(final["NumberOfRemainingSuboperations"] as? Int == Self.fileCount - 1)
        #expect((outcome["received"] as? [Any])?.count == 1)
        #expect(daemon.peakResidentKiB - idlePeak < Self.allowedGrowthKiB)
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log.suffix(2000))")
    }

    @Test("A requester that stops reading mid-transfer is aborted after --timeout, and the daemon goes on")
    func frozenRequesterAborted() throws {
        guard ExternalTool.require("/usr/bin/getscu") else { return }
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let study = try Self.writeLargeStudy(in: scratch)
        let daemon = try DaemonProcess(arguments: ["--timeout", "2"], storageDirectory: scratch)
        defer { _ = daemon.stop() }
        let idlePeak = daemon.peakResidentKiB
        let out = scratch.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let getscu = Process()
        getscu.executableURL = URL(fileURLWithPath: "/usr/bin/getscu")
        getscu.arguments = [
            "-S", "-aec", daemon.aeTitle, "-od", out.path, "-k", "QueryRetrieveLevel=STUDY",
            "-k", "StudyInstanceUID=\(study)", "127.0.0.1", "\(daemon.port)",
        ]
        getscu.environment = ProcessInfo.processInfo.environment.merging(["TCP_NODELAY": "1"]) { _, new in new }
        getscu.standardOutput = FileHandle.nullDevice
        getscu.standardError = FileHandle.nullDevice
        try getscu.run()
        defer {
            kill(getscu.processIdentifier, SIGKILL)
            getscu.waitUntilExit()
        }
        // Once the first file has arrived, freeze the requester: it neither reads nor answers.
        let started = Date()
        while ((try? FileManager.default.contentsOfDirectory(atPath: out.path))?.count ?? 0) < 1,
            Date().timeIntervalSince(started) < 120, getscu.isRunning
        {
            Thread.sleep(forTimeInterval: 0.02)
        }
        try #require(getscu.isRunning, "getscu ended before it could be frozen\n\(daemon.log.suffix(2000))")
        kill(getscu.processIdentifier, SIGSTOP)
        let deadline = Date().addingTimeInterval(30)
        while !daemon.log.contains("the requester stopped answering sub-operations"), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        let log = daemon.log
        #expect(log.contains("the requester stopped answering sub-operations"), "\(log.suffix(3000))")
        #expect(log.contains("aborting association"), "\(log.suffix(3000))")
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log.suffix(2000))")
        #expect(daemon.peakResidentKiB - idlePeak < Self.allowedGrowthKiB)
    }

    @Test("A requester that stops answering C-STORE-RQs is aborted after --timeout, and the daemon goes on")
    func stalledRequesterAborted() throws {
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let study = try Self.writeLargeStudy(in: scratch)
        let daemon = try DaemonProcess(arguments: ["--timeout", "2"], storageDirectory: scratch)
        defer { _ = daemon.stop() }
        let idlePeak = daemon.peakResidentKiB

        // The peer holds the first C-STORE-RQ for 10 s without answering.
        let out = try Self.discardingGet(from: daemon, study: study, options: ["--stall", "10"], timeout: 120)
        #expect(out["established"] as? Bool == true)
        #expect(out["aborted"] as? Bool == true, "\(out)\n\(daemon.log.suffix(3000))")
        #expect(out["final"] is NSNull || out["final"] == nil, "no final C-GET-RSP after an abort: \(out)")
        let log = daemon.log
        #expect(log.contains("the requester stopped answering sub-operations"), "\(log.suffix(3000))")
        #expect(log.contains("aborting association"), "\(log.suffix(3000))")

        // What was loaded ahead went with the association; the daemon serves the next one.
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log.suffix(2000))")
        #expect(daemon.peakResidentKiB - idlePeak < Self.allowedGrowthKiB)
        #expect(daemon.isRunning)
    }
}
