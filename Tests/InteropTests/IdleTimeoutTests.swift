// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// `--timeout` (issue 18): an association busy receiving a data set is not idle, however long
/// that takes; one that sends nothing, or starts a data set and stops, is aborted.
@Suite("Idle timeout", .serialized, .enabled(if: ExternalTool.interopEnabled))
final class IdleTimeoutTests {
    static let timeoutSeconds = 2
    let daemon: DaemonProcess

    init() throws {
        daemon = try DaemonProcess(arguments: ["--timeout", "\(Self.timeoutSeconds)"])
    }

    deinit { daemon.stop() }

    private func associate() throws -> RawDICOMSocket {
        let socket = try RawDICOMSocket(port: daemon.port, timeout: 20)
        socket.send(HandMadeStore.associateRequest(called: daemon.aeTitle))
        let accept = try #require(socket.receivePDU(), "no answer to A-ASSOCIATE-RQ\n\(daemon.log)")
        try #require(accept.type == 0x02, "not accepted\n\(daemon.log)")
        return socket
    }

    @Test("A C-STORE streaming in for more than twice --timeout, a PDU at a time, completes")
    func busyReceivingIsNotIdle() throws {
        let socket = try associate()
        let uid = "1.2.826.0.1.3680043.10.1489.17.2"
        let (command, pdus) = HandMadeStore.storeRequestPDUs(instanceUID: uid, pixelBytes: 48 * 16384)
        socket.send(command)
        let started = Date()
        for pdu in pdus {
            #expect(socket.send(pdu), "connection closed while streaming\n\(daemon.log.suffix(2000))")
            usleep(120_000)
        }
        #expect(Date().timeIntervalSince(started) > Double(2 * Self.timeoutSeconds))
        let response = try #require(socket.receivePDU(), "no C-STORE-RSP\n\(daemon.log.suffix(3000))")
        #expect(response.type == 0x04)
        #expect(response.body.containsSubsequence(HandMadeStore.successStatus), "\(daemon.log.suffix(2000))")
        socket.send(HandMadePDUs.releaseRequest)
        #expect(socket.receivePDU()?.type == 0x06, "\(daemon.log.suffix(2000))")
        #expect(!daemon.log.contains("aborting"), "\(daemon.log.suffix(2000))")
    }

    @Test("An association that sends nothing after A-ASSOCIATE-AC is aborted after --timeout")
    func idleIsAborted() throws {
        let socket = try associate()
        let (bytes, closed) = socket.receiveUntilClosed(timeout: 30)
        #expect(closed, "idle association left open\n\(daemon.log)")
        #expect(bytes.first == 0x07, "expected an A-ABORT, got \(bytes.prefix(10))")
        #expect(daemon.log.contains("association idle, aborting"), "\(daemon.log)")
    }

    @Test("A C-STORE whose data set stops halfway is aborted after --timeout")
    func stalledDataSetIsAborted() throws {
        let socket = try associate()
        let uid = "1.2.826.0.1.3680043.10.1489.17.3"
        let (command, pdus) = HandMadeStore.storeRequestPDUs(instanceUID: uid, pixelBytes: 8 * 16384)
        socket.send(command)
        for pdu in pdus.prefix(pdus.count / 2) { socket.send(pdu) }
        let (bytes, closed) = socket.receiveUntilClosed(timeout: 30)
        #expect(closed, "stalled C-STORE left open\n\(daemon.log)")
        #expect(bytes.first == 0x07, "expected an A-ABORT, got \(bytes.prefix(10))")
        #expect(daemon.log.contains("a data set left incomplete"), "\(daemon.log)")
    }
}

/// `--timeout` against a C-GET streaming 1 GiB out: busy sending is not idle.
@Suite("Idle timeout while sending", .serialized, .enabled(if: ExternalTool.interopEnabled), .timeLimit(.minutes(10)))
struct IdleTimeoutSendingTests {
    @Test("A C-GET streaming 1 GiB out for longer than --timeout completes, not aborted")
    func busySendingIsNotIdle() throws {
        let scratch = try RetrieveMemoryTests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let study = try RetrieveMemoryTests.writeLargeStudy(in: scratch)
        let daemon = try DaemonProcess(
            arguments: ["--timeout", "\(IdleTimeoutTests.timeoutSeconds)"], storageDirectory: scratch)
        defer { _ = daemon.stop() }

        let started = Date()
        let out = try RetrieveMemoryTests.discardingGet(from: daemon, study: study, timeout: 400)
        let elapsed = Date().timeIntervalSince(started)
        let final = out["final"] as? [String: Any]
        #expect(final?["status"] as? Int == 0, "\(out)\n\(daemon.log.suffix(3000))")
        #expect(final?["NumberOfCompletedSuboperations"] as? Int == RetrieveMemoryTests.fileCount)
        #expect(out["aborted"] as? Bool == false, "\(out)\n\(daemon.log.suffix(3000))")
        // The transfer must have outlasted the timeout for the test to mean anything.
        #expect(elapsed > Double(IdleTimeoutTests.timeoutSeconds), "the C-GET took only \(elapsed) s")
        #expect(!daemon.log.contains("aborting"), "\(daemon.log.suffix(3000))")
    }
}
