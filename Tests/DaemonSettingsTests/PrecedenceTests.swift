// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import Logging
import QRServer
import Testing

/// Flags over environment over file over defaults, for settings of every kind of value.
@Suite("Settings precedence")
struct PrecedenceTests {
    static let file = """
        port: 1104
        ae_title: FILEAE
        log_level: warning
        storage:
          directory: /file/storage
          duplicates: reject
        limits:
          max_associations: 5
          max_pdu: 65536
          move_pending_interval_ms: 2000
        peers:
          A: {host: file, port: 2}
          B: {host: file, port: 3}
        allowed_calling_ae_titles:
          find: [WS1, " WS2 "]
        """

    static let environment = [
        "QRSCPD_PORT": "2104", "QRSCPD_AE_TITLE": "ENVAE", "QRSCPD_LOG_LEVEL": "debug",
        "QRSCPD_STORAGE_DIR": "/env/storage", "QRSCPD_MAX_ASSOCIATIONS": "7", "QRSCPD_DUPLICATES": "replace",
        "QRSCPD_PEERS": "B:env:4, C:env:5", "QRSCPD_MOVE_PENDING_INTERVAL_MS": "0",
    ]

    static var flags: CommandLineSettings {
        var flags = CommandLineSettings()
        flags.port = 3104
        flags.logLevel = .error
        flags.maxAssociations = 9
        flags.peers = ["A:flag:1"]
        return flags
    }

    @Test func defaultsApplyWhenNothingElseSays() throws {
        let settings = try loader(config: writeConfig("port: 104\nae_title: QR\nstorage: {directory: /srv/dicom}\n"))
            .load()
        #expect(settings.logLevel == .info)
        #expect(settings.maxAssociations == 10, "the default of the tool qrscpd replaces")
        #expect(settings.serverConfiguration.maxAssociations == 10)
        #expect(settings.maxPDU == 262144)
        #expect(settings.acseTimeout == 30)
        #expect(settings.idleTimeout == 300, "the default of the tool qrscpd replaces")
        #expect(settings.serverConfiguration.idleTimeout == .seconds(300))
        #expect(settings.shutdownGracePeriod == 10)
        #expect(settings.movePendingInterval == 500)
        #expect(settings.serverConfiguration.movePendingInterval == .milliseconds(500))
        #expect(settings.bindAddress == "0.0.0.0")
        #expect(settings.indexDatabase == nil)
        #expect(!settings.scanOnly)
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
        #expect(settings.duplicatePolicy == .reject)
        #expect(settings.maxAssociations == 5)
        #expect(settings.maxPDU == 65536)
        #expect(settings.serverConfiguration.movePendingInterval == .seconds(2))
        #expect(settings.peers == ["A": PeerAddress(host: "file", port: 2), "B": PeerAddress(host: "file", port: 3)])
        #expect(settings.allowedCallingAETitles == [.find: ["WS1", "WS2"]])
        #expect(settings.acseTimeout == 30, "not in the file: the default")
        #expect(settings.configFile == path)
    }

    @Test func environmentOverridesFile() throws {
        let settings = try loader(config: writeConfig(Self.file), environment: Self.environment).load()
        #expect(settings.port == 2104)
        #expect(settings.aeTitle == "ENVAE")
        #expect(settings.logLevel == .debug)
        #expect(settings.storageDirectory == "/env/storage")
        #expect(settings.duplicatePolicy == .replace)
        #expect(settings.maxAssociations == 7)
        #expect(settings.serverConfiguration.movePendingInterval == .zero, "0: one pending per sub-operation")
        #expect(
            settings.peers == [
                "A": PeerAddress(host: "file", port: 2),
                "B": PeerAddress(host: "env", port: 4),
                "C": PeerAddress(host: "env", port: 5),
            ], "merged per AE title")
        #expect(settings.maxPDU == 65536, "not in the environment: the file's value")
        #expect(settings.allowedCallingAETitles == [.find: ["WS1", "WS2"]], "no variable: the file's value")
    }

    @Test func flagsOverrideEnvironmentAndFile() throws {
        let settings = try loader(flags: Self.flags, config: writeConfig(Self.file), environment: Self.environment)
            .load()
        #expect(settings.port == 3104)
        #expect(settings.logLevel == .error)
        #expect(settings.maxAssociations == 9)
        #expect(
            settings.peers == [
                "A": PeerAddress(host: "flag", port: 1),
                "B": PeerAddress(host: "env", port: 4),
                "C": PeerAddress(host: "env", port: 5),
            ])
        #expect(settings.aeTitle == "ENVAE", "no flag: the environment's value")
        #expect(settings.duplicatePolicy == .replace, "no flag: the environment's value")
        #expect(settings.maxPDU == 65536, "neither flag nor variable: the file's value")
        #expect(settings.acseTimeout == 30, "nowhere: the default")
    }

    /// Each setting that a flag, a variable and the file can all give, at each rank.
    @Test(arguments: [
        ("--max-pdu", "QRSCPD_MAX_PDU", "limits:\n  max_pdu: 8192\n"),
        ("--bind", "QRSCPD_BIND", "bind: 10.0.0.3\n"),
        ("--timeout", "QRSCPD_TIMEOUT", "limits:\n  idle_timeout: 33\n"),
        ("--acse-timeout", "QRSCPD_ACSE_TIMEOUT", "limits:\n  acse_timeout: 44\n"),
        ("--index-db", "QRSCPD_INDEX_DB", "index:\n  database: /file/index.sqlite\n"),
    ])
    func eachRankWins(option: String, variable: String, fileLine: String) throws {
        var flags = CommandLineSettings()
        let environment: [String: String]
        switch option {
        case "--max-pdu":
            flags.maxPDU = 4096
            environment = [variable: "16384"]
        case "--bind":
            flags.bindAddress = "10.0.0.1"
            environment = [variable: "10.0.0.2"]
        case "--timeout":
            flags.idleTimeout = 11
            environment = [variable: "22"]
        case "--acse-timeout":
            flags.acseTimeout = 11
            environment = [variable: "22"]
        default:
            flags.indexDatabase = "/flag/index.sqlite"
            environment = [variable: "/env/index.sqlite"]
        }
        let path = try writeConfig("port: 1\nae_title: QR\nstorage: {directory: /srv/dicom}\n" + fileLine)
        func value(_ s: DaemonSettings) -> String {
            switch option {
            case "--max-pdu": "\(s.maxPDU)"
            case "--bind": s.bindAddress
            case "--timeout": "\(s.idleTimeout)"
            case "--acse-timeout": "\(s.acseTimeout)"
            default: s.indexDatabase ?? "(memory)"
            }
        }
        let fromFlag = value(try loader(flags: flags, config: path, environment: environment).load())
        let fromEnvironment = value(try loader(config: path, environment: environment).load())
        let fromFile = value(try loader(config: path).load())
        let fromDefault = value(
            try loader(config: writeConfig("port: 1\nae_title: QR\nstorage: {directory: /srv/dicom}\n")).load())
        #expect(
            fromFlag != fromEnvironment && fromEnvironment != fromFile && fromFile != fromDefault,
            "\(option): \(fromFlag) / \(fromEnvironment) / \(fromFile) / \(fromDefault)")
        #expect(
            fromFlag
                == value(
                    try loader(
                        flags: flags, config: nil,
                        environment: ["QRSCPD_PORT": "1", "QRSCPD_AE_TITLE": "QR", "QRSCPD_STORAGE_DIR": "/srv"]
                    ).load()))
    }

    @Test func scanOnlyFromFileOrFlag() throws {
        let path = try writeConfig(
            "port: 1\nae_title: QR\nstorage: {directory: /srv/dicom}\nindex:\n  scan_only: true\n")
        #expect(try loader(config: path).load().scanOnly)
        var flags = CommandLineSettings()
        flags.scanOnly = true
        #expect(
            try loader(flags: flags, config: writeConfig("port: 1\nae_title: QR\nstorage: {directory: /srv/dicom}\n"))
                .load().scanOnly)
    }

    @Test func emptyEnvironmentVariablesCountAsUnset() throws {
        let settings = try loader(
            config: writeConfig(Self.file),
            environment: ["QRSCPD_PORT": "", "QRSCPD_LOG_LEVEL": "", "QRSCPD_PEERS": ""]
        ).load()
        #expect(settings.port == 1104)
        #expect(settings.logLevel == .warning)
        #expect(settings.peers.count == 2)
    }

    @Test func blankFileValuesCountAsUnset() throws {
        let path = try writeConfig("port: 104\nae_title: QR\nlog_level: ~\nlimits:\n  max_pdu:\nstorage:\npeers:\n")
        let settings = try loader(config: path, environment: ["QRSCPD_LOG_LEVEL": "", "QRSCPD_STORAGE_DIR": "/srv"])
            .load()
        #expect(settings.logLevel == .info)
        #expect(settings.maxPDU == 262144)
        #expect(settings.peers.isEmpty)
        let empty = try writeConfig("# only comments\n")
        #expect(
            try loader(
                config: empty, environment: ["QRSCPD_PORT": "5", "QRSCPD_AE_TITLE": "QR", "QRSCPD_STORAGE_DIR": "/srv"]
            ).load().port == 5)
    }

    @Test func missingPortOrAETitleIsAnError() throws {
        let noPort = try writeConfig("ae_title: QR\n")
        let noTitle = try writeConfig("port: 104\n")
        #expect(settingsError { () throws(SettingsError) in try loader(config: noPort).load() }?.key == "port")
        #expect(settingsError { () throws(SettingsError) in try loader(config: noTitle).load() }?.key == "ae_title")
        var flags = CommandLineSettings()
        flags.port = 104
        flags.aeTitle = "QR"
        flags.storageDirectory = "/srv/dicom"
        #expect(try loader(flags: flags, config: nil).load().aeTitle == "QR")
    }

    @Test func configPathChoice() throws {
        let existing = try writeConfig("port: 104\nae_title: QR\nstorage: {directory: /srv/dicom}\n")
        #expect(
            SettingsLoader(
                flags: .init(), explicitConfigPath: "/a.yaml", environment: ["QRSCPD_CONFIG": "/b.yaml"],
                defaultConfigPath: existing
            ).configPath == "/a.yaml")
        #expect(
            SettingsLoader(
                flags: .init(), explicitConfigPath: nil, environment: ["QRSCPD_CONFIG": "/b.yaml"],
                defaultConfigPath: existing
            ).configPath == "/b.yaml")
        #expect(
            SettingsLoader(flags: .init(), explicitConfigPath: nil, environment: [:], defaultConfigPath: existing)
                .configPath == existing)
        #expect(
            SettingsLoader(
                flags: .init(), explicitConfigPath: nil, environment: [:], defaultConfigPath: "/nonexistent/q.yaml"
            ).configPath == nil)
        // The default path, when it exists, is read.
        #expect(try SettingsLoader(flags: .init(), environment: [:], defaultConfigPath: existing).load().port == 104)
    }

    @Test func reloadReadsTheChangedFileAndKeepsFlagsAndEnvironment() throws {
        let path = try writeConfig(
            "port: 104\nae_title: QR\nstorage: {directory: /srv/dicom}\nlog_level: info\nlimits: {max_pdu: 8192}\n")
        var flags = CommandLineSettings()
        flags.maxAssociations = 3
        let loader = loader(flags: flags, config: path, environment: ["QRSCPD_LOG_LEVEL": "debug"])
        #expect(try loader.load().maxPDU == 8192)
        try
            "port: 104\nae_title: QR\nstorage: {directory: /srv/dicom}\nlog_level: info\nlimits: {max_pdu: 16384, max_associations: 9}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let reloaded = try loader.load()
        #expect(reloaded.maxPDU == 16384)
        #expect(reloaded.maxAssociations == 3)
        #expect(reloaded.logLevel == .debug)
    }

    @Test func serverConfigurationCarriesEverything() throws {
        let path = try writeConfig(
            """
            port: 104
            ae_title: QR
            limits: {idle_timeout: 60, acse_timeout: 5, max_pdu: 32768, max_associations: 4}
            storage: {directory: /srv/dicom, layout: flat, duplicates: reject}
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
