// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Logging
import QRServer
import Systemd

/// What the daemon tells its operator once it listens: the version, the address and the
/// settings that shape service. On a terminal (or a plain log file) a table on stdout; under
/// journald ONE entry: a readable MESSAGE with each setting as a field named like its
/// `QRSCPD_*` variable (`journalctl -o verbose` shows them, `journalctl QRSCPD_PORT=104`
/// selects on one). Ten stdout lines would reach the journal as ten unrelated entries.
struct StartupSummary {
    let settings: DaemonSettings
    let port: Int
    /// The listening socket systemd passed, if any.
    let activatedSocket: Int32?
    /// Instances in the index after the start-up scan.
    let instances: Int
    /// The TLS listener's port, if there is one.
    var tlsPort: Int? = nil

    var headline: String {
        "qrscpd \(QRServerVersion.string) listening on \(settings.bindAddress):\(port)"
            + (activatedSocket.map { " (socket fd \($0) from systemd)" } ?? "")
            + (tlsPort.map { " and :\($0) (TLS)" } ?? "")
    }

    private var peers: String {
        let peers = settings.peers
        // The marker of AE:host:port+tls in --peer and QRSCPD_PEERS.
        return peers.isEmpty
            ? "none"
            : peers.keys.sorted().map { "\($0)=\(peers[$0]!)\(peers[$0]!.tls ? SettingsValidation.peerTLSMarker : "")" }
                .joined(separator: " ")
    }

    private var idleTimeout: String { settings.idleTimeout > 0 ? "\(settings.idleTimeout) s" : "none" }

    /// For a terminal: the headline and one setting a line.
    var table: String {
        let s = settings
        return """
            \(headline)
              AE title         \(s.aeTitle)
              config file      \(s.configFile ?? "none")
              storage          \(s.storageDirectory)
              index            \(s.indexDatabase ?? "in memory"), \(instances) instances
              max associations \(s.maxAssociations)
              max PDU          \(s.maxPDU) bytes
              idle timeout     \(idleTimeout)
              ACSE timeout     \(s.acseTimeout) s
              peers            \(peers)
            """
    }

    /// The journal entry's MESSAGE: one line, as `journalctl` shows it.
    var message: String {
        let s = settings
        return "\(headline), AE title \(s.aeTitle), storage \(s.storageDirectory), "
            + "index \(s.indexDatabase ?? "in memory") (\(instances) instances), "
            + "max associations \(s.maxAssociations), idle timeout \(idleTimeout)"
    }

    /// The journal entry's fields; numbers stay bare (seconds, bytes) so that they can be
    /// matched and compared.
    var fields: Logger.Metadata {
        let s = settings
        let variable = { (key: String) in SettingsKeys.environmentVariables[key]! }
        var fields: Logger.Metadata = [
            "QRSCPD_VERSION": "\(QRServerVersion.string)",
            variable(SettingsKeys.port): "\(port)",
            variable(SettingsKeys.bind): "\(s.bindAddress)",
            variable(SettingsKeys.aeTitle): "\(s.aeTitle)",
            SettingsKeys.configVariable: "\(s.configFile ?? "none")",
            variable(SettingsKeys.storageDirectory): "\(s.storageDirectory)",
            variable(SettingsKeys.indexDatabase): "\(s.indexDatabase ?? "in memory")",
            "QRSCPD_INSTANCES": "\(instances)",
            variable(SettingsKeys.maxAssociations): "\(s.maxAssociations)",
            variable(SettingsKeys.maxPDU): "\(s.maxPDU)",
            variable(SettingsKeys.idleTimeout): "\(s.idleTimeout)",
            variable(SettingsKeys.acseTimeout): "\(s.acseTimeout)",
            SettingsKeys.peersVariable: "\(peers)",
        ]
        if let activatedSocket { fields["QRSCPD_SOCKET_FD"] = "\(activatedSocket)" }
        if let tlsPort { fields[variable(SettingsKeys.tlsPort)] = "\(tlsPort)" }
        return fields
    }

    /// Under journald, sends the one entry, whatever the log level (the table is printed
    /// whatever the level too). Otherwise prints the table on stdout and logs "ready".
    func emit(toJournal: Bool, logger: Logger) {
        if toJournal {
            let journal = Logger(label: logger.label) { JournaldLogHandler(label: $0) }
            journal.info("\(message)", metadata: fields)
        } else {
            StandardErrorWriter.write(table + "\n", fd: 1)
            logger.info("ready", metadata: ["port": "\(port)", "ae_title": "\(settings.aeTitle)"])
        }
    }
}
