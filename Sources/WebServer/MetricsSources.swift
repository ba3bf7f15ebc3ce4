// SPDX-License-Identifier: Apache-2.0
import Archive
import QRServer
import Reactor

/// What `/metrics` reports besides the HTTP listeners: the DICOM server's statistics, the
/// index (read on a worker at each scrape), the worker pool and the last storage scan.
public struct MetricsSources {
    /// Index counts and stored bytes (blocking; runs on a worker).
    public typealias TotalsReader = @Sendable () throws -> IndexTotals

    public var dicom: DICOMServer?
    public var workers: WorkerPool
    public var indexTotals: TotalsReader?
    /// The last scan of the storage directory (the start-up scan), nil before one finished.
    public var lastScan: ScanMetrics?

    public init(dicom: DICOMServer?, workers: WorkerPool, indexTotals: TotalsReader?, lastScan: ScanMetrics?) {
        self.dicom = dicom
        self.workers = workers
        self.indexTotals = indexTotals
        self.lastScan = lastScan
    }
}

/// The figures of one storage scan that /metrics reports (not its list of skipped files).
public struct ScanMetrics: Sendable, Equatable {
    /// Wall-clock seconds the scan took.
    public var duration: Double
    /// Files (new or changed) indexed.
    public var filesIndexed: Int
    /// Files found unchanged since they were indexed (not read again).
    public var filesUnchanged: Int
    /// Files not indexed (not DICOM, unreadable, incomplete, duplicate).
    public var filesSkipped: Int
    /// Instances removed from the index because their file disappeared.
    public var instancesRemoved: Int

    public init(_ summary: ScanSummary) {
        duration = summary.duration
        filesIndexed = summary.indexed
        filesUnchanged = summary.unchanged
        filesSkipped = summary.skipped.count
        instancesRemoved = summary.removed
    }
}

/// An HTTP listener whose requests, connections and bytes /metrics reports, by a fixed name
/// (the `listener` label: "http" for DICOMweb, "metrics" for the admin listener).
public struct MetricsListener {
    public let name: String
    /// Weak: the listener holds the route table that holds the handler holding this.
    public weak var server: HTTPServer?

    public init(name: String, server: HTTPServer?) {
        self.name = name
        self.server = server
    }
}
