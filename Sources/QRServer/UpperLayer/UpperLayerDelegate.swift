// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// What an ``UpperLayerDriver`` tells the association that owns it (the acceptor,
/// `Association`, or the requestor, `OutboundAssociation`). Called on the loop, in the order
/// things happen; after ``upperLayer(_:endedWith:)`` nothing more is called.
///
/// Role-specific calls have empty defaults: an acceptor never sees an A-ASSOCIATE-AC, a
/// requestor never an A-ASSOCIATE-RQ.
protocol UpperLayerDelegate: AnyObject {
    /// Acceptor: an A-ASSOCIATE-RQ arrived (AE-6). Answer with ``UpperLayerDriver/accept(_:negotiated:)``
    /// or ``UpperLayerDriver/reject(_:)``.
    func upperLayer(_ driver: UpperLayerDriver, receivedAssociateRequest request: AssociateRequest)
    /// Requestor: open the transport (AE-1), then call ``UpperLayerDriver/transportConnected(_:)``,
    /// or give up with ``UpperLayerDriver/end()``.
    func upperLayerOpenTransport(_ driver: UpperLayerDriver)
    /// Requestor: the peer accepted (AE-3); data transfer may begin.
    func upperLayer(_ driver: UpperLayerDriver, associationAccepted negotiated: NegotiatedAssociation)
    /// Requestor: the peer rejected (AE-4); the transport is being closed.
    func upperLayer(_ driver: UpperLayerDriver, associationRejected reject: AssociateReject)

    /// A complete PDU arrived (progress, for an idle timer).
    func upperLayerReceivedPDU(_ driver: UpperLayerDriver)
    /// A complete DIMSE message: no data set, or a data set the driver accumulated.
    func upperLayer(_ driver: UpperLayerDriver, receivedMessage message: DIMSEMessage)
    /// A command whose data set streams (``UpperLayerDriver/streamedCommands``); its fragments follow.
    func upperLayer(_ driver: UpperLayerDriver, receivedCommand command: CommandSet, contextID: UInt8)
    /// One fragment of a streamed data set, as it arrived (a slice of the receive buffer).
    func upperLayer(
        _ driver: UpperLayerDriver, receivedDataSetFragment fragment: ArraySlice<UInt8>,
        contextID: UInt8, isLast: Bool)

    /// The peer asks to release (AR-2, AR-8); answer with ``UpperLayerDriver/releaseResponse()``.
    func upperLayerReleaseRequested(_ driver: UpperLayerDriver)
    /// Our A-RELEASE-RQ was answered (AR-3, AR-10).
    func upperLayerReleaseConfirmed(_ driver: UpperLayerDriver)
    /// The peer aborted, we aborted on its protocol error, or the transport closed without release.
    func upperLayer(_ driver: UpperLayerDriver, aborted indication: AssociationStateMachine.AbortIndication)

    /// Output that had reached the connection's low-water mark drained below it.
    func upperLayerWritable(_ driver: UpperLayerDriver)
    /// A streamed message ended and the messages held during it were queued.
    func upperLayerStreamedMessageEnded(_ driver: UpperLayerDriver)
    /// The connection is closed (or was never opened) and the driver is done; `error` is why the
    /// transport closed, if it did not close in order.
    func upperLayer(_ driver: UpperLayerDriver, endedWith error: Error?)
}

extension UpperLayerDelegate {
    func upperLayer(_ driver: UpperLayerDriver, receivedAssociateRequest request: AssociateRequest) {}
    func upperLayerOpenTransport(_ driver: UpperLayerDriver) {}
    func upperLayer(_ driver: UpperLayerDriver, associationAccepted negotiated: NegotiatedAssociation) {}
    func upperLayer(_ driver: UpperLayerDriver, associationRejected reject: AssociateReject) {}
    func upperLayerReceivedPDU(_ driver: UpperLayerDriver) {}
    func upperLayerReleaseRequested(_ driver: UpperLayerDriver) {}
    func upperLayerReleaseConfirmed(_ driver: UpperLayerDriver) {}
    func upperLayerWritable(_ driver: UpperLayerDriver) {}
    func upperLayerStreamedMessageEnded(_ driver: UpperLayerDriver) {}
}
