// SPDX-License-Identifier: Apache-2.0
import Configuration

/// The `QRSCPD_*` environment variables as swift-configuration providers. Empty variables
/// count as unset.
enum EnvironmentSettings {
    /// The variables that name a setting, non-empty ones only, read by the library's
    /// `EnvironmentVariablesProvider`. Each dotted key is mapped to its variable's name, so
    /// that a bad value is reported by that name; keys without a variable find nothing.
    static func provider(_ environment: [String: String]) -> KeyMappingProvider<EnvironmentVariablesProvider> {
        let known = Set(SettingsKeys.environmentVariables.values)
        let variables = environment.filter { known.contains($0.key) && !$0.value.isEmpty }
        return EnvironmentVariablesProvider(environmentVariables: variables).mapKeys { key in
            guard let variable = SettingsKeys.environmentVariables[key.components.joined(separator: ".")] else {
                return key
            }
            // One upper-case component encodes to exactly the variable's name.
            return AbsoluteConfigKey([variable])
        }
    }

    /// `QRSCPD_PEERS` ("AE:host:port" or "AE:host:port+tls", separated by commas or spaces): one variable holds a
    /// whole table, which the environment provider cannot split into per-peer keys, so it
    /// becomes an in-memory provider placed at the environment's rank.
    static func peerValues(_ environment: [String: String]) throws(SettingsError) -> [AbsoluteConfigKey: ConfigValue] {
        guard let text = environment[SettingsKeys.peersVariable], !text.isEmpty else { return [:] }
        do {
            return try PeerSpecs.values(text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init))
        } catch {
            throw SettingsError(source: "environment", key: SettingsKeys.peersVariable, message: error.message)
        }
    }
}
