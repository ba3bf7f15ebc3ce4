// SPDX-License-Identifier: Apache-2.0
import CLibssl
import COpenSSL

/// What the peer's certificate says about who it is.
public struct PeerCertificate: Equatable, Sendable {
    /// A subjectAltName entry.
    public enum AlternativeName: Equatable, Hashable, Sendable {
        case dns(String)
        case ipAddress(String)
        case email(String)
        case uri(String)
    }

    /// The subject in OpenSSL's one-line form (`/CN=.../O=...`), for log lines.
    public var subject: String
    /// The subject's commonName, if it has one.
    public var commonName: String?
    /// The subjectAltName entries of the kinds above, in certificate order.
    public var alternativeNames: [AlternativeName]

    public init(subject: String, commonName: String?, alternativeNames: [AlternativeName]) {
        self.subject = subject
        self.commonName = commonName
        self.alternativeNames = alternativeNames
    }
}

extension TLSSession {
    /// The certificate the peer presented (verified, once the handshake is done), or nil.
    public var peerCertificate: PeerCertificate? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var buffer = [CChar](repeating: 0, count: 1024)
        let hasSubject = X509_NAME_oneline(X509_get_subject_name(certificate), &buffer, Int32(buffer.count)) != nil
        let subject = hasSubject ? text(of: buffer) : ""
        let hasCommonName = qrs_x509_subject_common_name(certificate, &buffer, buffer.count) >= 0
        let commonName = hasCommonName ? text(of: buffer) : nil
        var names: [PeerCertificate.AlternativeName] = []
        for index in 0..<qrs_x509_alt_name_count(certificate) {
            var kind: Int32 = 0
            guard qrs_x509_alt_name(certificate, index, &kind, &buffer, buffer.count) >= 0 else { continue }
            let text = text(of: buffer)
            switch kind {
            case 1: names.append(.dns(text))
            case 2: names.append(.ipAddress(text))
            case 3: names.append(.email(text))
            case 4: names.append(.uri(text))
            default: break
            }
        }
        return PeerCertificate(subject: subject, commonName: commonName, alternativeNames: names)
    }

    /// The negotiated protocol, e.g. "TLSv1.3" (after the handshake).
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The negotiated cipher, e.g. "TLS_AES_128_GCM_SHA256", or nil before the handshake.
    public var cipher: String? {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return nil }
        return String(cString: name)
    }
}

/// The UTF-8 text before the terminating NUL of a C buffer.
private func text(of buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
