// SPDX-License-Identifier: Apache-2.0
/// Errors thrown when reading or writing DICOM data. Offsets are byte
/// offsets from the start of the buffer given to the reader (for deflated
/// data sets: into the inflated stream).
public enum DICOMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes remain than an element header or delimiter needs.
    case truncated(offset: Int, needed: Int, available: Int, context: String)
    /// An element's value length exceeds the bytes remaining in its container.
    case lengthExceedsRemaining(tag: Tag, offset: Int, length: UInt32, remaining: Int)
    /// Explicit VR bytes are not a known VR (PS3.5 §6.2).
    case invalidVR(tag: Tag, offset: Int, byte0: UInt8, byte1: UInt8)
    /// Undefined length (FFFFFFFF) on an element that cannot have it (PS3.5 §7.1.1).
    case undefinedLengthNotAllowed(tag: Tag, vr: VR, offset: Int)
    /// A delimiter or item tag where it is not allowed (PS3.5 §7.5).
    case unexpectedDelimiter(tag: Tag, offset: Int)
    /// Something other than an Item where a sequence item or fragment was expected.
    case expectedItem(found: Tag, offset: Int)
    /// Sequences nested deeper than the reader's limit.
    case nestingTooDeep(offset: Int, limit: Int)
    /// Not a DICOM Part 10 file / data set (PS3.10 §7.1).
    case invalidFile(String)
    /// zlib inflate/deflate failure (zlib return code; -100: output limit exceeded).
    case deflate(code: Int32, message: String)
    /// A value too long to be encoded.
    case valueTooLong(tag: Tag, length: Int)
    /// A value that Implicit VR cannot carry, where a reader takes the VR from the dictionary:
    /// bytes that are not items under a tag the dictionary makes a sequence, or encapsulated
    /// fragments under a tag other than Pixel Data, which it reads as a sequence (PS3.5 §6.2.2,
    /// §7.5, §A.4).
    case notEncodableInImplicitVR(tag: Tag, vr: VR)
    /// File system error.
    case io(String)

    public var description: String {
        switch self {
        case .truncated(let offset, let needed, let available, let context):
            return "truncated \(context) at offset \(offset): need \(needed) bytes, \(available) available"
        case .lengthExceedsRemaining(let tag, let offset, let length, let remaining):
            return "element \(tag) at offset \(offset): length \(length) exceeds remaining \(remaining) bytes"
        case .invalidVR(let tag, let offset, let b0, let b1):
            return
                "element \(tag) at offset \(offset): bad VR bytes 0x\(String(b0, radix: 16)) 0x\(String(b1, radix: 16))"
        case .undefinedLengthNotAllowed(let tag, let vr, let offset):
            return "element \(tag) at offset \(offset): undefined length not allowed for VR \(vr.rawValue)"
        case .unexpectedDelimiter(let tag, let offset):
            return "unexpected delimiter \(tag) at offset \(offset)"
        case .expectedItem(let found, let offset):
            return "expected item (FFFE,E000) at offset \(offset), found \(found)"
        case .nestingTooDeep(let offset, let limit):
            return "sequence nesting deeper than \(limit) at offset \(offset)"
        case .invalidFile(let m): return "invalid DICOM file: \(m)"
        case .deflate(let code, let m): return "deflate error \(code): \(m)"
        case .valueTooLong(let tag, let length): return "value of \(tag) too long to encode: \(length) bytes"
        case .notEncodableInImplicitVR(let tag, let vr):
            return
                "element \(tag) (VR \(vr.rawValue)) cannot be written in Implicit VR: a reader would take its value for a sequence"
        case .io(let m): return "I/O error: \(m)"
        }
    }
}
