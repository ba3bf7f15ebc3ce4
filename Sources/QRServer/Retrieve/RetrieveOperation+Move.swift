// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Reactor

/// C-MOVE: the sub-association to the move destination and its presentation contexts.
extension RetrieveOperation {
    func openSubAssociation(destination: String) {
        guard let host, let peer else { return }
        phase = .connecting
        // One context per SOP class / transfer syntax pair: the stored syntax, plus the two
        // uncompressed little-endian ones for native objects (EN-06).
        var pairs: [(String, String)] = []
        var seen: Set<String> = []
        func add(_ sop: String, _ ts: String) {
            if seen.insert(sop + "|" + ts).inserted { pairs.append((sop, ts)) }
        }
        for instance in instances {
            add(instance.sopClassUID, instance.transferSyntaxUID)
            if TransferSyntax(uid: instance.transferSyntaxUID).isNative {
                add(instance.sopClassUID, TransferSyntax.explicitVRLittleEndian.uid)
                add(instance.sopClassUID, TransferSyntax.implicitVRLittleEndian.uid)
            }
        }
        if pairs.count > 128 {
            logger.warning(
                "C-MOVE needs more than 128 presentation contexts; proposing the first 128",
                metadata: ["needed": "\(pairs.count)"])
            pairs = Array(pairs.prefix(128))
        }
        let contexts = pairs.map { RequestedContext(abstractSyntax: $0.0, transferSyntaxes: [$0.1]) }
        let configuration = host.configuration
        let rq = AssociateRequest.requestor(
            callingAETitle: configuration.aeTitle, calledAETitle: destination, contexts: contexts,
            maxPDULength: configuration.maxPDULength,
            implementationClassUID: QRServerVersion.implementationClassUID,
            implementationVersionName: QRServerVersion.implementationVersionName)
        let sub = host.makeOutboundAssociation(request: rq, peer: peer, logger: logger)
        subAssociation = sub
        sub.onEstablished = { [weak self] result in self?.subAssociationEstablished(result) }
        sub.onMessage = { [weak self] message in self?.subAssociationMessage(message) }
        sub.onUnexpectedEnd = { [weak self] reason in self?.subAssociationEnded(reason) }
        sub.open()
    }

    private func subAssociationEstablished(_ result: Result<Void, SubOperationFailure>) {
        guard phase == .connecting, isAlive else { return }
        switch result {
        case .failure(let failure):
            subAssociation = nil
            failRemaining(reason: failure.reason)
            finish(.outOfResourcesUnableToPerformSubOperations, comment: failure.reason)
        case .success:
            channel = subAssociation
            subAssociation?.onWritable = { [weak self] in self?.connectionWritable() }
            if cancelRequested {
                finish(.cancel)
            } else {
                phase = .running
                pump()
            }
        }
    }

    private func subAssociationMessage(_ message: DIMSEMessage) {
        guard message.command.commandField == .cStoreRSP else {
            logger.debug(
                "unexpected message on the C-MOVE sub-association ignored",
                metadata: ["dimse_command": "\(message.command.commandField.map { "\($0)" } ?? "?")"])
            return
        }
        _ = storeResponse(message)
    }

    /// The destination aborted or closed the sub-association before we released it.
    private func subAssociationEnded(_ reason: String) {
        subAssociation = nil
        guard phase != .finished, isAlive else { return }
        stream = nil
        currentMessageID = nil
        earlyResponse = nil
        if let current {
            self.current = nil
            tally.recordFailure(sopInstanceUID: current.sopInstanceUID)
            logSubOperationFailure(current, reason: reason)
        }
        failRemaining(reason: reason)
        finish(cancelRequested ? .cancel : tally.finalStatus, comment: reason)
    }
}
