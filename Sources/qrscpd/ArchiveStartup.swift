// SPDX-License-Identifier: Apache-2.0
import Archive
import DaemonSettings
import Foundation
import Logging
import Systemd

/// Opening the index and the start-up scan of the storage directory. Both block: they run
/// before the reactor starts (`--scan-only`) or on a worker thread, never on the reactor.
enum ArchiveStartup {
    /// Opens (creating and migrating) `settings.indexDatabase`, or a temporary index.
    static func openIndex(_ settings: DaemonSettings) throws -> SQLiteIndexStore {
        if let path = settings.indexDatabase {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        }
        return try SQLiteIndexStore(path: settings.indexDatabase)
    }

    struct Outcome: Sendable {
        var summary: ScanSummary
        var instances: Int
    }

    /// Brings the index up to date with the storage directory. Progress goes to STATUS=
    /// (and asks systemd for more start-up time); the summary is logged.
    static func scan(
        store: SQLiteIndexStore, settings: DaemonSettings, notifier: SystemdNotifier, logger: Logger
    ) throws -> Outcome {
        try FileManager.default.createDirectory(atPath: settings.storageDirectory, withIntermediateDirectories: true)
        let root = settings.storageDirectory
        // Temporary files of C-STOREs cut short by a crash: never acknowledged, never indexed.
        let leftovers = StoreWriter.removeLeftovers(in: root)
        if leftovers > 0 {
            logger.notice("removed unfinished incoming files", metadata: ["count": "\(leftovers)"])
        }
        logger.info(
            "scanning the storage directory",
            metadata: ["storage": "\(root)", "index": "\(settings.indexDatabase ?? "in memory")"])
        notifier.status("Scanning \(root)")
        let scanner = StorageScanner(store: store, root: root, progressInterval: 1)
        let summary = try scanner.scan { progress in
            // A long scan must not hit TimeoutStartSec=: each report buys another 30 s.
            notifier.extendTimeout(by: .seconds(30))
            notifier.status(
                "Scanning \(root): \(progress.seen) files, \(progress.indexed) indexed, \(progress.unchanged) unchanged, \(progress.skipped) skipped"
            )
        }
        let instances = try store.instanceCount()
        logger.notice("storage scan finished", metadata: metadata(summary, instances: instances))
        for skipped in summary.skipped.prefix(20) {
            logger.warning("file not indexed", metadata: ["path": "\(skipped.path)", "reason": "\(skipped.reason)"])
        }
        if summary.skipped.count > 20 {
            logger.warning("more files not indexed", metadata: ["count": "\(summary.skipped.count - 20)"])
        }
        // Files a retrieve found damaged stay flagged until they change: remind at each start.
        let damaged = try store.damagedInstances()
        for instance in damaged.prefix(20) {
            logger.warning(
                "file marked damaged",
                metadata: [
                    "path": "\(instance.path)", "sop_instance_uid": "\(instance.sopInstanceUID)",
                    "reason": "\(instance.reason)",
                ])
        }
        if damaged.count > 20 {
            logger.warning("more files marked damaged", metadata: ["count": "\(damaged.count - 20)"])
        }
        return Outcome(summary: summary, instances: instances)
    }

    static func metadata(_ s: ScanSummary, instances: Int) -> Logger.Metadata {
        [
            "files": "\(s.seen)", "indexed": "\(s.indexed)", "unchanged": "\(s.unchanged)",
            "skipped": "\(s.skipped.count)", "removed": "\(s.removed)", "instances": "\(instances)",
            "seconds": "\(String(format: "%.2f", s.duration))",
        ]
    }

    /// `--scan-only`: scan, print a summary on stdout, close the index. Returns the exit code.
    static func scanOnly(_ settings: DaemonSettings, logger: Logger) -> Int32 {
        do {
            let store = try openIndex(settings)
            let outcome = try scan(
                store: store, settings: settings, notifier: SystemdNotifier(logger: logger), logger: logger)
            let counts = try store.counts()
            let damaged = try store.damagedInstances()
            try store.close()
            let s = outcome.summary
            var text = """
                scanned \(settings.storageDirectory) in \(String(format: "%.2f", s.duration)) s
                  files       \(s.seen)
                  indexed     \(s.indexed)
                  unchanged   \(s.unchanged)
                  skipped     \(s.skipped.count)
                  removed     \(s.removed)
                  index       \(settings.indexDatabase ?? "in memory (discarded)")
                  patients    \(counts.patients)
                  studies     \(counts.studies)
                  series      \(counts.series)
                  instances   \(counts.instances)
                  damaged     \(damaged.count)

                """
            for skipped in s.skipped { text += "  skipped: \(skipped)\n" }
            for instance in damaged { text += "  damaged: \(instance)\n" }
            StandardErrorWriter.write(text, fd: 1)
            return 0
        } catch {
            logger.critical("scan failed: \(error)")
            return 2
        }
    }
}
