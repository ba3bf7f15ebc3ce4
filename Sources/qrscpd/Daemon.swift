// SPDX-License-Identifier: Apache-2.0
import Archive
import DaemonSettings
import Foundation
import Logging
import QRServer
import Reactor
import Systemd
import TLS
import WebServer

/// The daemon's life on the reactor thread: start the server, tell systemd, ping the
/// watchdog, reload on SIGHUP, drain and stop on SIGTERM/SIGINT.
final class Daemon: @unchecked Sendable {
    // Touched only on the loop thread; the class is handed to the loop once, at start.
    private var settings: DaemonSettings
    private let loader: SettingsLoader
    private let loop: EventLoop
    let logger: Logger
    private let logLevel: LogLevelControl
    private let notifier: SystemdNotifier
    private let activatedSocket: Int32?
    /// The socket systemd passed as `FileDescriptorName=http`, if any.
    private let activatedHTTPSocket: Int32?
    private var httpServer: HTTPServer?
    /// The TLS listening socket systemd passed (`FileDescriptorName=dicom-tls`), if any.
    private let activatedTLSSocket: Int32?
    /// Whether DICOM over TLS is served: on `tls.port` (kept over reloads) or on systemd's socket.
    private var listensForTLS: Bool { settings.tls.isEnabled || activatedTLSSocket != nil }
    /// The socket systemd passed as `FileDescriptorName=metrics`, and the admin listener, if any.
    private let activatedMetricsSocket: Int32?
    private var metricsServer: HTTPServer?
    private var lastScan: ScanMetrics?
    private let store: SQLiteIndexStore
    private let workers: WorkerPool
    /// The TLS contexts in force (start-up, then each reload that built new ones).
    private var tlsContexts: TLSContexts
    /// Instances in the index after the start-up scan.
    private var indexedInstances = 0
    private var server: DICOMServer?
    let startedAt = ContinuousClock.now
    private var lastStatus = ""
    private var stopping = false
    private(set) var exitCode: Int32 = 0

    /// How often STATUS= is refreshed (only sent when the text changed).
    static let statusInterval: Duration = .seconds(1)
    /// How often a draining shutdown checks whether every association has ended.
    static let drainPollInterval: Duration = .milliseconds(50)

    init(
        settings: DaemonSettings, loader: SettingsLoader, loop: EventLoop, logger: Logger,
        logLevel: LogLevelControl, notifier: SystemdNotifier, activatedSocket: Int32?, activatedTLSSocket: Int32?,
        activatedHTTPSocket: Int32? = nil, activatedMetricsSocket: Int32? = nil, store: SQLiteIndexStore,
        workers: WorkerPool, tlsContexts: TLSContexts
    ) {
        self.activatedMetricsSocket = activatedMetricsSocket
        self.activatedHTTPSocket = activatedHTTPSocket
        self.tlsContexts = tlsContexts
        self.store = store
        self.workers = workers
        self.settings = settings
        self.loader = loader
        self.loop = loop
        self.logger = logger
        self.logLevel = logLevel
        self.notifier = notifier
        self.activatedSocket = activatedSocket
        self.activatedTLSSocket = activatedTLSSocket
    }

    /// Signals and watchdog first (a long scan stays stoppable and pinged), then the start-up
    /// scan on a worker thread, then the listener and READY=1.
    func start() {
        do {
            try loop.onSignals([SIGINT, SIGTERM, SIGHUP]) { [self] signal in handle(signal: signal) }
        } catch {
            fail("qrscpd cannot start: \(error)")
            return
        }
        startWatchdog()
        workers.run { [self, settings, store, notifier, logger, loop] in
            let result = Result {
                try ArchiveStartup.scan(store: store, settings: settings, notifier: notifier, logger: logger)
            }
            loop.submit { [self] in scanFinished(result) }
        }
    }

    private func scanFinished(_ result: Result<ArchiveStartup.Outcome, any Error>) {
        guard !stopping else { return }  // SIGTERM during the scan: already stopping.
        switch result {
        case .failure(let error):
            fail("start-up scan failed: \(error)")
        case .success(let outcome):
            indexedInstances = outcome.instances
            lastScan = ScanMetrics(outcome.summary)
            startServer()
        }
    }

    private func startServer() {
        do {
            let server = DICOMServer(
                configuration: settings.serverConfiguration, loop: loop, logger: logger, store: store, workers: workers
            )
            server.replaceTLSContexts(tlsContexts)
            try ActivatedListeners.start(
                activatedSocket, logging: "serving the socket passed by systemd", logger: logger,
                listeningOn: server.start(listeningOn:), otherwise: { try server.start() })
            try ActivatedListeners.start(
                activatedTLSSocket, logging: "serving the TLS socket passed by systemd", logger: logger,
                listeningOn: server.startTLS(listeningOn:), otherwise: { try server.startTLS() })
            self.server = server
            (httpServer, metricsServer) = try Self.startWebListeners(
                settings: settings, activated: (activatedHTTPSocket, activatedMetricsSocket), loop: loop,
                logger: logger, store: store, workers: workers, dicom: server, lastScan: lastScan,
                tlsContext: tlsContexts.web)
            printBanner(port: server.localPort)
            lastStatus = statusLine()
            notifier.ready(status: lastStatus)
            scheduleStatusRefresh()
        } catch {
            fail("qrscpd cannot start: \(error)")
        }
    }

    private func fail(_ message: String) {
        logger.critical("\(message)")
        exitCode = 2
        closeIndex()
        loop.stop()
    }

    private func closeIndex() {
        do {
            try store.close()
        } catch {
            logger.warning("closing the index failed: \(error)")
        }
    }

    private func handle(signal: Int32) {
        switch signal {
        case SIGHUP:
            if stopping {
                logger.notice("SIGHUP ignored while stopping")
            } else {
                reload()
            }
        default:
            let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
            if stopping {
                logger.notice("second \(name): aborting open associations now")
                abortAndStop()
            } else {
                beginShutdown(signalName: name)
            }
        }
    }

    // MARK: - Status and watchdog

    private func statusLine() -> String {
        let open = server?.openConnectionCount ?? 0
        var line = "Listening on :\(server?.localPort ?? settings.port)"
        if let tlsPort = server?.localTLSPort { line += " and :\(tlsPort) (TLS)" }
        line +=
            ", \(open) association\(open == 1 ? "" : "s") open, \(indexedInstances) instance\(indexedInstances == 1 ? "" : "s") indexed"
        if let s = server?.statistics, server?.localTLSPort != nil {
            line +=
                ", \(s.tlsAssociations) TLS association\(s.tlsAssociations == 1 ? "" : "s"), \(s.tlsHandshakeFailures) TLS handshake\(s.tlsHandshakeFailures == 1 ? "" : "s") failed"
        }
        if let https = httpServer, https.servesTLS {
            let failed = https.metrics.tlsHandshakeFailures
            line += ", \(failed) HTTPS handshake\(failed == 1 ? "" : "s") failed"
        }
        if let s = server?.statistics, s.descriptorExhaustions > 0 {
            line +=
                ", out of file descriptors \(s.descriptorExhaustions) time\(s.descriptorExhaustions == 1 ? "" : "s") (\(s.unassociatedDropped) idle connection\(s.unassociatedDropped == 1 ? "" : "s") closed, \(s.connectionsShed) refused)"
        }
        return line
    }

    private func scheduleStatusRefresh() {
        loop.schedule(after: Self.statusInterval) { [self] in
            guard !stopping else { return }
            let status = statusLine()
            if status != lastStatus {
                lastStatus = status
                notifier.status(status)
            }
            scheduleStatusRefresh()
        }
    }

    private func startWatchdog() {
        guard let interval = SystemdNotifier.watchdogInterval() else { return }
        let ping = SystemdNotifier.recommendedPingInterval(for: interval)
        logger.info(
            "watchdog enabled",
            metadata: ["interval_ms": "\(Self.milliseconds(interval))", "ping_ms": "\(Self.milliseconds(ping))"])
        watchdogTick(every: ping)
    }

    /// Pinged from the reactor: a stuck loop misses its pings and systemd restarts us.
    private func watchdogTick(every ping: Duration) {
        notifier.watchdogPing()
        loop.schedule(after: ping) { [self] in watchdogTick(every: ping) }
    }

    // MARK: - Reload

    private func reload() {
        let path = loader.configPath
        logger.notice("SIGHUP: reloading settings", metadata: ["config": "\(path ?? "(none)")"])
        notifier.reloading(status: "Reloading \(path ?? "settings")")
        // Reading the file is disk I/O: it runs on the worker pool, serially so that two quick
        // SIGHUPs apply in order, and the result comes back to the loop.
        let loader = self.loader
        let environment = ProcessInfo.processInfo.environment
        // The TLS files are read on the worker too; a bad one keeps the running contexts. The
        // listener stays as started (tls.port changes only on restart), and so does `listens`;
        // http.* changes only on restart: the HTTPS context is rebuilt with the running http settings.
        let listens = listensForTLS
        let runningHTTP = settings.http
        let work = { @Sendable () throws -> (DaemonSettings, Result<TLSContexts, TLSError>) in
            let new = try loader.load()
            var withRunningHTTP = new
            withRunningHTTP.http = runningHTTP
            let contexts = Result { () throws(TLSError) in
                try withRunningHTTP.makeTLSContexts(listens: listens, environment: environment)
            }
            return (new, contexts)
        }
        workers.run(work, on: loop, serialKey: "settings-reload") { [self] result in
            switch result {
            case .success(let (new, contexts)):
                apply(new)
                // After the settings, so that a reloaded ACSE timeout bounds new handshakes too.
                applyTLS(contexts)
            case .failure(let error):
                logger.error("reload failed; keeping the previous settings: \(error)")
            }
            lastStatus = statusLine()
            notifier.ready(status: lastStatus)
        }
    }

    private func apply(_ new: DaemonSettings) {
        if let server {
            let needRestart = server.apply(new.serverConfiguration)
            if !needRestart.isEmpty {
                logger.warning(
                    "these settings change only on restart; keeping the running values",
                    metadata: ["settings": "\(needRestart.joined(separator: ","))"])
            }
        }
        let changes = Self.describeChanges(from: settings, to: new)
        var applied = new
        applied.port = settings.port
        applied.aeTitle = settings.aeTitle
        applied.bindAddress = settings.bindAddress
        applied.storageDirectory = settings.storageDirectory
        applied.indexDatabase = settings.indexDatabase
        applied.tls.port = settings.tls.port
        if new.http != settings.http {
            logger.warning("http.* settings change only on restart; keeping the running values")
        }
        applied.http = settings.http
        applied.metrics = Self.keepMetricsSettings(running: settings.metrics, reloaded: new.metrics, logger: logger)
        settings = applied
        logLevel.level = new.logLevel
        logger.notice(
            "settings reloaded",
            metadata: ["changed": "\(changes.isEmpty ? "nothing" : changes.joined(separator: ","))"])
    }

    private func applyTLS(_ contexts: Result<TLSContexts, TLSError>) {
        switch contexts {
        case .success(let contexts):
            tlsContexts = contexts
            server?.replaceTLSContexts(contexts)
            contexts.logSkippedTrustAnchorFiles(logger)
            // HTTPS on or off changes only on restart; a running HTTPS listener takes the new context.
            if let web = contexts.web, httpServer?.servesTLS == true { httpServer?.useTLS(web) }
            if contexts.server != nil || contexts.client != nil || contexts.web != nil {
                logger.notice(
                    "TLS certificate, key and trust anchors reloaded; open associations keep the previous ones")
            }
        case .failure(let error):
            logger.error("TLS reload failed; keeping the running certificate, key and trust anchors: \(error)")
        }
    }

    // MARK: - Shutdown

    /// Stop accepting, give open associations the grace period to end, abort the rest.
    private func beginShutdown(signalName: String) {
        stopping = true
        let open = server?.openConnectionCount ?? 0
        logger.notice(
            "stopping",
            metadata: [
                "signal": "\(signalName)", "open_associations": "\(open)", "grace_s": "\(settings.shutdownGracePeriod)",
            ])
        notifier.stopping(status: "Stopping, \(open) association\(open == 1 ? "" : "s") open")
        guard let server else {
            // Still scanning: nothing to drain. The scan thread ends with the process.
            logger.notice("stopped during the start-up scan")
            loop.stop()
            return
        }
        server.stopAccepting()
        httpServer?.stopAccepting()
        metricsServer?.stopAccepting()
        let deadline = ContinuousClock.now + .seconds(settings.shutdownGracePeriod)
        drain(until: deadline)
    }

    private func drain(until deadline: ContinuousClock.Instant) {
        guard let server else { return }
        if server.openConnectionCount == 0 || ContinuousClock.now >= deadline {
            if server.openConnectionCount > 0 {
                logger.warning(
                    "grace period over: aborting open associations",
                    metadata: ["open_associations": "\(server.openConnectionCount)"])
            }
            abortAndStop()
            return
        }
        loop.schedule(after: Self.drainPollInterval) { [self] in drain(until: deadline) }
    }

    private var finishing = false

    private func abortAndStop() {
        guard !finishing else { return }
        finishing = true
        guard let server else {
            loop.stop()
            return
        }
        httpServer?.shutdown {}
        metricsServer?.shutdown {}
        server.shutdown { [self] in
            closeIndex()
            logStatistics(
                server.statistics, commits: server.storeCommitStatistics,
                https: httpServer?.servesTLS == true ? httpServer?.metrics : nil)
            loop.stop()
        }
    }

    // MARK: - Output

    private func printBanner(port: Int) {
        StartupSummary(
            settings: settings, port: port, activatedSocket: activatedSocket, instances: indexedInstances,
            tlsPort: server?.localTLSPort
        )
        .emit(toJournal: JournaldLogHandler.isStderrConnectedToJournal(), logger: logger)
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
