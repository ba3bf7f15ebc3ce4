import Foundation
import Logging
import QRServer
import Reactor

/// The daemon's life on the reactor thread: start the server, print the banner, react
/// to signals, stop cleanly.
final class Daemon: @unchecked Sendable {
    // Touched only on the loop thread; the class is handed to the loop once, at start.
    private let configuration: ServerConfiguration
    private let loop: EventLoop
    private let logger: Logger
    private var server: DICOMServer?
    private let startedAt = ContinuousClock.now
    private(set) var exitCode: Int32 = 0

    init(configuration: ServerConfiguration, loop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
    }

    func start() {
        do {
            try FileManager.default.createDirectory(atPath: configuration.storageDirectory, withIntermediateDirectories: true)
            let server = DICOMServer(configuration: configuration, loop: loop, logger: logger)
            try server.start()
            self.server = server
            try loop.onSignals([SIGINT, SIGTERM, SIGHUP]) { [self] signal in handle(signal: signal) }
            printBanner(port: server.localPort)
        } catch {
            logger.critical("qrscpd cannot start: \(error)")
            exitCode = 2
            loop.stop()
        }
    }

    private func handle(signal: Int32) {
        switch signal {
        case SIGHUP:
            logger.notice("SIGHUP received; nothing to reload in this version")
        default:
            logger.notice("stopping", metadata: ["signal": "\(signal == SIGINT ? "SIGINT" : "SIGTERM")"])
            guard let server else { loop.stop(); return }
            server.shutdown { [self] in
                logStatistics(server.statistics)
                loop.stop()
            }
        }
    }

    private func printBanner(port: Int) {
        let c = configuration
        let idle = c.idleTimeout.map { "\($0.components.seconds) s" } ?? "none"
        let banner = """
            qrscpd \(QRServerVersion.string) listening on \(c.bindAddress):\(port)
              AE title         \(c.aeTitle)
              storage          \(c.storageDirectory)
              max associations \(c.maxAssociations)
              max PDU          \(c.maxPDULength) bytes
              idle timeout     \(idle)
              ACSE timeout     \(c.artimTimeout.components.seconds) s
            """
        StandardErrorWriter.write(banner + "\n", fd: 1)
        logger.info("ready", metadata: ["port": "\(port)", "ae_title": "\(c.aeTitle)"])
    }

    private func logStatistics(_ s: ServerStatistics) {
        let uptime = ContinuousClock.now - startedAt
        logger.notice("stopped", metadata: [
            "uptime_s": "\(uptime.components.seconds)",
            "connections": "\(s.connectionsOpened)",
            "associations": "\(s.associationsAccepted)",
            "rejected": "\(s.associationsRejected)",
            "aborted": "\(s.associationsAborted)",
            "messages": "\(s.messagesProcessed)",
            "echoes": "\(s.echoes)",
            "bytes_in": "\(s.bytesIn)",
            "bytes_out": "\(s.bytesOut)",
        ])
    }
}
