// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// Accept (RFC 9110 §12.5.1) for responses that come in one media type only.
enum MediaTypes {
    static let dicomJSON = "application/dicom+json"

    /// Whether the request's Accept allows `type` (no Accept: anything goes). Media ranges
    /// `*/*` and `type/*` match; a range with q=0 refuses.
    static func accepts(_ fields: HTTPFields, _ type: String, alternatives: [String] = []) -> Bool {
        let ranges = fields.values("accept").flatMap { $0.split(separator: ",") }
        if ranges.isEmpty { return true }
        let wanted = ([type] + alternatives).map { $0.lowercased() }
        for range in ranges {
            let parts = range.split(separator: ";").map { $0.trimmingWhitespace().lowercased() }
            guard let media = parts.first else { continue }
            let refused = parts.dropFirst().contains { $0.hasPrefix("q=") && Double($0.dropFirst(2)) == 0 }
            if refused { continue }
            if media == "*/*" { return true }
            for w in wanted {
                if media == w { return true }
                if media.hasSuffix("/*"), w.hasPrefix(media.dropLast(1)) { return true }
            }
        }
        return false
    }
}
