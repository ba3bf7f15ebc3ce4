// SPDX-License-Identifier: Apache-2.0
import Foundation
import TLS
import TestSupport
import Testing

/// Building contexts from real files: what works, and the error each broken setting gives.
@Suite struct TLSContextTests {
    let certificates: TestCertificates

    /// Fails every test of the suite, with the openssl CLI's message, when the certificates could not be made.
    init() throws { certificates = try TestCertificates.shared.get() }

    @Test func defaultsFollowBCP195() {
        let configuration = TLSConfiguration()
        #expect(configuration.minimumVersion == .tls1_2)
        // Every TLS 1.2 suite is ECDHE with an AEAD cipher; no CBC, no static RSA, no DHE.
        for suite in configuration.ciphers.split(separator: ":") {
            #expect(suite.hasPrefix("ECDHE-"))
            #expect(suite.contains("GCM") || suite.contains("CHACHA20-POLY1305"))
        }
        #expect(configuration.cipherSuites.split(separator: ":").count == 3)
    }

    @Test func clientAuthenticationIsRequiredWhenTrustAnchorsAreSet() {
        #expect(TLSConfiguration().effectiveClientAuthentication == .none)
        #expect(TLSConfiguration(trustAnchorsPath: "/x").effectiveClientAuthentication == .required)
        let optional = TLSConfiguration(trustAnchorsPath: "/x", clientAuthentication: .optional)
        #expect(optional.effectiveClientAuthentication == .optional)
    }

    @Test func keyPathResolvesSystemdCredentials() {
        let environment = ["CREDENTIALS_DIRECTORY": "/run/credentials/qrscpd.service"]
        let credential = TLSConfiguration.resolveKeyPath("tls.key", environment: environment)
        #expect(credential == "/run/credentials/qrscpd.service/tls.key")
        let absolute = TLSConfiguration.resolveKeyPath("/etc/qrscpd/tls.key", environment: environment)
        #expect(absolute == "/etc/qrscpd/tls.key")
        #expect(TLSConfiguration.resolveKeyPath("tls.key", environment: [:]) == "tls.key")
    }

    @Test func keyIsReadFromTheCredentialsDirectory() throws {
        let credentials = FileManager.default.temporaryDirectory
            .appendingPathComponent("qrscpd-credentials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: credentials) }
        let credential = credentials.appendingPathComponent("tls-key").path
        try FileManager.default.copyItem(atPath: certificates.serverKey, toPath: credential)
        let configuration = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: "tls-key"
        )
        _ = try TLSContext(configuration, role: .server, environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        #expect(throws: TLSError.self) { try TLSContext(configuration, role: .server, environment: [:]) }
    }

    @Test func serverAndClientContextsBuild() throws {
        let server = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.serverKey,
            trustAnchorsPath: certificates.ca
        )
        _ = try TLSContext(server, role: .server)
        _ = try TLSContext(TLSConfiguration(trustAnchorsPath: certificates.path("")), role: .client)
        _ = try TLSContext(TLSConfiguration(trustAnchorsPath: certificates.ca, minimumVersion: .tls1_3), role: .client)
    }

    @Test func missingFilesAreNamed() {
        let missing = certificates.path("nope.pem")
        let noCertificate = TLSConfiguration(certificateChainPath: missing, privateKeyPath: certificates.serverKey)
        #expect {
            try TLSContext(noCertificate, role: .server)
        } throws: { error in
            guard case .fileUnreadable("certificate", missing, let reason) = error as? TLSError else { return false }
            return reason.contains("No such file")
        }
        let noKey = TLSConfiguration(certificateChainPath: certificates.serverCertificate, privateKeyPath: missing)
        #expect(throws: TLSError.fileUnreadable(setting: "key", path: missing, reason: "No such file or directory")) {
            try TLSContext(noKey, role: .server)
        }
        let noCA = TLSConfiguration(trustAnchorsPath: missing)
        #expect(throws: TLSError.fileUnreadable(setting: "ca", path: missing, reason: "No such file or directory")) {
            try TLSContext(noCA, role: .client)
        }
        #expect(throws: TLSError.missingSetting("certificate")) { try TLSContext(TLSConfiguration(), role: .server) }
    }

    @Test func keyOfAnotherCertificateIsAMismatch() {
        let configuration = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.clientKey
        )
        #expect {
            try TLSContext(configuration, role: .server)
        } throws: { error in
            guard case .keyMismatch(let certificate, let key, let reason) = error as? TLSError else { return false }
            return certificate == certificates.serverCertificate && key == certificates.clientKey && !reason.isEmpty
                && "\(error)".contains("does not match")
        }
    }

    @Test func garbageFilesCarryOpenSSLReasons() throws {
        let garbage = certificates.path("garbage-\(UUID().uuidString).pem")
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        let badCertificate = TLSConfiguration(certificateChainPath: garbage, privateKeyPath: certificates.serverKey)
        #expect {
            try TLSContext(badCertificate, role: .server)
        } throws: { error in
            guard case .badCertificate(garbage, let reason) = error as? TLSError else { return false }
            return reason.contains("no start line") || reason.contains("PEM")
        }
        let badKey = TLSConfiguration(certificateChainPath: certificates.serverCertificate, privateKeyPath: garbage)
        #expect {
            try TLSContext(badKey, role: .server)
        } throws: { error in
            guard case .badKey(garbage, _) = error as? TLSError else { return false }
            return true
        }
        let badCA = TLSConfiguration(trustAnchorsPath: garbage)
        #expect {
            try TLSContext(badCA, role: .client)
        } throws: { error in
            guard case .badTrustAnchors(garbage, let reason) = error as? TLSError else { return false }
            return !reason.isEmpty
        }
    }

    @Test func badCipherStringsAreRejected() {
        let base = TLSConfiguration(
            certificateChainPath: certificates.serverCertificate, privateKeyPath: certificates.serverKey
        )
        var ciphers = base
        ciphers.ciphers = "NOT-A-CIPHER"
        #expect {
            try TLSContext(ciphers, role: .server)
        } throws: { error in
            guard case .badCiphers("ciphers", "NOT-A-CIPHER", let reason) = error as? TLSError else { return false }
            return reason.contains("no cipher match")
        }
        var suites = base
        suites.cipherSuites = "TLS_NOT_A_SUITE"
        #expect {
            try TLSContext(suites, role: .server)
        } throws: { error in
            guard case .badCiphers("cipher suites", "TLS_NOT_A_SUITE", _) = error as? TLSError else { return false }
            return true
        }
    }
}
