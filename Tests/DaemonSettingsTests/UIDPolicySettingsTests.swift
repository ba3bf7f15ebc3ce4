// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import Testing

/// `storage.uid_policy` (QRSCPD_STORAGE_UID_POLICY): strict by default, lenient on request,
/// anything else refused with the choices named; it reaches the server's store settings.
@Suite("Settings: storage.uid_policy")
struct UIDPolicySettingsTests {
    @Test func strictByDefaultLenientFromFileOrEnvironment() throws {
        let plain = try loader(config: writeConfig("port: 104\nae_title: QR\nstorage: {directory: /srv/dicom}\n"))
            .load()
        #expect(plain.uidPolicy == .strict)
        #expect(plain.serverConfiguration.store.uidPolicy == .strict)

        let file = try writeConfig(
            "port: 104\nae_title: QR\nstorage:\n  directory: /srv/dicom\n  uid_policy: lenient\n")
        let fromFile = try loader(config: file).load()
        #expect(fromFile.uidPolicy == .lenient)
        #expect(fromFile.serverConfiguration.store.uidPolicy == .lenient)

        let fromEnvironment = try loader(config: file, environment: ["QRSCPD_STORAGE_UID_POLICY": "strict"]).load()
        #expect(fromEnvironment.uidPolicy == .strict)
    }

    @Test func unknownPolicyIsRefused() throws {
        let path = try writeConfig("port: 104\nae_title: QR\nstorage: {directory: /srv/dicom}\n")
        let error = try #require(
            settingsError { () throws(SettingsError) in
                try loader(config: path, environment: ["QRSCPD_STORAGE_UID_POLICY": "loose"]).load()
            })
        #expect(
            error.description == "environment: QRSCPD_STORAGE_UID_POLICY: must be one of strict, lenient; got 'loose'")
    }
}
