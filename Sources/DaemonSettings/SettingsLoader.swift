// SPDX-License-Identifier: Apache-2.0
import Configuration
import Foundation

/// Resolves the daemon's settings with swift-configuration: one `ConfigReader` over the
/// command line, then the `QRSCPD_*` environment, then the config file, then the defaults;
/// the first of them that has a setting gives it.
///
/// The command line and the environment are fixed for the life of the process; a reload
/// (SIGHUP) calls ``load()`` again, which re-reads only the file.
public struct SettingsLoader: Sendable {
    public static let defaultConfigPath = "/etc/qrscpd/qrscpd.yaml"

    /// Values given on the command line (already validated by the parser).
    public var flags: CommandLineSettings
    /// `--config FILE`, when given.
    public var explicitConfigPath: String?
    public var environment: [String: String]
    /// Where the default config file is looked for (tests point it elsewhere).
    public var defaultConfigPath: String

    public init(
        flags: CommandLineSettings,
        explicitConfigPath: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultConfigPath: String = SettingsLoader.defaultConfigPath
    ) {
        self.flags = flags
        self.explicitConfigPath = explicitConfigPath
        self.environment = environment
        self.defaultConfigPath = defaultConfigPath
    }

    /// The config file to read: `--config`, else `$QRSCPD_CONFIG`, else the default path
    /// when that file exists; `nil` for none.
    public var configPath: String? {
        if let explicitConfigPath, !explicitConfigPath.isEmpty { return explicitConfigPath }
        if let fromEnvironment = environment[SettingsKeys.configVariable], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return FileManager.default.fileExists(atPath: defaultConfigPath) ? defaultConfigPath : nil
    }

    /// Checks and reads the config file, and resolves every setting.
    public func load() throws(SettingsError) -> DaemonSettings {
        let path = configPath
        return try resolver(configFile: path).resolve(configFile: path)
    }

    /// Only the index file, from the same sources as ``load()`` (for `qrscpd backup-index`,
    /// which needs neither port nor AE title nor storage directory); `nil` for none.
    public func indexDatabase() throws(SettingsError) -> String? {
        try resolver(configFile: configPath).indexDatabase()
    }

    private func resolver(configFile path: String?) throws(SettingsError) -> SettingsResolver {
        let file = try path.map { p throws(SettingsError) in try SettingsFileProvider.load(path: p) }
        let flagValues = try flags.values()
        let peerValues = try EnvironmentSettings.peerValues(environment)

        var sources = [
            SettingsSource(kind: .commandLine, provider: InMemoryProvider(name: "command line", values: flagValues)),
            SettingsSource(kind: .environment(environment), provider: EnvironmentSettings.provider(environment)),
            SettingsSource(
                kind: .environment(environment),
                provider: InMemoryProvider(name: SettingsKeys.peersVariable, values: peerValues)),
        ]
        if let file { sources.append(SettingsSource(kind: .file(file.outline), provider: file)) }
        sources.append(SettingsSource(kind: .defaults, provider: SettingsDefaults.provider))

        var peerTitles: [String] = []
        for title in PeerSpecs.titles(in: flagValues) + PeerSpecs.titles(in: peerValues)
            + (file?.outline.peerTitles ?? []) where !peerTitles.contains(title)
        {
            peerTitles.append(title)
        }
        return SettingsResolver(sources: sources, peerTitles: peerTitles)
    }
}
