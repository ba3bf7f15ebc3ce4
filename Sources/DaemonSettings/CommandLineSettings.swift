// SPDX-License-Identifier: Apache-2.0
import Configuration
import Logging

/// The settings given on the command line (parsed and validated by swift-argument-parser);
/// `nil` = not given. They become the reader's first, highest-precedence provider.
public struct CommandLineSettings: Sendable, Equatable {
    public var port: Int?
    public var aeTitle: String?
    public var bindAddress: String?
    public var storageDirectory: String?
    /// "" keeps the index in memory.
    public var indexDatabase: String?
    /// `--scan-only` given; absent is not "false", so the file may still ask for a scan.
    public var scanOnly = false
    public var logLevel: Logger.Level?
    public var maxAssociations: Int?
    public var idleTimeout: Int?
    public var acseTimeout: Int?
    public var maxPDU: Int?
    /// `--peer AE:host:port`, repeatable.
    public var peers: [String] = []
    /// `--http-port`.
    public var httpPort: Int?
    /// `--http-tls` given; absent is not "false", so the file may still turn HTTPS on.
    public var httpTLS = false
    /// `--tls-port`, `--tls-certificate`, `--tls-key`, `--tls-ca`, `--tls-client-auth`.
    public var tls = TLSCommandLineSettings()
    /// `--metrics-port`.
    public var metricsPort: Int?

    public init() {}

    /// The values keyed like the config file, for an in-memory provider.
    func values() throws(SettingsError) -> [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        func set(_ key: String, _ content: ConfigContent?) {
            if let content {
                values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(
                    content, isSecret: false)
            }
        }
        set(SettingsKeys.port, port.map(ConfigContent.int))
        set(SettingsKeys.aeTitle, aeTitle.map(ConfigContent.string))
        set(SettingsKeys.bind, bindAddress.map(ConfigContent.string))
        set(SettingsKeys.storageDirectory, storageDirectory.map(ConfigContent.string))
        set(SettingsKeys.indexDatabase, indexDatabase.map(ConfigContent.string))
        set(SettingsKeys.scanOnly, scanOnly ? .bool(true) : nil)
        set(SettingsKeys.logLevel, logLevel.map { .string($0.rawValue) })
        set(SettingsKeys.maxAssociations, maxAssociations.map(ConfigContent.int))
        set(SettingsKeys.idleTimeout, idleTimeout.map(ConfigContent.int))
        set(SettingsKeys.acseTimeout, acseTimeout.map(ConfigContent.int))
        set(SettingsKeys.maxPDU, maxPDU.map(ConfigContent.int))
        set(SettingsKeys.httpPort, httpPort.map(ConfigContent.int))
        set(SettingsKeys.httpTLS, httpTLS ? .bool(true) : nil)
        values.merge(tls.values()) { _, new in new }
        set(SettingsKeys.metricsPort, metricsPort.map(ConfigContent.int))
        do {
            values.merge(try PeerSpecs.values(peers)) { _, new in new }
        } catch {
            throw SettingsError(
                source: "command line", key: SettingsKeys.options[SettingsKeys.peersSection], message: error.message)
        }
        return values
    }
}

/// `AE:host:port[+tls]` peer specs (from `--peer` or `QRSCPD_PEERS`) as provider values keyed
/// like the file's `peers.<AE>.host`, `peers.<AE>.port` and `peers.<AE>.tls`; a later spec for
/// the same AE wins. A spec describes the whole peer: without `+tls` it sets `tls` false, so a
/// file entry's `tls: true` does not carry over to the address that replaces it.
enum PeerSpecs {
    static func values(_ specs: [String]) throws(SettingsValidation.Failure) -> [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for spec in specs {
            let (title, address) = try SettingsValidation.peer(spec)
            values[AbsoluteConfigKey(SettingsKeys.peer(title, "host"))] = ConfigValue(
                .string(address.host), isSecret: false)
            values[AbsoluteConfigKey(SettingsKeys.peer(title, "port"))] = ConfigValue(
                .int(address.port), isSecret: false)
            values[AbsoluteConfigKey(SettingsKeys.peer(title, "tls"))] = ConfigValue(
                .bool(address.tls), isSecret: false)
        }
        return values
    }

    /// The AE titles of the peers among provider `values`.
    static func titles(in values: [AbsoluteConfigKey: ConfigValue]) -> [String] {
        values.keys.compactMap { key in
            key.components.count == 3 && key.components[0] == SettingsKeys.peersSection && key.components[2] == "host"
                ? key.components[1] : nil
        }
    }
}
