// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What the exit handler removes.
private let pathsRemovedAtExit = Mutex<[String]>([])

/// Registers the exit handler, once, on first use.
private let exitHandlerRegistered: Void = {
    atexit {
        for path in pathsRemovedAtExit.withLock({ $0 }) {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}()

/// Removes `url` (a file, or a directory with everything in it) when the test process exits.
///
/// For scratch space that every test in the process shares, such as a generated fixture archive,
/// which no single test can remove. Space one test uses alone is removed by that test (`defer`,
/// or the deinit of what made it) so that it is gone even while the process runs on.
public func removeAtExit(_ url: URL) {
    _ = exitHandlerRegistered
    pathsRemovedAtExit.withLock { $0.append(url.path) }
}
