// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Testing

@testable import QRServer

/// C-FIND matches from a fake index (many large ones, pages counted); C-GET instances from a
/// real archive.
private final class FindingAndRetrievingStore: IndexStore, RetrieveIndex {
    let finder: FakeIndexStore
    let archive: SQLiteIndexStore

    init(finder: FakeIndexStore, archive: SQLiteIndexStore) {
        self.finder = finder
        self.archive = archive
    }

    func find(_ request: FindRequest, after token: ResumeToken?, limit: Int) throws -> FindPage {
        try finder.find(request, after: token, limit: limit)
    }
    func instances(for request: RetrieveRequest) throws -> [IndexedInstance] { try archive.instances(for: request) }
    func index(_ record: InstanceRecord) throws { try archive.index(record) }
    func remove(sopInstanceUID: String) throws { try archive.remove(sopInstanceUID: sopInstanceUID) }
    func instance(sopInstanceUID: String) throws -> IndexedInstance? {
        try archive.instance(sopInstanceUID: sopInstanceUID)
    }
    func instanceCount() throws -> Int { try archive.instanceCount() }
}

@Suite("C-FIND during a streamed C-GET on the same association", .serialized, .timeLimit(.minutes(2)))
struct FindDuringStreamTests {
    /// Responses to a C-FIND that arrives while a large data set streams out are held back until
    /// the data set is complete (PDVs of two messages must not interleave). They count against
    /// the C-FIND's flow control: pages are not fetched and piled up behind the stream.
    @Test("C-FIND pages held behind a streaming data set are flow-controlled, then all go out after it")
    func heldFindPagesAreFlowControlled() throws {
        let archive = try TestArchive()
        // Six stretches: the data set drains below the low-water mark six times while it streams.
        let stretch = RetrieveOperation.streamChunkSize(peerMaxPDULength: 16384)
        let item = try archive.add(instance: 1, pixelBytes: 6 * stretch)
        let finder = FakeIndexStore(.init(totalMatches: 400, payloadSize: 16 * 1024))
        let store = FindingAndRetrievingStore(finder: finder, archive: archive.store)
        let server = try TestServer(store: store, pageSize: 4)
        defer { server.shutdown() }
        let scu = try TestSCU(
            port: server.port, contexts: getContexts() + findContexts(),
            receiveBufferSize: 64 * 1024, timeout: 30)
        let getContext = try scu.contextID(RetrieveUIDs.studyRootGet)
        let findContext = try scu.contextID(UIDs.studyRootFind)
        try scu.sendRetrieve(
            contextID: getContext, command: .cGetRQ(messageID: 1, affectedSOPClassUID: RetrieveUIDs.studyRootGet),
            identifier: retrieveIdentifier(level: "STUDY", study: item.studyUID))
        try scu.sendFind(contextID: findContext, messageID: 2, sopClass: UIDs.studyRootFind, identifier: studyQuery())

        // Read the C-STORE-RQ PDU by PDU, slowly, so the server's output drains below its
        // low-water mark again and again while the data set streams. The C-GET's index lookup
        // and the C-FIND's first page run concurrently on the worker pool, so whole C-FIND
        // responses may legitimately go out before the C-STORE-RQ begins: those are counted
        // here; only C-FIND bytes between the C-STORE-RQ's first PDV and its data set's last
        // one would be an interleaving.
        var storeCommand: [UInt8] = []
        var storeContext: UInt8 = 0
        var dataSetBytes = 0
        var pagesAtStreamStart: Int?
        var pagesByThreeQuarters: Int?
        var findBytesInsideStream = false
        var dataSetComplete = false
        var findCommandBeforeStream: [UInt8] = []
        var findPending = 0
        var findFinal: CommandSet?
        var pdus = 0
        while !dataSetComplete {
            guard case .pData(let pData) = try scu.receivePDU() else { throw TestFailure("expected P-DATA") }
            for pdv in pData.pdvs {
                if pdv.contextID == findContext {
                    if pagesAtStreamStart != nil { findBytesInsideStream = true }
                    guard pdv.isCommand else { continue }
                    findCommandBeforeStream += pdv.fragment
                    guard pdv.isLast else { continue }
                    let findCommand = try CommandSet(decoding: findCommandBeforeStream[...])
                    findCommandBeforeStream = []
                    if findCommand.status?.isPending == true { findPending += 1 } else { findFinal = findCommand }
                } else if pdv.isCommand {
                    if pdv.contextID != getContext {
                        storeCommand += pdv.fragment
                        storeContext = pdv.contextID
                        if pagesAtStreamStart == nil { pagesAtStreamStart = finder.pageRequests }
                    }
                } else if pdv.contextID == storeContext {
                    dataSetBytes += pdv.fragment.count
                    if pdv.isLast { dataSetComplete = true }
                }
            }
            pdus += 1
            if pdus % 32 == 0 { Thread.sleep(forTimeInterval: 0.002) }
            if dataSetBytes >= item.dataSetBytes.count * 3 / 4 && pagesByThreeQuarters == nil {
                pagesByThreeQuarters = finder.pageRequests
            }
        }
        #expect(!findBytesInsideStream, "C-FIND responses interleaved with the C-STORE data set")
        #expect(dataSetBytes == item.dataSetBytes.count)
        // One page (64 KiB of matches) fills the output to its low-water mark: at most the one
        // held and one being fetched, not one per drained stretch.
        let pagesDuringStream = (pagesByThreeQuarters ?? 0) - (pagesAtStreamStart ?? 0)
        #expect((pagesByThreeQuarters ?? 0) >= 1, "the C-FIND had not started by then")
        #expect(pagesDuringStream <= 3, "\(pagesDuringStream) pages fetched while the data set streamed")

        let command = try CommandSet(decoding: storeCommand[...])
        try scu.sendMessage(
            contextID: storeContext,
            command: .cStoreRSP(
                respondingTo: command.messageID ?? 0, affectedSOPClassUID: command.affectedSOPClassUID ?? "",
                affectedSOPInstanceUID: command.affectedSOPInstanceUID ?? "", status: .success))

        // Then every C-FIND response and the C-GET's pending and final responses, in any order.
        var getFinal: CommandSet?
        while findFinal == nil || getFinal == nil {
            let message = try scu.receiveMessage()
            switch message.command.commandField {
            case .cFindRSP:
                if message.command.status?.isPending == true { findPending += 1 } else { findFinal = message.command }
            case .cGetRSP:
                if message.command.status?.isPending != true { getFinal = message.command }
            default:
                throw TestFailure("unexpected message \(String(describing: message.command.commandField))")
            }
        }
        #expect(findPending == 400)
        #expect(findFinal?.status == .success)
        #expect(getFinal?.status == .success)
        #expect(getFinal?.completedSubOperations == 1)
        #expect(finder.pageRequests == 100)
        try scu.release()
    }
}
