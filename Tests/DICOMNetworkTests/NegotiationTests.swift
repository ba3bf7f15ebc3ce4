// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

@Suite("Association negotiation (PS3.8 §9.3.3, PS3.7 D.3.3)")
struct NegotiationTests {
    static let policy = AcceptorPolicy(
        aeTitle: "QRSCP",
        supported: [
            UIDs.verification: [UIDs.explicitLE, UIDs.implicitLE],
            UIDs.studyRootFind: [UIDs.explicitLE, UIDs.implicitLE],
            UIDs.studyRootGet: [UIDs.implicitLE],
            UIDs.ctImage: [UIDs.explicitLE, UIDs.implicitLE],
        ],
        maxPDULength: 32768, implementationClassUID: "1.2.826.0.1.3680043.9.9999.1",
        implementationVersionName: "QRSCPD_01", requestorSCPRoleSOPClasses: [UIDs.ctImage])

    static func request(
        _ contexts: [PresentationContextProposal],
        ui: UserInformation = .init(
            maxPDULength: 16384, implementationClassUID: "1.2.3.4"), called: String = "QRSCP",
        version: UInt16 = 1, appContext: String = UIDs.appContext
    ) -> AssociateRequest {
        AssociateRequest(
            protocolVersion: version, calledAETitle: called, callingAETitle: "SCU",
            applicationContextName: appContext, presentationContexts: contexts, userInformation: ui)
    }

    static func accept(_ r: AssociationNegotiation) -> (AssociateAccept, NegotiatedAssociation)? {
        if case .accept(let ac, let n) = r { return (ac, n) }
        return nil
    }

    @Test("UL-10 result 0/3/4 per context, every context answered, our TS preference")
    func contextResults() throws {
        let rq = Self.request([
            .init(id: 1, abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE, UIDs.explicitLE]),
            .init(id: 3, abstractSyntax: "1.2.3.999", transferSyntaxes: [UIDs.implicitLE]),
            .init(id: 5, abstractSyntax: UIDs.studyRootGet, transferSyntaxes: [UIDs.explicitBE]),
            .init(id: 7, abstractSyntax: UIDs.studyRootFind, transferSyntaxes: [UIDs.implicitLE]),
        ])
        let (ac, n) = try #require(Self.accept(negotiate(rq, policy: Self.policy)))
        #expect(
            ac.presentationContexts == [
                .init(id: 1, result: .acceptance, transferSyntax: UIDs.explicitLE),  // our order wins
                .init(id: 3, result: .abstractSyntaxNotSupported, transferSyntax: UIDs.implicitLE),
                .init(id: 5, result: .transferSyntaxesNotSupported, transferSyntax: UIDs.explicitBE),
                .init(id: 7, result: .acceptance, transferSyntax: UIDs.implicitLE),
            ])
        #expect(n.acceptedContextIDs == [1, 7])
        #expect(n.contexts[1] == .init(id: 1, abstractSyntax: UIDs.verification, transferSyntax: UIDs.explicitLE))
        #expect(n.peerMaxPDULength == 16384)
        #expect(n.ourMaxPDULength == 32768)
        #expect(n.peerImplementationClassUID == "1.2.3.4")
        #expect(n.callingAETitle == "SCU" && n.calledAETitle == "QRSCP")
        #expect(n.context(abstractSyntax: UIDs.studyRootFind)?.id == 7)
        #expect(ac.userInformation.maxPDULength == 32768)
        #expect(ac.userInformation.implementationClassUID == "1.2.826.0.1.3680043.9.9999.1")
        #expect(ac.userInformation.implementationVersionName == "QRSCPD_01")
        #expect(ac.userInformation.asyncOperationsWindow == nil)  // UL-13: not requested → omitted
        #expect(ac.userInformation.roleSelections.isEmpty)
        #expect(ac.userInformation.extendedNegotiations.isEmpty)
        #expect(ac.userInformation.userIdentityResponse == nil)
        #expect(ac.calledAETitle == "QRSCP" && ac.callingAETitle == "SCU")
        // the AC encodes and decodes (UL-10: rejected contexts still carry a 40H)
        #expect(try decodeWhole(ac.encoded()) == .associateAC(ac))
    }

    @Test("UL-11 every context rejected still gives an AC")
    func allRejected() throws {
        let rq = Self.request([.init(id: 1, abstractSyntax: "1.2.3", transferSyntaxes: [UIDs.implicitLE])])
        let (ac, n) = try #require(Self.accept(negotiate(rq, policy: Self.policy)))
        #expect(ac.presentationContexts.map(\.result) == [.abstractSyntaxNotSupported])
        #expect(n.contexts.isEmpty)
    }

    @Test(
        "RJ 1/1/2 application context, 1/2/2 protocol version, 1/1/7 called AE, 1/1/3 calling AE (UL-05, UL-06, UL-16)")
    func rejects() {
        let pcs = [
            PresentationContextProposal(
                id: 1, abstractSyntax: UIDs.verification,
                transferSyntaxes: [UIDs.implicitLE])
        ]
        #expect(
            negotiate(Self.request(pcs, appContext: "1.2.3"), policy: Self.policy)
                == .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .init(rawValue: 2))))
        #expect(
            negotiate(Self.request(pcs, version: 2), policy: Self.policy)
                == .reject(
                    AssociateReject(result: .permanent, source: .serviceProviderACSE, reason: .init(rawValue: 2))))
        #expect(
            negotiate(Self.request(pcs, called: "OTHER"), policy: Self.policy)
                == .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .init(rawValue: 7))))
        #expect(negotiate(Self.request(pcs, called: ""), policy: Self.policy) == .reject(.calledAETitleNotRecognized))
        var lax = Self.policy
        lax.checkCalledAETitle = false
        #expect(Self.accept(negotiate(Self.request(pcs, called: "OTHER"), policy: lax)) != nil)
        var peers = Self.policy
        peers.isCallingAETitleKnown = { $0 == "KNOWN" }
        #expect(
            negotiate(Self.request(pcs), policy: peers)
                == .reject(AssociateReject(result: .permanent, source: .serviceUser, reason: .init(rawValue: 3))))
        // version with bit 0 set plus other bits is fine
        #expect(Self.accept(negotiate(Self.request(pcs, version: 3), policy: Self.policy)) != nil)
    }

    @Test("UL-14 role selection: echo only requested roles, only allowed SCP roles")
    func roles() throws {
        let rq = Self.request(
            [
                .init(id: 1, abstractSyntax: UIDs.studyRootGet, transferSyntaxes: [UIDs.implicitLE]),
                .init(id: 3, abstractSyntax: UIDs.ctImage, transferSyntaxes: [UIDs.implicitLE]),
                .init(id: 5, abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE]),
            ],
            ui: .init(
                maxPDULength: 0, implementationClassUID: "1.2",
                roleSelections: [
                    .init(sopClassUID: UIDs.ctImage, scuRole: false, scpRole: true),
                    .init(sopClassUID: UIDs.verification, scuRole: true, scpRole: true),  // SCP not allowed
                    .init(sopClassUID: "1.2.3.4.5", scuRole: true, scpRole: true),  // no context → no reply
                ]))
        let (ac, n) = try #require(Self.accept(negotiate(rq, policy: Self.policy)))
        #expect(
            ac.userInformation.roleSelections == [
                .init(sopClassUID: UIDs.ctImage, scuRole: false, scpRole: true),
                .init(sopClassUID: UIDs.verification, scuRole: true, scpRole: false),
            ])
        #expect(n.contexts[3]?.requestorIsSCP == true && n.contexts[3]?.requestorIsSCU == false)
        #expect(n.contexts[5]?.requestorIsSCP == false && n.contexts[5]?.requestorIsSCU == true)
        #expect(n.contexts[1]?.requestorIsSCU == true && n.contexts[1]?.requestorIsSCP == false)  // default
        #expect(n.peerMaxPDULength == 0)
    }

    @Test("UL-15 extended negotiation replied only when requested, zeros for unsupported")
    func extendedNegotiation() throws {
        let rq = Self.request(
            [.init(id: 1, abstractSyntax: UIDs.studyRootFind, transferSyntaxes: [UIDs.implicitLE])],
            ui: .init(
                maxPDULength: 0, implementationClassUID: "1.2",
                extendedNegotiations: [
                    .init(sopClassUID: UIDs.studyRootFind, applicationInformation: [1, 1, 0, 1])
                ]))
        let (ac, n) = try #require(Self.accept(negotiate(rq, policy: Self.policy)))
        #expect(
            ac.userInformation.extendedNegotiations == [
                .init(
                    sopClassUID: UIDs.studyRootFind,
                    applicationInformation: [0, 0, 0, 0])
            ])
        var p = Self.policy
        p.extendedNegotiationReply = { _, _ in [1, 0, 1, 1, 1] }  // relational yes; clamp unrequested
        let (ac2, n2) = try #require(Self.accept(negotiate(rq, policy: p)))
        #expect(ac2.userInformation.extendedNegotiations.first?.applicationInformation == [1, 0, 0, 1, 0])
        #expect(n2.extendedNegotiations[UIDs.studyRootFind] == [1, 0, 0, 1, 0])
        #expect(n.extendedNegotiations[UIDs.studyRootFind] == [0, 0, 0, 0])
    }

    @Test("UL-13 async window answered 1/1 only if requested; user identity response only if requested")
    func asyncAndIdentity() throws {
        let pcs = [
            PresentationContextProposal(
                id: 1, abstractSyntax: UIDs.verification,
                transferSyntaxes: [UIDs.implicitLE])
        ]
        let rq = Self.request(
            pcs,
            ui: .init(
                maxPDULength: 0, implementationClassUID: "1.2",
                asyncOperationsWindow: .init(maxOperationsInvoked: 10, maxOperationsPerformed: 0),
                userIdentityRequest: .init(
                    identityType: .username, positiveResponseRequested: true,
                    primaryField: ascii("bob"))))
        let (ac, n) = try #require(Self.accept(negotiate(rq, policy: Self.policy)))
        #expect(ac.userInformation.asyncOperationsWindow == .init(maxOperationsInvoked: 1, maxOperationsPerformed: 1))
        #expect(ac.userInformation.userIdentityResponse == .init(serverResponse: []))
        #expect(n.userIdentity?.primaryField == ascii("bob"))
        var noPositive = rq
        noPositive.userInformation.userIdentityRequest?.positiveResponseRequested = false
        let (ac2, _) = try #require(Self.accept(negotiate(noPositive, policy: Self.policy)))
        #expect(ac2.userInformation.userIdentityResponse == nil)
    }

    @Test("requestor helpers build an RQ and interpret the AC")
    func requestorSide() throws {
        let rq = AssociateRequest.requestor(
            callingAETitle: "QRSCP", calledAETitle: "DEST",
            contexts: [
                RequestedContext(abstractSyntax: UIDs.ctImage, transferSyntaxes: [UIDs.explicitLE, UIDs.implicitLE]),
                RequestedContext(abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE]),
                RequestedContext(
                    abstractSyntax: UIDs.studyRootGet, transferSyntaxes: [UIDs.implicitLE],
                    role: (scu: true, scp: true)),
            ],
            maxPDULength: 65536, implementationClassUID: "1.2.3")
        #expect(rq.presentationContexts.map(\.id) == [1, 3, 5])
        #expect(
            rq.userInformation.roleSelections == [.init(sopClassUID: UIDs.studyRootGet, scuRole: true, scpRole: true)])
        #expect(try decodeWhole(rq.encoded()) == .associateRQ(rq))
        var p = Self.policy
        p.aeTitle = "DEST"
        let (ac, acceptorView) = try #require(Self.accept(negotiate(rq, policy: p)))
        let n = NegotiatedAssociation(requestor: rq, accept: ac)
        #expect(n.contexts == acceptorView.contexts)
        #expect(n.contexts[1]?.transferSyntax == UIDs.explicitLE)
        #expect(n.contexts[5]?.requestorIsSCP == false)  // acceptor refused SCP role for GET
        #expect(n.peerMaxPDULength == 32768)
        #expect(n.ourMaxPDULength == 65536)
        #expect(n.peerImplementationVersionName == "QRSCPD_01")
    }
}
