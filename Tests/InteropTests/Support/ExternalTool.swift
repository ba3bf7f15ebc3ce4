// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// The outcome of running a peer tool to completion.
struct ToolResult {
    var exitCode: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool

    var succeeded: Bool { exitCode == 0 && !timedOut }
    var transcript: String {
        "exit \(exitCode)\(timedOut ? " (timed out)" : "")\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
    }
}

/// Runs the real DICOM peers (DCMTK by absolute path, pynetdicom through python3) the
/// interop tests talk to.
enum ExternalTool {
    /// True under CI, where a missing peer tool is a failure rather than a skip.
    static var isCI: Bool { InteropPolicy.isCI }

    static let python = "/usr/bin/env"

    /// Whether DCMTK's tools and pynetdicom are installed here.
    static var peersInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/echoscu") && pythonHas("pynetdicom")
    }

    /// Interop tests run when the peers are installed, and always under CI (where a
    /// missing tool then fails the test instead of skipping it).
    static var interopEnabled: Bool { isCI || peersInstalled }

    static func pythonHas(_ module: String) -> Bool {
        run("/usr/bin/env", ["python3", "-c", "import \(module)"], timeout: 30).succeeded
    }

    /// Records a failure naming the module when a required Python module is missing (under CI,
    /// where a missing peer fails the test instead of skipping it).
    @discardableResult
    static func requirePython(_ module: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if pythonHas(module) { return true }
        Issue.record(
            "required Python module \(module) is not installed (run scripts/setup --test)",
            sourceLocation: sourceLocation)
        return false
    }

    /// Records a failure when a required tool is missing.
    @discardableResult
    static func require(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if FileManager.default.isExecutableFile(atPath: path) { return true }
        Issue.record(
            "required peer tool \(path) is not installed (run scripts/setup --test)", sourceLocation: sourceLocation)
        return false
    }

    /// Runs an executable with a hard time limit, capturing its output through files so
    /// that a chatty tool cannot block on a full pipe.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment extra: [String: String] = [:],
        timeout: TimeInterval = 60
    ) -> ToolResult {
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("tool-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("tool-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        // Debian's DCMTK leaves Nagle on unless asked; it would cap exchanges at ~25/s.
        environment["TCP_NODELAY"] = "1"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        guard let outHandle = try? FileHandle(forWritingTo: outURL),
            let errHandle = try? FileHandle(forWritingTo: errURL)
        else { return ToolResult(exitCode: -1, stdout: "", stderr: "cannot create output files", timedOut: false) }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return ToolResult(exitCode: -1, stdout: "", stderr: "cannot start \(executable): \(error)", timedOut: false)
        }
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                process.terminate()
                Thread.sleep(forTimeInterval: 0.2)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return ToolResult(exitCode: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Runs one of the pynetdicom peer scripts and decodes its JSON output.
    static func pythonPeer(_ script: String, _ arguments: [String], timeout: TimeInterval = 60) -> (ToolResult, Any?) {
        let result = run("/usr/bin/env", ["python3", PackagePaths.peerScript(script)] + arguments, timeout: timeout)
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = try? JSONSerialization.jsonObject(with: Data(line.utf8))
        return (result, json)
    }
}
