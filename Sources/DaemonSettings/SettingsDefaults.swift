// SPDX-License-Identifier: Apache-2.0
import Configuration
import QRServer

/// The defaults, the last provider of the chain: what applies when no flag, variable or
/// file sets a setting. Port, AE title, the storage directory and the index file have none.
enum SettingsDefaults {
    typealias Defaults = DaemonSettings.Defaults

    static let provider: InMemoryProvider = {
        var values: [AbsoluteConfigKey: ConfigValue] = [
            key(SettingsKeys.bind): .init(.string(Defaults.bindAddress), isSecret: false),
            key(SettingsKeys.storageLayout): .init(.string(Defaults.storageLayout.rawValue), isSecret: false),
            key(SettingsKeys.duplicatePolicy): .init(.string(Defaults.duplicatePolicy.rawValue), isSecret: false),
            key(SettingsKeys.uidPolicy): .init(.string(Defaults.uidPolicy.rawValue), isSecret: false),
            key(SettingsKeys.scanOnly): .init(.bool(false), isSecret: false),
            key(SettingsKeys.logLevel): .init(.string(Defaults.logLevel.rawValue), isSecret: false),
            key(SettingsKeys.maxAssociations): .init(.int(Defaults.maxAssociations), isSecret: false),
            key(SettingsKeys.maxPDU): .init(.int(Defaults.maxPDU), isSecret: false),
            key(SettingsKeys.acseTimeout): .init(.int(Defaults.acseTimeout), isSecret: false),
            key(SettingsKeys.idleTimeout): .init(.int(Defaults.idleTimeout), isSecret: false),
            key(SettingsKeys.shutdownGracePeriod): .init(.int(Defaults.shutdownGracePeriod), isSecret: false),
            key(SettingsKeys.movePendingInterval): .init(.int(Defaults.movePendingInterval), isSecret: false),
            key(SettingsKeys.maxUnassociated): .init(.int(Defaults.maxUnassociated), isSecret: false),
        ]
        // An empty list: every calling AE title may use the service.
        for service in DICOMService.allCases {
            values[key(SettingsKeys.allowed(service))] = .init(.stringArray([]), isSecret: false)
        }
        return InMemoryProvider(name: "defaults", values: values)
    }()

    private static func key(_ dotted: String) -> AbsoluteConfigKey {
        AbsoluteConfigKey(dotted.split(separator: ".").map(String.init))
    }
}
