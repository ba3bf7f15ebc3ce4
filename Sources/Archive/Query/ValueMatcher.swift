// SPDX-License-Identifier: Apache-2.0
import DICOM

/// How one request key value is matched (PS3.4 C.2.2.2).
///
/// PN matching is case-insensitive and ignores leading/trailing spaces (and empty
/// trailing name components); other VRs are matched exactly (case-sensitive,
/// trailing spaces not significant).
enum ValueMatcher: Sendable, Equatable {
    /// Zero-length value, or `*` alone (C.2.2.2.3): matches everything.
    case universal
    /// The value `""` (C.2.2.2.7): matches an absent or zero-length value.
    case emptyValue
    /// Single value matching (C.2.2.2.1). For PN the value is normalised.
    case single(String)
    /// Wild card matching (C.2.2.2.4); `pattern` uses `*` and `?`. For PN normalised.
    case wildcard(String)
    /// Range matching on DA/TM/DT (C.2.2.2.5); bounds inclusive, `upper` padded so
    /// that partial values (e.g. TM `10`) cover their whole span.
    case range(lower: String?, upper: String?)
    /// List of UID matching (C.2.2.2.2), or a multi-valued CS key such as
    /// Modalities in Study: any value matches.
    case list([String])
    /// A value we cannot match on (e.g. a number that does not parse).
    case never

    /// Builds the matcher for a request value (already decoded and trimmed).
    static func make(vr: VR, value raw: String, isPN: Bool? = nil) -> ValueMatcher {
        let pn = isPN ?? (vr == .PN)
        let value = TextValues.trimmed(raw)
        if value.isEmpty { return .universal }
        if value == "\"\"" { return .emptyValue }
        switch vr {
        case .UI:
            let parts = value.split(separator: "\\", omittingEmptySubsequences: true).map {
                TextValues.trimmed(String($0))
            }
            if parts.count > 1 { return .list(parts) }
            return .single(parts.first ?? value)
        case .DA, .TM, .DT:
            if let r = range(vr: vr, value: value) { return r }
            return .single(normalizedTemporal(vr: vr, value))
        default:
            break
        }
        if TextValues.allowsWildcard(vr), value.contains(where: { $0 == "*" || $0 == "?" }) {
            if value.allSatisfy({ $0 == "*" }) { return .universal }
            return .wildcard(pn ? value.uppercased() : value)
        }
        return .single(pn ? TextValues.normalizedPN(value) : value)
    }

    /// Removes the separators of old ACR-NEMA forms (`2025.01.01`, `10:30:00`).
    static func normalizedTemporal(vr: VR, _ s: String) -> String {
        switch vr {
        case .DA: return s.filter { $0 != "." }
        case .TM: return s.filter { $0 != ":" }
        default: return s
        }
    }

    static func range(vr: VR, value: String) -> ValueMatcher? {
        let dashes = value.indices.filter { value[$0] == "-" }
        guard !dashes.isEmpty else { return nil }
        // DT bounds with a negative UTC offset ("-hhmm") are not supported: the first
        // '-' separates the bounds.
        if vr != .DT, dashes.count != 1 { return .never }
        let split = dashes[0]
        let lo = TextValues.trimmed(String(value[..<split]))
        let hi = TextValues.trimmed(String(value[value.index(after: split)...]))
        if lo.isEmpty && hi.isEmpty { return .universal }
        return .range(
            lower: lo.isEmpty ? nil : normalizedTemporal(vr: vr, lo),
            upper: hi.isEmpty ? nil : upperBound(vr: vr, normalizedTemporal(vr: vr, hi)))
    }

    /// Pads a partial upper bound so that it includes every value it is a prefix of:
    /// TM `10` → `105959.999999`, DA stays, DT `2025` → `20251231235959.999999`.
    static func upperBound(vr: VR, _ s: String) -> String {
        let template: String
        switch vr {
        case .TM: template = "235959.999999"
        case .DT: template = "99991231235959.999999"
        default: return s
        }
        var base = s
        // Drop a UTC offset from DT bounds (compared as local values).
        if vr == .DT, let i = base.firstIndex(where: { $0 == "+" || ($0 == "-") }) { base = String(base[..<i]) }
        guard base.count < template.count else { return base }
        return base + template.dropFirst(base.count)
    }

    var isUniversal: Bool { self == .universal }

    /// Matches stored values (multi-valued attributes: any value). `stored` empty or
    /// holding only empty strings means absent/zero-length.
    func matches(_ stored: [String], isPN: Bool, vr: VR) -> Bool {
        switch self {
        case .universal: return true
        case .never: return false
        case .emptyValue: return stored.allSatisfy(\.isEmpty)
        default: break
        }
        for raw in stored where !raw.isEmpty {
            let value =
                isPN
                ? TextValues.normalizedPN(raw)
                : (vr == .DA || vr == .TM ? ValueMatcher.normalizedTemporal(vr: vr, raw) : raw)
            switch self {
            case .single(let wanted): if value == wanted { return true }
            case .list(let wanted): if wanted.contains(value) { return true }
            case .wildcard(let pattern): if ValueMatcher.glob(Array(pattern), Array(value)) { return true }
            case .range(let lo, let hi):
                if let lo, value < lo { continue }
                if let hi, value > hi { continue }
                return true
            default: break
            }
        }
        return false
    }

    /// `*` / `?` pattern matching over characters (iterative, backtracking on the last `*`).
    static func glob(_ p: [Character], _ s: [Character]) -> Bool {
        var pi = 0
        var si = 0
        var star = -1
        var mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == "?" || (p[pi] != "*" && p[pi] == s[si]) {
                pi += 1
                si += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = si
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
