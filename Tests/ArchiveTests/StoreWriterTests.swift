// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import Synchronization
import Testing

@testable import Archive

#if canImport(Glibc)
    import Glibc
#endif

/// A storage directory and index for one test.
final class StoreSandbox {
    let root: String
    let store: SQLiteIndexStore

    init() throws {
        // The index first: if it throws, no directory has been made yet (deinit would not run).
        store = try SQLiteIndexStore()
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/qrscpd-store-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        root = dir + "/storage"
        mkdir(root, 0o755)
    }

    deinit { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }

    func writer(
        _ policy: StoreDuplicatePolicy = .keep, layout: StoreLayout = .default,
        fault: (@Sendable (StoreFaultPoint) -> Int32?)? = nil
    ) -> StoreWriter {
        StoreWriter(root: root, store: store, layout: layout, duplicatePolicy: policy, fault: fault)
    }

    var incomingFiles: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/.incoming")) ?? []
    }

    /// Every regular file under the sandbox's parent directory (to catch escapes).
    var allFiles: [String] {
        let parent = (root as NSString).deletingLastPathComponent
        let e = FileManager.default.enumerator(atPath: parent)
        var out: [String] = []
        while let p = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: parent + "/" + p, isDirectory: &isDir), !isDir.boolValue {
                out.append(p)
            }
        }
        return out
    }
}

enum StoreFixtures {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let explicitLE = "1.2.840.10008.1.2.1"

    static func dataSet(
        sop: String, study: String = "1.2.3.100", series: String = "1.2.3.100.1",
        sopClass: String = ctImage, patientName: String = "Doe^Jane", pixels: Int = 512
    ) -> DataSet {
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: sopClass)
        ds.set(.sopInstanceUID, vr: .UI, string: sop)
        ds.set(.modality, vr: .CS, string: "CT")
        ds.set(.patientName, vr: .PN, string: patientName)
        ds.set(.patientID, vr: .LO, string: "PID-STORE")
        ds.set(.studyInstanceUID, vr: .UI, string: study)
        ds.set(.seriesInstanceUID, vr: .UI, string: series)
        if pixels > 0 {
            ds.set(
                Tag(0x7FE0, 0x0010), vr: .OW,
                bytes: [UInt8]((0..<pixels).map { UInt8(truncatingIfNeeded: $0 * 7) })[...])
        }
        return ds
    }

    static func encoded(_ ds: DataSet, syntax: String = explicitLE) throws -> [UInt8] {
        try DataSetWriter.write(ds, transferSyntax: TransferSyntax(uid: syntax))
    }

    /// Splits bytes into fragments of odd and even sizes.
    static func fragments(_ bytes: [UInt8], size: Int = 333) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min($0 + size, bytes.count)] }
    }

    @discardableResult
    static func store(
        _ writer: StoreWriter, _ ds: DataSet, sop: String? = nil, sopClass: String = ctImage,
        fragmentSize: Int = 333
    ) throws -> Result<StoreOutcome, StoreFailure> {
        let bytes = try encoded(ds)
        let object = writer.begin(
            sopClassUID: sopClass, sopInstanceUID: sop ?? ds.uid(.sopInstanceUID)!,
            transferSyntaxUID: explicitLE, sourceAETitle: "STORESCU")
        for f in fragments(bytes, size: fragmentSize) { object.append(f) }
        return object.finish()
    }
}

@Suite("Store writer: durable C-STORE write path", .serialized)
struct StoreWriterTests {
    @Test("Part 10 header, data set bytes unchanged, layout path, indexed (FF-01…FF-03, QR-28)")
    func headerAndBody() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        let ds = StoreFixtures.dataSet(sop: "1.2.3.100.1.1")
        let body = try StoreFixtures.encoded(ds)
        let object = writer.begin(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.100.1.1",
            transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: "STORESCU ")
        #expect(object.temporaryPath?.hasPrefix(writer.root + "/.incoming/") == true)
        for f in StoreFixtures.fragments(body) { object.append(f) }
        let outcome = try object.finish().get()
        #expect(outcome.disposition == .stored)
        #expect(outcome.path == writer.root + "/1.2.3.100/1.2.3.100.1/1.2.3.100.1.1.dcm")
        #expect(sandbox.incomingFiles.isEmpty)

        let file = try DICOMFile.readBytes(outcome.path)
        #expect(file.prefix(128).allSatisfy { $0 == 0 })
        #expect(Array(file[128..<132]) == Array("DICM".utf8))
        // (0002,0000) UL, explicit VR LE.
        #expect(Array(file[132..<138]) == [0x02, 0x00, 0x00, 0x00, 0x55, 0x4C])
        let header = try DICOMFile.readHeader(file[...])
        #expect(header.hasPreamble)
        #expect(header.meta.uid(.mediaStorageSOPClassUID) == StoreFixtures.ctImage)
        #expect(header.meta.uid(.mediaStorageSOPInstanceUID) == "1.2.3.100.1.1")
        #expect(header.meta.uid(.transferSyntaxUID) == StoreFixtures.explicitLE)
        #expect(header.meta.uid(.implementationClassUID) == Implementation.classUID)
        #expect(header.meta.string(.implementationVersionName) == Implementation.versionName)
        #expect(header.meta.string(.sourceApplicationEntityTitle) == "STORESCU")
        #expect(header.meta[Tag.fileMetaInformationVersion].map { Array($0.bytes) } == [0x00, 0x01])
        #expect(Array(file[header.dataSetOffset...]) == body)

        let indexed = try #require(try sandbox.store.instance(sopInstanceUID: "1.2.3.100.1.1"))
        #expect(indexed.path == outcome.path)
        #expect(indexed.studyInstanceUID == "1.2.3.100")
        #expect(indexed.seriesInstanceUID == "1.2.3.100.1")
        #expect(indexed.sopClassUID == StoreFixtures.ctImage)
        #expect(indexed.transferSyntaxUID == StoreFixtures.explicitLE)
        #expect(indexed.size == Int64(file.count))
        // The scanner sees the same file as unchanged.
        let summary = try StorageScanner(store: sandbox.store, root: sandbox.root).scan()
        #expect(summary.unchanged == 1)
        #expect(summary.skipped.isEmpty)
    }

    @Test("a header longer than the first read, a data set without pixel data")
    func longHeader() throws {
        let sandbox = try StoreSandbox()
        var ds = StoreFixtures.dataSet(sop: "1.2.3.5", pixels: 0)
        ds.set(Tag(0x0040, 0xA160), vr: .UT, string: String(repeating: "y", count: 200_000))
        let outcome = try StoreFixtures.store(sandbox.writer(), ds, fragmentSize: 16384).get()
        #expect(outcome.disposition == .stored)
        #expect(try sandbox.store.instance(sopInstanceUID: "1.2.3.5") != nil)
    }

    @Test(
        "UIDs that are not plain UIDs never escape the storage directory (QR-29)",
        arguments: [
            "../../etc/x", "/etc/passwd", "..", "1.2.3/../../x", "1.2..3", ".1.2", "1.2.",
            String(repeating: "1", count: 65), "1.2.3/x",
        ])
    func sanitizedPaths(_ hostile: String) throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        let ds = StoreFixtures.dataSet(sop: hostile, study: hostile, series: hostile + "/9")
        let outcome = try StoreFixtures.store(writer, ds, sop: hostile).get()
        #expect(outcome.path.hasPrefix(writer.root + "/"))
        let relative = outcome.path.dropFirst(writer.root.count + 1).split(
            separator: "/", omittingEmptySubsequences: false)
        #expect(relative.count == 3, "\(relative)")
        for (i, component) in relative.enumerated() {
            let name = i == 2 ? String(component.dropLast(4)) : String(component)
            let hashed = name.first == "x" && name.count == 65 && name.dropFirst().allSatisfy(\.isHexDigit)
            #expect(hashed || StoreLayout.isSafeUID(name), "\(component)")
        }
        // The series UID holds a "/": always hashed.
        #expect(relative[1].first == "x")
        if !StoreLayout.isSafeUID(hostile) { #expect(relative[0].first == "x") }
        #expect(sandbox.allFiles.count == 1, "only the stored file: \(sandbox.allFiles)")
        #expect(sandbox.allFiles.first.map { $0.hasPrefix("storage/") } == true)
    }

    @Test("StoreLayout validation and placeholders")
    func layout() throws {
        #expect(throws: StoreLayout.Error.self) { try StoreLayout("/abs/{SOPInstanceUID}") }
        #expect(throws: StoreLayout.Error.self) { try StoreLayout("../{SOPInstanceUID}") }
        #expect(throws: StoreLayout.Error.self) { try StoreLayout("{StudyUID}//{SOPInstanceUID}") }
        #expect(throws: StoreLayout.Error.self) { try StoreLayout("{StudyUID}/{Nope}/{SOPInstanceUID}") }
        #expect(throws: StoreLayout.Error.self) { try StoreLayout("{SOPInstanceUID}/file.dcm") }
        #expect(throws: StoreLayout.Error.self) { try StoreLayout(".hidden/{SOPInstanceUID}") }
        let flat = try StoreLayout("{SOPClassUID}/{StudyUID}_{SOPInstanceUID}")
        #expect(
            flat.relativePath(studyUID: "1.2", seriesUID: "3", sopInstanceUID: "4.5", sopClassUID: "6") == "6/1.2_4.5")
        // A placeholder used twice, literal text around and between placeholders, unsafe UIDs hashed.
        let mixed = try StoreLayout("in-{StudyUID}/{StudyUID}.{SeriesUID}x/{SOPInstanceUID}.dcm")
        #expect(
            mixed.relativePath(studyUID: "1.2", seriesUID: "3", sopInstanceUID: "4.5", sopClassUID: "6")
                == "in-1.2/1.2.3x/4.5.dcm")
        #expect(
            mixed.relativePath(studyUID: "../a", seriesUID: "3", sopInstanceUID: "4.5", sopClassUID: "6")
                == "in-x\(SHA256.hex(Array("../a".utf8)))/x\(SHA256.hex(Array("../a".utf8))).3x/4.5.dcm")
        #expect(
            StoreLayout.default.relativePath(studyUID: "1", seriesUID: "2", sopInstanceUID: "3", sopClassUID: "4")
                == "1/2/3.dcm")
        #expect(StoreLayout.pathComponent(forUID: "a") == "x" + SHA256.hex(Array("a".utf8)))
        // FIPS 180-4 test vector.
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("duplicate policy keep: the stored copy stays, the new one is discarded")
    func duplicateKeep() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer(.keep)
        let first = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.7", patientName: "First")).get()
        let before = try DICOMFile.readBytes(first.path)
        let second = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.7", patientName: "Second")).get()
        #expect(second.disposition == .keptExisting)
        #expect(second.path == first.path)
        #expect(try DICOMFile.readBytes(first.path) == before)
        #expect(try sandbox.store.instanceCount() == 1)
        #expect(sandbox.incomingFiles.isEmpty)
    }

    @Test("duplicate policy replace: new file in place, index updated, old path removed")
    func duplicateReplace() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer(.replace)
        let first = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.8", patientName: "First")).get()
        let ds2 = StoreFixtures.dataSet(sop: "1.2.3.8", patientName: "Second")
        let second = try StoreFixtures.store(writer, ds2).get()
        #expect(second.disposition == .replaced)
        #expect(second.path == first.path)
        let file = try DICOMFile(contentsOf: second.path)
        #expect(file.dataSet.string(.patientName) == "Second")
        #expect(try sandbox.store.instanceCount() == 1)
        // Moved to another study: the old file goes away.
        let third = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.8", study: "1.2.3.999")).get()
        #expect(third.disposition == .replaced)
        #expect(third.path != first.path)
        #expect(!FileManager.default.fileExists(atPath: first.path))
        #expect(try sandbox.store.instance(sopInstanceUID: "1.2.3.8")?.path == third.path)
        #expect(try sandbox.store.instanceCount() == 1)
        #expect(sandbox.allFiles.filter { $0.hasSuffix(".dcm") }.count == 1)
    }

    @Test("duplicate policy reject: 0111 failure, stored copy and index untouched")
    func duplicateReject() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer(.reject)
        let first = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.9", patientName: "First")).get()
        let before = try DICOMFile.readBytes(first.path)
        let second = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.9", patientName: "Second"))
        guard case .failure(let failure) = second else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.kind == .duplicate)
        #expect(try DICOMFile.readBytes(first.path) == before)
        #expect(try sandbox.store.instanceCount() == 1)
        #expect(sandbox.incomingFiles.isEmpty)
    }

    @Test("a data set whose UIDs differ from the command, or unparsable bytes: A900 kind, no trace")
    func mismatch() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        let wrongInstance = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.10"), sop: "1.2.3.11")
        #expect(wrongInstance.failureKind == .dataSetMismatch)
        let wrongClass = try StoreFixtures.store(
            writer, StoreFixtures.dataSet(sop: "1.2.3.12"),
            sopClass: "1.2.840.10008.5.1.4.1.1.4")
        #expect(wrongClass.failureKind == .dataSetMismatch)
        var noStudy = StoreFixtures.dataSet(sop: "1.2.3.13")
        noStudy.remove(.studyInstanceUID)
        #expect(try StoreFixtures.store(writer, noStudy).failureKind == .dataSetMismatch)

        let garbage = writer.begin(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.14",
            transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        garbage.append([0x08, 0x00, 0x16, 0x00, 0x55, 0x49, 0xFF, 0x7F, 1, 2, 3][...])
        #expect(garbage.finish().failureKind == .dataSetMismatch)
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(try sandbox.store.instanceCount() == 0)
        #expect(sandbox.allFiles.filter { $0.hasSuffix(".dcm") }.isEmpty)
    }

    @Test(
        "injected I/O and index errors: A700 kind, temporary and final files removed, index untouched",
        arguments: [StoreFaultPoint.open, .write, .fsync, .rename, .directorySync, .index])
    func faults(_ point: StoreFaultPoint) throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer(fault: { $0 == point ? (point == .index ? EIO : ENOSPC) : nil })
        let result = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.20"))
        guard case .failure(let failure) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.kind == .outOfResources)
        if point != .index { #expect(failure.comment.contains("No space left on device"), "\(failure.comment)") }
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(try sandbox.store.instanceCount() == 0)
        #expect(sandbox.allFiles.filter { $0.hasSuffix(".dcm") || $0.hasSuffix(".tmp") }.isEmpty, "\(sandbox.allFiles)")
    }

    @Test("disk full on a 1 MiB tmpfs: ENOSPC → out of resources, nothing left behind")
    func diskFull() throws {
        let sandbox = try StoreSandbox()
        guard getuid() == 0 else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI runs as root")
            return
        }
        let status = system("mount -t tmpfs -o size=1m qrscpd-store-test '\(sandbox.root)' 2>/dev/null")
        guard status == 0 else {
            // Containers often forbid mount; the fault-injection test covers ENOSPC then.
            return
        }
        defer { _ = system("umount '\(sandbox.root)'") }
        let writer = sandbox.writer()
        let result = try StoreFixtures.store(
            writer, StoreFixtures.dataSet(sop: "1.2.3.30", pixels: 2 * 1024 * 1024),
            fragmentSize: 65536)
        guard case .failure(let failure) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.kind == .outOfResources)
        #expect(failure.errno == ENOSPC)
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(try sandbox.store.instanceCount() == 0)
        // Space is back: a small object stores fine.
        #expect(try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.31")).get().disposition == .stored)
    }

    @Test("discard (peer abort) removes the temporary file; leftovers are removed at start-up")
    func discardAndLeftovers() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        let object = writer.begin(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.40",
            transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        object.append(try StoreFixtures.encoded(StoreFixtures.dataSet(sop: "1.2.3.40")).prefix(100))
        #expect(sandbox.incomingFiles.count == 1)
        object.discard()
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(try sandbox.store.instanceCount() == 0)

        // A crash leaves temporary files behind.
        let a = writer.begin(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.41",
            transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        let leftover = try #require(a.temporaryPath)
        let copy = leftover + ".copy.tmp"
        try FileManager.default.copyItem(atPath: leftover, toPath: copy)
        a.discard()
        #expect(sandbox.incomingFiles.count == 1)
        // The scanner does not index them.
        let summary = try StorageScanner(store: sandbox.store, root: sandbox.root).scan()
        #expect(summary.seen == 0)
        #expect(StoreWriter.removeLeftovers(in: sandbox.root) == 1)
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(StoreWriter.removeLeftovers(in: sandbox.root + "/nonexistent") == 0)
    }

    @Test("concurrent stores of the same instance under keep: one file, one row")
    func concurrentDuplicates() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer(.keep)
        let outcomes = Mutex<[StoreOutcome.Disposition]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let r = try? StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.50", patientName: "P\(i)"))
            if case .success(let o)? = r { outcomes.withLock { $0.append(o.disposition) } }
        }
        let all = outcomes.withLock { $0 }
        #expect(all.count == 8)
        #expect(all.filter { $0 == .stored }.count == 1)
        #expect(all.filter { $0 == .keptExisting }.count == 7)
        #expect(try sandbox.store.instanceCount() == 1)
        #expect(sandbox.incomingFiles.isEmpty)
    }
}

extension Result where Failure == StoreFailure {
    var failureKind: StoreFailure.Kind? {
        if case .failure(let f) = self { return f.kind }
        return nil
    }
}
