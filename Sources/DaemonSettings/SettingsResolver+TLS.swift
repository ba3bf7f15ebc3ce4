// SPDX-License-Identifier: Apache-2.0
import Configuration
import TLS

extension SettingsResolver {
    /// The `tls:` block from every source, checked: a TLS port needs a certificate and a key,
    /// and client certificates need trust anchors. Whether the files exist, parse and match is
    /// checked when the context is built from ``TLSSettings/configuration``, naming the file.
    func tls() throws(SettingsError) -> TLSSettings {
        var tls = TLSSettings()
        let port = try read(components(SettingsKeys.tlsPort), "must be an integer") { $0.int(forKey: $1) }
        if let port { tls.port = try check(port, SettingsValidation.port) }
        tls.certificate = try string(SettingsKeys.tlsCertificate, SettingsValidation.nonEmpty)
        tls.key = try string(SettingsKeys.tlsKey, SettingsValidation.nonEmpty)
        tls.ca = try string(SettingsKeys.tlsCA, SettingsValidation.nonEmpty)
        let modes = TLSConfiguration.ClientAuthentication.allCases.map(\.rawValue).joined(separator: ", ")
        let clientAuth = try read(components(SettingsKeys.tlsClientAuth), "must be one of \(modes)") {
            $0.string(forKey: $1, as: TLSConfiguration.ClientAuthentication.self)
        }
        tls.clientAuthentication = clientAuth?.value
        tls.minimumVersion = try choice(SettingsKeys.tlsMinVersion, TLSConfiguration.MinimumVersion.self) ?? .tls1_2
        tls.ciphers = try string(SettingsKeys.tlsCiphers, SettingsValidation.nonEmpty)
        for source in sources {
            if case .file(let outline) = source.kind { tls.identities = outline.tlsIdentities }
        }
        // Certificate and key without a port are complete too: they serve a `dicom-tls` socket
        // from systemd, and are our identity towards C-MOVE peers marked `tls: true`.
        if let port, let missing = tls.missingListenerSettings.first {
            throw port.source.error(port.key, "needs \(missing) as well")
        }
        if let clientAuth, clientAuth.value != .none, tls.ca == nil {
            throw clientAuth.source.error(
                clientAuth.key, "\(clientAuth.value.rawValue) needs trust anchors: tls.ca (--tls-ca, QRSCPD_TLS_CA)")
        }
        return tls
    }
}
