// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A child process (`openssl s_client`, `s_server`, the certificate commands) whose stdout and
/// stderr go to files, so that it never blocks on a full pipe, and whose stdin is a pipe the test
/// writes to. Every wait is bounded; a process still running at deinit is killed.
final class PeerProcess {
    static let openssl = "/usr/bin/openssl"

    let process = Process()
    private let stdinPipe = Pipe()
    private let outURL: URL
    private let errURL: URL
    private let outHandle: FileHandle
    private let errHandle: FileHandle

    init(_ executable: String, _ arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory
        outURL = directory.appendingPathComponent("tls-peer-\(UUID().uuidString).out")
        errURL = directory.appendingPathComponent("tls-peer-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        outHandle = try FileHandle(forWritingTo: outURL)
        errHandle = try FileHandle(forWritingTo: errURL)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? outHandle.close()
        try? errHandle.close()
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }

    var stdout: Data { (try? Data(contentsOf: outURL)) ?? Data() }
    var stderr: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }
    var transcript: String { "stdout: \(String(decoding: stdout, as: UTF8.self))\nstderr: \(stderr)" }

    /// Writes `data` to the child's stdin on another thread (the child may read it only as the
    /// test drives the other end), then closes stdin when `thenClose`.
    func send(_ data: Data, thenClose: Bool) {
        let handle = stdinPipe.fileHandleForWriting
        let work = { @Sendable in
            try? handle.write(contentsOf: data)
            if thenClose { try? handle.close() }
        }
        Thread.detachNewThread(work)
    }

    func closeInput() {
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// Waits until stdout satisfies `condition`, at most `timeout` seconds.
    func waitForOutput(timeout: Double, _ condition: (Data) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(stdout) { return true }
            if !process.isRunning { return condition(stdout) }
            usleep(10_000)
        }
        return condition(stdout)
    }

    /// Waits for the child to exit, at most `timeout` seconds; false (and the child killed) if not.
    @discardableResult
    func waitForExit(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        process.waitUntilExit()
        return true
    }
}

extension PeerProcess {
    /// `openssl s_server` for one connection on a free loopback port, presenting `certificate`
    /// and `key`; returns once it listens.
    static func openSSLServer(certificate: String, key: String) throws -> (server: PeerProcess, port: Int) {
        let port = try freeLoopbackPort()
        let server = try PeerProcess(
            openssl,
            ["s_server", "-accept", "127.0.0.1:\(port)", "-naccept", "1", "-cert", certificate, "-key", key])
        let listening = server.waitForOutput(timeout: 10) { String(decoding: $0, as: UTF8.self).contains("ACCEPT") }
        guard listening else { throw PeerError(description: "s_server did not start: \(server.transcript)") }
        return (server, port)
    }
}

struct PeerError: Error, CustomStringConvertible {
    let description: String
}
