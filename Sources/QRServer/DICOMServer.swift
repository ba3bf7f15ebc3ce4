// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOMNetwork
import Logging
import Reactor
import TLS

/// The DICOM listener and its associations, all on one reactor thread.
///
/// Every method must be called on the server's event loop; the class is `@unchecked
/// Sendable` only so that it can be handed to that loop once, at start-up.
public final class DICOMServer: @unchecked Sendable {
    public internal(set) var configuration: ServerConfiguration
    public let loop: EventLoop
    let logger: Logger
    var acceptorPolicy: AcceptorPolicy
    var decoderLimits: PDUStreamDecoder
    public internal(set) var statistics = ServerStatistics()
    /// DIMSE operations by command and status, and their durations (for /metrics).
    public internal(set) var metrics = DIMSEMetrics()
    /// The archive index C-FIND (and later C-MOVE/C-GET) query; nil = no index configured,
    /// C-FIND is then refused with C000 "no index".
    let store: (any IndexStore)?
    /// Where index queries run; never the reactor thread.
    let workers: WorkerPool?
    /// C-STORE ingest: writes received objects under the storage directory and indexes
    /// them; nil without an index or with ingest disabled (C-STORE is then answered A700).
    let storeWriter: StoreWriter?
    /// Commits the objects every association has received, in groups (one per writer).
    let storeCommitter: StoreCommitter?
    /// Matches fetched from the index per C-FIND page (one worker job, one read
    /// transaction and one write per page). A page costs about as much as 20 matches
    /// (transaction, plan, statement), so pages are large; 256 identifiers and their
    /// PDUs are about 60 KB, and C-CANCEL still takes effect within one page.
    public var findPageSize = 256

    var listener: TCPListener?
    /// The DICOM-over-TLS listener (``ServerConfiguration/tlsPort``), beside ``listener``.
    var tlsListener: TCPListener?
    /// The contexts new TLS connections get; replaced on reload (see DICOMServer+TLS.swift).
    public internal(set) var tlsContexts = TLSContexts()
    /// What the handshake of each open TLS connection established, by association id.
    var tlsPeers: [Int: TLSPeer] = [:]
    private(set) var associations: [Int: Association] = [:]
    /// Connections not yet accepted as an association (`limits.max_unassociated`).
    var unassociated = UnassociatedConnections()
    var unassociatedDropLog = LogRateLimiter(interval: DICOMServer.admissionLogInterval)
    var acceptErrorLog = LogRateLimiter(interval: DICOMServer.admissionLogInterval)
    private var nextAssociationID = 1
    /// Associations holding a slot of `maxAssociations` (accepted and not yet ended).
    private(set) var establishedCount = 0
    private var shutdownCompletion: (() -> Void)?

    /// - Parameters:
    ///   - store: the archive index; without one C-FIND is answered C000 "no index".
    ///   - workers: the pool running index queries; one of default width is created when a
    ///     store is given without a pool.
    public init(
        configuration: ServerConfiguration, loop: EventLoop, logger: Logger,
        store: (any IndexStore)? = nil, workers: WorkerPool? = nil
    ) {
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.store = store
        self.workers = workers ?? (store == nil ? nil : WorkerPool())
        if let store, configuration.store.enabled {
            storeWriter = StoreWriter(
                root: configuration.storageDirectory, store: store,
                layout: configuration.effectiveStoreLayout,
                duplicatePolicy: configuration.storeDuplicatePolicy)
        } else {
            storeWriter = nil
        }
        storeCommitter = storeWriter.map { StoreCommitter(writer: $0) }
        self.acceptorPolicy = ServicePolicy.acceptorPolicy(for: configuration)
        self.decoderLimits = PDUStreamDecoder(maxPDataLength: configuration.maxPDULength)
    }

    /// How C-STORE commits were grouped so far (nil without ingest).
    public var storeCommitStatistics: StoreCommitter.Statistics? { storeCommitter?.statistics }

    /// The port actually bound (differs from the configured one when that was 0).
    public var localPort: Int { listener?.localPort ?? configuration.port }

    /// Number of connections currently open (in any association state).
    public var openConnectionCount: Int { associations.count }

    /// Number of open connections not accepted as an association (yet).
    public var unassociatedCount: Int { unassociated.count }

    /// Binds the configured address and starts accepting connections.
    public func start() throws {
        let listener = try loop.listen(host: configuration.bindAddress, port: configuration.port) {
            [unowned self] connection in
            accept(connection)
        }
        installAdmission(on: listener)
        self.listener = listener
    }

    /// Serves an already-listening socket (socket activation) instead of binding one.
    public func start(listeningOn fd: Int32) throws {
        let listener = try loop.listen(fd: fd) { [unowned self] connection in accept(connection) }
        installAdmission(on: listener)
        self.listener = listener
    }

    /// Stops accepting, aborts what is still open, and calls `completion` once every
    /// connection has closed.
    public func shutdown(completion: @escaping () -> Void) {
        listener?.close()
        listener = nil
        tlsListener?.close()
        tlsListener = nil
        shutdownCompletion = completion
        for association in associations.values { association.abortForShutdown() }
        finishShutdownIfIdle()
    }

    @discardableResult
    func accept(_ connection: Connection) -> Association {
        let id = nextAssociationID
        nextAssociationID += 1
        statistics.connectionsOpened += 1
        let association = Association(id: id, connection: connection, server: self)
        associations[id] = association
        admit(association)
        association.start()
        return association
    }

    // MARK: - Called by associations

    /// Whether another association may be accepted now (`--max-assoc`); once it is, the
    /// connection no longer counts against `limits.max_unassociated`.
    func reserveAssociationSlot(for association: Association) -> Bool {
        guard establishedCount < configuration.maxAssociations else { return false }
        establishedCount += 1
        unassociated.remove(association.id)
        return true
    }

    func releaseAssociationSlot() {
        establishedCount -= 1
    }

    func associationDidClose(_ association: Association) {
        associations[association.id] = nil
        unassociated.remove(association.id)
        statistics.bytesIn += association.connection.bytesRead
        statistics.bytesOut += association.connection.bytesWritten
        finishShutdownIfIdle()
    }

    private func finishShutdownIfIdle() {
        guard associations.isEmpty, let completion = shutdownCompletion else { return }
        shutdownCompletion = nil
        completion()
    }
}
