// SPDX-License-Identifier: Apache-2.0
import TLS

/// The TLS contexts the server uses now: one for the TLS listener and one for C-MOVE to peers
/// marked `tls: true`, and one for HTTPS. A reload replaces them together; connections already open keep the
/// contexts they started with (each session holds a reference to its own).
public struct TLSContexts: Sendable {
    /// For accepted connections on the TLS port; nil when there is no TLS listener.
    public var server: TLSContext?
    /// For outgoing associations to TLS peers; nil when no peer needs it.
    public var client: TLSContext?
    /// For the HTTPS listener (`http.tls`); nil when HTTP is plain. Held here so that a reload
    /// replaces it with the others, but the DICOM server never uses it.
    public var web: TLSContext?

    public init(server: TLSContext? = nil, client: TLSContext? = nil) {
        self.server = server
        self.client = client
    }

    /// Builds the contexts `configuration` asks for: a server context when `listens`, a
    /// client context (our certificate when there is one, the trust anchors or else the
    /// system's) when `reachesPeers`.
    ///
    /// - Throws: ``TLSError`` naming the file at fault (missing, unreadable, not PEM, key and
    ///   certificate that do not match).
    public static func build(
        _ configuration: TLSConfiguration, listens: Bool, reachesPeers: Bool, environment: [String: String]
    ) throws(TLSError) -> TLSContexts {
        var contexts = TLSContexts()
        if listens { contexts.server = try TLSContext(configuration, role: .server, environment: environment) }
        if reachesPeers { contexts.client = try TLSContext(configuration, role: .client, environment: environment) }
        return contexts
    }
}
