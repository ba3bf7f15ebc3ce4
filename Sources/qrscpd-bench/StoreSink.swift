// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A Storage SCP that discards what it receives: the C-MOVE destination of the benchmark. It
/// listens on 127.0.0.1, accepts every storage SOP class in Explicit or Implicit VR Little
/// Endian, answers each C-STORE-RQ with success once its data set has arrived and drops the
/// data as it comes. Associations are served one after another on one thread (a C-MOVE opens
/// one sub-association at a time).
final class StoreSink: @unchecked Sendable {
    struct Totals {
        var images = 0
        var bytes = 0
        var associationsOpen = 0
        var associationsDone = 0
        var transferSyntax = ""
    }

    let aeTitle: String
    private let listener: Int32
    private let lock = NSLock()
    private var counts = Totals()

    init(port: Int, aeTitle: String) throws {
        self.aeTitle = aeTitle
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchError("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            let error = errno
            Glibc.close(listener)
            throw BenchError("cannot listen on 127.0.0.1:\(port): errno \(error)")
        }
    }

    func totals() -> Totals {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    /// Serves associations on a background thread until the process ends.
    func start() {
        Thread.detachNewThread { [self] in
            while true {
                let fd = accept(listener, nil, nil)
                if fd < 0 {
                    if errno == EINTR { continue }
                    return
                }
                update { $0.associationsOpen += 1 }
                do { try serve(BlockingSocket(acceptedDescriptor: fd)) } catch {
                    FileHandle.standardError.write(Data("store sink: \(error)\n".utf8))
                }
                update {
                    $0.associationsOpen -= 1
                    $0.associationsDone += 1
                }
            }
        }
    }

    private func update(_ change: (inout Totals) -> Void) {
        lock.lock()
        change(&counts)
        lock.unlock()
    }

    private func serve(_ socket: BlockingSocket) throws {
        defer { socket.close() }
        let pdu = try socket.receivePDU()
        guard pdu.type == 0x01, case .associateRQ(let request) = try PDU.decode(type: pdu.type, body: pdu.body[...])
        else {
            throw BenchError("expected A-ASSOCIATE-RQ, got PDU type \(pdu.type)")
        }
        let storage = Set(UIDDictionary.storageSOPClasses.map(\.uid))
        let policy = AcceptorPolicy(
            aeTitle: aeTitle, checkCalledAETitle: false,
            transferSyntaxes: { storage.contains($0) ? [RetrieveBench.explicitLE, RetrieveBench.implicitLE] : nil },
            maxPDULength: RetrieveBench.maxPDULength, implementationClassUID: "1.2.826.0.1.3680043.10.1489.2")
        let accept: AssociateAccept
        let association: NegotiatedAssociation
        switch negotiate(request, policy: policy) {
        case .accept(let ac, let negotiated): (accept, association) = (ac, negotiated)
        case .reject(let rj):
            try socket.send(PDU.associateRJ(rj).encoded())
            throw BenchError("association from \(request.callingAETitle) rejected")
        }
        try socket.send(PDU.associateAC(accept).encoded())
        var reader = DIMSEStream(socket: socket)
        var store: CommandSet?
        while true {
            switch try reader.next() {
            case .command(let command, _) where command.commandField == .cStoreRQ:
                store = command
            case .command(let command, _):
                throw BenchError("unexpected command \(command.commandFieldValue.map { String($0, radix: 16) } ?? "?")")
            case .dataSetEnd(let contextID, let bytes):
                guard let request = store, let messageID = request.messageID else {
                    throw BenchError("data set without a C-STORE-RQ")
                }
                let syntax = association.contexts[contextID]?.transferSyntax ?? "?"
                update {
                    $0.images += 1
                    $0.bytes += bytes
                    $0.transferSyntax = syntax
                }
                try reader.send(
                    .cStoreRSP(
                        respondingTo: messageID, affectedSOPClassUID: request.affectedSOPClassUID ?? "",
                        affectedSOPInstanceUID: request.affectedSOPInstanceUID ?? "", status: .success),
                    contextID: contextID, peerMaxPDULength: association.peerMaxPDULength)
                store = nil
            case .releaseRequest:
                try socket.send([0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0])
                return
            case .abort:
                throw BenchError("the peer aborted the association")
            case .releaseReply, .otherPDU:
                throw BenchError("unexpected PDU on the storage association")
            }
        }
    }
}
