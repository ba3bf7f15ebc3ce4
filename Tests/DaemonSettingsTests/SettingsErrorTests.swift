// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import Testing

/// Bad values and unknown keys name the file, the line and the dotted key; bad variables
/// and options name themselves.
@Suite("Settings errors")
struct SettingsErrorTests {
    /// (file text, the dotted key the error must name)
    static let badValues: [(String, String)] = [
        ("port: 0", "port"),
        ("port: 70000", "port"),
        ("port: http", "port"),
        ("port: [1, 2]", "port"),
        ("ae_title: THIS_TITLE_IS_TOO_LONG", "ae_title"),
        ("ae_title: 'A\\\\B'", "ae_title"),
        ("bind: 'two words'", "bind"),
        ("log_level: loud", "log_level"),
        ("storage: {directory: ''}", "storage.directory"),
        ("storage: {layout: tree}", "storage.layout"),
        ("storage: {duplicates: merge}", "storage.duplicates"),
        ("storage: 5", "storage"),
        ("index: {scan_only: maybe}", "index.scan_only"),
        ("limits: {max_pdu: 100}", "limits.max_pdu"),
        ("limits: {max_associations: 0}", "limits.max_associations"),
        ("limits: {acse_timeout: 0}", "limits.acse_timeout"),
        ("limits: {idle_timeout: -1}", "limits.idle_timeout"),
        ("limits: {shutdown_grace_period: -5}", "limits.shutdown_grace_period"),
        ("limits: {move_pending_interval_ms: -1}", "limits.move_pending_interval_ms"),
        ("limits: {max_associations: many}", "limits.max_associations"),
        ("limits: {max_pdu: {a: 1}}", "limits.max_pdu"),
        ("allowed_calling_ae_titles: {find: WS1}", "allowed_calling_ae_titles.find"),
        ("allowed_calling_ae_titles: {find: [TOO_LONG_AE_TITLE_X]}", "allowed_calling_ae_titles.find"),
        ("allowed_calling_ae_titles: {find: [~]}", "allowed_calling_ae_titles.find"),
        ("peers: {DEST: {host: 10.0.0.1, port: 0}}", "peers.DEST.port"),
        ("peers: {DEST: {host: 10.0.0.1, port: x}}", "peers.DEST.port"),
        ("peers: {DEST: {host: 'a b', port: 1}}", "peers.DEST.host"),
        ("peers: {DEST: {host: 10.0.0.1}}", "peers.DEST.port"),
        ("peers: {DEST: {port: 104}}", "peers.DEST.host"),
        ("peers: {DEST: 'x:1'}", "peers.DEST"),
        ("peers: {THIS_TITLE_IS_TOO_LONG: {host: h, port: 1}}", "peers.THIS_TITLE_IS_TOO_LONG"),
    ]

    @Test(arguments: 0..<badValues.count)
    func badValueNamesKeyFileAndLine(index: Int) throws {
        let (text, key) = Self.badValues[index]
        let path = try writeConfig("# a test file\n# with comments\n" + text + "\n")
        let fileOnly = try #require(
            settingsError { () throws(SettingsError) in try loader(config: path).load() }, "accepted: \(text)")
        #expect(fileOnly.source == path)
        #expect(fileOnly.key == key, "\(fileOnly)")
        #expect(fileOnly.line == 3, "\(fileOnly)")
        #expect(fileOnly.description.hasPrefix("\(path):3: \(key): "), "\(fileOnly)")
        #expect(!fileOnly.description.contains("\n"))
    }

    @Test func messagesSayWhatIsWrong() throws {
        func message(_ text: String) throws -> String {
            let path = try writeConfig("port: 104\nae_title: QR\n" + text + "\n")
            return settingsError { () throws(SettingsError) in try loader(config: path).load() }?.message
                ?? "(accepted)"
        }
        #expect(try message("limits: {max_associations: many}") == "must be an integer, got 'many'")
        #expect(try message("limits: {max_associations: 0}") == "must be at least 1, got 0")
        #expect(try message("storage: {duplicates: merge}") == "must be one of keep, replace, reject; got 'merge'")
        #expect(
            try message("log_level: loud")
                == "must be one of trace, debug, info, notice, warning, error, critical; got 'loud'")
        #expect(try message("index: {scan_only: maybe}") == "must be true or false, got 'maybe'")
        #expect(try message("limits: {max_pdu: [1]}") == "must be a single value, not a list or mapping")
    }

    static let unknownKeys: [(String, String)] = [
        ("max_assoc: 3", "max_assoc"),
        ("limits: {max_assoc: 3}", "limits.max_assoc"),
        ("storage: {dir: /x}", "storage.dir"),
        ("index: {file: /x}", "index.file"),
        ("allowed_calling_ae_titles: {query: [A]}", "allowed_calling_ae_titles.query"),
        ("peers: {DEST: {host: h, port: 1, secure: true}}", "peers.DEST.secure"),
    ]

    @Test(arguments: 0..<unknownKeys.count)
    func unknownKeysAreRejected(index: Int) throws {
        let (text, key) = Self.unknownKeys[index]
        let path = try writeConfig("# a test file\n# with comments\n" + text + "\n")
        let error = try #require(
            settingsError { () throws(SettingsError) in try loader(config: path).load() }, "accepted: \(text)")
        #expect(error.key == key)
        #expect(error.source == path)
        #expect(error.line == 3)
        #expect(error.message.contains("unknown"))
    }

    @Test func invalidYAMLNamesTheFile() throws {
        let path = try writeConfig("port: [\n")
        let error = try #require(settingsError { () throws(SettingsError) in try loader(config: path).load() })
        #expect(error.description.hasPrefix("\(path): not valid YAML"))
        #expect(!error.description.contains("\n"))
    }

    @Test func topLevelMustBeAMapping() throws {
        let path = try writeConfig("- a\n- b\n")
        let error = try #require(settingsError { () throws(SettingsError) in try loader(config: path).load() })
        #expect(error.description == "\(path):1: the top level must be a mapping of settings")
    }

    @Test func explicitConfigThatDoesNotExistIsAnError() throws {
        let error = try #require(
            settingsError { () throws(SettingsError) in try loader(config: "/nonexistent/dir/qrscpd.yaml").load() })
        #expect(
            error.description == "/nonexistent/dir/qrscpd.yaml: cannot read the config file: No such file or directory")
    }

    /// (variable, bad value, message)
    static let badVariables: [(String, String, String)] = [
        ("QRSCPD_MAX_ASSOCIATIONS", "0", "must be at least 1, got 0"),
        ("QRSCPD_MAX_ASSOCIATIONS", "lots", "must be an integer, got 'lots'"),
        ("QRSCPD_PORT", "99999", "must be between 1 and 65535, got 99999"),
        (
            "QRSCPD_AE_TITLE", "THIS_TITLE_IS_TOO_LONG",
            "AE title must be 1-16 printable ASCII characters without backslash, got 'THIS_TITLE_IS_TOO_LONG'"
        ),
        ("QRSCPD_LOG_LEVEL", "loud", "must be one of trace, debug, info, notice, warning, error, critical; got 'loud'"),
        ("QRSCPD_DUPLICATES", "merge", "must be one of keep, replace, reject; got 'merge'"),
        ("QRSCPD_STORAGE_LAYOUT", "tree", "must be one of hierarchical, flat; got 'tree'"),
        ("QRSCPD_MAX_PDU", "100", "must be between 4096 and 16777216, got 100"),
        ("QRSCPD_TIMEOUT", "-1", "must be at least 0, got -1"),
        ("QRSCPD_SHUTDOWN_GRACE", "soon", "must be an integer, got 'soon'"),
        ("QRSCPD_MOVE_PENDING_INTERVAL_MS", "-5", "must be at least 0, got -5"),
        ("QRSCPD_BIND", "a b", "host must be a name or address without spaces, got 'a b'"),
        ("QRSCPD_PEERS", "A:b", "peer must be AE:host:port or AE:host:port+tls, got 'A:b'"),
        ("QRSCPD_PEERS", "A:h:104+ssl", "peer suffix must be +tls, got '+ssl' in 'A:h:104+ssl'"),
        ("QRSCPD_PEERS", "A:h:1,B:h:0", "must be between 1 and 65535, got 0"),
    ]

    @Test(arguments: 0..<badVariables.count)
    func badEnvironmentVariableNamesIt(index: Int) throws {
        let (variable, value, message) = Self.badVariables[index]
        // The file has a good value for the same setting: the variable still wins, and fails.
        let path = try writeConfig("port: 104\nae_title: QR\nlimits: {max_associations: 3}\n")
        let error = try #require(
            settingsError { () throws(SettingsError) in try loader(config: path, environment: [variable: value]).load()
            }, "accepted \(variable)=\(value)")
        #expect(error.description == "environment: \(variable): \(message)")
    }

    @Test func badPeerFlagNamesTheOption() throws {
        var flags = CommandLineSettings()
        flags.peers = ["DEST:host:0"]
        let error = try #require(
            settingsError { () throws(SettingsError) in
                try loader(flags: flags, config: nil, environment: ["QRSCPD_PORT": "1", "QRSCPD_AE_TITLE": "QR"]).load()
            })
        #expect(error.description == "command line: --peer: must be between 1 and 65535, got 0")
    }

    @Test func shippedConfigFileLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("etc/qrscpd/qrscpd.yaml").path
        let settings = try loader(config: path).load()
        #expect(settings.port == 104)
        #expect(settings.aeTitle == "QRSCPD")
        #expect(settings.storageDirectory == "/var/lib/qrscpd/storage")
        #expect(settings.indexDatabase == "/var/lib/qrscpd/index.sqlite")
        #expect(settings.maxAssociations == 32, "the shipped file allows more than the default, and says why")
        #expect(settings.idleTimeout == 300)
        #expect(settings.allowedCallingAETitles.isEmpty)
        // Every setting is present in the shipped file.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in SettingsKeys.knownKeys where !key.hasPrefix("peers.") {
            let leaf = String(key.split(separator: ".").last!)
            #expect(text.contains("\(leaf):"), "\(key) missing from the shipped file")
        }
        // Every variable is documented in it.
        for variable in SettingsKeys.environmentVariables.values {
            #expect(text.contains(variable), "\(variable) not mentioned in the shipped file")
        }
    }
}
