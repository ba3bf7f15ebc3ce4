// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// What the server offers in association negotiation: the abstract syntaxes it serves
/// and, for each, the transfer syntaxes it accepts in order of preference.
enum ServicePolicy {
    static let verificationSOPClass = "1.2.840.10008.1.1"

    /// Our preference when the requester offers several: Explicit VR LE keeps VRs on the
    /// wire (no dictionary needed to read the other side), then the universal default.
    static let uncompressedTransferSyntaxes = [
        "1.2.840.10008.1.2.1",  // Explicit VR Little Endian
        "1.2.840.10008.1.2",  // Implicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  // Deflated Explicit VR Little Endian
        "1.2.840.10008.1.2.2",  // Explicit VR Big Endian (retired, still seen)
    ]

    static let supported: [String: [String]] = [
        verificationSOPClass: uncompressedTransferSyntaxes,
        FindService.patientRootFind: uncompressedTransferSyntaxes,
        FindService.studyRootFind: uncompressedTransferSyntaxes,
        RetrieveService.patientRootGet: uncompressedTransferSyntaxes,
        RetrieveService.studyRootGet: uncompressedTransferSyntaxes,
        RetrieveService.patientRootMove: uncompressedTransferSyntaxes,
        RetrieveService.studyRootMove: uncompressedTransferSyntaxes,
    ]

    static func acceptorPolicy(for configuration: ServerConfiguration) -> AcceptorPolicy {
        // Storage SOP classes for ingest (StorageContexts); the Q/R entries win on a clash.
        let table =
            configuration.store.enabled
            ? supported.merging(StorageContexts.ingest) { ours, _ in ours }
            : supported
        var policy = AcceptorPolicy(
            aeTitle: configuration.aeTitle,
            checkCalledAETitle: true,
            supported: table,
            maxPDULength: configuration.maxPDULength,
            implementationClassUID: QRServerVersion.implementationClassUID,
            implementationVersionName: QRServerVersion.implementationVersionName,
            requestorSCPRoleSOPClasses: StorageContexts.sopClasses
        )
        // A caller allowed for no service at all is rejected with A-ASSOCIATE-RJ 1/1/3.
        if configuration.restrictsCallingAETitles {
            let allowed = configuration.allowedCallingAETitles
            policy.isCallingAETitleKnown = { ServerConfiguration.isKnown(callingAE: $0, in: allowed) }
        }
        return policy
    }
}
