// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Why the frames of an instance cannot be located.
public struct FrameLocationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The image attributes that size a native frame (PS3.3 C.7.6.3, C.7.6.6).
public struct ImagePixelDescription: Sendable, Hashable {
    public var rows: Int
    public var columns: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    public var numberOfFrames: Int
    /// YBR_FULL_422 stores two samples per pixel's worth of bytes (PS3.3 C.7.6.3.1.2).
    public var isSubsampled422: Bool

    public init(
        rows: Int, columns: Int, samplesPerPixel: Int, bitsAllocated: Int, numberOfFrames: Int,
        isSubsampled422: Bool = false
    ) {
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samplesPerPixel
        self.bitsAllocated = bitsAllocated
        self.numberOfFrames = numberOfFrames
        self.isSubsampled422 = isSubsampled422
    }

    /// The description from a data set (Number of Frames 1 when absent); nil without Rows,
    /// Columns or Bits Allocated.
    public init?(_ ds: DataSet) {
        guard let rows = ds.int(Tag(0x0028, 0x0010)), let columns = ds.int(Tag(0x0028, 0x0011)),
            let bits = ds.int(Tag(0x0028, 0x0100))
        else { return nil }
        let photometric = ds.string(Tag(0x0028, 0x0004)) ?? ""
        self.init(
            rows: rows, columns: columns, samplesPerPixel: ds.int(Tag(0x0028, 0x0002)) ?? 1,
            bitsAllocated: bits, numberOfFrames: max(1, ds.int(Tag(0x0028, 0x0008)) ?? 1),
            isSubsampled422: photometric == "YBR_FULL_422")
    }

    /// Bytes of one native frame; nil when a frame does not end on a byte boundary or the
    /// values are out of range.
    public var nativeFrameLength: Int? {
        guard rows > 0, columns > 0, samplesPerPixel > 0, bitsAllocated > 0, rows <= 65535, columns <= 65535,
            samplesPerPixel <= 4, bitsAllocated <= 64
        else { return nil }
        var bits = rows * columns * samplesPerPixel * bitsAllocated
        if isSubsampled422 { bits = bits / 3 * 2 }
        guard bits % 8 == 0 || numberOfFrames == 1 else { return nil }
        return (bits + 7) / 8
    }
}

/// Where each frame of Pixel Data lies in a stored file: byte ranges the response can send
/// straight from the file (PS3.18 §10.4 frames), computed from element and item headers only.
/// Pure: the caller supplies reads of the file (page cache) through `read`.
public enum FrameLocator {
    /// Most encapsulated items walked for one instance.
    public static let maxFragments = 1 << 20

    /// The frames' byte ranges (file offsets), frame 1 first; an encapsulated frame may be several
    /// ranges (its fragments).
    /// - Parameters:
    ///   - header: the data set up to Pixel Data (for the image attributes and the Extended
    ///     Offset Table).
    ///   - pixelDataOffset: the file offset of the (7FE0,0010) element's tag.
    ///   - fileSize: the file's length.
    ///   - read: `count` bytes at a file offset (throws or returns fewer at the end of the file).
    public static func frames(
        header: DataSet, transferSyntax: TransferSyntax, pixelDataOffset: Int, fileSize: Int,
        read: (_ offset: Int, _ count: Int) throws -> [UInt8]
    ) throws -> [[Range<Int>]] {
        guard let image = ImagePixelDescription(header) else {
            throw FrameLocationError("not an image: no Rows, Columns or Bits Allocated")
        }
        let explicit = transferSyntax.isExplicitVR
        let big = transferSyntax.isBigEndian
        let headerLength = explicit ? 12 : 8
        let h = try read(pixelDataOffset, headerLength)
        guard h.count == headerLength else {
            throw FrameLocationError("file ends inside the Pixel Data element header")
        }
        let tag = Tag(word(h, 0, big), word(h, 2, big))
        guard tag == .pixelData else { throw FrameLocationError("no Pixel Data element where the header ends") }
        if explicit {
            guard h[4] == 0x4F, h[5] == 0x42 || h[5] == 0x57 else {
                throw FrameLocationError("Pixel Data with a VR other than OB or OW")
            }
        }
        let length = dword(h, headerLength - 4, big)
        let valueOffset = pixelDataOffset + headerLength
        if length == 0xFFFF_FFFF {
            guard transferSyntax.isEncapsulated else {
                throw FrameLocationError("undefined length Pixel Data in a native syntax")
            }
            let items = try walkItems(from: valueOffset, fileSize: fileSize, read: read)
            let extended = header[Tag(0x7FE0, 0x0001)].map { Array($0.bytes) }
            return try encapsulatedFrames(
                items: items, numberOfFrames: image.numberOfFrames, extendedOffsets: extended,
                read: read)
        }
        guard !transferSyntax.isEncapsulated else {
            throw FrameLocationError("defined length Pixel Data in an encapsulated syntax")
        }
        guard valueOffset + Int(length) <= fileSize else {
            throw FrameLocationError("Pixel Data runs past the end of the file")
        }
        return try nativeFrames(valueOffset: valueOffset, valueLength: Int(length), image: image).map { [$0] }
    }

    /// Native frames: consecutive slices of the Pixel Data value, `nativeFrameLength` each.
    public static func nativeFrames(valueOffset: Int, valueLength: Int, image: ImagePixelDescription) throws -> [Range<
        Int
    >] {
        guard let frame = image.nativeFrameLength else {
            throw FrameLocationError("frames do not fall on byte boundaries")
        }
        let (total, overflow) = frame.multipliedReportingOverflow(by: image.numberOfFrames)
        guard !overflow, total <= valueLength else { throw FrameLocationError("Pixel Data shorter than its frames") }
        return (0..<image.numberOfFrames).map { valueOffset + $0 * frame..<valueOffset + ($0 + 1) * frame }
    }

    /// An encapsulated item: the offset of its tag and its value's range.
    public struct Item: Sendable, Hashable {
        public var itemOffset: Int
        public var value: Range<Int>
    }

    /// The items of encapsulated Pixel Data (PS3.5 A.4), the Basic Offset Table first.
    public static func walkItems(from start: Int, fileSize: Int, read: (Int, Int) throws -> [UInt8]) throws -> [Item] {
        var items: [Item] = []
        var p = start
        while true {
            let h = try read(p, 8)
            guard h.count == 8 else {
                throw FrameLocationError("encapsulated Pixel Data ends without a Sequence Delimitation Item")
            }
            let tag = Tag(word(h, 0, false), word(h, 2, false))
            if tag == .sequenceDelimitationItem { break }
            guard tag == .item else {
                throw FrameLocationError("encapsulated Pixel Data holds something other than items")
            }
            let length = Int(dword(h, 4, false))
            guard length != 0xFFFF_FFFF, p + 8 + length <= fileSize else {
                throw FrameLocationError("an item runs past the end of the file")
            }
            items.append(Item(itemOffset: p, value: p + 8..<p + 8 + length))
            guard items.count <= maxFragments else { throw FrameLocationError("too many fragments") }
            p += 8 + length
        }
        guard !items.isEmpty else {
            throw FrameLocationError("encapsulated Pixel Data without a Basic Offset Table item")
        }
        return items
    }

    /// Groups fragments into frames: by the Extended Offset Table or the Basic Offset Table when
    /// present, one fragment per frame when the counts agree, all fragments for a single frame,
    /// otherwise by the start of a JPEG family codestream (SOI FFD8, J2K SOC FF4F) in a fragment.
    public static func encapsulatedFrames(
        items: [Item], numberOfFrames: Int, extendedOffsets: [UInt8]?,
        read: (Int, Int) throws -> [UInt8]
    ) throws -> [[Range<Int>]] {
        let fragments = Array(items.dropFirst())
        guard !fragments.isEmpty else { throw FrameLocationError("no fragments") }
        let first = fragments[0].itemOffset
        var offsets: [Int] = []
        if let ext = extendedOffsets, !ext.isEmpty {
            guard ext.count % 8 == 0 else {
                throw FrameLocationError("Extended Offset Table not a multiple of 8 bytes")
            }
            for i in stride(from: 0, to: ext.count, by: 8) {
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(ext[i + k]) << UInt64(8 * k) }
                offsets.append(Int(truncatingIfNeeded: v))
            }
        } else if items[0].value.count >= 4 {
            let bot = try read(items[0].value.lowerBound, items[0].value.count)
            guard bot.count == items[0].value.count, bot.count % 4 == 0 else {
                throw FrameLocationError("Basic Offset Table unreadable")
            }
            offsets = stride(from: 0, to: bot.count, by: 4).map { Int(dword(bot, $0, false)) }
        }
        if !offsets.isEmpty {
            guard offsets.count == numberOfFrames, offsets.first == 0,
                zip(offsets, offsets.dropFirst()).allSatisfy({ $0 < $1 })
            else {
                throw FrameLocationError("offset table does not match Number of Frames")
            }
            var frames: [[Range<Int>]] = Array(repeating: [], count: numberOfFrames)
            var f = 0
            for fragment in fragments {
                let rel = fragment.itemOffset - first
                while f + 1 < offsets.count && rel >= offsets[f + 1] { f += 1 }
                guard rel >= offsets[f] else { throw FrameLocationError("offset table points inside an item") }
                frames[f].append(fragment.value)
            }
            guard frames.allSatisfy({ !$0.isEmpty }) else {
                throw FrameLocationError("offset table points inside an item")
            }
            return frames
        }
        if numberOfFrames == 1 { return [fragments.map(\.value)] }
        if fragments.count == numberOfFrames { return fragments.map { [$0.value] } }
        var frames: [[Range<Int>]] = []
        for fragment in fragments {
            let start = fragment.value.count >= 2 ? try read(fragment.value.lowerBound, 2) : []
            let opens = start == [0xFF, 0xD8] || start == [0xFF, 0x4F]
            if opens || frames.isEmpty {
                frames.append([fragment.value])
            } else {
                frames[frames.count - 1].append(fragment.value)
            }
        }
        guard frames.count == numberOfFrames else {
            throw FrameLocationError("cannot tell where frames start (no offset table)")
        }
        return frames
    }

    static func word(_ b: [UInt8], _ i: Int, _ big: Bool) -> UInt16 {
        big ? UInt16(b[i]) << 8 | UInt16(b[i + 1]) : UInt16(b[i + 1]) << 8 | UInt16(b[i])
    }

    static func dword(_ b: [UInt8], _ i: Int, _ big: Bool) -> UInt32 {
        big
            ? UInt32(word(b, i, true)) << 16 | UInt32(word(b, i + 2, true))
            : UInt32(word(b, i + 2, false)) << 16 | UInt32(word(b, i, false))
    }
}

/// The frames of a stored Part 10 file, located from its first bytes.
public struct StoredFrames: Sendable {
    public var transferSyntax: TransferSyntax
    /// The data set up to Pixel Data.
    public var header: DataSet
    /// Each frame's byte ranges in the file.
    public var frames: [[Range<Int>]]

    /// Locates the frames of a file whose first bytes are `prefix` (at least up to the Pixel
    /// Data element; a prefix cut before it throws, and the caller may retry with more).
    public init(prefix: ArraySlice<UInt8>, fileSize: Int, read: (Int, Int) throws -> [UInt8]) throws {
        let file = try DICOMFile(bytes: prefix, options: .init(stopBeforePixelData: true))
        guard !file.transferSyntax.isDeflated else {
            throw FrameLocationError("frames of a deflated data set are not located")
        }
        guard let at = file.pixelDataOffset else {
            // A prefix ending between elements reads as a whole data set without Pixel Data.
            if prefix.count < fileSize { throw DICOMError.invalidFile("header longer than the bytes read") }
            throw FrameLocationError("no Pixel Data")
        }
        transferSyntax = file.transferSyntax
        header = file.dataSet
        frames = try FrameLocator.frames(
            header: file.dataSet, transferSyntax: file.transferSyntax,
            pixelDataOffset: at, fileSize: fileSize, read: read)
    }
}
