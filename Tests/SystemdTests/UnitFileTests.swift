// SPDX-License-Identifier: Apache-2.0
// systemd/qrscpd.{service,socket} pass systemd-analyze; scripts/install.sh stages with DESTDIR.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let systemdAnalyze = which("systemd-analyze")

/// Copies of the unit files with ExecStart= pointing at /bin/true (verify needs an existing
/// binary; the real one is installed later).
private func stagedUnits() throws -> (dir: String, service: String, socket: String) {
    let source = repositoryRoot.appendingPathComponent("systemd")
    let service = try String(contentsOf: source.appendingPathComponent("qrscpd.service"), encoding: .utf8)
    let socket = try String(contentsOf: source.appendingPathComponent("qrscpd.socket"), encoding: .utf8)
    #expect(service.contains("\nExecStart=/usr/local/bin/qrscpd "))
    let substituted = service.replacingOccurrences(of: "\nExecStart=/usr/local/bin/qrscpd ", with: "\nExecStart=/bin/true ")
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
    @Test(.enabled(if: systemdAnalyze != nil, "needs systemd-analyze (Debian package systemd)"))
    func unitsVerifyCleanly() throws {
        let units = try stagedUnits()
        defer { removeTree(units.dir) }
        let result = try runChild([systemdAnalyze!, "verify", "--man=no", units.service, units.socket])
        #expect(result.status == 0, "\(result.output)")
        // Warnings about our units (unknown keys are only warnings); other units' noise is not ours.
        let ours = result.output.split(separator: "\n").filter { $0.contains("qrscpd") }
        #expect(ours.isEmpty, "verify warnings:\n\(result.output)")
    }

    @Test(.enabled(if: systemdAnalyze != nil, "needs systemd-analyze (Debian package systemd)"))
    func verifyCatchesABrokenUnit() throws {
        let units = try stagedUnits()
        defer { removeTree(units.dir) }
        let broken = try String(contentsOfFile: units.service, encoding: .utf8)
            .replacingOccurrences(of: "\nExecStart=/bin/true ", with: "\nExecStart=/nonexistent/qrscpd ")
        try broken.write(toFile: units.service, atomically: true, encoding: .utf8)
        let result = try runChild([systemdAnalyze!, "verify", "--man=no", units.service, units.socket])
        #expect(result.status != 0)
    }

    @Test(.enabled(if: systemdAnalyze != nil, "needs systemd-analyze (Debian package systemd)"))
    func securityExposureStaysOK() throws {
        let units = try stagedUnits()
        defer { removeTree(units.dir) }
        // --threshold is the exposure times ten: 20 → fail above 2.0 (we are at 1.4, "OK").
        let result = try runChild([systemdAnalyze!, "security", "--offline=yes", "--threshold=20", units.service])
        #expect(result.status == 0, "\(result.output.suffix(2_000))")
        let overall = result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let recorded = try String(contentsOf: repositoryRoot.appendingPathComponent("systemd/SECURITY.txt"), encoding: .utf8)
        #expect(overall.map { recorded.contains($0) } == true, "systemd/SECURITY.txt is stale: \(overall ?? "")")
    }

    @Test func serviceCarriesTheDesignCardSettings() throws {
        let service = try String(contentsOf: repositoryRoot.appendingPathComponent("systemd/qrscpd.service"), encoding: .utf8)
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
        let socket = try String(contentsOf: repositoryRoot.appendingPathComponent("systemd/qrscpd.socket"), encoding: .utf8)
        let socketLines = Set(socket.split(separator: "\n").map(String.init))
        for expected in ["ListenStream=104", "Accept=no", "FileDescriptorName=dicom"] {
            #expect(socketLines.contains(expected), "missing \(expected)")
        }
    }
}

@Suite struct InstallScriptTests {
    /// A copy of the parts of the repository install.sh reads, with a config to install.
    private func stageSourceTree(config: String?) throws -> String {
        let tree = try makeTemporaryDirectory()
        let fm = FileManager.default
        do {
            for dir in ["scripts", "systemd", "etc/qrscpd"] {
                try fm.createDirectory(atPath: tree + "/" + dir, withIntermediateDirectories: true)
            }
            for file in ["scripts/install.sh", "systemd/qrscpd.service", "systemd/qrscpd.socket"] {
                try fm.copyItem(atPath: repositoryRoot.appendingPathComponent(file).path, toPath: tree + "/" + file)
            }
            if let config {
                try config.write(toFile: tree + "/etc/qrscpd/qrscpd.yaml", atomically: true, encoding: .utf8)
            }
        } catch {
            // The caller removes the tree only once it has it.
            removeTree(tree)
            throw error
        }
        return tree
    }

    /// Runs `body` with a staged source tree (holding `config`, if any) and an empty DESTDIR;
    /// both are removed when it returns or throws.
    private func withStagedInstall(config: String?, _ body: (_ tree: String, _ destdir: String) throws -> Void) throws {
        let tree = try stageSourceTree(config: config)
        defer { removeTree(tree) }
        let destdir = try makeTemporaryDirectory()
        defer { removeTree(destdir) }
        try body(tree, destdir)
    }

    private func install(tree: String, destdir: String) throws -> ChildResult {
        try runChild(
            ["/bin/bash", tree + "/scripts/install.sh", "--binary", "/bin/true"],
            environment: ["DESTDIR": destdir],
            removing: ["UNITDIR"]
        )
    }

    @Test func stagesBinaryUnitsAndConfig() throws {
        try withStagedInstall(config: "port: 104\n") { tree, destdir in
            let result = try install(tree: tree, destdir: destdir)
            #expect(result.status == 0, "\(result.output)")
            let fm = FileManager.default
            #expect(fm.isExecutableFile(atPath: destdir + "/usr/local/bin/qrscpd"))
            #expect(fm.contentsEqual(atPath: destdir + "/etc/systemd/system/qrscpd.service",
                                     andPath: tree + "/systemd/qrscpd.service"))
            #expect(fm.contentsEqual(atPath: destdir + "/etc/systemd/system/qrscpd.socket",
                                     andPath: tree + "/systemd/qrscpd.socket"))
            #expect(fm.contents(atPath: destdir + "/etc/qrscpd/qrscpd.yaml") == Data("port: 104\n".utf8))
            #expect(result.output.contains("systemctl enable --now qrscpd.service"))
            #expect(!result.output.contains("daemon-reload"), "no systemctl with DESTDIR")
        }
    }

    @Test func keepsAnExistingConfig() throws {
        try withStagedInstall(config: "port: 104\n") { tree, destdir in
            try FileManager.default.createDirectory(atPath: destdir + "/etc/qrscpd", withIntermediateDirectories: true)
            try "edited by the admin\n".write(toFile: destdir + "/etc/qrscpd/qrscpd.yaml", atomically: true, encoding: .utf8)
            let result = try install(tree: tree, destdir: destdir)
            #expect(result.status == 0, "\(result.output)")
            #expect(FileManager.default.contents(atPath: destdir + "/etc/qrscpd/qrscpd.yaml") == Data("edited by the admin\n".utf8))
            #expect(result.output.contains("kept existing"))
        }
    }

    @Test func withoutAConfigSourceSkipsSilently() throws {
        try withStagedInstall(config: nil) { tree, destdir in
            let result = try install(tree: tree, destdir: destdir)
            #expect(result.status == 0, "\(result.output)")
            #expect(!FileManager.default.fileExists(atPath: destdir + "/etc/qrscpd"))
            #expect(FileManager.default.isExecutableFile(atPath: destdir + "/usr/local/bin/qrscpd"))
        }
    }
}
