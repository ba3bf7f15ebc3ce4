// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool to its end (at most `timeout` seconds) with `posix_spawn` and `waitpid`, stdout and
/// stderr together; a status of nil means a signal ended it (or the timeout, noted in the output).
///
/// Not Foundation's `Process`, for tests that start the daemon through systemd-socket-activate:
/// once that execs qrscpd with the descriptor Foundation watches closed, Foundation's monitor
/// waits in waitpid for the daemon and sees no other child end, so a `Process` started then may
/// never be reaped.
func runOutsideFoundation(
    _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
    timeout: TimeInterval = 60
) throws -> (status: Int32?, output: String) {
    let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent(
        "qrscpd-spawn-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let outFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard outFD >= 0 else { throw DaemonError("open \(outputPath): errno \(errno)") }
    defer { close(outFD) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outFD, 1)
    posix_spawn_file_actions_adddup2(&actions, outFD, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
    guard spawned == 0 else { throw DaemonError("posix_spawn \(arguments[0]): \(spawned)") }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let waited = waitpid(pid, &status, WNOHANG)
        if waited == pid { break }
        if waited < 0 && errno != EINTR { throw DaemonError("waitpid: errno \(errno)") }
        if Date() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            return (nil, "timed out\n" + ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""))
        }
        usleep(10_000)
    }
    // WIFEXITED and WEXITSTATUS are macros: decoded by hand.
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : nil, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
}
