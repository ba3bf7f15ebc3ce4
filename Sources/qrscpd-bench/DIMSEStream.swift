// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// What ``DIMSEStream`` reads next from a connection.
enum DIMSEEvent {
    /// A complete command set (its fragments joined and decoded).
    case command(CommandSet, contextID: UInt8)
    /// The last fragment of a data set arrived; `bytes` is the data set's length. The data itself
    /// was discarded as it arrived.
    case dataSetEnd(contextID: UInt8, bytes: Int)
    case releaseRequest
    case releaseReply
    case abort
    /// Any other PDU (its body), e.g. an association PDU out of place.
    case otherPDU(type: UInt8, body: [UInt8])
}

/// Reads DIMSE messages from a blocking socket PDV by PDV (PS3.8 §9.3.5, Annex E): command
/// fragments are collected and decoded with DICOMNetwork's ``CommandSet``; data set fragments
/// are only counted and skipped, so a retrieve of any size needs no more memory than the
/// socket's buffer.
struct DIMSEStream {
    let socket: BlockingSocket
    /// Bytes of the current P-DATA-TF PDU not read yet.
    private var pduRemaining = 0
    private var command: [UInt8] = []
    private var dataBytes = 0

    init(socket: BlockingSocket) {
        self.socket = socket
    }

    mutating func next() throws -> DIMSEEvent {
        while true {
            if pduRemaining == 0 {
                let header = try socket.receiveExactly(6)
                let length = Int(header[2]) << 24 | Int(header[3]) << 16 | Int(header[4]) << 8 | Int(header[5])
                guard header[0] == 0x04 else {
                    guard length <= 1 << 20 else { throw BenchError("PDU type \(header[0]) of \(length) bytes") }
                    let body = try socket.receiveExactly(length)
                    switch header[0] {
                    case 0x05: return .releaseRequest
                    case 0x06: return .releaseReply
                    case 0x07: return .abort
                    default: return .otherPDU(type: header[0], body: body)
                    }
                }
                pduRemaining = length
                continue
            }
            guard pduRemaining >= 6 else { throw BenchError("P-DATA-TF with a truncated PDV item") }
            let item = try socket.receiveExactly(6)
            let itemLength = Int(item[0]) << 24 | Int(item[1]) << 16 | Int(item[2]) << 8 | Int(item[3])
            guard itemLength >= 2, itemLength + 4 <= pduRemaining else {
                throw BenchError("PDV item length \(itemLength) does not fit its PDU")
            }
            pduRemaining -= 4 + itemLength
            let contextID = item[4]
            let isCommand = item[5] & 0x01 != 0
            let isLast = item[5] & 0x02 != 0
            let fragmentLength = itemLength - 2
            if isCommand {
                guard command.count + fragmentLength <= 1 << 16 else { throw BenchError("command set over 64 KiB") }
                command += try socket.receiveExactly(fragmentLength)
                if isLast {
                    defer { command.removeAll(keepingCapacity: true) }
                    return .command(try CommandSet(decoding: command[...]), contextID: contextID)
                }
            } else {
                try socket.discard(fragmentLength)
                dataBytes += fragmentLength
                if isLast {
                    defer { dataBytes = 0 }
                    return .dataSetEnd(contextID: contextID, bytes: dataBytes)
                }
            }
        }
    }

    /// Sends one DIMSE message (command and optional data set) in P-DATA-TF PDUs.
    func send(_ command: CommandSet, dataSet: [UInt8]? = nil, contextID: UInt8, peerMaxPDULength: UInt32) throws {
        let pieces = DIMSEFragmenter.pieces(
            contextID: contextID, command: command.encoded()[...],
            dataSet: dataSet.map { [$0[...]] }, peerMaxPDULength: peerMaxPDULength)
        try socket.send(pieces.flatMap { $0 })
    }
}
