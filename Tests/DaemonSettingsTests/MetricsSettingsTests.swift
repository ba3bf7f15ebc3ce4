// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import Testing

@Suite("metrics settings")
struct MetricsSettingsTests {
    static let base = """
        port: 1
        ae_title: QR
        storage: {directory: /srv/dicom}

        """

    @Test func offByDefaultWithALoopbackBind() throws {
        let settings = try loader(config: try writeConfig(Self.base)).load()
        #expect(settings.metrics.port == nil)
        #expect(!settings.metrics.hasOwnListener)
        #expect(settings.metrics.bindAddress == "127.0.0.1")
    }

    @Test func fileEnvironmentAndFlagInPrecedenceOrder() throws {
        let path = try writeConfig(Self.base + "metrics:\n  port: 9100\n  bind: 127.0.0.2\n")
        let file = try loader(config: path).load()
        #expect(file.metrics.port == 9100 && file.metrics.bindAddress == "127.0.0.2")
        let environment = try loader(
            config: path, environment: ["QRSCPD_METRICS_PORT": "9101", "QRSCPD_METRICS_BIND": "::1"]
        ).load()
        #expect(environment.metrics.port == 9101 && environment.metrics.bindAddress == "::1")
        var flags = CommandLineSettings()
        flags.metricsPort = 9102
        let flag = try loader(flags: flags, config: path, environment: ["QRSCPD_METRICS_PORT": "9101"]).load()
        #expect(flag.metrics.port == 9102)
    }

    @Test func badValuesNameTheirSource() throws {
        let path = try writeConfig(Self.base + "http:\n  port: 8080\nmetrics:\n  port: 8080\n")
        let same = try #require(settingsError { () throws(SettingsError) in try loader(config: path).load() })
        #expect(same.description.contains("metrics.port") && same.description.contains("http.port"), "\(same)")
        let plain = try writeConfig(Self.base)
        let zero = try #require(
            settingsError { () throws(SettingsError) in
                try loader(config: plain, environment: ["QRSCPD_METRICS_PORT": "0"]).load()
            })
        #expect(zero.description.contains("QRSCPD_METRICS_PORT"), "\(zero)")
    }
}
