// SPDX-License-Identifier: Apache-2.0
/// A-ASSOCIATE-AC PDU (PS3.8 §9.3.3): same fixed part as the RQ (AE titles echoed from the RQ),
/// application context (10H), presentation context results (21H) and user information (50H).
public struct AssociateAccept: Sendable, Hashable {
    public var protocolVersion: UInt16
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContextName: String
    public var presentationContexts: [PresentationContextResult]
    public var userInformation: UserInformation

    public init(
        protocolVersion: UInt16 = 0x0001,
        calledAETitle: String,
        callingAETitle: String,
        applicationContextName: String = dicomApplicationContextName,
        presentationContexts: [PresentationContextResult],
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
