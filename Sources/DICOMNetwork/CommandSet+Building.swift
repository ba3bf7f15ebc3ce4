// SPDX-License-Identifier: Apache-2.0
/// Building a command set whose elements are all known at once (the message constructors):
/// one allocation of the exact size and straight writes, instead of one insertion per element.
extension CommandSet {
    /// Writes elements one after the other, in ascending element order. The first pass
    /// (`buffer` nil) only adds up their encoded length; the second writes them.
    struct AscendingWriter {
        private let buffer: UnsafeMutableRawBufferPointer?
        /// Bytes of the elements counted or written so far.
        private(set) var length = 0
        private var lastElement: UInt16 = CommandSet.Tag.groupLength

        fileprivate init(buffer: UnsafeMutableRawBufferPointer?) {
            self.buffer = buffer
        }

        /// Header of an element with a value of `count` bytes, when writing; the value's offset.
        private mutating func header(_ element: UInt16, count: Int) -> Int {
            precondition(element > lastElement, "command elements are written in ascending order")
            lastElement = element
            let offset = length
            length += CommandSet.elementHeaderLength + count
            guard let buffer else { return offset }
            buffer.storeBytes(of: UInt16(0x0000), toByteOffset: offset, as: UInt16.self)  // little-endian
            buffer.storeBytes(of: element.littleEndian, toByteOffset: offset + 2, as: UInt16.self)
            buffer.storeBytes(of: UInt32(count).littleEndian, toByteOffset: offset + 4, as: UInt32.self)
            return offset + CommandSet.elementHeaderLength
        }

        /// A US element, none when `value` is nil.
        mutating func us(_ element: UInt16, _ value: UInt16?) {
            guard let value else { return }
            let at = header(element, count: 2)
            buffer?.storeBytes(of: value.littleEndian, toByteOffset: at, as: UInt16.self)
        }

        /// A UI element (NUL-padded to even length), none when `value` is nil.
        mutating func ui(_ element: UInt16, _ value: String?) {
            padded(element, value, pad: 0x00)
        }

        /// A text element (AE, LO, ST; space-padded to even length), none when `value` is nil.
        mutating func text(_ element: UInt16, _ value: String?) {
            padded(element, value, pad: 0x20)
        }

        private mutating func padded(_ element: UInt16, _ value: String?, pad: UInt8) {
            guard let value else { return }
            let utf8 = value.utf8
            let count = utf8.count
            let at = header(element, count: count + count % 2)
            guard let buffer else { return }
            UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + count)]).copyBytes(from: utf8)
            if count % 2 == 1 { buffer[at + count] = pad }
        }
    }

    /// A command set of the elements `write` gives, in ascending order. `write` is called twice:
    /// once to measure, once to write, and must give the same elements both times.
    static func ascending(_ write: (inout AscendingWriter) -> Void) -> CommandSet {
        var measure = AscendingWriter(buffer: nil)
        write(&measure)
        let length = measure.length
        let headerLength = groupLengthElementLength
        let storage = [UInt8](count: headerLength + length) { raw in
            raw.storeBytes(of: UInt32(0), toByteOffset: 0, as: UInt32.self)  // (0000,0000)
            raw.storeBytes(of: UInt32(4).littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 8, as: UInt32.self)
            var writer = AscendingWriter(buffer: UnsafeMutableRawBufferPointer(rebasing: raw[headerLength...]))
            write(&writer)
            precondition(writer.length == length, "the same elements are written as were measured")
        }
        return CommandSet(storage: storage)
    }
}
