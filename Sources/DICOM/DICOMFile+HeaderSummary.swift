// SPDX-License-Identifier: Apache-2.0
extension DICOMFile {
    /// What sending a stored file needs from its header: where the data set starts, its
    /// syntax and the instance the file says it holds — the fields of ``Header`` without the
    /// File Meta Information as a data set.
    public struct HeaderSummary: Sendable, Hashable {
        /// Transfer syntax of the data set, as ``Header/transferSyntax``.
        public var transferSyntax: TransferSyntax
        /// Offset of the data set in the file, as ``Header/dataSetOffset``.
        public var dataSetOffset: Int
        /// Whether the preamble and "DICM" prefix were present.
        public var hasPreamble: Bool
        /// Media Storage SOP Instance UID (0002,0003) as `DataSet.uid(_:)` gives it; nil when absent.
        public var mediaStorageSOPInstanceUID: String?
    }

    /// The fields of ``readHeader(_:)`` that a sender needs, with the same values and the same
    /// errors. The usual header — "DICM", Explicit VR Little Endian meta opening with a group
    /// length that ends it, group 0002 elements in ascending order — is scanned in place,
    /// building no data set; anything else goes through ``readHeader(_:)``.
    public static func readHeaderSummary(_ bytes: ArraySlice<UInt8>) throws -> HeaderSummary {
        if let summary = scanUsualMeta(bytes) { return summary }
        let header = try readHeader(bytes)
        return HeaderSummary(
            transferSyntax: header.transferSyntax, dataSetOffset: header.dataSetOffset,
            hasPreamble: header.hasPreamble,
            mediaStorageSOPInstanceUID: header.meta.uid(.mediaStorageSOPInstanceUID))
    }

    /// The summary of a header of the usual shape, nil for any other (which ``readHeader(_:)``
    /// then handles). Every case the full parse treats specially — no group length, a group
    /// length not ending the meta, a sequence, an undefined length, a bad VR, elements out of
    /// order or past the group — is left to it, so both always agree.
    private static func scanUsualMeta(_ bytes: ArraySlice<UInt8>) -> HeaderSummary? {
        let metaStart: Int
        if isDICM(bytes, at: 128) { metaStart = 132 } else if isDICM(bytes, at: 0) { metaStart = 4 } else { return nil }
        var syntaxValue: (range: Range<Int>, vr: VR)?
        var instanceValue: (range: Range<Int>, vr: VR)?
        let metaEnd: Int? = bytes.withUnsafeBytes { raw -> Int? in
            func u16(_ o: Int) -> Int {
                Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            }
            func u32(_ o: Int) -> Int {
                Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            }
            let m = metaStart
            // (0002,0000) UL, length 4.
            guard raw.count - m >= 12, u16(m) == 0x0002, u16(m + 2) == 0x0000, raw[m + 4] == 0x55,
                raw[m + 5] == 0x4C, u16(m + 6) == 4
            else { return nil }
            let end = m + 12 + u32(m + 8)
            guard end <= raw.count else { return nil }
            // Another group 0002 element after the stated end: the group length is wrong.
            if raw.count - end >= 2, raw[end] == 0x02, raw[end + 1] == 0x00 { return nil }
            var pos = m
            var previous = -1
            while pos < end {
                guard end - pos >= 8, u16(pos) == 0x0002 else { return nil }
                let element = u16(pos + 2)
                guard element > previous,
                    let vr = VR(byte0: raw[pos + 4], byte1: raw[pos + 5]), vr != .SQ
                else { return nil }
                previous = element
                let header: Int
                let length: Int
                if vr.hasLongExplicitLength {
                    guard end - pos >= 12 else { return nil }
                    length = u32(pos + 8)
                    header = 12
                    guard length != 0xFFFF_FFFF else { return nil }
                } else {
                    length = u16(pos + 6)
                    header = 8
                }
                guard length <= end - pos - header else { return nil }
                let value = (pos + header)..<(pos + header + length)
                if element == 0x0003 { instanceValue = (value, vr) }
                if element == 0x0010 { syntaxValue = (value, vr) }
                pos = value.upperBound
            }
            return end
        }
        guard let metaEnd else { return nil }
        let base = bytes.startIndex
        func text(_ value: (range: Range<Int>, vr: VR)?) -> String? {
            value.map { DataSet.text(bytes[(base + $0.range.lowerBound)..<(base + $0.range.upperBound)], vr: $0.vr) }
        }
        return HeaderSummary(
            transferSyntax: syntax(declared: text(syntaxValue), of: bytes, dataSetAt: metaEnd),
            dataSetOffset: metaEnd, hasPreamble: metaStart == 132,
            mediaStorageSOPInstanceUID: text(instanceValue))
    }
}
