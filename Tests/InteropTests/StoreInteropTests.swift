// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import Foundation
import Synchronization
import Testing

/// C-STORE ingest against the real daemon: DCMTK's storescu (single files, a scanned
/// directory, compressed files in their own transfer syntax) and pynetdicom's storescu. The
/// stored files must carry the sent data sets byte for byte after a fresh File Meta
/// Information, and C-FIND (findscu) must return them.
@Suite(
    "C-STORE interop (storescu, pynetdicom storescu)", .serialized,
    .enabled(if: ExternalTool.interopEnabled), .timeLimit(.minutes(5)))
struct StoreInteropTests {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let explicitLE = "1.2.840.10008.1.2.1"

    /// A sent object: its file and what the archive should hold.
    struct Sent {
        var path: String
        var sopInstanceUID: String
        var sopClassUID: String
        var studyUID: String
        var seriesUID: String
        var transferSyntaxUID: String
        /// The data set bytes after the file's meta.
        var body: [UInt8]

        init(path: String) throws {
            let bytes = try DICOMFile.readBytes(path)
            let header = try DICOMFile.readHeader(bytes[...])
            let file = try DICOMFile(bytes: bytes[...], options: .init(stopBeforePixelData: true))
            self.path = path
            sopInstanceUID = file.dataSet.uid(.sopInstanceUID) ?? ""
            sopClassUID = file.dataSet.uid(.sopClassUID) ?? ""
            studyUID = file.dataSet.uid(.studyInstanceUID) ?? ""
            seriesUID = file.dataSet.uid(.seriesInstanceUID) ?? ""
            transferSyntaxUID = header.meta.uid(.transferSyntaxUID) ?? ""
            body = Array(bytes[header.dataSetOffset...])
        }
    }

    /// Writes `count` Explicit VR LE CT files into `directory`.
    static func makeFiles(
        in directory: URL, count: Int, study: String, series: String,
        instanceBase: String
    ) throws -> [String] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try (1...count).map { i in
            var ds = DataSet()
            ds.set(.sopClassUID, vr: .UI, string: ctImage)
            ds.set(.sopInstanceUID, vr: .UI, string: "\(instanceBase).\(i)")
            ds.set(.modality, vr: .CS, string: "CT")
            ds.set(.patientName, vr: .PN, string: "Interop^Store")
            ds.set(.patientID, vr: .LO, string: "STORE-INTEROP")
            ds.set(.studyInstanceUID, vr: .UI, string: study)
            ds.set(.seriesInstanceUID, vr: .UI, string: series)
            ds.set(Tag(0x0020, 0x0013), vr: .IS, string: "\(i)")
            ds.set(Tag(0x0028, 0x0002), vr: .US, uint16: 1)
            ds.set(Tag(0x0028, 0x0004), vr: .CS, string: "MONOCHROME2")
            ds.set(Tag(0x0028, 0x0010), vr: .US, uint16: 64)
            ds.set(Tag(0x0028, 0x0011), vr: .US, uint16: 64)
            ds.set(Tag(0x0028, 0x0100), vr: .US, uint16: 16)
            ds.set(Tag(0x0028, 0x0101), vr: .US, uint16: 16)
            ds.set(Tag(0x0028, 0x0102), vr: .US, uint16: 15)
            ds.set(Tag(0x0028, 0x0103), vr: .US, uint16: 0)
            ds.set(
                Tag(0x7FE0, 0x0010), vr: .OW,
                bytes: [UInt8]((0..<(64 * 64 * 2)).map { UInt8(truncatingIfNeeded: $0 &* (i + 3)) })[...])
            let bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: TransferSyntax(uid: explicitLE))
            let path = directory.appendingPathComponent("ct\(i).dcm").path
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            return path
        }
    }

    static func pydicomTestFile(_ name: String) -> String? {
        let result = ExternalTool.run(
            "/usr/bin/env",
            [
                "python3", "-c",
                "from pydicom.data import get_testdata_file as g; print(g('\(name)'))",
            ], timeout: 60)
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return result.succeeded && FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Checks that the archive holds `sent` at its layout path with the same data set bytes.
    static func expectStored(
        _ sent: Sent, in daemon: DaemonProcess, callingAE: String, exactBytes: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let path = daemon.storageDirectory
            .appendingPathComponent(sent.studyUID).appendingPathComponent(sent.seriesUID)
            .appendingPathComponent(sent.sopInstanceUID + ".dcm").path
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("not stored at \(path)\n\(daemon.log.suffix(3000))", sourceLocation: sourceLocation)
            return
        }
        let bytes = try DICOMFile.readBytes(path)
        let header = try DICOMFile.readHeader(bytes[...])
        #expect(header.meta.uid(.mediaStorageSOPInstanceUID) == sent.sopInstanceUID, sourceLocation: sourceLocation)
        #expect(header.meta.uid(.mediaStorageSOPClassUID) == sent.sopClassUID, sourceLocation: sourceLocation)
        #expect(header.meta.uid(.transferSyntaxUID) == sent.transferSyntaxUID, sourceLocation: sourceLocation)
        #expect(header.meta.string(.sourceApplicationEntityTitle) == callingAE, sourceLocation: sourceLocation)
        let body = Array(bytes[header.dataSetOffset...])
        if body != sent.body {
            // The peer may re-encode what it reads before sending (DCMTK writes sequences and
            // items with explicit lengths); the archive keeps the received bytes unchanged, so
            // then the received data set must still equal the file's, element for element.
            #expect(exactBytes == false, "data set of \(sent.path) changed", sourceLocation: sourceLocation)
            let ts = TransferSyntax(uid: sent.transferSyntaxUID)
            // (DCMTK also drops Data Set Trailing Padding (FFFC,FFFC).)
            let padding = Tag(0xFFFC, 0xFFFC)
            let stored = try DataSetReader.read(body[...], transferSyntax: ts).elements.filter { $0.tag != padding }
            let original = try DataSetReader.read(sent.body[...], transferSyntax: ts).elements.filter {
                $0.tag != padding
            }
            #expect(stored.map(\.tag) == original.map(\.tag), "\(sent.path)", sourceLocation: sourceLocation)
            for (a, b) in zip(stored, original) where a.vr != .SQ {
                #expect(a.bytes == b.bytes, "\(sent.path): \(a.tag) differs", sourceLocation: sourceLocation)
            }
        }
        #expect(
            !FileManager.default.fileExists(atPath: daemon.storageDirectory.path + "/.incoming")
                || ((try? FileManager.default.contentsOfDirectory(atPath: daemon.storageDirectory.path + "/.incoming"))?
                    .isEmpty ?? true),
            sourceLocation: sourceLocation)
    }

    /// The SOP Instance UIDs C-FIND (findscu, Study Root, IMAGE level) returns for a series.
    static func findInstances(_ daemon: DaemonProcess, study: String, series: String) -> FindOutcome {
        FindRunner.run(
            .dcmtk, port: daemon.port, aeTitle: daemon.aeTitle, model: .studyRoot,
            keys: [
                "\(Key.level)=IMAGE", "\(Key.studyUID)=\(study)", "\(Key.seriesUID)=\(series)", Key.sopInstanceUID,
            ])
    }

    static func storescu(_ daemon: DaemonProcess, files: [String], options: [String] = []) -> ToolResult {
        ExternalTool.run(
            "/usr/bin/storescu",
            ["-aet", "STORESCU", "-aec", daemon.aeTitle, "-to", "30"] + options
                + ["127.0.0.1", "\(daemon.port)"] + files, timeout: 120)
    }

    // MARK: DCMTK

    @Test("storescu: single files are stored byte for byte and found by findscu")
    func dcmtkSingleFiles() throws {
        guard ExternalTool.require("/usr/bin/storescu") else { return }
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("storescu-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: source) }
        let files = try Self.makeFiles(
            in: source, count: 3, study: "1.2.826.0.1.3680043.10.1489.77.1",
            series: "1.2.826.0.1.3680043.10.1489.77.1.1",
            instanceBase: "1.2.826.0.1.3680043.10.1489.77.1.1")
        let result = Self.storescu(daemon, files: files)
        #expect(result.succeeded, "\(result.transcript)\n\(daemon.log.suffix(3000))")
        for file in files { try Self.expectStored(try Sent(path: file), in: daemon, callingAE: "STORESCU") }

        let found = Self.findInstances(
            daemon, study: "1.2.826.0.1.3680043.10.1489.77.1",
            series: "1.2.826.0.1.3680043.10.1489.77.1.1")
        #expect(found.finalStatus == "0000", "\(found)")
        #expect(found.valueSet(Key.sopInstanceUID) == Set((1...3).map { "1.2.826.0.1.3680043.10.1489.77.1.1.\($0)" }))
        #expect(daemon.log.contains("C-STORE"), "one log line per C-STORE")

        // Sent again: duplicates kept (default policy), the peer is told with a warning, nothing changes.
        let again = Self.storescu(daemon, files: [files[0]])
        #expect(again.exitCode == 0, "\(again.transcript)")
        try Self.expectStored(try Sent(path: files[0]), in: daemon, callingAE: "STORESCU")
    }

    @Test("storescu +sd +r: a scanned directory tree is stored")
    func dcmtkScanDirectory() throws {
        guard ExternalTool.require("/usr/bin/storescu") else { return }
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("storescu-sd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: source) }
        let study = "1.2.826.0.1.3680043.10.1489.77.2"
        var files = try Self.makeFiles(
            in: source, count: 2, study: study, series: study + ".1",
            instanceBase: study + ".1")
        files += try Self.makeFiles(
            in: source.appendingPathComponent("sub"), count: 3, study: study,
            series: study + ".2", instanceBase: study + ".2")
        let result = Self.storescu(daemon, files: [source.path], options: ["+sd", "+r"])
        #expect(result.succeeded, "\(result.transcript)\n\(daemon.log.suffix(3000))")
        for file in files { try Self.expectStored(try Sent(path: file), in: daemon, callingAE: "STORESCU") }
        #expect(Self.findInstances(daemon, study: study, series: study + ".2").matches.count == 3)
    }

    @Test(
        "storescu: compressed files are negotiated and stored in their own transfer syntax",
        arguments: [("JPEG2000.dcm", "-xw"), ("MR_small_jpeg_ls_lossless.dcm", "-xt"), ("SC_rgb_rle.dcm", "-xr")])
    func dcmtkCompressed(_ name: String, _ proposeOption: String) throws {
        guard ExternalTool.require("/usr/bin/storescu") else { return }
        guard let file = Self.pydicomTestFile(name) else {
            #expect(!ExternalTool.isCI, "pydicom test file \(name) missing")
            return
        }
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let sent = try Sent(path: file)
        // The file's own (compressed) transfer syntax is proposed first; storescu has no codec to convert.
        let result = Self.storescu(daemon, files: [file], options: [proposeOption])
        #expect(result.succeeded, "\(result.transcript)\n\(daemon.log.suffix(3000))")
        try Self.expectStored(sent, in: daemon, callingAE: "STORESCU", exactBytes: false)
        let found = Self.findInstances(daemon, study: sent.studyUID, series: sent.seriesUID)
        #expect(found.valueSet(Key.sopInstanceUID).contains(sent.sopInstanceUID), "\(found)")
    }

    // MARK: pynetdicom

    @Test("pynetdicom storescu: native and compressed files")
    func pynetdicomStore() throws {
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("pystore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: source) }
        var files = try Self.makeFiles(
            in: source, count: 2, study: "1.2.826.0.1.3680043.10.1489.77.3",
            series: "1.2.826.0.1.3680043.10.1489.77.3.1",
            instanceBase: "1.2.826.0.1.3680043.10.1489.77.3.1")
        for name in ["CT_small.dcm", "JPEG2000.dcm"] {
            if let f = Self.pydicomTestFile(name) { files.append(f) } else { #expect(!ExternalTool.isCI) }
        }
        for file in files {
            let result = ExternalTool.run(
                "/usr/bin/env",
                [
                    "python3", "-m", "pynetdicom", "storescu", "127.0.0.1", "\(daemon.port)", file,
                    "-aet", "PYSTORE", "-aec", daemon.aeTitle, "-cx", "-v",
                ], timeout: 120)
            #expect(result.succeeded, "\(result.transcript)\n\(daemon.log.suffix(3000))")
            #expect(
                !result.stderr.contains("Store failed") && !result.stdout.contains("Store failed"),
                "\(result.transcript)")
            try Self.expectStored(try Sent(path: file), in: daemon, callingAE: "PYSTORE")
        }
        let found = Self.findInstances(
            daemon, study: "1.2.826.0.1.3680043.10.1489.77.3",
            series: "1.2.826.0.1.3680043.10.1489.77.3.1")
        #expect(found.matches.count == 2, "\(found)")
    }

    // MARK: Bounded memory

    @Test("a 500 MiB object is streamed to disk: the daemon's memory does not grow with it")
    func largeObject() throws {
        guard ExternalTool.require("/usr/bin/storescu") else { return }
        let daemon = try DaemonProcess()
        defer { daemon.stop() }
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("storescu-big-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: source) }
        // 500 MiB of pixel data: write the small file, then append the pixel bytes in chunks.
        let pixelBytes = 500 * 1024 * 1024
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: Self.ctImage)
        ds.set(.sopInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.1489.77.9.1.1")
        ds.set(.modality, vr: .CS, string: "CT")
        ds.set(.patientID, vr: .LO, string: "STORE-BIG")
        ds.set(.studyInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.1489.77.9")
        ds.set(.seriesInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.1489.77.9.1")
        var bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: TransferSyntax(uid: Self.explicitLE))
        bytes += [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x57, 0, 0]  // (7FE0,0010) OW
        withUnsafeBytes(of: UInt32(pixelBytes).littleEndian) { bytes += $0 }
        let path = source.appendingPathComponent("big.dcm").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        let chunk = Data((0..<(4 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        for _ in 0..<(pixelBytes / chunk.count) { try handle.write(contentsOf: chunk) }
        try handle.close()

        let baseline = daemon.residentKiB
        let monitor = RSSMonitor(pid: daemon.processIdentifier, baseline: baseline)
        let sampler = Thread { monitor.run() }
        sampler.start()
        let result = Self.storescu(daemon, files: [path])
        monitor.stop()
        #expect(result.succeeded, "\(result.transcript)\n\(daemon.log.suffix(3000))")
        let stored = daemon.storageDirectory.appendingPathComponent("1.2.826.0.1.3680043.10.1489.77.9")
            .appendingPathComponent("1.2.826.0.1.3680043.10.1489.77.9.1")
            .appendingPathComponent("1.2.826.0.1.3680043.10.1489.77.9.1.1.dcm").path
        let attributes = try FileManager.default.attributesOfItem(atPath: stored)
        #expect((attributes[.size] as? Int ?? 0) > pixelBytes)
        let growthMiB = (monitor.peak - baseline) / 1024
        #expect(growthMiB < 64, "daemon RSS grew by \(growthMiB) MiB while receiving 500 MiB")
    }
}

/// Samples a process's resident set size until stopped, keeping the peak.
final class RSSMonitor: Sendable {
    let pid: Int32
    private let state: Mutex<(peak: Int, done: Bool)>

    init(pid: Int32, baseline: Int) {
        self.pid = pid
        state = Mutex((baseline, false))
    }

    var peak: Int { state.withLock { $0.peak } }
    func stop() { state.withLock { $0.done = true } }

    func run() {
        while !state.withLock({ $0.done }) {
            let rss = Self.residentKiB(pid)
            state.withLock { $0.peak = max($0.peak, rss) }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    static func residentKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }
}
