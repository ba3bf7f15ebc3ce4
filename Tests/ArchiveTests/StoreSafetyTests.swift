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

/// The result of one submitted object, waited for with a bound.
private final class Outcome: Sendable {
    private let value = Mutex<Result<StoreOutcome, StoreFailure>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    var completion: StoreCommitter.Completion {
        { [self] result in
            value.withLock { $0 = result }
            done.signal()
        }
    }

    func wait() throws -> Result<StoreOutcome, StoreFailure> {
        guard done.wait(timeout: .now() + 10) == .success, let result = value.withLock({ $0 }) else {
            throw IndexError.unreadable("no completion within 10 s")
        }
        return result
    }
}

private func submit(_ ds: DataSet, to writer: StoreWriter, uidPolicy: UIDPolicy = .strict) throws -> Result<
    StoreOutcome, StoreFailure
> {
    let sop = ds.uid(.sopInstanceUID) ?? ""
    let object = writer.incoming(
        sopClassUID: StoreFixtures.ctImage, sopInstanceUID: sop,
        transferSyntaxUID: StoreFixtures.explicitLE, sourceAETitle: "TEST")
    object.append(contentsOf: StoreFixtures.fragments(try StoreFixtures.encoded(ds)))
    let outcome = Outcome()
    StoreCommitter(writer: writer).submit(object, uidPolicy: uidPolicy, completion: outcome.completion)
    return try outcome.wait()
}

@Suite("Store path: full disk with duplicates, UID checks, index checkpoint", .serialized)
struct StoreSafetyTests {
    @Test(
        "a copy that cannot be written (ENOSPC) of an instance already stored gets the duplicate policy's answer",
        arguments: [StoreFaultPoint.write, .fsync])
    func fullDiskDuplicate(_ point: StoreFaultPoint) throws {
        for policy in [StoreDuplicatePolicy.keep, .reject, .replace] {
            let sandbox = try StoreSandbox()
            let sop = "1.2.3.700.1.1"
            let stored = try submit(StoreFixtures.dataSet(sop: sop, patientName: "First"), to: sandbox.writer(policy))
                .get()
            let full = sandbox.writer(policy, fault: { $0 == point ? ENOSPC : nil })
            let again = try submit(StoreFixtures.dataSet(sop: sop, patientName: "Second"), to: full)
            switch (policy, again) {
            case (.keep, .success(let outcome)):
                #expect(outcome.disposition == .keptExisting)
                #expect(outcome.path == stored.path)
            case (.reject, .failure(let failure)):
                #expect(failure.kind == .duplicate)
            case (.replace, .failure(let failure)):
                // The new copy is not there to replace the old one: the disk error stands.
                #expect(failure.kind == .outOfResources)
            default:
                Issue.record("\(policy) at \(point): \(again)")
            }
            // The stored copy is untouched, nothing is left in .incoming.
            #expect(try DICOMFile(contentsOf: stored.path).dataSet.string(.patientName) == "First")
            #expect(try sandbox.store.instanceCount() == 1)
            #expect(sandbox.incomingFiles.isEmpty)
            // An instance not stored yet still fails with the disk error.
            let fresh = try submit(StoreFixtures.dataSet(sop: "1.2.3.700.1.2"), to: full)
            guard case .failure(let failure) = fresh else {
                Issue.record("stored on a full disk")
                continue
            }
            #expect(failure.kind == .outOfResources)
        }
    }

    @Test("Study and Series Instance UIDs: refused under strict with the attribute named, stored under lenient")
    func dataSetUIDs() throws {
        let sandbox = try StoreSandbox()
        let writer = sandbox.writer()
        let letters = StoreFixtures.dataSet(sop: "1.2.3.701.1", study: "1.2.ABC")
        guard case .failure(let study) = try submit(letters, to: writer) else {
            Issue.record("stored")
            return
        }
        #expect(study.kind == .dataSetMismatch)
        #expect(study.comment == "Study Instance UID invalid: not a digit or dot at offset 4")
        let zero = StoreFixtures.dataSet(sop: "1.2.3.701.2", series: "1.2.3.01")
        guard case .failure(let series) = try submit(zero, to: writer) else {
            Issue.record("stored")
            return
        }
        #expect(series.comment == "Series Instance UID invalid: leading zero in a component")
        #expect(sandbox.incomingFiles.isEmpty)
        #expect(try sandbox.store.instanceCount() == 0)

        let outcome = try submit(letters, to: writer, uidPolicy: .lenient).get()
        #expect(outcome.studyInstanceUID == "1.2.ABC")
        #expect(try sandbox.store.instance(sopInstanceUID: "1.2.3.701.1")?.path == outcome.path)
        let control = StoreFixtures.dataSet(sop: "1.2.3.701.3", study: "1.2.3\u{1B}")
        guard case .failure = try submit(control, to: writer, uidPolicy: .lenient) else {
            Issue.record("stored")
            return
        }
        #expect(try sandbox.store.instanceCount() == 1)
    }

    @Test("close() checkpoints: the index file alone, without its -wal, holds every row")
    func closeCheckpoints() throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteIndexStore(path: dir + "/index.sqlite")
        let root = dir + "/storage"
        mkdir(root, 0o755)
        let writer = StoreWriter(root: root, store: store)
        for i in 1...20 {
            _ = try submit(StoreFixtures.dataSet(sop: "1.2.3.702.\(i)"), to: writer).get()
        }
        try store.close()
        var st = stat()
        #expect(stat(dir + "/index.sqlite-wal", &st) != 0 || st.st_size == 0)
        let copy = dir + "/copy"
        mkdir(copy, 0o755)
        try FileManager.default.copyItem(atPath: dir + "/index.sqlite", toPath: copy + "/index.sqlite")
        let reopened = try SQLiteIndexStore(path: copy + "/index.sqlite")
        defer { try? reopened.close() }
        #expect(try reopened.instanceCount() == 20)
    }
}
