// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension StoreWriter {
    /// Commits staged objects (``IncomingObject/stage()`` succeeded) as one group and returns
    /// one result per object, in order: ``syncData(_:)`` then ``place(_:dataFailures:)``.
    /// An object is reported stored only once its data, its name in its directory and its
    /// index row are all in place; a failure of one object (fsync, rename, directory, index
    /// row) fails that object alone, with its temporary or moved file removed.
    ///
    /// Blocks (disk, index): call it on a worker, never on the reactor thread.
    public func commit(_ objects: [IncomingObject]) -> [Result<StoreOutcome, StoreFailure>] {
        place(objects, dataFailures: syncData(objects))
    }

    /// First step of a commit: makes the data of each staged object durable (fdatasync per
    /// file) and returns per object nil or the failure. Needs no lock: each object has its
    /// own temporary file, and nothing is visible yet.
    ///
    /// One fdatasync per file rather than one syncfs for the group: the guarantee stays per
    /// file and POSIX (that file's data is on stable storage), an error is reported for the
    /// file it belongs to, and other processes' dirty data on the same file system is not
    /// flushed with ours. The early writeback started while the fragments arrived has
    /// written most of the data by then. The calls are issued together (``SyncFanOut``):
    /// on a journalling file system they then wait for one journal commit and one cache
    /// flush; one after the other, each after the first still waited for a flush of its own.
    public func syncData(_ objects: [IncomingObject]) -> [StoreFailure?] {
        syncFanOut.map(objects.count) { objects[$0].syncData() }
    }

    /// Second step of a commit, for objects whose ``syncData(_:)`` is done: applies the
    /// duplicate policy, renames every file into place, fsyncs each distinct directory once
    /// and indexes all rows in one transaction; then reports each object. `dataFailures`
    /// are the first step's results (a failed object is only reported).
    ///
    /// Serialized per writer (the duplicate check, rename and row of one SOP Instance UID
    /// must not interleave with another commit of it). Objects sharing a SOP Instance UID
    /// are placed one after the other (the later one sees the earlier one as a duplicate),
    /// in their given order.
    public func place(_ objects: [IncomingObject], dataFailures: [StoreFailure?]) -> [Result<
        StoreOutcome, StoreFailure
    >] {
        precondition(objects.count == dataFailures.count)
        commitLock.lock()
        defer { commitLock.unlock() }
        var results = [Result<StoreOutcome, StoreFailure>?](repeating: nil, count: objects.count)
        var remaining: [Int] = []
        for (i, failure) in dataFailures.enumerated() {
            if let failure {
                results[i] = settledLocked(failure, of: objects[i])
                objects[i].committed()
            } else {
                remaining.append(i)
            }
        }
        while !remaining.isEmpty {
            // The first object of each SOP Instance UID goes now, the others in a later round.
            var seen = Set<String>()
            var now: [Int] = []
            var later: [Int] = []
            for i in remaining {
                if seen.insert(objects[i].sopInstanceUID).inserted { now.append(i) } else { later.append(i) }
            }
            let round = placeDistinct(now.map { objects[$0] })
            for (i, result) in zip(now, round) { results[i] = result }
            remaining = later
        }
        return results.map { $0! }
    }

    /// The answer for an object that failed before its commit. A copy that could not be
    /// written or synced (disk full, I/O error) of an instance that is already stored gets
    /// the duplicate policy's answer, as the same copy would on a disk with room: `keep`
    /// reports the stored copy kept (B000), `reject` the duplicate (0111). Under `replace` the
    /// failure stands (the new copy is not there to replace the old one, which stays). Any
    /// other failure, or an instance not stored, is returned as it is.
    ///
    /// Blocks (index read): call it on a worker.
    public func settle(_ failure: StoreFailure, of object: IncomingObject) -> Result<StoreOutcome, StoreFailure> {
        guard failure.kind == .outOfResources, duplicatePolicy != .replace else { return .failure(failure) }
        commitLock.lock()
        defer { commitLock.unlock() }
        return settledLocked(failure, of: object)
    }

    /// ``settle(_:of:)`` with the commit lock held.
    private func settledLocked(_ failure: StoreFailure, of object: IncomingObject) -> Result<StoreOutcome, StoreFailure>
    {
        guard failure.kind == .outOfResources, duplicatePolicy != .replace,
            let existing = try? store.instance(sopInstanceUID: object.sopInstanceUID),
            access(existing.path, F_OK) == 0
        else { return .failure(failure) }
        switch duplicatePolicy {
        case .keep:
            return .success(
                StoreOutcome(
                    disposition: .keptExisting, path: existing.path, size: object.fileSize,
                    studyInstanceUID: existing.studyInstanceUID,
                    seriesInstanceUID: existing.seriesInstanceUID))
        case .reject:
            return .failure(StoreFailure(.duplicate, "SOP Instance UID already stored"))
        case .replace:
            return .failure(failure)
        }
    }

    /// A file moved into place and waiting for its directory fsync and index row.
    private struct Placed {
        var index: Int
        var path: String
        var directory: String
        /// The rename replaced a file at the same path (replace policy, same layout path).
        var overwrote: Bool
        /// The copy indexed before, under the replace policy.
        var previous: IndexedInstance?
    }

    /// ``place(_:dataFailures:)`` for synced objects with distinct SOP Instance UIDs.
    private func placeDistinct(_ objects: [IncomingObject]) -> [Result<StoreOutcome, StoreFailure>] {
        var results = [Result<StoreOutcome, StoreFailure>?](repeating: nil, count: objects.count)
        func fail(_ i: Int, _ failure: StoreFailure) {
            results[i] = .failure(failure)
            objects[i].committed()
        }

        // 1. Duplicate policy and rename, per object. The copies already indexed are looked
        // up for the whole group in one read (the UIDs are distinct, and nothing indexes
        // them meanwhile: commits hold the lock).
        let root = self.root == "/" ? "" : self.root
        let indexed: [String: IndexedInstance]
        do {
            indexed = try store.instances(sopInstanceUIDs: objects.map(\.sopInstanceUID))
        } catch {
            for i in objects.indices { fail(i, StoreFailure(.outOfResources, "index unavailable: \(error)")) }
            return results.map { $0! }
        }
        var placed: [Placed] = []
        for i in objects.indices {
            let object = objects[i]
            let staged = object.staged!
            let existing = indexed[object.sopInstanceUID]
            let existingOnDisk = existing.flatMap { access($0.path, F_OK) == 0 ? $0 : nil }
            if let existingOnDisk {
                switch duplicatePolicy {
                case .keep:
                    results[i] = .success(
                        StoreOutcome(
                            disposition: .keptExisting, path: existingOnDisk.path,
                            size: object.fileSize,
                            studyInstanceUID: existingOnDisk.studyInstanceUID,
                            seriesInstanceUID: existingOnDisk.seriesInstanceUID))
                    object.committed()
                    continue
                case .reject:
                    fail(i, StoreFailure(.duplicate, "SOP Instance UID already stored"))
                    continue
                case .replace:
                    break
                }
            }
            let relative = layout.relativePath(
                studyUID: staged.studyInstanceUID, seriesUID: staged.seriesInstanceUID,
                sopInstanceUID: object.sopInstanceUID, sopClassUID: object.sopClassUID)
            let path = root + "/" + relative
            let directory = String(path[..<path.lastIndex(of: "/")!])
            do {
                try Self.makeDirectories(directory)
            } catch {
                fail(i, error)
                continue
            }
            var st = stat()
            let overwrote = lstat(path, &st) == 0
            if let failure = object.moveIntoPlace(path) {
                fail(i, failure)
                continue
            }
            placed.append(
                Placed(
                    index: i, path: path, directory: directory, overwrote: overwrote,
                    previous: existingOnDisk))
        }

        // 2. Each directory once: the names of all its new files become durable together.
        // Distinct directories are fsynced together, like the data (see syncData).
        var directoryFailure: [String: StoreFailure] = [:]
        let directories = Array(Set(placed.map(\.directory)))
        let uids = directories.map { d in placed.filter { $0.directory == d }.map { objects[$0.index].sopInstanceUID } }
        let codes = syncFanOut.map(directories.count) { [self] i in
            let injected = uids[i].lazy.compactMap { self.injected(.directorySync, sopInstanceUID: $0) }.first
            return injected ?? Self.nonZero(Self.syncDirectory(directories[i]))
        }
        for (directory, code) in zip(directories, codes) {
            if let e = code {
                directoryFailure[directory] =
                    StoreFailure(.outOfResources, "directory fsync failed", errno: e).described
            }
        }
        var records: [(placed: Placed, record: InstanceRecord, size: Int64)] = []
        for p in placed {
            if let failure = directoryFailure[p.directory] {
                undo(p)
                fail(p.index, failure)
                continue
            }
            var st = stat()
            guard stat(p.path, &st) == 0 else {
                let e = errno
                undo(p)
                fail(p.index, StoreFailure(.outOfResources, "cannot stat the stored file", errno: e).described)
                continue
            }
            let staged = objects[p.index].staged!
            let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            records.append(
                (
                    p,
                    InstanceRecord(
                        path: p.path, size: Int64(st.st_size), modificationTime: mtime,
                        transferSyntaxUID: staged.file.transferSyntax.uid,
                        header: staged.file.dataSet), Int64(st.st_size)
                ))
        }

        // 3. All rows in one transaction (the store isolates a row that cannot be written).
        var toIndex: [(placed: Placed, record: InstanceRecord, size: Int64)] = []
        for entry in records {
            if let e = injected(.index, sopInstanceUID: objects[entry.placed.index].sopInstanceUID) {
                undo(entry.placed)
                fail(
                    entry.placed.index,
                    StoreFailure(
                        .outOfResources, "index update failed: \(StoreFailure(.outOfResources, "injected", errno: e))"))
            } else {
                toIndex.append(entry)
            }
        }
        let indexErrors = store.index(batch: toIndex.map(\.record))
        for (entry, error) in zip(toIndex, indexErrors) {
            let p = entry.placed
            let object = objects[p.index]
            if let error {
                undo(p)
                fail(p.index, StoreFailure(.outOfResources, "index update failed: \(error)"))
                continue
            }
            // A replaced copy stored under another path (different layout or study) goes away.
            if let old = p.previous, old.path != p.path, old.path.hasPrefix(root + "/") {
                unlink(old.path)
            }
            let staged = object.staged!
            results[p.index] = .success(
                StoreOutcome(
                    disposition: p.previous == nil ? .stored : .replaced, path: p.path,
                    size: entry.size, studyInstanceUID: staged.studyInstanceUID,
                    seriesInstanceUID: staged.seriesInstanceUID))
            object.committed()
        }
        return results.map { $0! }
    }

    /// A file moved into place that cannot be indexed is taken out again, unless it replaced
    /// a file at the same path (then the old one is gone either way; a rescan re-indexes it).
    private func undo(_ p: Placed) {
        guard !p.overwrote else { return }
        unlink(p.path)
        Self.syncDirectory(p.directory)
    }

    private static func nonZero(_ code: Int32) -> Int32? { code == 0 ? nil : code }

    /// mkdir -p below the root; each directory created is made durable in its parent.
    private static func makeDirectories(_ path: String) throws(StoreFailure) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw StoreFailure(.outOfResources, "\(path) exists and is not a directory")
            }
            return
        }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 {
            let e = errno
            guard e == EEXIST else {
                throw StoreFailure(.outOfResources, "cannot create directory", errno: e).described
            }
            return
        }
        syncDirectory(parent.isEmpty ? "/" : parent)
    }
}
