// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// Cross-origin resource sharing (Fetch standard, "CORS protocol"): which browser origins may
/// read our responses. A viewer is usually served from another origin than the archive.
struct CORSPolicy: Sendable {
    let origins: Set<String>
    let anyOrigin: Bool

    init(origins: [String]) {
        anyOrigin = origins.contains("*")
        self.origins = Set(origins.filter { $0 != "*" })
    }

    var isEnabled: Bool { anyOrigin || !origins.isEmpty }

    /// Methods a preflight may ask for.
    static let methods = "GET, HEAD, POST, OPTIONS"
    /// Response fields a script may read besides the safelisted ones.
    static let exposed = "Content-Length, Content-Type, Warning, Content-Location"
    /// How long a browser may cache a preflight answer (seconds).
    private static let maxAge = "600"

    /// The Access-Control-Allow-Origin value for `origin`, nil when it is not allowed.
    func allowedOrigin(_ origin: String?) -> String? {
        guard let origin else { return nil }
        if anyOrigin { return "*" }
        return origins.contains(origin) ? origin : nil
    }

    /// Fields for a simple (non-preflight) response.
    func responseFields(origin: String?) -> HTTPFields {
        var fields = HTTPFields()
        guard isEnabled else { return fields }
        if !anyOrigin { fields.append(name: "Vary", value: "Origin") }
        if let allowed = allowedOrigin(origin) {
            fields.append(name: "Access-Control-Allow-Origin", value: allowed)
            fields.append(name: "Access-Control-Expose-Headers", value: Self.exposed)
        }
        return fields
    }

    /// Fields for a preflight answer, nil when the origin or method is not allowed.
    func preflightFields(origin: String?, method: String, requestedHeaders: String?) -> HTTPFields? {
        guard let allowed = allowedOrigin(origin),
            Self.methods.split(separator: ",").contains(where: { $0.trimmingWhitespace() == method })
        else { return nil }
        var fields = HTTPFields()
        if !anyOrigin { fields.append(name: "Vary", value: "Origin") }
        fields.append(name: "Access-Control-Allow-Origin", value: allowed)
        fields.append(name: "Access-Control-Allow-Methods", value: Self.methods)
        // Header names a script asks to send: tokens only, echoed (they are names, not values).
        if let requestedHeaders {
            let names = requestedHeaders.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
            guard names.allSatisfy(\.isHTTPToken) else { return nil }
            if !names.isEmpty {
                fields.append(name: "Access-Control-Allow-Headers", value: names.joined(separator: ", "))
            }
        }
        fields.append(name: "Access-Control-Max-Age", value: Self.maxAge)
        return fields
    }

}
