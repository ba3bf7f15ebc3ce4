// SPDX-License-Identifier: Apache-2.0
import QRServer
import TLS

extension DaemonSettings {
    /// Whether any C-MOVE destination is reached over TLS.
    public var hasTLSPeers: Bool { peers.values.contains { $0.tls } }

    /// The TLS contexts these settings need (none when TLS is off and no peer uses it), built
    /// from the files they name; `environment` gives `$CREDENTIALS_DIRECTORY` for the key.
    /// With `http.tls`, the HTTPS context too (``httpsConfiguration``).
    public func makeTLSContexts(environment: [String: String]) throws(TLSError) -> TLSContexts {
        var contexts = try TLSContexts.build(
            tls.configuration, listens: tls.isEnabled, reachesPeers: hasTLSPeers, environment: environment)
        if let https = httpsConfiguration {
            contexts.web = try TLSContext(https, role: .server, environment: environment)
        }
        return contexts
    }
}
