// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Foundation
import Testing

@testable import qrscpd_bench

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark client's reader turns a P-DATA-TF stream into commands and data-set ends,
/// counting data bytes it discards, across PDUs of any size and chunking.
@Suite struct DIMSEStreamTests {
    /// A connected pair of stream sockets: our reader on one end, raw bytes written to the other.
    private func pair() throws -> (reader: BlockingSocket, writer: Int32) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else {
            throw BenchError("socketpair: errno \(errno)")
        }
        return (BlockingSocket(acceptedDescriptor: fds[0]), fds[1])
    }

    private func write(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            precondition(n > 0)
            offset += n
        }
    }

    @Test func storeRequestsAreDecodedAndTheirDataCounted() throws {
        let (socket, writer) = try pair()
        defer { close(writer) }
        let dataSet = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        let store = CommandSet.cStoreRQ(
            messageID: 7, affectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
            affectedSOPInstanceUID: "1.2.3.4")
        // Small PDUs (16 KiB): the data set spans many PDUs, each with its own PDV header.
        let pieces = DIMSEFragmenter.pieces(
            contextID: 3, command: store.encoded()[...], dataSet: [dataSet[...]],
            peerMaxPDULength: 16384)
        let rsp = CommandSet.cGetRSP(
            respondingTo: 1, affectedSOPClassUID: RetrieveBench.studyRootGet,
            status: .success, subOperations: SubOperationCounts(remaining: 0, completed: 1, failed: 0, warning: 0))
        let tail = DIMSEFragmenter.pieces(
            contextID: 1, command: rsp.encoded()[...], dataSet: nil,
            peerMaxPDULength: 1 << 20)
        // The writer runs on another thread: the whole stream is larger than the socket buffer.
        let bytes: [UInt8] = (pieces + tail).flatMap { Array($0) } + [0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [writer] in
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(writer, $0.baseAddress, min($0.count, 7000)) }
                precondition(n > 0)
                offset += n
            }
            done.signal()
        }

        var stream = DIMSEStream(socket: socket)
        guard case .command(let command, let contextID) = try stream.next() else {
            Issue.record("expected the C-STORE-RQ command")
            return
        }
        #expect(contextID == 3)
        #expect(command.commandField == .cStoreRQ)
        #expect(command.messageID == 7)
        #expect(command.affectedSOPInstanceUID == "1.2.3.4")
        guard case .dataSetEnd(let dataContext, let count) = try stream.next() else {
            Issue.record("expected the end of the data set")
            return
        }
        #expect(dataContext == 3)
        #expect(count == dataSet.count)
        guard case .command(let final, _) = try stream.next() else {
            Issue.record("expected the C-GET-RSP")
            return
        }
        #expect(final.commandField == .cGetRSP)
        #expect(final.status == .success)
        #expect(final.completedSubOperations == 1)
        guard case .releaseRequest = try stream.next() else {
            Issue.record("expected A-RELEASE-RQ")
            return
        }
        done.wait()
    }

    @Test func aPDVLongerThanItsPDUIsRejected() throws {
        let (socket, writer) = try pair()
        defer { close(writer) }
        // P-DATA-TF of 10 bytes whose PDV claims 100.
        write([0x04, 0, 0, 0, 0, 10, 0, 0, 0, 100, 1, 0x02, 0, 0, 0, 0], to: writer)
        var stream = DIMSEStream(socket: socket)
        #expect(throws: BenchError.self) { try stream.next() }
    }
}
