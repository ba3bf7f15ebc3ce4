// SPDX-License-Identifier: Apache-2.0
import Configuration
import DICOM
import Logging
import QRServer

/// Reads every setting through one swift-configuration `ConfigReader` whose providers are the
/// sources in precedence order, then checks each value, naming the source that gave it when
/// it is wrong.
struct SettingsResolver {
    let sources: [SettingsSource]
    /// Peer AE titles any source mentions; the reader resolves each peer's host and port.
    let peerTitles: [String]
    private let reader: ConfigReader
    private let recorder = AccessRecorder()

    init(sources: [SettingsSource], peerTitles: [String]) {
        self.sources = sources
        self.peerTitles = peerTitles
        reader = ConfigReader(providers: sources.map(\.provider), accessReporter: recorder)
    }

    func resolve(configFile: String?) throws(SettingsError) -> DaemonSettings {
        // Every value is read and checked before a missing port or AE title is reported, so
        // that a bad file is reported as such even when it lacks them.
        let port = try int(SettingsKeys.port, SettingsValidation.port)
        let aeTitle = try string(SettingsKeys.aeTitle, SettingsValidation.aeTitle)
        let storageDirectory = try string(SettingsKeys.storageDirectory, SettingsValidation.nonEmpty)
        var settings = DaemonSettings(port: port ?? 0, aeTitle: aeTitle ?? "", storageDirectory: storageDirectory ?? "")
        settings.configFile = configFile
        settings.bindAddress = try required(string(SettingsKeys.bind, SettingsValidation.host), SettingsKeys.bind)
        settings.storageLayout = try required(
            choice(SettingsKeys.storageLayout, StorageLayout.self), SettingsKeys.storageLayout)
        settings.duplicatePolicy = try required(
            choice(SettingsKeys.duplicatePolicy, DuplicatePolicy.self), SettingsKeys.duplicatePolicy)
        settings.uidPolicy = try required(choice(SettingsKeys.uidPolicy, UIDPolicy.self), SettingsKeys.uidPolicy)
        settings.indexDatabase = try indexDatabase()
        settings.scanOnly = try required(bool(SettingsKeys.scanOnly), SettingsKeys.scanOnly)
        settings.logLevel = try required(logLevel(), SettingsKeys.logLevel)
        settings.maxAssociations = try required(
            int(SettingsKeys.maxAssociations, SettingsValidation.atLeast(1)), SettingsKeys.maxAssociations)
        settings.maxPDU = try required(int(SettingsKeys.maxPDU, SettingsValidation.maxPDU), SettingsKeys.maxPDU)
        settings.acseTimeout = try required(
            int(SettingsKeys.acseTimeout, SettingsValidation.atLeast(1)), SettingsKeys.acseTimeout)
        settings.idleTimeout = try required(
            int(SettingsKeys.idleTimeout, SettingsValidation.atLeast(0)), SettingsKeys.idleTimeout)
        settings.shutdownGracePeriod = try required(
            int(SettingsKeys.shutdownGracePeriod, SettingsValidation.atLeast(0)), SettingsKeys.shutdownGracePeriod)
        settings.movePendingInterval = try required(
            int(SettingsKeys.movePendingInterval, SettingsValidation.atLeast(0)), SettingsKeys.movePendingInterval)
        settings.maxUnassociated = try required(
            int(SettingsKeys.maxUnassociated, SettingsValidation.atLeast(1)), SettingsKeys.maxUnassociated)
        for service in DICOMService.allCases {
            let titles = try required(aeTitleList(SettingsKeys.allowed(service)), SettingsKeys.allowed(service))
            if !titles.isEmpty { settings.allowedCallingAETitles[service] = titles }
        }
        settings.http.port = try int(SettingsKeys.httpPort, SettingsValidation.port)
        settings.http.bindAddress = try string(SettingsKeys.httpBind, SettingsValidation.host)
        settings.http.corsOrigins =
            try read(
                components(SettingsKeys.httpCORSOrigins),
                "must be a list of origins, e.g. [\"https://viewer.example.org\"]"
            ) { $0.stringArray(forKey: $1) }?.value ?? []
        for title in peerTitles {
            // Every source that names a peer gives both fields (the file check and the
            // AE:host:port syntax make sure), so both resolve.
            let host = try read(SettingsKeys.peer(title, "host"), "must be a host name or address") {
                $0.string(forKey: $1)
            }
            let port = try read(SettingsKeys.peer(title, "port"), "must be an integer") { $0.int(forKey: $1) }
            guard let host, let port else {
                throw SettingsError(source: "settings", key: "peers.\(title)", message: "needs both host and port")
            }
            let name = (try? SettingsValidation.aeTitle(title)) ?? title
            var address = PeerAddress(
                host: try check(host, SettingsValidation.host), port: try check(port, SettingsValidation.port))
            address.tls =
                try read(SettingsKeys.peer(title, "tls"), "must be true or false") { $0.bool(forKey: $1) }?.value
                ?? false
            settings.peers[name] = address
        }
        settings.tls = try tls()
        settings.metrics = try metrics(httpPort: settings.http.port)
        try httpServing(&settings.http, tls: settings.tls)
        guard port != nil else {
            throw SettingsError(
                source: "settings", key: SettingsKeys.port,
                message: "missing: give it as the first argument, in QRSCPD_PORT or as 'port:' in the config file")
        }
        guard aeTitle != nil else {
            throw SettingsError(
                source: "settings", key: SettingsKeys.aeTitle,
                message:
                    "missing: give it as the second argument, in QRSCPD_AE_TITLE or as 'ae_title:' in the config file")
        }
        guard storageDirectory != nil else { throw SettingsError.missingStorageDirectory }
        return settings
    }

    /// The index file, `nil` for an index in memory ("" in a source means in memory too).
    func indexDatabase() throws(SettingsError) -> String? {
        try string(SettingsKeys.indexDatabase) { $0 }.flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: - Reading one key

    /// A value the reader resolved, with the source that gave it and the key it was read as.
    struct Resolved<Value> {
        var value: Value
        var source: SettingsSource
        var key: [String]
    }

    /// Reads `key` with `get` and finds the source that answered from the access event. A
    /// value the library could not convert to the asked type is an error from that source.
    func read<Value>(
        _ key: [String],
        _ expectation: String,
        _ get: (ConfigReader, ConfigKey) -> Value?
    ) throws(SettingsError) -> Resolved<Value>? {
        _ = recorder.take()
        let value = get(reader, ConfigKey(key))
        // The providers are asked in order until one has a value or fails: the last one asked
        // is the one that answered, if any did.
        guard let event = recorder.take(), let index = event.providerResults.indices.last, index < sources.count else {
            return nil
        }
        let source = sources[index]
        if case .failure = event.providerResults[index].result {
            throw source.error(key, message(expectation, source.text(key)))
        }
        if event.conversionError != nil {
            throw source.error(key, message(expectation, source.text(key)))
        }
        return value.map { Resolved(value: $0, source: source, key: key) }
    }

    private func message(_ expectation: String, _ text: String?) -> String {
        // "must be one of a, b; got 'c'": a semicolon where the expectation is itself a list.
        text.map { "\(expectation)\(expectation.contains(",") ? ";" : ",") got '\($0)'" } ?? expectation
    }

    func check<Value, Result>(_ resolved: Resolved<Value>, _ rule: (Value) throws(SettingsValidation.Failure) -> Result)
        throws(SettingsError) -> Result
    {
        do {
            return try rule(resolved.value)
        } catch {
            throw resolved.source.error(resolved.key, error.message)
        }
    }

    /// Settings with a default always resolve; `nil` would mean the defaults lack the key.
    private func required<Value>(_ value: Value?, _ key: String) throws(SettingsError) -> Value {
        guard let value else {
            throw SettingsError(
                source: "defaults", key: key, message: "no value (a bug: every such setting has a default)")
        }
        return value
    }

    func components(_ key: String) -> [String] { key.split(separator: ".").map(String.init) }

    func int<Result>(_ key: String, _ rule: (Int) throws(SettingsValidation.Failure) -> Result) throws(SettingsError)
        -> Result?
    {
        try read(components(key), "must be an integer") { $0.int(forKey: $1) }.map { r throws(SettingsError) in
            try check(r, rule)
        }
    }

    func string<Result>(_ key: String, _ rule: (String) throws(SettingsValidation.Failure) -> Result)
        throws(SettingsError) -> Result?
    {
        try read(components(key), "must be a single value") { $0.string(forKey: $1) }.map { r throws(SettingsError) in
            try check(r, rule)
        }
    }

    func bool(_ key: String) throws(SettingsError) -> Bool? {
        try read(components(key), "must be true or false") { $0.bool(forKey: $1) }?.value
    }

    func choice<Choice: RawRepresentable<String> & CaseIterable>(_ key: String, _ type: Choice.Type)
        throws(SettingsError) -> Choice?
    {
        let expectation = "must be one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))"
        return try read(components(key), expectation) { $0.string(forKey: $1, as: Choice.self) }?.value
    }

    private func logLevel() throws(SettingsError) -> Logger.Level? {
        try read(components(SettingsKeys.logLevel), "must be one of \(SettingsValidation.logLevels)") {
            $0.string(forKey: $1, as: Logger.Level.self)
        }?.value
    }

    private func aeTitleList(_ key: String) throws(SettingsError) -> Set<String>? {
        guard
            let list = try read(
                components(key), "must be a list of AE titles, e.g. [MODALITY1, WORKSTATION]",
                { $0.stringArray(forKey: $1) })
        else { return nil }
        var titles = Set<String>()
        for title in list.value {
            titles.insert(
                try check(Resolved(value: title, source: list.source, key: list.key), SettingsValidation.aeTitle))
        }
        return titles
    }
}
