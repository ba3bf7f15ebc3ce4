// SPDX-License-Identifier: Apache-2.0
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
        let object = writer.begin(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.100.1.77",
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
        let writer = StoreWriter(
            root: sandbox.root, store: sandbox.store,
            objectFault: { point, _ in
                point == .write ? ENOSPC : nil
            })
        let body = try StoreFixtures.encoded(pixelData(4096))
        let object = writer.incoming(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.100.1.77",
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

@Suite("Store writer: temporary files", .serialized)
struct StoreTemporaryFileTests {
    @Test("objects get distinct temporary files; the .incoming directory is created on first use")
    func distinctNames() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        #expect(!FileManager.default.fileExists(atPath: writer.incomingDirectory))
        let objects = (0..<5).map { i in
            writer.begin(
                sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.100.1.\(i)",
                transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        }
        let paths = objects.compactMap(\.temporaryPath)
        #expect(paths.count == 5 && Set(paths).count == 5)
        #expect(paths.allSatisfy { $0.hasPrefix(writer.incomingDirectory + "/") && $0.hasSuffix(".tmp") })
        #expect(sandbox.incomingFiles.count == 5)
        for object in objects { object.discard() }
        #expect(sandbox.incomingFiles.isEmpty)
    }

    @Test("a temporary name already taken (a leftover) is skipped, the object is stored")
    func takenNameIsSkipped() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        mkdir(writer.incomingDirectory, 0o755)
        // The names come from a prefix and a counter: occupy the next two.
        let probe = writer.nextTemporaryName()
        let stem = probe.dropLast(".tmp".count)
        let prefix = stem[..<stem.lastIndex(of: "-")!]
        let next = Int(stem[stem.index(after: stem.lastIndex(of: "-")!)...])!
        for n in [next + 1, next + 2] {
            #expect(
                FileManager.default.createFile(
                    atPath: "\(writer.incomingDirectory)/\(prefix)-\(n).tmp", contents: Data("old".utf8)))
        }
        let outcome = try StoreFixtures.store(writer, StoreFixtures.dataSet(sop: "1.2.3.100.1.9")).get()
        #expect(outcome.disposition == .stored)
        // The leftovers are untouched (start-up removes them), nothing else remains.
        #expect(Set(sandbox.incomingFiles) == ["\(prefix)-\(next + 1).tmp", "\(prefix)-\(next + 2).tmp"])
    }
}
