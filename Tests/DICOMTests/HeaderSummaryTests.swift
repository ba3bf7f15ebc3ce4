// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DICOM

/// `DICOMFile.readHeaderSummary` must give exactly what `readHeader` gives for every file shape:
/// the fast scan of the File Meta Information and its fallback to the full parse.
@Suite struct HeaderSummaryTests {
    static let instanceUID = "1.2.826.0.1.3680043.10.1489.99.7"

    func dataSet() -> DataSet {
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.2")
        ds.set(.sopInstanceUID, vr: .UI, string: Self.instanceUID)
        ds.set(.patientName, vr: .PN, string: "Doe^Jane")
        ds.set(.patientID, vr: .LO, string: "42")
        return ds
    }

    /// The summary and the full header agree on every field the summary has, or both fail alike.
    func expectSameAsFullHeader(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let full = Result { try DICOMFile.readHeader(bytes[...]) }
        let summary = Result { try DICOMFile.readHeaderSummary(bytes[...]) }
        switch (full, summary) {
        case (.success(let full), .success(let summary)):
            #expect(summary.transferSyntax == full.transferSyntax, sourceLocation: sourceLocation)
            #expect(summary.transferSyntax.uid == full.transferSyntax.uid, sourceLocation: sourceLocation)
            #expect(summary.dataSetOffset == full.dataSetOffset, sourceLocation: sourceLocation)
            #expect(summary.hasPreamble == full.hasPreamble, sourceLocation: sourceLocation)
            #expect(
                summary.mediaStorageSOPInstanceUID == full.meta.uid(.mediaStorageSOPInstanceUID),
                sourceLocation: sourceLocation)
        case (.failure(let fullError), .failure(let summaryError)):
            #expect("\(summaryError)" == "\(fullError)", sourceLocation: sourceLocation)
        default:
            Issue.record("full header \(full), summary \(summary)", sourceLocation: sourceLocation)
        }
    }

    /// A Part 10 file whose meta is `meta` (group length computed) followed by `ds` in `ts`.
    func file(meta: DataSet, ts: TransferSyntax) throws -> [UInt8] {
        var bytes = try DICOMFile.encodeHeader(meta: meta)
        try DataSetWriter.write(dataSet(), transferSyntax: ts, into: &bytes)
        return bytes
    }

    @Test(arguments: [
        TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian,
        .deflatedExplicitVRLittleEndian, .jpegBaseline,
    ])
    func encodedFiles(_ ts: TransferSyntax) throws {
        let bytes = try DICOMFile.encode(dataSet: dataSet(), transferSyntax: ts, sourceAETitle: "QRSCPD")
        try expectSameAsFullHeader(bytes)
        let summary = try DICOMFile.readHeaderSummary(bytes[...])
        #expect(summary.transferSyntax == ts)
        #expect(summary.hasPreamble)
        #expect(summary.mediaStorageSOPInstanceUID == Self.instanceUID)
        // "DICM" and the meta without the preamble.
        try expectSameAsFullHeader(Array(bytes[128...]))
        #expect(try DICOMFile.readHeaderSummary(bytes[128...]).hasPreamble == false)
    }

    @Test("odd-length UIDs padded with NUL or space, leading spaces, empty and all-padding values")
    func paddedUIDs() throws {
        let values: [[UInt8]] = [
            Array("1.2.3.45".utf8),
            Array("1.2.3.4".utf8) + [0x00],
            Array("1.2.3.4".utf8) + [0x20],
            Array("1.2.3.4".utf8) + [0x00, 0x20, 0x00, 0x00],
            [0x20, 0x20] + Array("1.2.3.4".utf8) + [0x20, 0x00],
            [],
            [0x00, 0x00],
            [0x20, 0x20, 0x20, 0x20],
            Array("1.2\u{E9}3".utf8) + [0x20],  // not ASCII: decoded like any other string value
            [0x31, 0x2E, 0xE9, 0x20],  // not UTF-8: Latin-1
        ]
        for value in values {
            var meta = DICOMFile.makeMeta(
                sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "",
                transferSyntax: .explicitVRLittleEndian)
            meta.set(.mediaStorageSOPInstanceUID, vr: .UI, bytes: value[...])
            let bytes = try file(meta: meta, ts: .explicitVRLittleEndian)
            try expectSameAsFullHeader(bytes)
        }
        var meta = DICOMFile.makeMeta(sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: .explicitVRBigEndian)
        meta.set(.transferSyntaxUID, vr: .UI, bytes: Array(" 1.2.840.10008.1.2.2\0".utf8)[...])
        let bytes = try file(meta: meta, ts: .explicitVRBigEndian)
        try expectSameAsFullHeader(bytes)
        #expect(try DICOMFile.readHeaderSummary(bytes[...]).transferSyntax == .explicitVRBigEndian)
    }

    @Test("missing Media Storage SOP Instance UID or Transfer Syntax UID")
    func missingElements() throws {
        for ts in [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian] {
            var meta = DICOMFile.makeMeta(sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: ts)
            meta.remove(.mediaStorageSOPInstanceUID)
            try expectSameAsFullHeader(try file(meta: meta, ts: ts))
            #expect(
                try DICOMFile.readHeaderSummary(try file(meta: meta, ts: ts)[...]).mediaStorageSOPInstanceUID == nil)
            meta.remove(.transferSyntaxUID)  // the syntax is then guessed from the data set
            try expectSameAsFullHeader(try file(meta: meta, ts: ts))
            meta.set(.transferSyntaxUID, vr: .UI, bytes: [0x20, 0x00])  // empty after trimming: guessed too
            try expectSameAsFullHeader(try file(meta: meta, ts: ts))
        }
    }

    @Test("meta without group length, implicit VR meta, no meta at all")
    func unusualMeta() throws {
        let ds = dataSet()
        var meta = DICOMFile.makeMeta(
            sopClassUID: "1.2", sopInstanceUID: "1.2.3.4", transferSyntax: .explicitVRBigEndian)
        for explicitMeta in [true, false] {
            var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
            try DataSetWriter.write(
                meta, transferSyntax: explicitMeta ? .explicitVRLittleEndian : .implicitVRLittleEndian,
                into: &bytes)
            try DataSetWriter.write(ds, transferSyntax: .explicitVRBigEndian, into: &bytes)
            try expectSameAsFullHeader(bytes)
            #expect(try DICOMFile.readHeaderSummary(bytes[...]).mediaStorageSOPInstanceUID == "1.2.3.4")
        }
        for ts in [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian] {
            let raw = try DataSetWriter.write(ds, transferSyntax: ts)
            try expectSameAsFullHeader(raw)
            #expect(try DICOMFile.readHeaderSummary(raw[...]).transferSyntax == ts)
        }
        // A group length that points past the end of the meta: the full parse stops at group 0008.
        meta.set(.fileMetaInformationGroupLength, vr: .UL, uint32: 9999)
        var bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        try DataSetWriter.write(meta, transferSyntax: .explicitVRLittleEndian, into: &bytes)
        try DataSetWriter.write(ds, transferSyntax: .explicitVRBigEndian, into: &bytes)
        try expectSameAsFullHeader(bytes)
        // A group length shorter than the meta: the next element is still group 0002.
        meta.set(.fileMetaInformationGroupLength, vr: .UL, uint32: 10)
        bytes = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        try DataSetWriter.write(meta, transferSyntax: .explicitVRLittleEndian, into: &bytes)
        try DataSetWriter.write(ds, transferSyntax: .explicitVRLittleEndian, into: &bytes)
        try expectSameAsFullHeader(bytes)
    }

    @Test("declared native syntax contradicting the data set, meta-only file")
    func contradictingSyntax() throws {
        let meta = DICOMFile.makeMeta(
            sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: .explicitVRLittleEndian)
        let bytes = try file(meta: meta, ts: .implicitVRLittleEndian)
        try expectSameAsFullHeader(bytes)
        #expect(try DICOMFile.readHeaderSummary(bytes[...]).transferSyntax == .implicitVRLittleEndian)
        let metaOnly = try DICOMFile.encodeHeader(meta: meta)
        try expectSameAsFullHeader(metaOnly)
        // Cut inside the first element header of the data set.
        try expectSameAsFullHeader(Array(bytes.prefix(metaOnly.count + 5)))
    }

    @Test("elements out of order, a sequence, undefined length or a bad VR in the meta")
    func irregularMetaElements() throws {
        let base = DICOMFile.makeMeta(
            sopClassUID: "1.2", sopInstanceUID: "1.3", transferSyntax: .explicitVRLittleEndian)
        let header = try DICOMFile.encodeHeader(meta: base)
        let tail = try DataSetWriter.write(dataSet(), transferSyntax: .explicitVRLittleEndian)
        // Swap the last two meta elements' order by appending a duplicate (0002,0003) after (0002,0013).
        var dup = DataSet()
        dup.set(.mediaStorageSOPInstanceUID, vr: .UI, string: "9.9.9")
        var extra: [UInt8] = []
        try DataSetWriter.write(dup, transferSyntax: .explicitVRLittleEndian, into: &extra)
        try expectSameAsFullHeader(withExtraMeta: header, extra, tail)
        // A sequence in group 0002 (defined and undefined length), and an unknown VR.
        let sequence: [UInt8] = [0x02, 0x00, 0x00, 0x01, 0x53, 0x51, 0, 0, 0, 0, 0, 0]
        try expectSameAsFullHeader(withExtraMeta: header, sequence, tail)
        let undefined: [UInt8] = [
            0x02, 0x00, 0x00, 0x01, 0x53, 0x51, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0,
        ]
        try expectSameAsFullHeader(withExtraMeta: header, undefined, tail)
        let badVR: [UInt8] = [0x02, 0x00, 0x00, 0x01, 0x7A, 0x7A, 2, 0, 0x31, 0x00]
        try expectSameAsFullHeader(withExtraMeta: header, badVR, tail)
        // A length running past the group length.
        let long: [UInt8] = [0x02, 0x00, 0x00, 0x01, 0x55, 0x49, 0x40, 0, 0x31, 0x00]
        try expectSameAsFullHeader(withExtraMeta: header, long, tail)
    }

    /// `header` with `extra` appended inside the meta (group length adjusted), then `tail`.
    func expectSameAsFullHeader(
        withExtraMeta header: [UInt8], _ extra: [UInt8], _ tail: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var bytes = header + extra
        let gl = UInt32(header.count - 144 + extra.count)
        withUnsafeBytes(of: gl.littleEndian) { for (i, b) in $0.enumerated() { bytes[140 + i] = b } }
        bytes += tail
        try expectSameAsFullHeader(bytes, sourceLocation: sourceLocation)
    }

    @Test("too short or truncated input fails like the full parse")
    func badInput() throws {
        for bytes: [UInt8] in [[], [1, 2, 3], Array(repeating: 0, count: 128) + Array("DICM".utf8) + [0x02, 0x00]] {
            #expect(throws: (any Error).self) { try DICOMFile.readHeaderSummary(bytes[...]) }
            try expectSameAsFullHeader(bytes)
        }
    }

    @Test("a slice that does not start at index 0")
    func offsetSlice() throws {
        let bytes = try DICOMFile.encode(dataSet: dataSet(), transferSyntax: .explicitVRLittleEndian)
        let padded = [0xAA, 0xBB, 0xCC] + bytes
        let full = try DICOMFile.readHeader(padded[3...])
        let summary = try DICOMFile.readHeaderSummary(padded[3...])
        #expect(summary.dataSetOffset == full.dataSetOffset && summary.transferSyntax == full.transferSyntax)
        #expect(summary.mediaStorageSOPInstanceUID == Self.instanceUID)
    }
}

/// String values are trimmed on bytes when they are ASCII; the result must be what trimming
/// characters gives (the reference below is the character-based rule).
@Suite struct StringTrimmingTests {
    static let valueTag = Tag(0x0010, 0x4000)

    static func reference(_ bytes: [UInt8], vr: VR) -> String {
        var sub = Substring(DataSet.decodeDefault(bytes[...]))
        while let l = sub.last, l == " " || l == "\0" { sub.removeLast() }
        if DataSet.trimsLeading(vr) { while let f = sub.first, f == " " { sub.removeFirst() } }
        return String(sub)
    }

    @Test func sameAsCharacterTrimming() {
        let samples: [[UInt8]] = [
            [], [0x20], [0x00], [0x20, 0x00, 0x20], Array("  a b  ".utf8), Array("\0a\0".utf8),
            Array("1.2.840.10008.1.2.1\0".utf8), Array(" Doe^J ".utf8), Array("x\r\n ".utf8),
            Array("\u{0600} ".utf8),  // a prepended mark joins the space into one character
            Array(" \u{301}x ".utf8),  // a combining mark joins the leading space
            Array("caf\u{E9}  ".utf8), [0x41, 0xE9, 0x20], [0x20, 0xFF, 0x20],
        ]
        for bytes in samples {
            for vr in [VR.UI, .PN, .LO, .CS, .AE, .LT] {
                var ds = DataSet()
                ds.set(Self.valueTag, vr: vr, bytes: bytes[...])
                #expect(ds.string(Self.valueTag) == Self.reference(bytes, vr: vr), "\(bytes) \(vr)")
            }
        }
    }

    @Test func transferSyntaxUIDPadding() {
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2.1\0") == .explicitVRLittleEndian)
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2.2 \0 ") == .explicitVRBigEndian)
        #expect(TransferSyntax(uid: "1.2.840.10008.1.2") == .implicitVRLittleEndian)
        #expect(TransferSyntax(uid: "1.2.3.4 ").uid == "1.2.3.4")
        #expect(TransferSyntax(uid: "").uid == "")
    }
}
