import ArgumentParser
import Foundation
import Logging
import QRServer
import Reactor

// Invalid command lines print one error line and the usage, and exit 1 as the tool
// qrscpd replaces does (ArgumentParser's own default would be 64).
let command: QRSCPDCommand
do {
    command = try QRSCPDCommand.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    let exitCode = QRSCPDCommand.exitCode(for: error)
    if exitCode == .success {
        print(QRSCPDCommand.fullMessage(for: error))
        exit(0)
    }
    StandardErrorWriter.write("qrscpd: \(QRSCPDCommand.message(for: error))\n\(QRSCPDCommand.usageString())\n")
    exit(1)
}

let level = Logger.Level(rawValue: command.logLevel) ?? .info
LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
let logger = Logger(label: "qrscpd")

do {
    // Signals must be blocked before any other thread exists, so that only the
    // reactor's signalfd ever sees them.
    try EventLoop.blockSignalsProcessWide([SIGINT, SIGTERM, SIGHUP])
    let configuration = command.serverConfiguration
    let loop = try EventLoop()
    let daemon = Daemon(configuration: configuration, loop: loop, logger: logger)
    loop.submit { daemon.start() }
    loop.run()
    exit(daemon.exitCode)
} catch {
    logger.critical("qrscpd cannot start: \(error)")
    exit(2)
}
