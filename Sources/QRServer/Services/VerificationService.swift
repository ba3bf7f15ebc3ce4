// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// Verification SOP Class SCP (PS3.4 Annex A): answers C-ECHO-RQ with success, echoing
/// the Affected SOP Class UID (QR-27).
enum VerificationService {
    static func handle(_ message: DIMSEMessage, on host: any DIMSEServiceHost) {
        guard let messageID = message.command.messageID else {
            host.logger.warning("C-ECHO-RQ without Message ID ignored")
            return
        }
        let sopClass = message.command.affectedSOPClassUID ?? ServicePolicy.verificationSOPClass
        let response = CommandSet.cEchoRSP(respondingTo: messageID, affectedSOPClassUID: sopClass, status: .success)
        host.statistics.record { $0.echoes += 1 }
        DIMSEResponder(host: host, contextID: message.contextID, commandName: "C-ECHO", started: nil)
            .respond(response, status: .success)
    }
}
