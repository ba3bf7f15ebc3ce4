import DaemonSettings
import Foundation
import Logging
import QRServer
import Testing

/// A config file in a fresh temporary directory.
private func writeConfig(_ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-settings-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("qrscpd.yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

private func loader(flags: SettingsLayer = SettingsLayer(), config: String?, environment: [String: String] = [:]) -> SettingsLoader {
    SettingsLoader(flags: flags, explicitConfigPath: config, environment: environment, defaultConfigPath: "/nonexistent/qrscpd.yaml")
}

@Suite("Settings precedence")
struct PrecedenceTests {
    static let file = """
        port: 1104
        ae_title: FILEAE
        log_level: warning
        storage:
          directory: /file/storage
        limits:
          max_associations: 5
          max_pdu: 65536
        """

    @Test func defaultsApplyWhenNothingElseSays() throws {
        let settings = try loader(config: writeConfig("port: 104\nae_title: QR\n")).load()
        #expect(settings.logLevel == .info)
        #expect(settings.maxAssociations == 32)
        #expect(settings.maxPDU == 262144)
        #expect(settings.acseTimeout == 30)
        #expect(settings.idleTimeout == 0)
        #expect(settings.shutdownGracePeriod == 10)
        #expect(settings.storageDirectory == ".")
        #expect(settings.bindAddress == "0.0.0.0")
        #expect(settings.indexDatabase == nil)
        #expect(settings.duplicatePolicy == .keep)
        #expect(settings.storageLayout == .hierarchical)
        #expect(settings.peers.isEmpty)
        #expect(settings.allowedCallingAETitles.isEmpty)
    }

    @Test func fileOverridesDefaults() throws {
        let path = try writeConfig(Self.file)
        let settings = try loader(config: path).load()
        #expect(settings.port == 1104)
        #expect(settings.aeTitle == "FILEAE")
        #expect(settings.logLevel == .warning)
        #expect(settings.storageDirectory == "/file/storage")
        #expect(settings.maxAssociations == 5)
        #expect(settings.maxPDU == 65536)
        #expect(settings.configFile == path)
    }

    @Test func environmentOverridesFile() throws {
        let environment = [
            "QRSCPD_PORT": "2104", "QRSCPD_AE_TITLE": "ENVAE", "QRSCPD_LOG_LEVEL": "debug",
            "QRSCPD_STORAGE_DIR": "/env/storage", "QRSCPD_MAX_ASSOCIATIONS": "7",
        ]
        let settings = try loader(config: writeConfig(Self.file), environment: environment).load()
        #expect(settings.port == 2104)
        #expect(settings.aeTitle == "ENVAE")
        #expect(settings.logLevel == .debug)
        #expect(settings.storageDirectory == "/env/storage")
        #expect(settings.maxAssociations == 7)
        #expect(settings.maxPDU == 65536, "not in the environment: the file's value")
    }

    @Test func flagsOverrideEnvironmentAndFile() throws {
        var flags = SettingsLayer()
        flags.port = 3104
        flags.logLevel = .error
        flags.maxAssociations = 9
        let environment = ["QRSCPD_PORT": "2104", "QRSCPD_LOG_LEVEL": "debug", "QRSCPD_MAX_ASSOCIATIONS": "7", "QRSCPD_AE_TITLE": "ENVAE"]
        let settings = try loader(flags: flags, config: writeConfig(Self.file), environment: environment).load()
        #expect(settings.port == 3104)
        #expect(settings.logLevel == .error)
        #expect(settings.maxAssociations == 9)
        #expect(settings.aeTitle == "ENVAE", "no flag: the environment's value")
        #expect(settings.storageDirectory == "/file/storage", "neither flag nor variable: the file's value")
    }

    @Test func emptyEnvironmentVariablesCountAsUnset() throws {
        let settings = try loader(config: writeConfig(Self.file), environment: ["QRSCPD_PORT": "", "QRSCPD_LOG_LEVEL": ""]).load()
        #expect(settings.port == 1104)
        #expect(settings.logLevel == .warning)
    }

    @Test func missingPortOrAETitleIsAnError() throws {
        #expect(throws: SettingsError.self) { try loader(config: writeConfig("ae_title: QR\n")).load() }
        let noTitle = try writeConfig("port: 104\n")
        do {
            _ = try loader(config: noTitle).load()
            Issue.record("no error")
        } catch {
            #expect(error.key == "ae_title")
        }
        var flags = SettingsLayer()
        flags.port = 104
        flags.aeTitle = "QR"
        #expect(try loader(flags: flags, config: nil).load().aeTitle == "QR")
    }

    @Test func configPathChoice() throws {
        let existing = try writeConfig("port: 104\nae_title: QR\n")
        #expect(SettingsLoader(flags: .init(), explicitConfigPath: "/a.yaml", environment: ["QRSCPD_CONFIG": "/b.yaml"], defaultConfigPath: existing).configPath == "/a.yaml")
        #expect(SettingsLoader(flags: .init(), explicitConfigPath: nil, environment: ["QRSCPD_CONFIG": "/b.yaml"], defaultConfigPath: existing).configPath == "/b.yaml")
        #expect(SettingsLoader(flags: .init(), explicitConfigPath: nil, environment: [:], defaultConfigPath: existing).configPath == existing)
        #expect(SettingsLoader(flags: .init(), explicitConfigPath: nil, environment: [:], defaultConfigPath: "/nonexistent/q.yaml").configPath == nil)
    }

    @Test func explicitConfigThatDoesNotExistIsAnError() throws {
        do {
            _ = try loader(config: "/nonexistent/dir/qrscpd.yaml").load()
            Issue.record("no error")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/dir/qrscpd.yaml: cannot read the config file"))
        }
    }

    @Test func serverConfigurationCarriesEverything() throws {
        let path = try writeConfig("""
            port: 104
            ae_title: QR
            limits: {idle_timeout: 60, acse_timeout: 5, max_pdu: 32768, max_associations: 4}
            storage: {layout: flat, duplicates: reject}
            peers: {DEST: {host: 10.0.0.1, port: 11112}}
            allowed_calling_ae_titles: {find: [WS1]}
            """)
        let configuration = try loader(config: path).load().serverConfiguration
        #expect(configuration.idleTimeout == .seconds(60))
        #expect(configuration.artimTimeout == .seconds(5))
        #expect(configuration.maxPDULength == 32768)
        #expect(configuration.maxAssociations == 4)
        #expect(configuration.storageLayout == .flat)
        #expect(configuration.duplicatePolicy == .reject)
        #expect(configuration.peers == ["DEST": PeerAddress(host: "10.0.0.1", port: 11112)])
        #expect(configuration.allowedCallingAETitles == [.find: ["WS1"]])
    }
}

@Suite("Settings file errors")
struct SettingsFileErrorTests {
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
        ("limits: {max_associations: many}", "limits.max_associations"),
        ("allowed_calling_ae_titles: {find: WS1}", "allowed_calling_ae_titles.find"),
        ("allowed_calling_ae_titles: {find: [TOO_LONG_AE_TITLE_X]}", "allowed_calling_ae_titles.find"),
        ("peers: {DEST: {host: 10.0.0.1, port: 0}}", "peers.DEST.port"),
        ("peers: {DEST: {host: 10.0.0.1}}", "peers.DEST.port"),
        ("peers: {DEST: {port: 104}}", "peers.DEST.host"),
        ("peers: {DEST: 'x:1'}", "peers.DEST"),
        ("peers: {THIS_TITLE_IS_TOO_LONG: {host: h, port: 1}}", "peers.THIS_TITLE_IS_TOO_LONG"),
    ]

    @Test(arguments: 0..<badValues.count)
    func badValueNamesKeyAndFile(index: Int) throws {
        let (text, key) = Self.badValues[index]
        let path = try writeConfig("# a test file\n# with comments\n" + text + "\n")
        do {
            _ = try loader(config: path).load()
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.source == path)
            #expect(error.key == key, "\(error)")
            #expect(error.line == 3, "\(error)")
            #expect(error.description.hasPrefix("\(path):3: \(key): "), "\(error)")
            #expect(!error.description.contains("\n"))
        }
    }

    static let unknownKeys: [(String, String)] = [
        ("max_assoc: 3", "max_assoc"),
        ("limits: {max_assoc: 3}", "limits.max_assoc"),
        ("storage: {dir: /x}", "storage.dir"),
        ("index: {file: /x}", "index.file"),
        ("allowed_calling_ae_titles: {query: [A]}", "allowed_calling_ae_titles.query"),
        ("peers: {DEST: {host: h, port: 1, tls: true}}", "peers.DEST.tls"),
    ]

    @Test(arguments: 0..<unknownKeys.count)
    func unknownKeysAreRejected(index: Int) throws {
        let (text, key) = Self.unknownKeys[index]
        let path = try writeConfig("# a test file\n# with comments\n" + text + "\n")
        do {
            _ = try loader(config: path).load()
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains(path))
            #expect(error.description.contains("unknown"))
        }
    }

    @Test func invalidYAMLNamesTheFile() throws {
        let path = try writeConfig("port: [\n")
        do {
            _ = try loader(config: path).load()
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("\(path): not valid YAML"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func topLevelMustBeAMapping() throws {
        #expect(throws: SettingsError.self) { try SettingsFile.parse("- a\n- b\n", path: "x.yaml") }
    }

    @Test func emptyFileAndNullValuesAreFine() throws {
        #expect(try SettingsFile.parse("", path: "x.yaml") == SettingsLayer())
        #expect(try SettingsFile.parse("# only comments\n", path: "x.yaml") == SettingsLayer())
        let layer = try SettingsFile.parse("port:\nlimits:\npeers:\nlog_level: ~\n", path: "x.yaml")
        #expect(layer.port == nil)
        #expect(layer.logLevel == nil)
        #expect(layer.peers == nil)
    }

    @Test func badEnvironmentVariableNamesIt() throws {
        do {
            _ = try loader(config: nil, environment: ["QRSCPD_PORT": "104", "QRSCPD_AE_TITLE": "QR", "QRSCPD_MAX_ASSOCIATIONS": "0"]).load()
            Issue.record("accepted")
        } catch {
            #expect(error.description == "environment: QRSCPD_MAX_ASSOCIATIONS: must be at least 1, got 0")
        }
        #expect(throws: SettingsError.self) { try EnvironmentSettings.parse(["QRSCPD_LOG_LEVEL": "loud"]) }
        #expect(throws: SettingsError.self) { try EnvironmentSettings.parse(["QRSCPD_PEERS": "A:b"]) }
    }

    @Test func shippedConfigFileLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("etc/qrscpd/qrscpd.yaml").path
        let settings = try loader(config: path).load()
        #expect(settings.port == 104)
        #expect(settings.aeTitle == "QRSCPD")
        #expect(settings.storageDirectory == "/var/lib/qrscpd/storage")
        #expect(settings.indexDatabase == "/var/lib/qrscpd/index.sqlite")
        #expect(settings.allowedCallingAETitles.isEmpty)
        // Every documented key is present in the shipped file.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for key in SettingsFile.knownKeys where !key.hasPrefix("peers.") {
            let leaf = String(key.split(separator: ".").last!)
            #expect(text.contains("\(leaf):"), "\(key) missing from the shipped file")
        }
    }
}

@Suite("Peers and allowed calling AE titles")
struct PeersAndPolicyTests {
    @Test func peersFromFile() throws {
        let layer = try SettingsFile.parse("""
            peers:
              STORESCP: {host: 127.0.0.1, port: 11113}
              WS1:
                host: ws1.example
                port: 104
            """, path: "x.yaml")
        #expect(layer.peers == ["STORESCP": PeerAddress(host: "127.0.0.1", port: 11113), "WS1": PeerAddress(host: "ws1.example", port: 104)])
    }

    @Test func peerSpecs() throws {
        let plain = try SettingsValidation.peer("DEST:10.0.0.1:11112")
        #expect(plain.aeTitle == "DEST")
        #expect(plain.address == PeerAddress(host: "10.0.0.1", port: 11112))
        let v6 = try SettingsValidation.peer("DEST:[::1]:104")
        #expect(v6.address == PeerAddress(host: "::1", port: 104))
        for bad in ["DEST", "DEST:host", "DEST:host:0", "DEST:host:x", ":host:104", "THIS_TITLE_IS_TOO_LONG:h:1", "DEST::104"] {
            #expect(throws: SettingsValidation.Failure.self, "\(bad)") { try SettingsValidation.peer(bad) }
        }
    }

    @Test func peersMergePerAETitleAcrossLayers() throws {
        var flags = SettingsLayer()
        flags.peers = ["A": PeerAddress(host: "flag", port: 1)]
        let path = try writeConfig("port: 1\nae_title: QR\npeers: {A: {host: file, port: 2}, B: {host: file, port: 3}}\n")
        let settings = try loader(flags: flags, config: path, environment: ["QRSCPD_PEERS": "B:env:4, C:env:5"]).load()
        #expect(settings.peers == [
            "A": PeerAddress(host: "flag", port: 1),
            "B": PeerAddress(host: "env", port: 4),
            "C": PeerAddress(host: "env", port: 5),
        ])
    }

    @Test func allowedAELookup() throws {
        let path = try writeConfig("""
            port: 1
            ae_title: QR
            allowed_calling_ae_titles:
              echo: []
              find: [WS1, " WS2 "]
              store: [MODALITY]
            """)
        let configuration = try loader(config: path).load().serverConfiguration
        #expect(configuration.isAllowed(callingAE: "ANYONE", service: .echo), "empty list: open")
        #expect(configuration.isAllowed(callingAE: "ANYONE", service: .get), "absent: open")
        #expect(configuration.isAllowed(callingAE: "WS1", service: .find))
        #expect(configuration.isAllowed(callingAE: "WS2 ", service: .find), "compared trimmed")
        #expect(!configuration.isAllowed(callingAE: "MODALITY", service: .find))
        #expect(configuration.isAllowed(callingAE: "MODALITY", service: .store))
        #expect(!configuration.isAllowed(callingAE: "WS1", service: .store))
        #expect(!configuration.restrictsCallingAETitles, "echo, get and move are open")
        #expect(configuration.isCallingAETitleKnown("ANYONE"))
    }

    @Test func callerAllowedForNoServiceIsUnknown() {
        var configuration = ServerConfiguration(port: 1, aeTitle: "QR", storageDirectory: ".")
        #expect(!configuration.restrictsCallingAETitles)
        for service in DICOMService.allCases { configuration.allowedCallingAETitles[service] = ["GOOD"] }
        configuration.allowedCallingAETitles[.find] = ["GOOD", "FINDER"]
        #expect(configuration.restrictsCallingAETitles)
        #expect(configuration.isCallingAETitleKnown("GOOD"))
        #expect(configuration.isCallingAETitleKnown("FINDER"))
        #expect(!configuration.isCallingAETitleKnown("BAD"))
        #expect(!configuration.isAllowed(callingAE: "FINDER", service: .store))
    }
}
