// SPDX-License-Identifier: Apache-2.0
import Archive
import ArgumentParser
import DaemonSettings
import Foundation
import Logging
import QRServer
import Reactor
import Systemd
import TLS

// Invalid command lines print one error line and the usage, and exit 1 as the tool
// qrscpd replaces does (ArgumentParser's own default would be 64).
let arguments = Array(CommandLine.arguments.dropFirst())
let command: ServeCommand
do {
    switch try QRSCPDCommand.parseAsRoot(arguments) {
    case let serve as ServeCommand:
        command = serve
    case let backup as BackupIndexCommand:
        exit(backup.runBackup())
    case var other:
        // `qrscpd help [subcommand]`.
        try other.run()
        exit(0)
    }
} catch {
    let exitCode = QRSCPDCommand.exitCode(for: error)
    if exitCode == .success {
        print(QRSCPDCommand.helpMessage(forRootArguments: arguments) ?? QRSCPDCommand.fullMessage(for: error))
        exit(0)
    }
    StandardErrorWriter.write("qrscpd: \(QRSCPDCommand.message(for: error))\n\(QRSCPDCommand.usage(for: arguments))\n")
    exit(1)
}

// Command line over environment over config file over defaults. A bad file or variable
// names the setting and its source; the daemon does not start.
let loader = SettingsLoader(flags: command.commandLineSettings, explicitConfigPath: command.sources.configFile)
let settings: DaemonSettings
do {
    settings = try loader.load()
} catch {
    if error == .missingStorageDirectory {
        // The wording of the tool qrscpd replaces.
        StandardErrorWriter.write("Error: \(error.message)\n")
    } else {
        StandardErrorWriter.write("qrscpd: \(error)\n")
    }
    if error.source == "settings" { StandardErrorWriter.write(QRSCPDCommand.usage(for: arguments) + "\n") }
    exit(1)
}

// Read once, before any thread exists: sd_listen_fds unsets the variables. A socket named
// dicom-tls is a TLS listener whether or not tls.port is set; it needs a certificate and key.
let activated = ActivatedListeners(SocketActivation.activatedSockets())
if activated.tls != nil, !settings.tls.missingListenerSettings.isEmpty {
    let missing = settings.tls.missingListenerSettings.joined(separator: " and ")
    StandardErrorWriter.write(
        "qrscpd: systemd passed a socket named \(ActivatedListeners.tlsName), which needs \(missing)\n")
    exit(1)
}

// A certificate, key or trust anchor file that is missing, unreadable, not PEM or not a
// matching pair stops the daemon here, naming the file and OpenSSL's reason.
let tlsContexts: TLSContexts
do {
    tlsContexts = try settings.makeTLSContexts(
        listens: settings.tls.isEnabled || activated.tls != nil, environment: ProcessInfo.processInfo.environment)
} catch {
    StandardErrorWriter.write("qrscpd: \(error)\n")
    exit(1)
}

let logLevel = LogLevelControl(settings.logLevel)
let toJournal = JournaldLogHandler.isStderrConnectedToJournal()
LoggingSystem.bootstrap { label -> any LogHandler in
    if toJournal {
        return SharedLevelLogHandler(JournaldLogHandler(label: label), control: logLevel)
    }
    return SharedLevelLogHandler(StderrLogHandler(label: label, level: .trace), control: logLevel)
}
let logger = Logger(label: "qrscpd")
tlsContexts.logSkippedTrustAnchorFiles(logger)

if settings.scanOnly {
    exit(ArchiveStartup.scanOnly(settings, logger: logger))
}

MallocTuning.apply()
DescriptorLimit.raise(logger: logger)

do {
    // Signals must be blocked before any other thread exists, so that only the
    // reactor's signalfd ever sees them.
    try EventLoop.blockSignalsProcessWide([SIGINT, SIGTERM, SIGHUP])
    let loop = try EventLoop()
    let store: SQLiteIndexStore
    do {
        store = try ArchiveStartup.openIndex(settings)
    } catch {
        logger.critical("cannot open the index \(settings.indexDatabase ?? "(in memory)"): \(error)")
        exit(2)
    }
    let daemon = Daemon(
        settings: settings, loader: loader, loop: loop, logger: logger, logLevel: logLevel,
        notifier: SystemdNotifier(logger: logger), activatedSocket: activated.plain, activatedTLSSocket: activated.tls,
        activatedHTTPSocket: activated.http, activatedMetricsSocket: activated.metrics, store: store,
        workers: WorkerPool(), tlsContexts: tlsContexts
    )
    loop.submit { daemon.start() }
    loop.run()
    exit(daemon.exitCode)
} catch {
    logger.critical("qrscpd cannot start: \(error)")
    exit(2)
}
