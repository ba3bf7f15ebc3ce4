// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import TLS
import Testing

/// `http.tls`, `http.tls_client_auth` and the HTTP request limits: sources, precedence and errors.
@Suite("HTTPS and HTTP limit settings")
struct HTTPServingSettingsTests {
    static let base = """
        port: 1
        ae_title: QR
        storage: {directory: /srv/dicom}

        """

    @Test func offByDefault() throws {
        let settings = try loader(config: try writeConfig(Self.base)).load()
        #expect(!settings.http.tls)
        #expect(settings.http.tlsClientAuthentication == TLSConfiguration.ClientAuthentication.none)
        #expect(settings.httpsConfiguration == nil)
        #expect(settings.http.maxHeaderBytes == nil && settings.http.maxBodyBytes == nil)
        #expect(settings.http.idleTimeout == nil && settings.http.headerTimeout == nil)
    }

    @Test func fileBlock() throws {
        let path = try writeConfig(
            Self.base + """
                tls: {certificate: /etc/qrscpd/chain.pem, key: k.pem, ca: /etc/qrscpd/ca.pem, min_version: 1.3}
                http:
                  port: 8443
                  tls: true
                  tls_client_auth: optional
                  max_header_bytes: 4096
                  max_body_bytes: 1048576
                  idle_timeout: 5
                  header_timeout: 3
                """)
        let settings = try loader(config: path).load()
        #expect(settings.http.tls)
        #expect(settings.http.maxHeaderBytes == 4096)
        #expect(settings.http.maxBodyBytes == 1_048_576)
        #expect(settings.http.idleTimeout == 5)
        #expect(settings.http.headerTimeout == 3)
        let https = try #require(settings.httpsConfiguration)
        #expect(https.certificateChainPath == "/etc/qrscpd/chain.pem")
        #expect(https.minimumVersion == .tls1_3, "the tls: block's protocol floor")
        #expect(https.effectiveClientAuthentication == .optional)
        #expect(https.selectsHTTP11)
        #expect(settings.tls.configuration.effectiveClientAuthentication == .required, "DICOM keeps its own default")
    }

    @Test func clientCertificatesOffUnlessAsked() throws {
        let path = try writeConfig(Self.base + "tls: {certificate: c.pem, key: k.pem, ca: ca.pem}\nhttp: {tls: true}\n")
        let https = try #require(try loader(config: path).load().httpsConfiguration)
        #expect(https.effectiveClientAuthentication == TLSConfiguration.ClientAuthentication.none)
    }

    @Test func precedence() throws {
        let path = try writeConfig(
            Self.base + "tls: {certificate: c.pem, key: k.pem}\nhttp: {tls: false, idle_timeout: 30}\n")
        var flags = CommandLineSettings()
        flags.httpTLS = true
        let environment = ["QRSCPD_HTTP_IDLE_TIMEOUT": "7", "QRSCPD_HTTP_MAX_BODY_BYTES": "2048"]
        let http = try loader(flags: flags, config: path, environment: environment).load().http
        #expect(http.tls, "--http-tls over the file")
        #expect(http.idleTimeout == 7, "environment over file")
        #expect(http.maxBodyBytes == 2048)
        let fromEnvironment = try loader(config: path, environment: ["QRSCPD_HTTP_TLS": "yes"]).load().http
        #expect(fromEnvironment.tls)
    }

    @Test func errorsNameTheSource() throws {
        let noCertificate = try writeConfig(Self.base + "http:\n  tls: true\n")
        let error = settingsError { () throws(SettingsError) in try loader(config: noCertificate).load() }
        #expect(
            error?.description
                == "\(noCertificate):5: http.tls: HTTPS needs tls.certificate (--tls-certificate, QRSCPD_TLS_CERTIFICATE) and tls.key as well"
        )

        var flags = CommandLineSettings()
        flags.httpTLS = true
        flags.tls.certificate = "c.pem"
        let noKey = settingsError { () throws(SettingsError) in try loader(flags: flags, config: nil).load() }
        #expect(noKey?.description.hasPrefix("command line: --http-tls: HTTPS needs tls.key") == true, "\(noKey!)")

        let authWithoutCA = try writeConfig(
            Self.base + "tls: {certificate: c, key: k}\nhttp: {tls: true, tls_client_auth: required}\n")
        #expect(
            settingsError { () throws(SettingsError) in try loader(config: authWithoutCA).load() }?.key
                == "http.tls_client_auth")

        let badMode = settingsError { () throws(SettingsError) in
            try loader(config: nil, environment: ["QRSCPD_HTTP_TLS_CLIENT_AUTH": "sometimes"]).load()
        }
        #expect(
            badMode?.description
                == "environment: QRSCPD_HTTP_TLS_CLIENT_AUTH: must be one of required, optional, none; got 'sometimes'")

        let badBool = settingsError { () throws(SettingsError) in
            try loader(config: nil, environment: ["QRSCPD_HTTP_TLS": "perhaps"]).load()
        }
        #expect(badBool?.key == "QRSCPD_HTTP_TLS", "\(String(describing: badBool))")

        for (key, value, range) in [
            ("max_header_bytes", 100, "1024 and 1048576"), ("max_body_bytes", 10, "1024 and 1099511627776"),
            ("idle_timeout", 0, "1 and 3600"), ("header_timeout", 601, "1 and 600"),
        ] {
            let path = try writeConfig(Self.base + "http:\n  \(key): \(value)\n")
            let error = settingsError { () throws(SettingsError) in try loader(config: path).load() }
            #expect(
                error?.description == "\(path):5: http.\(key): must be between \(range), got \(value)",
                "\(String(describing: error))")
        }
        let variable = settingsError { () throws(SettingsError) in
            try loader(config: nil, environment: ["QRSCPD_HTTP_HEADER_TIMEOUT": "0"]).load()
        }
        #expect(variable?.description == "environment: QRSCPD_HTTP_HEADER_TIMEOUT: must be between 1 and 600, got 0")
    }
}
