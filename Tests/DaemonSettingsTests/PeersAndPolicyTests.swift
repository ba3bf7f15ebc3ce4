// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import QRServer
import Testing

@Suite("Peers and allowed calling AE titles")
struct PeersAndPolicyTests {
    @Test func peersFromFile() throws {
        let path = try writeConfig(
            """
            port: 1
            ae_title: QR
            storage: {directory: /srv/dicom}
            peers:
              STORESCP: {host: 127.0.0.1, port: 11113}
              WS1:
                host: ws1.example
                port: 104
              MY.AE: {host: dotted.example, port: 1}
            """)
        let settings = try loader(config: path).load()
        #expect(
            settings.peers == [
                "STORESCP": PeerAddress(host: "127.0.0.1", port: 11113),
                "WS1": PeerAddress(host: "ws1.example", port: 104),
                "MY.AE": PeerAddress(host: "dotted.example", port: 1),
            ])
    }

    @Test func peerSpecs() throws {
        let plain = try SettingsValidation.peer("DEST:10.0.0.1:11112")
        #expect(plain.aeTitle == "DEST")
        #expect(plain.address == PeerAddress(host: "10.0.0.1", port: 11112))
        let v6 = try SettingsValidation.peer("DEST:[::1]:104")
        #expect(v6.address == PeerAddress(host: "::1", port: 104))
        #expect(plain.address.tls == false)
        for bad in [
            "DEST", "DEST:host", "DEST:host:0", "DEST:host:x", ":host:104", "THIS_TITLE_IS_TOO_LONG:h:1", "DEST::104",
            "DEST:host:104+", "DEST:host:104+ssl", "DEST:host:104+tls+tls", "DEST:host:+tls", "DEST:host+tls",
            "DEST:host:104 +tls",
        ] {
            #expect(throws: SettingsValidation.Failure.self, "\(bad)") { try SettingsValidation.peer(bad) }
        }
    }

    @Test func peerSpecsMarkTLS() throws {
        let tls = try SettingsValidation.peer("DEST:archive.example:2762+tls")
        #expect(tls.aeTitle == "DEST")
        #expect(tls.address == PeerAddress(host: "archive.example", port: 2762, tls: true))
        let v6 = try SettingsValidation.peer("DEST:[::1]:2762+TLS")
        #expect(v6.address == PeerAddress(host: "::1", port: 2762, tls: true))
        // '+' may be part of an AE title; only a suffix of the port marks TLS.
        let plus = try SettingsValidation.peer("A+B:h:104")
        #expect(plus.aeTitle == "A+B")
        #expect(plus.address == PeerAddress(host: "h", port: 104, tls: false))
    }

    @Test func flagAndEnvironmentPeersCanBeTLS() throws {
        var flags = CommandLineSettings()
        flags.peers = ["FLAGTLS:127.0.0.1:2762+tls", "FLAGPLAIN:127.0.0.1:104"]
        let environment = ["QRSCPD_PEERS": "ENVTLS:localhost:2763+tls, ENVPLAIN:localhost:105"]
        let path = try writeConfig("port: 1\nae_title: QR\nstorage: {directory: /srv/dicom}\n")
        let settings = try loader(flags: flags, config: path, environment: environment).load()
        #expect(
            settings.peers == [
                "FLAGTLS": PeerAddress(host: "127.0.0.1", port: 2762, tls: true),
                "FLAGPLAIN": PeerAddress(host: "127.0.0.1", port: 104, tls: false),
                "ENVTLS": PeerAddress(host: "localhost", port: 2763, tls: true),
                "ENVPLAIN": PeerAddress(host: "localhost", port: 105, tls: false),
            ])
        #expect(settings.hasTLSPeers)
    }

    /// A spec replaces the file's whole entry: `tls` included, both ways.
    @Test func peerSpecReplacesTheFileEntryTLSFlag() throws {
        let path = try writeConfig(
            """
            port: 1
            ae_title: QR
            storage: {directory: /srv/dicom}
            peers:
              WASTLS: {host: old.example, port: 2762, tls: true}
              WASPLAIN: {host: old.example, port: 104}
            """)
        var flags = CommandLineSettings()
        flags.peers = ["WASTLS:new.example:104"]
        let environment = ["QRSCPD_PEERS": "WASPLAIN:new.example:2762+tls"]
        let settings = try loader(flags: flags, config: path, environment: environment).load()
        #expect(
            settings.peers == [
                "WASTLS": PeerAddress(host: "new.example", port: 104, tls: false),
                "WASPLAIN": PeerAddress(host: "new.example", port: 2762, tls: true),
            ])
    }

    @Test func allowedAELookup() throws {
        let path = try writeConfig(
            """
            port: 1
            ae_title: QR
            storage: {directory: /srv/dicom}
            allowed_calling_ae_titles:
              echo: []
              find: [WS1, " WS2 "]
              store: [MODALITY]
              move:
            """)
        let configuration = try loader(config: path).load().serverConfiguration
        #expect(configuration.isAllowed(callingAE: "ANYONE", service: .echo), "empty list: open")
        #expect(configuration.isAllowed(callingAE: "ANYONE", service: .move), "blank: open")
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
