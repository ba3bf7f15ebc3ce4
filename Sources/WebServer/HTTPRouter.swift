// SPDX-License-Identifier: Apache-2.0
/// What answers a route. Handlers run on the reactor thread and must not block: work that can
/// block goes to the worker pool and answers through the ``HTTPResponse`` when it comes back.
public protocol HTTPHandler {
    /// Called once the request's head and whole body have arrived (the body in
    /// ``HTTPRequest/body``, bounded by the body limit). Answer through `response`, now or later.
    func handle(_ request: HTTPRequest, _ response: HTTPResponse)

    /// For handlers that take the body as it arrives (STOW-RS): return a receiver and the body
    /// goes to it instead of ``HTTPRequest/body``; ``handle(_:_:)`` is then not called.
    /// The default returns nil.
    func bodyReceiver(for request: HTTPRequest, _ response: HTTPResponse) -> (any HTTPBodyReceiver)?
}

extension HTTPHandler {
    public func bodyReceiver(for request: HTTPRequest, _ response: HTTPResponse) -> (any HTTPBodyReceiver)? { nil }
}

/// Takes a request body piece by piece, on the reactor thread. Use
/// ``HTTPResponse/pauseReading()`` and ``HTTPResponse/resumeReading()`` while pieces are being
/// written elsewhere, so that a fast sender cannot fill memory.
public protocol HTTPBodyReceiver: AnyObject {
    /// The next piece of the body (chunked framing removed); valid only during the call.
    func receive(_ bytes: ArraySlice<UInt8>)
    /// The body ended.
    func end()
    /// The connection closed before the body ended (or before the response did).
    func abort()
}

/// One entry of the route table: a method, a path pattern and the handler.
public struct HTTPRoute {
    /// The method ("GET" routes also answer HEAD, without the body).
    public let method: String
    /// Path segments; `{name}` matches one non-empty segment and binds it.
    public let segments: [Segment]
    /// A short fixed name for logs and metrics (a bounded label: never a value from the request).
    public let name: String
    public let handler: any HTTPHandler

    public enum Segment: Equatable {
        case literal(String)
        case parameter(String)
    }

    public init(_ method: String, _ pattern: String, name: String, handler: any HTTPHandler) {
        self.method = method
        self.segments = pattern.split(separator: "/").map { s in
            s.hasPrefix("{") && s.hasSuffix("}") ? .parameter(String(s.dropFirst().dropLast())) : .literal(String(s))
        }
        self.name = name
        self.handler = handler
    }

    /// The bound parameters when `path` matches the pattern.
    func match(_ path: [Substring]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var bound: [String: String] = [:]
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let text): if part != text { return nil }
            case .parameter(let name): bound[name] = String(part)
            }
        }
        return bound
    }
}

/// The route table. Routes are tried in the order added; the first whose method and pattern
/// match answers. Adding a route is one line:
///
/// ```swift
/// router.add("GET", "/dicom-web/studies/{study}/metadata", name: "wado_study_metadata", StudyMetadataHandler(...))
/// ```
public struct HTTPRouter {
    public private(set) var routes: [HTTPRoute] = []

    public init() {}

    /// Adds a route; see ``HTTPRoute``. `name` labels the route's metrics and log lines.
    public mutating func add(_ method: String, _ pattern: String, name: String, _ handler: any HTTPHandler) {
        routes.append(HTTPRoute(method, pattern, name: name, handler: handler))
    }

    /// The outcome of looking up a request.
    public enum Lookup {
        /// The route's index in ``routes`` and its bound parameters.
        case found(Int, [String: String])
        /// The path matches routes, none for this method: 405 with Allow.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public func lookup(method: String, path: String) -> Lookup {
        let parts = path.split(separator: "/")
        var allowed: [String] = []
        for (index, route) in routes.enumerated() {
            guard let bound = route.match(parts) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") { return .found(index, bound) }
            allowed.append(route.method)
            if route.method == "GET" { allowed.append("HEAD") }
        }
        if allowed.isEmpty { return .notFound }
        var seen = Set<String>()
        return .methodNotAllowed(allowed: (allowed + ["OPTIONS"]).filter { seen.insert($0).inserted })
    }
}
