// SPDX-License-Identifier: Apache-2.0
/// One entry of the data dictionary (PS3.6 §6).
public struct DictionaryEntry: Sendable, Hashable {
    /// The tag; for repeating-group entries the first tag of the range
    /// (e.g. (6000,3000) for (60xx,3000)).
    public let tag: Tag
    /// The VR to use when none is given (implicit VR): for multi-VR entries
    /// the conventional choice (OW for "OB or OW", US for "US or SS").
    public let vr: VR
    /// The VR as listed, e.g. "US", or a DCMTK multi-VR code "ox", "xs", "lt", "px", "up", "na".
    public let vrCode: String
    /// Value multiplicity, e.g. "1", "1-n", "2-2n".
    public let vm: String
    /// Keyword, e.g. "PatientName".
    public let keyword: String
    /// Retired in the current standard.
    public let isRetired: Bool
    /// Whether the entry stands for a range of tags (repeating group such as (60xx,3000)
    /// or element range such as (0020,3100-31FF)).
    public let isRange: Bool

    /// All VRs the entry allows.
    public var allowedVRs: [VR] {
        switch vrCode {
        case "ox", "px": return [.OB, .OW]
        case "xs": return [.US, .SS]
        case "lt": return [.US, .SS, .OW]
        case "up": return [.UL]
        case "na": return []
        default: return [vr]
        }
    }
}

/// The DICOM data dictionary (PS3.6 §6, Table 6-1), generated from DCMTK's
/// `dicom.dic` by `scripts/gen-dictionary`. Parsed lazily at first use.
public enum DataDictionary {
    private struct RangeEntry {
        let g0: UInt16, g1: UInt16, e0: UInt16, e1: UInt16
        let gr: UInt8, er: UInt8
        let entry: DictionaryEntry

        func matches(_ t: Tag) -> Bool {
            guard t.group >= g0, t.group <= g1, t.element >= e0, t.element <= e1 else { return false }
            if gr == UInt8(ascii: "e"), (t.group - g0) & 1 != 0 { return false }
            if gr == UInt8(ascii: "o"), t.group & 1 == 0 { return false }
            if er == UInt8(ascii: "o"), t.element & 1 == 0 { return false }
            return true
        }
    }

    private struct Tables: Sendable {
        var byTag: [UInt32: DictionaryEntry] = [:]
        var ranges: [RangeEntry] = []
        var byKeyword: [String: Tag] = [:]
    }

    private static let tables: Tables = {
        var t = Tables()
        t.byTag.reserveCapacity(5000)
        t.byKeyword.reserveCapacity(5000)
        for line in generatedEntries.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false)
            guard f.count == 5 else { continue }
            let code = String(f[1])
            let vr: VR
            switch code {
            case "ox", "px", "lt": vr = .OW
            case "xs": vr = .US
            case "up": vr = .UL
            case "na": vr = .UN
            default: vr = VR(rawValue: code) ?? .UN
            }
            let key = f[0]
            let keyword = String(f[3])
            if key.count == 8, let v = UInt32(key, radix: 16) {
                let e = DictionaryEntry(
                    tag: Tag(v), vr: vr, vrCode: code, vm: String(f[2]), keyword: keyword,
                    isRetired: f[4] == "1", isRange: false)
                t.byTag[v] = e
                if t.byKeyword[keyword] == nil { t.byKeyword[keyword] = e.tag }
            } else if key.count == 18 {
                let u = Array(key.utf8)
                func hex(_ i: Int) -> UInt16 { UInt16(String(decoding: u[i..<i + 4], as: UTF8.self), radix: 16) ?? 0 }
                let g0 = hex(0)
                let g1 = hex(4)
                let e0 = hex(8)
                let e1 = hex(12)
                let e = DictionaryEntry(
                    tag: Tag(g0, e0), vr: vr, vrCode: code, vm: String(f[2]), keyword: keyword,
                    isRetired: f[4] == "1", isRange: true)
                t.ranges.append(RangeEntry(g0: g0, g1: g1, e0: e0, e1: e1, gr: u[16], er: u[17], entry: e))
                if t.byKeyword[keyword] == nil { t.byKeyword[keyword] = e.tag }
            }
        }
        return t
    }()

    private static let groupLength = DictionaryEntry(
        tag: Tag(0, 0), vr: .UL, vrCode: "UL", vm: "1",
        keyword: "GroupLength", isRetired: false, isRange: true)
    private static let privateCreator = DictionaryEntry(
        tag: Tag(0x0009, 0x0010), vr: .LO, vrCode: "LO", vm: "1",
        keyword: "PrivateCreator", isRetired: false, isRange: true)

    /// The entry for `tag`, including repeating groups ((60xx,eeee), (50xx,eeee),
    /// (7Fxx,eeee)), element ranges ((0020,31xx)), group lengths (gggg,0000)
    /// and private creators (odd gggg,0010-00FF). Other private tags: nil.
    public static func entry(for tag: Tag) -> DictionaryEntry? {
        if let e = tables.byTag[tag.value] { return e }
        if tag.element == 0 { return groupLength }
        if tag.isPrivateCreator { return privateCreator }
        if tag.isPrivate { return nil }
        for r in tables.ranges where r.matches(tag) { return r.entry }
        return nil
    }

    /// Fast path for the reader: tag → default VR of single-tag entries.
    private static let vrByTag: [UInt32: VR] = tables.byTag.mapValues(\.vr)

    /// The VR used for `tag` in implicit VR encoding; UN when unknown (PS3.5 §6.2.2).
    public static func implicitVR(for tag: Tag) -> VR {
        if let vr = vrByTag[tag.value] { return vr }
        return entry(for: tag)?.vr ?? .UN
    }

    /// The tag for a keyword such as "PatientName"; for repeating groups the
    /// first group of the range.
    public static func tag(forKeyword keyword: String) -> Tag? {
        tables.byKeyword[keyword]
    }

    /// Every generated entry, single tags in tag order then ranges.
    public static var allEntries: [DictionaryEntry] {
        tables.byTag.values.sorted { $0.tag < $1.tag } + tables.ranges.map(\.entry)
    }

    /// Number of generated entries (single tags + ranges).
    public static var count: Int { tables.byTag.count + tables.ranges.count }
}
