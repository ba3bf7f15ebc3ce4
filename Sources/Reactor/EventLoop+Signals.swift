// SPDX-License-Identifier: Apache-2.0
import CSystemShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension EventLoop {
    /// Blocks `signals` in the calling thread, and so in every thread it creates afterwards.
    ///
    /// A signal routed through a signalfd must be blocked in *all* threads, or the kernel delivers
    /// it to an unblocked thread with the default action (terminate). Call this from `main` before
    /// any other thread starts (Dispatch, the loop thread, loggers).
    public static func blockSignalsProcessWide(_ signals: [Int32]) throws(SystemError) {
        _ = try signals.withUnsafeBufferPointer { (buffer) throws(SystemError) -> Int32 in
            try syscallValue("pthread_sigmask") { qrs_block_signals(buffer.baseAddress, Int32(buffer.count)) }
        }
    }

    /// Delivers `signals` (e.g. `SIGINT`, `SIGTERM`, `SIGHUP`) to `handler` on the loop thread via a
    /// signalfd. Loop-confined.
    ///
    /// The signals are blocked in the calling thread here; they must also be blocked in every other
    /// thread (see ``blockSignalsProcessWide(_:)``), so call this before other threads start or block
    /// them process-wide early in `main`.
    public func onSignals(_ signals: [Int32], _ handler: @escaping (Int32) -> Void) throws {
        preconditionInLoop()
        try Self.blockSignalsProcessWide(signals)
        let fd = try signals.withUnsafeBufferPointer { (buffer) throws(SystemError) -> Int32 in
            try syscallValue("signalfd") { qrs_signalfd_create(buffer.baseAddress, Int32(buffer.count)) }
        }
        do {
            try register(
                fd: fd, interest: .readable,
                handler: FDHandler { _ in
                    var signo: Int32 = 0
                    // Several signals may be queued; drain them all in one wake-up.
                    while qrs_signalfd_read(fd, &signo) == 0 { handler(signo) }
                })
        } catch {
            closeDescriptor(fd)
            throw error
        }
        signalFDs.append(fd)
    }
}
