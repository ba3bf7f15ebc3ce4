// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// Frame byte ranges of recently served instances, so that a viewer fetching an image frame by
/// frame (one request per frame) has the header parsed once, not once per frame. Keyed like
/// ``MetadataCache`` by the file's path, size and mtime as indexed, so a replaced file misses.
/// Bounded in entries; the oldest go first.
final class FrameLayoutCache: Sendable {
    struct Key: Hashable, Sendable {
        var path: String
        var size: Int64
        var modificationTime: Double
    }

    struct Layout: Sendable {
        var transferSyntax: String
        var frames: [[Range<Int>]]
    }

    private struct State {
        var entries: [Key: Layout] = [:]
        var order: [Key] = []
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: Key) -> Layout? { state.withLock { $0.entries[key] } }

    func put(_ key: Key, _ layout: Layout) {
        // A layout with very many fragments is not worth its memory here.
        guard layout.frames.count <= 65536 else { return }
        state.withLock { s in
            guard s.entries.updateValue(layout, forKey: key) == nil else { return }
            s.order.append(key)
            if s.order.count > capacity {
                s.entries[s.order.removeFirst()] = nil
            }
        }
    }
}
