import DICOMNetwork
import Reactor

/// Part of a C-STORE-RQ data set handed to a ``StoreChannel``: bytes in memory (a converted or
/// small data set) or a range of the stored file, sent from the page cache with `sendfile`.
enum DataSetStretch {
    case bytes(ArraySlice<UInt8>)
    case file(OpenFile, offset: Int, length: Int)

    /// The stretch framed as P-DATA-TF PDUs of one PDV each for the connection's output queue.
    /// A file stretch becomes [12 header bytes][file region] per PDU: the payload is never read
    /// into user memory.
    func outputPieces(contextID: UInt8, isLast: Bool, peerMaxPDULength: UInt32) -> [OutputPiece] {
        switch self {
        case .bytes(let bytes):
            return DIMSEFragmenter.dataSetPieces(contextID: contextID, [bytes], isLast: isLast,
                                                 peerMaxPDULength: peerMaxPDULength).map(OutputPiece.bytes)
        case .file(let file, let offset, let length):
            let frames = DIMSEFragmenter.dataSetFrames(contextID: contextID, length: length, isLast: isLast,
                                                       peerMaxPDULength: peerMaxPDULength)
            var pieces: [OutputPiece] = []
            pieces.reserveCapacity(frames.count * 2)
            for frame in frames {
                pieces.append(.bytes(frame.header[...]))
                if !frame.payload.isEmpty {
                    pieces.append(.file(FileRegion(file: file, offset: offset + frame.payload.lowerBound,
                                                   length: frame.payload.count)))
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
