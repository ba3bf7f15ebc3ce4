// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Foundation

/// C-FIND latency and streaming rate on one open association: the same query sent
/// `repeats` times, each timed from the request to its final response.
struct FindBench {
    static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    static let implicitLE = "1.2.840.10008.1.2"

    struct Result {
        var latenciesMS: [Double]
        var responsesPerQuery: Int
        var totalResponses: Int
        var seconds: Double
    }

    let port: Int
    let calledAE: String

    /// - Parameter keys: `KEYWORD=value` or `gggg,eeee=value` query keys; the value may be empty.
    func run(level: String, keys: [String], repeats: Int) throws -> Result {
        var identifier = DataSet()
        identifier.set(Tag(0x0008, 0x0052), vr: .CS, string: level)
        for key in keys {
            let parts = key.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : ""
            guard let tag = Self.tag(name), let vr = DataDictionary.entry(for: tag)?.vr else {
                throw BenchError("unknown key \(name)")
            }
            identifier.set(tag, vr: vr, string: value)
        }
        let body = try DataSetWriter.write(identifier, transferSyntax: TransferSyntax(uid: Self.implicitLE))

        let socket = try BlockingSocket(port: port)
        defer { socket.close() }
        let request = AssociateRequest.requestor(
            callingAETitle: "BENCHSCU", calledAETitle: calledAE,
            contexts: [RequestedContext(abstractSyntax: Self.studyRootFind, transferSyntaxes: [Self.implicitLE])],
            maxPDULength: 1 << 20, implementationClassUID: "1.2.826.0.1.3680043.10.1489.2")
        try socket.send(PDU.associateRQ(request).encoded())
        let answer = try socket.receivePDU()
        guard answer.type == 0x02,
            case .associateAC(let accept) = try PDU.decode(type: answer.type, body: answer.body[...])
        else { throw BenchError("association not accepted") }
        let negotiated = NegotiatedAssociation(requestor: request, accept: accept)
        guard let context = negotiated.context(abstractSyntax: Self.studyRootFind) else {
            throw BenchError("Study Root FIND not accepted")
        }
        var assembler = DIMSEAssembler(acceptedContextIDs: negotiated.acceptedContextIDs)

        var latencies: [Double] = []
        var responses = 0
        var perQuery = 0
        let start = Date()
        for n in 0..<repeats {
            let messageID = UInt16(truncatingIfNeeded: n + 1)
            let command = CommandSet.cFindRQ(messageID: messageID, affectedSOPClassUID: Self.studyRootFind)
            let pieces = DIMSEFragmenter.pieces(
                contextID: context.id, command: command.encoded()[...],
                dataSet: [body[...]], peerMaxPDULength: negotiated.peerMaxPDULength)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try socket.send(pieces.flatMap { $0 })
            var count = 0
            waiting: while true {
                let raw = try socket.receivePDU()
                guard case .pData(let pData) = try PDU.decode(type: raw.type, body: raw.body[...]) else {
                    throw BenchError("unexpected PDU type \(raw.type)")
                }
                for output in try assembler.append(pData) {
                    guard case .message(let message) = output else { continue }
                    let status = message.command.status ?? DIMSEStatus(0xFFFF)
                    if status.isPending {
                        count += 1
                        continue
                    }
                    guard status.isSuccess else { throw BenchError("C-FIND failed with status \(status)") }
                    break waiting
                }
            }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            responses += count
            perQuery = count
        }
        let seconds = Date().timeIntervalSince(start)
        try socket.send([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        _ = try? socket.receivePDU()
        return Result(latenciesMS: latencies, responsesPerQuery: perQuery, totalResponses: responses, seconds: seconds)
    }

    static func tag(_ name: String) -> Tag? {
        let hex = name.split(separator: ",")
        if hex.count == 2, let g = UInt16(hex[0], radix: 16), let e = UInt16(hex[1], radix: 16) { return Tag(g, e) }
        return DataDictionary.tag(forKeyword: name)
    }
}
