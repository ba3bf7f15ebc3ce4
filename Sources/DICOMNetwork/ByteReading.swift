// SPDX-License-Identifier: Apache-2.0
/// A cursor over an `ArraySlice<UInt8>` that never traps: every read returns
/// `nil` when not enough bytes remain. The byte order is explicit at each call.
///
/// Slices returned by ``readSlice(_:)`` share storage with the input.
struct ByteReader {
    private(set) var remaining: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.remaining = bytes
    }

    var isEmpty: Bool { remaining.isEmpty }
    var count: Int { remaining.count }

    mutating func readUInt8() -> UInt8? {
        guard let b = remaining.first else { return nil }
        remaining = remaining.dropFirst()
        return b
    }

    mutating func readUInt16BigEndian() -> UInt16? {
        guard remaining.count >= 2 else { return nil }
        let i = remaining.startIndex
        let v = UInt16(remaining[i]) << 8 | UInt16(remaining[i + 1])
        remaining = remaining.dropFirst(2)
        return v
    }

    mutating func readUInt32BigEndian() -> UInt32? {
        guard remaining.count >= 4 else { return nil }
        let v = remaining.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        remaining = remaining.dropFirst(4)
        return v
    }

    mutating func readUInt16LittleEndian() -> UInt16? {
        guard remaining.count >= 2 else { return nil }
        let i = remaining.startIndex
        let v = UInt16(remaining[i]) | UInt16(remaining[i + 1]) << 8
        remaining = remaining.dropFirst(2)
        return v
    }

    mutating func readUInt32LittleEndian() -> UInt32? {
        guard remaining.count >= 4 else { return nil }
        let v = remaining.prefix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        remaining = remaining.dropFirst(4)
        return v
    }

    /// Reads `count` bytes as a slice sharing storage with the input; `nil` if fewer remain.
    mutating func readSlice(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining.count >= count else { return nil }
        let s = remaining.prefix(count)
        remaining = remaining.dropFirst(count)
        return s
    }

    mutating func readRest() -> ArraySlice<UInt8> {
        let s = remaining
        remaining = remaining.suffix(0)
        return s
    }
}

extension Array where Element == UInt8 {
    /// `count` bytes written by `fill`, for small buffers built once (command sets, their PDUs).
    /// They are written on the stack and copied: the copying initialiser is specialised for
    /// bytes, while `init(unsafeUninitializedCapacity:initializingWith:)` allocates through a
    /// generic runtime path that costs about twice as many instructions for such sizes.
    init(count: Int, filledBy fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self = withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { buffer in
            fill(buffer)
            return Array(UnsafeRawBufferPointer(buffer))
        }
    }

    mutating func appendBigEndian(_ v: UInt16) {
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }

    mutating func appendBigEndian(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v >> 24))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }

    mutating func appendLittleEndian(_ v: UInt16) {
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
    }

    mutating func appendLittleEndian(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 24))
    }
}

/// Text helpers for the ASCII values carried in PDUs and command sets.
enum DICOMText {
    /// Decodes bytes as text (ISO 646 / UTF-8 with replacement, never traps).
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// A UID read from an item or element: trailing (and leading) NUL and space removed (UL-08).
    static func uid(_ bytes: ArraySlice<UInt8>) -> String {
        withoutPadding(bytes)
    }

    /// An AE title: leading and trailing spaces (and NULs) are not significant (UL-06).
    static func aeTitle(_ bytes: ArraySlice<UInt8>) -> String {
        withoutPadding(bytes)
    }

    /// The text of `bytes` without leading and trailing NULs and spaces.
    static func withoutPadding(_ bytes: ArraySlice<UInt8>) -> String {
        // Compared byte by byte: a UID is read for every proposed context and every command.
        var lo = bytes.startIndex
        var hi = bytes.endIndex
        while lo < hi, bytes[lo] == 0x00 || bytes[lo] == 0x20 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0x00 || bytes[hi - 1] == 0x20 { hi -= 1 }
        return string(bytes[lo..<hi])
    }

    /// The 16-byte space-padded AE title field of A-ASSOCIATE-RQ/AC (longer input is truncated).
    static func aeTitleField(_ title: String) -> [UInt8] {
        var b = Array(title.utf8.prefix(16))
        while b.count < 16 { b.append(0x20) }
        return b
    }
}
