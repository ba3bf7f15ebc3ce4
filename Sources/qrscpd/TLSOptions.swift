// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DaemonSettings
import TLS

/// The DICOM-over-TLS options of `qrscpd serve` (the `tls:` block of the config file).
struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-port"), help: "Also listen for DICOM over TLS on this port (2762 by convention).")
    var port: Int?

    @Option(
        name: .customLong("tls-certificate"),
        help: ArgumentHelp("PEM certificate chain of the TLS listener, ours first.", valueName: "file"))
    var certificate: String?

    @Option(
        name: .customLong("tls-key"),
        help: ArgumentHelp(
            "PEM private key; a bare name is read from $CREDENTIALS_DIRECTORY (systemd LoadCredential=).",
            valueName: "file")
    )
    var key: String?

    @Option(
        name: .customLong("tls-ca"),
        help: ArgumentHelp("Trusted CA certificates: a PEM file or a hashed directory.", valueName: "file-or-dir"))
    var ca: String?

    @Option(
        name: .customLong("tls-client-auth"),
        help: "Client certificates: required, optional or none (default required with --tls-ca, none without)."
    )
    var clientAuthentication: String?

    func validate() throws {
        if let port, !(1...65535).contains(port) {
            throw ValidationError("--tls-port must be between 1 and 65535, got \(port)")
        }
        for (option, value) in [("--tls-certificate", certificate), ("--tls-key", key), ("--tls-ca", ca)]
        where value?.isEmpty == true {
            throw ValidationError("\(option) must not be empty")
        }
        if let clientAuthentication, TLSConfiguration.ClientAuthentication(rawValue: clientAuthentication) == nil {
            throw ValidationError(
                "--tls-client-auth must be one of required, optional, none; got '\(clientAuthentication)'")
        }
    }

    var commandLineSettings: TLSCommandLineSettings {
        var settings = TLSCommandLineSettings()
        settings.port = port
        settings.certificate = certificate
        settings.key = key
        settings.ca = ca
        settings.clientAuthentication = clientAuthentication.flatMap(
            TLSConfiguration.ClientAuthentication.init(rawValue:))
        return settings
    }
}
