// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The receive path: readiness events, reads into the input buffer, delivery to ``onRead``, pausing.
extension Connection {
    // MARK: Reading

    /// Stops reading from the socket (backpressure): no ``onRead`` until ``resumeReading()``.
    public func pauseReading() {
        guard !isReadingPaused else { return }
        isReadingPaused = true
        try? updateInterest()
    }

    /// Resumes reading; input already buffered is delivered on the next loop iteration.
    public func resumeReading() {
        guard isReadingPaused, state == .open else { return }
        isReadingPaused = false
        try? updateInterest()
        guard isEstablished else { return }
        if !input.isEmpty {
            loop.execute { [weak self] in
                guard let self, !self.isReadingPaused, self.state == .open else { return }
                self.deliverInput()
            }
        }
        // Input held inside the transport is not signalled by epoll.
        if transport.hasBufferedInput && !isInputEnded { scheduleBufferedRead() }
    }

    /// Reads on the next loop iteration what the transport holds (decrypted bytes epoll cannot see).
    private func scheduleBufferedRead() {
        loop.execute { [weak self] in
            guard let self, !self.isReadingPaused, !self.isInputEnded, self.state == .open, self.isEstablished
            else { return }
            self.readAvailable()
        }
    }

    func handleEvents(_ events: EpollEvents) {
        guard isEstablished else {
            establishStep()
            return
        }
        let failed = !events.isDisjoint(with: [.error, .hangup])
        // A transport that waited for readiness on its own account (a TLS read that must write)
        // gets both directions retried.
        let transportRetry = !transportWants.isEmpty
        transportWants = []
        if events.contains(.writable) || ((failed || transportRetry) && pendingWriteBytes > 0) {
            flush(fromEvent: true)
        }
        guard state != .closed else { return }
        if !isReadingPaused && !isInputEnded {
            if transportRetry || !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) {
                readAvailable()
            }
        } else if events.contains(.error) || (isInputEnded && events.contains(.hangup)) {
            // Not reading (paused, or the peer's side has ended): don't deliver input, but don't
            // spin on a pending error either; a hang-up after the peer's end means its
            // receiving side is gone too.
            var err: Int32 = 0
            _ = qrs_socket_error(fd, &err)
            if err == 0 && !events.contains(.error) {
                close(error: nil)
            } else {
                close(error: SystemError(errno: err == 0 ? ECONNRESET : err, call: "socket"))
            }
        }
        // What the transport waited for is served: drop it from epoll unless it asked again.
        if transportRetry && state != .closed { try? updateInterest() }
    }

    func readAvailable() {
        var reads = 0
        var eof = false
        var failure: Error?
        while reads < Self.maxReadsPerEvent && !isReadingPaused {
            let chunkSize = sizer.next
            do {
                switch try transport.read(into: &input, chunkSize: chunkSize) {
                case .wouldBlock:
                    noteTransportWants()
                    reads = Self.maxReadsPerEvent
                case .processed(0):
                    eof = true
                case .processed(let n):
                    bytesRead += n
                    sizer.record(bytesRead: n, chunkSize: chunkSize)
                    if n < chunkSize { reads = Self.maxReadsPerEvent }
                }
            } catch {
                failure = error
            }
            if eof || failure != nil { break }
            reads += 1
        }
        // Set before delivering, so a handler's pause or resume does not ask to read again.
        if eof && failure == nil { isInputEnded = true }
        if !input.isEmpty { deliverInput() }
        guard state != .closed else { return }
        if let failure {
            close(error: failure)
        } else if eof {
            inputEnded()
        } else if !isReadingPaused && transport.hasBufferedInput {
            scheduleBufferedRead()
        }
    }

    /// The peer's end of stream: reading stops for good and the owner is told; without an
    /// owner that wants to answer, the connection closes once what is queued is written.
    private func inputEnded() {
        try? updateInterest()
        if let onInputEnded {
            onInputEnded()
        } else {
            closeAfterFlush()
        }
    }

    /// After a would-block: takes what readiness the transport waits for on its own account and
    /// re-arms epoll when that adds to the connection's interest.
    func noteTransportWants() {
        let wants = transport.interest
        guard wants != transportWants else { return }
        transportWants = wants
        try? updateInterest()
    }

    private func deliverInput() {
        guard let onRead, state != .closed else { return }
        // Move the buffer out so the handler may call back into the connection freely.
        var buffer = ByteBuffer()
        swap(&buffer, &input)
        onRead(&buffer)
        if input.isEmpty {
            input = buffer
        } else {
            // Input that arrived re-entrantly goes after what the handler left unconsumed.
            var merged = buffer
            while let slice = input.peek(input.readableBytes), !slice.isEmpty {
                merged.append(slice)
                input.moveReaderIndex(forwardBy: slice.count)
            }
            input = merged
        }
    }
}
