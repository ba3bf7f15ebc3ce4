// SPDX-License-Identifier: Apache-2.0
/// Reads data sets encoded in a transfer syntax (PS3.5 §7).
///
/// Values are slices of the input (no copy) except for deflated input,
/// whose values are slices of the inflated buffer. Malformed input throws a
/// `DICOMError`; every length is checked against the bytes available before use.
public enum DataSetReader {
    /// Reading options.
    public struct Options: Sendable {
        /// Stop before (7FE0,0010) Pixel Data at the top level (for indexing).
        public var stopBeforePixelData: Bool
        /// Maximum sequence nesting depth.
        public var maxDepth: Int
        /// Maximum inflated size of a deflated data set (default 1 GiB).
        public var maxInflatedSize: Int

        /// Creates options.
        public init(stopBeforePixelData: Bool = false, maxDepth: Int = 64, maxInflatedSize: Int = 1 << 30) {
            self.stopBeforePixelData = stopBeforePixelData
            self.maxDepth = maxDepth
            self.maxInflatedSize = maxInflatedSize
        }
    }

    /// Result of a read.
    public struct Result: Sendable {
        /// The data set read.
        public var dataSet: DataSet
        /// Offset (from the start of the input; into the inflated stream when
        /// deflated) of the Pixel Data element when reading stopped before it.
        public var pixelDataOffset: Int?
    }

    /// Reads a whole data set in `transferSyntax` (deflated ones are inflated first).
    public static func read(
        _ bytes: ArraySlice<UInt8>, transferSyntax: TransferSyntax,
        options: Options = Options()
    ) throws -> DataSet {
        try readResult(bytes, transferSyntax: transferSyntax, options: options).dataSet
    }

    /// Reads a whole data set, reporting where it stopped for `stopBeforePixelData`.
    public static func readResult(
        _ bytes: ArraySlice<UInt8>, transferSyntax: TransferSyntax,
        options: Options = Options()
    ) throws -> Result {
        if transferSyntax.isDeflated {
            let inflated = try Deflate.inflate(bytes, maxOutput: options.maxInflatedSize)
            return try readResult(inflated[...], transferSyntax: .explicitVRLittleEndian, options: options)
        }
        return try read(
            bytes, explicit: transferSyntax.isExplicitVR, bigEndian: transferSyntax.isBigEndian,
            options: options, onlyGroup: nil)
    }

    /// Internal entry: parses top-level elements; with `onlyGroup`, stops at the
    /// first element of another group (`pixelDataOffset` then holds that offset).
    static func read(
        _ bytes: ArraySlice<UInt8>, explicit: Bool, bigEndian: Bool, options: Options,
        onlyGroup: UInt16?
    ) throws -> Result {
        try bytes.withUnsafeBytes { raw in
            var p = Parser(raw: raw, source: bytes, options: options, onlyGroup: onlyGroup)
            let (ds, _) = try p.dataSet(
                from: 0, end: raw.count, explicit: explicit, be: bigEndian,
                untilItemDelimiter: false, depth: 0)
            return Result(dataSet: ds, pixelDataOffset: p.stoppedAt)
        }
    }
}

private struct Parser {
    let raw: UnsafeRawBufferPointer
    let source: ArraySlice<UInt8>
    let options: DataSetReader.Options
    let onlyGroup: UInt16?
    var stoppedAt: Int? = nil

    init(raw: UnsafeRawBufferPointer, source: ArraySlice<UInt8>, options: DataSetReader.Options, onlyGroup: UInt16?) {
        self.raw = raw
        self.source = source
        self.options = options
        self.onlyGroup = onlyGroup
    }

    @inline(__always) func u16(_ o: Int, _ be: Bool) -> UInt16 {
        let v = raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)
        return be ? UInt16(bigEndian: v) : UInt16(littleEndian: v)
    }

    @inline(__always) func u32(_ o: Int, _ be: Bool) -> UInt32 {
        let v = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return be ? UInt32(bigEndian: v) : UInt32(littleEndian: v)
    }

    @inline(__always) func slice(_ o: Int, _ n: Int) -> ArraySlice<UInt8> {
        let s = source.startIndex + o
        return source[s..<(s + n)]
    }

    /// Parses elements from `pos` up to `end`, or up to an Item Delimitation Item.
    /// Returns the data set and the offset after it (after the delimiter).
    mutating func dataSet(
        from start: Int, end: Int, explicit: Bool, be: Bool,
        untilItemDelimiter: Bool, depth: Int
    ) throws -> (DataSet, Int) {
        var elements: [DataElement] = []
        var sorted = true
        var lastTag: UInt32 = 0
        var pos = start
        while true {
            if pos >= end {
                if untilItemDelimiter {
                    throw DICOMError.truncated(
                        offset: pos, needed: 8, available: max(0, end - pos),
                        context: "item without Item Delimitation Item")
                }
                break
            }
            guard end - pos >= 8 else {
                throw DICOMError.truncated(offset: pos, needed: 8, available: end - pos, context: "element header")
            }
            let group = u16(pos, be)
            let element = u16(pos + 2, be)
            let tag = Tag(group, element)
            if group == 0xFFFE {
                if element == 0xE00D {
                    if untilItemDelimiter { return (make(elements, sorted), pos + 8) }
                    if depth > 0 {
                        pos += 8
                        continue
                    }  // stray delimiter in a defined-length item: tolerate
                }
                throw DICOMError.unexpectedDelimiter(tag: tag, offset: pos)
            }
            if depth == 0 {
                if let g = onlyGroup, group != g {
                    stoppedAt = pos
                    break
                }
                if options.stopBeforePixelData, tag == .pixelData {
                    stoppedAt = pos
                    break
                }
            }
            var vr: VR
            let length: UInt32
            let header: Int
            if explicit {
                let b0 = raw[pos + 4]
                let b1 = raw[pos + 5]
                guard let v = VR(byte0: b0, byte1: b1) else {
                    throw DICOMError.invalidVR(tag: tag, offset: pos, byte0: b0, byte1: b1)
                }
                vr = v
                if v.hasLongExplicitLength {
                    guard end - pos >= 12 else {
                        throw DICOMError.truncated(
                            offset: pos, needed: 12, available: end - pos, context: "element header")
                    }
                    length = u32(pos + 8, be)
                    header = 12
                } else {
                    length = UInt32(u16(pos + 6, be))
                    header = 8
                }
            } else {
                length = u32(pos + 4, be)
                header = 8
                vr = DataDictionary.implicitVR(for: tag)
            }
            let valueStart = pos + header
            let value: DataElement.Value
            var elemBE = be
            if length == 0xFFFF_FFFF {
                if depth >= options.maxDepth {
                    throw DICOMError.nestingTooDeep(offset: pos, limit: options.maxDepth)
                }
                if vr == .SQ || vr == .UN || (!explicit && tag != .pixelData) {
                    // UN of undefined length: Implicit VR Little Endian sequence (PS3.5 §6.2.2).
                    let unknown = vr == .UN
                    let (items, next) = try sequence(
                        from: valueStart, end: end,
                        explicit: unknown ? false : explicit,
                        be: unknown ? false : be, definedEnd: nil, depth: depth + 1)
                    if unknown { elemBE = false }
                    vr = .SQ
                    value = .sequence(items)
                    pos = next
                } else if vr == .OB || vr == .OW || tag == .pixelData {
                    let (frags, next) = try fragments(from: valueStart, end: end, be: be)
                    value = .fragments(frags)
                    pos = next
                } else {
                    throw DICOMError.undefinedLengthNotAllowed(tag: tag, vr: vr, offset: pos)
                }
            } else {
                let len = Int(length)
                guard len <= end - valueStart else {
                    throw DICOMError.lengthExceedsRemaining(
                        tag: tag, offset: pos, length: length,
                        remaining: end - valueStart)
                }
                if vr == .SQ {
                    if depth >= options.maxDepth {
                        throw DICOMError.nestingTooDeep(offset: pos, limit: options.maxDepth)
                    }
                    let (items, _) = try sequence(
                        from: valueStart, end: valueStart + len, explicit: explicit, be: be,
                        definedEnd: valueStart + len, depth: depth + 1)
                    value = .sequence(items)
                } else {
                    value = .bytes(slice(valueStart, len))
                }
                pos = valueStart + len
            }
            if tag.value <= lastTag && !elements.isEmpty { sorted = false }
            lastTag = tag.value
            elements.append(DataElement(tag: tag, vr: vr, value: value, isBigEndian: elemBE))
        }
        return (make(elements, sorted), pos)
    }

    func make(_ elements: [DataElement], _ sorted: Bool) -> DataSet {
        sorted ? DataSet(sortedElements: elements) : DataSet(elements)
    }

    /// Parses sequence items (PS3.5 §7.5). `definedEnd` nil: undefined length,
    /// ends with a Sequence Delimitation Item.
    mutating func sequence(
        from start: Int, end: Int, explicit: Bool, be: Bool, definedEnd: Int?,
        depth: Int
    ) throws -> ([DataSet], Int) {
        var items: [DataSet] = []
        var pos = start
        while true {
            if definedEnd != nil, pos >= end { return (items, pos) }
            guard end - pos >= 8 else {
                throw DICOMError.truncated(
                    offset: pos, needed: 8, available: max(0, end - pos),
                    context: "sequence item header")
            }
            let tag = Tag(u16(pos, be), u16(pos + 2, be))
            let length = u32(pos + 4, be)
            if tag == .sequenceDelimitationItem {
                if definedEnd == nil { return (items, pos + 8) }
                pos += 8  // tolerate in a defined-length sequence
                continue
            }
            guard tag == .item else { throw DICOMError.expectedItem(found: tag, offset: pos) }
            if length == 0xFFFF_FFFF {
                let (ds, next) = try dataSet(
                    from: pos + 8, end: end, explicit: explicit, be: be,
                    untilItemDelimiter: true, depth: depth)
                items.append(ds)
                pos = next
            } else {
                let len = Int(length)
                guard len <= end - pos - 8 else {
                    throw DICOMError.lengthExceedsRemaining(
                        tag: tag, offset: pos, length: length,
                        remaining: end - pos - 8)
                }
                let (ds, _) = try dataSet(
                    from: pos + 8, end: pos + 8 + len, explicit: explicit, be: be,
                    untilItemDelimiter: false, depth: depth)
                items.append(ds)
                pos += 8 + len
            }
        }
    }

    /// Parses encapsulated pixel data fragments up to the Sequence Delimitation Item (PS3.5 §A.4).
    func fragments(from start: Int, end: Int, be: Bool) throws -> ([ArraySlice<UInt8>], Int) {
        var out: [ArraySlice<UInt8>] = []
        var pos = start
        while true {
            guard end - pos >= 8 else {
                throw DICOMError.truncated(
                    offset: pos, needed: 8, available: max(0, end - pos),
                    context: "pixel data fragment header")
            }
            let tag = Tag(u16(pos, be), u16(pos + 2, be))
            let length = u32(pos + 4, be)
            if tag == .sequenceDelimitationItem { return (out, pos + 8) }
            guard tag == .item else { throw DICOMError.expectedItem(found: tag, offset: pos) }
            let len = Int(length)
            guard length != 0xFFFF_FFFF, len <= end - pos - 8 else {
                throw DICOMError.lengthExceedsRemaining(tag: tag, offset: pos, length: length, remaining: end - pos - 8)
            }
            out.append(slice(pos + 8, len))
            pos += 8 + len
        }
    }
}
