// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// The `application/dicom+json` of stored instances, kept in memory so that a series metadata
/// request costs one index query and a lookup per instance instead of a file parse per
/// instance. An entry's key holds the file's path, size and modification time as the index
/// has them, plus the base of its bulk data URIs: a stored instance replaced by a new copy (a
/// new index row) or changed on disk (the scanner re-indexes it) misses the cache, so no
/// notification from the store path is needed. Bounded in bytes; when full the oldest entries
/// go first.
final class MetadataCache: Sendable {
    struct Key: Hashable, Sendable {
        var path: String
        var size: Int64
        var modificationTime: Double
        var base: String
    }

    private struct State {
        var entries: [Key: [UInt8]] = [:]
        var order: [Key] = []
        var head = 0
        var bytes = 0
    }

    /// Most bytes of JSON kept.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: Key) -> [UInt8]? { state.withLock { $0.entries[key] } }

    func put(_ key: Key, _ json: [UInt8]) {
        guard json.count <= capacity / 4 else { return }
        state.withLock { s in
            guard s.entries[key] == nil else { return }
            s.entries[key] = json
            s.order.append(key)
            s.bytes += json.count
            while s.bytes > capacity, s.head < s.order.count {
                if let old = s.entries.removeValue(forKey: s.order[s.head]) { s.bytes -= old.count }
                s.head += 1
            }
            if s.head > 1024, s.head * 2 > s.order.count {
                s.order.removeFirst(s.head)
                s.head = 0
            }
        }
    }

    var byteCount: Int { state.withLock { $0.bytes } }
}
