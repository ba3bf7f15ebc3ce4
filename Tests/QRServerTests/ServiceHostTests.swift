// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Logging
import Reactor
import Testing

@testable import QRServer

/// A service host that is not an ``Association``: no connection, no state machine; it records
/// what the services send and what the registry schedules. Driving services through it shows
/// that they need nothing of the association beyond ``DIMSEServiceHost``.
final class RecordingHost: DIMSEOperationScheduler {
    struct Sent {
        var contextID: UInt8
        var command: CommandSet
        var dataSet: [ArraySlice<UInt8>]?
    }

    let loop: EventLoop
    let logs = LogCapture()
    let logger: Logger
    var configuration: ServerConfiguration
    var negotiated: NegotiatedAssociation?
    /// The counters the services updated.
    let counters = RecordedStatistics()
    private(set) var sent: [Sent] = []
    /// What the registry handed to the scheduler: "find 7", "cancel 7", "cGetRQ 7", "store-rsp 7".
    private(set) var scheduled: [String] = []
    private(set) var operationsInProgress = 0

    init(
        callingAETitle: String = "TESTSCU", contexts: [NegotiatedAssociation.Context],
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws {
        loop = try EventLoop()
        logger = logs.logger()
        var configuration = ServerConfiguration(port: 0, aeTitle: "QRSCP", storageDirectory: "/nonexistent")
        configure(&configuration)
        self.configuration = configuration
        negotiated = NegotiatedAssociation(
            contexts: Dictionary(uniqueKeysWithValues: contexts.map { ($0.id, $0) }), peerMaxPDULength: 16384,
            ourMaxPDULength: 16384, peerImplementationClassUID: nil, peerImplementationVersionName: nil,
            callingAETitle: callingAETitle, calledAETitle: "QRSCP")
    }

    // DIMSEServiceHost
    var workers: WorkerPool? { nil }
    var index: (any IndexStore)? { nil }
    var storeWriter: StoreWriter? { nil }
    var storeCommitter: StoreCommitter? { nil }
    var storeLane: SerialWorkQueue? { nil }
    var findPageSize: Int { 4 }
    var statistics: any ServerStatisticsRecorder { counters }
    var isActive: Bool { true }
    func operationStarted() { operationsInProgress += 1 }
    func operationFinished() { operationsInProgress -= 1 }
    func abort(because reason: String) { Issue.record("unexpected abort: \(reason)") }
    func makeOutboundAssociation(request: AssociateRequest, peer: PeerAddress, logger: Logger) -> OutboundAssociation {
        preconditionFailure("no C-MOVE through the recording host")
    }
    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [ArraySlice<UInt8>]?) {
        sent.append(Sent(contextID: contextID, command: command, dataSet: dataSet))
    }
    func sendPData(_ pdus: [UInt8]) { Issue.record("unexpected framed P-DATA") }
    func noteResponse(_ command: CommandSet) {}
    func beginStreamedMessage(contextID: UInt8, command: CommandSet, firstPart: DataSetStretch, isLast: Bool) {
        Issue.record("unexpected streamed message")
    }
    func continueStreamedMessage(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        Issue.record("unexpected streamed message")
    }
    var isOutputAboveLowWater: Bool { false }
    var queuedOutputBytes: Int { 0 }
    var outputLowWaterMark: Int { 1 }
    func holdingOutput(_ body: () -> Void) { body() }
    func storeBytesQueued(_ count: Int) {}
    func storeBytesWritten(_ count: Int) {}

    // DIMSEOperationScheduler
    func enqueueFind(_ message: DIMSEMessage) { scheduled.append("find \(message.command.messageID ?? 0)") }
    func cancelOperation(_ message: DIMSEMessage) {
        scheduled.append("cancel \(message.command.messageIDBeingRespondedTo ?? 0)")
    }
    func startRetrieve(_ message: DIMSEMessage, field: CommandField) {
        scheduled.append("\(field) \(message.command.messageID ?? 0)")
    }
    func retrieveStoreResponse(_ message: DIMSEMessage) {
        scheduled.append("store-rsp \(message.command.messageIDBeingRespondedTo ?? 0)")
    }
}

final class RecordedStatistics: ServerStatisticsRecorder {
    var statistics = ServerStatistics()
    var metrics = DIMSEMetrics()
}

@Suite("Services through a host that is not an Association, and the registry's routing")
struct ServiceHostTests {
    static let verification = NegotiatedAssociation.Context(
        id: 1, abstractSyntax: UIDs.verification,
        transferSyntax: UIDs.implicitLE)
    static let studyFind = NegotiatedAssociation.Context(
        id: 3, abstractSyntax: UIDs.studyRootFind,
        transferSyntax: UIDs.explicitLE)
    static let studyGet = NegotiatedAssociation.Context(
        id: 5, abstractSyntax: RetrieveService.studyRootGet,
        transferSyntax: UIDs.explicitLE)
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"

    private let registry = DIMSEServiceRegistry<RecordingHost>.standard

    private func host(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> RecordingHost {
        try RecordingHost(contexts: [Self.verification, Self.studyFind, Self.studyGet], configure: configure)
    }

    @Test("C-ECHO is answered 0000 on its context, counted and logged")
    func echo() throws {
        let host = try host()
        registry.dispatch(DIMSEMessage(contextID: 1, command: .cEchoRQ(messageID: 7)), on: host)
        #expect(host.sent.count == 1)
        let response = try #require(host.sent.first)
        #expect(response.contextID == 1)
        #expect(response.command.commandField == .cEchoRSP)
        #expect(response.command.status == .success)
        #expect(response.command.messageIDBeingRespondedTo == 7)
        #expect(response.command.affectedSOPClassUID == UIDs.verification)
        #expect(response.dataSet == nil)
        #expect(host.counters.statistics.echoes == 1)
        #expect(host.counters.statistics.messagesProcessed == 1)
        let line = try #require(host.logs.all.first { $0.message == "C-ECHO" })
        #expect(line.metadata["status"] == "0000")
        #expect(line.metadata["dimse_command"] == "C-ECHO")
    }

    @Test("An unknown command field is logged and answered with nothing")
    func unknownCommandField() throws {
        let host = try host()
        var command = CommandSet()
        command.setUS(CommandSet.Tag.commandField, 0x0040)
        command.setUS(CommandSet.Tag.messageID, 3)
        registry.dispatch(DIMSEMessage(contextID: 1, command: command), on: host)
        #expect(host.sent.isEmpty)
        #expect(host.scheduled.isEmpty)
        let line = try #require(host.logs.all.first { $0.message == "unknown DIMSE command field" })
        #expect(line.level == .warning)
        #expect(line.metadata["command_field"] == "40")
    }

    @Test("A response no operation waits for (C-FIND-RSP) is logged and ignored")
    func unexpectedResponse() throws {
        let host = try host()
        let command = CommandSet.cFindRSP(
            respondingTo: 2, affectedSOPClassUID: UIDs.studyRootFind, status: .success,
            hasIdentifier: false)
        registry.dispatch(DIMSEMessage(contextID: 3, command: command), on: host)
        #expect(host.sent.isEmpty)
        #expect(host.logs.all.contains { $0.message == "unexpected DIMSE response from peer" })
    }

    @Test("A C-STORE-RQ without a data set on a non-storage context: 0122 with an Error Comment, logged")
    func storeRefused() throws {
        let host = try host()
        let command = CommandSet.cStoreRQ(
            messageID: 11, affectedSOPClassUID: Self.ctImage,
            affectedSOPInstanceUID: "1.2.3")
        registry.dispatch(DIMSEMessage(contextID: 1, command: command), on: host)
        let response = try #require(host.sent.first)
        #expect(host.sent.count == 1)
        #expect(response.contextID == 1)
        #expect(response.command.commandField == .cStoreRSP)
        #expect(response.command.status == .sopClassNotSupported)
        #expect(response.command.messageIDBeingRespondedTo == 11)
        #expect(response.command.affectedSOPClassUID == Self.ctImage)
        #expect(response.command.hasDataSet == false)
        #expect(response.command.errorComment == "service not provided by this server")
        let line = try #require(host.logs.all.first { $0.message == "operation refused" })
        #expect(line.level == .notice)
        #expect(line.metadata["status"] == "0122")
        #expect(line.metadata["reason"] == "service not provided by this server")
    }

    @Test("A calling AE not allowed the service: 0124, logged, and the service never sees the request")
    func notAuthorized() throws {
        let host = try host { $0.allowedCallingAETitles = [.find: ["VIEWER"], .echo: []] }
        let find = CommandSet.cFindRQ(messageID: 4, affectedSOPClassUID: UIDs.studyRootFind)
        registry.dispatch(DIMSEMessage(contextID: 3, command: find, dataSet: [[]]), on: host)
        #expect(host.scheduled.isEmpty)
        let response = try #require(host.sent.first)
        #expect(response.command.commandField == .cFindRSP)
        #expect(response.command.status == .notAuthorized)
        #expect(response.command.errorComment == "calling AE TESTSCU is not allowed to use find")
        let line = try #require(host.logs.all.first { $0.message == "operation refused" })
        #expect(line.metadata["status"] == "0124")
        // C-ECHO has an empty allow-list: everyone may use it.
        registry.dispatch(DIMSEMessage(contextID: 1, command: .cEchoRQ(messageID: 5)), on: host)
        #expect(host.sent.last?.command.status == .success)
    }

    @Test("C-FIND, C-GET, C-MOVE, C-CANCEL and C-STORE-RSP go to the host's scheduler")
    func scheduled() throws {
        let host = try host()
        registry.dispatch(
            DIMSEMessage(
                contextID: 3, command: .cFindRQ(messageID: 1, affectedSOPClassUID: UIDs.studyRootFind),
                dataSet: [[]]), on: host)
        registry.dispatch(
            DIMSEMessage(
                contextID: 5, command: .cGetRQ(messageID: 2, affectedSOPClassUID: RetrieveService.studyRootGet),
                dataSet: [[]]), on: host)
        registry.dispatch(
            DIMSEMessage(
                contextID: 5,
                command: .cMoveRQ(
                    messageID: 3, affectedSOPClassUID: RetrieveService.studyRootMove,
                    moveDestination: "DEST"), dataSet: [[]]), on: host)
        registry.dispatch(DIMSEMessage(contextID: 3, command: .cCancelRQ(respondingTo: 1)), on: host)
        registry.dispatch(
            DIMSEMessage(
                contextID: 5,
                command: .cStoreRSP(
                    respondingTo: 9, affectedSOPClassUID: Self.ctImage,
                    affectedSOPInstanceUID: "1.2", status: .success)), on: host)
        #expect(host.scheduled == ["find 1", "cGetRQ 2", "cMoveRQ 3", "cancel 1", "store-rsp 9"])
        #expect(host.sent.isEmpty)
        #expect(host.counters.statistics.messagesProcessed == 5)
    }

    @Test("C-FIND through the host without an index: C000 'no index' with the completion line")
    func findWithoutIndex() throws {
        let host = try host()
        let message = DIMSEMessage(
            contextID: 3, command: .cFindRQ(messageID: 6, affectedSOPClassUID: UIDs.studyRootFind),
            dataSet: [[]])
        let operation = FindService.start(message, on: host) { Issue.record("no operation should run") }
        #expect(operation == nil)
        let response = try #require(host.sent.first)
        #expect(response.command.commandField == .cFindRSP)
        #expect(response.command.status == .unableToProcess)
        #expect(response.command.errorComment == "no index")
        #expect(response.command.messageIDBeingRespondedTo == 6)
        #expect(host.counters.statistics.finds == 1)
        let line = try #require(host.logs.all.first { $0.message == "C-FIND" })
        #expect(line.metadata["status"] == "C000")
        #expect(line.metadata["model"] == "studyRoot")
        #expect(line.metadata["matches"] == "0")
        #expect(line.metadata["error_comment"] == "no index")
        #expect(line.metadata["duration_ms"] != nil)
    }

    @Test("C-GET through the host without an index: C000 with zero sub-operation counts")
    func getWithoutIndex() throws {
        let host = try host()
        let message = DIMSEMessage(
            contextID: 5, command: .cGetRQ(messageID: 8, affectedSOPClassUID: RetrieveService.studyRootGet),
            dataSet: [[]])
        let operation = RetrieveService.start(message, kind: .get, on: host) { Issue.record("no operation should run") }
        #expect(operation == nil)
        let response = try #require(host.sent.first)
        #expect(response.command.commandField == .cGetRSP)
        #expect(response.command.status == .unableToProcess)
        #expect(response.command.errorComment == "no index")
        #expect(response.command.subOperations == SubOperationCounts(completed: 0, failed: 0, warning: 0))
        #expect(host.counters.statistics.gets == 1)
        let line = try #require(host.logs.all.first { $0.message == "C-GET" })
        #expect(line.metadata["status"] == "C000")
        #expect(line.metadata["completed"] == "0")
        #expect(line.metadata["failed"] == "0")
    }

    @Test("Error Comments are cut to 64 characters; Offending Elements are set")
    func annotated() {
        let command = CommandSet.cFindRSP(
            respondingTo: 1, affectedSOPClassUID: UIDs.studyRootFind,
            status: .unableToProcess, hasIdentifier: false)
        let long = String(repeating: "x", count: 100)
        let annotated = DIMSEResponder.annotated(command, comment: long, offending: [Tag(0x0008, 0x0052)])
        #expect(annotated.errorComment == String(repeating: "x", count: 64))
        #expect(annotated.offendingElements == [0x0008_0052])
        #expect(DIMSEResponder.annotated(command, comment: nil).encoded() == command.encoded())
    }
}
