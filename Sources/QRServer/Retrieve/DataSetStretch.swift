import DICOMNetwork
import Reactor

/// Part of a C-STORE-RQ data set handed to a ``StoreChannel``: bytes in memory (a converted or
/// small data set) or a range of the stored file, sent from the page cache with `sendfile` or,
/// for small PDUs, from a read-only mapping with `writev`.
enum DataSetStretch {
    case bytes(ArraySlice<UInt8>)
    case file(OpenFile, offset: Int, length: Int)

    /// PDU payloads below this size go out from a mapping of the stretch: `sendfile` needs one
    /// call per PDU (plus one for its header), while one `writev` gathers the headers and mapped
    /// payloads of many PDUs (DCMTK's peers offer 16 KiB PDUs).
    static let mappedPayloadThreshold = 256 * 1024

    /// The stretch framed as P-DATA-TF PDUs of one PDV each for the connection's output queue.
    /// A file stretch becomes [12 header bytes][file region] per PDU, or [12 header bytes]
    /// [mapped bytes] when PDUs are small: the payload is never read into user memory.
    func outputPieces(contextID: UInt8, isLast: Bool, peerMaxPDULength: UInt32) -> [OutputPiece] {
        switch self {
        case .bytes(let bytes):
            return DIMSEFragmenter.dataSetPieces(contextID: contextID, [bytes], isLast: isLast,
                                                 peerMaxPDULength: peerMaxPDULength).map(OutputPiece.bytes)
        case .file(let file, let offset, let length):
            let frames = DIMSEFragmenter.dataSetFrames(contextID: contextID, length: length, isLast: isLast,
                                                       peerMaxPDULength: peerMaxPDULength)
            var mapping: FileMapping?
            if length > 0,
               DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: peerMaxPDULength) < Self.mappedPayloadThreshold {
                // Failing to map (address space, an odd file system) only costs speed: use sendfile.
                mapping = try? FileMapping(file: file, offset: offset, length: length)
            }
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
