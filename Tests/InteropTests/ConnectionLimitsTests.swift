// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What one connection, and many, may cost the daemon (issue 17, docs/LIMITS.md): memory in
/// proportion to the bytes a peer is owed, not to how it segments them; a cap on connections
/// that have not associated; service that survives a full descriptor table.
@Suite("Connection limits", .serialized, .enabled(if: ExternalTool.interopEnabled))
struct ConnectionLimitsTests {
    /// Bytes each dripping peer sends, one per segment.
    static let dripBytes = 3000
    /// How much the daemon's peak resident memory may grow while the drippers run. Each holds
    /// a few KiB of a PDU (docs/LIMITS.md); one page per segment would be about 80 MiB.
    static let dripGrowthBoundKiB = 16 * 1024

    @Test(
        "Peers dripping a 200,000-byte PDU one byte per segment cost their bytes, not their segments, and are dropped for lack of progress"
    )
    func slowDrip() throws {
        guard ExternalTool.require("/usr/bin/echoscu") else { return }
        let daemon = try DaemonProcess(arguments: ["--acse-timeout", "10", "--timeout", "3"])
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log)")
        let before = daemon.peakResidentKiB

        // Six before associating: an A-ASSOCIATE-RQ header announcing 200,000 bytes.
        var drippers = try (0..<6).map { _ in try RawDICOMSocket(port: daemon.port) }
        for socket in drippers {
            Self.setNoDelay(socket)
            socket.send([0x01, 0] + HandMadePDUs.bigEndian32(200_000))
        }
        // One inside an association: a P-DATA-TF header announcing 200,000 bytes.
        let inside = try RawDICOMSocket(port: daemon.port)
        inside.send(HandMadePDUs.associateRequest(called: daemon.aeTitle))
        #expect(inside.receivePDU()?.type == 0x02, "\(daemon.log)")
        Self.setNoDelay(inside)
        inside.send([0x04, 0] + HandMadePDUs.bigEndian32(200_000))
        drippers.append(inside)

        var open = Array(repeating: true, count: drippers.count)
        let deadline = Date().addingTimeInterval(30)
        for _ in 0..<Self.dripBytes where Date() < deadline && open.contains(true) {
            for (index, socket) in drippers.enumerated() where open[index] {
                if !socket.send([0x41]) { open[index] = false }
            }
            usleep(1000)
        }
        let growth = daemon.peakResidentKiB - before
        #expect(growth < Self.dripGrowthBoundKiB, "peak resident memory grew by \(growth) KiB")

        // No complete PDU: each connection is closed (ARTIM before association, the idle
        // timeout inside), whatever it sent byte by byte.
        for (index, socket) in drippers.enumerated() {
            #expect(
                socket.receiveUntilClosed(timeout: 30).closed, "dripper \(index) left open\n\(daemon.log.suffix(3000))")
        }
        let log = daemon.log
        #expect(log.contains("ARTIM expired"), "\(log.suffix(3000))")
        #expect(
            log.contains("no progress from the peer") && log.contains("a PDU left incomplete"), "\(log.suffix(3000))")
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log.suffix(2000))")
    }

    @Test(
        "Connections that do not associate are capped apart from --max-assoc: the oldest are closed, C-ECHO still served"
    )
    func unassociatedCap() throws {
        guard ExternalTool.require("/usr/bin/echoscu") else { return }
        let daemon = try DaemonProcess(
            arguments: ["--acse-timeout", "120", "--max-assoc", "2"],
            environment: ["QRSCPD_MAX_UNASSOCIATED": "8"])
        let sockets = try (0..<12).map { _ in try RawDICOMSocket(port: daemon.port, timeout: 15) }
        for (index, socket) in sockets.prefix(4).enumerated() {
            #expect(
                socket.receiveUntilClosed(timeout: 15).closed, "oldest connection \(index) left open\n\(daemon.log)")
        }
        // The newest are still there and are served.
        let newest = try #require(sockets.last)
        newest.send(HandMadePDUs.associateRequest(called: daemon.aeTitle))
        #expect(newest.receivePDU()?.type == 0x02, "\(daemon.log)")
        let echo = daemon.echoWithDCMTK()
        #expect(echo.succeeded, "\(echo.transcript)\n\(daemon.log)")
        let log = daemon.log
        #expect(log.contains("closing the oldest connection not yet associated"), "\(log)")
        #expect(log.contains("limits.max_unassociated (8) reached"), "\(log)")
    }

    @Test("300 idle connections against a small descriptor limit: a real association is still served, and it is logged")
    func descriptorExhaustion() throws {
        guard ExternalTool.require("/usr/bin/echoscu"), ExternalTool.require("/usr/bin/prlimit") else { return }
        // Soft 40, hard 64: the daemon raises its soft limit to 64, and 300 connections still
        // need far more than that.
        let daemon = try DaemonProcess(
            arguments: ["--acse-timeout", "120"],
            launcher: ["/usr/bin/prlimit", "--nofile=40:64", "--"])
        var idle: [RawDICOMSocket] = []
        let deadline = Date().addingTimeInterval(60)
        for _ in 0..<300 where Date() < deadline {
            if let socket = try? RawDICOMSocket(port: daemon.port, timeout: 5) { idle.append(socket) }
        }
        #expect(idle.count > 64, "only \(idle.count) idle connections could be made")
        let echo = daemon.echoWithDCMTK()
        #expect(echo.succeeded, "C-ECHO with the descriptor table full: \(echo.transcript)\n\(daemon.log.suffix(3000))")
        let log = daemon.log
        #expect(
            log.contains("file descriptor limit raised to the hard limit") && log.contains("to=64"),
            "\(log.prefix(3000))")
        #expect(log.contains("out of file descriptors"), "\(log.suffix(3000))")
        for socket in idle { socket.close() }
        #expect(daemon.stop() == 0)
        let stopped = daemon.log
        #expect(
            stopped.range(of: "descriptor_exhaustions=[1-9]", options: .regularExpression) != nil,
            "\(stopped.suffix(2000))")
        #expect(
            stopped.range(of: "unassociated_dropped=[1-9]", options: .regularExpression) != nil,
            "\(stopped.suffix(2000))")
    }

    @Test(
        "With every descriptor held by associations, a new connection is closed at once, not left hanging; service resumes as they end"
    )
    func descriptorsHeldByAssociations() throws {
        guard ExternalTool.require("/usr/bin/echoscu"), ExternalTool.require("/usr/bin/prlimit") else { return }
        let daemon = try DaemonProcess(
            arguments: ["--max-assoc", "200"],
            launcher: ["/usr/bin/prlimit", "--nofile=32:32", "--"])
        var associations: [RawDICOMSocket] = []
        var shed: RawDICOMSocket?
        for _ in 0..<64 {
            let socket = try RawDICOMSocket(port: daemon.port, timeout: 10)
            socket.send(HandMadePDUs.associateRequest(called: daemon.aeTitle))
            guard socket.receivePDU()?.type == 0x02 else {
                shed = socket
                break
            }
            associations.append(socket)
        }
        let refused = try #require(shed, "64 associations fit in 32 descriptors?\n\(daemon.log.suffix(2000))")
        // Closed by the daemon without a word, not left waiting for a descriptor.
        let (bytes, closed) = refused.receiveUntilClosed(timeout: 10)
        #expect(closed && bytes.isEmpty, "\(daemon.log.suffix(2000))")
        #expect(
            daemon.log.contains("cannot accept a connection: out of file descriptors"), "\(daemon.log.suffix(2000))")

        // Descriptors come back as associations end, and accepting resumes by itself.
        for socket in associations.prefix(4) {
            socket.send(HandMadePDUs.releaseRequest)
            #expect(socket.receivePDU()?.type == 0x06)
            socket.close()
        }
        let echo = daemon.echoWithDCMTK()
        #expect(echo.succeeded, "\(echo.transcript)\n\(daemon.log.suffix(2000))")
        for socket in associations { socket.close() }
        #expect(daemon.stop() == 0)
        #expect(
            daemon.log.range(of: "connections_shed=[1-9]", options: .regularExpression) != nil,
            "\(daemon.log.suffix(2000))")
    }

    static func setNoDelay(_ socket: RawDICOMSocket) {
        var one: Int32 = 1
        setsockopt(socket.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }
}
