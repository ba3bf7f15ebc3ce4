// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Reactor

/// Part of a C-STORE-RQ data set handed to a ``StoreChannel``: bytes in memory (a converted or
/// small data set) or a range of the stored file, sent from the page cache with `sendfile` or,
/// for small PDUs, from a read-only mapping spliced through the connection's pipe.
///
/// A file stretch is made on the worker pool (``StoredDataSetFile/residentStretch(at:count:peerMaxPDULength:)``):
/// its pages are brought into the page cache and its mapping made there, so queuing and sending
/// it on the loop thread never waits for the disk.
enum DataSetStretch: Sendable {
    case bytes(ArraySlice<UInt8>)
    /// File bytes already resident in the page cache; `mapping` covers them when the peer's
    /// PDUs are small enough for the mapped path.
    case file(OpenFile, offset: Int, length: Int, mapping: FileMapping?)

    /// PDU payloads below this size go out from a mapping of the stretch: `sendfile` needs one
    /// call per PDU (plus one for its header), while the frames of a mapped stretch — headers in
    /// sealed pages of their own, payloads in the mapping — go into the connection's pipe with
    /// one `vmsplice` per 256 page fragments and on to the socket with one `splice`, neither of
    /// them copying (DCMTK's peers offer 16 KiB PDUs). Writing the same frames with `writev`
    /// copies every payload byte, and splicing file pages into a pipe between headers written
    /// into it needs two calls and a fresh page per PDU; both cost more server CPU
    /// (docs/BENCHMARKS.md).
    private static let mappedPayloadThreshold = 256 * 1024

    /// Whether stretches for this peer go out from a mapping.
    static func usesMapping(peerMaxPDULength: UInt32) -> Bool {
        DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: peerMaxPDULength) < mappedPayloadThreshold
    }

    /// The stretch framed as P-DATA-TF PDUs of one PDV each for the connection's output queue.
    /// A file stretch becomes [12 header bytes][file region] per PDU, or, when it has a mapping,
    /// one framed mapping of all its PDUs: the payload is never read into user memory.
    /// The headers of a framed mapping come from `headers`. A `leading` piece (the message's
    /// command) comes first, in the same array, so the caller need not concatenate.
    func outputPieces(
        contextID: UInt8, isLast: Bool, peerMaxPDULength: UInt32,
        headers: SealedBytesArena, after leading: OutputPiece? = nil
    ) -> [OutputPiece] {
        switch self {
        case .bytes(let bytes):
            let framed = DIMSEFragmenter.dataSetPieces(
                contextID: contextID, [bytes], isLast: isLast,
                peerMaxPDULength: peerMaxPDULength)
            var pieces: [OutputPiece] = []
            pieces.reserveCapacity(framed.count + 1)
            if let leading { pieces.append(leading) }
            pieces.append(contentsOf: framed.lazy.map(OutputPiece.bytes))
            return pieces
        case .file(let file, let offset, let length, let mapping):
            if let mapping, length > 0,
                let framed = Self.framed(
                    mapping, offset: offset, length: length, contextID: contextID, isLast: isLast,
                    peerMaxPDULength: peerMaxPDULength, headers: headers)
            {
                if let leading { return [leading, .framed(framed)] }
                return [.framed(framed)]
            }
            let frames = DIMSEFragmenter.dataSetFrames(
                contextID: contextID, length: length, isLast: isLast,
                peerMaxPDULength: peerMaxPDULength)
            var pieces: [OutputPiece] = []
            pieces.reserveCapacity(frames.count * 2 + 1)
            if let leading { pieces.append(leading) }
            for frame in frames {
                pieces.append(.bytes(frame.header[...]))
                guard !frame.payload.isEmpty else { continue }
                pieces.append(
                    .file(
                        FileRegion(
                            file: file, offset: offset + frame.payload.lowerBound,
                            length: frame.payload.count)))
            }
            return pieces
        }
    }

    /// The mapped stretch as frames with their headers in sealed bytes; nil when those cannot
    /// be had (address space), and the stretch goes out with `sendfile` instead.
    private static func framed(
        _ mapping: FileMapping, offset: Int, length: Int, contextID: UInt8, isLast: Bool,
        peerMaxPDULength: UInt32, headers arena: SealedBytesArena
    ) -> FramedMapping? {
        let frames = DIMSEFragmenter.dataSetFrameCount(length: length, peerMaxPDULength: peerMaxPDULength)
        let headerLength = DIMSEFragmenter.frameHeaderLength
        guard
            let headers = try? arena.bytes(
                count: frames * headerLength,
                fill: { buffer in
                    DIMSEFragmenter.writeDataSetFrameHeaders(
                        contextID: contextID, length: length, isLast: isLast,
                        peerMaxPDULength: peerMaxPDULength, into: buffer)
                })
        else { return nil }
        return FramedMapping(
            mapping: mapping, payloadOffset: offset, payloadLength: length,
            frameLength: DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: peerMaxPDULength),
            headers: headers, headerLength: headerLength)
    }
}

extension DIMSEFragmenter {
    /// A command's PDUs as one output piece.
    static func commandPiece(contextID: UInt8, command: CommandSet, peerMaxPDULength: UInt32) -> OutputPiece {
        .bytes(commandPDUs(contextID: contextID, command: command, peerMaxPDULength: peerMaxPDULength)[...])
    }
}
