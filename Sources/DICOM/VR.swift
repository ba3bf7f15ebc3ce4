// SPDX-License-Identifier: Apache-2.0
// swift-format-ignore-file: AlwaysUseLowerCamelCase
/// Value Representation (PS3.5 §6.2, Table 6.2-1).
public enum VR: String, Sendable, CaseIterable, Hashable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW
    case PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV

    /// Decodes the two-character VR code as found in explicit VR encoding.
    @inlinable public init?(byte0: UInt8, byte1: UInt8) {
        switch (UInt16(byte0) << 8) | UInt16(byte1) {
        case 0x4145: self = .AE
        case 0x4153: self = .AS
        case 0x4154: self = .AT
        case 0x4353: self = .CS
        case 0x4441: self = .DA
        case 0x4453: self = .DS
        case 0x4454: self = .DT
        case 0x4644: self = .FD
        case 0x464C: self = .FL
        case 0x4953: self = .IS
        case 0x4C4F: self = .LO
        case 0x4C54: self = .LT
        case 0x4F42: self = .OB
        case 0x4F44: self = .OD
        case 0x4F46: self = .OF
        case 0x4F4C: self = .OL
        case 0x4F56: self = .OV
        case 0x4F57: self = .OW
        case 0x504E: self = .PN
        case 0x5348: self = .SH
        case 0x534C: self = .SL
        case 0x5351: self = .SQ
        case 0x5353: self = .SS
        case 0x5354: self = .ST
        case 0x5356: self = .SV
        case 0x544D: self = .TM
        case 0x5543: self = .UC
        case 0x5549: self = .UI
        case 0x554C: self = .UL
        case 0x554E: self = .UN
        case 0x5552: self = .UR
        case 0x5553: self = .US
        case 0x5554: self = .UT
        case 0x5556: self = .UV
        default: return nil
        }
    }

    /// The two ASCII bytes of the VR code.
    public var bytes: (UInt8, UInt8) {
        let u = rawValue.utf8
        return (u[u.startIndex], u[u.index(after: u.startIndex)])
    }

    /// Whether explicit VR encoding uses the long form: 2 reserved bytes and a
    /// 32-bit length (PS3.5 §7.1.2, Table 7.1-1).
    public var hasLongExplicitLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: return true
        default: return false
        }
    }

    /// Character string VRs, padded with a trailing space (or NUL for UI) (PS3.5 §6.2).
    public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: return true
        default: return false
        }
    }

    /// String VRs whose value may hold several values separated by backslash
    /// (LT, ST, UT, UR are single-valued, PS3.5 §6.4).
    public var allowsMultipleStringValues: Bool {
        isString && self != .LT && self != .ST && self != .UT && self != .UR
    }

    /// Byte used to pad odd-length values to even length: space for text,
    /// NUL for UI and binary VRs (PS3.5 §7.1.1).
    public var paddingByte: UInt8 {
        isString && self != .UI ? 0x20 : 0x00
    }

    /// Size in bytes of the unit that is byte-swapped between little and big
    /// endian encodings (PS3.5 §7.3); 1 for byte strings (OB, UN, text, SQ).
    public var byteSwapUnit: Int {
        switch self {
        case .US, .SS, .OW, .AT: return 2
        case .UL, .SL, .FL, .OF, .OL: return 4
        case .FD, .OD, .SV, .UV, .OV: return 8
        default: return 1
        }
    }
}
