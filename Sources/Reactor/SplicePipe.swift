// SPDX-License-Identifier: Apache-2.0
import CSystemShims

/// A connection's pipe for zero-copy output: pages go in with `vmsplice` (references, not
/// copies) and on to the socket with `splice`. Each page fragment takes one of the pipe's
/// slots, whatever its size, so a pipe of 1 MiB holds 256 fragments.
final class SplicePipe {
    let readFD: Int32
    let writeFD: Int32

    /// The capacity asked for: 1 MiB is what `fs.pipe-max-size` allows an unprivileged process
    /// by default; with less, the kernel's choice is taken.
    private static let preferredCapacity = 1 << 20

    init(capacity: Int = SplicePipe.preferredCapacity) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        // vmsplice fills what the kernel granted and says how much; the size itself is not needed.
        var granted: Int32 = 0
        guard qrs_splice_pipe(&fds, Int32(clamping: capacity), &granted) == 0 else {
            throw SystemError(errno: qrs_errno(), call: "pipe2")
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        closeDescriptor(readFD)
        closeDescriptor(writeFD)
    }
}
