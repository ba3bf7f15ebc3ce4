// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOMNetwork
import Logging
import Reactor

/// The association as the host of the DIMSE services it runs: the server's resources and
/// settings, and its own connection reduced to sending and flow control.
extension Association: DIMSEServiceHost {
    var loop: EventLoop { server.loop }
    var workers: WorkerPool? { server.workers }
    var index: (any IndexStore)? { server.store }
    var storeWriter: StoreWriter? { server.storeWriter }
    var storeCommitter: StoreCommitter? { server.storeCommitter }
    var configuration: ServerConfiguration { server.configuration }
    var findPageSize: Int { server.findPageSize }
    var statistics: any ServerStatisticsRecorder { server }

    var queuedOutputBytes: Int { connection.pendingWriteBytes }
    var outputLowWaterMark: Int { connection.writeLowWaterMark }

    func holdingOutput(_ body: () -> Void) { connection.holdingWrites(body) }

    func makeOutboundAssociation(request: AssociateRequest, peer: PeerAddress, logger: Logger) -> OutboundAssociation {
        OutboundAssociation(server: server, request: request, peer: peer, logger: logger)
    }
}

extension Association: DIMSEOperationScheduler {}
