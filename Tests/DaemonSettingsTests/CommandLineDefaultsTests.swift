// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import Testing

/// The defaults and rules of the tool qrscpd replaces (issue 18): a storage directory from
/// some source, at most 10 associations, 300 s of idleness; and the index path alone, for
/// `qrscpd backup-index`.
@Suite("Defaults and required settings of the original tool")
struct CommandLineDefaultsTests {
    static let portAndTitle = ["QRSCPD_PORT": "104", "QRSCPD_AE_TITLE": "QR"]

    @Test func maxAssociationsAndIdleTimeoutDefaults() throws {
        var flags = CommandLineSettings()
        flags.storageDirectory = "/srv/dicom"
        let settings = try loader(flags: flags, config: nil, environment: Self.portAndTitle).load()
        #expect(settings.maxAssociations == 10)
        #expect(settings.idleTimeout == 300)
        #expect(settings.serverConfiguration.maxAssociations == 10)
        #expect(settings.serverConfiguration.idleTimeout == .seconds(300))
    }

    @Test func zeroTimeoutStillMeansNever() throws {
        var flags = CommandLineSettings()
        flags.storageDirectory = "/srv/dicom"
        flags.idleTimeout = 0
        let settings = try loader(flags: flags, config: nil, environment: Self.portAndTitle).load()
        #expect(settings.idleTimeout == 0)
        #expect(settings.serverConfiguration.idleTimeout == nil)
    }

    @Test func storageDirectoryMissingFromEverySourceIsAnError() throws {
        let file = try writeConfig("port: 104\nae_title: QR\nlimits: {max_associations: 3}\n")
        let error = try #require(settingsError { () throws(SettingsError) in try loader(config: file).load() })
        #expect(error == .missingStorageDirectory)
        #expect(error.message == "--storage-dir is required")
        #expect(error.source == "settings", "a usage error: printed with the usage")
        // A blank value in the file is not a value.
        let blank = try writeConfig("port: 104\nae_title: QR\nstorage:\n  directory:\n")
        #expect(
            settingsError { () throws(SettingsError) in try loader(config: blank).load() } == .missingStorageDirectory)
        let emptyVariable = settingsError { () throws(SettingsError) in
            try loader(config: nil, environment: Self.portAndTitle.merging(["QRSCPD_STORAGE_DIR": ""]) { $1 }).load()
        }
        #expect(emptyVariable == .missingStorageDirectory)
    }

    @Test func aMissingPortIsReportedBeforeAMissingStorageDirectory() throws {
        let error = settingsError { () throws(SettingsError) in
            try loader(config: nil, environment: ["QRSCPD_AE_TITLE": "QR"]).load()
        }
        #expect(error?.key == "port")
    }

    @Test func storageDirectoryFromEachSource() throws {
        var flags = CommandLineSettings()
        flags.storageDirectory = "/flag/storage"
        #expect(
            try loader(flags: flags, config: nil, environment: Self.portAndTitle).load().storageDirectory
                == "/flag/storage")
        let environment = Self.portAndTitle.merging(["QRSCPD_STORAGE_DIR": "/env/storage"]) { $1 }
        #expect(try loader(config: nil, environment: environment).load().storageDirectory == "/env/storage")
        let file = try writeConfig("port: 104\nae_title: QR\nstorage:\n  directory: /file/storage\n")
        #expect(try loader(config: file).load().storageDirectory == "/file/storage")
    }

    @Test func indexDatabaseAloneNeedsNoOtherSetting() throws {
        // No port, AE title or storage directory anywhere: backup-index still finds the index.
        let file = try writeConfig("index:\n  database: /file/index.sqlite\n")
        #expect(try loader(config: file).indexDatabase() == "/file/index.sqlite")
        #expect(
            try loader(config: file, environment: ["QRSCPD_INDEX_DB": "/env/index.sqlite"]).indexDatabase()
                == "/env/index.sqlite")
        var flags = CommandLineSettings()
        flags.indexDatabase = "/flag/index.sqlite"
        #expect(
            try loader(flags: flags, config: file, environment: ["QRSCPD_INDEX_DB": "/env/index.sqlite"])
                .indexDatabase() == "/flag/index.sqlite")
        #expect(try loader(config: nil).indexDatabase() == nil, "in memory: nothing to back up")
        #expect(try loader(config: writeConfig("index: {database: ''}\n")).indexDatabase() == nil)
        // A bad file is still reported as such.
        let bad = try writeConfig("index: {file: /x}\n")
        do {
            _ = try loader(config: bad).indexDatabase()
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.key == "index.file")
        }
    }
}
