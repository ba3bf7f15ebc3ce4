import QRServer

/// Settings from `QRSCPD_*` environment variables. Empty variables count as unset.
public enum EnvironmentSettings {
    /// The variables read, and what each sets.
    public static let variables: [String: String] = [
        "QRSCPD_CONFIG": "config file (below --config)",
        "QRSCPD_PORT": "port",
        "QRSCPD_AE_TITLE": "ae_title",
        "QRSCPD_BIND": "bind",
        "QRSCPD_STORAGE_DIR": "storage.directory",
        "QRSCPD_STORAGE_LAYOUT": "storage.layout",
        "QRSCPD_DUPLICATES": "storage.duplicates",
        "QRSCPD_INDEX_DB": "index.database",
        "QRSCPD_LOG_LEVEL": "log_level",
        "QRSCPD_MAX_ASSOCIATIONS": "limits.max_associations",
        "QRSCPD_MAX_PDU": "limits.max_pdu",
        "QRSCPD_ACSE_TIMEOUT": "limits.acse_timeout",
        "QRSCPD_TIMEOUT": "limits.idle_timeout",
        "QRSCPD_SHUTDOWN_GRACE": "limits.shutdown_grace_period",
        "QRSCPD_PEERS": "peers, as AE:host:port separated by commas or spaces",
    ]

    public static func parse(_ environment: [String: String]) throws(SettingsError) -> SettingsLayer {
        var layer = SettingsLayer()
        func get<T>(_ name: String, _ parse: (String) throws(SettingsValidation.Failure) -> T) throws(SettingsError) -> T? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            do {
                return try parse(text)
            } catch {
                throw SettingsError(source: "environment", key: name, message: error.message)
            }
        }
        func int<T>(_ name: String, _ check: (Int) throws(SettingsValidation.Failure) -> T) throws(SettingsError) -> T? {
            try get(name) { text throws(SettingsValidation.Failure) in try check(SettingsValidation.integer(text)) }
        }
        layer.port = try int("QRSCPD_PORT", SettingsValidation.port)
        layer.aeTitle = try get("QRSCPD_AE_TITLE", SettingsValidation.aeTitle)
        layer.bindAddress = try get("QRSCPD_BIND", SettingsValidation.host)
        layer.storageDirectory = try get("QRSCPD_STORAGE_DIR", SettingsValidation.nonEmpty)
        layer.storageLayout = try get("QRSCPD_STORAGE_LAYOUT") { t throws(SettingsValidation.Failure) in try SettingsValidation.choice(t, as: StorageLayout.self) }
        layer.duplicatePolicy = try get("QRSCPD_DUPLICATES") { t throws(SettingsValidation.Failure) in try SettingsValidation.choice(t, as: DuplicatePolicy.self) }
        layer.indexDatabase = environment["QRSCPD_INDEX_DB"].flatMap { $0.isEmpty ? nil : $0 }
        layer.logLevel = try get("QRSCPD_LOG_LEVEL", SettingsValidation.logLevel)
        layer.maxAssociations = try int("QRSCPD_MAX_ASSOCIATIONS") { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(1, v) }
        layer.maxPDU = try int("QRSCPD_MAX_PDU", SettingsValidation.maxPDU)
        layer.acseTimeout = try int("QRSCPD_ACSE_TIMEOUT") { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(1, v) }
        layer.idleTimeout = try int("QRSCPD_TIMEOUT") { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(0, v) }
        layer.shutdownGracePeriod = try int("QRSCPD_SHUTDOWN_GRACE") { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(0, v) }
        layer.peers = try get("QRSCPD_PEERS") { text throws(SettingsValidation.Failure) in
            var peers: [String: PeerAddress] = [:]
            for spec in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
                let (ae, address) = try SettingsValidation.peer(String(spec))
                peers[ae] = address
            }
            return peers
        }
        return layer
    }
}
