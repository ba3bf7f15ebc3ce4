// SPDX-License-Identifier: Apache-2.0
import QRServer
import TLS

extension DaemonSettings {
    /// Whether any C-MOVE destination is reached over TLS.
    public var hasTLSPeers: Bool { peers.values.contains { $0.tls } }

    /// The TLS contexts these settings need (none when TLS is off and no peer uses it), built
    /// from the files they name; `environment` gives `$CREDENTIALS_DIRECTORY` for the key.
    /// With `http.tls`, the HTTPS context too (``httpsConfiguration``).
    ///
    /// - Parameter listens: whether the daemon serves a TLS listener: `tls.port`, or a socket
    ///   systemd passed as `dicom-tls` (the settings alone cannot tell).
    public func makeTLSContexts(listens: Bool, environment: [String: String]) throws(TLSError) -> TLSContexts {
        var contexts = try TLSContexts.build(
            tls.configuration, listens: listens, reachesPeers: hasTLSPeers, environment: environment)
        if let https = httpsConfiguration {
            contexts.web = try TLSContext(https, role: .server, environment: environment)
        }
        return contexts
    }
}
