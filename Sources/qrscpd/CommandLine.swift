// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DaemonSettings
import Foundation
import Logging
import QRServer

/// `qrscpd`: the archive daemon (``ServeCommand``, the default, so that
/// `qrscpd 11112 MY_PACS --storage-dir DIR` reads as the tool qrscpd replaces) and its
/// administration subcommands.
struct QRSCPDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qrscpd",
        abstract: ServeCommand.configuration.abstract,
        usage: """
            qrscpd [<port>] [<ae-title>] --storage-dir <dir> [<options>]
              qrscpd backup-index <file> [--index-db <file>] [--config <file>]
            """,
        discussion: "Run 'qrscpd serve --help' for every option of the daemon and its defaults.",
        version: QRServerVersion.string,
        subcommands: [ServeCommand.self, BackupIndexCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// `qrscpd --help` alone shows the daemon's options and their defaults (the default
    /// subcommand's help, which names the other subcommands) rather than a list of subcommands.
    static func helpMessage(forRootArguments arguments: [String]) -> String? {
        arguments == ["--help"] || arguments == ["-h"] ? helpMessage(for: ServeCommand.self) : nil
    }

    /// "Usage: …" of the subcommand `arguments` run, for an error message.
    static func usage(for arguments: [String]) -> String {
        let subcommand: any ParsableCommand.Type =
            arguments.first == BackupIndexCommand.configuration.commandName
            ? BackupIndexCommand.self : ServeCommand.self
        return "Usage: " + usageString(for: subcommand)
    }
}

/// The options every subcommand resolves settings with, from the same sources as the
/// daemon: the command line, then `QRSCPD_*` variables, then the config file.
struct SettingsSourceOptions: ParsableArguments {
    @Option(
        name: .customLong("config"),
        help: "YAML settings file (default \(SettingsLoader.defaultConfigPath) when it exists).")
    var configFile: String?

    @Option(name: .customLong("index-db"), help: "SQLite index file (default: in memory).")
    var indexDatabase: String?
}

/// `qrscpd [serve] [<port> <ae_title>] [options]`: run the archive daemon.
///
/// Every option is optional here so that precedence can tell "given" from "default":
/// command line over `QRSCPD_*` environment variables over the config file over defaults.
struct ServeCommand: ParsableCommand {
    typealias Defaults = DaemonSettings.Defaults

    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "DICOM Query/Retrieve archive daemon (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE).",
        usage: "qrscpd [<port>] [<ae-title>] --storage-dir <dir> [<options>]",
        discussion: """
            Settings are resolved with swift-configuration: the command line, then QRSCPD_* \
            environment variables (QRSCPD_PORT, QRSCPD_AE_TITLE, QRSCPD_STORAGE_DIR, \
            QRSCPD_LOG_LEVEL, QRSCPD_MAX_ASSOCIATIONS, ...), then the config file, then defaults. \
            SIGHUP re-reads the config file. The storage directory has no default: it must come \
            from --storage-dir, QRSCPD_STORAGE_DIR or storage.directory in the config file.

            Also: 'qrscpd backup-index FILE' copies the live index to FILE while the daemon \
            runs (see 'qrscpd help backup-index').
            """
    )

    @Argument(help: "TCP port to listen on (1-65535); may come from the config file instead.")
    var port: Int?

    @Argument(help: "Our AE title (1-16 characters, no backslash); may come from the config file instead.")
    var aeTitle: String?

    @Option(
        name: .customLong("storage-dir"),
        help:
            "Directory holding the archive's DICOM files (required; or QRSCPD_STORAGE_DIR, or storage.directory in the config file)."
    )
    var storageDirectory: String?

    @OptionGroup var sources: SettingsSourceOptions

    @Option(
        name: .customLong("peer"),
        help: "A C-MOVE destination as AE:host:port, or AE:host:port+tls to reach it over TLS (repeatable).")
    var peers: [String] = []

    @Option(
        name: .customLong("max-assoc"), help: "Most associations served at once (default \(Defaults.maxAssociations)).")
    var maxAssociations: Int?

    @Option(
        name: .customLong("timeout"),
        help: "Abort an association idle for this many seconds (default \(Defaults.idleTimeout); 0 = never).")
    var idleTimeout: Int?

    @Option(
        name: .customLong("acse-timeout"),
        help: "Seconds a new connection has to send its A-ASSOCIATE-RQ (ARTIM; default 30).")
    var acseTimeout: Int?

    @Option(
        name: .customLong("max-pdu"), help: "Largest P-DATA-TF PDU we accept, in bytes (4096-16777216; default 262144)."
    )
    var maxPDU: Int?

    @Option(name: .customLong("bind"), help: "Address to listen on (default 0.0.0.0).")
    var bindAddress: String?

    @Option(
        name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(name: .customLong("http-port"), help: "Serve DICOMweb and /metrics over HTTP on this port (default: off).")
    var httpPort: Int?

    @Flag(
        name: .customLong("http-tls"),
        help: "Serve HTTPS on the HTTP port, with the --tls-certificate and --tls-key of DICOM over TLS.")
    var httpTLS = false

    @Flag(name: .customLong("scan-only"), help: "Scan the storage directory into the index, print a summary and exit.")
    var scanOnly = false

    @OptionGroup(title: "DICOM over TLS") var tls: TLSOptions

    @Option(
        name: .customLong("metrics-port"),
        help: "Serve /metrics only on this port of metrics.bind (default 127.0.0.1), not on the HTTP port.")
    var metricsPort: Int?

    func validate() throws {
        if let port {
            _ = try check("port ") { () throws(SettingsValidation.Failure) in try SettingsValidation.port(port) }
        }
        if let aeTitle {
            _ = try check { () throws(SettingsValidation.Failure) in try SettingsValidation.aeTitle(aeTitle) }
        }
        if let maxAssociations, maxAssociations < 1 {
            throw ValidationError("--max-assoc must be at least 1, got \(maxAssociations)")
        }
        if let idleTimeout, idleTimeout < 0 {
            throw ValidationError("--timeout must not be negative, got \(idleTimeout)")
        }
        if let acseTimeout, acseTimeout < 1 {
            throw ValidationError("--acse-timeout must be at least 1, got \(acseTimeout)")
        }
        if let maxPDU, !(4096...16_777_216).contains(maxPDU) {
            throw ValidationError("--max-pdu must be between 4096 and 16777216, got \(maxPDU)")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of \(SettingsValidation.logLevels); got '\(logLevel)'")
        }
        if let storageDirectory, storageDirectory.isEmpty { throw ValidationError("--storage-dir must not be empty") }
        if let httpPort {
            _ = try check("--http-port ") { () throws(SettingsValidation.Failure) in
                try SettingsValidation.port(httpPort)
            }
        }
        if let bindAddress {
            _ = try check("--bind ") { () throws(SettingsValidation.Failure) in try SettingsValidation.host(bindAddress)
            }
        }
        for peer in peers {
            _ = try check("--peer ") { () throws(SettingsValidation.Failure) in try SettingsValidation.peer(peer) }
        }
        if let metricsPort {
            _ = try check("--metrics-port ") { () throws(SettingsValidation.Failure) in
                try SettingsValidation.port(metricsPort)
            }
        }
    }

    private func check<T>(_ prefix: String = "", _ body: () throws(SettingsValidation.Failure) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ValidationError(prefix + error.message)
        }
    }

    /// The values given on the command line: the first provider of the settings reader.
    var commandLineSettings: CommandLineSettings {
        var settings = CommandLineSettings()
        settings.port = port
        settings.aeTitle = aeTitle.flatMap { try? SettingsValidation.aeTitle($0) }
        settings.bindAddress = bindAddress
        settings.storageDirectory = storageDirectory
        settings.indexDatabase = sources.indexDatabase
        settings.scanOnly = scanOnly
        settings.logLevel = logLevel.flatMap(Logger.Level.init(rawValue:))
        settings.maxAssociations = maxAssociations
        settings.idleTimeout = idleTimeout
        settings.acseTimeout = acseTimeout
        settings.maxPDU = maxPDU
        settings.peers = peers
        settings.httpPort = httpPort
        settings.httpTLS = httpTLS
        settings.tls = tls.commandLineSettings
        settings.metricsPort = metricsPort
        return settings
    }
}
