// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal blocking Storage SCP (C-MOVE destination) on a background thread, built on the
/// DICOMNetwork codec: accepts every storage context with whatever single transfer syntax is
/// proposed, answers each C-STORE-RQ with `storeStatus`, or refuses the association.
final class TestStoreSCP: @unchecked Sendable {
    enum Mode: Sendable {
        case accept, reject
        case abortAfter(Int)
        case acceptOnly([String])
    }

    struct Received: Sendable {
        var command: CommandSet
        var transferSyntax: String
        var dataSet: [UInt8]
    }

    let port: Int
    let aeTitle = "STORESCP"
    private let listenFD: Int32
    private let mode: Mode
    private let state = Mutex<(received: [Received], associations: Int, released: Int, ended: Int, closed: Bool)>(
        ([], 0, 0, 0, false))
    /// Delay before each C-STORE-RSP (to cancel mid-move).
    let responseDelay: Double

    var received: [Received] { state.withLock { $0.received } }
    var associations: Int { state.withLock { $0.associations } }
    var released: Int { state.withLock { $0.released } }
    /// Connections served to their end (released, aborted or closed by the peer) and closed.
    var ended: Int { state.withLock { $0.ended } }

    init(mode: Mode = .accept, responseDelay: Double = 0) throws {
        self.mode = mode
        self.responseDelay = responseDelay
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, p, &length) == 0
            }
        }
        guard bound else { throw TestFailure("TestStoreSCP: bind/listen failed: errno \(errno)") }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        state.withLock { $0.closed = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if state.withLock({ $0.closed }) { return }
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in
                serve(fd)
                close(fd)
                state.withLock { $0.ended += 1 }
            }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let decoder = PDUStreamDecoder(maxPDataLength: 0)
        var input: [UInt8] = []
        func send(_ pdu: PDU) {
            let bytes = pdu.encoded()
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 { return }
                offset += n
            }
        }
        func nextPDU() -> PDU? {
            while true {
                switch decoder.decode(input[...]) {
                case .pdu(let pdu, let consumed):
                    input.removeFirst(consumed)
                    return pdu
                case .invalid:
                    return nil
                case .needMoreBytes:
                    var chunk = [UInt8](repeating: 0, count: 65536)
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { return nil }
                    input += chunk[0..<n]
                }
            }
        }
        guard case .associateRQ(let rq)? = nextPDU() else { return }
        state.withLock { $0.associations += 1 }
        if case .reject = mode {
            send(.associateRJ(.calledAETitleNotRecognized))
            return
        }
        var onlyList: Set<String>?
        if case .acceptOnly(let list) = mode { onlyList = Set(list) }
        let only = onlyList
        let policy = AcceptorPolicy(
            aeTitle: aeTitle, checkCalledAETitle: true,
            transferSyntaxes: { sop in
                if let only, !only.contains(sop) { return nil }
                return TransferSyntax.known.map(\.uid)
            },
            maxPDULength: 32768, implementationClassUID: "1.2.826.0.1.3680043.10.1489.98")
        guard case .accept(let ac, let negotiated) = negotiate(rq, policy: policy) else {
            send(.associateRJ(.noReasonGiven))
            return
        }
        send(.associateAC(ac))
        var assembler = DIMSEAssembler(acceptedContextIDs: negotiated.acceptedContextIDs)
        var stores = 0
        while let pdu = nextPDU() {
            switch pdu {
            case .pData(let p):
                guard let outputs = try? assembler.append(p) else { return }
                for case .message(let message) in outputs where message.command.commandField == .cStoreRQ {
                    var bytes: [UInt8] = []
                    for f in message.dataSet ?? [] { bytes += f }
                    let ts = negotiated.contexts[message.contextID]?.transferSyntax ?? ""
                    state.withLock {
                        $0.received.append(Received(command: message.command, transferSyntax: ts, dataSet: bytes))
                    }
                    stores += 1
                    if case .abortAfter(let n) = mode, stores >= n {
                        send(.abort(AbortPDU(source: .serviceUser, reason: .notSpecified)))
                        return
                    }
                    if responseDelay > 0 { Thread.sleep(forTimeInterval: responseDelay) }
                    let rsp = CommandSet.cStoreRSP(
                        respondingTo: message.command.messageID ?? 0,
                        affectedSOPClassUID: message.command.affectedSOPClassUID ?? "",
                        affectedSOPInstanceUID: message.command.affectedSOPInstanceUID ?? "", status: .success)
                    for p in DIMSEFragmenter.pData(
                        contextID: message.contextID, command: rsp.encoded()[...], dataSet: nil,
                        peerMaxPDULength: negotiated.peerMaxPDULength)
                    {
                        send(.pData(p))
                    }
                }
            case .releaseRQ:
                state.withLock { $0.released += 1 }
                send(.releaseRP)
                return
            default:
                return
            }
        }
    }
}
