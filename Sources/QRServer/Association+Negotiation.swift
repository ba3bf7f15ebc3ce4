// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// Answering an A-ASSOCIATE-RQ: the negotiated contexts and the association limit.
extension Association {
    // MARK: - Negotiation

    func decide(_ request: AssociateRequest) {
        logger[metadataKey: "calling_ae"] = "\(request.callingAETitle)"
        logger[metadataKey: "called_ae"] = "\(request.calledAETitle)"
        if let refusal = server.certificateRefusal(for: self, callingAETitle: request.callingAETitle) {
            logger[metadataKey: "certificate_subject"] = "\(refusal.subject)"
            refuse(with: .callingAETitleNotRecognized, because: refusal.reason)
            return
        }
        switch negotiate(request, policy: StorageContexts.policy(server.acceptorPolicy, for: request)) {
        case .reject(let reject):
            refuse(with: reject, because: "negotiation refused")
        case .accept(let accept, let negotiated):
            guard server.reserveAssociationSlot(for: self) else {
                refuse(
                    with: .localLimitExceeded,
                    because: "association limit (\(server.configuration.maxAssociations)) reached"
                )
                return
            }
            holdsAssociationSlot = true
            server.statistics.associationsAccepted += 1
            server.tlsAssociationAccepted(self)
            logger.info(
                "association accepted",
                metadata: [
                    "contexts_accepted": "\(negotiated.contexts.count)",
                    "contexts_proposed": "\(request.presentationContexts.count)",
                    "peer_max_pdu": "\(negotiated.peerMaxPDULength)",
                ])
            if negotiated.contexts.isEmpty {
                logger.warning(
                    "no presentation context was acceptable",
                    metadata: [
                        "abstract_syntaxes":
                            "\(Set(request.presentationContexts.map(\.abstractSyntax)).sorted().joined(separator: ","))"
                    ])
            }
            driver.accept(accept, negotiated: negotiated)
        }
    }

    private func refuse(with reject: AssociateReject, because reason: String) {
        server.statistics.associationsRejected += 1
        logger.notice(
            "association rejected",
            metadata: [
                "reason": "\(reason)",
                "result": "\(reject.result.rawValue)",
                "source": "\(reject.source.rawValue)",
                "diagnostic": "\(reject.reason.rawValue)",
            ])
        driver.reject(reject)
    }
}
