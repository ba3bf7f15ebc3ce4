// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Reactor
import Testing

@testable import QRServer

@Suite("C-GET SCP over a real index", .serialized, .timeLimit(.minutes(2)))
struct GetServiceTests {
    static let study = "1.2.826.0.1.3680043.10.1489.7.1"
    static let series = "1.2.826.0.1.3680043.10.1489.7.1.1"

    @Test("STUDY level C-GET: one C-STORE-RQ per instance with the stored bytes, pending counts, final 0000")
    func studyLevelGet() throws {
        let archive = try TestArchive()
        for i in 1...3 { try archive.add(instance: i) }
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let context = try scu.contextID(RetrieveUIDs.studyRootGet)
        let outcome = try scu.get(
            contextID: context, messageID: 9, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        #expect(outcome.stores.count == 3)
        for (store, item) in zip(outcome.stores, archive.items) {
            #expect(store.command.affectedSOPInstanceUID == item.sopInstanceUID)
            #expect(store.command.affectedSOPClassUID == item.sopClassUID)
            #expect(store.command.messageID != 9, "sub-operation message IDs must not collide with the C-GET's")
            #expect(store.command.moveOriginatorAETitle == nil)
            #expect(scu.negotiated?.contexts[store.contextID]?.abstractSyntax == item.sopClassUID)
            #expect(scu.negotiated?.contexts[store.contextID]?.transferSyntax == UIDs.explicitLE)
            #expect(store.dataSet[...] == item.dataSetBytes, "data set sent unchanged")
        }
        #expect(outcome.pending.count == 3)
        #expect(outcome.pending.map(\.remainingSubOperations) == [2, 1, 0])
        #expect(outcome.pending.map(\.completedSubOperations) == [1, 2, 3])
        #expect(outcome.pending.allSatisfy { $0.messageIDBeingRespondedTo == 9 && $0.hasDataSet == false })
        #expect(outcome.status == .success)
        #expect(outcome.final.completedSubOperations == 3)
        #expect(outcome.final.failedSubOperations == 0)
        #expect(outcome.final.warningSubOperations == 0)
        #expect(outcome.final.remainingSubOperations == nil)
        #expect(outcome.finalIdentifier == nil)
        try scu.release()
        #expect(eventually { server.retrieveLogs("C-GET").count == 1 })
        let logs = server.retrieveLogs("C-GET")
        #expect(logs.first?.metadata["status"] == "0000")
        #expect(logs.first?.metadata["completed"] == "3")
    }

    @Test("SERIES, IMAGE (UID list) and PATIENT levels select the right instances")
    func levels() throws {
        let archive = try TestArchive()
        try archive.add(instance: 1)
        try archive.add(instance: 2)
        try archive.add(series: Self.series + ".2", instance: 3)
        try archive.add(patientID: "PID2", study: Self.study + ".9", series: Self.study + ".9.1", instance: 4)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let studyRoot = try scu.contextID(RetrieveUIDs.studyRootGet)
        let patientRoot = try scu.contextID(RetrieveUIDs.patientRootGet)
        func uids(_ o: GetOutcome) -> Set<String> { Set(o.stores.compactMap(\.command.affectedSOPInstanceUID)) }

        let series = try scu.get(
            contextID: studyRoot, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(level: "SERIES", study: Self.study, series: Self.series))
        #expect(uids(series) == [archive.items[0].sopInstanceUID, archive.items[1].sopInstanceUID])
        #expect(series.status == .success)

        let images = try scu.get(
            contextID: studyRoot, messageID: 2, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(
                level: "IMAGE", study: Self.study, series: Self.series,
                sop: archive.items[0].sopInstanceUID + "\\" + archive.items[1].sopInstanceUID))
        #expect(uids(images) == [archive.items[0].sopInstanceUID, archive.items[1].sopInstanceUID])

        let patient = try scu.get(
            contextID: patientRoot, messageID: 3, sopClass: RetrieveUIDs.patientRootGet,
            identifier: retrieveIdentifier(level: "PATIENT", patientID: "PID1"))
        #expect(uids(patient) == Set(archive.items[0...2].map(\.sopInstanceUID)))

        let patientStudy = try scu.get(
            contextID: patientRoot, messageID: 4, sopClass: RetrieveUIDs.patientRootGet,
            identifier: retrieveIdentifier(
                level: "STUDY", patientID: "PID2",
                study: Self.study + ".9"))
        #expect(uids(patientStudy) == [archive.items[3].sopInstanceUID])

        let none = try scu.get(
            contextID: studyRoot, messageID: 5, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(level: "STUDY", study: "1.2.3.4.5.6.7"))
        #expect(none.stores.isEmpty && none.pending.isEmpty)
        #expect(none.status == .success)
        #expect(none.final.completedSubOperations == 0 && none.final.failedSubOperations == 0)
        try scu.release()
    }

    @Test("Invalid identifiers: A900 with an error comment, no sub-operations (QR-22)")
    func invalidIdentifiers() throws {
        let archive = try TestArchive()
        try archive.add(instance: 1)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let studyRoot = try scu.contextID(RetrieveUIDs.studyRootGet)
        let patientRoot = try scu.contextID(RetrieveUIDs.patientRootGet)
        let cases: [(UInt8, String, DataSet)] = [
            (studyRoot, RetrieveUIDs.studyRootGet, retrieveIdentifier(level: "", study: Self.study)),
            (studyRoot, RetrieveUIDs.studyRootGet, retrieveIdentifier(level: "SERIES", study: Self.study)),
            (
                studyRoot, RetrieveUIDs.studyRootGet,
                retrieveIdentifier(level: "SERIES", study: Self.study + "\\1.2.3", series: Self.series)
            ),
            (studyRoot, RetrieveUIDs.studyRootGet, retrieveIdentifier(level: "STUDY", study: "1.2.*")),
            (studyRoot, RetrieveUIDs.studyRootGet, retrieveIdentifier(level: "PATIENT", patientID: "PID1")),
            (patientRoot, RetrieveUIDs.patientRootGet, retrieveIdentifier(level: "STUDY", study: Self.study)),
            (patientRoot, RetrieveUIDs.patientRootGet, retrieveIdentifier(level: "PATIENT", patientID: "PID1\\PID2")),
        ]
        for (n, (context, sopClass, identifier)) in cases.enumerated() {
            let outcome = try scu.get(
                contextID: context, messageID: UInt16(n + 1), sopClass: sopClass, identifier: identifier)
            #expect(outcome.stores.isEmpty)
            #expect(outcome.status == .identifierDoesNotMatchSOPClass, "case \(n)")
            #expect(outcome.final.errorComment?.isEmpty == false)
        }
        // The association is still usable.
        let ok = try scu.get(
            contextID: studyRoot, messageID: 99, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
        #expect(ok.stores.count == 1 && ok.status == .success)
        try scu.release()
    }

    @Test("Without the SCP role every sub-operation fails: A702 with the Failed SOP Instance UID List")
    func noSCPRole() throws {
        let archive = try TestArchive()
        for i in 1...2 { try archive.add(instance: i) }
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts(role: false))
        let outcome = try scu.getStudy(Self.study)
        #expect(outcome.stores.isEmpty)
        #expect(outcome.status == .outOfResourcesUnableToPerformSubOperations)
        #expect(outcome.final.failedSubOperations == 2)
        #expect(outcome.final.completedSubOperations == 0)
        #expect(
            Set(outcome.finalIdentifier?.strings(Tag(0x0008, 0x0058)) ?? []) == Set(archive.items.map(\.sopInstanceUID))
        )
        try scu.release()
    }

    @Test("A missing file and a refused C-STORE are failed sub-operations: B000 with the failed UIDs")
    func partialFailure() throws {
        let archive = try TestArchive()
        for i in 1...4 { try archive.add(instance: i) }
        try FileManager.default.removeItem(atPath: archive.items[1].path)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let refused = archive.items[3].sopInstanceUID
        let outcome = try scu.getStudy(
            Self.study, storeStatus: { $0.command.affectedSOPInstanceUID == refused ? DIMSEStatus(0xA700) : .success })
        #expect(outcome.stores.count == 3)
        #expect(outcome.status == .warning)
        #expect(outcome.final.completedSubOperations == 2)
        #expect(outcome.final.failedSubOperations == 2)
        #expect(
            Set(outcome.finalIdentifier?.strings(Tag(0x0008, 0x0058)) ?? [])
                == [archive.items[1].sopInstanceUID, refused])
        #expect(outcome.pending.count == 4)
        #expect(
            server.logs.all.contains {
                $0.message.contains("sub-operation failed") && $0.metadata["path"] == archive.items[1].path
            })
        try scu.release()
    }

    @Test("C-CANCEL stops after the sub-operation in progress: FE00 with counts and the not-sent UIDs")
    func cancel() throws {
        let archive = try TestArchive()
        for i in 1...6 { try archive.add(instance: i) }
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let context = try scu.contextID(RetrieveUIDs.studyRootGet)
        let outcome = try scu.get(
            contextID: context, messageID: 5, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(level: "STUDY", study: Self.study),
            onStore: { n in
                if n == 2 { try scu.sendMessage(contextID: context, command: .cCancelRQ(respondingTo: 5)) }
            })
        #expect(outcome.status == .cancel)
        #expect(outcome.stores.count >= 2 && outcome.stores.count <= 3)
        let sent = outcome.stores.count
        #expect(outcome.final.completedSubOperations == UInt16(sent))
        #expect(outcome.final.failedSubOperations == 0)
        let notSent = Set(archive.items[sent...].map(\.sopInstanceUID))
        #expect(Set(outcome.finalIdentifier?.strings(Tag(0x0008, 0x0058)) ?? []) == notSent)
        // The association serves the next request.
        let again = try scu.get(
            contextID: context, messageID: 6, sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(
                level: "IMAGE", study: Self.study, series: Self.series,
                sop: archive.items[0].sopInstanceUID))
        #expect(again.status == .success && again.stores.count == 1)
        try scu.release()
    }

    @Test(
        "Conversion: stored Explicit LE / Big Endian go out Implicit LE when that is all the requester takes; JPEG cannot"
    )
    func conversion() throws {
        let archive = try TestArchive()
        let le = try archive.add(instance: 1, transferSyntax: .explicitVRLittleEndian)
        let be = try archive.add(instance: 2, transferSyntax: .explicitVRBigEndian)
        let jpeg = try archive.add(instance: 3, transferSyntax: TransferSyntax(uid: RetrieveUIDs.jpegBaseline))
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts(storageSyntaxes: [UIDs.implicitLE]))
        let outcome = try scu.getStudy(Self.study)
        #expect(outcome.stores.count == 2)
        for (store, item) in zip(outcome.stores, [le, be]) {
            #expect(store.command.affectedSOPInstanceUID == item.sopInstanceUID)
            let received = try DataSetReader.read(store.dataSet[...], transferSyntax: .implicitVRLittleEndian)
            let expected = item.dataSet
            for element in expected where element.tag != Tag(0x0029, 0x0010) {
                let got = received.bytes(element.tag).map { Array($0) }
                #expect(got == Array(element.bytes(bigEndian: false)), "\(element.tag) of \(item.transferSyntax)")
            }
            #expect(received.uint16(Tag(0x0028, 0x0010)) == 16)
            #expect(received.string(.patientName) == "Doe^Jane")
        }
        #expect(outcome.status == .warning)
        #expect(outcome.final.failedSubOperations == 1)
        #expect(outcome.finalIdentifier?.strings(Tag(0x0008, 0x0058)) == [jpeg.sopInstanceUID])
        try scu.release()
    }

    @Test("A JPEG object goes out unchanged on a context accepted for its syntax")
    func compressedUnchanged() throws {
        let archive = try TestArchive()
        let jpeg = try archive.add(instance: 1, transferSyntax: TransferSyntax(uid: RetrieveUIDs.jpegBaseline))
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        var contexts = getContexts()
        contexts.append(
            RequestedContext(
                abstractSyntax: RetrieveUIDs.ctImage, transferSyntaxes: [RetrieveUIDs.jpegBaseline],
                role: (scu: false, scp: true)))
        let scu = try TestSCU(port: server.port, contexts: contexts)
        let outcome = try scu.getStudy(Self.study)
        #expect(outcome.status == .success)
        #expect(outcome.stores.first?.dataSet[...] == jpeg.dataSetBytes)
        #expect(
            outcome.stores.first.flatMap { scu.negotiated?.contexts[$0.contextID]?.transferSyntax }
                == RetrieveUIDs.jpegBaseline)
        try scu.release()
    }

    @Test("Aborting the association during a C-GET stops it; the server serves the next association")
    func abortDuringGet() throws {
        let archive = try TestArchive()
        for i in 1...5 { try archive.add(instance: i, pixelBytes: 200_000) }
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        do {
            let scu = try TestSCU(port: server.port, contexts: getContexts())
            try scu.sendRetrieve(
                contextID: try scu.contextID(RetrieveUIDs.studyRootGet),
                command: .cGetRQ(messageID: 1, affectedSOPClassUID: RetrieveUIDs.studyRootGet),
                identifier: retrieveIdentifier(level: "STUDY", study: Self.study))
            let first = try scu.receiveMessage()
            #expect(first.command.commandField == .cStoreRQ)
            try scu.send(.abort(AbortPDU(source: .serviceUser, reason: .notSpecified)))
            scu.close()
        }
        #expect(eventually { server.onLoop { $0.openConnectionCount } == 0 })
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let outcome = try scu.get(
            contextID: try scu.contextID(RetrieveUIDs.studyRootGet),
            sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(
                level: "IMAGE", study: Self.study, series: Self.series,
                sop: archive.items[4].sopInstanceUID))
        #expect(outcome.status == .success)
        #expect(outcome.stores.first?.dataSet[...] == archive.items[4].dataSetBytes)
        try scu.release()
    }

    @Test(
        "A file that shrinks while its data set is being sent aborts the association (logged); the next one is served")
    func fileShrinksDuringGet() throws {
        let archive = try TestArchive()
        // Larger than any socket buffer: with 16 KiB PDUs the data set goes out through `writev`
        // from a mapping, which the kernel copies eagerly into its buffers (a few MiB on loopback).
        let large = try archive.add(instance: 1, pixelBytes: 16_000_000)
        let intact = try archive.add(instance: 2)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        do {
            // A small receive window and no reading: the data set stays queued in the server.
            let scu = try TestSCU(port: server.port, contexts: getContexts(), receiveBufferSize: 16 * 1024)
            try scu.sendRetrieve(
                contextID: try scu.contextID(RetrieveUIDs.studyRootGet),
                command: .cGetRQ(messageID: 1, affectedSOPClassUID: RetrieveUIDs.studyRootGet),
                identifier: retrieveIdentifier(
                    level: "IMAGE", study: Self.study, series: Self.series,
                    sop: large.sopInstanceUID))
            // The first bytes of the C-STORE-RQ arrived: the file was opened and its size taken.
            var byte: UInt8 = 0
            #expect(recv(scu.fd, &byte, 1, Int32(MSG_PEEK)) == 1)
            #expect(truncate(large.path, 0) == 0)
            #expect(throws: (any Error).self) {
                while true { _ = try scu.receiveMessage() }
            }
            scu.close()
        }
        #expect(
            eventually {
                server.logs.all.contains {
                    $0.level == .error && $0.message.contains("could not be read to its end")
                        && ($0.metadata["error"] ?? "").contains(large.path)
                }
            })
        #expect(eventually { server.onLoop { $0.openConnectionCount } == 0 })
        let scu = try TestSCU(port: server.port, contexts: getContexts())
        let outcome = try scu.get(
            contextID: try scu.contextID(RetrieveUIDs.studyRootGet),
            sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(
                level: "IMAGE", study: Self.study, series: Self.series,
                sop: intact.sopInstanceUID))
        #expect(outcome.status == .success)
        #expect(outcome.stores.first?.dataSet[...] == intact.dataSetBytes)
        try scu.release()
    }
}
