// SPDX-License-Identifier: Apache-2.0
import TLS
import Testing

@Suite struct CertificateIdentityBindingTests {
    let modality = PeerCertificate(
        subject: "/CN=STORESCU-HOST", commonName: "STORESCU-HOST",
        alternativeNames: [.dns("modality.example"), .ipAddress("192.0.2.7")]
    )

    @Test func noBindingsAcceptAnyone() {
        let binding = CertificateIdentityBinding()
        #expect(binding.check(callingAETitle: "ANY", certificate: nil) == .accepted(identity: nil))
        #expect(binding.check(callingAETitle: "ANY", certificate: modality) == .accepted(identity: nil))
    }

    @Test func commonNameOrAlternativeNameAllowsItsTitles() {
        let binding = CertificateIdentityBinding(["STORESCU-HOST": ["STORESCU"], "Modality.Example": ["CT1", "CT2"]])
        let storescu = binding.check(callingAETitle: "STORESCU", certificate: modality)
        #expect(storescu == .accepted(identity: "STORESCU-HOST"))
        // AE titles arrive space-padded; DNS names compare without regard to case.
        let padded = binding.check(callingAETitle: "CT2             ", certificate: modality)
        #expect(padded == .accepted(identity: "modality.example"))
    }

    @Test func otherTitlesAndMissingCertificatesAreRefused() {
        let binding = CertificateIdentityBinding(["modality.example": ["CT1"]])
        guard case .refused(let reason) = binding.check(callingAETitle: "MR1", certificate: modality) else {
            Issue.record("MR1 accepted")
            return
        }
        #expect(reason.contains("\"MR1\"") && reason.contains("/CN=STORESCU-HOST") && reason.contains("192.0.2.7"))
        guard case .refused(let none) = binding.check(callingAETitle: "CT1", certificate: nil) else {
            Issue.record("accepted without a certificate")
            return
        }
        #expect(none.contains("none was presented"))
        // AE titles are case-sensitive.
        #expect(binding.check(callingAETitle: "ct1", certificate: modality) != .accepted(identity: "modality.example"))
    }

    @Test func wildcardTitleAndIPAddressIdentity() {
        let binding = CertificateIdentityBinding(["192.0.2.7": ["*"]])
        #expect(binding.check(callingAETitle: "WHATEVER", certificate: modality) == .accepted(identity: "192.0.2.7"))
        let stranger = PeerCertificate(subject: "/CN=OTHER", commonName: "OTHER", alternativeNames: [])
        #expect(binding.check(callingAETitle: "WHATEVER", certificate: stranger) != .accepted(identity: "192.0.2.7"))
    }

    @Test func identitiesListCommonNameThenAlternativeNames() {
        let identities = CertificateIdentityBinding.identities(of: modality)
        #expect(identities == ["STORESCU-HOST", "modality.example", "192.0.2.7"])
    }
}
