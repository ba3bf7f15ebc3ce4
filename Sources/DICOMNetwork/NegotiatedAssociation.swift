// SPDX-License-Identifier: Apache-2.0
/// The outcome of association negotiation as both sides use it afterwards (PS3.8 §9.3.2–9.3.3,
/// PS3.7 Annex D.3.3): accepted presentation contexts with their roles, the peer's limits and identity.
public struct NegotiatedAssociation: Sendable, Hashable {
    /// An accepted presentation context (PS3.8 §9.3.3.2) and the roles agreed for it (PS3.7 D.3.3.4).
    public struct Context: Sendable, Hashable {
        public var id: UInt8
        public var abstractSyntax: String
        public var transferSyntax: String
        /// The association requestor may act as SCU on this context (default true).
        public var requestorIsSCU: Bool
        /// The association requestor may act as SCP on this context (default false; C-GET storage).
        public var requestorIsSCP: Bool

        public init(
            id: UInt8, abstractSyntax: String, transferSyntax: String,
            requestorIsSCU: Bool = true, requestorIsSCP: Bool = false
        ) {
            self.id = id
            self.abstractSyntax = abstractSyntax
            self.transferSyntax = transferSyntax
            self.requestorIsSCU = requestorIsSCU
            self.requestorIsSCP = requestorIsSCP
        }
    }

    /// Accepted contexts by context ID.
    public var contexts: [UInt8: Context]
    /// The peer's Maximum Length (51H); 0 = unlimited (also when the peer sent none).
    public var peerMaxPDULength: UInt32
    /// The Maximum Length we advertised.
    public var ourMaxPDULength: UInt32
    public var peerImplementationClassUID: String?
    public var peerImplementationVersionName: String?
    public var callingAETitle: String
    public var calledAETitle: String
    /// Agreed SOP class extended negotiation (56H) by SOP class UID, as sent in the AC.
    public var extendedNegotiations: [String: [UInt8]]
    /// The user identity the requestor presented, if any (58H).
    public var userIdentity: UserIdentityRequest?

    public init(
        contexts: [UInt8: Context], peerMaxPDULength: UInt32, ourMaxPDULength: UInt32,
        peerImplementationClassUID: String?, peerImplementationVersionName: String?,
        callingAETitle: String, calledAETitle: String,
        extendedNegotiations: [String: [UInt8]] = [:], userIdentity: UserIdentityRequest? = nil
    ) {
        self.contexts = contexts
        self.peerMaxPDULength = peerMaxPDULength
        self.ourMaxPDULength = ourMaxPDULength
        self.peerImplementationClassUID = peerImplementationClassUID
        self.peerImplementationVersionName = peerImplementationVersionName
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.extendedNegotiations = extendedNegotiations
        self.userIdentity = userIdentity
    }

    /// IDs of the accepted contexts (for ``DIMSEAssembler``).
    public var acceptedContextIDs: Set<UInt8> { Set(contexts.keys) }

    /// The lowest-ID accepted context for an abstract syntax (and transfer syntax, if given).
    public func context(abstractSyntax: String, transferSyntax: String? = nil) -> Context? {
        contexts.values.filter {
            $0.abstractSyntax == abstractSyntax && (transferSyntax == nil || $0.transferSyntax == transferSyntax)
        }.min { $0.id < $1.id }
    }
}
