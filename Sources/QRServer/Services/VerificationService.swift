import DICOMNetwork

/// Verification SOP Class SCP (PS3.4 Annex A): answers C-ECHO-RQ with success, echoing
/// the Affected SOP Class UID (QR-27).
enum VerificationService {
    static func handle(_ message: DIMSEMessage, on association: Association) {
        guard let messageID = message.command.messageID else {
            association.logger.warning("C-ECHO-RQ without Message ID ignored")
            return
        }
        let sopClass = message.command.affectedSOPClassUID ?? ServicePolicy.verificationSOPClass
        let response = CommandSet.cEchoRSP(respondingTo: messageID, affectedSOPClassUID: sopClass, status: .success)
        association.server.statistics.echoes += 1
        association.logger.info("C-ECHO", metadata: ["dimse_command": "C-ECHO", "status": "0000"])
        association.sendMessage(contextID: message.contextID, command: response)
    }
}
