// SPDX-License-Identifier: Apache-2.0
// Socket activation (sd_listen_fds(3)): listening sockets handed over by a .socket unit.
import CSystemShims

#if canImport(Glibc)
    import Glibc
#endif

/// One socket passed by the service manager.
public struct ActivatedSocket: Sendable, Equatable {
    /// The descriptor (3, 4, ...), already close-on-exec.
    public var fd: Int32
    /// Its `FileDescriptorName=` from `$LISTEN_FDNAMES`, when systemd sent names.
    public var name: String?

    public init(fd: Int32, name: String?) {
        self.fd = fd
        self.name = name
    }
}

/// Sockets inherited through `LISTEN_PID`/`LISTEN_FDS`/`LISTEN_FDNAMES`.
///
/// Call once at start-up: the three variables are removed from the environment, so a
/// second call (or a child process) sees no sockets.
public enum SocketActivation {
    /// The inherited listening stream sockets (fds from 3 on). Empty when the daemon was not
    /// socket-activated, when `LISTEN_PID` names another process, or on a malformed
    /// environment. Descriptors that are not listening stream sockets are left open and skipped.
    public static func listeningSockets() -> [Int32] {
        activatedSockets().map(\.fd)
    }

    /// Like ``listeningSockets()``, with each socket's `FileDescriptorName=`.
    public static func activatedSockets() -> [ActivatedSocket] {
        // sd_listen_fds unsets LISTEN_FDNAMES with the other two: read it first.
        let names = getenv("LISTEN_FDNAMES").map { parseNames(String(cString: $0)) } ?? []
        let count = qrs_sd_listen_fds(1)
        guard count > 0 else { return [] }
        let start = qrs_sd_listen_fds_start()
        var sockets: [ActivatedSocket] = []
        for index in 0..<Int(count) {
            let fd = start + Int32(index)
            guard isListeningStreamSocket(fd) else { continue }
            sockets.append(ActivatedSocket(fd: fd, name: index < names.count ? names[index] : nil))
        }
        return sockets
    }

    /// Whether `fd` is a stream socket in the listening state (SO_TYPE, SO_ACCEPTCONN).
    public static func isListeningStreamSocket(_ fd: Int32) -> Bool {
        qrs_is_listening_stream(fd) == 1
    }

    /// Splits `$LISTEN_FDNAMES` ("dicom:tls"); empty names become `nil`.
    static func parseNames(_ value: String) -> [String?] {
        value.split(separator: ":", omittingEmptySubsequences: false).map { $0.isEmpty ? nil : String($0) }
    }
}
