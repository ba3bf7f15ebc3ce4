// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import Archive

#if canImport(Glibc)
    import Glibc
#endif

/// The `damaged` mark a retrieve sets on an instance whose file it found damaged: listed, kept by
/// rescans while the file stays as found, cleared when the file changes and is indexed again.
@Suite struct DamagedMarkTests {
    static func stamp(_ path: String) throws -> FileStamp {
        var st = stat()
        try #require(stat(path, &st) == 0)
        return FileStamp(st)
    }

    @Test func markedInstanceIsListedKeptByRescanAndClearedWhenItsFileChanges() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try store.damagedInstances().isEmpty)
        let instance = try #require(try store.instance(sopInstanceUID: "1.2.3.1.1.2"))

        // Damaged after indexing (here: cut short), found so by a retrieve.
        #expect(truncate(instance.path, 200) == 0)
        try store.markDamaged(
            sopInstanceUID: instance.sopInstanceUID, path: instance.path,
            stamp: try Self.stamp(instance.path), reason: "element (7FE0,0010) declares 512 bytes")
        let listed = try store.damagedInstances()
        #expect(
            listed == [
                DamagedInstance(
                    sopInstanceUID: instance.sopInstanceUID, path: instance.path,
                    reason: "element (7FE0,0010) declares 512 bytes")
            ])

        // A rescan sees the file as marked: unchanged, so the row and its mark stay.
        let scanner = StorageScanner(store: store, root: root)
        let rescan = try scanner.scan()
        #expect(rescan.skipped.isEmpty || !rescan.skipped.contains { $0.path == instance.path })
        #expect(try store.damagedInstances().map(\.sopInstanceUID) == [instance.sopInstanceUID])

        // Put right (a new copy of the file): indexed again, the mark goes.
        try Fixture.instances[1].write(to: instance.path)
        _ = try scanner.scan()
        #expect(try store.instance(sopInstanceUID: instance.sopInstanceUID) != nil)
        #expect(try store.damagedInstances().isEmpty)
    }

    @Test func markingAnInstanceNoLongerAtThatPathChangesNothing() throws {
        let (store, root, _) = try Fixture.scannedStore()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let instance = try #require(try store.instance(sopInstanceUID: "1.2.3.1.1.2"))
        try store.markDamaged(
            sopInstanceUID: instance.sopInstanceUID, path: instance.path + ".old",
            stamp: FileStamp(size: 1, modificationTime: 1), reason: "gone")
        #expect(try store.damagedInstances().isEmpty)
        #expect(try store.instance(sopInstanceUID: instance.sopInstanceUID)?.size == instance.size)
    }
}
