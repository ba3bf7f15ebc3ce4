// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Text handling shared by indexing and matching.
enum TextValues {
    /// VRs whose values are affected by Specific Character Set (PS3.5 §6.1.2.3).
    static func isCharsetText(_ vr: VR) -> Bool {
        switch vr {
        case .SH, .LO, .ST, .LT, .UC, .UT, .PN: return true
        default: return false
        }
    }

    /// Wild card matching applies to these VRs (PS3.4 C.2.2.2.4).
    static func allowsWildcard(_ vr: VR) -> Bool {
        switch vr {
        case .AE, .CS, .LO, .LT, .PN, .SH, .ST, .UC, .UR, .UT: return true
        default: return false
        }
    }

    /// Normalised person name for case-insensitive matching: Unicode upper case,
    /// leading/trailing spaces removed, and empty trailing components ('^', '=')
    /// dropped, so "Doe^John^^" and "doe^john" compare equal.
    static func normalizedPN(_ s: String) -> String {
        var t = Substring(s.uppercased())
        while let f = t.first, f == " " { t.removeFirst() }
        while let l = t.last, l == " " || l == "^" || l == "=" || l == "\0" { t.removeLast() }
        return String(t)
    }

    /// Trims spaces and NULs at both ends.
    static func trimmed(_ s: String) -> String {
        var t = Substring(s)
        while let f = t.first, f == " " { t.removeFirst() }
        while let l = t.last, l == " " || l == "\0" { t.removeLast() }
        return String(t)
    }

    /// Returns a copy of `ds` whose charset-dependent text values are re-encoded as
    /// UTF-8 (decoded with the data set's own Specific Character Set, or `inherited`),
    /// recursively through sequence items. (0008,0005) itself is removed.
    static func toUTF8(_ ds: DataSet, inherited: SpecificCharacterSet = .default) -> DataSet {
        let cs = ds.characterSet(inherited: inherited)
        var out: [DataElement] = []
        out.reserveCapacity(ds.count)
        for e in ds where e.tag != .specificCharacterSet {
            out.append(convert(e, cs))
        }
        return DataSet(out)
    }

    static func convert(_ e: DataElement, _ cs: SpecificCharacterSet) -> DataElement {
        switch e.value {
        case .bytes(let b):
            guard isCharsetText(e.vr), cs.encoding != .utf8, b.contains(where: { $0 >= 0x80 }) else { return e }
            var u = Array(cs.decode(b).utf8)
            if u.count & 1 == 1 { u.append(0x20) }
            return DataElement(tag: e.tag, vr: e.vr, bytes: u[...])
        case .sequence(let items):
            return DataElement(tag: e.tag, items: items.map { toUTF8($0, inherited: cs) })
        case .fragments:
            return e
        }
    }

    /// Whether any text value (recursively) holds a byte above 0x7F.
    static func hasNonASCII(_ e: DataElement) -> Bool {
        switch e.value {
        case .bytes(let b): return isCharsetText(e.vr) && b.contains(where: { $0 >= 0x80 })
        case .sequence(let items): return items.contains { $0.contains(where: hasNonASCII) }
        case .fragments: return false
        }
    }
}

extension DataSet {
    /// A UTF-8 text value (index blobs and converted data sets): decoded as UTF-8 and trimmed.
    func utf8String(_ tag: Tag) -> String? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        return TextValues.trimmed(String(decoding: b, as: UTF8.self))
    }
}
