import Archive
import DICOM
import Foundation
@testable import QRServer
import Reactor
import Testing

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
        var meta = DICOMFile.makeMeta(sopClassUID: Self.sopClass, sopInstanceUID: uid,
                                      transferSyntax: .explicitVRLittleEndian, sourceAETitle: nil)
        if privateInformation > 0 {
            meta.set(Tag(0x0002, 0x0100), vr: .UI, string: "1.2.826.0.1.3680043.10.1489.99")
            meta.set(Tag(0x0002, 0x0102), vr: .OB, bytes: [UInt8](repeating: 0x5A, count: privateInformation)[...])
        }
        let bytes = try DICOMFile(meta: meta, transferSyntax: .explicitVRLittleEndian, dataSet: d).encoded()
        let path = NSTemporaryDirectory() + "qrscpd-loader-\(UUID().uuidString).dcm"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let instance = IndexedInstance(sopInstanceUID: uid, sopClassUID: Self.sopClass,
                                       transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid,
                                       studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4", path: path,
                                       size: Int64(bytes.count), modificationTime: 0)
        return (instance, bytes)
    }

    @Test("a file sent unchanged is opened, not read: its data set range starts where the full header ends",
          arguments: [0, 3000, 5000, 20_000])
    func unchangedFileIsARange(privateInformation: Int) throws {
        let (instance, bytes) = try storedFile(uid: "1.2.826.0.1.3680043.10.1489.98.\(privateInformation)",
                                               privateInformation: privateInformation)
        defer { try? FileManager.default.removeItem(atPath: instance.path) }
        let expectedStart = try DICOMFile.readHeader(bytes[...]).dataSetOffset
        let loaded = try InstanceLoader.load(instance, as: .explicitVRLittleEndian, shape: StretchShape(peerMaxPDULength: 16384))
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
        let loaded = try InstanceLoader.load(instance, as: .implicitVRLittleEndian, shape: StretchShape(peerMaxPDULength: 16384))
        guard case .whole(let bytes) = loaded.payload else {
            Issue.record("expected converted bytes")
            return
        }
        #expect(loaded.converted)
        #expect(!bytes.isEmpty)
    }
}
