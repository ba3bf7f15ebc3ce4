// SPDX-License-Identifier: Apache-2.0
// swift-format-ignore-file: AlwaysUseLowerCamelCase

/// An HTTP version (RFC 9112 §2.3); the parser accepts major version 1 only.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// How the body of a request is delimited (RFC 9112 §6.3).
public enum HTTPBodyFraming: Sendable, Hashable {
    /// No body (neither Content-Length nor Transfer-Encoding).
    case none
    /// Exactly this many bytes.
    case length(Int64)
    /// The chunked transfer coding (RFC 9112 §7.1); the length is known only at its end.
    case chunked
}

/// A parsed request line and header section.
public struct HTTPRequestHead: Sendable, Hashable {
    /// The method token, case-sensitive as sent (RFC 9110 §9.1).
    public var method: String
    /// The request-target as sent (origin-form, absolute-form, authority-form or "*").
    public var target: String
    public var version: HTTPVersion
    public var fields: HTTPFields
    public var framing: HTTPBodyFraming
    /// Whether the connection stays open after this request (RFC 9112 §9.3): HTTP/1.1 unless
    /// "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
    public var keepAlive: Bool
    /// "Expect: 100-continue" on an HTTP/1.1 request (RFC 9110 §10.1.1): the server should send
    /// 100 (Continue) or a final status before reading the body.
    public var expectsContinue: Bool

    public init(
        method: String, target: String, version: HTTPVersion = .http1_1, fields: HTTPFields = [:],
        framing: HTTPBodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
        self.framing = framing
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
    }

    /// The path of an origin-form target (before "?"), and its query (after it), not decoded.
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }
    public var query: Substring? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return target[target.index(after: q)...]
    }
}

/// Why a request was refused, with the status to answer (then close the connection).
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 400, 408, 413, 414, 431, 501 or 505.
    public let status: Int
    /// What was wrong, for the log (fixed text, never request bytes).
    public let reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status) \(reason)" }

    static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
}

/// Limits applied while parsing; exceeding one answers the status named.
public struct HTTPParserLimits: Sendable, Hashable {
    /// Longest request line, without its line ending → 414.
    public var maxRequestLineLength: Int
    /// Most bytes in the field section (all field lines and their line endings) → 431.
    public var maxHeaderBytes: Int
    /// Most field lines → 431.
    public var maxHeaderCount: Int
    /// Largest body (Content-Length, or the sum of chunk sizes) → 413.
    public var maxBodyLength: Int64
    /// Most bytes of a chunked body's trailer section → 431.
    public var maxTrailerBytes: Int
    /// Longest chunk-size line including its extensions → 400.
    public var maxChunkLineLength: Int

    public init(
        maxRequestLineLength: Int = 8192, maxHeaderBytes: Int = 16384, maxHeaderCount: Int = 100,
        maxBodyLength: Int64 = 1 << 20, maxTrailerBytes: Int = 4096, maxChunkLineLength: Int = 1024
    ) {
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyLength = maxBodyLength
        self.maxTrailerBytes = maxTrailerBytes
        self.maxChunkLineLength = maxChunkLineLength
    }
}
