// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Reactor
import Testing

@testable import QRServer

@Suite("C-FIND SCP over a fake index", .serialized, .timeLimit(.minutes(2)))
struct FindServiceTests {
    // MARK: Matches

    @Test("one pending response per match across pages, then 0000 without identifier (QR-13)")
    func pendingPerMatchThenSuccess() throws {
        let store = FakeIndexStore(.init(totalMatches: 10))
        let server = try TestServer(store: store, pageSize: 4)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let context = try scu.contextID(UIDs.studyRootFind)
        let (pending, final) = try scu.find(
            contextID: context, messageID: 7, sopClass: UIDs.studyRootFind,
            identifier: studyQuery())
        #expect(pending.count == 10)
        for (i, response) in pending.enumerated() {
            #expect(response.status == .pending)
            #expect(response.command.commandField == .cFindRSP)
            #expect(response.command.messageIDBeingRespondedTo == 7)
            #expect(response.command.affectedSOPClassUID == UIDs.studyRootFind)
            #expect(response.identifier?.string(.patientID) == "PID\(i)")
            #expect(response.identifier?.string(.queryRetrieveLevel) == "STUDY")
            #expect(response.identifier?.contains(Tag(0x0008, 0x0054)) == false)
        }
        #expect(final.status == .success)
        #expect(final.identifier == nil)
        #expect(final.command.hasDataSet == false)
        #expect(final.command.messageIDBeingRespondedTo == 7)
        try scu.release()

        let calls = store.recordedCalls
        #expect(calls.map(\.after) == [nil, 4, 8])
        #expect(calls.allSatisfy { $0.limit == 4 })
        #expect(calls.allSatisfy { !$0.onLoopThread }, "index queries must run on the worker pool")

        let findLogs = server.logs.all.filter { $0.message == "C-FIND" }
        #expect(findLogs.count == 1)
        #expect(findLogs.first?.level == .info)
        #expect(findLogs.first?.metadata["dimse_command"] == "C-FIND")
        #expect(findLogs.first?.metadata["status"] == "0000")
        #expect(findLogs.first?.metadata["matches"] == "10")
        #expect(findLogs.first?.metadata["level"] == "STUDY")
        #expect(server.onLoop { $0.statistics.finds } == 1)
    }

    @Test("no match: only the final 0000")
    func zeroMatches() throws {
        let server = try TestServer(store: FakeIndexStore(.init(totalMatches: 0)))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        // Study Root: at STUDY level it needs no Patient ID (Patient Root would, QR-02).
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.isEmpty)
        #expect(final.status == .success)
    }

    @Test("FF01 when the index reports unsupported optional keys")
    func unsupportedOptionalKeys() throws {
        let server = try TestServer(store: FakeIndexStore(.init(totalMatches: 5, unsupportedOptionalKeys: true)))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.count == 5)
        #expect(pending.allSatisfy { $0.status == .pendingWithWarning })
        #expect(final.status == .success)
    }

    @Test("Retrieve AE Title is returned with our AE title when requested")
    func retrieveAETitle() throws {
        let server = try TestServer(store: FakeIndexStore(.init(totalMatches: 3)))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let query = studyQuery { $0.set(Tag(0x0008, 0x0054), vr: .AE, string: "") }
        let (pending, _) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: query)
        #expect(pending.count == 3)
        #expect(pending.allSatisfy { $0.identifier?.string(Tag(0x0008, 0x0054)) == TestServer.aeTitle })
    }

    @Test(
        "identifiers are read and written in the context's transfer syntax",
        arguments: [UIDs.implicitLE, UIDs.explicitLE, UIDs.explicitBE])
    func transferSyntaxes(_ syntax: String) throws {
        let server = try TestServer(store: FakeIndexStore(.init(totalMatches: 3)))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts([syntax]))
        let context = try scu.contextID(UIDs.studyRootFind)
        #expect(scu.negotiated?.contexts[context]?.transferSyntax == syntax)
        let (pending, final) = try scu.find(contextID: context, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.map { $0.identifier?.string(.patientID) } == ["PID0", "PID1", "PID2"])
        #expect(pending.map { $0.identifier?.string(.studyInstanceUID) } == ["1.2.3.4.0", "1.2.3.4.1", "1.2.3.4.2"])
        #expect(final.status == .success)
    }

    // MARK: Flow control and cancel

    @Test("a client that stops reading stops the query; it completes once the client reads")
    func flowControl() throws {
        let store = FakeIndexStore(.init(totalMatches: 2000, payloadSize: 16 * 1024))
        let server = try TestServer(store: store, pageSize: 4)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts(), receiveBufferSize: 8192, timeout: 30)
        let context = try scu.contextID(UIDs.studyRootFind)
        try scu.sendFind(contextID: context, messageID: 1, sopClass: UIDs.studyRootFind, identifier: studyQuery())

        // Not reading: the index must stop being asked once the socket and our queue are full. The
        // server holds the query (no page in flight while it does), and the hold lasts: checked on
        // the loop, where a page fetch would have to start, before and after a second barrier.
        func held() -> (held: Bool, pages: Int)? {
            server.onLoop { ($0.statistics.findsHeldForOutput == 1, store.pageRequests) }
        }
        #expect(eventually(seconds: 20) { held()?.held == true })
        let stalled = held()?.pages ?? -1
        _ = server.onLoop { _ in () }
        #expect(held()?.held == true)
        #expect(store.pageRequests == stalled, "pages were fetched while the client was not reading")
        #expect(stalled < 200, "fetched \(stalled) of 500 pages without the client reading")

        // Reading again: the query resumes and completes.
        let (pending, final) = try scu.collectFindResponses(contextID: context)
        #expect(pending.count == 2000)
        #expect(final.status == .success)
        #expect(store.pageRequests == 500)
    }

    @Test("C-CANCEL stops the query within one page and answers FE00 without identifier (QR-14)")
    func cancel() throws {
        let store = FakeIndexStore(.init(totalMatches: 10_000, delay: .milliseconds(50)))
        let server = try TestServer(store: store, pageSize: 2)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let context = try scu.contextID(UIDs.studyRootFind)
        try scu.sendFind(contextID: context, messageID: 42, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        var received = 0
        while received < 4 {
            let response = try scu.receiveFindResponse(contextID: context)
            #expect(response.status == .pending)
            received += 1
        }
        // A cancel for another message ID is ignored.
        try scu.sendMessage(contextID: context, command: .cCancelRQ(respondingTo: 41))
        try scu.sendMessage(contextID: context, command: .cCancelRQ(respondingTo: 42))
        let pagesAtCancel = store.pageRequests
        let (pending, final) = try scu.collectFindResponses(contextID: context)
        #expect(final.status == .cancel)
        #expect(final.identifier == nil)
        #expect(final.command.messageIDBeingRespondedTo == 42)
        // At most the page in flight when the cancel arrived (plus one, for a slow test thread).
        #expect(pending.count <= 3 * 2 * 2, "\(pending.count) matches after the cancel")

        // The association stays usable. The echo's answer also means that the loop has handled
        // whatever page was in flight when the cancel arrived, once none is.
        #expect(eventually { store.pagesInFlight == 0 })
        let echo = CommandSet.cEchoRQ(messageID: 43)
        try scu.sendMessage(contextID: try scu.contextID(UIDs.verification), command: echo)
        #expect(try scu.receiveMessage().command.status == .success)
        #expect(store.pageRequests <= pagesAtCancel + 2)
        try scu.release()
        #expect(eventually { server.logs.all.contains { $0.message == "C-FIND" && $0.metadata["status"] == "FE00" } })
    }

    @Test("an abort while a query runs stops it")
    func abortStopsQuery() throws {
        let store = FakeIndexStore(.init(totalMatches: 10_000, delay: .milliseconds(30)))
        let server = try TestServer(store: store, pageSize: 2)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let context = try scu.contextID(UIDs.studyRootFind)
        try scu.sendFind(contextID: context, messageID: 1, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        _ = try scu.receiveFindResponse(contextID: context)
        try scu.send(.abort(AbortPDU(source: .serviceUser)))
        #expect(eventually { server.onLoop { $0.openConnectionCount } == 0 })
        let afterAbort = store.pageRequests
        // Once no page is in flight and the loop has handled the last one's result, a query that
        // went on would have asked for its next page.
        #expect(eventually { store.pagesInFlight == 0 })
        _ = server.onLoop { _ in () }
        #expect(store.pageRequests <= afterAbort + 1)
        #expect(afterAbort < 100)
    }

    // MARK: Concurrency

    @Test("a C-ECHO on a second association completes while a slow C-FIND runs on the first")
    func echoWhileFindRuns() throws {
        let store = FakeIndexStore(.init(totalMatches: 40, delay: .milliseconds(250)))
        let server = try TestServer(store: store, pageSize: 4)
        defer { server.shutdown() }
        let finder = try TestSCU(port: server.port, contexts: findContexts(), timeout: 30)
        let context = try finder.contextID(UIDs.studyRootFind)
        try finder.sendFind(contextID: context, messageID: 1, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(eventually { store.pageRequests >= 1 })

        let started = Date()
        let echoer = try TestSCU(port: server.port, contexts: findContexts())
        try echoer.sendMessage(contextID: try echoer.contextID(UIDs.verification), command: .cEchoRQ(messageID: 1))
        #expect(try echoer.receiveMessage().command.status == .success)
        try echoer.release()
        #expect(Date().timeIntervalSince(started) < 1.0)
        #expect(store.pageRequests < 10, "the C-FIND should still be running")

        let (pending, final) = try finder.collectFindResponses(contextID: context)
        #expect(pending.count == 40)
        #expect(final.status == .success)
    }

    @Test("several C-FINDs on one association are answered one after the other")
    func findsAreSequential() throws {
        let store = FakeIndexStore(.init(totalMatches: 6, delay: .milliseconds(20)))
        let server = try TestServer(store: store, pageSize: 2)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let context = try scu.contextID(UIDs.studyRootFind)
        try scu.sendFind(contextID: context, messageID: 1, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        try scu.sendFind(contextID: context, messageID: 2, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        var order: [UInt16] = []
        var finals = 0
        while finals < 2 {
            let response = try scu.receiveFindResponse(contextID: context)
            order.append(response.command.messageIDBeingRespondedTo ?? 0)
            if !response.status.isPending {
                #expect(response.status == .success)
                finals += 1
            }
        }
        #expect(order == Array(repeating: 1, count: 7) + Array(repeating: 2, count: 7))
    }

    @Test("A-RELEASE-RQ during a C-FIND: every response first, then A-RELEASE-RP")
    func releaseWaitsForFind() throws {
        let store = FakeIndexStore(.init(totalMatches: 8, delay: .milliseconds(30)))
        let server = try TestServer(store: store, pageSize: 2)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let context = try scu.contextID(UIDs.studyRootFind)
        try scu.sendFind(contextID: context, messageID: 1, sopClass: UIDs.studyRootFind, identifier: studyQuery())
        try scu.send(.releaseRQ)
        var statuses: [DIMSEStatus] = []
        while let message = try scu.receiveMessageOrReleaseRP() {
            statuses.append(message.command.status ?? DIMSEStatus(0xFFFF))
        }
        #expect(statuses == Array(repeating: .pending, count: 8) + [.success])
        #expect(store.pageRequests == 4)
    }

    // MARK: Failures

    @Test("no Query/Retrieve Level: A900 with Error Comment and Offending Element (QR-01, DM-08)")
    func missingLevel() throws {
        let server = try TestServer(store: FakeIndexStore())
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        var query = DataSet()
        query.set(.patientID, vr: .LO, string: "X")
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: query)
        #expect(pending.isEmpty)
        #expect(final.status == DIMSEStatus(0xA900))
        #expect(final.command.errorComment?.isEmpty == false)
        #expect(final.command.offendingElements == [0x0008_0052])
        #expect(final.identifier == nil)
    }

    @Test("PATIENT level in the Study Root model: A900")
    func patientLevelInStudyRoot() throws {
        let server = try TestServer(store: FakeIndexStore())
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        var query = DataSet()
        query.set(.queryRetrieveLevel, vr: .CS, string: "PATIENT")
        let (_, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: query)
        #expect(final.status == DIMSEStatus(0xA900))
    }

    @Test("C-FIND on the Verification context: 0122")
    func findOnVerificationContext() throws {
        let server = try TestServer(store: FakeIndexStore())
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.verification),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.isEmpty)
        #expect(final.status == .sopClassNotSupported)
        // The association is still usable.
        let (more, ok) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind), messageID: 2,
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(more.count == 10)
        #expect(ok.status == .success)
    }

    @Test("an index error: A700 with Error Comment")
    func storeFailure() throws {
        let server = try TestServer(store: FakeIndexStore(.init(failure: TestFailure("disk on fire"))))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.isEmpty)
        #expect(final.status == .outOfResources)
        #expect(final.command.errorComment?.contains("disk on fire") == true)
        #expect(eventually { server.logs.all.contains { $0.message == "C-FIND" && $0.metadata["status"] == "A700" } })
    }

    @Test("a QueryError from the index (e.g. hierarchical key rules) is answered with its status")
    func storeQueryError() throws {
        let error = QueryError(status: 0xA900, comment: "key below level", offendingElements: [Tag(0x0020, 0x000E)])
        let server = try TestServer(store: FakeIndexStore(.init(failure: error)))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let (_, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(final.status == DIMSEStatus(0xA900))
        #expect(final.command.errorComment == "key below level")
        #expect(final.command.offendingElements == [0x0020_000E])
    }

    @Test("no index configured: C000 'no index'")
    func noStore() throws {
        let server = try TestServer(store: nil)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let (_, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(final.status == .unableToProcess)
        #expect(final.command.errorComment == "no index")
    }

    @Test("an undecodable identifier: C000 with Error Comment")
    func undecodableIdentifier() throws {
        let server = try TestServer(store: FakeIndexStore())
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts([UIDs.explicitLE]))
        let context = try scu.contextID(UIDs.studyRootFind)
        // (0008,0052) CS with a length far beyond the data.
        let garbage: [UInt8] = [0x08, 0x00, 0x52, 0x00, 0x43, 0x53, 0xFF, 0x7F, 0x53, 0x54]
        try scu.sendMessage(
            contextID: context, command: .cFindRQ(messageID: 5, affectedSOPClassUID: UIDs.studyRootFind),
            dataSet: garbage)
        let (_, final) = try scu.collectFindResponses(contextID: context)
        #expect(final.status.rawValue & 0xF000 == 0xC000)
        #expect(final.command.errorComment?.isEmpty == false)
        #expect(final.command.messageIDBeingRespondedTo == 5)
    }
}
