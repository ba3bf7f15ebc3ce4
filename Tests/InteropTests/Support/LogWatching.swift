// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A test daemon whose log can be searched and waited on.
protocol LogWatching {
    /// The daemon's log so far.
    var log: String { get }
}

extension LogWatching {
    /// Lines of the log that contain `text`.
    func count(_ text: String) -> Int {
        log.split(separator: "\n").filter { $0.contains(text) }.count
    }

    /// Waits until the log holds at least `count` lines with `text` (at most `timeout` seconds).
    @discardableResult
    func waitForLog(_ text: String, count: Int = 1, timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if self.count(text) >= count { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return self.count(text) >= count
    }
}
