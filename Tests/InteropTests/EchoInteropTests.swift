// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// C-ECHO against the daemon started as a real process, with DCMTK and pynetdicom as peers.
@Suite("C-ECHO with real peers", .serialized, .enabled(if: ExternalTool.interopEnabled))
struct EchoInteropTests {
    @Test("DCMTK echoscu gets a successful C-ECHO")
    func dcmtkEchoscu() throws {
        guard ExternalTool.require("/usr/bin/echoscu") else { return }
        let daemon = try DaemonProcess()
        let result = ExternalTool.run(
            "/usr/bin/echoscu", ["-v", "-aec", daemon.aeTitle, "127.0.0.1", "\(daemon.port)"])
        #expect(result.succeeded, "\(result.transcript)\n--- daemon\n\(daemon.log)")
        #expect(result.stdout.contains("Success") || result.stderr.contains("Success"), "\(result.transcript)")
        #expect(daemon.stop() == 0)
    }

    @Test("pynetdicom echoscu gets a successful C-ECHO")
    func pynetdicomEchoscu() throws {
        #expect(ExternalTool.pythonHas("pynetdicom"), "pynetdicom is not installed (run scripts/setup --test)")
        let daemon = try DaemonProcess()
        let result = ExternalTool.run(
            "/usr/bin/env",
            [
                "python3", "-m", "pynetdicom", "echoscu", "-aec", daemon.aeTitle, "-d", "127.0.0.1", "\(daemon.port)",
            ])
        #expect(result.succeeded, "\(result.transcript)\n--- daemon\n\(daemon.log)")
        #expect((result.stdout + result.stderr).contains("Status: 0x0000"), "\(result.transcript)")
        #expect(daemon.stop() == 0)
    }

    @Test("Many C-ECHOs on one association and several associations in a row")
    func repeatedEchoes() throws {
        guard ExternalTool.require("/usr/bin/echoscu") else { return }
        let daemon = try DaemonProcess()
        let many = ExternalTool.run(
            "/usr/bin/echoscu", ["-aec", daemon.aeTitle, "--repeat", "200", "127.0.0.1", "\(daemon.port)"])
        #expect(many.succeeded, "\(many.transcript)")
        // An association that ends in A-ABORT instead of a release leaves the daemon serving.
        let aborted = ExternalTool.run(
            "/usr/bin/echoscu", ["-aec", daemon.aeTitle, "--abort", "127.0.0.1", "\(daemon.port)"])
        #expect(aborted.succeeded, "\(aborted.transcript)")
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log)")
        #expect(daemon.stop() == 0)
    }

    @Test("A wrong called AE title is rejected with 1/1/7 (UL-16)")
    func wrongCalledAE() throws {
        let daemon = try DaemonProcess(aeTitle: "QRSCPD")
        let (result, json) = ExternalTool.pythonPeer(
            "negotiation_probe.py", ["127.0.0.1", "\(daemon.port)", "NOT_US", "plain"])
        let outcome = try #require(json as? [String: Any], "\(result.transcript)")
        #expect(outcome["rejected"] as? Bool == true)
        let reject = try #require(outcome["reject"] as? [String: Any], "\(outcome)")
        #expect(reject["result"] as? Int == 1)
        #expect(reject["source"] as? Int == 1)
        #expect(reject["reason"] as? Int == 7)
        // Leading and trailing spaces of an AE title are not significant (UL-06).
        let padded = ExternalTool.run("/usr/bin/echoscu", ["-aec", " QRSCPD", "127.0.0.1", "\(daemon.port)"])
        #expect(padded.succeeded, "\(padded.transcript)")
        #expect(daemon.stop() == 0)
    }
}
