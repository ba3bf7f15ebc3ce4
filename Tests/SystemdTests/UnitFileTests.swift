// SPDX-License-Identifier: Apache-2.0
// systemd/qrscpd.{service,socket} pass systemd-analyze.
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let systemdAnalyze = which("systemd-analyze")

/// systemd-analyze's path; under CI its absence fails the test (the trait lets the test run there).
private func requireSystemdAnalyze() throws -> String {
    try #require(systemdAnalyze, "systemd-analyze (Debian package systemd) is not installed: run scripts/setup --test")
}

/// Copies of the unit files with ExecStart= pointing at /bin/true (verify needs an existing
/// binary; the real one is installed later).
private func stagedUnits() throws -> (dir: String, service: String, socket: String) {
    let source = repositoryRoot.appendingPathComponent("systemd")
    let service = try String(contentsOf: source.appendingPathComponent("qrscpd.service"), encoding: .utf8)
    let socket = try String(contentsOf: source.appendingPathComponent("qrscpd.socket"), encoding: .utf8)
    #expect(service.contains("\nExecStart=/usr/sbin/qrscpd "))
    let substituted = service.replacingOccurrences(of: "\nExecStart=/usr/sbin/qrscpd ", with: "\nExecStart=/bin/true ")
    let dir = try makeTemporaryDirectory()
    do {
        try substituted.write(toFile: dir + "/qrscpd.service", atomically: true, encoding: .utf8)
        try socket.write(toFile: dir + "/qrscpd.socket", atomically: true, encoding: .utf8)
    } catch {
        // The caller removes the directory only once it has it.
        removeTree(dir)
        throw error
    }
    return (dir, dir + "/qrscpd.service", dir + "/qrscpd.socket")
}

@Suite struct UnitFileTests {
    @Test(.enabled(if: systemdAnalyze != nil || InteropPolicy.isCI, "needs systemd-analyze (Debian package systemd)"))
    func unitsVerifyCleanly() throws {
        let units = try stagedUnits()
        defer { removeTree(units.dir) }
        let result = try runChild([try requireSystemdAnalyze(), "verify", "--man=no", units.service, units.socket])
        #expect(result.status == 0, "\(result.output)")
        // Warnings about our units (unknown keys are only warnings); other units' noise is not ours.
        let ours = result.output.split(separator: "\n").filter { $0.contains("qrscpd") }
        #expect(ours.isEmpty, "verify warnings:\n\(result.output)")
    }

    @Test(.enabled(if: systemdAnalyze != nil || InteropPolicy.isCI, "needs systemd-analyze (Debian package systemd)"))
    func verifyCatchesABrokenUnit() throws {
        let units = try stagedUnits()
        defer { removeTree(units.dir) }
        let broken = try String(contentsOfFile: units.service, encoding: .utf8)
            .replacingOccurrences(of: "\nExecStart=/bin/true ", with: "\nExecStart=/nonexistent/qrscpd ")
        try broken.write(toFile: units.service, atomically: true, encoding: .utf8)
        let result = try runChild([try requireSystemdAnalyze(), "verify", "--man=no", units.service, units.socket])
        #expect(result.status != 0)
    }

    @Test(.enabled(if: systemdAnalyze != nil || InteropPolicy.isCI, "needs systemd-analyze (Debian package systemd)"))
    func securityExposureStaysOK() throws {
        let units = try stagedUnits()
        defer { removeTree(units.dir) }
        // --threshold is the exposure times ten: 15 → fail above 1.5 (issue 16's bound; "OK").
        let result = try runChild([
            try requireSystemdAnalyze(), "security", "--offline=yes", "--threshold=15", units.service,
        ])
        #expect(result.status == 0, "\(result.output.suffix(2_000))")
        let overall = result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let recorded = try String(
            contentsOf: repositoryRoot.appendingPathComponent("systemd/SECURITY.txt"), encoding: .utf8)
        #expect(overall.map { recorded.contains($0) } == true, "systemd/SECURITY.txt is stale: \(overall ?? "")")
    }

    @Test func serviceCarriesTheDesignCardSettings() throws {
        let service = try String(
            contentsOf: repositoryRoot.appendingPathComponent("systemd/qrscpd.service"), encoding: .utf8)
        let lines = Set(service.split(separator: "\n").map(String.init))
        for expected in [
            "Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=30s", "Restart=on-failure",
            "RestartSec=2s", "DynamicUser=yes", "StateDirectory=qrscpd", "ConfigurationDirectory=qrscpd",
            "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallFilter=@system-service",
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        ] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
        #expect(lines.contains { $0.hasPrefix("TimeoutStopSec=") })
        let socket = try String(
            contentsOf: repositoryRoot.appendingPathComponent("systemd/qrscpd.socket"), encoding: .utf8)
        let socketLines = Set(socket.split(separator: "\n").map(String.init))
        for expected in ["ListenStream=104", "Accept=no", "FileDescriptorName=dicom"] {
            #expect(socketLines.contains(expected), "missing \(expected)")
        }
    }

    /// The TLS port's socket is told apart by its name; the service documents the key as a
    /// credential and how to load the kernel's `tls` module at boot.
    @Test func tlsSocketAndServiceNotes() throws {
        let socket = try String(
            contentsOf: repositoryRoot.appendingPathComponent("systemd/qrscpd-tls.socket"), encoding: .utf8)
        let socketLines = Set(socket.split(separator: "\n").map(String.init))
        for expected in ["ListenStream=2762", "Accept=no", "FileDescriptorName=dicom-tls", "Service=qrscpd.service"] {
            #expect(socketLines.contains(expected), "missing \(expected)")
        }
        let service = try String(
            contentsOf: repositoryRoot.appendingPathComponent("systemd/qrscpd.service"), encoding: .utf8)
        #expect(service.contains("#LoadCredential=qrscpd.key:"))
        #expect(service.contains("/etc/modules-load.d/"))
        if let systemdAnalyze {
            let units = try stagedUnits()
            defer { removeTree(units.dir) }
            try socket.write(toFile: units.dir + "/qrscpd-tls.socket", atomically: true, encoding: .utf8)
            let result = try runChild([
                systemdAnalyze, "verify", "--man=no", units.service, units.dir + "/qrscpd-tls.socket",
            ])
            #expect(result.status == 0, "\(result.output)")
            let ours = result.output.split(separator: "\n").filter { $0.contains("qrscpd") }
            #expect(ours.isEmpty, "verify warnings:\n\(result.output)")
        } else if InteropPolicy.isCI {
            Issue.record("systemd-analyze (Debian package systemd) is not installed: run scripts/setup --test")
        }
    }
}
