// SPDX-License-Identifier: Apache-2.0
import QRServer

/// The names of every setting: its dotted key (the config file's name for it and the key the
/// `ConfigReader` resolves), and the `QRSCPD_*` variable and command-line option that also
/// set it, when there are any.
public enum SettingsKeys {
    public static let port = "port"
    public static let aeTitle = "ae_title"
    public static let bind = "bind"
    public static let logLevel = "log_level"
    public static let storageDirectory = "storage.directory"
    public static let storageLayout = "storage.layout"
    public static let duplicatePolicy = "storage.duplicates"
    public static let uidPolicy = "storage.uid_policy"
    public static let indexDatabase = "index.database"
    public static let scanOnly = "index.scan_only"
    public static let maxPDU = "limits.max_pdu"
    public static let maxAssociations = "limits.max_associations"
    public static let acseTimeout = "limits.acse_timeout"
    public static let idleTimeout = "limits.idle_timeout"
    public static let shutdownGracePeriod = "limits.shutdown_grace_period"
    public static let movePendingInterval = "limits.move_pending_interval_ms"
    public static let maxUnassociated = "limits.max_unassociated"
    /// `allowed_calling_ae_titles.<service>`: a list of AE titles.
    public static let allowedSection = "allowed_calling_ae_titles"
    /// `peers.<AE>.host` and `peers.<AE>.port`.
    public static let peersSection = "peers"

    public static func allowed(_ service: DICOMService) -> String { "\(allowedSection).\(service.rawValue)" }

    /// The key components of one peer's field; components, not a dotted string, because an
    /// AE title may itself contain a dot.
    static func peer(_ aeTitle: String, _ field: String) -> [String] { [peersSection, aeTitle, field] }

    /// Keys whose value is a single scalar, in the order the shipped file lists them.
    public static let scalars: [String] =
        [
            port, aeTitle, bind, logLevel,
            storageDirectory, storageLayout, duplicatePolicy, uidPolicy,
            indexDatabase, scanOnly,
            maxPDU, maxAssociations, acseTimeout, idleTimeout, shutdownGracePeriod, movePendingInterval,
            maxUnassociated,
            httpPort, httpBind,
        ] + tlsScalars + metricsScalars + httpServingScalars

    /// Keys whose value is a list.
    public static let lists: [String] = DICOMService.allCases.map(allowed) + [httpCORSOrigins]

    /// Every key a config file may hold, dotted; `<AE>` stands for any peer's AE title.
    public static let knownKeys: [String] =
        scalars + lists + ["peers.<AE>.host", "peers.<AE>.port", "peers.<AE>.tls", tlsIdentities]

    /// The `QRSCPD_*` variable for each key that has one (`QRSCPD_PEERS` and `QRSCPD_CONFIG`
    /// are handled apart: a peer list and the file's path).
    public static let environmentVariables: [String: String] = [
        port: "QRSCPD_PORT",
        aeTitle: "QRSCPD_AE_TITLE",
        bind: "QRSCPD_BIND",
        storageDirectory: "QRSCPD_STORAGE_DIR",
        storageLayout: "QRSCPD_STORAGE_LAYOUT",
        duplicatePolicy: "QRSCPD_DUPLICATES",
        uidPolicy: "QRSCPD_STORAGE_UID_POLICY",
        indexDatabase: "QRSCPD_INDEX_DB",
        logLevel: "QRSCPD_LOG_LEVEL",
        maxAssociations: "QRSCPD_MAX_ASSOCIATIONS",
        maxPDU: "QRSCPD_MAX_PDU",
        acseTimeout: "QRSCPD_ACSE_TIMEOUT",
        idleTimeout: "QRSCPD_TIMEOUT",
        shutdownGracePeriod: "QRSCPD_SHUTDOWN_GRACE",
        movePendingInterval: "QRSCPD_MOVE_PENDING_INTERVAL_MS",
        maxUnassociated: "QRSCPD_MAX_UNASSOCIATED",
        httpPort: "QRSCPD_HTTP_PORT",
        httpBind: "QRSCPD_HTTP_BIND",
    ].merging(tlsEnvironmentVariables) { old, _ in old }.merging(metricsEnvironmentVariables) { old, _ in old }
        .merging(httpServingEnvironmentVariables) { old, _ in old }
    public static let peersVariable = "QRSCPD_PEERS"
    public static let configVariable = "QRSCPD_CONFIG"

    /// The command-line spelling of each key that has an option (port and AE title are the
    /// positional arguments).
    public static let options: [String: String] = [
        port: "<port>",
        aeTitle: "<ae_title>",
        bind: "--bind",
        storageDirectory: "--storage-dir",
        indexDatabase: "--index-db",
        scanOnly: "--scan-only",
        logLevel: "--log-level",
        maxAssociations: "--max-assoc",
        maxPDU: "--max-pdu",
        acseTimeout: "--acse-timeout",
        idleTimeout: "--timeout",
        peersSection: "--peer",
        httpPort: "--http-port",
    ].merging(tlsOptions) { old, _ in old }.merging(metricsOptions) { old, _ in old }
        .merging(httpServingOptions) { old, _ in old }
}
