// SPDX-License-Identifier: Apache-2.0
/// A presentation context the requestor wants (PS3.8 §9.3.2.2), with an optional role proposal
/// (54H, PS3.7 D.3.3.4) — e.g. `scp: true` for storage SOP classes received over C-GET.
public struct RequestedContext: Sendable, Hashable {
    public var abstractSyntax: String
    public var transferSyntaxes: [String]
    /// Proposed roles for the requestor; `nil` = default (SCU only, no 54H sent).
    public var role: (scu: Bool, scp: Bool)? {
        get { roleSCU.map { ($0, roleSCP ?? false) } }
        set {
            roleSCU = newValue?.scu
            roleSCP = newValue?.scp
        }
    }
    private var roleSCU: Bool?
    private var roleSCP: Bool?

    public init(abstractSyntax: String, transferSyntaxes: [String], role: (scu: Bool, scp: Bool)? = nil) {
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
        self.roleSCU = role?.scu
        self.roleSCP = role?.scp
    }
}

extension AssociateRequest {
    /// Builds an A-ASSOCIATE-RQ for a requestor (e.g. a C-MOVE sub-association). Context IDs are
    /// 1, 3, 5, … in list order; one 54H per SOP class that has a role proposal.
    public static func requestor(
        callingAETitle: String, calledAETitle: String, contexts: [RequestedContext],
        maxPDULength: UInt32, implementationClassUID: String, implementationVersionName: String? = nil
    ) -> AssociateRequest {
        precondition(contexts.count <= 128, "at most 128 presentation contexts")
        var proposals: [PresentationContextProposal] = []
        var roles: [RoleSelection] = []
        for (i, c) in contexts.enumerated() {
            proposals.append(
                .init(
                    id: UInt8(2 * i + 1), abstractSyntax: c.abstractSyntax,
                    transferSyntaxes: c.transferSyntaxes))
            if let r = c.role, !roles.contains(where: { $0.sopClassUID == c.abstractSyntax }) {
                roles.append(.init(sopClassUID: c.abstractSyntax, scuRole: r.scu, scpRole: r.scp))
            }
        }
        return AssociateRequest(
            calledAETitle: calledAETitle, callingAETitle: callingAETitle, presentationContexts: proposals,
            userInformation: UserInformation(
                maxPDULength: maxPDULength, implementationClassUID: implementationClassUID,
                implementationVersionName: implementationVersionName,
                roleSelections: roles))
    }
}

extension NegotiatedAssociation {
    /// Interprets an A-ASSOCIATE-AC received for our RQ (requestor side). Contexts accepted in the AC
    /// whose ID we did not propose are ignored. Roles: the AC's 54H reply ANDed with our proposal;
    /// without a reply, the defaults (requestor SCU only).
    public init(requestor rq: AssociateRequest, accept ac: AssociateAccept) {
        var contexts: [UInt8: Context] = [:]
        let proposed = Dictionary(rq.presentationContexts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for r in ac.presentationContexts where r.result.isAccepted {
            guard let p = proposed[r.id] else { continue }
            var ctx = Context(id: r.id, abstractSyntax: p.abstractSyntax, transferSyntax: r.transferSyntax)
            if let mine = rq.userInformation.roleSelections.first(where: { $0.sopClassUID == p.abstractSyntax }),
                let reply = ac.userInformation.roleSelections.first(where: { $0.sopClassUID == p.abstractSyntax })
            {
                ctx.requestorIsSCU = mine.scuRole && reply.scuRole
                ctx.requestorIsSCP = mine.scpRole && reply.scpRole
            }
            contexts[r.id] = ctx
        }
        self.init(
            contexts: contexts, peerMaxPDULength: ac.userInformation.maxPDULength ?? 0,
            ourMaxPDULength: rq.userInformation.maxPDULength ?? 0,
            peerImplementationClassUID: ac.userInformation.implementationClassUID,
            peerImplementationVersionName: ac.userInformation.implementationVersionName,
            callingAETitle: rq.callingAETitle, calledAETitle: rq.calledAETitle,
            extendedNegotiations: Dictionary(
                ac.userInformation.extendedNegotiations.map {
                    ($0.sopClassUID, $0.applicationInformation)
                }, uniquingKeysWith: { a, _ in a }),
            userIdentity: rq.userInformation.userIdentityRequest)
    }
}
