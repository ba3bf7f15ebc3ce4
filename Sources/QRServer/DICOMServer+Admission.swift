// SPDX-License-Identifier: Apache-2.0
import Logging
import Reactor

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Admission of new connections: the cap on connections that have not become an association
/// yet, and what happens when the process runs out of file descriptors. A connection costs a
/// descriptor and a receive buffer from the moment it is accepted, long before `--max-assoc`
/// is consulted, so without a cap of their own idle connections could take every descriptor
/// and stop all service (see docs/LIMITS.md).
extension DICOMServer {
    /// How often each kind of admission trouble is logged at most; the lines in between are
    /// counted and the count given with the next line.
    static let admissionLogInterval: Duration = .seconds(10)

    func installAdmission(on listener: TCPListener) {
        listener.onAcceptError = { [unowned self] error in acceptFailed(error) }
        // A full descriptor table: the oldest connection still to associate makes room for the
        // newest, which is most likely a live peer; idle connections age out first.
        listener.onDescriptorsExhausted = { [unowned self] in
            dropOldestUnassociated(because: "out of file descriptors")
        }
        listener.onShed = { [unowned self] in statistics.connectionsShed += 1 }
    }

    /// Registers a new connection and closes the oldest not yet associated beyond the cap.
    func admit(_ association: Association) {
        unassociated.insert(association.id)
        while unassociated.count > configuration.maxUnassociated {
            guard dropOldestUnassociated(because: "limits.max_unassociated (\(configuration.maxUnassociated)) reached")
            else {
                break
            }
        }
    }

    /// Closes the connection waiting longest for association; false when there is none.
    @discardableResult
    private func dropOldestUnassociated(because reason: String) -> Bool {
        while let id = unassociated.popOldest() {
            guard let association = associations[id] else { continue }
            statistics.unassociatedDropped += 1
            if let heldBack = unassociatedDropLog.admit() {
                association.logger.warning(
                    "closing the oldest connection not yet associated",
                    metadata: [
                        "reason": "\(reason)",
                        "unassociated_open": "\(unassociated.count)",
                        "similar_lines_held_back": "\(heldBack)",
                    ])
            }
            association.connection.close()
            return true
        }
        return false
    }

    private func acceptFailed(_ error: SystemError) {
        let exhausted = error.errno == EMFILE || error.errno == ENFILE
        if exhausted { statistics.descriptorExhaustions += 1 }
        guard let heldBack = acceptErrorLog.admit() else { return }
        logger.error(
            exhausted ? "cannot accept a connection: out of file descriptors" : "cannot accept a connection",
            metadata: [
                "error": "\(error)",
                "open_connections": "\(openConnectionCount)",
                "unassociated_open": "\(unassociated.count)",
                "similar_lines_held_back": "\(heldBack)",
            ])
    }
}

/// Connections not yet accepted as an association, oldest first.
struct UnassociatedConnections {
    private var members: Set<Int> = []
    /// Arrival order; may still hold connections that have left, skipped when popping.
    private var order: [Int] = []
    private var head = 0

    var count: Int { members.count }

    mutating func insert(_ id: Int) {
        members.insert(id)
        order.append(id)
    }

    mutating func remove(_ id: Int) {
        guard members.remove(id) != nil else { return }
        // Most connections associate at once: keep the order list from growing with them.
        if order.count - head > 2 * members.count + 64 {
            order = order[head...].filter { members.contains($0) }
            head = 0
        }
    }

    /// Takes out the oldest connection still waiting.
    mutating func popOldest() -> Int? {
        while head < order.count {
            let id = order[head]
            head += 1
            if members.remove(id) != nil {
                if head >= 64 && head * 2 >= order.count {
                    order.removeFirst(head)
                    head = 0
                }
                return id
            }
        }
        return nil
    }
}

/// Lets one log line through per interval and counts those held back, so that a flood of one
/// event (a connection refused every millisecond) leaves a bounded trail.
struct LogRateLimiter {
    let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var heldBack = 0

    init(interval: Duration) { self.interval = interval }

    /// nil: stay quiet; otherwise log, with the number of lines held back since the last one.
    mutating func admit(now: ContinuousClock.Instant = .now) -> Int? {
        if let lastLogged, now - lastLogged < interval {
            heldBack += 1
            return nil
        }
        lastLogged = now
        defer { heldBack = 0 }
        return heldBack
    }
}
