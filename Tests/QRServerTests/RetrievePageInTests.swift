// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Foundation
import Reactor
import Synchronization
import TestSupport
import Testing

@testable import QRServer

#if canImport(Glibc)
    import Glibc
#endif

/// The reactor thread never waits for the disk: every stretch of a file sent unchanged is made
/// resident on the worker pool before it is queued on the connection.
@Suite("Retrieve: file stretches are paged in off the loop", .serialized, .timeLimit(.minutes(2)))
struct RetrievePageInTests {
    static let study = "1.2.826.0.1.3680043.10.1489.7.1"
    static let series = "1.2.826.0.1.3680043.10.1489.7.1.1"

    // 16 KiB PDUs go out framed from a mapping through a pipe, 1 MiB PDUs with sendfile.
    @Test(
        "a C-GET of files evicted from the page cache pages every stretch in on a worker; the bytes arrive intact",
        arguments: [UInt32(16384), UInt32(1 << 20)])
    func coldFilesArePagedInOffTheLoop(maxPDULength: UInt32) throws {
        let archive = try TestArchive()
        // Several stretches (of about 8 MiB), and a file of one stretch.
        let large = try archive.add(instance: 1, pixelBytes: 17_000_000)
        let small = try archive.add(instance: 2, pixelBytes: 300_000)
        for item in [large, small] { evictFromPageCache(item.path) }
        let records = Mutex<[PageIn.Record]>([])
        let paths = Set([large.path, small.path])
        let observer = PageIn.addObserver { record in
            if paths.contains(record.file) { records.withLock { $0.append(record) } }
        }
        defer { PageIn.removeObserver(observer) }

        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: getContexts(), maxPDULength: maxPDULength)
        let outcome = try scu.getStudy(Self.study)
        try scu.release()
        #expect(outcome.status == .success)
        #expect(outcome.stores.count == 2)
        for (store, item) in zip(outcome.stores, [large, small]) {
            #expect(store.dataSet[...] == item.dataSetBytes, "data set byte for byte")
        }

        let seen = records.withLock { $0 }
        #expect(!seen.isEmpty)
        #expect(seen.allSatisfy { !$0.onLoopThread }, "a page-in ran on the loop thread")
        for item in [large, small] {
            // The stretches paged in cover the data set exactly, in order.
            let mine = seen.filter { $0.file == item.path }
            var next = item.dataSetOffset
            for record in mine {
                #expect(record.offset == next)
                next = record.offset + record.length
            }
            #expect(next == item.fileBytes.count)
            #expect(mine.first?.outcome == .pagedIn, "the evicted file was read from disk by the page-in")
        }
        // One page-in per stretch.
        let stretch = StretchShape(peerMaxPDULength: maxPDULength).size
        let stretches = (large.fileBytes.count - large.dataSetOffset + stretch - 1) / stretch
        #expect(stretches >= 3)
        #expect(seen.filter { $0.file == large.path }.count == stretches)
    }
}
