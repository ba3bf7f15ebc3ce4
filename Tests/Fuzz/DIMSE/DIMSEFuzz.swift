// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: DIMSE message assembly from PDVs (PS3.7 §6.3, PS3.8 Annex E) and the command
// set decoder, in both of the assembler's modes.
//
// Input: byte 0 bit 0 chooses incremental delivery (inbound associations, streaming C-STORE)
// over whole messages (outbound associations, identifiers); then PDV records, each
// [context ID, message control header, length, fragment bytes…]. Accepted contexts are 1, 3
// and 5. Checked besides "no trap": a decoded command set encodes to bytes that decode to the
// same command set; the accumulated data set length matches the fragments delivered; an
// identifier is read as the C-FIND service reads it.
import DICOM
import DICOMNetwork

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDIMSE(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let control = bytes.first else { return 0 }
    var assembler = DIMSEAssembler(
        acceptedContextIDs: [1, 3, 5], maxCommandLength: 4096,
        deliverDataSetIncrementally: control & 1 != 0)
    var i = 1
    while i + 3 <= bytes.count {
        let header = bytes[i + 1]
        let length = min(Int(bytes[i + 2]), bytes.count - (i + 3))
        let pdv = PDV(
            contextID: bytes[i], isCommand: header & 1 != 0, isLast: header & 2 != 0,
            fragment: bytes[(i + 3)..<(i + 3 + length)])
        i += 3 + length
        let output: DIMSEAssemblerOutput?
        do {
            output = try assembler.append(pdv)
        } catch {
            _ = error.description
            _ = error.abortReason
            return 0  // the association is aborted here
        }
        switch output {
        case .message(let message)?:
            check(message.command)
            if let fragments = message.dataSet {
                var joined: [UInt8] = []
                for f in fragments { joined += f }
                precondition(joined.count == message.dataSetLength, "data set length disagrees with its fragments")
                _ = try? DataSetReader.read(
                    joined[...], transferSyntax: control & 2 != 0 ? .explicitVRLittleEndian : .implicitVRLittleEndian)
            }
        case .command(_, let command)?:
            check(command)
        case .dataSetFragment?, nil:
            break
        }
    }
    return 0
}

/// Every accessor the services use answers, and the command set survives encoding.
private func check(_ command: CommandSet) {
    _ = (
        command.commandField, command.messageID, command.affectedSOPClassUID, command.affectedSOPInstanceUID,
        command.moveDestination, command.priority, command.status, command.offendingElements, command.errorComment,
        command.remainingSubOperations, command.messageIDBeingRespondedTo
    )
    let encoded = command.encoded()
    guard let again = try? CommandSet(decoding: encoded[...]) else {
        preconditionFailure("an encoded command set does not decode")
    }
    precondition(again == command, "an encoded command set decodes to a different command set")
}
