// SPDX-License-Identifier: Apache-2.0
import Archive
import Logging
import QRServer
import WebServer

extension Daemon {
    /// The figures logged when the daemon stops (the same counters STATUS= summarises).
    func logStatistics(_ s: ServerStatistics, commits: StoreCommitter.Statistics?, https: HTTPMetrics?) {
        let uptime = ContinuousClock.now - startedAt
        var metadata: Logger.Metadata = [
            "uptime_s": "\(uptime.components.seconds)",
            "connections": "\(s.connectionsOpened)",
            "associations": "\(s.associationsAccepted)",
            "rejected": "\(s.associationsRejected)",
            "aborted": "\(s.associationsAborted)",
            "messages": "\(s.messagesProcessed)",
            "echoes": "\(s.echoes)",
            "queries": "\(s.finds)",
            "query_matches": "\(s.findMatches)",
            "images_received": "\(s.storesReceived)",
            "gets": "\(s.gets)",
            "moves": "\(s.moves)",
            "images_sent": "\(s.imagesSent)",
            "damaged_files": "\(s.damagedFilesFound)",
            "stores_failed": "\(s.storesFailed)",
            "bytes_in": "\(s.bytesIn)",
            "bytes_out": "\(s.bytesOut)",
            "progress_timeouts": "\(s.progressTimeouts)",
            "unassociated_dropped": "\(s.unassociatedDropped)",
            "descriptor_exhaustions": "\(s.descriptorExhaustions)",
            "connections_shed": "\(s.connectionsShed)",
            "tls_handshakes": "\(s.tlsHandshakes)",
            "tls_handshake_failures": "\(s.tlsHandshakeFailures)",
            "tls_associations": "\(s.tlsAssociations)",
            "tls_ktls_send": "\(s.tlsKernelSend)",
            "tls_ssl_write": "\(s.tlsLibrarySend)",
        ]
        if let https {
            metadata["https_handshakes"] = "\(https.tlsHandshakes)"
            metadata["https_handshake_failures"] = "\(https.tlsHandshakeFailures)"
        }
        if let commits, commits.batches > 0 {
            // How well C-STORE commits were grouped across associations.
            metadata["store_commit_groups"] = "\(commits.batches)"
            metadata["store_largest_group"] = "\(commits.largestBatch)"
        }
        logger.notice("stopped", metadata: metadata)
    }
}
