// SPDX-License-Identifier: Apache-2.0
// Sockets, temp dirs and child processes for the Systemd tests: the tests play systemd's part.
import Dispatch
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The repository root (Tests/SystemdTests/TestSupport.swift → ../../..).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh directory under /tmp (short, so AF_UNIX paths stay under 108 bytes).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/qrsd-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw TestFailure("mkdtemp: errno \(errno)") }
    return String(cString: path)
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// An AF_UNIX SOCK_DGRAM socket bound to `address`: a path, or `@name` for the abstract namespace.
/// With `onlyFrom`, datagrams from other processes are dropped (SO_PASSCRED): a daemon that
/// another test target spawns meanwhile may inherit NOTIFY_SOCKET and notify us too.
final class DatagramReceiver {
    let fd: Int32
    let onlyFrom: pid_t?

    init(address: String, onlyFrom: pid_t? = nil) throws {
        self.onlyFrom = onlyFrom
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        if onlyFrom != nil {
            var on: Int32 = 1
            guard setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                close(fd)
                throw TestFailure("SO_PASSCRED: errno \(errno)")
            }
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(address.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw TestFailure("address too long: \(address)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = MemoryLayout<sa_family_t>.size + pathBytes.count + (abstract ? 0 : 1)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("bind \(address): errno \(code)")
        }
    }

    deinit { close(fd) }

    /// The next datagram (from `onlyFrom`, when set), or nil after `timeoutMilliseconds` without one.
    func receive(timeoutMilliseconds: Int32 = 2_000) -> [UInt8]? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32((deadline - now) / 1_000_000) + 1) == 1 else { return nil }
            guard let (datagram, sender) = receiveWithSender() else { return nil }
            if let onlyFrom, sender != onlyFrom { continue }
            return datagram
        }
    }

    /// recvmsg with room for SCM_CREDENTIALS; the sender's pid when the kernel attached it.
    private func receiveWithSender() -> ([UInt8], pid_t?)? {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // cmsghdr (size_t len, int level, int type) + struct ucred (pid, uid, gid), 8-aligned.
        var control = [UInt64](repeating: 0, count: 8)
        let result: (Int, Int)? = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBytes in
                var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &iov) { iovPointer in
                    var message = msghdr()
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let n = recvmsg(fd, &message, 0)
                    return n < 0 ? nil : (n, Int(message.msg_controllen))
                }
            }
        }
        guard let (count, controlLength) = result else { return nil }
        var sender: pid_t?
        control.withUnsafeBytes { raw in
            var offset = 0
            let header = MemoryLayout<Int>.size + 2 * MemoryLayout<Int32>.size
            while offset + header <= controlLength {
                let length = raw.loadUnaligned(fromByteOffset: offset, as: Int.self)
                let level = raw.loadUnaligned(fromByteOffset: offset + MemoryLayout<Int>.size, as: Int32.self)
                let type = raw.loadUnaligned(fromByteOffset: offset + MemoryLayout<Int>.size + 4, as: Int32.self)
                // SCM_CREDENTIALS is 2 on Linux.
                if level == SOL_SOCKET && type == 2 && length >= header + 4 {
                    sender = raw.loadUnaligned(fromByteOffset: offset + header, as: pid_t.self)
                }
                guard length > 0 else { break }
                offset += (length + 7) & ~7
            }
        }
        return (Array(buffer[0..<count]), sender)
    }

    func receiveString(timeoutMilliseconds: Int32 = 2_000) -> String? {
        receive(timeoutMilliseconds: timeoutMilliseconds).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Runs `body` with environment variables set (nil: unset), restoring them afterwards.
/// Only from `.serialized` suites: the environment is process-wide.
func withEnvironment<R>(_ values: [String: String?], _ body: () throws -> R) rethrows -> R {
    var saved: [String: String?] = [:]
    for (key, value) in values {
        saved[key] = getenv(key).map { String(cString: $0) }
        if let value { setenv(key, value, 1) } else { unsetenv(key) }
    }
    defer {
        for (key, value) in saved {
            if let value { setenv(key, value, 1) } else { unsetenv(key) }
        }
    }
    return try body()
}

// MARK: Child processes

struct ChildResult {
    var status: Int32
    var output: String
}

/// Runs `argv` with `environment` added to ours (less `removing`), stdout and stderr
/// captured; `descriptors` maps a child descriptor (2, 3, ...) to one of ours to pass
/// there. Killed after `timeoutSeconds`.
func runChild(
    _ argv: [String],
    environment: [String: String] = [:],
    removing: Set<String> = [],
    descriptors: [Int32: Int32] = [:],
    timeoutSeconds: Int = 60
) throws -> ChildResult {
    let dir = try makeTemporaryDirectory()
    defer { removeTree(dir) }
    let outPath = dir + "/out"
    let outFD = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard outFD >= 0 else { throw TestFailure("open \(outPath): errno \(errno)") }
    defer { close(outFD) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var extraFDs: [Int32] = []
    defer { for fd in extraFDs { close(fd) } }
    // dup2 clears close-on-exec on the target; a high copy keeps source and target apart.
    func highCopy(_ fd: Int32) throws -> Int32 {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        guard copy >= 0 else { throw TestFailure("F_DUPFD: errno \(errno)") }
        extraFDs.append(copy)
        return copy
    }
    posix_spawn_file_actions_adddup2(&actions, outFD, 1)
    if descriptors[2] == nil {
        posix_spawn_file_actions_adddup2(&actions, outFD, 2)
    }
    // Copy every source first: a later dup2 must not clobber a source still to be passed.
    let copies = try descriptors.sorted { $0.key < $1.key }.map { ($0.key, try highCopy($0.value)) }
    for (target, source) in copies {
        posix_spawn_file_actions_adddup2(&actions, source, target)
    }

    var env: [String: String] = ProcessInfo.processInfo.environment
    for key in removing { env[key] = nil }
    env.merge(environment) { _, new in new }
    let envStrings = env.map { "\($0.key)=\($0.value)" }

    let cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    let cEnv: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
    defer {
        for pointer in cArgv { free(pointer) }
        for pointer in cEnv { free(pointer) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv)
    guard rc == 0 else { throw TestFailure("posix_spawn \(argv[0]): \(rc)") }

    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(TimeInterval(timeoutSeconds))
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0 && errno != EINTR { throw TestFailure("waitpid: errno \(errno)") }
        if Date() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            throw TestFailure("\(argv.joined(separator: " ")) timed out after \(timeoutSeconds) s")
        }
        usleep(10_000)
    }
    let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    // WIFEXITED/WEXITSTATUS are macros: decode by hand.
    let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ChildResult(status: exitStatus, output: output)
}

/// The running test bundle, re-executed as a helper process by the end-to-end tests.
var testBundleExecutable: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Environment variable that turns a `HelperProcess` test into the helper's body.
let helperModeVariable = "QRSCPD_SYSTEMD_TEST_HELPER"
/// Where the helper writes what it observed.
let helperOutputVariable = "QRSCPD_SYSTEMD_TEST_OUTPUT"

/// argv that runs only the helper test `name` of the test bundle.
func helperArguments(_ name: String) -> [String] {
    [testBundleExecutable, "--testing-library", "swift-testing", "--filter", "HelperProcess/\(name)"]
}

func which(_ tool: String) -> String? {
    for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] {
        let path = dir + "/" + tool
        if access(path, X_OK) == 0 { return path }
    }
    return nil
}
