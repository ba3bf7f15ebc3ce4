// SPDX-License-Identifier: Apache-2.0
import TestSupport
import Testing

@testable import DICOM

/// The structure check run before a stored file is sent unchanged: whole data sets pass in every
/// stored transfer syntax; cut, overlong and garbage ones fail, reading only element headers.
@Suite("Data set structure check")
struct DataSetStructureCheckTests {
    static let syntaxes: [TransferSyntax] = [
        .implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian,
    ]
    static let walkable: [TransferSyntax] = [.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian]

    /// Every VR, nested sequences of undefined length, then native Pixel Data.
    static func image(pixelBytes: Int = 512) -> DataSet {
        var ds = sampleDataSet()
        ds.set(Tag(0x0028, 0x0010), uint16: 16)
        ds.set(.pixelData, vr: .OW, bytes: ArraySlice((0..<pixelBytes).map { UInt8(truncatingIfNeeded: $0) }))
        return ds
    }

    /// The same with encapsulated Pixel Data (an empty offset table and two fragments).
    static func encapsulated() -> [UInt8] {
        var ds = sampleDataSet()
        ds.set(
            DataElement(fragments: [
                [], ArraySlice(repeating: 0xAB, count: 300), ArraySlice(repeating: 0xCD, count: 64),
            ]))
        return try! DataSetWriter.write(ds, transferSyntax: .explicitVRLittleEndian)
    }

    /// Offsets at which the top-level elements of `bytes` begin (and its end): a cut there
    /// leaves a shorter data set that is still whole.
    static func topLevelBoundaries(_ bytes: [UInt8], _ ts: TransferSyntax) throws -> Set<Int> {
        var boundaries: Set<Int> = [0, bytes.count]
        for cut in 1..<bytes.count where (try? DataSetReader.read(bytes[..<cut], transferSyntax: ts)) != nil {
            boundaries.insert(cut)
        }
        return boundaries
    }

    @Test("A whole data set passes", arguments: syntaxes)
    func wholePasses(_ ts: TransferSyntax) throws {
        let bytes = try DataSetWriter.write(Self.image(), transferSyntax: ts)
        #expect(DataSetStructureCheck.check(bytes[...], transferSyntax: ts) == .whole)
        // A slice not starting at index 0 (a data set after its file's header).
        let file = [UInt8](repeating: 0, count: 132) + bytes
        #expect(DataSetStructureCheck.check(file[132...], transferSyntax: ts) == .whole)
        #expect(
            DataSetStructureCheck.check(Self.encapsulated()[...], transferSyntax: .explicitVRLittleEndian) == .whole)
    }

    @Test("Cut anywhere but between two top-level elements: damaged", arguments: walkable)
    func truncatedFails(_ ts: TransferSyntax) throws {
        let bytes = try DataSetWriter.write(Self.image(), transferSyntax: ts)
        let boundaries = try Self.topLevelBoundaries(bytes, ts)
        var checked = 0
        for cut in 1..<bytes.count where !boundaries.contains(cut) {
            let verdict = DataSetStructureCheck.check(bytes[..<cut], transferSyntax: ts)
            guard case .damaged = verdict else {
                Issue.record("\(ts): cut at \(cut) of \(bytes.count) passed")
                return
            }
            checked += 1
        }
        #expect(checked > bytes.count / 2)
        // Cut inside Pixel Data, as a file truncated after its header is.
        let verdict = DataSetStructureCheck.check(bytes[..<(bytes.count - 100)], transferSyntax: ts)
        #expect("\(verdict)".contains("(7FE0,0010) declares 512 bytes"), "\(verdict)")
    }

    @Test("Deflated: a cut stream is damaged")
    func truncatedDeflatedFails() throws {
        let ts = TransferSyntax.deflatedExplicitVRLittleEndian
        let bytes = try DataSetWriter.write(Self.image(pixelBytes: 4096), transferSyntax: ts)
        for cut in [1, 10, bytes.count / 3, bytes.count / 2, bytes.count - 20, bytes.count - 2] {
            #expect(DataSetStructureCheck.check(bytes[..<cut], transferSyntax: ts) != .whole, "cut at \(cut)")
        }
    }

    @Test("Pixel Data declaring more bytes than the file holds is damaged", arguments: walkable)
    func pixelDataOverflowFails(_ ts: TransferSyntax) throws {
        var bytes = try DataSetWriter.write(Self.image(), transferSyntax: ts)
        // Pixel Data is last: its length field sits just before its 512 value bytes.
        let lengthAt = bytes.count - 512 - 4
        let declared: UInt32 = 262_144
        let field = ts.isBigEndian ? declared.bigEndian : declared.littleEndian
        withUnsafeBytes(of: field) { bytes.replaceSubrange(lengthAt..<(lengthAt + 4), with: $0) }
        let verdict = DataSetStructureCheck.check(bytes[...], transferSyntax: ts)
        #expect("\(verdict)".contains("(7FE0,0010) declares 262144 bytes, only 512 remain"), "\(verdict)")
    }

    @Test("Encapsulated Pixel Data without its Sequence Delimitation Item is damaged")
    func encapsulatedWithoutDelimiterFails() throws {
        let bytes = Self.encapsulated()
        let withoutDelimiter = bytes[..<(bytes.count - 8)]
        let verdict = DataSetStructureCheck.check(withoutDelimiter, transferSyntax: .explicitVRLittleEndian)
        #expect("\(verdict)".contains("no Sequence Delimitation Item"), "\(verdict)")
        // Cut inside the last fragment.
        #expect(
            DataSetStructureCheck.check(bytes[..<(bytes.count - 20)], transferSyntax: .explicitVRLittleEndian) != .whole
        )
        // Something else where the delimiter is due.
        var wrong = bytes
        wrong[wrong.count - 8] = 0x10
        #expect(DataSetStructureCheck.check(wrong[...], transferSyntax: .explicitVRLittleEndian) != .whole)
    }

    @Test("Implausible tags, VRs and lengths are damaged")
    func implausibleFails() throws {
        func explicitLE(_ tag: (UInt16, UInt16), _ vr: String, _ value: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            DataSetWriter.writePrimitiveHeaderForTest(tag: tag, vr: vr, length: value.count, into: &out)
            return out + value
        }
        let good = explicitLE((0x0008, 0x0060), "CS", Array("CT".utf8))
        #expect(DataSetStructureCheck.check(good[...], transferSyntax: .explicitVRLittleEndian) == .whole)
        let cases: [(String, [UInt8])] = [
            ("group 0000", explicitLE((0x0000, 0x0100), "US", [1, 0])),
            ("odd group 0003", explicitLE((0x0003, 0x0010), "LO", Array("AB".utf8))),
            ("group FFFF", explicitLE((0xFFFF, 0x0010), "LO", Array("AB".utf8))),
            ("unknown VR", explicitLE((0x0008, 0x0060), "ZZ", Array("CT".utf8))),
            ("US of 3 bytes", explicitLE((0x0028, 0x0010), "US", [1, 2, 3]) + [0]),
            ("item at top level", [0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]),
            ("sequence delimiter at top level", [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]),
        ]
        for (name, bytes) in cases {
            #expect(
                DataSetStructureCheck.check(good[...] + bytes, transferSyntax: .explicitVRLittleEndian) != .whole,
                "\(name)")
        }
    }

    @Test("Random bytes are damaged in every walkable syntax")
    func garbageFails() {
        var rng = SplitMix64(seed: 17)
        for round in 0..<500 {
            let count = Int.random(in: 1...8_000, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for ts in Self.walkable {
                #expect(DataSetStructureCheck.check(bytes[...], transferSyntax: ts) != .whole, "round \(round), \(ts)")
            }
        }
    }

    @Test("Only element headers are read: a large Pixel Data value is skipped", arguments: walkable)
    func readsHeadersOnly(_ ts: TransferSyntax) throws {
        let bytes = try DataSetWriter.write(Self.image(pixelBytes: 8 << 20), transferSyntax: ts)
        var read = 0
        let verdict = try DataSetStructureCheck.check(from: 0, to: bytes.count, transferSyntax: ts) { offset, count in
            let slice = bytes[offset..<min(bytes.count, offset + count)]
            read += slice.count
            return slice
        }
        #expect(verdict == .whole)
        #expect(read <= 3 * DataSetStructureCheck.readSize, "read \(read) of \(bytes.count) bytes")
    }
}

extension DataSetWriter {
    /// An Explicit VR Little Endian element header for any VR code, valid or not.
    static func writePrimitiveHeaderForTest(tag: (UInt16, UInt16), vr: String, length: Int, into out: inout [UInt8]) {
        func le16(_ v: UInt16) { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        le16(tag.0)
        le16(tag.1)
        out += Array(vr.utf8)
        le16(UInt16(length))
    }
}
