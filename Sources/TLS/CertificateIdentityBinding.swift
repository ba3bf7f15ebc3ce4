// SPDX-License-Identifier: Apache-2.0

/// Binds certificate identities to the calling AE titles they may use.
///
/// An identity is a subject commonName or a subjectAltName value (DNS name, IP address, e-mail,
/// URI) of the peer's verified certificate. With no bindings, any certificate may use any calling
/// AE title. With bindings, a calling AE title is accepted only when one of the certificate's
/// identities is bound to it (or to `*`, any title); a peer without a certificate is refused.
/// The server answers a refusal with A-ASSOCIATE-RJ 1/1/3 (calling AE title not recognized).
public struct CertificateIdentityBinding: Equatable, Sendable {
    /// The outcome of ``check(callingAETitle:certificate:)``.
    public enum Decision: Equatable, Sendable {
        /// Accepted; `identity` is the certificate identity that allowed it (nil with no bindings).
        case accepted(identity: String?)
        /// Refused, with the reason for the log line.
        case refused(String)
    }

    /// Identity (compared without regard to ASCII case) to allowed AE titles (compared exactly,
    /// without the space padding).
    public private(set) var titlesByIdentity: [String: Set<String>]

    /// Creates bindings from identity → allowed calling AE titles.
    public init(_ bindings: [String: [String]] = [:]) {
        var table: [String: Set<String>] = [:]
        for (identity, titles) in bindings {
            table[Self.normalizedIdentity(identity), default: []].formUnion(titles.map(Self.normalizedTitle))
        }
        titlesByIdentity = table
    }

    /// Whether any binding is configured.
    public var isEmpty: Bool { titlesByIdentity.isEmpty }

    /// The identities a certificate offers: its commonName, then its subjectAltName values.
    public static func identities(of certificate: PeerCertificate) -> [String] {
        var identities: [String] = []
        if let commonName = certificate.commonName { identities.append(commonName) }
        for name in certificate.alternativeNames {
            switch name {
            case .dns(let value), .ipAddress(let value), .email(let value), .uri(let value):
                identities.append(value)
            }
        }
        return identities
    }

    /// Decides whether a peer with `certificate` may call as `callingAETitle`.
    public func check(callingAETitle: String, certificate: PeerCertificate?) -> Decision {
        if isEmpty { return .accepted(identity: nil) }
        let title = Self.normalizedTitle(callingAETitle)
        guard let certificate else {
            return .refused("calling AE title \"\(title)\" needs a client certificate bound to it; none was presented")
        }
        let identities = Self.identities(of: certificate)
        for identity in identities {
            guard let titles = titlesByIdentity[Self.normalizedIdentity(identity)] else { continue }
            if titles.contains(title) || titles.contains("*") { return .accepted(identity: identity) }
        }
        return .refused(
            "calling AE title \"\(title)\" is not bound to certificate \(certificate.subject) (identities: "
                + (identities.isEmpty ? "none" : identities.joined(separator: ", ")) + ")"
        )
    }

    private static func normalizedIdentity(_ identity: String) -> String {
        String(identity.trimmingSpaces().lowercased())
    }

    private static func normalizedTitle(_ title: String) -> String {
        title.trimmingSpaces()
    }
}

extension String {
    /// Without leading and trailing spaces (the padding of AE titles).
    fileprivate func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}
