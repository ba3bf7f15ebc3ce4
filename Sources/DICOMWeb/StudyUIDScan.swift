// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Finds the Study Instance UID (0020,000D) near the start of a data set that is still arriving,
/// so that STOW-RS to `/studies/{study}` can refuse a part of another study before storing it
/// (PS3.18 §10.5.1). Walks top-level element headers only; values before the UID are skipped.
public enum StudyUIDScan {
    public enum Result: Sendable, Hashable {
        /// The UID (nil when the data set has none: the walk passed (0020,000D)).
        case found(String?)
        /// The bytes end before the answer.
        case needMoreBytes
        /// Not answerable by walking headers (a sequence or value of undefined length before the
        /// UID, a deflated or big endian data set, malformed headers): the check is left to the
        /// store path, which does not do it.
        case undetermined
    }

    static let studyInstanceUID = Tag(0x0020, 0x000D)

    /// Scans `bytes` (the data set's first bytes) encoded in `transferSyntax`.
    public static func scan(_ bytes: ArraySlice<UInt8>, transferSyntax: TransferSyntax) -> Result {
        guard !transferSyntax.isDeflated, !transferSyntax.isBigEndian else { return .undetermined }
        let explicit = transferSyntax.isExplicitVR
        var p = bytes.startIndex
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        while true {
            guard p + 8 <= bytes.endIndex else { return .needMoreBytes }
            let tag = Tag(UInt16(u16(p)), UInt16(u16(p + 2)))
            if tag > studyInstanceUID { return .found(nil) }
            var length: Int
            var header: Int
            if explicit {
                guard let vr = VR(byte0: bytes[p + 4], byte1: bytes[p + 5]) else { return .undetermined }
                if [VR.OB, .OD, .OF, .OL, .OV, .OW, .SQ, .UC, .UN, .UR, .UT].contains(vr) {
                    guard p + 12 <= bytes.endIndex else { return .needMoreBytes }
                    length = u32(p + 8)
                    header = 12
                } else {
                    length = u16(p + 6)
                    header = 8
                }
            } else {
                length = u32(p + 4)
                header = 8
            }
            if length == 0xFFFF_FFFF { return .undetermined }
            if tag == studyInstanceUID {
                guard p + header + length <= bytes.endIndex else { return .needMoreBytes }
                var value = bytes[(p + header)..<(p + header + length)]
                while let last = value.last, last == 0 || last == 0x20 { value = value.dropLast() }
                return .found(String(decoding: value, as: UTF8.self))
            }
            p += header + length
        }
    }
}
