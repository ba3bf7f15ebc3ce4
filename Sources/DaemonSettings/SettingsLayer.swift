import Logging
import QRServer

/// The settings one source provides (command line, environment, file); `nil` = not given
/// there. Layers are stacked with ``overriding(_:)``, highest precedence first.
public struct SettingsLayer: Sendable, Equatable {
    public var port: Int?
    public var aeTitle: String?
    public var bindAddress: String?
    public var storageDirectory: String?
    public var storageLayout: StorageLayout?
    public var duplicatePolicy: DuplicatePolicy?
    /// SQLite index file; "" means in-memory.
    public var indexDatabase: String?
    public var scanOnly: Bool?
    public var logLevel: Logger.Level?
    public var maxAssociations: Int?
    /// Seconds; 0 = never.
    public var idleTimeout: Int?
    /// Seconds.
    public var acseTimeout: Int?
    public var maxPDU: Int?
    /// Seconds.
    public var shutdownGracePeriod: Int?
    /// Merged per AE title across layers.
    public var peers: [String: PeerAddress]?
    /// Replaced per service across layers.
    public var allowedCallingAETitles: [DICOMService: Set<String>]?

    public init() {}

    /// This layer over `lower`: every value set here wins; peers and allowed AE titles are
    /// merged per AE title and per service.
    public func overriding(_ lower: SettingsLayer) -> SettingsLayer {
        var merged = SettingsLayer()
        merged.port = port ?? lower.port
        merged.aeTitle = aeTitle ?? lower.aeTitle
        merged.bindAddress = bindAddress ?? lower.bindAddress
        merged.storageDirectory = storageDirectory ?? lower.storageDirectory
        merged.storageLayout = storageLayout ?? lower.storageLayout
        merged.duplicatePolicy = duplicatePolicy ?? lower.duplicatePolicy
        merged.indexDatabase = indexDatabase ?? lower.indexDatabase
        merged.scanOnly = scanOnly ?? lower.scanOnly
        merged.logLevel = logLevel ?? lower.logLevel
        merged.maxAssociations = maxAssociations ?? lower.maxAssociations
        merged.idleTimeout = idleTimeout ?? lower.idleTimeout
        merged.acseTimeout = acseTimeout ?? lower.acseTimeout
        merged.maxPDU = maxPDU ?? lower.maxPDU
        merged.shutdownGracePeriod = shutdownGracePeriod ?? lower.shutdownGracePeriod
        switch (peers, lower.peers) {
        case (nil, let other), (let other, nil): merged.peers = other
        case (let mine?, let theirs?): merged.peers = theirs.merging(mine) { _, new in new }
        }
        switch (allowedCallingAETitles, lower.allowedCallingAETitles) {
        case (nil, let other), (let other, nil): merged.allowedCallingAETitles = other
        case (let mine?, let theirs?): merged.allowedCallingAETitles = theirs.merging(mine) { _, new in new }
        }
        return merged
    }
}
