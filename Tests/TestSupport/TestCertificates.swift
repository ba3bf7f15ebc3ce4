// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Certificates made with the openssl CLI once per test process, in a temporary directory removed
/// at exit (no private key is ever committed). EC P-256 keys throughout.
///
/// - `ca`: the trust anchor; `server` (CN localhost, SAN DNS:localhost and IP:127.0.0.1) and
///   `client` (CN STORESCU-HOST, SAN DNS:modality.example and email:pacs@modality.example) are
///   issued by it, as is `expired` (a client certificate whose validity ended).
/// - `otherCA` issues `stranger`, a client certificate our anchors do not trust.
/// - `elsewhere` is a server certificate from `ca` for elsewhere.example only (a wrong host name
///   for a peer reached at 127.0.0.1).
/// - `renewed` is a second server certificate from `ca` (CN localhost, O Renewed; same names),
///   for tests that replace the server's certificate while it runs.
public struct TestCertificates: Sendable {
    public let directory: String

    public static let shared: Result<TestCertificates, CertificateError> = {
        do { return .success(try TestCertificates()) } catch let error as CertificateError {
            return .failure(error)
        } catch {
            return .failure(CertificateError(description: "\(error)"))
        }
    }()

    public func path(_ name: String) -> String { directory + "/" + name }

    public var ca: String { path("ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    public var otherCA: String { path("other-ca.pem") }
    public var strangerCertificate: String { path("stranger.pem") }
    public var strangerKey: String { path("stranger.key") }
    public var expiredCertificate: String { path("expired.pem") }
    public var expiredKey: String { path("expired.key") }

    public var renewedCertificate: String { path("renewed.pem") }
    public var renewedKey: String { path("renewed.key") }
    /// A server certificate for another host name (elsewhere.example), not 127.0.0.1.
    public var elsewhereCertificate: String { path("elsewhere.pem") }
    public var elsewhereKey: String { path("elsewhere.key") }

    /// (certificate, key) pairs for `s_client -cert -key`.
    public var client: (String, String) { (clientCertificate, clientKey) }
    public var stranger: (String, String) { (strangerCertificate, strangerKey) }
    public var expired: (String, String) { (expiredCertificate, expiredKey) }

    private init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        removeAtExit(url)
        directory = url.path
        try makeAuthority("ca", subject: "/CN=qrscpd Test CA")
        try makeAuthority("other-ca", subject: "/CN=Some Other CA")
        // serverAuth and clientAuth: the daemon presents it to C-MOVE destinations too.
        try issue(
            "server", by: "ca", subject: "/CN=localhost",
            extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
        let clientExtensions =
            "subjectAltName=DNS:modality.example,email:pacs@modality.example\nextendedKeyUsage=clientAuth\n"
        try issue("client", by: "ca", subject: "/CN=STORESCU-HOST", extensions: clientExtensions)
        try issue("stranger", by: "other-ca", subject: "/CN=STRANGER", extensions: clientExtensions)
        try issue("expired", by: "ca", subject: "/CN=EXPIRED", extensions: clientExtensions, days: -1)
        try issue(
            "renewed", by: "ca", subject: "/CN=localhost/O=Renewed",
            extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
        try issue(
            "elsewhere", by: "ca", subject: "/CN=elsewhere.example",
            extensions: "subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n")
    }

    private func makeAuthority(_ name: String, subject: String) throws {
        try Self.runOpenSSL([
            "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject,
        ])
    }

    private func issue(
        _ name: String, by authority: String, subject: String, extensions: String, days: Int = 2
    ) throws {
        try Self.runOpenSSL([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
        ])
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try Self.runOpenSSL([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(authority).pem"),
            "-CAkey", path("\(authority).key"), "-CAcreateserial", "-days", String(days),
            "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }
}

extension TestCertificates {
    /// Runs `/usr/bin/openssl arguments` to completion (at most `timeout` seconds); throws with
    /// its output when it fails.
    static func runOpenSSL(_ arguments: [String], timeout: Double = 30) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("openssl-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw CertificateError(description: "openssl \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

/// Making the test certificates failed.
public struct CertificateError: Error, CustomStringConvertible {
    public let description: String
}
