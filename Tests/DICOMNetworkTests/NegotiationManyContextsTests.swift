// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

/// A C-GET requestor proposes every storage SOP class in several contexts, each with role
/// selection: the answers must follow the same rules as for a handful of contexts.
@Suite("Negotiation of many contexts with role selection (UL-10, UL-14)")
struct NegotiationManyContextsTests {
    static let storageClasses = (1...60).map { "1.2.840.10008.5.1.4.1.1.\($0)" }
    /// SCP role allowed for the first 40 storage classes only.
    static let policy = AcceptorPolicy(
        aeTitle: "QRSCP",
        supported: Dictionary(
            uniqueKeysWithValues: storageClasses.prefix(50).map { ($0, [UIDs.explicitLE, UIDs.implicitLE]) }
                + [(UIDs.studyRootGet, [UIDs.implicitLE])]),
        implementationClassUID: "1.2.3", requestorSCPRoleSOPClasses: Set(storageClasses.prefix(40)))

    @Test func everyContextGetsTheFirstRoleItemOfItsClass() throws {
        var contexts: [PresentationContextProposal] = [
            .init(id: 1, abstractSyntax: UIDs.studyRootGet, transferSyntaxes: [UIDs.implicitLE])
        ]
        var id: UInt8 = 3
        for (i, uid) in Self.storageClasses.enumerated() {
            // Two contexts per class; every fifth class's second context offers nothing we accept.
            contexts.append(.init(id: id, abstractSyntax: uid, transferSyntaxes: [UIDs.implicitLE, UIDs.explicitLE]))
            contexts.append(
                .init(
                    id: id + 2, abstractSyntax: uid,
                    transferSyntaxes: i % 5 == 0 ? [UIDs.explicitBE] : [UIDs.implicitLE]))
            id &+= 4
        }
        var roles: [RoleSelection] = Self.storageClasses.enumerated().map { i, uid in
            .init(sopClassUID: uid, scuRole: i % 3 == 0, scpRole: i % 2 == 0)
        }
        // Repeated items for a class: only the first counts.
        roles += Self.storageClasses.prefix(10).map { .init(sopClassUID: $0, scuRole: true, scpRole: true) }
        roles.append(.init(sopClassUID: "1.2.3.4.5", scuRole: true, scpRole: true))
        let rq = AssociateRequest(
            protocolVersion: 1, calledAETitle: "QRSCP", callingAETitle: "SCU", applicationContextName: UIDs.appContext,
            presentationContexts: contexts,
            userInformation: .init(maxPDULength: 16384, implementationClassUID: "1.2.3.4", roleSelections: roles))
        guard case .accept(let ac, let n) = negotiate(rq, policy: Self.policy) else {
            Issue.record("rejected")
            return
        }

        // Expected answers, written out from the rules.
        let supported = Set(Self.storageClasses.prefix(50)).union([UIDs.studyRootGet])
        let allowedSCP = Set(Self.storageClasses.prefix(40))
        var firstRole: [String: RoleSelection] = [:]
        for r in roles where firstRole[r.sopClassUID] == nil { firstRole[r.sopClassUID] = r }
        var acceptedClasses: Set<String> = []
        #expect(ac.presentationContexts.count == contexts.count)
        for (pc, result) in zip(contexts, ac.presentationContexts) {
            #expect(result.id == pc.id)
            if !supported.contains(pc.abstractSyntax) {
                #expect(result.result == .abstractSyntaxNotSupported && n.contexts[pc.id] == nil)
            } else if pc.transferSyntaxes == [UIDs.explicitBE] {
                #expect(result.result == .transferSyntaxesNotSupported && n.contexts[pc.id] == nil)
            } else {
                acceptedClasses.insert(pc.abstractSyntax)
                let expectedTS =
                    pc.abstractSyntax == UIDs.studyRootGet
                    ? UIDs.implicitLE
                    : pc.transferSyntaxes.contains(UIDs.explicitLE) ? UIDs.explicitLE : UIDs.implicitLE
                #expect(result.result == .acceptance && result.transferSyntax == expectedTS)
                let ctx = try #require(n.contexts[pc.id])
                let role = firstRole[pc.abstractSyntax]
                #expect(ctx.requestorIsSCU == (role?.scuRole ?? true), "\(pc.id)")
                #expect(
                    ctx.requestorIsSCP == ((role?.scpRole ?? false) && allowedSCP.contains(pc.abstractSyntax)),
                    "\(pc.id)")
            }
        }
        var expectedReplies: [RoleSelection] = []
        var replied: Set<String> = []
        for r in roles where acceptedClasses.contains(r.sopClassUID) && !replied.contains(r.sopClassUID) {
            replied.insert(r.sopClassUID)
            expectedReplies.append(
                .init(
                    sopClassUID: r.sopClassUID, scuRole: r.scuRole,
                    scpRole: r.scpRole && allowedSCP.contains(r.sopClassUID)))
        }
        #expect(ac.userInformation.roleSelections == expectedReplies)
        #expect(expectedReplies.count == 50)
    }

    @Test("UL-08 padding: leading and trailing NUL/space only, whatever the mix")
    func uidPadding() {
        #expect(DICOMText.uid(Array("1.2.3".utf8)[...]) == "1.2.3")
        #expect(DICOMText.uid(([0x20, 0x00] + Array("1.2.3".utf8) + [0x00, 0x20, 0x00])[...]) == "1.2.3")
        #expect(DICOMText.uid(([0x31, 0x20, 0x32])[...]) == "1 2")
        #expect(DICOMText.uid([0x00, 0x20, 0x00][...]) == "")
        #expect(DICOMText.uid([][...]) == "")
        let field = Array("xx  QRSCP       ".utf8)
        #expect(DICOMText.aeTitle(field[2...]) == "QRSCP")
    }
}
