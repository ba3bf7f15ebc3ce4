// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// Operation metrics: the time each request arrived, and its final response counted by
/// command and status (``DIMSEMetrics``).
extension Association {
    /// A request arrived (C-CANCEL and responses to our own requests are not operations).
    func noteRequest(_ command: CommandSet) {
        guard let field = command.commandField, field.rawValue & 0x8000 == 0, field != .cCancelRQ,
            let messageID = command.messageID
        else { return }
        operationStarts[messageID] = .now
    }

    /// A response is going out: a final one (not pending) completes its operation.
    func noteResponse(_ command: CommandSet) {
        guard let field = command.commandField, field.rawValue & 0x8000 != 0,
            let index = DIMSEMetrics.commandIndex(field), let status = command.status, !status.isPending
        else { return }
        var seconds: Double?
        if let id = command.messageIDBeingRespondedTo, let started = operationStarts.removeValue(forKey: id) {
            let elapsed = ContinuousClock.now - started
            seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        server.metrics.record(command: index, status: status, seconds: seconds)
    }
}

extension DICOMServer {
    /// Associations established and not yet ended.
    public var activeAssociationCount: Int { establishedCount }

    /// Bytes received and sent on DICOM connections so far, open ones included.
    public var bytesTransferred: (received: Int, sent: Int) {
        var received = statistics.bytesIn
        var sent = statistics.bytesOut
        for association in associations.values {
            received += association.connection.bytesRead
            sent += association.connection.bytesWritten
        }
        return (received, sent)
    }
}
