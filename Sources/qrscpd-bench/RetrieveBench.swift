// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Foundation

/// The benchmark's own retrieve client: one study by C-GET (storage on the same association,
/// SCP role negotiated) or by C-MOVE to an in-process ``StoreSink``. Every C-STORE-RQ is
/// answered with success and its data set is discarded as it arrives, so the figures measure
/// the server and the loopback, not the client's disk.
struct RetrieveBench {
    static let studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"
    static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
    static let explicitLE = "1.2.840.10008.1.2.1"
    static let implicitLE = "1.2.840.10008.1.2"
    /// The Maximum Length we advertise: large PDUs keep per-PDU work small next to the payload.
    static let maxPDULength: UInt32 = 1 << 20
    /// Storage SOP classes proposed for C-GET (with the SCP role): the common image classes.
    static let storageSOPClasses = [
        "1.2.840.10008.5.1.4.1.1.2",  // CT Image
        "1.2.840.10008.5.1.4.1.1.4",  // MR Image
        "1.2.840.10008.5.1.4.1.1.1",  // Computed Radiography Image
        "1.2.840.10008.5.1.4.1.1.7",  // Secondary Capture Image
        "1.2.840.10008.5.1.4.1.1.1.1",  // Digital X-Ray Image - For Presentation
        "1.2.840.10008.5.1.4.1.1.1.2",  // Digital Mammography X-Ray Image - For Presentation
        "1.2.840.10008.5.1.4.1.1.6.1",  // Ultrasound Image
        "1.2.840.10008.5.1.4.1.1.12.1",  // X-Ray Angiographic Image
        "1.2.840.10008.5.1.4.1.1.20",  // Nuclear Medicine Image
        "1.2.840.10008.5.1.4.1.1.128",  // Positron Emission Tomography Image
        "1.2.840.10008.5.1.4.1.1.2.1",  // Enhanced CT Image
        "1.2.840.10008.5.1.4.1.1.4.1",  // Enhanced MR Image
    ]

    struct Result {
        var images = 0
        var bytes = 0
        var seconds = 0.0
        /// The final C-GET-RSP / C-MOVE-RSP status.
        var status = DIMSEStatus(0xFFFF)
        var completed = 0
        var failed = 0
        /// The transfer syntax the data sets came in (of the last C-STORE's context).
        var transferSyntax = ""

        /// Takes a C-GET-RSP or C-MOVE-RSP: false while it is pending, true once the final
        /// one's status and counts are recorded.
        mutating func recordFinal(_ command: CommandSet) -> Bool {
            let status = command.status ?? DIMSEStatus(0xFFFF)
            if status.isPending { return false }
            self.status = status
            completed = Int(command.completedSubOperations ?? 0)
            failed = Int(command.failedSubOperations ?? 0)
            return true
        }
    }

    static func unexpected(_ command: CommandSet) -> BenchError {
        BenchError("unexpected command \(command.commandFieldValue.map { String($0, radix: 16) } ?? "?")")
    }

    let port: Int
    let calledAE: String

    /// C-GET of one study on one association; timed from the association request to the release.
    func get(studyUID: String) throws -> Result {
        var contexts = [RequestedContext(abstractSyntax: Self.studyRootGet, transferSyntaxes: [Self.implicitLE])]
        for sopClass in Self.storageSOPClasses {
            contexts.append(
                RequestedContext(
                    abstractSyntax: sopClass, transferSyntaxes: [Self.explicitLE, Self.implicitLE],
                    role: (scu: false, scp: true)))
        }
        var result = Result()
        let start = Date()
        let (stream, association) = try associate(contexts: contexts)
        var reader = stream
        guard let context = association.context(abstractSyntax: Self.studyRootGet) else {
            throw BenchError("Study Root GET not accepted")
        }
        try reader.send(
            .cGetRQ(messageID: 1, affectedSOPClassUID: Self.studyRootGet),
            dataSet: try Self.identifier(studyUID: studyUID), contextID: context.id,
            peerMaxPDULength: association.peerMaxPDULength)
        var store: CommandSet?
        receiving: while true {
            switch try reader.next() {
            case .command(let command, _) where command.commandField == .cStoreRQ:
                store = command
            case .dataSetEnd(let contextID, let bytes):
                guard let request = store, let messageID = request.messageID else {
                    throw BenchError("data set without a C-STORE-RQ")
                }
                result.images += 1
                result.bytes += bytes
                result.transferSyntax = association.contexts[contextID]?.transferSyntax ?? "?"
                try reader.send(
                    .cStoreRSP(
                        respondingTo: messageID, affectedSOPClassUID: request.affectedSOPClassUID ?? "",
                        affectedSOPInstanceUID: request.affectedSOPInstanceUID ?? "", status: .success),
                    contextID: contextID, peerMaxPDULength: association.peerMaxPDULength)
                store = nil
            case .command(let command, _) where command.commandField == .cGetRSP:
                if result.recordFinal(command) { break receiving }
            case .command(let command, _):
                throw Self.unexpected(command)
            case .abort:
                throw BenchError("the server aborted the association")
            case .releaseRequest, .releaseReply, .otherPDU:
                throw BenchError("unexpected PDU during C-GET")
            }
        }
        try release(&reader)
        result.seconds = Date().timeIntervalSince(start)
        return result
    }

    /// C-MOVE of one study to `destinationAE`, which must be the running `sink`; timed from the
    /// association request to the release of both associations. Images and bytes are the sink's.
    func move(studyUID: String, destinationAE: String, sink: StoreSink) throws -> Result {
        let contexts = [RequestedContext(abstractSyntax: Self.studyRootMove, transferSyntaxes: [Self.implicitLE])]
        var result = Result()
        let before = sink.totals()
        let start = Date()
        let (stream, association) = try associate(contexts: contexts)
        var reader = stream
        guard let context = association.context(abstractSyntax: Self.studyRootMove) else {
            throw BenchError("Study Root MOVE not accepted")
        }
        try reader.send(
            .cMoveRQ(messageID: 1, affectedSOPClassUID: Self.studyRootMove, moveDestination: destinationAE),
            dataSet: try Self.identifier(studyUID: studyUID), contextID: context.id,
            peerMaxPDULength: association.peerMaxPDULength)
        receiving: while true {
            switch try reader.next() {
            case .command(let command, _) where command.commandField == .cMoveRSP:
                if result.recordFinal(command) { break receiving }
            case .command(let command, _):
                throw Self.unexpected(command)
            case .abort:
                throw BenchError("the server aborted the association")
            case .dataSetEnd, .releaseRequest, .releaseReply, .otherPDU:
                throw BenchError("unexpected PDU during C-MOVE")
            }
        }
        try release(&reader)
        // Servers answer the C-MOVE once the sub-association is released, but allow for a peer
        // that answers first: wait (bounded) until the sink has closed as many as it opened.
        let deadline = Date().addingTimeInterval(10)
        while sink.totals().associationsOpen > 0, Date() < deadline { usleep(1000) }
        result.seconds = Date().timeIntervalSince(start)
        let after = sink.totals()
        result.images = after.images - before.images
        result.bytes = after.bytes - before.bytes
        result.transferSyntax = after.transferSyntax
        return result
    }

    private func associate(contexts: [RequestedContext]) throws -> (DIMSEStream, NegotiatedAssociation) {
        let socket = try BlockingSocket(port: port)
        let request = AssociateRequest.requestor(
            callingAETitle: "BENCHSCU", calledAETitle: calledAE, contexts: contexts,
            maxPDULength: Self.maxPDULength, implementationClassUID: "1.2.826.0.1.3680043.10.1489.2")
        try socket.send(PDU.associateRQ(request).encoded())
        let answer = try socket.receivePDU()
        guard answer.type == 0x02,
            case .associateAC(let accept) = try PDU.decode(type: answer.type, body: answer.body[...])
        else { throw BenchError("association not accepted (PDU type \(answer.type))") }
        return (DIMSEStream(socket: socket), NegotiatedAssociation(requestor: request, accept: accept))
    }

    private func release(_ reader: inout DIMSEStream) throws {
        try reader.socket.send([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        while true {
            switch try reader.next() {
            case .releaseReply:
                reader.socket.close()
                return
            case .abort: throw BenchError("the server aborted instead of releasing")
            default: continue
            }
        }
    }

    static func identifier(studyUID: String) throws -> [UInt8] {
        var identifier = DataSet()
        identifier.set(Tag(0x0008, 0x0052), vr: .CS, string: "STUDY")
        identifier.set(Tag(0x0020, 0x000D), vr: .UI, string: studyUID)
        return try DataSetWriter.write(identifier, transferSyntax: TransferSyntax(uid: implicitLE))
    }
}
