// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// How the HTTP listener is set up (`http.*` settings; docs/LIMITS.md gives the defaults).
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// TCP port (0 picks a free one).
    public var port: Int
    /// Numeric address to bind.
    public var bindAddress: String
    /// Origins allowed to read responses from a browser (CORS); "*" allows any. Empty: no
    /// CORS headers at all (same-origin use only).
    public var corsOrigins: [String]
    /// Request line, header and body limits (414, 431, 413). The body limit bounds what a
    /// streaming receiver (STOW-RS) may be sent; handlers that take the body whole are bounded
    /// by ``maxCollectedBody``.
    public var limits: HTTPParserLimits
    /// Largest body collected in memory for a handler without a body receiver (413 beyond).
    public var maxCollectedBody: Int
    /// From the first byte of a request to the end of its header section (408 after it).
    public var headerTimeout: Duration
    /// A keep-alive connection with no request for this long is closed.
    public var idleTimeout: Duration
    /// A request body or a response that makes no progress for this long ends the connection.
    public var progressTimeout: Duration
    /// Most HTTP connections open at once; beyond it the oldest idle one is closed, or the new
    /// one if none is idle.
    public var maxConnections: Int
    /// Input kept while a response is being produced (pipelined requests) before reading pauses.
    public var maxBufferedInput: Int

    public init(
        port: Int, bindAddress: String = "0.0.0.0", corsOrigins: [String] = [],
        limits: HTTPParserLimits = HTTPServerConfiguration.defaultLimits,
        maxCollectedBody: Int = 1 << 20, headerTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60), progressTimeout: Duration = .seconds(60),
        maxConnections: Int = 256, maxBufferedInput: Int = 64 * 1024
    ) {
        self.port = port
        self.bindAddress = bindAddress
        self.corsOrigins = corsOrigins
        self.limits = limits
        self.maxCollectedBody = maxCollectedBody
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.progressTimeout = progressTimeout
        self.maxConnections = maxConnections
        self.maxBufferedInput = maxBufferedInput
    }

    /// The parser's defaults with a body limit of 4 GiB: bodies that large only ever stream.
    public static let defaultLimits: HTTPParserLimits = {
        var limits = HTTPParserLimits()
        limits.maxBodyLength = 1 << 32
        return limits
    }()
}
