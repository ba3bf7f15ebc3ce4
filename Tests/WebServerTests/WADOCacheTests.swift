// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import Foundation
import Testing

@testable import WebServer

@Suite("WADO-RS caches: metadata served without re-reading files, bounded, keyed by the index row")
struct WADOCacheTests {
    static func storedFile(_ dir: URL, pixels: Int) throws -> IndexedInstance {
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.7")
        ds.set(.sopInstanceUID, vr: .UI, string: "1.2.3.4")
        ds.set(.studyInstanceUID, vr: .UI, string: "1.2.3")
        ds.set(.seriesInstanceUID, vr: .UI, string: "1.2.3.1")
        ds.set(DataElement(tag: .pixelData, vr: .OB, bytes: ArraySlice(repeating: 7, count: pixels)))
        let bytes = try DICOMFile.encode(dataSet: ds, transferSyntax: .explicitVRLittleEndian)
        let path = dir.appendingPathComponent("i-\(pixels).dcm").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return IndexedInstance(
            sopInstanceUID: "1.2.3.4", sopClassUID: "1.2.840.10008.5.1.4.1.1.7",
            transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid, studyInstanceUID: "1.2.3",
            seriesInstanceUID: "1.2.3.1", path: path, size: Int64(bytes.count), modificationTime: 1)
    }

    @Test(
        "a second metadata request for an instance does not read its file; Pixel Data is a BulkDataURI",
        arguments: [100, 5000])
    func metadataFromCache(pixels: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-wadocache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let instance = try Self.storedFile(dir, pixels: pixels)
        let cache = MetadataCache(capacity: 1 << 20)
        let first = try WADOMetadataHandler.json(instance, base: "http://h/dicom-web", cache: cache)
        let text = String(decoding: first, as: UTF8.self)
        if pixels > WADOMetadataHandler.inlineBinaryLimit {
            #expect(
                text.contains(
                    "\"7FE00010\":{\"vr\":\"OB\",\"BulkDataURI\":\"http://h/dicom-web/studies/1.2.3/series/1.2.3.1/instances/1.2.3.4/bulk/7FE00010\"}"
                ))
        } else {
            #expect(text.contains("\"7FE00010\":{\"vr\":\"OB\",\"InlineBinary\":"))
        }
        try FileManager.default.removeItem(atPath: instance.path)
        #expect(try WADOMetadataHandler.json(instance, base: "http://h/dicom-web", cache: cache) == first)
        // Another index row for the path (a replaced file) misses the cache.
        var replaced = instance
        replaced.modificationTime = 2
        #expect(throws: (any Error).self) {
            try WADOMetadataHandler.json(replaced, base: "http://h/dicom-web", cache: cache)
        }
    }

    @Test("the metadata cache keeps at most its capacity, dropping the oldest")
    func metadataBound() {
        let cache = MetadataCache(capacity: 1000)
        func key(_ i: Int) -> MetadataCache.Key { .init(path: "/p\(i)", size: 1, modificationTime: 0, base: "b") }
        for i in 0..<100 { cache.put(key(i), Array(repeating: 1, count: 100)) }
        #expect(cache.byteCount <= 1000)
        #expect(cache.get(key(99)) != nil)
        #expect(cache.get(key(0)) == nil)
        cache.put(key(500), Array(repeating: 1, count: 600))
        #expect(cache.get(key(500)) == nil, "an entry over a quarter of the capacity is not kept")
    }

    @Test("the frame layout cache keeps at most its capacity")
    func layoutBound() {
        let cache = FrameLayoutCache(capacity: 3)
        func key(_ i: Int) -> FrameLayoutCache.Key { .init(path: "/p\(i)", size: 1, modificationTime: 0) }
        for i in 0..<5 { cache.put(key(i), .init(transferSyntax: "1.2", frames: [[i..<(i + 1)]])) }
        #expect(cache.get(key(0)) == nil && cache.get(key(1)) == nil)
        #expect(cache.get(key(4))?.frames == [[4..<5]])
    }
}
