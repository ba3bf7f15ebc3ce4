// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// C-STORE back-pressure: reading pauses while too many received bytes wait for the store lane.
extension Association {
    // MARK: - C-STORE flow control

    /// Bytes handed to the store lane; above the limit the socket is no longer read.
    func storeBytesQueued(_ count: Int) {
        storeQueuedBytes += count
        if !readingPausedForStore, storeQueuedBytes > server.configuration.store.maxQueuedBytes {
            readingPausedForStore = true
            logger.trace("store queue full, pausing reads", metadata: ["queued_bytes": "\(storeQueuedBytes)"])
            connection.pauseReading()
        }
    }

    /// Bytes written by the store lane; reading resumes once half the limit is drained.
    func storeBytesWritten(_ count: Int) {
        storeQueuedBytes -= count
        if readingPausedForStore, storeQueuedBytes <= server.configuration.store.maxQueuedBytes / 2 {
            readingPausedForStore = false
            guard !isClosed else { return }
            connection.resumeReading()
        }
    }
}
