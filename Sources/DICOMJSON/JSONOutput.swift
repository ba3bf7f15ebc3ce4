// SPDX-License-Identifier: Apache-2.0
/// JSON text written straight into a byte array (RFC 8259), with no intermediate objects.
struct JSONOutput {
    var bytes: [UInt8]

    init(into bytes: [UInt8]) { self.bytes = bytes }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// A JSON string: quote, backslash and every control character escaped (RFC 8259 §7); all
    /// other characters as their UTF-8 bytes.
    mutating func string<S: StringProtocol>(_ s: S) {
        bytes.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x08: bytes.append(contentsOf: [0x5C, 0x62])
            case 0x0C: bytes.append(contentsOf: [0x5C, 0x66])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, Self.hexDigit(b >> 4), Self.hexDigit(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }

    /// A tag as 8 uppercase hex digits, quoted (PS3.18 F.2.1.1 keys, and AT values).
    mutating func tag(_ value: UInt32) {
        bytes.append(0x22)
        var shift: UInt32 = 28
        for _ in 0..<8 {
            bytes.append(Self.hexDigit(UInt8((value >> shift) & 0xF)))
            shift &-= 4
        }
        bytes.append(0x22)
    }

    mutating func integer<T: BinaryInteger>(_ v: T) {
        bytes.append(contentsOf: String(v).utf8)
    }

    /// A finite number in Swift's shortest round-trip form (valid JSON: "1.5", "1e-05",
    /// "5e+20"); JSON has no NaN or infinity, so those are written as null.
    mutating func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ v: F) {
        guard v.isFinite else { return raw("null") }
        bytes.append(contentsOf: v.description.utf8)
    }

    /// Base64 with padding (RFC 4648 §4), for InlineBinary.
    mutating func base64<C: Collection>(_ data: C) where C.Element == UInt8 {
        bytes.append(0x22)
        var it = data.makeIterator()
        while let a = it.next() {
            let b = it.next()
            let c = it.next()
            let n = UInt32(a) << 16 | UInt32(b ?? 0) << 8 | UInt32(c ?? 0)
            bytes.append(Self.base64Digit(n >> 18))
            bytes.append(Self.base64Digit(n >> 12))
            bytes.append(b == nil ? 0x3D : Self.base64Digit(n >> 6))
            bytes.append(c == nil ? 0x3D : Self.base64Digit(n))
        }
        bytes.append(0x22)
    }

    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x41 + v - 10 }

    private static func base64Digit(_ v: UInt32) -> UInt8 {
        let i = UInt8(v & 0x3F)
        switch i {
        case 0..<26: return 0x41 + i
        case 26..<52: return 0x61 + i - 26
        case 52..<62: return 0x30 + i - 52
        case 62: return 0x2B
        default: return 0x2F
        }
    }
}
