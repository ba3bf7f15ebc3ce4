// SPDX-License-Identifier: Apache-2.0
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

/// What an ``UpperLayerDriver`` under test told its delegate, in order.
enum DriverEvent: Sendable, Equatable {
    case associateRequest(callingAE: String)
    case accepted(contexts: Int)
    case rejected
    case message(contextID: UInt8, field: CommandField?, dataSet: [UInt8]?)
    case command(contextID: UInt8, field: CommandField?)
    case fragment(contextID: UInt8, bytes: [UInt8], isLast: Bool)
    case releaseRequested
    case releaseConfirmed
    case aborted
    case streamEnded
    case ended
}

/// The delegate of a driver under test: records every call, accepts or rejects an
/// A-ASSOCIATE-RQ with `policy`, agrees to a release, and opens the transport of a requestor
/// with `openTransport`. Owns the driver. Touched on the loop only, except `events`.
final class RecordingDelegate: UpperLayerDelegate, @unchecked Sendable {
    private let recorded = Mutex<[DriverEvent]>([])
    var driver: UpperLayerDriver?
    var policy: AcceptorPolicy?
    var openTransport: ((UpperLayerDriver) -> Void)?

    var events: [DriverEvent] { recorded.withLock { $0 } }
    private func record(_ event: DriverEvent) { recorded.withLock { $0.append(event) } }

    func upperLayer(_ driver: UpperLayerDriver, receivedAssociateRequest request: AssociateRequest) {
        record(.associateRequest(callingAE: request.callingAETitle))
        guard let policy else { return }
        switch negotiate(request, policy: policy) {
        case .accept(let accept, let negotiated): driver.accept(accept, negotiated: negotiated)
        case .reject(let reject): driver.reject(reject)
        }
    }

    func upperLayerOpenTransport(_ driver: UpperLayerDriver) { openTransport?(driver) }

    func upperLayer(_ driver: UpperLayerDriver, associationAccepted negotiated: NegotiatedAssociation) {
        record(.accepted(contexts: negotiated.contexts.count))
    }

    func upperLayer(_ driver: UpperLayerDriver, associationRejected reject: AssociateReject) { record(.rejected) }

    func upperLayer(_ driver: UpperLayerDriver, receivedMessage message: DIMSEMessage) {
        record(
            .message(
                contextID: message.contextID, field: message.command.commandField,
                dataSet: message.dataSet.map { $0.flatMap { Array($0) } }))
    }

    func upperLayer(_ driver: UpperLayerDriver, receivedCommand command: CommandSet, contextID: UInt8) {
        record(.command(contextID: contextID, field: command.commandField))
    }

    func upperLayer(
        _ driver: UpperLayerDriver, receivedDataSetFragment fragment: ArraySlice<UInt8>,
        contextID: UInt8, isLast: Bool
    ) {
        record(.fragment(contextID: contextID, bytes: Array(fragment), isLast: isLast))
    }

    func upperLayerReleaseRequested(_ driver: UpperLayerDriver) {
        record(.releaseRequested)
        driver.releaseResponse()
    }

    func upperLayerReleaseConfirmed(_ driver: UpperLayerDriver) { record(.releaseConfirmed) }

    func upperLayer(_ driver: UpperLayerDriver, aborted indication: AssociationStateMachine.AbortIndication) {
        record(.aborted)
    }

    func upperLayerStreamedMessageEnded(_ driver: UpperLayerDriver) { record(.streamEnded) }

    func upperLayer(_ driver: UpperLayerDriver, endedWith error: Error?) { record(.ended) }
}

/// A started event loop and drivers on it, each with a scripted peer on the other end of a
/// loopback TCP connection.
final class DriverHarness: @unchecked Sendable {
    let loop: EventLoop
    let logs = LogCapture()
    static let artimTimeout: Duration = .milliseconds(300)
    /// Loopback listeners of acceptor drivers (loop-confined).
    private var listeners: [TCPListener] = []

    init() throws {
        loop = try EventLoop()
        loop.start()
    }

    func stop() {
        _ = try? onLoop { [self] in
            for listener in listeners { listener.close() }
            listeners.removeAll()
        }
        loop.stop()
        loop.join()
    }

    /// Runs `body` on the loop and waits for it (at most 10 s).
    @discardableResult
    func onLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = Mutex<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        loop.submit {
            let value = Result { try body() }
            result.withLock { $0 = value }
            done.signal()
        }
        guard done.wait(timeout: .now() + 10) == .success, let value = result.withLock({ $0 }) else {
            throw TestFailure("the loop did not run the block within 10 s")
        }
        return try value.get()
    }

    func makeDriver(for delegate: RecordingDelegate, peerPhrase: String = "") -> UpperLayerDriver {
        let settings = UpperLayerDriver.Settings(
            decoderLimits: { PDUStreamDecoder(maxPDataLength: 0) },
            artimTimeout: { DriverHarness.artimTimeout },
            closeTimeout: { .seconds(2) },
            peerPhrase: peerPhrase)
        let driver = UpperLayerDriver(loop: loop, settings: settings, logger: logs.logger())
        driver.delegate = delegate
        delegate.driver = driver
        return driver
    }

    /// An acceptor driver for the next connection to a loopback listener, and the peer's socket.
    func acceptor(policy: AcceptorPolicy) throws -> (RecordingDelegate, ScriptedPeer) {
        let delegate = RecordingDelegate()
        delegate.policy = policy
        let port = try onLoop { [self] in
            let listener = try loop.listen(host: "127.0.0.1", port: 0) { [self] connection in
                makeDriver(for: delegate).start(acceptedConnection: connection)
            }
            listeners.append(listener)
            return listener.localPort
        }
        return (delegate, ScriptedPeer(fd: try connectToLoopback(port: port, timeout: 10)))
    }

    /// A requestor driver that has sent `request` to a scripted peer listening on loopback.
    func requestor(_ request: AssociateRequest) throws -> (RecordingDelegate, ScriptedPeer) {
        let listening = try ScriptedPeer.listen()
        defer { close(listening.fd) }
        let delegate = RecordingDelegate()
        let loop = self.loop
        delegate.openTransport = { driver in
            loop.connect(host: "127.0.0.1", port: listening.port, timeout: .seconds(5)) { result in
                switch result {
                case .success(let connection): driver.transportConnected(connection)
                case .failure: driver.end()
                }
            }
        }
        try onLoop { [self] in
            makeDriver(for: delegate, peerPhrase: " from the test peer").requestAssociation(request)
        }
        return (delegate, try ScriptedPeer.accept(on: listening.fd))
    }
}

/// The far end of a driver's connection: a blocking socket whose reads give up after 10 s,
/// speaking PDUs with DICOMNetwork's codec.
final class ScriptedPeer {
    private(set) var fd: Int32
    private var input: [UInt8] = []
    private let decoder = PDUStreamDecoder(maxPDataLength: 0)

    init(fd: Int32) { self.fd = fd }
    deinit { close() }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    static func listen() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, length) == 0 && Glibc.listen(fd, 1) == 0 && getsockname(fd, p, &length) == 0
            }
        }
        guard bound else { throw TestFailure("listen on loopback failed: errno \(errno)") }
        setTimeouts(fd)
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func accept(on listeningFD: Int32) throws -> ScriptedPeer {
        let fd = Glibc.accept(listeningFD, nil, nil)
        guard fd >= 0 else { throw TestFailure("accept: errno \(errno) (no connection within 10 s?)") }
        setTimeouts(fd)
        return ScriptedPeer(fd: fd)
    }

    private static func setTimeouts(_ fd: Int32) {
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ pdu: PDU) throws { try sendBytes(pdu.encoded()) }

    func sendBytes(_ bytes: [UInt8]) throws { try sendAll(bytes, on: fd) }

    /// Sends a DIMSE message in P-DATA-TF PDUs of at most `maxPDULength`.
    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [UInt8]? = nil, maxPDULength: UInt32 = 16384)
        throws
    {
        let pdus = DIMSEFragmenter.pData(
            contextID: contextID, command: command.encoded()[...],
            dataSet: dataSet.map { [$0[...]] }, peerMaxPDULength: maxPDULength)
        for pdu in pdus { try send(.pData(pdu)) }
    }

    /// The next PDU, or nil when the driver closed the connection.
    func receivePDU() throws -> PDU? {
        while true {
            switch decoder.decode(input[...]) {
            case .pdu(let pdu, let consumed):
                let detached = pdu.detached
                input.removeFirst(consumed)
                return detached
            case .invalid(let error):
                throw TestFailure("invalid PDU from the driver: \(error)")
            case .needMoreBytes:
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 {
                    guard input.isEmpty else { throw TestFailure("closed inside a PDU") }
                    return nil
                }
                if n < 0 { throw TestFailure("recv: errno \(errno) (nothing within 10 s?)") }
                input += chunk[0..<n]
            }
        }
    }

    /// Receives PDUs until `count` PDVs have arrived (or the connection closed).
    func receivePDVs(until done: ([PDV]) -> Bool) throws -> [PDV] {
        var pdvs: [PDV] = []
        while !done(pdvs) {
            guard let pdu = try receivePDU() else { break }
            guard case .pData(let pData) = pdu else { throw TestFailure("unexpected \(pdu.type) while reading P-DATA") }
            pdvs += pData.pdvs
        }
        return pdvs
    }
}

extension PDU {
    /// The PDU with its PDV fragments copied out of the receive buffer.
    var detached: PDU {
        guard case .pData(let p) = self else { return self }
        return .pData(
            PDataTF(
                pdvs: p.pdvs.map {
                    PDV(
                        contextID: $0.contextID, isCommand: $0.isCommand, isLast: $0.isLast,
                        fragment: ArraySlice(Array($0.fragment)))
                }))
    }
}
