// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Testing

@testable import QRServer

/// The per-request policy for storage SOP classes: the requester's own order of transfer
/// syntaxes, ranked by first appearance across the contexts of one SOP class.
@Suite("Storage contexts ranked in the requester's order")
struct StorageContextsTests {
    static let ct = "1.2.840.10008.5.1.4.1.1.2"
    static let mr = "1.2.840.10008.5.1.4.1.1.4"
    static let explicitLE = TransferSyntax.explicitVRLittleEndian.uid
    static let implicitLE = TransferSyntax.implicitVRLittleEndian.uid
    static let j2k = TransferSyntax.jpeg2000Lossless.uid

    /// Q/R classes plus CT for ingest; MR only reachable through the SCP role (C-GET).
    static let base = AcceptorPolicy(
        aeTitle: "QRSCPD",
        supported: [
            ServicePolicy.verificationSOPClass: ServicePolicy.uncompressedTransferSyntaxes,
            ct: StorageContexts.ingestTransferSyntaxes,
        ],
        implementationClassUID: "1.2.3")

    static func request(_ contexts: [PresentationContextProposal], roles: [RoleSelection] = []) -> AssociateRequest {
        AssociateRequest(
            protocolVersion: 1, calledAETitle: "QRSCPD", callingAETitle: "SCU",
            applicationContextName: "1.2.840.10008.3.1.1.1", presentationContexts: contexts,
            userInformation: .init(maxPDULength: 0, implementationClassUID: "1.2", roleSelections: roles))
    }

    @Test func rankedByFirstAppearanceWithoutRepeatsOrUnknownSyntaxes() {
        let rq = Self.request(
            [
                .init(
                    id: 1, abstractSyntax: Self.ct, transferSyntaxes: [Self.j2k, Self.explicitLE, Self.j2k, "1.2.3.99"]),
                .init(id: 3, abstractSyntax: ServicePolicy.verificationSOPClass, transferSyntaxes: [Self.implicitLE]),
                .init(id: 5, abstractSyntax: Self.ct, transferSyntaxes: ["1.2.3.99"]),
                .init(id: 7, abstractSyntax: Self.ct, transferSyntaxes: [Self.implicitLE, Self.explicitLE]),
                .init(id: 9, abstractSyntax: Self.mr, transferSyntaxes: [Self.implicitLE, Self.implicitLE]),
            ], roles: [.init(sopClassUID: Self.mr, scuRole: false, scpRole: true)])
        let policy = StorageContexts.policy(Self.base, for: rq)
        #expect(policy.transferSyntaxes(Self.ct) == [Self.j2k, Self.explicitLE, Self.implicitLE])
        #expect(
            policy.transferSyntaxes(ServicePolicy.verificationSOPClass) == ServicePolicy.uncompressedTransferSyntaxes)
        #expect(policy.transferSyntaxes(Self.mr) == [Self.implicitLE])  // SCP role proposed
        #expect(policy.transferSyntaxes("1.2.840.10008.5.1.4.1.1.7") == nil)  // not proposed, not in the table
    }

    @Test func withoutStorageContextsTheBaseTableHolds() {
        let rq = Self.request([
            .init(id: 1, abstractSyntax: ServicePolicy.verificationSOPClass, transferSyntaxes: [Self.implicitLE]),
            .init(id: 3, abstractSyntax: Self.ct, transferSyntaxes: ["1.2.3.99"]),
        ])
        let policy = StorageContexts.policy(Self.base, for: rq)
        #expect(policy.transferSyntaxes(Self.ct) == StorageContexts.ingestTransferSyntaxes)
        // MR proposed without the SCP role and not in the table: not supported.
        let mrOnly = StorageContexts.policy(
            Self.base,
            for: Self.request([
                .init(id: 1, abstractSyntax: Self.mr, transferSyntaxes: [Self.explicitLE])
            ]))
        #expect(mrOnly.transferSyntaxes(Self.mr) == nil)
    }
}
