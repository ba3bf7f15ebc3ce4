// SPDX-License-Identifier: Apache-2.0

/// Establishing the transport (a TLS handshake) before any application byte flows: driven by
/// readiness events for what the transport asks, bounded by its time limit.
extension Connection {
    func startEstablishTimer() {
        guard let limit = transport.establishTimeout else { return }
        establishTimer = loop.schedule(after: limit) { [weak self] in
            guard let self else { return }
            self.establishTimer = nil
            guard !self.isEstablished else { return }
            self.close(
                error: TransportEstablishError(
                    peer: self.peerAddress, reason: "not established within \(limit) (handshake stalled)",
                    timedOut: true))
        }
    }

    /// One step of establishing, on a readiness event (any event: a hang-up or error lets the
    /// transport find out and fail with its reason).
    func establishStep() {
        let established: Bool
        do {
            established = try transport.establish()
        } catch {
            close(error: TransportEstablishError(peer: peerAddress, reason: "\(error)", timedOut: false))
            return
        }
        guard established else {
            try? updateInterest()
            return
        }
        isEstablished = true
        if let establishTimer { loop.cancel(establishTimer) }
        establishTimer = nil
        try? updateInterest()
        onEstablished?()
        guard state != .closed else { return }
        if pendingWriteBytes > 0 && writesHeld == 0 { flush(fromEvent: false) }
        guard state != .closed else { return }
        // The handshake's last flight may have carried application bytes that the transport
        // already holds or the socket already has; epoll would not report them again.
        if !isReadingPaused { readAvailable() }
    }
}
