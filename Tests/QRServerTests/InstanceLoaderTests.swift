// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import Foundation
import Reactor
import TestSupport
import Testing

@testable import QRServer

@Suite("Loading stored files for C-STORE sub-operations")
struct InstanceLoaderTests {
    static let sopClass = "1.2.840.10008.5.1.4.1.1.2"

    /// A Part 10 file in Explicit VR LE whose meta carries `privateInformation` bytes of
    /// (0002,0102), so its header can be made longer than the first probe.
    private func storedFile(uid: String, privateInformation: Int) throws -> (IndexedInstance, [UInt8]) {
        var d = DataSet()
        d.set(.sopClassUID, vr: .UI, string: Self.sopClass)
        d.set(.sopInstanceUID, vr: .UI, string: uid)
        d.set(.pixelData, vr: .OW, bytes: (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }[...])
        var meta = DICOMFile.makeMeta(
            sopClassUID: Self.sopClass, sopInstanceUID: uid,
            transferSyntax: .explicitVRLittleEndian, sourceAETitle: nil)
        if privateInformation > 0 {
            meta.set(Tag(0x0002, 0x0100), vr: .UI, string: "1.2.826.0.1.3680043.10.1489.99")
            meta.set(Tag(0x0002, 0x0102), vr: .OB, bytes: [UInt8](repeating: 0x5A, count: privateInformation)[...])
        }
        let bytes = try DICOMFile(meta: meta, transferSyntax: .explicitVRLittleEndian, dataSet: d).encoded()
        let path = NSTemporaryDirectory() + "qrscpd-loader-\(UUID().uuidString).dcm"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let instance = IndexedInstance(
            sopInstanceUID: uid, sopClassUID: Self.sopClass,
            transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid,
            studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4", path: path,
            size: Int64(bytes.count), modificationTime: 0)
        return (instance, bytes)
    }

    @Test(
        "a file sent unchanged is opened, not read: its data set range starts where the full header ends",
        arguments: [0, 3000, 5000, 20_000])
    func unchangedFileIsARange(privateInformation: Int) throws {
        let (instance, bytes) = try storedFile(
            uid: "1.2.826.0.1.3680043.10.1489.98.\(privateInformation)",
            privateInformation: privateInformation)
        defer { try? FileManager.default.removeItem(atPath: instance.path) }
        let expectedStart = try DICOMFile.readHeader(bytes[...]).dataSetOffset
        let loaded = try InstanceLoader.load(
            instance, as: .explicitVRLittleEndian, shape: StretchShape(peerMaxPDULength: 16384))
        guard case .file(let file, _) = loaded.payload else {
            Issue.record("expected a file range, got bytes in memory")
            return
        }
        #expect(file.start == expectedStart)
        #expect(file.end == bytes.count)
        #expect(loaded.heldBytes == 0)
        #expect(!loaded.converted)
    }

    @Test("a file converted to another syntax is held in memory")
    func convertedFileIsBytes() throws {
        let (instance, _) = try storedFile(uid: "1.2.826.0.1.3680043.10.1489.98.1", privateInformation: 0)
        defer { try? FileManager.default.removeItem(atPath: instance.path) }
        let loaded = try InstanceLoader.load(
            instance, as: .implicitVRLittleEndian, shape: StretchShape(peerMaxPDULength: 16384))
        guard case .whole(let bytes) = loaded.payload else {
            Issue.record("expected converted bytes")
            return
        }
        #expect(loaded.converted)
        #expect(!bytes.isEmpty)
    }

    /// Records the instances the loader marks damaged.
    private final class MarkRecorder: RetrieveIndex, @unchecked Sendable {
        private let lock = NSLock()
        private var marks: [(uid: String, path: String, stamp: FileStamp, reason: String)] = []
        var recorded: [(uid: String, path: String, stamp: FileStamp, reason: String)] { lock.withLock { marks } }
        func instances(for request: RetrieveRequest) throws -> [IndexedInstance] { [] }
        func markDamaged(sopInstanceUID: String, path: String, stamp: FileStamp, reason: String) throws {
            lock.withLock { marks.append((sopInstanceUID, path, stamp, reason)) }
        }
    }

    enum Damage: String, CaseIterable, Sendable {
        case truncatedInPixelData, randomBytes
    }

    @Test(
        "a damaged file fails, sent unchanged or converted, and is marked with its stamp and reason",
        arguments: Damage.allCases, [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian])
    func damagedFileFails(_ damage: Damage, target: TransferSyntax) throws {
        let (instance, bytes) = try storedFile(uid: "1.2.826.0.1.3680043.10.1489.97.1", privateInformation: 0)
        defer { try? FileManager.default.removeItem(atPath: instance.path) }
        switch damage {
        case .truncatedInPixelData:
            try Data(bytes[..<(bytes.count - 5000)]).write(to: URL(fileURLWithPath: instance.path))
        case .randomBytes:
            var rng = SplitMix64(seed: 99)
            try Data((0..<bytes.count).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(
                to: URL(fileURLWithPath: instance.path))
        }
        let recorder = MarkRecorder()
        #expect(throws: SubOperationFailure.self) {
            _ = try InstanceLoader.load(
                instance, as: target, shape: StretchShape(peerMaxPDULength: 16384),
                markingDamageIn: recorder)
        }
        let mark = try #require(recorder.recorded.first, "not marked damaged")
        #expect(mark.uid == instance.sopInstanceUID && mark.path == instance.path)
        // The index keeps what is wrong; the path is in the row already.
        #expect(!mark.reason.isEmpty && !mark.reason.contains(instance.path), "\(mark.reason)")
        if damage == .truncatedInPixelData { #expect(mark.reason.contains("(7FE0,0010) declares"), "\(mark.reason)") }
        var st = stat()
        #expect(stat(instance.path, &st) == 0)
        #expect(mark.stamp == FileStamp(st))
    }

    @Test("a whole file is not marked")
    func wholeFileIsNotMarked() throws {
        let (instance, _) = try storedFile(uid: "1.2.826.0.1.3680043.10.1489.97.2", privateInformation: 0)
        defer { try? FileManager.default.removeItem(atPath: instance.path) }
        let recorder = MarkRecorder()
        for target in [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian] {
            _ = try InstanceLoader.load(
                instance, as: target, shape: StretchShape(peerMaxPDULength: 16384),
                markingDamageIn: recorder)
        }
        #expect(recorder.recorded.isEmpty)
    }
}
