// SPDX-License-Identifier: Apache-2.0
import ReactorTestSupport
import Testing

@testable import Reactor

#if canImport(Glibc)
    import Glibc
#endif

/// Connecting by name: the resolution runs on the worker pool, the connect on the loop, and
/// failures read the same whoever connects (C-MOVE sub-associations).
@Suite struct ConnectByNameTests {
    @Test func numericAddressesNeedNoResolution() {
        #expect(HostAddress.isNumeric("127.0.0.1"))
        #expect(HostAddress.isNumeric("::1"))
        #expect(!HostAddress.isNumeric("localhost"))
    }

    @Test func localhostResolvesToALoopbackAddress() throws {
        let address = try HostAddress.resolve("localhost")
        #expect(address == "127.0.0.1" || address == "::1", "\(address)")
    }

    @Test func aNameIsResolvedOnTheWorkersAndConnected() throws {
        // The listener sits on the address the name resolves to (IPv4 or IPv6 loopback).
        let address = try HostAddress.resolve("localhost")
        let workers = WorkerPool(width: 1, label: "test.resolve")
        try withRunningLoop { loop in
            let accepted = Waiter()
            let connected = Waiter()
            let outcome = Locked<String?>(nil)
            let listener = try onLoop(loop) {
                LoopBound(
                    try loop.listen(host: address, port: 0) { connection in
                        connection.close()
                        accepted.signal()
                    }, loop: loop)
            }
            let port = try onLoop(loop) { listener.value.localPort }
            try onLoop(loop) {
                loop.connect(host: "localhost", port: port, timeout: .seconds(5), resolvingNamesOn: workers) { result in
                    switch result {
                    case .success(let connection):
                        outcome.withLock { $0 = "connected" }
                        connection.close()
                    case .failure(let error):
                        outcome.withLock { $0 = "\(error)" }
                    }
                    connected.signal()
                }
            }
            #expect(connected.wait(seconds: 10))
            #expect(accepted.wait(seconds: 10))
            #expect(outcome.value == "connected")
            try onLoop(loop) { listener.value.close() }
        }
    }

    @Test func aNameWithoutWorkersFailsAsUnresolved() throws {
        try withRunningLoop { loop in
            let failed = Waiter()
            let text = Locked<String?>(nil)
            try onLoop(loop) {
                loop.connect(host: "localhost", port: 1, timeout: .seconds(5), resolvingNamesOn: nil) { result in
                    if case .failure(let error) = result { text.withLock { $0 = ConnectFailure.describe(error) } }
                    failed.signal()
                }
            }
            #expect(failed.wait(seconds: 10))
            #expect(text.value == "cannot resolve localhost: no worker pool")
        }
    }

    @Test func connectErrnosReadTheSameEverywhere() {
        #expect(ConnectFailure.describe(SystemError(errno: ECONNREFUSED, call: "connect")) == "connection refused")
        #expect(ConnectFailure.describe(SystemError(errno: ETIMEDOUT, call: "connect")) == "connection timed out")
        #expect(ConnectFailure.describe(SystemError(errno: EHOSTUNREACH, call: "connect")) == "host unreachable")
        #expect(ConnectFailure.describe(SystemError(errno: ENETUNREACH, call: "connect")) == "host unreachable")
        let unresolved = NameResolutionError(host: "pacs", reason: "Name or service not known")
        #expect(ConnectFailure.describe(unresolved) == "cannot resolve pacs: Name or service not known")
    }
}
