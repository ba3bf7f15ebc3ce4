// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: the upper-layer state machine (PS3.8 §9.2, Table 9-10) under random event
// sequences, for the acceptor and the requestor path alike.
//
// Input: one byte per event (value mod 19 + 1 is the event number; for Evt19 the next byte is
// the abort reason). Events that carry a PDU or a primitive get a fixed, valid one. Checked
// after every event besides "no trap":
// - ARTIM runs only in Sta2 and Sta13, the states that wait on it (Table 9-10);
// - a P-DATA-TF is sent only from Sta6 or Sta8 (DT-1, AR-7);
// - the outputs start ARTIM only when the machine says it now runs, and stop it only when not.
import DICOM
import DICOMNetwork

private let request = AssociateRequest.requestor(
    callingAETitle: "FUZZSCU", calledAETitle: "QRSCPD",
    contexts: [RequestedContext(abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: ["1.2.840.10008.1.2"])],
    maxPDULength: 16384, implementationClassUID: Implementation.classUID)
private let policy = AcceptorPolicy(
    aeTitle: "QRSCPD", supported: ["1.2.840.10008.1.1": ["1.2.840.10008.1.2"]],
    implementationClassUID: Implementation.classUID)
private let accept: AssociateAccept = {
    guard case .accept(let ac, _) = negotiate(request, policy: policy) else {
        fatalError("the fixed request is acceptable")
    }
    return ac
}()
private let reject: AssociateReject = {
    var wrongAE = policy
    wrongAE.aeTitle = "SOMEONE"
    guard case .reject(let rj) = negotiate(request, policy: wrongAE) else {
        fatalError("a wrong called AE is rejected")
    }
    return rj
}()
private let pData = PDataTF(pdvs: [PDV(contextID: 1, isCommand: true, isLast: true, fragment: [0, 0, 0, 0][...])])
private let abort: AbortPDU = {
    guard case .abort(let a) = try! PDU.decode(type: 0x07, body: [0, 0, 2, 6][...]) else {
        fatalError("an A-ABORT body")
    }
    return a
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAssociation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var machine = AssociationStateMachine()
    var i = 0
    while i < bytes.count {
        let event: AssociationStateMachine.Event
        switch Int(bytes[i]) % 19 + 1 {
        case 1: event = .associateRequest(request)
        case 2: event = .transportConnectConfirm
        case 3: event = .associateACReceived(accept)
        case 4: event = .associateRJReceived(reject)
        case 5: event = .transportConnectIndication
        case 6: event = .associateRQReceived(request)
        case 7: event = .associateAcceptResponse(accept)
        case 8: event = .associateRejectResponse(reject)
        case 9: event = .pDataRequest(pData)
        case 10: event = .pDataReceived(pData)
        case 11: event = .releaseRequest
        case 12: event = .releaseRQReceived
        case 13: event = .releaseRPReceived
        case 14: event = .releaseResponse
        case 15: event = .abortRequest
        case 16: event = .abortReceived(abort)
        case 17: event = .transportClosed
        case 18: event = .artimExpired
        default:
            i += 1
            event = .invalidPDU(AbortReason(rawValue: i < bytes.count ? bytes[i] : 0))
        }
        i += 1
        let before = machine.state
        let outputs = machine.handle(event)
        for output in outputs {
            switch output {
            case .sendPDU(.pData):
                precondition(before == .sta6 || before == .sta8, "P-DATA sent from \(before)")
            case .startARTIM:
                precondition(machine.isARTIMRunning, "ARTIM started but not running")
            case .stopARTIM where !outputs.contains(.startARTIM):
                precondition(!machine.isARTIMRunning, "ARTIM stopped but running")
            default:
                break
            }
        }
        if machine.isARTIMRunning {
            precondition(
                machine.state == .sta2 || machine.state == .sta13,
                "ARTIM running in \(machine.state) after event \(event.number) from \(before)")
        }
    }
    return 0
}
