// SPDX-License-Identifier: Apache-2.0
/// Whether a stored data set is structurally whole, checked cheaply before it is sent unchanged:
/// its top-level elements, read by header only (tag, VR, length; values skipped), must end exactly
/// at the end of the file, and every element must look like one (PS3.5 §7.1).
///
/// Only element headers are read, through the caller's positional reader, so a data set of any
/// size costs a read per element header that is not near the one before (a page or so each):
/// Pixel Data's value is skipped, not read. Sequences and items of undefined length are walked to
/// their delimiters (PS3.5 §7.5); encapsulated Pixel Data must be a run of items ending with a
/// Sequence Delimitation Item (PS3.5 §A.4). Defined-length sequences are skipped whole.
///
/// What is rejected, besides a value or a header running past the end:
/// - tags no data set can hold: group 0000, odd groups below 0008 and group FFFF (PS3.5 §7.1),
///   and item or delimiter tags (group FFFE) where an element is due;
/// - an unknown VR code (explicit VR syntaxes);
/// - a length that is not a whole number of values for the binary VRs of fixed value size
///   (US, UL, FD, OW, …; explicit VR syntaxes), and undefined length for a VR that cannot have it;
/// - sequences nested deeper than ``maxDepth``.
/// Bytes that are not DICOM (random data read as Implicit VR Little Endian) fail almost at once:
/// a 32-bit length drawn at random rarely fits in what is left of the file.
public enum DataSetStructureCheck {
    /// The outcome of a check.
    public enum Verdict: Sendable, Equatable, CustomStringConvertible {
        /// Every element fits and the last one ends at the end of the file.
        case whole
        /// The structure breaks at `offset` (of the file, or of the bytes checked) for `reason`.
        case damaged(offset: Int, reason: String)

        public var description: String {
            switch self {
            case .whole: return "whole"
            case .damaged(let offset, let reason): return "\(reason) (offset \(offset))"
            }
        }
    }

    /// Sequences nested deeper than this are taken as damage (the reader's default limit).
    public static let maxDepth = 64
    /// Bytes read at a time from the file: one page, which usually holds several element headers.
    public static let readSize = 4096

    /// Checks the data set at `start..<end` of a file in `transferSyntax`, reading element headers
    /// through `read(offset, count)`, which returns up to `count` bytes at `offset` (fewer only
    /// where the file ends). Errors of `read` (I/O) are thrown; damage is the verdict.
    ///
    /// A deflated data set cannot be walked by header: its verdict comes from inflating it
    /// (``check(_:transferSyntax:maxInflatedSize:)``), so callers hand such files over whole.
    public static func check(
        from start: Int, to end: Int, transferSyntax: TransferSyntax,
        read: (_ offset: Int, _ count: Int) throws -> ArraySlice<UInt8>
    ) throws -> Verdict {
        precondition(!transferSyntax.isDeflated, "a deflated data set is checked inflated, in memory")
        return try withoutActuallyEscaping(read) { read in
            var walker = Walker(
                end: end, explicit: transferSyntax.isExplicitVR, bigEndian: transferSyntax.isBigEndian,
                read: read)
            do {
                try walker.elements(from: start, depth: 0)
                return .whole
            } catch let damage as Damage {
                return .damaged(offset: damage.offset, reason: damage.reason)
            }
        }
    }

    /// Checks a data set held in memory (offsets in the verdict are indices of `bytes`). A
    /// deflated one is inflated first, at most `maxInflatedSize` bytes, and its inflated bytes
    /// are checked as Explicit VR Little Endian (offsets then count in the inflated stream).
    public static func check(
        _ bytes: ArraySlice<UInt8>, transferSyntax: TransferSyntax,
        maxInflatedSize: Int = 1 << 30
    ) -> Verdict {
        if transferSyntax.isDeflated {
            let inflated: [UInt8]
            do {
                inflated = try Deflate.inflate(bytes, maxOutput: maxInflatedSize)
            } catch {
                return .damaged(offset: bytes.startIndex, reason: "the deflated data set does not inflate: \(error)")
            }
            return check(inflated[...], transferSyntax: .explicitVRLittleEndian)
        }
        let verdict = try? check(from: bytes.startIndex, to: bytes.endIndex, transferSyntax: transferSyntax) {
            offset, count in
            bytes[offset..<min(bytes.endIndex, offset + count)]
        }
        return verdict ?? .damaged(offset: bytes.startIndex, reason: "unreadable")
    }

    private struct Damage: Error {
        var offset: Int
        var reason: String
    }

    private struct Header {
        var tag: Tag
        var vr: VR
        var length: UInt32
        var size: Int
        var valueStart: Int
    }

    private static let undefinedLength: UInt32 = 0xFFFF_FFFF
    private static let item = Tag(0xFFFE, 0xE000)
    private static let itemDelimiter = Tag(0xFFFE, 0xE00D)
    private static let sequenceDelimiter = Tag(0xFFFE, 0xE0DD)

    private struct Walker {
        let end: Int
        let explicit: Bool
        let bigEndian: Bool
        let read: (Int, Int) throws -> ArraySlice<UInt8>
        /// The bytes last read, from file offset `windowStart`.
        var window: [UInt8] = []
        var windowStart = 0

        init(end: Int, explicit: Bool, bigEndian: Bool, read: @escaping (Int, Int) throws -> ArraySlice<UInt8>) {
            self.end = end
            self.explicit = explicit
            self.bigEndian = bigEndian
            self.read = read
        }

        /// Elements from `start` to the end of the file (depth 0), or to the Item Delimitation
        /// Item that closes an item of undefined length; returns the offset after it.
        @discardableResult
        mutating func elements(
            from start: Int, depth: Int, explicit itemExplicit: Bool? = nil,
            bigEndian itemBigEndian: Bool? = nil
        ) throws -> Int {
            let explicit = itemExplicit ?? self.explicit
            let bigEndian = itemBigEndian ?? self.bigEndian
            var pos = start
            while true {
                if pos == end {
                    if depth == 0 { return pos }
                    throw Damage(offset: pos, reason: "the file ends inside an item of undefined length")
                }
                let header = try self.header(at: pos, explicit: explicit, bigEndian: bigEndian)
                if header.tag == DataSetStructureCheck.itemDelimiter, depth > 0 {
                    return header.valueStart
                }
                try Self.checkPlausible(header, at: pos, explicit: explicit)
                pos = try skipValue(header, at: pos, depth: depth, explicit: explicit, bigEndian: bigEndian)
            }
        }

        /// The offset after `header`'s value.
        mutating func skipValue(_ header: Header, at pos: Int, depth: Int, explicit: Bool, bigEndian: Bool) throws
            -> Int
        {
            guard header.length == DataSetStructureCheck.undefinedLength else {
                let remaining = end - header.valueStart
                guard Int(header.length) <= remaining else {
                    throw Damage(
                        offset: pos,
                        reason: "element \(header.tag) declares \(header.length) bytes, "
                            + "only \(remaining) remain in the file")
                }
                return header.valueStart + Int(header.length)
            }
            guard depth < DataSetStructureCheck.maxDepth else {
                throw Damage(offset: pos, reason: "sequences nested deeper than \(DataSetStructureCheck.maxDepth)")
            }
            if header.vr == .SQ || header.vr == .UN || (!explicit && header.tag != .pixelData) {
                // UN of undefined length holds an Implicit VR Little Endian sequence (PS3.5 §6.2.2).
                let unknown = header.vr == .UN
                return try sequence(
                    from: header.valueStart, depth: depth + 1,
                    explicit: unknown ? false : explicit, bigEndian: unknown ? false : bigEndian)
            }
            if header.vr == .OB || header.vr == .OW || header.tag == .pixelData {
                return try fragments(from: header.valueStart, of: header.tag)
            }
            throw Damage(offset: pos, reason: "element \(header.tag) (\(header.vr)) has undefined length")
        }

        /// Items up to and including the Sequence Delimitation Item.
        mutating func sequence(from start: Int, depth: Int, explicit: Bool, bigEndian: Bool) throws -> Int {
            var pos = start
            while true {
                guard pos < end else {
                    throw Damage(offset: pos, reason: "the file ends inside a sequence of undefined length")
                }
                let (tag, length) = try itemHeader(at: pos, bigEndian: bigEndian)
                let valueStart = pos + 8
                switch tag {
                case DataSetStructureCheck.sequenceDelimiter:
                    return valueStart
                case DataSetStructureCheck.item where length == DataSetStructureCheck.undefinedLength:
                    pos = try elements(from: valueStart, depth: depth, explicit: explicit, bigEndian: bigEndian)
                case DataSetStructureCheck.item:
                    guard Int(length) <= end - valueStart else {
                        throw Damage(
                            offset: pos, reason: "an item declares \(length) bytes, only \(end - valueStart) remain")
                    }
                    pos = valueStart + Int(length)
                default:
                    throw Damage(offset: pos, reason: "\(tag) where a sequence item or its delimiter is due")
                }
            }
        }

        /// Encapsulated pixel data: items of defined length, then the Sequence Delimitation Item.
        mutating func fragments(from start: Int, of tag: Tag) throws -> Int {
            var pos = start
            while true {
                guard pos < end else {
                    throw Damage(
                        offset: pos,
                        reason: "encapsulated \(tag) has no Sequence Delimitation Item before the end of the file")
                }
                // Encapsulated data is little endian (PS3.5 §A.4).
                let (itemTag, length) = try itemHeader(at: pos, bigEndian: false)
                let valueStart = pos + 8
                if itemTag == DataSetStructureCheck.sequenceDelimiter { return valueStart }
                guard itemTag == DataSetStructureCheck.item, length != DataSetStructureCheck.undefinedLength else {
                    throw Damage(offset: pos, reason: "\(itemTag) where a fragment of encapsulated \(tag) is due")
                }
                guard Int(length) <= end - valueStart else {
                    throw Damage(
                        offset: pos,
                        reason: "a fragment of \(tag) declares \(length) bytes, only \(end - valueStart) remain")
                }
                pos = valueStart + Int(length)
            }
        }

        /// An item or delimiter header: tag and 32-bit length, never a VR (PS3.5 §7.5).
        mutating func itemHeader(at pos: Int, bigEndian: Bool) throws -> (Tag, UInt32) {
            let b = try bytes(at: pos, count: 8, what: "an item header")
            let s = b.startIndex
            let tag = Tag(Self.u16(b, s, bigEndian), Self.u16(b, s + 2, bigEndian))
            let length = Self.u32(b, s + 4, bigEndian)
            if tag == DataSetStructureCheck.sequenceDelimiter || tag == DataSetStructureCheck.itemDelimiter, length != 0
            {
                throw Damage(offset: pos, reason: "\(tag) with length \(length), not 0")
            }
            return (tag, length)
        }

        mutating func header(at pos: Int, explicit: Bool, bigEndian: Bool) throws -> Header {
            let b = try bytes(at: pos, count: 8, what: "an element header")
            let s = b.startIndex
            let tag = Tag(Self.u16(b, s, bigEndian), Self.u16(b, s + 2, bigEndian))
            if tag.group == 0xFFFE {
                // Item delimiters carry no VR, even in explicit VR syntaxes.
                return Header(tag: tag, vr: .UN, length: Self.u32(b, s + 4, bigEndian), size: 8, valueStart: pos + 8)
            }
            guard explicit else {
                return Header(
                    tag: tag, vr: DataDictionary.implicitVR(for: tag), length: Self.u32(b, s + 4, bigEndian),
                    size: 8, valueStart: pos + 8)
            }
            guard let vr = VR(byte0: b[s + 4], byte1: b[s + 5]) else {
                throw Damage(offset: pos, reason: "element \(tag) has no valid VR (bytes \(b[s + 4]), \(b[s + 5]))")
            }
            guard vr.hasLongExplicitLength else {
                return Header(
                    tag: tag, vr: vr, length: UInt32(Self.u16(b, s + 6, bigEndian)), size: 8, valueStart: pos + 8)
            }
            let long = try bytes(at: pos, count: 12, what: "an element header")
            return Header(
                tag: tag, vr: vr, length: Self.u32(long, long.startIndex + 8, bigEndian), size: 12,
                valueStart: pos + 12)
        }

        /// The value-size rule applies only where the VR is in the file: in Implicit VR the
        /// dictionary's VR is a guess that a vendor's use of the tag may not match.
        static func checkPlausible(_ header: Header, at pos: Int, explicit: Bool) throws {
            let group = header.tag.group
            if group == 0xFFFE {
                throw Damage(offset: pos, reason: "\(header.tag) where a data element is due")
            }
            if group == 0x0000 || group == 0xFFFF || (group < 0x0008 && group & 1 == 1) {
                throw Damage(offset: pos, reason: "element \(header.tag) has a group no data set can hold")
            }
            let unit = header.vr.byteSwapUnit
            if explicit, header.length != DataSetStructureCheck.undefinedLength, unit > 1,
                Int(header.length) % unit != 0
            {
                throw Damage(
                    offset: pos,
                    reason: "element \(header.tag) (\(header.vr)) has length \(header.length), "
                        + "not a multiple of \(unit)")
            }
        }

        /// `count` bytes at `pos`, from the window or a new read of ``DataSetStructureCheck/readSize``.
        mutating func bytes(at pos: Int, count: Int, what: String) throws -> ArraySlice<UInt8> {
            guard count <= end - pos else {
                throw Damage(offset: pos, reason: "the file ends inside \(what)")
            }
            if pos >= windowStart, pos + count <= windowStart + window.count {
                return window[(pos - windowStart)..<(pos - windowStart + count)]
            }
            window = Array(try read(pos, min(end - pos, max(count, DataSetStructureCheck.readSize))))
            windowStart = pos
            guard window.count >= count else {
                throw Damage(
                    offset: pos, reason: "the file ends inside \(what) (it is shorter than when it was opened)")
            }
            return window[0..<count]
        }

        static func u16(_ b: ArraySlice<UInt8>, _ i: Int, _ bigEndian: Bool) -> UInt16 {
            let lo = UInt16(b[i])
            let hi = UInt16(b[i + 1])
            return bigEndian ? lo << 8 | hi : hi << 8 | lo
        }

        static func u32(_ b: ArraySlice<UInt8>, _ i: Int, _ bigEndian: Bool) -> UInt32 {
            let v = (UInt32(b[i]), UInt32(b[i + 1]), UInt32(b[i + 2]), UInt32(b[i + 3]))
            return bigEndian ? v.0 << 24 | v.1 << 16 | v.2 << 8 | v.3 : v.3 << 24 | v.2 << 16 | v.1 << 8 | v.0
        }
    }
}
