import Foundation
import TestSupport

/// Certificates made with the openssl CLI once per test process, in a temporary directory removed
/// at exit (no private key is ever committed). EC P-256 keys throughout.
///
/// - `ca`: the trust anchor; `server` (CN localhost, SAN DNS:localhost and IP:127.0.0.1) and
///   `client` (CN STORESCU-HOST, SAN DNS:modality.example and email:pacs@modality.example) are
///   issued by it, as is `expired` (a client certificate whose validity ended).
/// - `otherCA` issues `stranger`, a client certificate our anchors do not trust.
struct TestCertificates: Sendable {
    let directory: String

    static let shared: Result<TestCertificates, PeerError> = {
        do { return .success(try TestCertificates()) } catch let error as PeerError {
            return .failure(error)
        } catch {
            return .failure(PeerError(description: "\(error)"))
        }
    }()

    func path(_ name: String) -> String { directory + "/" + name }

    var ca: String { path("ca.pem") }
    var serverCertificate: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    var clientCertificate: String { path("client.pem") }
    var clientKey: String { path("client.key") }
    var otherCA: String { path("other-ca.pem") }
    var strangerCertificate: String { path("stranger.pem") }
    var strangerKey: String { path("stranger.key") }
    var expiredCertificate: String { path("expired.pem") }
    var expiredKey: String { path("expired.key") }

    /// (certificate, key) pairs for `s_client -cert -key`.
    var client: (String, String) { (clientCertificate, clientKey) }
    var stranger: (String, String) { (strangerCertificate, strangerKey) }
    var expired: (String, String) { (expiredCertificate, expiredKey) }

    private init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        removeAtExit(url)
        directory = url.path
        try makeAuthority("ca", subject: "/CN=qrscpd Test CA")
        try makeAuthority("other-ca", subject: "/CN=Some Other CA")
        try issue("server", by: "ca", subject: "/CN=localhost",
                  extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        let clientExtensions =
            "subjectAltName=DNS:modality.example,email:pacs@modality.example\nextendedKeyUsage=clientAuth\n"
        try issue("client", by: "ca", subject: "/CN=STORESCU-HOST", extensions: clientExtensions)
        try issue("stranger", by: "other-ca", subject: "/CN=STRANGER", extensions: clientExtensions)
        try issue("expired", by: "ca", subject: "/CN=EXPIRED", extensions: clientExtensions, days: -1)
    }

    private func makeAuthority(_ name: String, subject: String) throws {
        try PeerProcess.runOpenSSL([
            "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).pem"), "-days", "2", "-subj", subject,
        ])
    }

    private func issue(
        _ name: String, by authority: String, subject: String, extensions: String, days: Int = 2
    ) throws {
        try PeerProcess.runOpenSSL([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
        ])
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try PeerProcess.runOpenSSL([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(authority).pem"),
            "-CAkey", path("\(authority).key"), "-CAcreateserial", "-days", String(days),
            "-extfile", path("\(name).ext"), "-out", path("\(name).pem"),
        ])
    }
}
