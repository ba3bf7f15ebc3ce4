// SPDX-License-Identifier: Apache-2.0
/// The byte layout behind ``CommandSet``: the encoded command set itself (PS3.7 §6.3.1, PS3.5
/// §7.1.3 Implicit VR Little Endian), kept sorted so encoding is a return and decoding one copy.
extension CommandSet {
    // MARK: Encoding / decoding

    /// Implicit VR Little Endian encoding, elements in ascending order, preceded by
    /// (0000,0000) UL group length = byte count of the rest (DM-01/02). Shares the command
    /// set's buffer: nothing is copied until one of the two is changed.
    public func encoded() -> [UInt8] {
        storage
    }

    /// Bytes of ``encoded()``.
    public var encodedLength: Int { storage.count }

    /// Decodes an Implicit VR LE command set. The group length value is ignored (DM-02);
    /// elements of other groups are skipped; when an element occurs twice the later one counts.
    public init(decoding bytes: ArraySlice<UInt8>) throws(CommandSetDecodingError) {
        if Self.isInLayout(bytes) {
            // As every conformant peer sends it: taken over in one copy, group length recomputed.
            var storage = Array(bytes)
            Self.updateGroupLength(&storage)
            self.storage = storage
            return
        }
        var storage = Self.emptyStorage(capacity: Self.groupLengthElementLength + bytes.count)
        let failure = bytes.withUnsafeBytes { raw -> CommandSetDecodingError? in
            var offset = 0
            // Highest element appended so far: elements arriving in ascending order (as PS3.5
            // §7.1 requires) are appended as they are; any other goes to its place.
            var highest: UInt16? = nil
            while offset < raw.count {
                guard raw.count - offset >= Self.elementHeaderLength else { return .truncated(offset: offset) }
                let group = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                let element = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
                let length = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                guard length != 0xFFFF_FFFF else { return .undefinedLength(element: element) }
                let valueStart = offset + Self.elementHeaderLength
                guard raw.count - valueStart >= Int(length) else { return .truncated(offset: offset) }
                let next = valueStart + Int(length)
                if group == 0x0000 && element != Tag.groupLength {
                    if highest.map({ element > $0 }) ?? true {
                        storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[offset..<next]))
                        highest = element
                    } else {
                        let value = UnsafeRawBufferPointer(rebasing: raw[valueStart..<next])
                        Self.setValue(element, count: value.count, in: &storage) { $0.copyMemory(from: value) }
                    }
                }
                offset = next
            }
            return nil
        }
        if let failure { throw failure }
        Self.updateGroupLength(&storage)
        self.storage = storage
    }

    /// Whether `bytes` are a well-formed command set already in the layout of ``storage``:
    /// a 4-byte (0000,0000) first, then group-0000 elements in strictly ascending order, each
    /// complete.
    private static func isInLayout(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard raw.count >= groupLengthElementLength,
                raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == 0,  // (0000,0000)
                UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) == 4
            else { return false }
            var offset = groupLengthElementLength
            var previous = Tag.groupLength
            while offset < raw.count {
                guard raw.count - offset >= elementHeaderLength,
                    raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self) == 0  // group 0000
                else { return false }
                let element = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
                let length = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                guard element > previous, length != 0xFFFF_FFFF,
                    raw.count - offset - elementHeaderLength >= Int(length)
                else { return false }
                previous = element
                offset += elementHeaderLength + Int(length)
            }
            return true
        }
    }

    // MARK: Layout

    /// The element number in the header at `offset`.
    static func elementNumber(at offset: Int, in storage: [UInt8]) -> UInt16 {
        UInt16(storage[offset + 2]) | UInt16(storage[offset + 3]) << 8  // little-endian
    }

    /// The value length in the header at `offset`.
    static func valueLength(at offset: Int, in storage: [UInt8]) -> Int {
        storage.withUnsafeBytes {
            Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
        }
    }

    /// Where `element` is, or where it would go to keep the order: the offset of its header,
    /// and whether it is there. (0000,0000) is never found.
    static func locate(_ element: UInt16, in storage: [UInt8]) -> (offset: Int, found: Bool) {
        storage.withUnsafeBytes { raw in
            var offset = groupLengthElementLength
            while offset < raw.count {
                let e = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
                if e >= element { return (offset, e == element) }
                let length = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                offset += elementHeaderLength + Int(length)
            }
            return (offset, false)
        }
    }

    /// Gives `element` a value of `count` bytes, which `write` fills, in place of any value it
    /// had; the element goes to its place in the order. (0000,0000) is left alone.
    static func setValue(
        _ element: UInt16, count: Int, in storage: inout [UInt8],
        _ write: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        guard element != Tag.groupLength else { return }
        precondition(count <= Int(UInt32.max - 1), "a command element value is shorter than 4 GiB")
        let (offset, found) = locate(element, in: storage)
        let valueStart = offset + elementHeaderLength
        if found {
            let old = valueLength(at: offset, in: storage)
            if old != count {
                storage.replaceSubrange(valueStart..<(valueStart + old), with: repeatElement(0, count: count))
            }
        } else if offset == storage.count {
            storage.append(contentsOf: repeatElement(0, count: elementHeaderLength + count))
        } else {
            storage.replaceSubrange(offset..<offset, with: repeatElement(0, count: elementHeaderLength + count))
        }
        storage.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(0x0000), toByteOffset: offset, as: UInt16.self)  // little-endian
            raw.storeBytes(of: element.littleEndian, toByteOffset: offset + 2, as: UInt16.self)
            raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: offset + 4, as: UInt32.self)
            write(UnsafeMutableRawBufferPointer(rebasing: raw[valueStart..<(valueStart + count)]))
        }
        updateGroupLength(&storage)
    }

    /// Sets the (0000,0000) value to the byte count of the elements after it.
    /// Bytes already holding the right value are not written, so a shared buffer is not copied.
    static func updateGroupLength(_ storage: inout [UInt8]) {
        let length = UInt32(storage.count - groupLengthElementLength)
        let current = storage.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        }
        guard current != length else { return }
        storage.withUnsafeMutableBytes { $0.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt32.self) }
    }
}
