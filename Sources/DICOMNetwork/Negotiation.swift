// SPDX-License-Identifier: Apache-2.0
/// Acceptor-side negotiation rules (PS3.8 §9.3.2–9.3.4, §7.1.1; PS3.7 Annex D.3.3).
/// The maximum number of associations is not here: the server enforces it (RJ 2/3/2).
public struct AcceptorPolicy: Sendable {
    /// Our AE title (sent back in the AC as received; used for the called-AE check).
    public var aeTitle: String
    /// Reject with 1/1/7 when the called AE title differs from ``aeTitle`` (after trimming, UL-06).
    public var checkCalledAETitle: Bool
    /// When set, a calling AE title for which it returns false is rejected with 1/1/3 (UL-16).
    public var isCallingAETitleKnown: (@Sendable (_ callingAETitle: String) -> Bool)?
    /// For a supported abstract syntax, the transfer syntaxes we accept in OUR order of preference;
    /// `nil` when the abstract syntax is not supported.
    public var transferSyntaxes: @Sendable (_ abstractSyntax: String) -> [String]?
    /// Our Maximum Length (51H) advertised in the AC.
    public var maxPDULength: UInt32
    public var implementationClassUID: String
    public var implementationVersionName: String?
    /// Whether the requestor may take the SCP role for a SOP class (C-GET storage, UL-14).
    public var acceptsRequestorSCPRole: @Sendable (_ sopClassUID: String) -> Bool
    /// The 56H reply for a SOP class given the requested application information; `nil` = all zeros
    /// (nothing supported). Bytes are clamped so we never answer non-zero where zero was requested (UL-15).
    public var extendedNegotiationReply: @Sendable (_ sopClassUID: String, _ requested: [UInt8]) -> [UInt8]?

    public init(
        aeTitle: String,
        checkCalledAETitle: Bool = true,
        transferSyntaxes: @escaping @Sendable (String) -> [String]?,
        maxPDULength: UInt32 = 16384,
        implementationClassUID: String,
        implementationVersionName: String? = nil,
        acceptsRequestorSCPRole: @escaping @Sendable (String) -> Bool = { _ in false },
        extendedNegotiationReply: @escaping @Sendable (String, [UInt8]) -> [UInt8]? = { _, _ in nil },
        isCallingAETitleKnown: (@Sendable (String) -> Bool)? = nil
    ) {
        self.isCallingAETitleKnown = isCallingAETitleKnown
        self.aeTitle = aeTitle
        self.checkCalledAETitle = checkCalledAETitle
        self.transferSyntaxes = transferSyntaxes
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.acceptsRequestorSCPRole = acceptsRequestorSCPRole
        self.extendedNegotiationReply = extendedNegotiationReply
    }

    /// A policy from a table: abstract syntax → transfer syntaxes in our preference order.
    public init(
        aeTitle: String, checkCalledAETitle: Bool = true, supported: [String: [String]],
        maxPDULength: UInt32 = 16384, implementationClassUID: String,
        implementationVersionName: String? = nil, requestorSCPRoleSOPClasses: Set<String> = []
    ) {
        self.init(
            aeTitle: aeTitle, checkCalledAETitle: checkCalledAETitle, transferSyntaxes: { supported[$0] },
            maxPDULength: maxPDULength, implementationClassUID: implementationClassUID,
            implementationVersionName: implementationVersionName,
            acceptsRequestorSCPRole: { requestorSCPRoleSOPClasses.contains($0) })
    }
}

/// Result of ``negotiate(_:policy:)``.
public enum AssociationNegotiation: Sendable, Hashable {
    case accept(AssociateAccept, NegotiatedAssociation)
    case reject(AssociateReject)
}

/// Negotiates an A-ASSOCIATE-RQ as acceptor (PS3.8 §9.3.3; PS3.7 D.3.3).
///
/// - RJ 1/1/2 unless the application context is 1.2.840.10008.3.1.1.1; RJ 1/2/2 when protocol
///   version bit 0 is clear (UL-05); RJ 1/1/7 on called-AE mismatch when checking (UL-06/16);
///   RJ 1/1/3 when ``AcceptorPolicy/isCallingAETitleKnown`` is set and refuses the calling AE.
/// - Every proposed context gets a 21H (UL-10): 3 when the abstract syntax is unsupported, 4 when no
///   proposed transfer syntax is acceptable, else 0 with the first transfer syntax in OUR preference
///   order that the requestor proposed. Rejected contexts carry the first proposed TS in their 40H.
///   An AC with every context rejected is sent rather than an RJ (UL-11).
/// - 54H: replied only for requested SOP classes that have an accepted context; a role is 1 only when
///   proposed and allowed (UL-14). 56H: replied only when requested, zeros for unsupported options
///   (UL-15). 53H: 1/1 only when requested (UL-13). 59H: empty server response only when a positive
///   response was requested; any identity is accepted.
public func negotiate(_ rq: AssociateRequest, policy: AcceptorPolicy) -> AssociationNegotiation {
    guard rq.applicationContextName == dicomApplicationContextName else {
        return .reject(.applicationContextNotSupported)
    }
    guard rq.protocolVersion & 0x0001 != 0 else { return .reject(.protocolVersionNotSupported) }
    if policy.checkCalledAETitle {
        let ours = DICOMText.aeTitle(Array(policy.aeTitle.utf8)[...])
        if rq.calledAETitle.isEmpty || rq.calledAETitle != ours { return .reject(.calledAETitleNotRecognized) }
    }
    if let known = policy.isCallingAETitleKnown, rq.callingAETitle.isEmpty || !known(rq.callingAETitle) {
        return .reject(.callingAETitleNotRecognized)
    }

    var results: [PresentationContextResult] = []
    results.reserveCapacity(rq.presentationContexts.count)
    // Accepted contexts by ID in a table of every possible ID (no hashing per context); the
    // first context proposed with an ID wins.
    var accepted = [NegotiatedAssociation.Context?](repeating: nil, count: 256)
    var acceptedCount = 0
    // The accepted context IDs of each abstract syntax: role selection and extended negotiation
    // look SOP classes up here instead of comparing against every accepted context.
    var acceptedIDs: [String: [UInt8]] = [:]
    acceptedIDs.reserveCapacity(rq.presentationContexts.count)
    for pc in rq.presentationContexts {
        let fallbackTS = pc.transferSyntaxes.first ?? ""
        guard let ours = policy.transferSyntaxes(pc.abstractSyntax) else {
            results.append(.init(id: pc.id, result: .abstractSyntaxNotSupported, transferSyntax: fallbackTS))
            continue
        }
        guard let chosen = ours.first(where: { pc.transferSyntaxes.contains($0) }) else {
            results.append(.init(id: pc.id, result: .transferSyntaxesNotSupported, transferSyntax: fallbackTS))
            continue
        }
        results.append(.init(id: pc.id, result: .acceptance, transferSyntax: chosen))
        if accepted[Int(pc.id)] == nil {
            accepted[Int(pc.id)] = .init(id: pc.id, abstractSyntax: pc.abstractSyntax, transferSyntax: chosen)
            acceptedCount += 1
            acceptedIDs[pc.abstractSyntax, default: []].append(pc.id)
        }
    }
    let ui = rq.userInformation

    // Role selection (UL-14): echo only requested roles, for SOP classes we accepted.
    var roleReplies: [RoleSelection] = []
    var seenRoles = Set<String>(minimumCapacity: ui.roleSelections.count)
    for rs in ui.roleSelections {
        guard let ids = acceptedIDs[rs.sopClassUID], seenRoles.insert(rs.sopClassUID).inserted else { continue }
        let reply = RoleSelection(
            sopClassUID: rs.sopClassUID, scuRole: rs.scuRole,
            scpRole: rs.scpRole && policy.acceptsRequestorSCPRole(rs.sopClassUID))
        roleReplies.append(reply)
        for id in ids {
            accepted[Int(id)]?.requestorIsSCU = reply.scuRole
            accepted[Int(id)]?.requestorIsSCP = reply.scpRole
        }
    }
    var contexts: [UInt8: NegotiatedAssociation.Context] = [:]
    contexts.reserveCapacity(acceptedCount)
    for case let context? in accepted { contexts[context.id] = context }

    // Extended negotiation (UL-15).
    var extReplies: [SOPClassExtendedNegotiation] = []
    var agreed: [String: [UInt8]] = [:]
    for en in ui.extendedNegotiations where acceptedIDs[en.sopClassUID] != nil && agreed[en.sopClassUID] == nil {
        let requested = en.applicationInformation
        var reply =
            policy.extendedNegotiationReply(en.sopClassUID, requested)
            ?? [UInt8](repeating: 0, count: requested.count)
        reply = reply.enumerated().map { i, b in i < requested.count && requested[i] != 0 ? b : 0 }
        extReplies.append(.init(sopClassUID: en.sopClassUID, applicationInformation: reply))
        agreed[en.sopClassUID] = reply
    }

    let userInfo = UserInformation(
        maxPDULength: policy.maxPDULength,
        implementationClassUID: policy.implementationClassUID,
        implementationVersionName: policy.implementationVersionName,
        asyncOperationsWindow: ui.asyncOperationsWindow == nil
            ? nil
            : .init(
                maxOperationsInvoked: 1,
                maxOperationsPerformed: 1),
        roleSelections: roleReplies,
        extendedNegotiations: extReplies,
        userIdentityResponse: ui.userIdentityRequest?.positiveResponseRequested == true
            ? UserIdentityResponse(serverResponse: []) : nil)

    let ac = AssociateAccept(
        protocolVersion: 0x0001, calledAETitle: rq.calledAETitle,
        callingAETitle: rq.callingAETitle, applicationContextName: dicomApplicationContextName,
        presentationContexts: results, userInformation: userInfo)
    let negotiated = NegotiatedAssociation(
        contexts: contexts, peerMaxPDULength: ui.maxPDULength ?? 0, ourMaxPDULength: policy.maxPDULength,
        peerImplementationClassUID: ui.implementationClassUID,
        peerImplementationVersionName: ui.implementationVersionName,
        callingAETitle: rq.callingAETitle, calledAETitle: rq.calledAETitle,
        extendedNegotiations: agreed, userIdentity: ui.userIdentityRequest)
    return .accept(ac, negotiated)
}
