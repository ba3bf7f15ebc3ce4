// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// The final C-GET/C-MOVE response with its Identifier (the Failed SOP Instance UID List, PS3.4
/// C.4.2.1.3 / C.4.3.1.3) as one P-DATA-TF PDU holding two PDVs, command then data set (PS3.8
/// §9.3.5 allows several PDVs per PDU).
///
/// Why: DCMTK's getscu (DcmSCU, 3.6.7) reads the command of a final C-GET-RSP but not the data set
/// that follows, then requests release; a data set that comes in a PDU of its own then arrives
/// where it waits for A-RELEASE-RP, and it reports "Association Release Failed: DUL P-Data PDU
/// arrived" and aborts. A data set in the same PDU as the command was read with it and is
/// simply left unused, so the release completes. Peers that do read the Identifier (pynetdicom,
/// movescu) see the same message either way.
enum FinalResponseFraming {
    /// The response and its Identifier as one PDU, or nil when both do not fit in the peer's
    /// Maximum Length (a long Failed list): then they go out the usual way, a PDU each.
    static func singlePDU(
        contextID: UInt8, command: CommandSet, identifier: [UInt8],
        peerMaxPDULength: UInt32
    ) -> [UInt8]? {
        let pdu = PDataTF(pdvs: [
            PDV(contextID: contextID, isCommand: true, isLast: true, fragment: command.encoded()[...]),
            PDV(contextID: contextID, isCommand: false, isLast: true, fragment: identifier[...]),
        ])
        let limit = peerMaxPDULength == 0 ? DIMSEFragmenter.unlimitedCap : peerMaxPDULength
        guard pdu.pduLength <= Int(limit) else { return nil }
        return PDU.pData(pdu).encoded()
    }
}
