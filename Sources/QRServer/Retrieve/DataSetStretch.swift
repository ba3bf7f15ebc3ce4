import DICOMNetwork
import Reactor

/// Part of a C-STORE-RQ data set handed to a ``StoreChannel``: bytes in memory (a converted or
/// small data set) or a range of the stored file, sent from the page cache with `sendfile` or,
/// for small PDUs, from a read-only mapping with `writev`.
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
    /// call per PDU (plus one for its header), while one `writev` gathers the headers and mapped
    /// payloads of many PDUs (DCMTK's peers offer 16 KiB PDUs). Splicing the file pages into a
    /// pipe between the headers, then the pipe to the socket, was measured too and cost more
    /// server CPU than the copy: each 12-byte header takes a pipe slot (a page) and a socket
    /// fragment of its own, and each PDU two system calls on the worker.
    static let mappedPayloadThreshold = 256 * 1024

    /// Whether stretches for this peer go out from a mapping.
    static func usesMapping(peerMaxPDULength: UInt32) -> Bool {
        DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: peerMaxPDULength) < mappedPayloadThreshold
    }

    /// The stretch framed as P-DATA-TF PDUs of one PDV each for the connection's output queue.
    /// A file stretch becomes [12 header bytes][file region] per PDU, or [12 header bytes]
    /// [mapped bytes] when it has a mapping: the payload is never read into user memory.
    func outputPieces(contextID: UInt8, isLast: Bool, peerMaxPDULength: UInt32) -> [OutputPiece] {
        switch self {
        case .bytes(let bytes):
            return DIMSEFragmenter.dataSetPieces(contextID: contextID, [bytes], isLast: isLast,
                                                 peerMaxPDULength: peerMaxPDULength).map(OutputPiece.bytes)
        case .file(let file, let offset, let length, let mapping):
            let frames = DIMSEFragmenter.dataSetFrames(contextID: contextID, length: length, isLast: isLast,
                                                       peerMaxPDULength: peerMaxPDULength)
            var pieces: [OutputPiece] = []
            pieces.reserveCapacity(frames.count * 2)
            for frame in frames {
                pieces.append(.bytes(frame.header[...]))
                guard !frame.payload.isEmpty else { continue }
                let payloadOffset = offset + frame.payload.lowerBound
                if let mapping {
                    pieces.append(.mapped(MappedBytes(mapping: mapping, offset: payloadOffset,
                                                      length: frame.payload.count)))
                } else {
                    pieces.append(.file(FileRegion(file: file, offset: payloadOffset, length: frame.payload.count)))
                }
            }
            return pieces
        }
    }
}

extension DIMSEFragmenter {
    /// A command with no data set, as output pieces.
    static func commandPieces(contextID: UInt8, command: CommandSet, peerMaxPDULength: UInt32) -> [OutputPiece] {
        pieces(contextID: contextID, command: command.encoded()[...], dataSet: nil,
               peerMaxPDULength: peerMaxPDULength).map(OutputPiece.bytes)
    }
}
