import ArgumentParser
import Foundation
import Logging
import QRServer

/// `qrscpd <port> <ae_title> --storage-dir DIR [options]`: the command line of the
/// archive daemon.
struct QRSCPDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qrscpd",
        abstract: "DICOM Query/Retrieve archive daemon (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE)."
    )

    @Argument(help: "TCP port to listen on (1-65535).")
    var port: Int

    @Argument(help: "Our AE title (1-16 characters, no backslash).")
    var aeTitle: String

    @Option(name: .customLong("storage-dir"), help: "Directory holding the archive's DICOM files.")
    var storageDirectory: String = "."

    @Option(name: .customLong("max-assoc"), help: "Most associations served at once.")
    var maxAssociations: Int = 32

    @Option(name: .customLong("timeout"), help: "Abort an association idle for this many seconds (0 = never).")
    var idleTimeout: Int = 0

    @Option(name: .customLong("acse-timeout"), help: "Seconds a new connection has to send its A-ASSOCIATE-RQ (ARTIM).")
    var acseTimeout: Int = 30

    @Option(name: .customLong("max-pdu"), help: "Largest P-DATA-TF PDU we accept, in bytes (4096-16777216).")
    var maxPDU: Int = 256 * 1024

    @Option(name: .customLong("bind"), help: "Address to listen on.")
    var bindAddress: String = "0.0.0.0"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("port must be between 1 and 65535, got \(port)") }
        let trimmed = aeTitle.trimmingCharacters(in: .init(charactersIn: " "))
        guard !trimmed.isEmpty, aeTitle.utf8.count <= 16, !aeTitle.contains("\\"),
              aeTitle.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F })
        else { throw ValidationError("AE title must be 1-16 printable ASCII characters without backslash, got '\(aeTitle)'") }
        guard maxAssociations >= 1 else { throw ValidationError("--max-assoc must be at least 1, got \(maxAssociations)") }
        guard idleTimeout >= 0 else { throw ValidationError("--timeout must not be negative, got \(idleTimeout)") }
        guard acseTimeout >= 1 else { throw ValidationError("--acse-timeout must be at least 1, got \(acseTimeout)") }
        guard (4096...16_777_216).contains(maxPDU) else { throw ValidationError("--max-pdu must be between 4096 and 16777216, got \(maxPDU)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(logLevel)'") }
    }

    var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            port: port,
            bindAddress: bindAddress,
            aeTitle: aeTitle.trimmingCharacters(in: .init(charactersIn: " ")),
            storageDirectory: storageDirectory,
            maxAssociations: maxAssociations,
            idleTimeout: idleTimeout > 0 ? .seconds(idleTimeout) : nil,
            artimTimeout: .seconds(acseTimeout),
            maxPDULength: UInt32(maxPDU)
        )
    }
}
