// SPDX-License-Identifier: Apache-2.0
import DICOM
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import Archive

#if canImport(Glibc)
    import Glibc
#endif

/// Holds the first commit group inside its place stage (at the directory fsync of the gate
/// object) until released, so that objects submitted meanwhile, their data synced, all queue
/// up for the next group.
private final class CommitGate: Sendable {
    static let gateUID = "1.2.3.600.0"
    private let entered = DispatchSemaphore(value: 0)
    private let release = DispatchSemaphore(value: 0)
    /// Every fault-hook call, in order, as "point uid".
    let events = Mutex<[String]>([])

    func hook(_ point: StoreFaultPoint, _ uid: String) -> Int32? {
        events.withLock { $0.append("\(point) \(uid)") }
        if point == .directorySync, uid == Self.gateUID {
            entered.signal()
            release.wait()
        }
        return nil
    }

    func waitUntilEntered() { entered.wait() }
    func open() { release.signal() }

    /// Waits (at most 10 s) until `count` objects submitted while the gate is shut have
    /// their data synced and wait for the next group: their fsyncs run on their own, so
    /// opening the gate earlier could leave a slow one for a later group.
    func waitForQueued(_ count: Int, in committer: StoreCommitter) {
        for _ in 0..<10_000 where committer.waitingForPlacement < count { usleep(1000) }
    }
}

/// Completions collected from the committer's threads.
private final class Completions: Sendable {
    let results = Mutex<[String: Result<StoreOutcome, StoreFailure>]>([:])
    let order = Mutex<[String]>([])
    private let group = DispatchGroup()

    func completion(for uid: String, check: (@Sendable (Result<StoreOutcome, StoreFailure>) -> Void)? = nil)
        -> StoreCommitter.Completion
    {
        group.enter()
        return { [self] result in
            check?(result)
            results.withLock { $0[uid] = result }
            order.withLock { $0.append(uid) }
            group.leave()
        }
    }

    func wait() { group.wait() }
}

private func received(
    _ writer: StoreWriter, sop: String, series: String = "1.2.3.600.1",
    patientName: String = "Doe^Jane"
) throws -> IncomingObject {
    let ds = StoreFixtures.dataSet(sop: sop, study: "1.2.3.600", series: series, patientName: patientName, pixels: 4096)
    let object = writer.begin(
        sopClassUID: StoreFixtures.ctImage, sopInstanceUID: sop,
        transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: "STORESCU")
    for f in StoreFixtures.fragments(try StoreFixtures.encoded(ds), size: 1000) { object.append(f) }
    return object
}

/// Submits the gate object from another thread; the committer's thread that places it then
/// waits at the gate.
private func submitGate(
    _ committer: StoreCommitter, _ writer: StoreWriter,
    _ completion: @escaping StoreCommitter.Completion
) throws {
    let object = try received(writer, sop: CommitGate.gateUID)
    DispatchQueue.global().async { committer.submit(object, completion: completion) }
}

@Suite("Store committer: group commit across associations", .serialized, .timeLimit(.minutes(2)))
struct StoreCommitterTests {
    @Test("objects written by several writers while a commit runs are committed as one group")
    func batchingAcrossWriters() throws {
        let sandbox = try StoreSandbox()
        let gate = CommitGate()
        let writer = StoreWriter(root: sandbox.root, store: sandbox.store, objectFault: { gate.hook($0, $1) })
        let committer = StoreCommitter(writer: writer)
        let done = Completions()

        try submitGate(committer, writer, done.completion(for: CommitGate.gateUID))
        gate.waitUntilEntered()
        // Six "associations", each in its own series directory, finish their objects at once.
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            let sop = "1.2.3.600.\(i + 1)"
            do {
                let object = try received(writer, sop: sop, series: "1.2.3.600.\(i + 10)")
                committer.submit(object, completion: done.completion(for: sop))
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        gate.waitForQueued(6, in: committer)
        gate.open()
        done.wait()

        let stats = committer.statistics
        #expect(stats.batches == 2, "\(stats)")
        #expect(stats.objects == 7)
        #expect(stats.largestBatch == 6)
        let results = done.results.withLock { $0 }
        #expect(results.count == 7)
        for (sop, result) in results {
            let outcome = try result.get()
            #expect(outcome.disposition == .stored)
            #expect(FileManager.default.fileExists(atPath: outcome.path))
            #expect(try sandbox.store.instance(sopInstanceUID: sop)?.path == outcome.path)
        }
        #expect(try sandbox.store.instanceCount() == 7)
        #expect(sandbox.incomingFiles.isEmpty)
        // One fsync per file, one per directory: six series directories in the second group.
        let events = gate.events.withLock { $0 }
        #expect(events.filter { $0.hasPrefix("fsync ") }.count == 7)
        #expect(Set(events.filter { $0.hasPrefix("directorySync ") }).count == 7)
    }

    @Test("a failure of one object inside a group fails that object only, with its status and no trace")
    func perObjectFailure() throws {
        let sandbox = try StoreSandbox()
        let gate = CommitGate()
        let failing: [String: (StoreFaultPoint, Int32)] = [
            "1.2.3.600.21": (.fsync, ENOSPC),
            "1.2.3.600.22": (.rename, EIO),
            "1.2.3.600.23": (.index, EIO),
        ]
        let writer = StoreWriter(
            root: sandbox.root, store: sandbox.store, duplicatePolicy: .reject,
            objectFault: { point, uid in
                if let f = failing[uid], f.0 == point { return f.1 }
                return gate.hook(point, uid)
            })
        // Already stored: a second copy is rejected as a duplicate (0111).
        let stored = try StoreFixtures.store(
            writer,
            StoreFixtures.dataSet(
                sop: "1.2.3.600.24", study: "1.2.3.600",
                series: "1.2.3.600.1")
        ).get()
        // The layout directory of one object is taken by a regular file: a real I/O error.
        let blockedSeries = "1.2.3.600.99"
        mkdir(sandbox.root + "/1.2.3.600", 0o755)
        #expect(FileManager.default.createFile(atPath: sandbox.root + "/1.2.3.600/" + blockedSeries, contents: Data()))

        let committer = StoreCommitter(writer: writer)
        let done = Completions()
        try submitGate(committer, writer, done.completion(for: CommitGate.gateUID))
        gate.waitUntilEntered()
        let uids = (20...26).map { "1.2.3.600.\($0)" }
        for sop in uids {
            let object = try received(
                writer, sop: sop, series: sop == "1.2.3.600.25" ? blockedSeries : "1.2.3.600.1",
                patientName: "Second")
            committer.submit(object, completion: done.completion(for: sop))
        }
        gate.waitForQueued(uids.count, in: committer)
        gate.open()
        done.wait()
        #expect(committer.statistics.largestBatch == uids.count)

        let results = done.results.withLock { $0 }
        func failure(_ sop: String) -> StoreFailure? {
            if case .failure(let f)? = results[sop] { return f }
            return nil
        }
        #expect(failure("1.2.3.600.21")?.kind == .outOfResources)
        #expect(failure("1.2.3.600.21")?.errno == ENOSPC)
        #expect(failure("1.2.3.600.22")?.kind == .outOfResources)
        #expect(failure("1.2.3.600.22")?.comment.contains("cannot move the file into place") == true)
        #expect(failure("1.2.3.600.23")?.kind == .outOfResources)
        #expect(failure("1.2.3.600.23")?.comment.contains("index update failed") == true)
        #expect(failure("1.2.3.600.24")?.kind == .duplicate)
        #expect(failure("1.2.3.600.25")?.kind == .outOfResources)
        #expect(failure("1.2.3.600.25")?.comment.contains("is not a directory") == true)
        for sop in ["1.2.3.600.20", "1.2.3.600.26", CommitGate.gateUID] {
            let outcome = try #require(try results[sop]?.get(), "\(sop)")
            #expect(outcome.disposition == .stored)
            #expect(try sandbox.store.instance(sopInstanceUID: sop)?.path == outcome.path)
        }
        for sop in ["1.2.3.600.21", "1.2.3.600.22", "1.2.3.600.23", "1.2.3.600.25"] {
            #expect(try sandbox.store.instance(sopInstanceUID: sop) == nil)
        }
        // The rejected duplicate left the stored copy as it was.
        #expect(try DICOMFile(contentsOf: stored.path).dataSet.string(.patientName) == "Doe^Jane")
        #expect(try sandbox.store.instanceCount() == 4)
        #expect(sandbox.incomingFiles.isEmpty)
        let dcm = sandbox.allFiles.filter { $0.hasSuffix(".dcm") }
        #expect(dcm.count == 4, "\(dcm)")
    }

    @Test("each completion comes after its object's data sync, directory sync and committed index row")
    func completionAfterDurability() throws {
        let sandbox = try StoreSandbox()
        let gate = CommitGate()
        let writer = StoreWriter(root: sandbox.root, store: sandbox.store, objectFault: { gate.hook($0, $1) })
        let committer = StoreCommitter(writer: writer)
        let done = Completions()
        let store = sandbox.store
        let checks = Mutex<[String]>([])
        func check(_ sop: String) -> @Sendable (Result<StoreOutcome, StoreFailure>) -> Void {
            { result in
                var problems: [String] = []
                let events = gate.events.withLock { $0 }
                guard case .success(let outcome) = result else {
                    checks.withLock { $0.append("\(sop): \(result)") }
                    return
                }
                if !FileManager.default.fileExists(atPath: outcome.path) { problems.append("file not in place") }
                // Read through another connection: the row is committed, not just written.
                if (try? store.instance(sopInstanceUID: sop))??.path != outcome.path {
                    problems.append("row not committed")
                }
                for step in ["fsync", "directorySync", "index"] where !events.contains("\(step) \(sop)") {
                    problems.append("\(step) not done")
                }
                if !problems.isEmpty { checks.withLock { $0.append("\(sop): \(problems)") } }
                gate.events.withLock { $0.append("complete \(sop)") }
            }
        }
        try submitGate(committer, writer, done.completion(for: CommitGate.gateUID, check: check(CommitGate.gateUID)))
        gate.waitUntilEntered()
        let uids = (30...33).map { "1.2.3.600.\($0)" }
        for sop in uids {
            committer.submit(
                try received(writer, sop: sop, series: sop), completion: done.completion(for: sop, check: check(sop)))
        }
        gate.waitForQueued(uids.count, in: committer)
        gate.open()
        done.wait()
        #expect(checks.withLock { $0 }.isEmpty, "\(checks.withLock { $0 })")
        // Within the group: every index step before the first completion.
        let events = gate.events.withLock { $0 }
        let firstCompletion = try #require(events.firstIndex { $0.hasPrefix("complete 1.2.3.600.3") })
        let lastIndex = try #require(events.lastIndex { $0.hasPrefix("index ") })
        #expect(lastIndex < firstCompletion, "\(events)")
        // Completions in submission order.
        #expect(done.order.withLock { $0 } == [CommitGate.gateUID] + uids)
    }

    @Test(
        "the same SOP Instance UID twice in one group: placed one after the other, by policy",
        arguments: [StoreDuplicatePolicy.keep, .replace, .reject])
    func duplicatesInOneGroup(_ policy: StoreDuplicatePolicy) throws {
        let sandbox = try StoreSandbox()
        let gate = CommitGate()
        let writer = StoreWriter(
            root: sandbox.root, store: sandbox.store, duplicatePolicy: policy,
            objectFault: { gate.hook($0, $1) })
        let committer = StoreCommitter(writer: writer)
        let done = Completions()
        try submitGate(committer, writer, done.completion(for: CommitGate.gateUID))
        gate.waitUntilEntered()
        committer.submit(
            try received(writer, sop: "1.2.3.600.40", patientName: "First"), completion: done.completion(for: "first"))
        committer.submit(
            try received(writer, sop: "1.2.3.600.40", patientName: "Second"), completion: done.completion(for: "second")
        )
        gate.waitForQueued(2, in: committer)
        gate.open()
        done.wait()
        #expect(committer.statistics.largestBatch == 2)
        let results = done.results.withLock { $0 }
        let first = try #require(try results["first"]?.get())
        #expect(first.disposition == .stored)
        switch policy {
        case .keep:
            #expect(try results["second"]?.get().disposition == .keptExisting)
            #expect(try DICOMFile(contentsOf: first.path).dataSet.string(.patientName) == "First")
        case .replace:
            #expect(try results["second"]?.get().disposition == .replaced)
            #expect(try DICOMFile(contentsOf: first.path).dataSet.string(.patientName) == "Second")
        case .reject:
            guard case .failure(let f)? = results["second"] else {
                Issue.record("expected a failure")
                return
            }
            #expect(f.kind == .duplicate)
        }
        #expect(try sandbox.store.instanceCount() == 2)
        #expect(sandbox.incomingFiles.isEmpty)
    }

    @Test("a failure found while staging completes at once and never reaches a group")
    func stagingFailure() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        let committer = StoreCommitter(writer: writer)
        let object = try received(writer, sop: "1.2.3.600.50")
        let mismatched = writer.begin(
            sopClassUID: StoreFixtures.ctImage, sopInstanceUID: "1.2.3.600.51",
            transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: nil)
        for f in StoreFixtures.fragments(try StoreFixtures.encoded(StoreFixtures.dataSet(sop: "1.2.3.600.52"))) {
            mismatched.append(f)
        }
        let result = Mutex<Result<StoreOutcome, StoreFailure>?>(nil)
        committer.submit(mismatched) { r in result.withLock { $0 = r } }
        #expect(result.withLock { $0 }?.failureKind == .dataSetMismatch)
        #expect(committer.statistics.batches == 0)
        // A later discard of a handed-over object does nothing; the commit still stores it.
        let done = Completions()
        committer.submit(object, completion: done.completion(for: "1.2.3.600.50"))
        object.discard()
        done.wait()
        #expect(try done.results.withLock { $0["1.2.3.600.50"] }?.get().disposition == .stored)
        #expect(sandbox.incomingFiles.isEmpty)
    }
}
