// SPDX-License-Identifier: Apache-2.0
/// Asynchronous Operations Window sub-item, 53H (PS3.7 §D.3.3.3). 0 means unlimited.
public struct AsyncOperationsWindow: Sendable, Hashable {
    public var maxOperationsInvoked: UInt16
    public var maxOperationsPerformed: UInt16

    public init(maxOperationsInvoked: UInt16, maxOperationsPerformed: UInt16) {
        self.maxOperationsInvoked = maxOperationsInvoked
        self.maxOperationsPerformed = maxOperationsPerformed
    }
}

/// SCP/SCU Role Selection sub-item, 54H (PS3.7 §D.3.3.4; UL-14).
/// In the RQ the flags are the proposed roles; in the AC 1 = accepted, 0 = refused.
public struct RoleSelection: Sendable, Hashable {
    public var sopClassUID: String
    public var scuRole: Bool
    public var scpRole: Bool

    public init(sopClassUID: String, scuRole: Bool, scpRole: Bool) {
        self.sopClassUID = sopClassUID
        self.scuRole = scuRole
        self.scpRole = scpRole
    }
}

/// SOP Class Extended Negotiation sub-item, 56H (PS3.7 §D.3.3.5; UL-15).
public struct SOPClassExtendedNegotiation: Sendable, Hashable {
    public var sopClassUID: String
    /// Service-class application information, e.g. PS3.4 Table C.3-1 bytes for Q/R.
    public var applicationInformation: [UInt8]

    public init(sopClassUID: String, applicationInformation: [UInt8]) {
        self.sopClassUID = sopClassUID
        self.applicationInformation = applicationInformation
    }
}

/// SOP Class Common Extended Negotiation sub-item, 57H, RQ only (PS3.7 §D.3.3.6).
/// Byte 2 of this sub-item is the sub-item version (0), not reserved.
public struct SOPClassCommonExtendedNegotiation: Sendable, Hashable {
    public var sopClassUID: String
    public var serviceClassUID: String
    public var relatedGeneralSOPClassUIDs: [String]

    public init(sopClassUID: String, serviceClassUID: String, relatedGeneralSOPClassUIDs: [String] = []) {
        self.sopClassUID = sopClassUID
        self.serviceClassUID = serviceClassUID
        self.relatedGeneralSOPClassUIDs = relatedGeneralSOPClassUIDs
    }
}

/// User Identity negotiation sub-item of the RQ, 58H (PS3.7 §D.3.3.7.1).
public struct UserIdentityRequest: Sendable, Hashable {
    /// Identity type: 1 username, 2 username+passcode, 3 Kerberos, 4 SAML, 5 JWT.
    public struct IdentityType: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let username = Self(rawValue: 1)
        public static let usernameAndPasscode = Self(rawValue: 2)
        public static let kerberos = Self(rawValue: 3)
        public static let saml = Self(rawValue: 4)
        public static let jwt = Self(rawValue: 5)
    }

    public var identityType: IdentityType
    public var positiveResponseRequested: Bool
    public var primaryField: [UInt8]
    public var secondaryField: [UInt8]

    public init(
        identityType: IdentityType, positiveResponseRequested: Bool, primaryField: [UInt8],
        secondaryField: [UInt8] = []
    ) {
        self.identityType = identityType
        self.positiveResponseRequested = positiveResponseRequested
        self.primaryField = primaryField
        self.secondaryField = secondaryField
    }
}

/// User Identity negotiation sub-item of the AC, 59H (PS3.7 §D.3.3.7.2).
public struct UserIdentityResponse: Sendable, Hashable {
    public var serverResponse: [UInt8]

    public init(serverResponse: [UInt8]) {
        self.serverResponse = serverResponse
    }
}

/// A user-information sub-item of a type this module does not know; preserved, otherwise ignored (UL-09).
public struct UnknownSubItem: Sendable, Hashable {
    public var type: UInt8
    public var value: [UInt8]

    public init(type: UInt8, value: [UInt8]) {
        self.type = type
        self.value = value
    }
}

/// User Information item, 50H (PS3.8 §9.3.2.3, Annex D; PS3.7 Annex D.3.3).
///
/// Encoding order: 51H, 52H, 53H, 54H…, 55H, 56H…, 57H…, 58H, 59H, unknown sub-items.
public struct UserInformation: Sendable, Hashable {
    /// 51H: the maximum P-DATA-TF PDU length the sender can receive; 0 = no limit (PS3.8 D.1).
    public var maxPDULength: UInt32?
    /// 52H (mandatory per PS3.7 D.3.3.2, but its absence is tolerated on read).
    public var implementationClassUID: String?
    /// 55H (1–16 characters).
    public var implementationVersionName: String?
    public var asyncOperationsWindow: AsyncOperationsWindow?
    public var roleSelections: [RoleSelection]
    public var extendedNegotiations: [SOPClassExtendedNegotiation]
    public var commonExtendedNegotiations: [SOPClassCommonExtendedNegotiation]
    public var userIdentityRequest: UserIdentityRequest?
    public var userIdentityResponse: UserIdentityResponse?
    public var unknownSubItems: [UnknownSubItem]

    public init(
        maxPDULength: UInt32? = nil,
        implementationClassUID: String? = nil,
        implementationVersionName: String? = nil,
        asyncOperationsWindow: AsyncOperationsWindow? = nil,
        roleSelections: [RoleSelection] = [],
        extendedNegotiations: [SOPClassExtendedNegotiation] = [],
        commonExtendedNegotiations: [SOPClassCommonExtendedNegotiation] = [],
        userIdentityRequest: UserIdentityRequest? = nil,
        userIdentityResponse: UserIdentityResponse? = nil,
        unknownSubItems: [UnknownSubItem] = []
    ) {
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
        self.asyncOperationsWindow = asyncOperationsWindow
        self.roleSelections = roleSelections
        self.extendedNegotiations = extendedNegotiations
        self.commonExtendedNegotiations = commonExtendedNegotiations
        self.userIdentityRequest = userIdentityRequest
        self.userIdentityResponse = userIdentityResponse
        self.unknownSubItems = unknownSubItems
    }
}
