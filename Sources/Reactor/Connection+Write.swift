// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The output queue: queuing pieces, flushing them in order, gathered writes of byte slices.
extension Connection {
    // MARK: Writing

    /// Queues `pieces` for sending and writes as much as the socket takes now.
    ///
    /// The slices are kept (not copied) until written. Writes after ``close()`` or
    /// ``closeAfterFlush(timeout:)`` are dropped.
    public func write(_ pieces: [ArraySlice<UInt8>]) {
        write(pieces.map(OutputPiece.bytes))
    }

    /// Queues byte slices, framed file mappings and file regions, written in order: consecutive
    /// byte slices with one gathered write, framed mappings through a pipe (`vmsplice`, then `splice`), file
    /// regions with `sendfile` (the file's bytes are never read in user space). A region or
    /// mapping is read when it is written, not when it is queued; a file that has become shorter
    /// by then closes the connection with a ``FileRegionError``. Queued regions keep their file
    /// open, and framed mappings their mapping, until written or dropped. Over a transport that
    /// cannot take files zero-copy (``sendsFilesZeroCopy``) the pieces are copied, a bounded
    /// buffer at a time, and written through it. Before the transport is established the pieces
    /// wait in the queue.
    public func write(_ pieces: [OutputPiece]) {
        guard state == .open else { return }
        for piece in pieces where piece.count > 0 {
            if case .file = piece { queuedFileRegions += 1 }
            output.append(piece)
            pendingWriteBytes += piece.count
        }
        if pendingWriteBytes >= writeLowWaterMark { wasAboveLowWater = true }
        // With EPOLLOUT armed the socket is known full; wait for the event instead of a futile writev.
        if !isWritabilityArmed && writesHeld == 0 { flush(fromEvent: false) }
    }

    /// Runs `body` with the writes it queues held back, then flushes them together: a message
    /// and the one that follows it (a C-GET pending response and the next C-STORE-RQ) go to
    /// the kernel in one call and one TCP push instead of one each. Nests.
    public func holdingWrites(_ body: () -> Void) {
        writesHeld += 1
        body()
        writesHeld -= 1
        if writesHeld == 0, state != .closed, pendingWriteBytes > 0, !isWritabilityArmed {
            flush(fromEvent: false)
        }
    }

    /// Queues one slice; see ``write(_:)``.
    public func write(_ piece: ArraySlice<UInt8>) {
        write([piece])
    }

    /// Largest count asked of one `sendfile` (Linux sends at most about 2 GiB per call anyway).
    static let maxSendfileCount = 1 << 30

    func flush(fromEvent: Bool) {
        guard isEstablished else { return }
        let zeroCopy = transport.sendsFilesZeroCopy
        // Each PDU sent from a file is two calls (its header, then sendfile of its payload) and
        // with TCP_NODELAY every sendfile would end in a segment of its own: with small PDUs
        // (16 KiB from DCMTK) that is four times the segments, and the per-segment work of the
        // TCP stack, of full-sized ones. Corked, the kernel fills segments across PDUs; the cork
        // comes off before flush returns (all written, or the socket is full), which sends any
        // partial segment at once, so nothing waits on the cork's 200 ms timer. Files copied
        // through a transport (TLS without kTLS) are corked too: each TLS record is a write of
        // its own, and uncorked every record would be a segment and a wake-up of the reader.
        let corked = queuedFileRegions > 0 && qrs_set_cork(fd, 1) == 0
        defer { if corked && state != .closed { _ = qrs_set_cork(fd, 0) } }
        while pendingWriteBytes > 0 && state != .closed {
            let step: Result<Bool, Error>
            switch output[outputHead] {
            case _ where !zeroCopy: step = writeCopied()
            case .file(let region): step = writeFileRegion(region)
            case .framed(let framed): step = writeFramed(framed)
            case .bytes: step = writeBytePieces()
            }
            switch step {
            case .failure(let error):
                close(error: error)
                return
            case .success(true):
                continue
            case .success(false):
                break
            }
            break
        }
        finishFlush(fromEvent: fromEvent)
    }

    /// After writing as much as the socket took: close when asked to after the flush, re-arm
    /// epoll, and tell the owner when output drained below the low-water mark.
    func finishFlush(fromEvent: Bool) {
        guard state != .closed else { return }
        if pendingWriteBytes == 0 && state == .closingAfterFlush {
            close(error: nil)
            return
        }
        try? updateInterest()
        if wasAboveLowWater && pendingWriteBytes < writeLowWaterMark {
            wasAboveLowWater = false
            if fromEvent { onWritable?() }
        }
    }

    /// Writes the byte slices at the head of the queue in one call; true when all offered bytes
    /// were taken (so writing on may succeed), false when the socket is full.
    ///
    /// Slices right before a file region (or a framed mapping) are the PDU and PDV headers of
    /// the payload that follows. They go out with `sendmsg(MSG_MORE)` so the kernel keeps them back and sends them in
    /// one segment with the start of the region's data, instead of a 12-byte segment of their own
    /// (TCP_NODELAY is on). The flush is corked anyway while regions are queued (see `flush`);
    /// MSG_MORE is per call and costs nothing, and keeps headers with their payload where the
    /// cork cannot be set.
    private func writeBytePieces() -> Result<Bool, Error> {
        var count = 0
        while count < Self.maxIOVecs, outputHead + count < output.count, case .bytes = output[outputHead + count] {
            count += 1
        }
        let beforeFile = outputHead + count < output.count && count < Self.maxIOVecs
        let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: count)
        defer { iovecs.deallocate() }
        var offered = 0
        let transport = self.transport
        let result: Result<IOResult<Int>, Error> = withIOVecs(iovecs, index: 0, count: count, offered: &offered) {
            Result { try transport.write(iovecs, count: count, moreFollows: beforeFile) }
        }
        return result.map { wrote($0, of: offered) }
    }

    /// Takes a gathering write's outcome off the queue: true when all `offered` bytes went (so
    /// writing on may succeed), false when the socket is full.
    func wrote(_ result: IOResult<Int>, of offered: Int) -> Bool {
        switch result {
        case .wouldBlock:
            partialWriteCount += 1
            noteTransportWants()
            return false
        case .processed(let n):
            consumeOutput(n)
            if n == offered { return true }
            // The socket buffer is full; writing again now would only return EAGAIN.
            partialWriteCount += 1
            return false
        }
    }

    /// Builds iovecs for the queued slices by nesting `withUnsafeBufferPointer`, so every pointer
    /// is valid while `body` runs `writev`.
    private func withIOVecs<R>(
        _ iovecs: UnsafeMutablePointer<iovec>,
        index: Int,
        count: Int,
        offered: inout Int,
        _ body: () -> R
    ) -> R {
        if index == count { return body() }
        let slice: ArraySlice<UInt8>
        switch output[outputHead + index] {
        case .bytes(let bytes):
            slice = bytes
        case .file, .framed:
            preconditionFailure("withIOVecs: only byte slices are gathered")
        }
        return slice.withUnsafeBufferPointer { buffer in
            iovecs[index] = iovec(
                iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
            offered += buffer.count
            return withIOVecs(iovecs, index: index + 1, count: count, offered: &offered, body)
        }
    }

    func consumeOutput(_ written: Int) {
        bytesWritten += written
        pendingWriteBytes -= written
        var remaining = written
        while remaining > 0 {
            let size = output[outputHead].count
            if size <= remaining {
                remaining -= size
                if case .file = output[outputHead] { queuedFileRegions -= 1 }
                output[outputHead] = .bytes([])
                outputHead += 1
            } else {
                switch output[outputHead] {
                case .bytes(var bytes):
                    bytes.removeFirst(remaining)
                    output[outputHead] = .bytes(bytes)
                case .file(var region):
                    region.offset += remaining
                    region.length -= remaining
                    output[outputHead] = .file(region)
                case .framed(var framed):
                    framed.sent += remaining
                    output[outputHead] = .framed(framed)
                }
                remaining = 0
            }
        }
        if outputHead == output.count {
            output.removeAll(keepingCapacity: true)
            outputHead = 0
        } else if outputHead >= 64 && outputHead * 2 >= output.count {
            output.removeFirst(outputHead)
            outputHead = 0
        }
    }
}
