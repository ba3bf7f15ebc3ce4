import Logging
import QRServer

/// Everything the daemon runs with, after command line, environment, config file and
/// defaults have been combined (in that order of precedence) by ``SettingsLoader``.
public struct DaemonSettings: Sendable, Equatable {
    public var port: Int
    public var aeTitle: String
    public var bindAddress: String = Defaults.bindAddress
    public var storageDirectory: String = Defaults.storageDirectory
    public var storageLayout: StorageLayout = Defaults.storageLayout
    public var duplicatePolicy: DuplicatePolicy = Defaults.duplicatePolicy
    /// The SQLite index file; `nil` keeps the index in memory.
    public var indexDatabase: String?
    public var scanOnly = false
    public var logLevel: Logger.Level = Defaults.logLevel
    public var maxAssociations = Defaults.maxAssociations
    /// Seconds of silence before an association is aborted; 0 = never.
    public var idleTimeout = Defaults.idleTimeout
    public var acseTimeout = Defaults.acseTimeout
    public var maxPDU = Defaults.maxPDU
    /// Seconds open associations get to finish on SIGTERM before they are aborted.
    public var shutdownGracePeriod = Defaults.shutdownGracePeriod
    public var peers: [String: PeerAddress] = [:]
    public var allowedCallingAETitles: [DICOMService: Set<String>] = [:]
    /// The config file these settings were read from, if any.
    public var configFile: String?

    public enum Defaults {
        public static let bindAddress = "0.0.0.0"
        public static let storageDirectory = "."
        public static let storageLayout = StorageLayout.hierarchical
        public static let duplicatePolicy = DuplicatePolicy.keep
        public static let logLevel = Logger.Level.info
        public static let maxAssociations = 32
        public static let idleTimeout = 0
        public static let acseTimeout = 30
        public static let maxPDU = 256 * 1024
        public static let shutdownGracePeriod = 10
    }

    public init(port: Int, aeTitle: String) {
        self.port = port
        self.aeTitle = aeTitle
    }

    /// Settings from a merged layer; port and AE title must be present.
    public init(_ layer: SettingsLayer, configFile: String?) throws(SettingsError) {
        guard let port = layer.port else {
            throw SettingsError(source: "settings", key: "port", message: "missing: give it as the first argument, in QRSCPD_PORT or as 'port:' in the config file")
        }
        guard let aeTitle = layer.aeTitle else {
            throw SettingsError(source: "settings", key: "ae_title", message: "missing: give it as the second argument, in QRSCPD_AE_TITLE or as 'ae_title:' in the config file")
        }
        self.init(port: port, aeTitle: aeTitle)
        self.configFile = configFile
        bindAddress = layer.bindAddress ?? bindAddress
        storageDirectory = layer.storageDirectory ?? storageDirectory
        storageLayout = layer.storageLayout ?? storageLayout
        duplicatePolicy = layer.duplicatePolicy ?? duplicatePolicy
        indexDatabase = layer.indexDatabase.flatMap { $0.isEmpty ? nil : $0 }
        scanOnly = layer.scanOnly ?? scanOnly
        logLevel = layer.logLevel ?? logLevel
        maxAssociations = layer.maxAssociations ?? maxAssociations
        idleTimeout = layer.idleTimeout ?? idleTimeout
        acseTimeout = layer.acseTimeout ?? acseTimeout
        maxPDU = layer.maxPDU ?? maxPDU
        shutdownGracePeriod = layer.shutdownGracePeriod ?? shutdownGracePeriod
        peers = layer.peers ?? [:]
        allowedCallingAETitles = (layer.allowedCallingAETitles ?? [:]).filter { !$0.value.isEmpty }
    }

    /// What `DICOMServer` is configured with.
    public var serverConfiguration: ServerConfiguration {
        var configuration = ServerConfiguration(
            port: port,
            bindAddress: bindAddress,
            aeTitle: aeTitle,
            storageDirectory: storageDirectory,
            maxAssociations: maxAssociations,
            idleTimeout: idleTimeout > 0 ? .seconds(idleTimeout) : nil,
            artimTimeout: .seconds(acseTimeout),
            maxPDULength: UInt32(maxPDU)
        )
        configuration.peers = peers
        configuration.allowedCallingAETitles = allowedCallingAETitles
        configuration.storageLayout = storageLayout
        configuration.duplicatePolicy = duplicatePolicy
        return configuration
    }
}
