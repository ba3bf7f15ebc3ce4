// SPDX-License-Identifier: Apache-2.0
import DICOM
import Logging
import QRServer

/// Everything the daemon runs with, as ``SettingsLoader`` resolved it through
/// swift-configuration: command line over environment over config file over defaults.
public struct DaemonSettings: Sendable, Equatable {
    public var port: Int
    public var aeTitle: String
    public var bindAddress: String = Defaults.bindAddress
    /// Required from some source (flag, variable or file): there is no default, so that the
    /// daemon never serves whatever directory it happened to start in.
    public var storageDirectory: String
    public var storageLayout: StorageLayout = Defaults.storageLayout
    public var duplicatePolicy: DuplicatePolicy = Defaults.duplicatePolicy
    /// How C-STORE checks received UIDs (`storage.uid_policy`).
    public var uidPolicy: UIDPolicy = Defaults.uidPolicy
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
    /// Least milliseconds between two pending C-MOVE-RSPs; 0 = one per sub-operation.
    public var movePendingInterval = Defaults.movePendingInterval
    /// Most connections open at once that have not yet been accepted as an association.
    public var maxUnassociated = Defaults.maxUnassociated
    public var peers: [String: PeerAddress] = [:]
    public var allowedCallingAETitles: [DICOMService: Set<String>] = [:]
    /// The HTTP listener (DICOMweb, /metrics); off unless `http.port` is set.
    public var http = HTTPSettings()
    /// The config file these settings were read from, if any.
    public var configFile: String?
    /// The `tls:` block (off unless it has a port).
    public var tls = TLSSettings()
    /// The `metrics:` block (an admin listener for /metrics; off unless it has a port).
    public var metrics = MetricsSettings()

    public enum Defaults {
        public static let bindAddress = "0.0.0.0"
        public static let storageLayout = StorageLayout.hierarchical
        public static let duplicatePolicy = DuplicatePolicy.keep
        public static let uidPolicy = UIDPolicy.strict
        public static let logLevel = Logger.Level.info
        /// The default of the tool qrscpd replaces; the shipped config file may set more.
        public static let maxAssociations = 10
        /// Seconds; the default of the tool qrscpd replaces (0 = never).
        public static let idleTimeout = 300
        public static let acseTimeout = 30
        public static let maxPDU = 256 * 1024
        public static let shutdownGracePeriod = 10
        public static let movePendingInterval = 500
        public static let maxUnassociated = 128
    }

    public init(port: Int, aeTitle: String, storageDirectory: String) {
        self.port = port
        self.aeTitle = aeTitle
        self.storageDirectory = storageDirectory
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
        configuration.store.uidPolicy = uidPolicy
        configuration.movePendingInterval = .milliseconds(movePendingInterval)
        configuration.maxUnassociated = maxUnassociated
        configuration.tlsPort = tls.port
        configuration.certificateIdentities = tls.identityBinding
        return configuration
    }
}
