// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// Where the C-STORE sub-operations of a retrieve go: the requesting association (C-GET) or an
/// association we open to the move destination (C-MOVE). Loop-confined.
///
/// A data set goes out either whole (``sendStore(contextID:command:dataSet:isComplete:)`` with
/// `isComplete`) or streamed: the command with the first stretch, then stretches with
/// ``sendStoreData(contextID:_:isLast:)``. Nothing else is sent on the channel in between, so
/// the PDVs of two messages never interleave.
protocol StoreChannel: AnyObject {
    /// Whether C-STORE-RQs can still be sent.
    var isOpen: Bool { get }
    /// Accepted contexts on which we may send a C-STORE-RQ for a SOP class, lowest ID first.
    func storeContexts(for sopClassUID: String) -> [NegotiatedAssociation.Context]
    /// The peer's Maximum Length: streamed stretches are sized to fill its PDUs.
    var peerMaxPDULength: UInt32 { get }
    /// Output queued for the peer and not yet taken by the kernel.
    var pendingWriteBytes: Int { get }
    /// The output level below which the channel reports it can take more (``RetrieveOperation/connectionWritable()``).
    var writeLowWaterMark: Int { get }
    /// Sends a C-STORE-RQ and its data set, or only the data set's first stretch when not `isComplete`.
    func sendStore(contextID: UInt8, command: CommandSet, dataSet: DataSetStretch, isComplete: Bool)
    /// The next stretch of a streamed data set; `isLast` ends the message.
    func sendStoreData(contextID: UInt8, _ part: DataSetStretch, isLast: Bool)
}

/// C-GET: the sub-operations go back over the requesting association, on contexts for which the
/// requester took the SCP role (QR-23).
final class GetStoreChannel: StoreChannel {
    private weak var host: (any DIMSEServiceHost)?

    init(host: any DIMSEServiceHost) { self.host = host }

    var isOpen: Bool { host?.isActive ?? false }

    func storeContexts(for sopClassUID: String) -> [NegotiatedAssociation.Context] {
        guard let negotiated = host?.negotiated else { return [] }
        return negotiated.contexts.values
            .filter { $0.abstractSyntax == sopClassUID && $0.requestorIsSCP }
            .sorted { $0.id < $1.id }
    }

    var peerMaxPDULength: UInt32 { host?.negotiated?.peerMaxPDULength ?? 0 }
    var pendingWriteBytes: Int { host?.queuedOutputBytes ?? 0 }
    var writeLowWaterMark: Int { host?.outputLowWaterMark ?? 0 }

    func sendStore(contextID: UInt8, command: CommandSet, dataSet: DataSetStretch, isComplete: Bool) {
        host?.beginStreamedMessage(
            contextID: contextID, command: command, firstPart: dataSet,
            isLast: isComplete)
    }

    func sendStoreData(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        host?.continueStreamedMessage(contextID: contextID, part, isLast: isLast)
    }
}
