// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Dispatch
import Foundation
import Logging
import Reactor
import Synchronization
import TestSupport

@testable import QRServer

#if canImport(Glibc)
    import Glibc
#endif

typealias Tag = DICOM.Tag

enum UIDs {
    static let verification = "1.2.840.10008.1.1"
    static let patientRootFind = "1.2.840.10008.5.1.4.1.2.1.1"
    static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    static let implicitLE = "1.2.840.10008.1.2"
    static let explicitLE = "1.2.840.10008.1.2.1"
    static let explicitBE = "1.2.840.10008.1.2.2"
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Fake index

/// An in-memory `IndexStore` producing `totalMatches` synthetic matches, paged by the
/// token (= index of the next match). Records every page request.
final class FakeIndexStore: IndexStore {
    struct Call: Sendable {
        var after: Int64?
        var limit: Int
        var onLoopThread: Bool
    }

    struct Behaviour: Sendable {
        var totalMatches = 10
        /// Time each page takes (a slow index).
        var delay: Duration = .zero
        /// Size of an extra Text Value (0040,A160) UT element per match, to make identifiers big.
        var payloadSize = 0
        var unsupportedOptionalKeys = false
        var failure: (any Error & Sendable)?
    }

    let behaviour: Behaviour
    private let calls = Mutex<[Call]>([])
    private let running = Mutex(0)
    /// The loop the server runs on, to check that no query runs on it.
    private let loop = Mutex<EventLoop?>(nil)

    init(_ behaviour: Behaviour = Behaviour()) { self.behaviour = behaviour }

    func watch(_ loop: EventLoop) { self.loop.withLock { $0 = loop } }

    var recordedCalls: [Call] { calls.withLock { $0 } }
    var pageRequests: Int { calls.withLock { $0.count } }
    /// Page requests started and not yet returned.
    var pagesInFlight: Int { running.withLock { $0 } }

    func find(_ request: FindRequest, after token: ResumeToken?, limit: Int) throws -> FindPage {
        let inLoop = loop.withLock { $0?.isInLoop ?? false }
        running.withLock { $0 += 1 }
        defer { running.withLock { $0 -= 1 } }
        calls.withLock { $0.append(Call(after: token?.value, limit: limit, onLoopThread: inLoop)) }
        if behaviour.delay > .zero {
            let c = behaviour.delay.components
            Thread.sleep(forTimeInterval: Double(c.seconds) + Double(c.attoseconds) / 1e18)
        }
        if let failure = behaviour.failure { throw failure }
        let start = Int(token?.value ?? 0)
        let end = min(start + limit, behaviour.totalMatches)
        let matches = (start..<max(start, end)).map {
            Self.identifier(index: $0, request: request, payload: behaviour.payloadSize)
        }
        return FindPage(
            matches: matches, next: end < behaviour.totalMatches ? ResumeToken(Int64(end)) : nil,
            hasUnsupportedOptionalKeys: behaviour.unsupportedOptionalKeys)
    }

    static func identifier(index: Int, request: FindRequest, payload: Int) -> DataSet {
        var d = DataSet()
        d.set(.queryRetrieveLevel, vr: .CS, string: request.level.rawValue)
        d.set(.patientID, vr: .LO, string: "PID\(index)")
        d.set(.patientName, vr: .PN, string: "Doe^John\(index)")
        if request.level != .patient {
            d.set(.studyInstanceUID, vr: .UI, string: "1.2.3.4.\(index)")
        }
        if payload > 0 {
            d.set(Tag(0x0040, 0xA160), vr: .UT, string: String(repeating: "x", count: payload))
        }
        return d
    }

    func index(_ record: InstanceRecord) throws { throw TestFailure("not supported by the fake") }
    func remove(sopInstanceUID: String) throws { throw TestFailure("not supported by the fake") }
    func instance(sopInstanceUID: String) throws -> IndexedInstance? { nil }
    func instanceCount() throws -> Int { behaviour.totalMatches }
}

// MARK: - Log capture

final class LogCapture: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])
    var all: [Entry] { entries.withLock { $0 } }
    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    func logger() -> Logger {
        var logger = Logger(label: "qrscpd.test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .debug
        return logger
    }
}

struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        for (k, v) in event.metadata ?? [:] { merged[k] = v }
        capture.append(
            .init(
                level: event.level, message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" }))
    }
}

// MARK: - Server under test

/// A real `DICOMServer` on its own started `EventLoop`, listening on a loopback port.
final class TestServer {
    let loop: EventLoop
    let server: DICOMServer
    let port: Int
    let logs = LogCapture()
    static let aeTitle = "QRSCP"

    /// A server on an ephemeral loopback port. `pageSize` is small by default so that C-FIND
    /// tests cross page boundaries; nil keeps the server's own page size.
    init(
        store: (any IndexStore)?, pageSize: Int? = 4, peers: [String: PeerAddress] = [:],
        storageDirectory: String = NSTemporaryDirectory(),
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws {
        loop = try EventLoop()
        var configuration = ServerConfiguration(
            port: 0, bindAddress: "127.0.0.1", aeTitle: Self.aeTitle,
            storageDirectory: storageDirectory, artimTimeout: .seconds(5))
        configuration.peers = peers
        configure(&configuration)
        server = DICOMServer(
            configuration: configuration, loop: loop, logger: logs.logger(),
            store: store, workers: WorkerPool(width: 2, label: "qrscpd.test.worker"))
        if let pageSize { server.findPageSize = pageSize }
        try server.start()
        port = server.localPort
        (store as? FakeIndexStore)?.watch(loop)
        loop.start()
    }

    /// Runs `body` on the loop thread and waits for its result.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (DICOMServer) -> T) -> T? {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        loop.submit {
            let value = body(server)
            result.withLock { $0 = value }
            done.signal()
        }
        guard done.wait(timeout: .now() + 10) == .success else { return nil }
        return result.withLock { $0 }
    }

    func shutdown() {
        let done = DispatchSemaphore(value: 0)
        let server = self.server
        loop.submit { server.shutdown { done.signal() } }
        _ = done.wait(timeout: .now() + 10)
        loop.stop()
        loop.join()
    }
}

// MARK: - Blocking test client (association requestor built on DICOMNetwork's codec)

final class TestSCU {
    private(set) var fd: Int32
    private var input: [UInt8] = []
    private var inputStart = 0
    private var assembler: DIMSEAssembler
    let request: AssociateRequest
    private(set) var negotiated: NegotiatedAssociation?
    private let decoder = PDUStreamDecoder(maxPDataLength: 0)

    /// Connects and associates. `receiveBufferSize` shrinks the socket's receive buffer (set
    /// before connecting, so the advertised TCP window stays small); `maxPDULength` is the
    /// Maximum Length offered.
    init(
        port: Int, contexts: [RequestedContext], calledAE: String = TestServer.aeTitle,
        receiveBufferSize: Int32? = nil, timeout: Double = 10, maxPDULength: UInt32 = 16384
    ) throws {
        fd = try connectToLoopback(port: port, timeout: timeout, receiveBufferSize: receiveBufferSize)
        request = AssociateRequest.requestor(
            callingAETitle: "TESTSCU", calledAETitle: calledAE, contexts: contexts, maxPDULength: maxPDULength,
            implementationClassUID: "1.2.826.0.1.3680043.10.1489.99")
        assembler = DIMSEAssembler(acceptedContextIDs: [])
        try send(.associateRQ(request))
        switch try receivePDU() {
        case .associateAC(let ac):
            let negotiated = NegotiatedAssociation(requestor: request, accept: ac)
            self.negotiated = negotiated
            assembler = DIMSEAssembler(acceptedContextIDs: negotiated.acceptedContextIDs)
        case let other:
            throw TestFailure("association not accepted: \(other)")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// The accepted context for an abstract syntax.
    func contextID(_ abstractSyntax: String) throws -> UInt8 {
        guard let context = negotiated?.context(abstractSyntax: abstractSyntax) else {
            throw TestFailure("no accepted context for \(abstractSyntax)")
        }
        return context.id
    }

    func transferSyntax(of contextID: UInt8) -> TransferSyntax {
        TransferSyntax(uid: negotiated?.contexts[contextID]?.transferSyntax ?? UIDs.implicitLE)
    }

    func send(_ pdu: PDU) throws {
        try sendBytes(pdu.encoded())
    }

    func sendBytes(_ bytes: [UInt8]) throws { try sendAll(bytes, on: fd) }

    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [UInt8]? = nil) throws {
        let pdus = DIMSEFragmenter.pData(
            contextID: contextID, command: command.encoded()[...],
            dataSet: dataSet.map { [$0[...]] },
            peerMaxPDULength: negotiated?.peerMaxPDULength ?? 16384)
        var bytes: [UInt8] = []
        for p in pdus { bytes += PDU.pData(p).encoded() }
        try sendBytes(bytes)
    }

    func sendFind(contextID: UInt8, messageID: UInt16, sopClass: String, identifier: DataSet) throws {
        let bytes = try DataSetWriter.write(identifier, transferSyntax: transferSyntax(of: contextID))
        try sendMessage(
            contextID: contextID, command: .cFindRQ(messageID: messageID, affectedSOPClassUID: sopClass),
            dataSet: bytes)
    }

    func receivePDU() throws -> PDU {
        while true {
            switch decoder.decode(input[inputStart...]) {
            case .pdu(let pdu, let consumed):
                inputStart += consumed
                if inputStart > 1 << 20 {
                    input.removeFirst(inputStart)
                    inputStart = 0
                }
                return pdu
            case .invalid(let error):
                throw TestFailure("invalid PDU from server: \(error)")
            case .needMoreBytes:
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { throw TestFailure("connection closed by server") }
                if n < 0 { throw TestFailure("recv: errno \(errno) (timeout?)") }
                input += chunk[0..<n]
            }
        }
    }

    /// The next complete DIMSE message.
    func receiveMessage() throws -> DIMSEMessage {
        while true {
            let pdu = try receivePDU()
            guard case .pData(let pData) = pdu else { throw TestFailure("unexpected PDU \(pdu.type)") }
            for output in try assembler.append(pData) {
                if case .message(let message) = output { return message }
            }
        }
    }

    /// The next DIMSE message, or nil when the server answers A-RELEASE-RP.
    func receiveMessageOrReleaseRP() throws -> DIMSEMessage? {
        while true {
            let pdu = try receivePDU()
            if case .releaseRP = pdu { return nil }
            guard case .pData(let pData) = pdu else { throw TestFailure("unexpected PDU \(pdu.type)") }
            for output in try assembler.append(pData) {
                if case .message(let message) = output { return message }
            }
        }
    }

    struct FindResponse {
        var command: CommandSet
        var identifier: DataSet?
        var status: DIMSEStatus { command.status ?? DIMSEStatus(0xFFFF) }
    }

    func receiveFindResponse(contextID: UInt8) throws -> FindResponse {
        let message = try receiveMessage()
        var identifier: DataSet?
        if let fragments = message.dataSet {
            var bytes: [UInt8] = []
            for f in fragments { bytes += f }
            identifier = try DataSetReader.read(bytes[...], transferSyntax: transferSyntax(of: message.contextID))
        }
        return FindResponse(command: message.command, identifier: identifier)
    }

    /// Reads responses until a non-pending one.
    func collectFindResponses(contextID: UInt8) throws -> (pending: [FindResponse], final: FindResponse) {
        var pending: [FindResponse] = []
        while true {
            let response = try receiveFindResponse(contextID: contextID)
            if response.status.isPending { pending.append(response) } else { return (pending, response) }
        }
    }

    func find(contextID: UInt8, messageID: UInt16 = 1, sopClass: String, identifier: DataSet) throws
        -> (pending: [FindResponse], final: FindResponse)
    {
        try sendFind(contextID: contextID, messageID: messageID, sopClass: sopClass, identifier: identifier)
        return try collectFindResponses(contextID: contextID)
    }

    func release() throws {
        try send(.releaseRQ)
        while true {
            let pdu = try receivePDU()
            if case .releaseRP = pdu { return }
        }
    }
}

func findContexts(_ transferSyntaxes: [String] = [UIDs.explicitLE, UIDs.implicitLE]) -> [RequestedContext] {
    [
        RequestedContext(abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE]),
        RequestedContext(abstractSyntax: UIDs.studyRootFind, transferSyntaxes: transferSyntaxes),
        RequestedContext(abstractSyntax: UIDs.patientRootFind, transferSyntaxes: transferSyntaxes),
    ]
}

func studyQuery(extra: (inout DataSet) -> Void = { _ in }) -> DataSet {
    var d = DataSet()
    d.set(.queryRetrieveLevel, vr: .CS, string: "STUDY")
    d.set(.patientID, vr: .LO, string: "")
    d.set(.studyInstanceUID, vr: .UI, string: "")
    extra(&d)
    return d
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

/// Sends all of `bytes` on a blocking socket.
func sendAll(_ bytes: [UInt8], on fd: Int32) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { throw TestFailure("send: errno \(errno)") }
        offset += n
    }
}
