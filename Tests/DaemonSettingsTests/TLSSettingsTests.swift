// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import QRServer
import TLS
import Testing

@Suite("TLS settings")
struct TLSSettingsTests {
    static let base = """
        port: 1
        ae_title: QR
        storage: {directory: /srv/dicom}

        """

    @Test func offByDefault() throws {
        let settings = try loader(config: try writeConfig(Self.base)).load()
        #expect(!settings.tls.isEnabled)
        #expect(settings.serverConfiguration.tlsPort == nil)
        #expect(settings.tls.configuration == TLSConfiguration(), "BCP 195 defaults")
    }

    @Test func fileBlock() throws {
        let path = try writeConfig(
            Self.base + """
                tls:
                  port: 2762
                  certificate: /etc/qrscpd/tls/chain.pem
                  key: qrscpd.key
                  ca: /etc/qrscpd/tls/ca.pem
                  client_auth: optional
                  min_version: 1.3
                  ciphers: ECDHE-ECDSA-AES128-GCM-SHA256
                  identities:
                    modality.example: [MOD1, " MOD2 "]
                    STORESCU-HOST: ["*"]
                peers:
                  SECURE: {host: pacs.example, port: 2762, tls: true}
                  PLAIN: {host: ws.example, port: 104}
                """)
        let settings = try loader(config: path).load()
        let tls = settings.tls
        #expect(tls.port == 2762)
        #expect(tls.certificate == "/etc/qrscpd/tls/chain.pem")
        #expect(tls.key == "qrscpd.key")
        #expect(tls.ca == "/etc/qrscpd/tls/ca.pem")
        #expect(tls.clientAuthentication == .optional)
        #expect(tls.minimumVersion == .tls1_3)
        #expect(tls.configuration.ciphers == "ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(tls.identities == ["modality.example": ["MOD1", "MOD2"], "STORESCU-HOST": ["*"]])
        #expect(settings.serverConfiguration.tlsPort == 2762)
        #expect(!settings.serverConfiguration.certificateIdentities.isEmpty)
        #expect(settings.peers["SECURE"] == PeerAddress(host: "pacs.example", port: 2762, tls: true))
        #expect(settings.peers["PLAIN"]?.tls == false)
    }

    @Test func clientAuthDefaultsToRequiredWithAnchors() throws {
        let path = try writeConfig(Self.base + "tls: {port: 2762, certificate: c.pem, key: k.pem, ca: ca.pem}\n")
        let settings = try loader(config: path).load()
        #expect(settings.tls.clientAuthentication == nil)
        #expect(settings.tls.configuration.effectiveClientAuthentication == .required)
        let noCA = try loader(
            config: try writeConfig(Self.base + "tls: {port: 2762, certificate: c.pem, key: k.pem}\n")
        ).load()
        #expect(noCA.tls.configuration.effectiveClientAuthentication == TLSConfiguration.ClientAuthentication.none)
    }

    /// Certificate and key without a port are complete settings: they serve a `dicom-tls` socket
    /// from systemd (and are our identity towards TLS peers); what a listener lacks is named.
    @Test func certificateAndKeyWithoutAPort() throws {
        let path = try writeConfig(Self.base + "tls: {certificate: c.pem, key: k.pem}\n")
        let tls = try loader(config: path).load().tls
        #expect(tls.port == nil && !tls.isEnabled)
        #expect(tls.missingListenerSettings.isEmpty)
        let keyOnly = try loader(config: try writeConfig(Self.base + "tls: {key: k.pem}\n")).load().tls
        #expect(keyOnly.missingListenerSettings == ["tls.certificate (--tls-certificate, QRSCPD_TLS_CERTIFICATE)"])
        #expect(
            try loader(config: try writeConfig(Self.base)).load().tls.missingListenerSettings == [
                "tls.certificate (--tls-certificate, QRSCPD_TLS_CERTIFICATE)", "tls.key (--tls-key, QRSCPD_TLS_KEY)",
            ])
    }

    @Test func precedence() throws {
        let path = try writeConfig(
            Self.base + "tls: {port: 2762, certificate: file.pem, key: file.key, client_auth: none}\n")
        var flags = CommandLineSettings()
        flags.tls.port = 3000
        flags.tls.ca = "/flags/ca.pem"
        let environment = [
            "QRSCPD_TLS_PORT": "4000", "QRSCPD_TLS_CERTIFICATE": "env.pem", "QRSCPD_TLS_CLIENT_AUTH": "required",
            "QRSCPD_TLS_MIN_VERSION": "1.3", "QRSCPD_TLS_CIPHERS": "", "QRSCPD_TLS_KEY": "",
        ]
        let tls = try loader(flags: flags, config: path, environment: environment).load().tls
        #expect(tls.port == 3000, "flag over environment over file")
        #expect(tls.certificate == "env.pem", "environment over file")
        #expect(tls.key == "file.key", "an empty variable counts as unset")
        #expect(tls.ca == "/flags/ca.pem")
        #expect(tls.clientAuthentication == .required)
        #expect(tls.minimumVersion == .tls1_3)
    }

    @Test func errorsNameTheSource() throws {
        let missingKey = try writeConfig(Self.base + "tls:\n  port: 2762\n  certificate: c.pem\n")
        let error = settingsError { () throws(SettingsError) in try loader(config: missingKey).load() }
        #expect(error?.description == "\(missingKey):5: tls.port: needs tls.key (--tls-key, QRSCPD_TLS_KEY) as well")

        var flags = CommandLineSettings()
        flags.tls.port = 2762
        flags.tls.key = "k.pem"
        let noCertificate = settingsError { () throws(SettingsError) in try loader(flags: flags, config: nil).load() }
        #expect(noCertificate?.description.hasPrefix("command line: --tls-port: needs tls.certificate") == true)

        let badMode = settingsError { () throws(SettingsError) in
            try loader(config: nil, environment: ["QRSCPD_TLS_CLIENT_AUTH": "sometimes"]).load()
        }
        #expect(
            badMode?.description
                == "environment: QRSCPD_TLS_CLIENT_AUTH: must be one of required, optional, none; got 'sometimes'")

        let authWithoutCA = try writeConfig(
            Self.base + "tls: {port: 2762, certificate: c, key: k, client_auth: required}\n")
        let noAnchors = settingsError { () throws(SettingsError) in try loader(config: authWithoutCA).load() }
        #expect(noAnchors?.key == "tls.client_auth")

        let badVersion = try writeConfig(Self.base + "tls: {min_version: 1.1}\n")
        #expect(
            settingsError { () throws(SettingsError) in try loader(config: badVersion).load() }?.key
                == "tls.min_version")

        let badIdentity = try writeConfig(Self.base + "tls:\n  identities:\n    host.example: WS1\n")
        let identityError = settingsError { () throws(SettingsError) in try loader(config: badIdentity).load() }
        #expect(identityError?.key == "tls.identities.host.example")

        let unknown = try writeConfig(Self.base + "tls: {prot: 1}\n")
        #expect(settingsError { () throws(SettingsError) in try loader(config: unknown).load() }?.key == "tls.prot")

        let badPeer = try writeConfig(Self.base + "peers: {D: {host: h, port: 1, tls: maybe}}\n")
        #expect(settingsError { () throws(SettingsError) in try loader(config: badPeer).load() }?.key == "peers.D.tls")
    }

    @Test func keyFromCredentialsDirectory() {
        #expect(
            TLSConfiguration.resolveKeyPath(
                "qrscpd.key", environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/qrscpd.service"])
                == "/run/credentials/qrscpd.service/qrscpd.key")
        #expect(
            TLSConfiguration.resolveKeyPath("/etc/k.pem", environment: ["CREDENTIALS_DIRECTORY": "/run/c"])
                == "/etc/k.pem")
    }
}
