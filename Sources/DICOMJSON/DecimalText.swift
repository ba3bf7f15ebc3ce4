// SPDX-License-Identifier: Apache-2.0
/// Turning IS and DS text (PS3.5 §6.2) into JSON numbers (RFC 8259 §6), which are stricter:
/// no "+" sign, no leading zeros, no "." without digits on both sides.
enum DecimalText {
    /// An IS value ("[+-]digits") as a JSON integer, or nil when it is not one.
    static func integer<S: StringProtocol>(_ text: S) -> [UInt8]? {
        var u = Substring(text).utf8[...]
        var out: [UInt8] = []
        if let s = u.first, s == 0x2B || s == 0x2D {
            if s == 0x2D { out.append(0x2D) }
            u = u.dropFirst()
        }
        guard !u.isEmpty, u.allSatisfy(isDigit) else { return nil }
        out.append(contentsOf: significant(u))
        return out
    }

    /// A DS value ("[+-]digits[.digits][(e|E)[+-]digits]", either side of "." may be empty
    /// but not both) as a JSON number, or nil when it is not one.
    static func decimal<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let u = Array(Substring(text).utf8)
        var i = 0
        var out: [UInt8] = []
        if i < u.count, u[i] == 0x2B || u[i] == 0x2D {
            if u[i] == 0x2D { out.append(0x2D) }
            i += 1
        }
        let intStart = i
        while i < u.count, isDigit(u[i]) { i += 1 }
        let intDigits = u[intStart..<i]
        var fraction: ArraySlice<UInt8> = []
        if i < u.count, u[i] == 0x2E {
            i += 1
            let start = i
            while i < u.count, isDigit(u[i]) { i += 1 }
            fraction = u[start..<i]
        }
        guard !intDigits.isEmpty || !fraction.isEmpty else { return nil }
        out.append(contentsOf: intDigits.isEmpty ? [0x30] : significant(intDigits))
        if !fraction.isEmpty {
            out.append(0x2E)
            out.append(contentsOf: fraction)
        }
        if i < u.count, u[i] == 0x65 || u[i] == 0x45 {
            out.append(0x65)
            i += 1
            if i < u.count, u[i] == 0x2B || u[i] == 0x2D {
                out.append(u[i])
                i += 1
            }
            let start = i
            while i < u.count, isDigit(u[i]) { i += 1 }
            guard i > start else { return nil }
            out.append(contentsOf: u[start..<i])
        }
        return i == u.count ? out : nil
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Digits without leading zeros ("0" for all zeros).
    private static func significant<C: Collection>(_ digits: C) -> [UInt8] where C.Element == UInt8 {
        let d = digits.drop { $0 == 0x30 }
        return d.isEmpty ? [0x30] : Array(d)
    }
}
