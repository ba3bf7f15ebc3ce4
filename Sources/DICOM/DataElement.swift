// SPDX-License-Identifier: Apache-2.0
/// A data element (PS3.5 §7.1): tag, VR and value.
///
/// Primitive values are kept as the raw bytes read from the buffer, in the
/// byte order given by `isBigEndian` (no copy: the slice shares storage with
/// the buffer the data set was read from). Padding bytes are kept as read.
public struct DataElement: Sendable, Equatable {
    /// The value of a data element.
    public enum Value: Sendable, Equatable {
        /// Raw value bytes (primitive VRs; also defined-length OB/OW pixel data).
        case bytes(ArraySlice<UInt8>)
        /// Items of a sequence (VR SQ) (PS3.5 §7.5).
        case sequence([DataSet])
        /// Encapsulated pixel data fragments, the Basic Offset Table first
        /// (possibly empty) (PS3.5 §A.4).
        case fragments([ArraySlice<UInt8>])
    }

    /// The tag.
    public var tag: Tag
    /// The VR (as read for explicit VR, from the dictionary for implicit VR).
    public var vr: VR
    /// The value.
    public var value: Value
    /// Byte order of multi-byte binary values in `value` (PS3.5 §7.3).
    public var isBigEndian: Bool

    /// Creates an element with raw value bytes in the given byte order.
    public init(tag: Tag, vr: VR, bytes: ArraySlice<UInt8>, isBigEndian: Bool = false) {
        self.tag = tag
        self.vr = vr
        self.value = .bytes(bytes)
        self.isBigEndian = isBigEndian
    }

    /// Creates a sequence element (VR SQ).
    public init(tag: Tag, items: [DataSet]) {
        self.tag = tag
        self.vr = .SQ
        self.value = .sequence(items)
        self.isBigEndian = false
    }

    /// Creates an encapsulated pixel data element; `fragments[0]` is the Basic Offset Table.
    public init(tag: Tag = .pixelData, vr: VR = .OB, fragments: [ArraySlice<UInt8>]) {
        self.tag = tag
        self.vr = vr
        self.value = .fragments(fragments)
        self.isBigEndian = false
    }

    /// Creates an element from any value.
    public init(tag: Tag, vr: VR, value: Value, isBigEndian: Bool) {
        self.tag = tag
        self.vr = vr
        self.value = value
        self.isBigEndian = isBigEndian
    }

    /// The raw bytes; empty for sequences and fragments.
    public var bytes: ArraySlice<UInt8> {
        if case .bytes(let b) = value { return b }
        return []
    }

    /// The sequence items, or nil if not a sequence.
    public var items: [DataSet]? {
        if case .sequence(let s) = value { return s }
        return nil
    }

    /// The encapsulated fragments (Basic Offset Table first), or nil.
    public var fragments: [ArraySlice<UInt8>]? {
        if case .fragments(let f) = value { return f }
        return nil
    }

    /// The raw bytes converted to the requested byte order (swapped per VR
    /// unit, PS3.5 §7.3); same storage when no swap is needed.
    public func bytes(bigEndian: Bool) -> ArraySlice<UInt8> {
        let b = bytes
        return bigEndian == isBigEndian ? b : ByteSwap.swapped(b, unit: vr.byteSwapUnit)
    }

    /// The element re-encoded in the requested byte order, recursively for sequences.
    public func converted(bigEndian: Bool) -> DataElement {
        switch value {
        case .bytes(let b):
            if bigEndian == isBigEndian { return self }
            return DataElement(
                tag: tag, vr: vr, value: .bytes(ByteSwap.swapped(b, unit: vr.byteSwapUnit)),
                isBigEndian: bigEndian)
        case .sequence(let items):
            return DataElement(
                tag: tag, vr: vr, value: .sequence(items.map { $0.converted(bigEndian: bigEndian) }),
                isBigEndian: bigEndian)
        case .fragments:
            // Fragments are byte streams (OB), never swapped (PS3.5 §A.4).
            var e = self
            e.isBigEndian = bigEndian
            return e
        }
    }
}

/// Byte swapping of value units (PS3.5 §7.3).
enum ByteSwap {
    /// Returns `b` with every `unit`-byte group reversed; a trailing partial unit is kept as is.
    static func swapped(_ b: ArraySlice<UInt8>, unit: Int) -> ArraySlice<UInt8> {
        guard unit > 1, b.count >= unit else { return b }
        var out = [UInt8](b)
        out.withUnsafeMutableBufferPointer { p in
            var i = 0
            let n = p.count - p.count % unit
            while i < n {
                var lo = i
                var hi = i + unit - 1
                while lo < hi {
                    p.swapAt(lo, hi)
                    lo += 1
                    hi -= 1
                }
                i += unit
            }
        }
        return out[...]
    }
}
