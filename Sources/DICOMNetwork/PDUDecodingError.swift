// SPDX-License-Identifier: Apache-2.0
/// Errors thrown when decoding PDUs, items and sub-items from peer input (PS3.8 §9.3).
///
/// Every malformed input produces one of these; nothing traps. ``abortReason`` gives the A-ABORT
/// reason to send when the error ends the association (Evt19).
public enum PDUDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The PDU type byte is not 01…07 (UL-02).
    case unknownPDUType(UInt8)
    /// A PDU, item or field ended before the bytes its layout requires.
    case truncated(context: String, needed: Int, available: Int)
    /// A length field has a value that is not allowed for that PDU or item.
    case invalidLength(context: String, length: Int)
    /// A PDU length exceeds the limit we accept (UL-04).
    case pduTooLarge(type: UInt8, length: UInt32, limit: UInt32)
    /// A mandatory item is missing (e.g. application context).
    case missingItem(context: String)
    /// An item appears more than once where only one is allowed.
    case duplicateItem(context: String)
    /// An item type that is not allowed at this place.
    case unexpectedItem(type: UInt8, context: String)
    /// A field holds a value outside its allowed range.
    case invalidValue(context: String, value: Int)

    public var description: String {
        switch self {
        case .unknownPDUType(let t):
            return "unrecognized PDU type 0x\(String(t, radix: 16))"
        case .truncated(let c, let n, let a):
            return "\(c): truncated, needs \(n) bytes but only \(a) available"
        case .invalidLength(let c, let l):
            return "\(c): invalid length \(l)"
        case .pduTooLarge(let t, let l, let lim):
            return "PDU type 0x\(String(t, radix: 16)) length \(l) exceeds the limit \(lim)"
        case .missingItem(let c):
            return "missing item: \(c)"
        case .duplicateItem(let c):
            return "duplicate item: \(c)"
        case .unexpectedItem(let t, let c):
            return "unexpected item type 0x\(String(t, radix: 16)) in \(c)"
        case .invalidValue(let c, let v):
            return "\(c): invalid value \(v)"
        }
    }

    /// The A-ABORT reason (source 2) fitting this error (PS3.8 Table 9-26).
    public var abortReason: AbortReason {
        switch self {
        case .unknownPDUType: return .unrecognizedPDU
        case .unexpectedItem: return .unexpectedPDUParameter
        case .invalidValue: return .invalidPDUParameterValue
        default: return .invalidPDUParameterValue
        }
    }
}
