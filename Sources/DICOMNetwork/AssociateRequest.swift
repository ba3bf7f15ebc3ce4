// SPDX-License-Identifier: Apache-2.0
/// A-ASSOCIATE-RQ PDU (PS3.8 §9.3.2): protocol version, called and calling AE titles (16 bytes,
/// space padded; stored trimmed, UL-06), application context (10H), presentation contexts (20H)
/// and user information (50H).
public struct AssociateRequest: Sendable, Hashable {
    /// Protocol version bit field; bit 0 set = version 1 (UL-05).
    public var protocolVersion: UInt16
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContextName: String
    public var presentationContexts: [PresentationContextProposal]
    public var userInformation: UserInformation

    public init(
        protocolVersion: UInt16 = 0x0001,
        calledAETitle: String,
        callingAETitle: String,
        applicationContextName: String = dicomApplicationContextName,
        presentationContexts: [PresentationContextProposal],
        userInformation: UserInformation
    ) {
        self.protocolVersion = protocolVersion
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.applicationContextName = applicationContextName
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }
}
