// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import PrometheusText

/// DIMSE operation counters and durations for /metrics, kept on the reactor thread in fixed
/// arrays: recording an operation allocates nothing. Labels are bounded: five commands and
/// four status classes.
public struct DIMSEMetrics: Sendable {
    /// The operations counted, in label order.
    public static let commands = ["C-ECHO", "C-FIND", "C-GET", "C-MOVE", "C-STORE"]
    /// Final status classes (PS3.7 C.4): success, warning, failure, cancel.
    public static let statusClasses = ["success", "warning", "failure", "cancel"]
    /// Duration bucket bounds in seconds: an echo to a large retrieve.
    public static let durationBounds: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ]

    /// Completed operations by command × status class.
    public private(set) var operations = [UInt64](repeating: 0, count: commands.count * statusClasses.count)
    /// Request to final response, by command.
    public private(set) var durations = [PrometheusHistogram](
        repeating: PrometheusHistogram(upperBounds: durationBounds),
        count: commands.count)

    /// C-STORE commit latency: from an object's last fragment to its durable, indexed commit
    /// (staging, fdatasync, rename, directory fsync, index transaction; PS3.4 B.2.3 success).
    public private(set) var storeCommits = PrometheusHistogram(upperBounds: commitBounds)
    public static let commitBounds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]

    public init() {}

    mutating func recordCommit(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        storeCommits.observe(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// The counter for `command` and `statusClass` indexes.
    public func count(command: Int, statusClass: Int) -> UInt64 {
        operations[command * Self.statusClasses.count + statusClass]
    }

    static func commandIndex(_ field: CommandField) -> Int? {
        switch field {
        case .cEchoRQ, .cEchoRSP: return 0
        case .cFindRQ, .cFindRSP: return 1
        case .cGetRQ, .cGetRSP: return 2
        case .cMoveRQ, .cMoveRSP: return 3
        case .cStoreRQ, .cStoreRSP: return 4
        default: return nil
        }
    }

    static func statusClass(_ status: DIMSEStatus) -> Int {
        if status.isSuccess { return 0 }
        if status.isWarning { return 1 }
        if status.isCancel { return 3 }
        return 2
    }

    mutating func record(command: Int, status: DIMSEStatus, seconds: Double?) {
        operations[command * Self.statusClasses.count + Self.statusClass(status)] += 1
        if let seconds { durations[command].observe(seconds) }
    }
}
