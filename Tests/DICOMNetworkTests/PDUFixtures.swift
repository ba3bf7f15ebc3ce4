// SPDX-License-Identifier: Apache-2.0
@testable import DICOMNetwork

/// Hand-built byte vectors following the PS3.8 §9.3 layouts (and PS3.7 Annex D.3.3 sub-items).
enum Fixtures {
    static let fixedRQ: [UInt8] =
        hex("00 01 00 00") + ae16("QRSCP") + ae16("STORESCU") + [UInt8](repeating: 0, count: 32)

    static let appContextItem = item(0x10, ascii(UIDs.appContext))

    static let pc1 = item(
        0x20,
        [0x01, 0, 0, 0]
            + item(0x30, ascii(UIDs.verification))
            + item(0x40, ascii(UIDs.implicitLE))
            + item(0x40, ascii(UIDs.explicitLE)))

    static let pc3 = item(
        0x20,
        [0x03, 0, 0, 0]
            + item(0x30, ascii(UIDs.studyRootGet))
            + item(0x40, ascii(UIDs.implicitLE)))

    static let maxLength = item(0x51, hex("00 00 40 00"))
    static let implClass = item(0x52, ascii("1.2.3.4"))
    static let asyncWindow = item(0x53, hex("00 05 00 01"))
    static let roleSelection = item(0x54, be16(25) + ascii(UIDs.ctImage) + [0x00, 0x01])
    static let versionName = item(0x55, ascii("QRSCPD_1"))
    static let extNeg = item(0x56, be16(27) + ascii(UIDs.studyRootFind) + [0x01, 0x01])
    static let commonExtNeg = item(
        0x57,
        be16(25) + ascii(UIDs.ctImage) + be16(17) + ascii(UIDs.storageService)
            + be16(2 + 7) + be16(7) + ascii("1.2.3.5"))
    static let userIdentity = item(0x58, [0x02, 0x01] + be16(4) + ascii("user") + be16(4) + ascii("pass"))

    static let userInfoRQ = item(
        0x50,
        maxLength + implClass + asyncWindow + roleSelection + versionName
            + extNeg + commonExtNeg + userIdentity)

    static let associateRQ: [UInt8] = pdu(0x01, fixedRQ + appContextItem + pc1 + pc3 + userInfoRQ)

    static let associateRQValue = AssociateRequest(
        protocolVersion: 1, calledAETitle: "QRSCP", callingAETitle: "STORESCU",
        applicationContextName: UIDs.appContext,
        presentationContexts: [
            .init(id: 1, abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE, UIDs.explicitLE]),
            .init(id: 3, abstractSyntax: UIDs.studyRootGet, transferSyntaxes: [UIDs.implicitLE]),
        ],
        userInformation: UserInformation(
            maxPDULength: 16384,
            implementationClassUID: "1.2.3.4",
            implementationVersionName: "QRSCPD_1",
            asyncOperationsWindow: .init(maxOperationsInvoked: 5, maxOperationsPerformed: 1),
            roleSelections: [.init(sopClassUID: UIDs.ctImage, scuRole: false, scpRole: true)],
            extendedNegotiations: [.init(sopClassUID: UIDs.studyRootFind, applicationInformation: [1, 1])],
            commonExtendedNegotiations: [
                .init(
                    sopClassUID: UIDs.ctImage, serviceClassUID: UIDs.storageService,
                    relatedGeneralSOPClassUIDs: ["1.2.3.5"])
            ],
            userIdentityRequest: .init(
                identityType: .usernameAndPasscode, positiveResponseRequested: true,
                primaryField: ascii("user"), secondaryField: ascii("pass"))))

    static let acPC1 = item(0x21, [0x01, 0, 0x00, 0] + item(0x40, ascii(UIDs.explicitLE)))
    static let acPC3 = item(0x21, [0x03, 0, 0x03, 0] + item(0x40, ascii(UIDs.implicitLE)))
    static let userInfoAC = item(
        0x50,
        maxLength + implClass + item(0x53, hex("00 01 00 01"))
            + roleSelection + versionName + item(0x56, be16(27) + ascii(UIDs.studyRootFind) + [0x01, 0x00])
            + item(0x59, be16(5) + ascii("token")))

    static let associateAC: [UInt8] = pdu(0x02, fixedRQ + appContextItem + acPC1 + acPC3 + userInfoAC)

    static let associateACValue = AssociateAccept(
        protocolVersion: 1, calledAETitle: "QRSCP", callingAETitle: "STORESCU",
        applicationContextName: UIDs.appContext,
        presentationContexts: [
            .init(id: 1, result: .acceptance, transferSyntax: UIDs.explicitLE),
            .init(id: 3, result: .abstractSyntaxNotSupported, transferSyntax: UIDs.implicitLE),
        ],
        userInformation: UserInformation(
            maxPDULength: 16384,
            implementationClassUID: "1.2.3.4",
            implementationVersionName: "QRSCPD_1",
            asyncOperationsWindow: .init(maxOperationsInvoked: 1, maxOperationsPerformed: 1),
            roleSelections: [.init(sopClassUID: UIDs.ctImage, scuRole: false, scpRole: true)],
            extendedNegotiations: [.init(sopClassUID: UIDs.studyRootFind, applicationInformation: [1, 0])],
            userIdentityResponse: .init(serverResponse: ascii("token"))))

    static let associateRJ = hex("03 00 00 00 00 04 00 01 01 07")
    static let releaseRQ = hex("05 00 00 00 00 04 00 00 00 00")
    static let releaseRP = hex("06 00 00 00 00 04 00 00 00 00")
    static let abort = hex("07 00 00 00 00 04 00 00 02 06")

    /// P-DATA-TF with a 3-byte last command fragment on context 1 and a 4-byte data fragment on context 3.
    static let pData =
        hex("04 00 00 00 00 13") + hex("00 00 00 05 01 03 AA BB CC")
        + hex("00 00 00 06 03 00 01 02 03 04")
}
