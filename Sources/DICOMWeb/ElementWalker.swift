// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Reads of a stored file through one window of bytes, so that walking element headers costs a
/// read call per window rather than per header.
public final class FileWindow {
    /// Bytes read at a time (more when one value asked for is longer).
    public static let windowSize = 64 * 1024
    public let fileSize: Int
    private let readAt: (_ offset: Int, _ count: Int) throws -> [UInt8]
    private var start = 0
    private var bytes: [UInt8] = []

    /// `read` gives `count` bytes at a file offset (fewer at the end of the file).
    public init(fileSize: Int, read: @escaping (_ offset: Int, _ count: Int) throws -> [UInt8]) {
        self.fileSize = fileSize
        readAt = read
    }

    /// `count` bytes at `offset`; fewer at the end of the file.
    public func read(_ offset: Int, _ count: Int) throws -> ArraySlice<UInt8> {
        guard offset >= 0, count > 0, offset < fileSize else { return [] }
        let wanted = min(count, fileSize - offset)
        if offset >= start, offset + wanted <= start + bytes.count {
            return bytes[(offset - start)..<(offset - start + wanted)]
        }
        bytes = try readAt(offset, max(wanted, Self.windowSize))
        start = offset
        return bytes.prefix(wanted)
    }
}

/// Where one element of a stored data set lies, from its header.
public struct ElementExtent: Sendable, Hashable {
    public var tag: Tag
    /// The explicit VR, or the dictionary's in an implicit syntax; SQ for a sequence of
    /// undefined length (a UN one included, PS3.5 §6.2.2).
    public var vr: VR
    /// The offset of the element's tag.
    public var offset: Int
    /// The offset of its value.
    public var valueOffset: Int
    /// Its value length; nil when undefined (a sequence, or encapsulated items).
    public var length: Int?
    /// The offset just past the element (past its delimitation item when undefined length).
    public var end: Int

    /// Whether the value is bytes of a binary VR (what the JSON model sends as bulk data).
    public var isBinary: Bool {
        switch vr {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return true
        default: return false
        }
    }
}

/// Walks the elements of a stored data set by their headers (PS3.5 §7.1), skipping values by
/// their length, so that a caller reads only the values it needs: the file's other bytes
/// never pass through memory. Undefined lengths are followed through items and delimiters.
public enum ElementWalker {
    /// Deepest sequence nesting followed.
    public static let maxDepth = 64

    /// Calls `visit` with each top-level element from `start` (the data set's first byte) to
    /// the end of the file, in file order, until it returns false.
    public static func walk(
        _ window: FileWindow, from start: Int, explicitVR: Bool, bigEndian: Bool,
        visit: (ElementExtent) throws -> Bool
    ) throws {
        var p = start
        while p < window.fileSize {
            let element = try extent(window, at: p, explicitVR: explicitVR, bigEndian: bigEndian, depth: 0)
            guard try visit(element) else { return }
            p = element.end
        }
    }

    /// The Part 10 header (File Meta Information) of the file, read a window at a time up to
    /// `maxProbe` bytes. Throws ``FrameLocationError`` for a deflated data set, whose elements
    /// are not where the file holds them.
    public static func header(_ window: FileWindow, maxProbe: Int) throws -> DICOMFile.Header {
        var probe = FileWindow.windowSize
        while true {
            let prefix = try window.read(0, probe)
            do {
                let header = try DICOMFile.readHeader(prefix)
                guard !header.transferSyntax.isDeflated else {
                    throw FrameLocationError("the elements of a deflated data set are not located")
                }
                return header
            } catch is DICOMError where prefix.count == probe && probe < maxProbe {
                probe = min(probe * 4, maxProbe)
            }
        }
    }

    /// The top-level element `tag` of the file, nil when it has none (elements are in tag
    /// order, so the walk stops at the first one past it).
    public static func find(_ tag: Tag, in window: FileWindow, maxProbe: Int) throws -> ElementExtent? {
        let header = try header(window, maxProbe: maxProbe)
        let syntax = header.transferSyntax
        var found: ElementExtent?
        try walk(window, from: header.dataSetOffset, explicitVR: syntax.isExplicitVR, bigEndian: syntax.isBigEndian) {
            if $0.tag == tag { found = $0 }
            return $0.tag.value < tag.value
        }
        return found
    }

    /// The element whose header starts at `p`.
    static func extent(_ window: FileWindow, at p: Int, explicitVR: Bool, bigEndian: Bool, depth: Int) throws
        -> ElementExtent
    {
        let h = Array(try window.read(p, 12))
        guard h.count >= 8 else { throw FrameLocationError("the file ends inside an element header at \(p)") }
        let tag = Tag(FrameLocator.word(h, 0, bigEndian), FrameLocator.word(h, 2, bigEndian))
        var vr: VR
        let length: UInt32
        let headerLength: Int
        if explicitVR && tag.group != 0xFFFE {
            guard let v = VR(byte0: h[4], byte1: h[5]) else {
                throw FrameLocationError("no valid VR for \(tag) at \(p)")
            }
            vr = v
            if v.hasLongExplicitLength {
                guard h.count == 12 else { throw FrameLocationError("the file ends inside an element header at \(p)") }
                length = FrameLocator.dword(h, 8, bigEndian)
                headerLength = 12
            } else {
                length = UInt32(FrameLocator.word(h, 6, bigEndian))
                headerLength = 8
            }
        } else {
            vr = DataDictionary.implicitVR(for: tag)
            length = FrameLocator.dword(h, 4, bigEndian)
            headerLength = 8
        }
        let valueOffset = p + headerLength
        guard length == 0xFFFF_FFFF else {
            let end = valueOffset + Int(length)
            guard end <= window.fileSize else { throw FrameLocationError("\(tag) runs past the end of the file") }
            return ElementExtent(
                tag: tag, vr: vr, offset: p, valueOffset: valueOffset, length: Int(length), end: end)
        }
        guard depth < maxDepth else { throw FrameLocationError("sequences nested too deeply") }
        let end: Int
        if vr == .SQ || vr == .UN || (!explicitVR && tag != .pixelData) {
            // UN of undefined length holds Implicit VR Little Endian items (PS3.5 §6.2.2).
            let unknown = vr == .UN
            end = try sequenceEnd(
                window, from: valueOffset, explicitVR: unknown ? false : explicitVR,
                bigEndian: unknown ? false : bigEndian, depth: depth + 1)
            vr = .SQ
        } else {
            end =
                try FrameLocator.walkItems(from: valueOffset, fileSize: window.fileSize) { offset, count in
                    Array(try window.read(offset, count))
                }.last.map { $0.value.upperBound + 8 } ?? valueOffset + 8
        }
        return ElementExtent(tag: tag, vr: vr, offset: p, valueOffset: valueOffset, length: nil, end: end)
    }

    /// The offset past the Sequence Delimitation Item of the sequence whose items start at `p`.
    private static func sequenceEnd(
        _ window: FileWindow, from start: Int, explicitVR: Bool, bigEndian: Bool, depth: Int
    )
        throws -> Int
    {
        var p = start
        while true {
            let h = Array(try window.read(p, 8))
            guard h.count == 8 else { throw FrameLocationError("a sequence ends without its delimitation item") }
            let tag = Tag(FrameLocator.word(h, 0, bigEndian), FrameLocator.word(h, 2, bigEndian))
            let length = FrameLocator.dword(h, 4, bigEndian)
            if tag == .sequenceDelimitationItem { return p + 8 }
            guard tag == .item else { throw FrameLocationError("a sequence holds something other than items at \(p)") }
            if length != 0xFFFF_FFFF {
                p += 8 + Int(length)
                guard p <= window.fileSize else { throw FrameLocationError("an item runs past the end of the file") }
                continue
            }
            // An item of undefined length: its elements up to the Item Delimitation Item.
            p += 8
            while true {
                let next = Array(try window.read(p, 4))
                guard next.count == 4 else { throw FrameLocationError("an item ends without its delimitation item") }
                if Tag(FrameLocator.word(next, 0, bigEndian), FrameLocator.word(next, 2, bigEndian))
                    == .itemDelimitationItem
                {
                    p += 8
                    break
                }
                p = try extent(window, at: p, explicitVR: explicitVR, bigEndian: bigEndian, depth: depth).end
            }
        }
    }
}
