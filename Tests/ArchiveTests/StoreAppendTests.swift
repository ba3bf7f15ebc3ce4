import DICOM
import Foundation
import Testing
@testable import Archive

#if canImport(Glibc)
import Glibc
#endif

/// Appending received fragments in groups (one writev per group): the file holds exactly the
/// bytes received, in order, whatever the group sizes.
@Suite("Store writer: grouped appends", .serialized)
struct StoreAppendTests {
    private func pixelData(_ count: Int) -> DataSet {
        StoreFixtures.dataSet(sop: "1.2.3.100.1.77", pixels: count)
    }

    @Test("more pieces than one writev takes, empty pieces among them, several MiB: bytes unchanged")
    func manyPieces() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        // Beyond the writeback stretch, so that early writeback is started on the way.
        let body = try StoreFixtures.encoded(pixelData(3 * Int(IncomingObject.writebackStretch) + 1234))
        let object = writer.begin(sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.100.1.77",
                                  transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        var pieces = StoreFixtures.fragments(body, size: 1021)
        #expect(pieces.count > 3 * IncomingObject.maxPiecesPerWrite)
        pieces.insert([], at: 5)
        pieces.insert([], at: IncomingObject.maxPiecesPerWrite)
        // Hand-overs of varying length: 1, 2, 3, ... pieces, and one of several hundred.
        var start = 0
        var length = 1
        while start < pieces.count {
            let end = min(pieces.count, start + (length == 7 ? 3 * IncomingObject.maxPiecesPerWrite + 5 : length))
            object.append(contentsOf: pieces[start..<end])
            start = end
            length += 1
        }
        #expect(object.dataSetBytes == Int64(body.count))
        let outcome = try object.finish().get()
        let file = try DICOMFile.readBytes(outcome.path)
        let header = try DICOMFile.readHeader(file[...])
        #expect(Array(file[header.dataSetOffset...]) == body)
        #expect(outcome.size == Int64(file.count))
    }

    @Test("an injected write error in a group fails the object, nothing left behind")
    func writeFailure() throws {
        let sandbox = try StoreSandbox()
        let writer = StoreWriter(root: sandbox.root, store: sandbox.store, objectFault: { point, _ in
            point == .write ? ENOSPC : nil
        })
        let body = try StoreFixtures.encoded(pixelData(4096))
        let object = writer.incoming(sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.100.1.77",
                                     transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        object.append(contentsOf: StoreFixtures.fragments(body, size: 100))
        #expect(object.failure?.errno == ENOSPC)
        guard case .failure(let failure) = object.finish() else {
            Issue.record("stored despite a write error")
            return
        }
        #expect(failure.kind == .outOfResources)
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(try sandbox.store.instanceCount() == 0)
    }
}
