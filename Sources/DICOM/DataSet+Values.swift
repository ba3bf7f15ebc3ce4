// SPDX-License-Identifier: Apache-2.0
// Typed access to element values (PS3.5 §6.2 value encodings).

extension DataSet {
    // MARK: Strings

    /// The value of a string element decoded with the default repertoire
    /// (bytes above 0x7F as UTF-8 when valid, else Latin-1), with trailing
    /// spaces/NULs removed (leading spaces too for AE, CS, DS, IS, DA, TM, DT, UI).
    /// Multiple values stay joined with backslashes. Nil if absent or not bytes.
    public func string(_ tag: Tag) -> String? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        return DataSet.text(b, vr: e.vr)
    }

    /// The values of a multi-valued string element, split on backslash
    /// (PS3.5 §6.4), each trimmed as in `string(_:)`. Empty value → [].
    public func strings(_ tag: Tag) -> [String]? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        return DataSet.split(DataSet.decodeDefault(b), vr: e.vr)
    }

    /// The value decoded with this data set's Specific Character Set (0008,0005)
    /// (or `inherited` for items without their own), trimmed as in `string(_:)`.
    public func decodedString(_ tag: Tag, inherited: SpecificCharacterSet = .default) -> String? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        return DataSet.trim(characterSet(inherited: inherited).decode(b), vr: e.vr)
    }

    /// Like `strings(_:)` but decoded with the Specific Character Set.
    public func decodedStrings(_ tag: Tag, inherited: SpecificCharacterSet = .default) -> [String]? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        return DataSet.split(characterSet(inherited: inherited).decode(b), vr: e.vr)
    }

    /// The character set in effect: (0008,0005) if present, else `inherited`.
    public func characterSet(inherited: SpecificCharacterSet = .default) -> SpecificCharacterSet {
        guard let v = string(.specificCharacterSet) else { return inherited }
        return SpecificCharacterSet(v)
    }

    /// A UID value with trailing NUL/space padding removed (PS3.5 §9.1).
    public func uid(_ tag: Tag) -> String? { string(tag) }

    /// A string value decoded with the default repertoire and trimmed as `string(_:)` says.
    ///
    /// UIDs and most other values are ASCII. There every byte is a character of its own (CR LF,
    /// the one pair that joins, is not padding), so padding bytes are dropped before decoding:
    /// the same result as trimming characters after it, without walking grapheme clusters.
    static func text(_ b: ArraySlice<UInt8>, vr: VR) -> String {
        var lo = b.startIndex
        var hi = b.endIndex
        var ascii = true
        for byte in b where byte >= 0x80 {
            ascii = false
            break
        }
        guard ascii else { return trim(decodeDefault(b), vr: vr) }
        while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0x00 { hi -= 1 }
        if trimsLeading(vr) { while lo < hi, b[lo] == 0x20 { lo += 1 } }
        return String(decoding: b[lo..<hi], as: UTF8.self)
    }

    static func decodeDefault(_ b: ArraySlice<UInt8>) -> String {
        if !b.contains(where: { $0 >= 0x80 }) { return String(decoding: b, as: UTF8.self) }
        if let s = String(validating: b, as: UTF8.self) { return s }
        return SpecificCharacterSet(terms: ["ISO_IR 100"]).decode(b)
    }

    static func trimsLeading(_ vr: VR) -> Bool {
        switch vr {
        case .AE, .CS, .DS, .IS, .DA, .TM, .DT, .UI, .AS: return true
        default: return false
        }
    }

    static func trim(_ s: String, vr: VR) -> String {
        var sub = Substring(s)
        while let l = sub.last, l == " " || l == "\0" { sub.removeLast() }
        if trimsLeading(vr) { while let f = sub.first, f == " " { sub.removeFirst() } }
        return String(sub)
    }

    static func split(_ s: String, vr: VR) -> [String] {
        if s.isEmpty { return [] }
        guard vr.allowsMultipleStringValues || !vr.isString else { return [trim(s, vr: vr)] }
        return s.split(separator: "\\", omittingEmptySubsequences: false).map { trim(String($0), vr: vr) }
    }

    // MARK: Binary numbers

    /// The `index`-th binary value of type `T` (byte order from the element).
    public func binary<T: FixedWidthInteger>(_ tag: Tag, at index: Int = 0, as: T.Type = T.self) -> T? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        let size = MemoryLayout<T>.size
        guard index >= 0, index <= (b.count / size) - 1 else { return nil }
        let raw = b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * size, as: T.self) }
        return e.isBigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
    }

    /// All binary values of type `T`.
    public func binaries<T: FixedWidthInteger>(_ tag: Tag, as: T.Type = T.self) -> [T]? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        let size = MemoryLayout<T>.size
        let n = b.count / size
        return b.withUnsafeBytes { p in
            (0..<n).map { i in
                let raw = p.loadUnaligned(fromByteOffset: i * size, as: T.self)
                return e.isBigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
            }
        }
    }

    /// US value (PS3.5 Table 6.2-1).
    public func uint16(_ tag: Tag, at index: Int = 0) -> UInt16? { binary(tag, at: index) }
    /// SS value.
    public func int16(_ tag: Tag, at index: Int = 0) -> Int16? { binary(tag, at: index) }
    /// UL value.
    public func uint32(_ tag: Tag, at index: Int = 0) -> UInt32? { binary(tag, at: index) }
    /// SL value.
    public func int32(_ tag: Tag, at index: Int = 0) -> Int32? { binary(tag, at: index) }
    /// UV value.
    public func uint64(_ tag: Tag, at index: Int = 0) -> UInt64? { binary(tag, at: index) }
    /// SV value.
    public func int64(_ tag: Tag, at index: Int = 0) -> Int64? { binary(tag, at: index) }
    /// FL / OF value.
    public func float(_ tag: Tag, at index: Int = 0) -> Float? {
        binary(tag, at: index, as: UInt32.self).map { Float(bitPattern: $0) }
    }
    /// FD / OD value.
    public func double(_ tag: Tag, at index: Int = 0) -> Double? {
        binary(tag, at: index, as: UInt64.self).map { Double(bitPattern: $0) }
    }
    /// AT value (PS3.5 §6.2: group then element, each 16-bit).
    public func attributeTag(_ tag: Tag, at index: Int = 0) -> Tag? {
        guard let g = binary(tag, at: 2 * index, as: UInt16.self),
            let el = binary(tag, at: 2 * index + 1, as: UInt16.self)
        else { return nil }
        return Tag(g, el)
    }

    /// Numeric values of any numeric VR as Double: US SS UL SL UV SV FL FD OF OD
    /// OW OL (binary) and DS IS (decimal strings). Nil for other VRs or bad text.
    public func numbers(_ tag: Tag) -> [Double]? {
        guard let e = self[tag] else { return nil }
        switch e.vr {
        case .US, .OW: return binaries(tag, as: UInt16.self)?.map { Double($0) }
        case .SS: return binaries(tag, as: Int16.self)?.map { Double($0) }
        case .UL, .OL: return binaries(tag, as: UInt32.self)?.map { Double($0) }
        case .SL: return binaries(tag, as: Int32.self)?.map { Double($0) }
        case .UV, .OV: return binaries(tag, as: UInt64.self)?.map { Double($0) }
        case .SV: return binaries(tag, as: Int64.self)?.map { Double($0) }
        case .FL, .OF: return binaries(tag, as: UInt32.self)?.map { Double(Float(bitPattern: $0)) }
        case .FD, .OD: return binaries(tag, as: UInt64.self)?.map { Double(bitPattern: $0) }
        case .DS, .IS:
            guard let parts = strings(tag) else { return nil }
            var out: [Double] = []
            for p in parts {
                guard let d = Double(p) else { return nil }
                out.append(d)
            }
            return out
        default: return nil
        }
    }

    /// Integer value of an IS (integer string) or a binary integer VR.
    public func int(_ tag: Tag, at index: Int = 0) -> Int? {
        guard let e = self[tag] else { return nil }
        switch e.vr {
        case .IS:
            guard let s = strings(tag), index < s.count, index >= 0 else { return nil }
            return Int(s[index])
        case .US: return uint16(tag, at: index).map(Int.init)
        case .SS: return int16(tag, at: index).map(Int.init)
        case .UL: return uint32(tag, at: index).map(Int.init)
        case .SL: return int32(tag, at: index).map(Int.init)
        case .SV: return int64(tag, at: index).map(Int.init)
        case .UV: return uint64(tag, at: index).flatMap { Int(exactly: $0) }
        default: return nil
        }
    }

    /// The sequence items of `tag`, or nil.
    public func items(_ tag: Tag) -> [DataSet]? { self[tag]?.items }

    /// The raw value bytes of `tag` (element's own byte order), or nil.
    public func bytes(_ tag: Tag) -> ArraySlice<UInt8>? {
        guard let e = self[tag], case .bytes(let b) = e.value else { return nil }
        return b
    }

    // MARK: Setters (values stored little endian, padded to even length)

    /// Sets a string value, encoded as UTF-8 (callers using another
    /// character set should encode with `SpecificCharacterSet.encode` and use
    /// `set(_:vr:bytes:)`), padded to even length per VR (PS3.5 §6.2).
    public mutating func set(_ tag: Tag, vr: VR, string: String) {
        var b = Array(string.utf8)
        if b.count & 1 == 1 { b.append(vr.paddingByte) }
        self[tag] = DataElement(tag: tag, vr: vr, bytes: b[...])
    }

    /// Sets a multi-valued string value joined with backslashes.
    public mutating func set(_ tag: Tag, vr: VR, strings: [String]) {
        set(tag, vr: vr, string: strings.joined(separator: "\\"))
    }

    /// Sets raw value bytes (in the given byte order; not padded).
    public mutating func set(_ tag: Tag, vr: VR, bytes: ArraySlice<UInt8>, isBigEndian: Bool = false) {
        self[tag] = DataElement(tag: tag, vr: vr, bytes: bytes, isBigEndian: isBigEndian)
    }

    /// Sets a sequence.
    public mutating func set(_ tag: Tag, items: [DataSet]) {
        self[tag] = DataElement(tag: tag, items: items)
    }

    private mutating func setBinary<T: FixedWidthInteger>(_ tag: Tag, vr: VR, _ values: [T]) {
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        self[tag] = DataElement(tag: tag, vr: vr, bytes: out[...])
    }

    /// Sets US (or OW) values.
    public mutating func set(_ tag: Tag, vr: VR = .US, uint16: UInt16...) { setBinary(tag, vr: vr, uint16) }
    /// Sets US (or OW) values.
    public mutating func set(_ tag: Tag, vr: VR = .US, uint16s: [UInt16]) { setBinary(tag, vr: vr, uint16s) }
    /// Sets SS values.
    public mutating func set(_ tag: Tag, vr: VR = .SS, int16: Int16...) { setBinary(tag, vr: vr, int16) }
    /// Sets UL (or OL) values.
    public mutating func set(_ tag: Tag, vr: VR = .UL, uint32: UInt32...) { setBinary(tag, vr: vr, uint32) }
    /// Sets SL values.
    public mutating func set(_ tag: Tag, vr: VR = .SL, int32: Int32...) { setBinary(tag, vr: vr, int32) }
    /// Sets UV (or OV) values.
    public mutating func set(_ tag: Tag, vr: VR = .UV, uint64: UInt64...) { setBinary(tag, vr: vr, uint64) }
    /// Sets SV values.
    public mutating func set(_ tag: Tag, vr: VR = .SV, int64: Int64...) { setBinary(tag, vr: vr, int64) }
    /// Sets FL (or OF) values.
    public mutating func set(_ tag: Tag, vr: VR = .FL, float: Float...) {
        setBinary(tag, vr: vr, float.map(\.bitPattern))
    }
    /// Sets FD (or OD) values.
    public mutating func set(_ tag: Tag, vr: VR = .FD, double: Double...) {
        setBinary(tag, vr: vr, double.map(\.bitPattern))
    }
    /// Sets AT values.
    public mutating func set(_ tag: Tag, attributeTags: [Tag]) {
        setBinary(tag, vr: .AT, attributeTags.flatMap { [$0.group, $0.element] })
    }
}
