// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Reactor

/// Sending a sub-operation's C-STORE-RQ and streaming its data set stretch by stretch.
extension RetrieveOperation {
    /// Data sets sent from files are queued in stretches of about this size (a multiple of the
    /// PDV size), the next one once the socket has taken most of the last. Each stretch costs a
    /// page-in hop to the worker pool and back and loop wake-ups, and for small PDUs a mapping
    /// and its unmapping; its bytes stay in the page cache (a mapped stretch counts in RSS while
    /// mapped, two at most). Larger stretches mean fewer of these costs per byte (see
    /// docs/BENCHMARKS.md, "Measurements behind design choices").
    static let streamChunkTarget = 8 * 1024 * 1024

    /// A data set going out stretch by stretch, from its file or from memory.
    struct OutgoingStream {
        let source: StreamSource
        let contextID: UInt8
        let shape: StretchShape
        /// Tells this stream's page-ins from those of a stream dropped meanwhile.
        let id: Int
        /// Offset of the next stretch: in the file, or an index of the in-memory data set.
        var nextOffset: Int
        /// The next stretch, resident and ready to queue.
        var ready: DataSetStretch?
        /// Whether the next stretch is being paged in on the worker pool.
        var pagingIn = false
    }

    /// Where a streamed data set's bytes come from.
    enum StreamSource {
        /// A stored file, stretch by stretch through a page-in on the worker pool.
        case file(StoredDataSetFile)
        /// A converted data set in memory, cut into stretches so that its PDUs are framed (and
        /// their headers held) one stretch at a time, whatever the peer's Maximum Length.
        case memory(ArraySlice<UInt8>)

        var end: Int {
            switch self {
            case .file(let file): file.end
            case .memory(let bytes): bytes.endIndex
            }
        }
    }

    /// Sends the C-STORE-RQ for a loaded instance: whole, or its first stretch when from a file.
    func send(
        _ loaded: LoadedInstance, of instance: IndexedInstance, contextID: UInt8,
        on channel: any StoreChannel
    ) {
        let id = nextMessageID()
        let command = CommandSet.cStoreRQ(
            messageID: id, affectedSOPClassUID: instance.sopClassUID,
            affectedSOPInstanceUID: instance.sopInstanceUID,
            moveOriginatorAETitle: kind.isMove ? host?.negotiated?.callingAETitle : nil,
            moveOriginatorMessageID: kind.isMove ? messageID : nil)
        current = instance
        currentMessageID = id
        earlyResponse = nil
        let shape = StretchShape(peerMaxPDULength: channel.peerMaxPDULength)
        switch loaded.payload {
        case .whole(let dataSet):
            let first = dataSet.prefix(shape.size)
            channel.sendStore(
                contextID: contextID, command: command, dataSet: .bytes(first),
                isComplete: first.count == dataSet.count)
            streamRest(of: .memory(dataSet), from: first.endIndex, contextID: contextID, shape: shape)
        case .file(let file, let first):
            guard case .file(_, let offset, let length, _) = first else {
                preconditionFailure("a file's first stretch")
            }
            channel.sendStore(
                contextID: contextID, command: command, dataSet: first, isComplete: offset + length >= file.end)
            streamRest(of: .file(file), from: offset + length, contextID: contextID, shape: shape)
        }
        armResponseTimer()
    }

    /// After a data set's first stretch: the rest, if any, goes out stretch by stretch as the
    /// channel drains.
    private func streamRest(of source: StreamSource, from next: Int, contextID: UInt8, shape: StretchShape) {
        guard next < source.end, phase == .running else { return }
        lastStreamID += 1
        stream = OutgoingStream(source: source, contextID: contextID, shape: shape, id: lastStreamID, nextOffset: next)
        prepareNextStretch()
    }

    /// Readies the stream's next stretch, unless it is ready or on its way: a file's is paged in
    /// on the worker pool, an in-memory data set's is ready at once. At most one stretch beyond
    /// those queued is held, so memory stays bounded.
    private func prepareNextStretch() {
        guard var s = stream, s.ready == nil, !s.pagingIn, s.nextOffset < s.source.end,
            let host
        else { return }
        let file: StoredDataSetFile
        switch s.source {
        case .memory(let bytes):
            let end = min(s.nextOffset + s.shape.size, bytes.endIndex)
            s.ready = .bytes(bytes[s.nextOffset..<end])
            s.nextOffset = end
            stream = s
            return
        case .file(let stored):
            file = stored
        }
        s.pagingIn = true
        stream = s
        let (offset, shape, id) = (s.nextOffset, s.shape, s.id)
        workers.run(
            { file.residentStretch(at: offset, count: shape.size, peerMaxPDULength: shape.peerMaxPDULength) },
            on: host.loop
        ) { [self] (result: Result<DataSetStretch, Never>) in
            stretchResident(result.get(), streamID: id)
        }
    }

    private func stretchResident(_ part: DataSetStretch, streamID: Int) {
        // A stream dropped meanwhile (cancel, abort, end): the stretch just goes.
        guard phase == .running, var s = stream, s.id == streamID, case .file(_, _, let length, _) = part else {
            return
        }
        s.pagingIn = false
        s.ready = part
        // A file that got shorter still yields the stretch as planned: sending it reports that.
        s.nextOffset += length
        stream = s
        pump()
    }

    /// Streamed data set: queues the next resident stretch once the channel is below its
    /// low-water mark (the kernel takes it as fast as the peer reads) and readies the one after;
    /// the next call comes when the channel drains or a file's page-in is done.
    func continueStream(_ channel: any StoreChannel) {
        while var s = stream, channel.pendingWriteBytes < channel.writeLowWaterMark {
            guard let part = s.ready else {
                prepareNextStretch()
                // An in-memory stretch is ready at once; a file's comes back from a worker.
                if stream?.ready != nil { continue }
                return
            }
            s.ready = nil
            let isLast = s.nextOffset >= s.source.end
            stream = isLast ? nil : s
            channel.sendStoreData(contextID: s.contextID, part, isLast: isLast)
            // Writing may have closed the connection (and stopped this operation) at once.
            guard phase == .running, stream != nil || isLast else { return }
            armResponseTimer()
            if isLast {
                if let early = earlyResponse {
                    earlyResponse = nil
                    subOperationDone(status: early.status, comment: early.comment)
                }
                return
            }
            // The socket now holds a whole stretch: ready the next one while it drains.
            prepareNextStretch()
        }
    }

    /// Bytes per stretch of a data set sent from a file: whole PDVs of the peer's size, about
    /// ``streamChunkTarget``, and at most ``maxFramesPerStretch`` of them.
    static func streamChunkSize(peerMaxPDULength: UInt32) -> Int {
        let fragment = DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: peerMaxPDULength)
        guard fragment < streamChunkTarget else { return streamChunkTarget }
        return min(streamChunkTarget / fragment, maxFramesPerStretch) * fragment
    }

    /// PDUs per stretch at most. A stretch's PDU headers are held while it is queued (12 bytes
    /// and a few iovecs each): a peer announcing a tiny Maximum Length (a few bytes of payload
    /// per PDU) would otherwise make an 8 MiB stretch hold millions of them. DCMTK's 16 KiB
    /// PDUs give 512 per stretch, so real peers are not limited by it.
    static let maxFramesPerStretch = 1024
}
