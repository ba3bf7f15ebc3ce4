// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Dispatch
import Foundation
import Reactor
import Synchronization
import Testing

@testable import QRServer

#if canImport(Glibc)
    import Glibc
#endif

private enum StoreUIDs {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let mrImage = "1.2.840.10008.5.1.4.1.1.4"
    static let jpeg2000 = "1.2.840.10008.1.2.4.90"
}

/// A real server with a SQLite index over a fresh storage directory.
private final class StoreTestServer {
    let base: TestServer
    let store: SQLiteIndexStore
    let storageDirectory: String
    var port: Int { base.port }
    var logs: LogCapture { base.logs }

    init(
        settings: StoreSettings = StoreSettings(), duplicatePolicy: DuplicatePolicy = .keep,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws {
        var template = Array("/tmp/qrscpd-storesvc-XXXXXX".utf8CString)
        storageDirectory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        do {
            store = try SQLiteIndexStore()
            base = try TestServer(store: store, pageSize: nil, storageDirectory: storageDirectory) { configuration in
                configuration.store = settings
                configuration.duplicatePolicy = duplicatePolicy
                configure(&configuration)
            }
        } catch {
            // The caller's shutdown() removes the directory only once it has the server.
            try? FileManager.default.removeItem(atPath: storageDirectory)
            throw error
        }
    }

    func onLoop<T: Sendable>(_ body: @escaping @Sendable (DICOMServer) -> T) -> T? { base.onLoop(body) }

    func shutdown() {
        base.shutdown()
        try? FileManager.default.removeItem(atPath: storageDirectory)
    }

    var incomingFiles: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: storageDirectory + "/.incoming")) ?? []
    }

    var storedFiles: [String] {
        let e = FileManager.default.enumerator(atPath: storageDirectory)
        var out: [String] = []
        while let p = e?.nextObject() as? String { if p.hasSuffix(".dcm") { out.append(p) } }
        return out
    }
}

private func storeContexts(_ syntaxes: [String] = [UIDs.explicitLE, UIDs.implicitLE]) -> [RequestedContext] {
    [RequestedContext(abstractSyntax: StoreUIDs.ctImage, transferSyntaxes: syntaxes)] + findContexts()
}

private func image(
    sop: String, study: String = "1.2.3.500", series: String = "1.2.3.500.1",
    sopClass: String = StoreUIDs.ctImage, pixels: Int = 4096, name: String = "Store^Test"
) -> DataSet {
    var ds = DataSet()
    ds.set(.sopClassUID, vr: .UI, string: sopClass)
    ds.set(.sopInstanceUID, vr: .UI, string: sop)
    ds.set(.modality, vr: .CS, string: "CT")
    ds.set(.patientName, vr: .PN, string: name)
    ds.set(.patientID, vr: .LO, string: "PID-SCP")
    ds.set(.studyInstanceUID, vr: .UI, string: study)
    ds.set(.seriesInstanceUID, vr: .UI, string: series)
    if pixels > 0 {
        ds.set(
            Tag(0x7FE0, 0x0010), vr: .OW, bytes: [UInt8]((0..<pixels).map { UInt8(truncatingIfNeeded: $0 &* 31) })[...])
    }
    return ds
}

extension TestSCU {
    /// Sends a C-STORE-RQ with `dataSet` and returns the C-STORE-RSP.
    fileprivate func store(
        contextID: UInt8, messageID: UInt16 = 1, sopClass: String = StoreUIDs.ctImage,
        sopInstance: String, dataSet: [UInt8]
    ) throws -> CommandSet {
        try sendMessage(
            contextID: contextID,
            command: .cStoreRQ(
                messageID: messageID, affectedSOPClassUID: sopClass,
                affectedSOPInstanceUID: sopInstance),
            dataSet: dataSet)
        return try receiveMessage().command
    }
}

@Suite("C-STORE SCP: streamed, durable ingest", .serialized, .timeLimit(.minutes(3)))
struct StoreServiceTests {
    @Test("storage SOP classes: any registered transfer syntax, in the requester's order of preference")
    func negotiation() throws {
        let server = try StoreTestServer()
        defer { server.shutdown() }
        let contexts = [
            RequestedContext(abstractSyntax: StoreUIDs.ctImage, transferSyntaxes: [StoreUIDs.jpeg2000]),
            RequestedContext(
                abstractSyntax: StoreUIDs.mrImage, transferSyntaxes: ["1.2.3.4.5.6", UIDs.implicitLE, UIDs.explicitLE]),
            RequestedContext(abstractSyntax: "1.2.840.10008.5.1.4.1.1.7", transferSyntaxes: ["1.2.3.4.5.6"]),
            RequestedContext(
                abstractSyntax: "1.2.840.10008.5.1.4.1.1.128", transferSyntaxes: [StoreUIDs.jpeg2000, UIDs.explicitLE]),
            RequestedContext(abstractSyntax: "1.2.840.10008.5.1.4.1.1.104.1", transferSyntaxes: [UIDs.implicitLE]),
        ]
        let scu = try TestSCU(port: server.port, contexts: contexts)
        #expect(scu.negotiated?.context(abstractSyntax: StoreUIDs.ctImage)?.transferSyntax == StoreUIDs.jpeg2000)
        // Unregistered transfer syntaxes are skipped; then the requester's first choice.
        #expect(scu.negotiated?.context(abstractSyntax: StoreUIDs.mrImage)?.transferSyntax == UIDs.implicitLE)
        #expect(scu.negotiated?.context(abstractSyntax: "1.2.840.10008.5.1.4.1.1.7") == nil)
        #expect(
            scu.negotiated?.context(abstractSyntax: "1.2.840.10008.5.1.4.1.1.128")?.transferSyntax == StoreUIDs.jpeg2000
        )
        #expect(scu.negotiated?.context(abstractSyntax: "1.2.840.10008.5.1.4.1.1.104.1") != nil)
        #expect(StorageContexts.sopClasses.count > 100)
        try scu.release()
    }

    @Test("C-STORE-RSP 0000 only once the file is in place and indexed; C-FIND then finds it (QR-28)")
    func storeThenFind() throws {
        let server = try StoreTestServer()
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: storeContexts())
        let context = try scu.contextID(StoreUIDs.ctImage)
        let body = try DataSetWriter.write(
            image(sop: "1.2.3.500.1.1", pixels: 100_000),
            transferSyntax: scu.transferSyntax(of: context))
        let response = try scu.store(contextID: context, messageID: 5, sopInstance: "1.2.3.500.1.1", dataSet: body)
        // Checked right at the response: no waiting.
        let indexed = try server.store.instance(sopInstanceUID: "1.2.3.500.1.1")
        #expect(response.commandField == .cStoreRSP)
        #expect(response.status == .success)
        #expect(response.messageIDBeingRespondedTo == 5)
        #expect(response.affectedSOPClassUID == StoreUIDs.ctImage)
        #expect(response.affectedSOPInstanceUID == "1.2.3.500.1.1")
        let path = try #require(indexed?.path)
        let file = try DICOMFile.readBytes(path)
        let header = try DICOMFile.readHeader(file[...])
        #expect(Array(file[header.dataSetOffset...]) == body)
        #expect(header.meta.string(.sourceApplicationEntityTitle) == "TESTSCU")
        #expect(server.incomingFiles.isEmpty)

        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind), messageID: 6,
            sopClass: UIDs.studyRootFind,
            identifier: studyQuery {
                $0.set(.studyInstanceUID, vr: .UI, string: "1.2.3.500")
            })
        #expect(pending.count == 1)
        #expect(pending.first?.identifier?.string(.patientID) == "PID-SCP")
        #expect(final.status == .success)
        try scu.release()

        let log = server.logs.all.filter { $0.message == "C-STORE" }
        #expect(log.count == 1)
        #expect(log.first?.level == .info)
        #expect(log.first?.metadata["sop_instance_uid"] == "1.2.3.500.1.1")
        #expect(log.first?.metadata["status"] == "0000")
        #expect(server.onLoop { $0.statistics.storesReceived } == 1)
        #expect(server.onLoop { $0.statistics.storeBytesReceived } == body.count)
    }

    @Test("several objects in a row, several associations at once, each in order")
    func concurrentAssociations() throws {
        let server = try StoreTestServer()
        defer { server.shutdown() }
        let failures = Mutex<[String]>([])
        let port = server.port
        DispatchQueue.concurrentPerform(iterations: 3) { a in
            do {
                let scu = try TestSCU(port: port, contexts: storeContexts())
                let context = try scu.contextID(StoreUIDs.ctImage)
                for i in 0..<5 {
                    let sop = "1.2.3.600.\(a).\(i)"
                    let body = try DataSetWriter.write(
                        image(sop: sop, series: "1.2.3.600.\(a)", pixels: 50_000),
                        transferSyntax: scu.transferSyntax(of: context))
                    let rsp = try scu.store(
                        contextID: context, messageID: UInt16(i + 1), sopInstance: sop, dataSet: body)
                    if rsp.status != .success {
                        failures.withLock {
                            $0.append("\(sop): \(rsp.status.map { String(describing: $0) } ?? "no status")")
                        }
                    }
                }
                try scu.release()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try server.store.instanceCount() == 15)
        #expect(server.storedFiles.count == 15)
    }

    @Test("a large object with a tiny queue limit: reading pauses and resumes, bytes arrive intact")
    func flowControl() throws {
        let server = try StoreTestServer(settings: StoreSettings(maxQueuedBytes: 64 * 1024))
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: storeContexts(), timeout: 60)
        let context = try scu.contextID(StoreUIDs.ctImage)
        let body = try DataSetWriter.write(
            image(sop: "1.2.3.700.1", pixels: 8 * 1024 * 1024),
            transferSyntax: scu.transferSyntax(of: context))
        let rsp = try scu.store(contextID: context, sopInstance: "1.2.3.700.1", dataSet: body)
        #expect(rsp.status == .success)
        let path = try #require(try server.store.instance(sopInstanceUID: "1.2.3.700.1")?.path)
        let file = try DICOMFile.readBytes(path)
        let header = try DICOMFile.readHeader(file[...])
        #expect(file.count - header.dataSetOffset == body.count)
        #expect(Array(file[header.dataSetOffset...]) == body)
        try scu.release()
    }

    @Test("peer abort in the middle of an object: no file, no index row")
    func abortMidObject() throws {
        let server = try StoreTestServer()
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: storeContexts())
        let context = try scu.contextID(StoreUIDs.ctImage)
        let body = try DataSetWriter.write(
            image(sop: "1.2.3.800.1", pixels: 200_000),
            transferSyntax: scu.transferSyntax(of: context))
        let pdus = DIMSEFragmenter.pData(
            contextID: context,
            command: CommandSet.cStoreRQ(
                messageID: 1, affectedSOPClassUID: StoreUIDs.ctImage,
                affectedSOPInstanceUID: "1.2.3.800.1"
            ).encoded()[...],
            dataSet: [body[...]], peerMaxPDULength: 16384)
        #expect(pdus.count > 4)
        for p in pdus.prefix(pdus.count / 2) { try scu.send(.pData(p)) }
        #expect(eventually { !server.incomingFiles.isEmpty }, "the temporary file is written while receiving")
        try scu.send(.abort(AbortPDU(source: .serviceUser)))
        #expect(eventually { server.onLoop { $0.openConnectionCount } == 0 })
        #expect(eventually { server.incomingFiles.isEmpty })
        #expect(try server.store.instanceCount() == 0)
        #expect(server.storedFiles.isEmpty)
        #expect(server.logs.all.contains { $0.message == "C-STORE aborted with the association" })
    }

    @Test("duplicates: keep → B000 with comment, reject → 0111; files and index stay consistent")
    func duplicates() throws {
        for (policy, expected) in [
            (DuplicatePolicy.keep, DIMSEStatus.warning), (.reject, .duplicateSOPInstance),
            (.replace, .success),
        ] {
            let server = try StoreTestServer(duplicatePolicy: policy)
            defer { server.shutdown() }
            let scu = try TestSCU(port: server.port, contexts: storeContexts())
            let context = try scu.contextID(StoreUIDs.ctImage)
            let ts = scu.transferSyntax(of: context)
            let first = try DataSetWriter.write(image(sop: "1.2.3.900.1", name: "First"), transferSyntax: ts)
            let second = try DataSetWriter.write(image(sop: "1.2.3.900.1", name: "Second"), transferSyntax: ts)
            #expect(
                try scu.store(contextID: context, messageID: 1, sopInstance: "1.2.3.900.1", dataSet: first).status
                    == .success)
            let rsp = try scu.store(contextID: context, messageID: 2, sopInstance: "1.2.3.900.1", dataSet: second)
            #expect(rsp.status == expected, "\(policy)")
            if policy != .replace { #expect(rsp.errorComment?.isEmpty == false) }
            let path = try #require(try server.store.instance(sopInstanceUID: "1.2.3.900.1")?.path)
            let stored = try DICOMFile(contentsOf: path)
            #expect(stored.dataSet.string(.patientName) == (policy == .replace ? "Second" : "First"))
            #expect(try server.store.instanceCount() == 1)
            #expect(server.storedFiles.count == 1)
            #expect(server.incomingFiles.isEmpty)
            try scu.release()
        }
    }

    @Test("refusals: SOP class disagreeing with the context → 0122; data set not matching → A900")
    func refusals() throws {
        let server = try StoreTestServer()
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: storeContexts())
        let context = try scu.contextID(StoreUIDs.ctImage)
        let ts = scu.transferSyntax(of: context)
        let mr = try DataSetWriter.write(image(sop: "1.2.3.1000.1", sopClass: StoreUIDs.mrImage), transferSyntax: ts)
        let r1 = try scu.store(
            contextID: context, messageID: 1, sopClass: StoreUIDs.mrImage,
            sopInstance: "1.2.3.1000.1", dataSet: mr)
        #expect(r1.status == .sopClassNotSupported)
        #expect(r1.errorComment?.isEmpty == false)

        let ct = try DataSetWriter.write(image(sop: "1.2.3.1000.2"), transferSyntax: ts)
        let r2 = try scu.store(contextID: context, messageID: 2, sopInstance: "1.2.3.1000.3", dataSet: ct)
        #expect(r2.status == .identifierDoesNotMatchSOPClass)
        #expect(r2.errorComment?.contains("SOP Instance UID") == true)

        let r3 = try scu.store(
            contextID: context, messageID: 3, sopInstance: "1.2.3.1000.4",
            dataSet: [0x08, 0x00, 0x18, 0x00, 0x55, 0x49, 0xF0, 0xFF, 1, 2])
        #expect(r3.status == .identifierDoesNotMatchSOPClass)

        // A C-FIND on the Verification context still works after refused C-STOREs (association intact).
        let (_, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind), messageID: 4,
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(final.status == .success)
        try scu.release()
        #expect(try server.store.instanceCount() == 0)
        #expect(server.storedFiles.isEmpty)
        #expect(server.incomingFiles.isEmpty)
        #expect(server.onLoop { $0.statistics.storesFailed } == 3)
    }

    @Test("a calling AE not allowed to store: 0124, nothing written")
    func notAuthorized() throws {
        let server = try StoreTestServer(configure: {
            $0.allowedCallingAETitles = [.store: ["MODALITY"], .find: ["TESTSCU"], .echo: ["TESTSCU"]]
        })
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: storeContexts())
        let context = try scu.contextID(StoreUIDs.ctImage)
        let body = try DataSetWriter.write(image(sop: "1.2.3.1200.1"), transferSyntax: scu.transferSyntax(of: context))
        let rsp = try scu.store(contextID: context, sopInstance: "1.2.3.1200.1", dataSet: body)
        #expect(rsp.status == .notAuthorized)
        try scu.release()
        #expect(try server.store.instanceCount() == 0)
        #expect(server.incomingFiles.isEmpty)
    }

    @Test("the flat layout from the configuration, or a path template from StoreSettings")
    func layouts() throws {
        for (configure, expected) in [
            ({ (c: inout ServerConfiguration) in c.storageLayout = .flat }, "1.2.3.1300.1.dcm"),
            (
                { (c: inout ServerConfiguration) in
                    c.store.pathTemplate = try! StoreLayout("{SOPClassUID}/{SOPInstanceUID}")
                },
                "\(StoreUIDs.ctImage)/1.2.3.1300.1"
            ),
        ] {
            let server = try StoreTestServer(configure: configure)
            defer { server.shutdown() }
            let scu = try TestSCU(port: server.port, contexts: storeContexts())
            let context = try scu.contextID(StoreUIDs.ctImage)
            let body = try DataSetWriter.write(
                image(sop: "1.2.3.1300.1"), transferSyntax: scu.transferSyntax(of: context))
            #expect(try scu.store(contextID: context, sopInstance: "1.2.3.1300.1", dataSet: body).status == .success)
            try scu.release()
            let path = try #require(try server.store.instance(sopInstanceUID: "1.2.3.1300.1")?.path)
            #expect(path.hasSuffix("/" + expected))
        }
    }

    @Test("without an index, storage contexts are still refused cleanly: A700")
    func noIndex() throws {
        let server = try TestServer(store: nil)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: storeContexts())
        let context = try scu.contextID(StoreUIDs.ctImage)
        let body = try DataSetWriter.write(image(sop: "1.2.3.1100.1"), transferSyntax: scu.transferSyntax(of: context))
        let rsp = try scu.store(contextID: context, sopInstance: "1.2.3.1100.1", dataSet: body)
        #expect(rsp.status == .outOfResources)
        try scu.release()
    }
}
