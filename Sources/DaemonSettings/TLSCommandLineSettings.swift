// SPDX-License-Identifier: Apache-2.0
import Configuration
import TLS

/// The TLS options given on the command line; `nil` = not given.
public struct TLSCommandLineSettings: Sendable, Equatable {
    public var port: Int?
    public var certificate: String?
    public var key: String?
    public var ca: String?
    public var clientAuthentication: TLSConfiguration.ClientAuthentication?

    public init() {}

    /// The values keyed like the config file's `tls:` block.
    func values() -> [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        func set(_ key: String, _ content: ConfigContent?) {
            if let content {
                values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(
                    content, isSecret: false)
            }
        }
        set(SettingsKeys.tlsPort, port.map(ConfigContent.int))
        set(SettingsKeys.tlsCertificate, certificate.map(ConfigContent.string))
        set(SettingsKeys.tlsKey, key.map(ConfigContent.string))
        set(SettingsKeys.tlsCA, ca.map(ConfigContent.string))
        set(SettingsKeys.tlsClientAuth, clientAuthentication.map { .string($0.rawValue) })
        return values
    }
}
