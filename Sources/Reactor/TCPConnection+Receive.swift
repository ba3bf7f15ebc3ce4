// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The receive path: readiness events, reads into the input buffer, delivery to ``onRead``, pausing.
extension TCPConnection {
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
        if !input.isEmpty {
            loop.execute { [weak self] in
                guard let self, !self.isReadingPaused, self.state == .open else { return }
                self.deliverInput()
            }
        }
    }

    func handleEvents(_ events: EpollEvents) {
        let failed = !events.isDisjoint(with: [.error, .hangup])
        if events.contains(.writable) || (failed && pendingWriteBytes > 0) {
            flush(fromEvent: true)
        }
        guard state != .closed else { return }
        if !isReadingPaused {
            if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { readAvailable() }
        } else if events.contains(.error) {
            // Paused: don't deliver input, but don't spin on a pending error either.
            var err: Int32 = 0
            _ = qrs_socket_error(fd, &err)
            close(error: SystemError(errno: err == 0 ? ECONNRESET : err, call: "socket"))
        }
    }

    private func readAvailable() {
        var reads = 0
        var eof = false
        var failure: SystemError?
        while reads < Self.maxReadsPerEvent && !isReadingPaused {
            let chunkSize = sizer.next
            do {
                switch try input.read(from: fd, chunkSize: chunkSize) {
                case .wouldBlock:
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
        if !input.isEmpty { deliverInput() }
        guard state != .closed else { return }
        if let failure {
            close(error: failure)
        } else if eof {
            close(error: nil)
        }
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
