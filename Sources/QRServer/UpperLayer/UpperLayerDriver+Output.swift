// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Reactor

/// Sending DIMSE messages, and holding them back while a streamed message goes out.
extension UpperLayerDriver {
    /// Sends a DIMSE message as P-DATA-TF PDUs no larger than the peer accepts.
    ///
    /// DT-1 is carried out here directly rather than through the state machine: it changes
    /// no state, and the fragmenter's output goes to `writev` without being re-boxed.
    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [ArraySlice<UInt8>]? = nil) {
        guard canSendPData, let negotiated else { return }
        guard let dataSet else {
            writeMessagePieces([
                DIMSEFragmenter.commandPDUs(
                    contextID: contextID, command: command,
                    peerMaxPDULength: negotiated.peerMaxPDULength)[...]
            ])
            return
        }
        let pieces = DIMSEFragmenter.pieces(
            contextID: contextID,
            command: command.encoded()[...],
            dataSet: dataSet,
            peerMaxPDULength: negotiated.peerMaxPDULength
        )
        writeMessagePieces(pieces)
    }

    /// Sends P-DATA-TF PDUs framed elsewhere (see `DIMSEFragmenter.append`) as one piece:
    /// a page of C-FIND responses, framed on the worker pool, goes out in one write.
    func sendPData(_ pdus: [UInt8]) {
        guard canSendPData, negotiated != nil, !pdus.isEmpty else { return }
        writeMessagePieces([pdus[...]])
    }

    /// Writes whole messages, or holds them back while a streamed message is going out.
    private func writeMessagePieces(_ pieces: [ArraySlice<UInt8>]) {
        if heldDuringStream != nil {
            heldDuringStream!.append(contentsOf: pieces)
            heldBytes += pieces.reduce(0) { $0 + $1.count }
        } else {
            connection?.write(pieces)
        }
    }

    /// Output queued for the peer: on the connection, or held back while a data set streams out.
    var pendingOutputBytes: Int { (connection?.pendingWriteBytes ?? 0) + heldBytes }
    /// The connection's low-water mark (0 before it is connected).
    var writeLowWaterMark: Int { connection?.writeLowWaterMark ?? 0 }
    /// Whether queued output (held messages included) is at or above the connection's low-water
    /// mark: producers of responses (C-FIND pages) wait until it is not.
    var isOutputAboveLowWater: Bool { pendingOutputBytes >= writeLowWaterMark }
    /// Whether a streamed message is going out (other messages are held until it ends).
    var isStreamingMessage: Bool { heldDuringStream != nil }

    /// Sends a command and the first stretch of its data set (the whole data set when `isLast`).
    /// Otherwise the data set goes on with ``continueStreamedMessage(contextID:_:isLast:)``, and
    /// other messages wait until it ends.
    func beginStreamedMessage(contextID: UInt8, command: CommandSet, firstPart: DataSetStretch, isLast: Bool) {
        guard canSendPData, let negotiated, let connection, heldDuringStream == nil else { return }
        let commandPiece = DIMSEFragmenter.commandPiece(
            contextID: contextID, command: command,
            peerMaxPDULength: negotiated.peerMaxPDULength)
        let pieces = firstPart.outputPieces(
            contextID: contextID, isLast: isLast,
            peerMaxPDULength: negotiated.peerMaxPDULength, headers: frameHeaders,
            after: commandPiece)
        if !isLast { heldDuringStream = [] }
        connection.write(pieces)
    }

    /// The next stretch of a streamed data set; after the last one, held messages go out and the
    /// delegate is told.
    func continueStreamedMessage(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        guard canSendPData, let negotiated, let connection, heldDuringStream != nil else { return }
        connection.write(
            part.outputPieces(
                contextID: contextID, isLast: isLast,
                peerMaxPDULength: negotiated.peerMaxPDULength, headers: frameHeaders))
        if isLast {
            let held = heldDuringStream ?? []
            heldDuringStream = nil
            heldBytes = 0
            if !held.isEmpty { connection.write(held) }
            delegate?.upperLayerStreamedMessageEnded(self)
        }
    }
}
