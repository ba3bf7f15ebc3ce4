// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Reactor
import Testing

@testable import QRServer

extension TestSCU {
    /// Runs a C-MOVE and collects the pending C-MOVE-RSPs and the final one.
    func move(
        contextID: UInt8, messageID: UInt16 = 1, sopClass: String, destination: String, identifier: DataSet,
        onPending: (Int) throws -> Void = { _ in }
    ) throws -> GetOutcome {
        try sendRetrieve(
            contextID: contextID,
            command: .cMoveRQ(messageID: messageID, affectedSOPClassUID: sopClass, moveDestination: destination),
            identifier: identifier)
        var pending: [CommandSet] = []
        while true {
            let message = try receiveMessage()
            guard message.command.commandField == .cMoveRSP else {
                throw TestFailure("unexpected message \(String(describing: message.command.commandField))")
            }
            if message.command.status?.isPending == true {
                pending.append(message.command)
                try onPending(pending.count)
                continue
            }
            var identifier: DataSet?
            if let fragments = message.dataSet {
                var bytes: [UInt8] = []
                for f in fragments { bytes += f }
                identifier = try DataSetReader.read(bytes[...], transferSyntax: transferSyntax(of: message.contextID))
            }
            return GetOutcome(stores: [], pending: pending, final: message.command, finalIdentifier: identifier)
        }
    }
}

@Suite("C-MOVE SCP over a real index", .serialized, .timeLimit(.minutes(2)))
struct MoveServiceTests {
    static let study = GetServiceTests.study
    static let series = GetServiceTests.series

    func moveContexts() -> [RequestedContext] {
        [
            RequestedContext(
                abstractSyntax: RetrieveUIDs.studyRootMove, transferSyntaxes: [UIDs.explicitLE, UIDs.implicitLE]),
            RequestedContext(abstractSyntax: RetrieveUIDs.patientRootMove, transferSyntaxes: [UIDs.implicitLE]),
        ]
    }

    /// A server over `archive` that knows `destination` as the move destination STORESCP.
    /// A server moving to `destination`; by default it sends a pending C-MOVE-RSP after every
    /// sub-operation, so that tests can follow the counts instance by instance.
    func serverMoving(
        _ archive: TestArchive, to destination: TestStoreSCP,
        pendingInterval: Duration = .zero
    ) throws -> TestServer {
        try TestServer(
            store: archive.store, pageSize: nil,
            peers: ["STORESCP": PeerAddress(host: "127.0.0.1", port: destination.port)],
            configure: { $0.movePendingInterval = pendingInterval })
    }

    /// A Study Root C-MOVE of the test study to STORESCP.
    func moveStudy(_ scu: TestSCU, messageID: UInt16 = 1) throws -> GetOutcome {
        try scu.move(
            contextID: try scu.contextID(RetrieveUIDs.studyRootMove), messageID: messageID,
            sopClass: RetrieveUIDs.studyRootMove, destination: "STORESCP",
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
    }

    @Test("C-MOVE to a known destination: a sub-association with Move Originator, pending counts, 0000, A-RELEASE")
    func moveStudy() throws {
        let archive = try TestArchive()
        try archive.add(instance: 1)
        try archive.add(instance: 2, transferSyntax: .implicitVRLittleEndian)
        try archive.add(instance: 3, sopClass: RetrieveUIDs.mrImage, transferSyntax: .explicitVRBigEndian)
        let destination = try TestStoreSCP()
        defer { destination.stop() }
        let server = try serverMoving(archive, to: destination)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        let outcome = try moveStudy(scu, messageID: 11)
        #expect(outcome.status == .success)
        #expect(outcome.final.completedSubOperations == 3)
        #expect(outcome.final.failedSubOperations == 0)
        #expect(outcome.pending.map(\.remainingSubOperations) == [2, 1, 0])
        let received = destination.received
        #expect(received.count == 3)
        for (r, item) in zip(received, archive.items) {
            #expect(r.command.affectedSOPInstanceUID == item.sopInstanceUID)
            #expect(r.command.moveOriginatorAETitle == "TESTSCU")
            #expect(r.command.moveOriginatorMessageID == 11)
            // The stored syntax was proposed, so every object goes out unchanged.
            #expect(r.transferSyntax == item.transferSyntax.uid)
            #expect(r.dataSet[...] == item.dataSetBytes)
        }
        #expect(eventually { destination.released == 1 })
        try scu.release()
        #expect(eventually { server.retrieveLogs("C-MOVE").count == 1 })
        let logs = server.retrieveLogs("C-MOVE")
        #expect(logs.first?.metadata["move_destination"] == "STORESCP")
        #expect(logs.first?.metadata["completed"] == "3")
    }

    @Test(
        "Pending C-MOVE-RSPs at most once per interval: none for sub-operations quicker than it, exact counts at the end"
    )
    func pendingInterval() throws {
        let archive = try TestArchive()
        for i in 1...6 { try archive.add(instance: i) }
        // Six quick sub-operations inside a long interval: no pending response, the final has the counts.
        let quick = try TestStoreSCP()
        defer { quick.stop() }
        let quickServer = try serverMoving(archive, to: quick, pendingInterval: .seconds(60))
        defer { quickServer.shutdown() }
        let scu = try TestSCU(port: quickServer.port, contexts: moveContexts())
        let outcome = try moveStudy(scu)
        #expect(outcome.status == .success)
        #expect(outcome.pending.isEmpty)
        #expect(outcome.final.completedSubOperations == 6)
        #expect(quick.received.count == 6)
        try scu.release()

        // Sub-operations of at least 0.1 s each with a 0.25 s interval: some pending responses
        // (the third sub-operation ends after the interval), never more than one per interval of
        // the whole move, each with counts that add up.
        let slow = try TestStoreSCP(responseDelay: 0.1)
        defer { slow.stop() }
        let slowServer = try serverMoving(archive, to: slow, pendingInterval: .milliseconds(250))
        defer { slowServer.shutdown() }
        let slowSCU = try TestSCU(port: slowServer.port, contexts: moveContexts())
        let start = ContinuousClock.now
        let slowOutcome = try slowSCU.move(
            contextID: try slowSCU.contextID(RetrieveUIDs.studyRootMove), messageID: 2,
            sopClass: RetrieveUIDs.studyRootMove, destination: "STORESCP",
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        let intervals = (ContinuousClock.now - start) / .milliseconds(250)
        #expect(slowOutcome.status == .success)
        #expect(slowOutcome.final.completedSubOperations == 6)
        #expect(!slowOutcome.pending.isEmpty)
        #expect(
            Double(slowOutcome.pending.count) <= intervals,
            "\(slowOutcome.pending.count) pending in \(intervals) intervals")
        for response in slowOutcome.pending {
            #expect(Int(response.remainingSubOperations ?? 99) + Int(response.completedSubOperations ?? 99) == 6)
        }
        try slowSCU.release()
    }

    @Test("Unknown destination: A801 without sub-operations")
    func unknownDestination() throws {
        let archive = try TestArchive()
        try archive.add(instance: 1)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        let outcome = try scu.move(
            contextID: try scu.contextID(RetrieveUIDs.studyRootMove),
            sopClass: RetrieveUIDs.studyRootMove, destination: "NOBODY",
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        #expect(outcome.status == .moveDestinationUnknown)
        #expect(outcome.pending.isEmpty)
        try scu.release()
    }

    @Test("Destination refuses or is down: A702 with an error comment; the association stays usable")
    func destinationFailures() throws {
        let archive = try TestArchive()
        try archive.add(instance: 1)
        try archive.add(instance: 2)
        let refusing = try TestStoreSCP(mode: .reject)
        defer { refusing.stop() }
        // A port nobody listens on: bind one, note it, close it.
        let closed = try TestStoreSCP()
        let downPort = closed.port
        closed.stop()
        let server = try TestServer(
            retrievingFrom: archive.store,
            peers: [
                "STORESCP": PeerAddress(host: "127.0.0.1", port: refusing.port),
                "DOWN": PeerAddress(host: "127.0.0.1", port: downPort),
            ])
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        let context = try scu.contextID(RetrieveUIDs.studyRootMove)
        let rejected = try scu.move(
            contextID: context, messageID: 1, sopClass: RetrieveUIDs.studyRootMove,
            destination: "STORESCP", identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        #expect(rejected.status == .outOfResourcesUnableToPerformSubOperations)
        #expect(
            rejected.final.errorComment?.contains("refused the association (1/1/7)") == true,
            "\(rejected.final.errorComment ?? "")")
        #expect(rejected.final.failedSubOperations == 2)
        #expect(
            Set(rejected.finalIdentifier?.strings(Tag(0x0008, 0x0058)) ?? [])
                == Set(archive.items.map(\.sopInstanceUID)))
        let down = try scu.move(
            contextID: context, messageID: 2, sopClass: RetrieveUIDs.studyRootMove,
            destination: "DOWN", identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        #expect(down.status == .outOfResourcesUnableToPerformSubOperations)
        #expect(down.final.errorComment?.contains("connection refused") == true, "\(down.final.errorComment ?? "")")
        #expect(eventually { server.retrieveLogs("C-MOVE").count == 2 })
        #expect(
            server.retrieveLogs("C-MOVE").last?.metadata["error_comment"]?.contains("connection refused") == true,
            "\(server.retrieveLogs("C-MOVE").map(\.metadata))")
        // Still healthy.
        let echo = try scu.find(
            contextID: context, messageID: 3, sopClass: RetrieveUIDs.studyRootMove,
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        #expect(echo.final.command.commandField == .cFindRSP)
        try scu.release()
    }

    @Test("Destination accepting only some SOP classes: the others fail, B000")
    func partialContexts() throws {
        let archive = try TestArchive()
        try archive.add(instance: 1)
        try archive.add(instance: 2, sopClass: RetrieveUIDs.mrImage)
        let destination = try TestStoreSCP(mode: .acceptOnly([RetrieveUIDs.ctImage]))
        defer { destination.stop() }
        let server = try serverMoving(archive, to: destination)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        let outcome = try moveStudy(scu)
        #expect(outcome.status == .warning)
        #expect(outcome.final.completedSubOperations == 1)
        #expect(outcome.final.failedSubOperations == 1)
        #expect(outcome.finalIdentifier?.strings(Tag(0x0008, 0x0058)) == [archive.items[1].sopInstanceUID])
        try scu.release()
    }

    @Test("C-CANCEL mid-move: FE00 with counts, the sub-association is released")
    func cancelMove() throws {
        let archive = try TestArchive()
        for i in 1...6 { try archive.add(instance: i) }
        let destination = try TestStoreSCP(responseDelay: 0.1)
        defer { destination.stop() }
        let server = try serverMoving(archive, to: destination)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        let context = try scu.contextID(RetrieveUIDs.studyRootMove)
        let outcome = try scu.move(
            contextID: context, messageID: 4, sopClass: RetrieveUIDs.studyRootMove,
            destination: "STORESCP", identifier: retrieveIdentifier(level: "STUDY", study: Self.study),
            onPending: { n in
                if n == 1 { try scu.sendMessage(contextID: context, command: .cCancelRQ(respondingTo: 4)) }
            })
        #expect(outcome.status == .cancel)
        let done = Int(outcome.final.completedSubOperations ?? 0)
        #expect(done >= 1 && done < 6)
        #expect(outcome.finalIdentifier?.strings(Tag(0x0008, 0x0058))?.count == 6 - done)
        #expect(eventually { destination.released == 1 })
        try scu.release()
    }

    @Test("Destination aborting mid-move: remaining sub-operations fail, the requester gets a final status")
    func destinationAborts() throws {
        let archive = try TestArchive()
        for i in 1...4 { try archive.add(instance: i) }
        let destination = try TestStoreSCP(mode: .abortAfter(2))
        defer { destination.stop() }
        let server = try serverMoving(archive, to: destination)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        let outcome = try moveStudy(scu)
        #expect(outcome.status == .warning)
        #expect(outcome.final.completedSubOperations == 1)
        #expect(outcome.final.failedSubOperations == 3)
        try scu.release()
    }

    @Test("The requester aborting mid-move aborts the sub-association")
    func originatorAborts() throws {
        let archive = try TestArchive()
        for i in 1...6 { try archive.add(instance: i) }
        let destination = try TestStoreSCP(responseDelay: 0.2)
        defer { destination.stop() }
        let server = try serverMoving(archive, to: destination)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: moveContexts())
        try scu.sendRetrieve(
            contextID: try scu.contextID(RetrieveUIDs.studyRootMove),
            command: .cMoveRQ(
                messageID: 1, affectedSOPClassUID: RetrieveUIDs.studyRootMove,
                moveDestination: "STORESCP"),
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        let first = try scu.receiveMessage()
        #expect(first.command.status == .pending)
        try scu.send(.abort(AbortPDU(source: .serviceUser, reason: .notSpecified)))
        scu.close()
        #expect(eventually { server.onLoop { $0.openConnectionCount } == 0 })
        // The sub-association has ended at the destination: nothing more can arrive there.
        #expect(eventually { destination.associations > 0 && destination.ended >= destination.associations })
        #expect(destination.received.count < 6)
        #expect(destination.released == 0)
        #expect(server.logs.all.contains { $0.message.contains("aborting the sub-association") })
    }
}
