import Foundation

/// Combines the sources: command line over environment over config file over defaults.
///
/// The command-line and environment layers are fixed for the life of the process; a reload
/// (SIGHUP) calls ``load()`` again, which re-reads only the file.
public struct SettingsLoader: Sendable {
    public static let defaultConfigPath = "/etc/qrscpd/qrscpd.yaml"

    /// Values given on the command line (already validated by the parser).
    public var flags: SettingsLayer
    /// `--config FILE`, when given.
    public var explicitConfigPath: String?
    public var environment: [String: String]
    /// Where the default config file is looked for (tests point it elsewhere).
    public var defaultConfigPath: String

    public init(
        flags: SettingsLayer,
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
        if let fromEnvironment = environment["QRSCPD_CONFIG"], !fromEnvironment.isEmpty { return fromEnvironment }
        return FileManager.default.fileExists(atPath: defaultConfigPath) ? defaultConfigPath : nil
    }

    /// Reads the environment and the config file, and resolves every setting.
    public func load() throws(SettingsError) -> DaemonSettings {
        let path = configPath
        let file = try path.map { p throws(SettingsError) in try SettingsFile.load(path: p) } ?? SettingsLayer()
        let environmentLayer = try EnvironmentSettings.parse(environment)
        let merged = flags.overriding(environmentLayer).overriding(file)
        return try DaemonSettings(merged, configFile: path)
    }
}
