// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The pydicom reference scripts in `scripts/` that tests compare our output with.
public enum PydicomReference {
    /// The repository root (this file is in `Tests/TestSupport/`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `scripts/<script>` with python3 from the repository root: its standard output when it
    /// exits 0, else the exit status (python3 or pydicom missing, or the script failed). Callers
    /// record a failure under CI (`InteropPolicy.isCI`) and skip the comparison otherwise.
    public static func run(_ script: String, _ arguments: [String]) throws -> Result<Data, ExitStatus> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "scripts/\(script)"] + arguments
        process.currentDirectoryURL = repositoryRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? .success(data) : .failure(ExitStatus(code: process.terminationStatus))
    }

    /// A reference script's non-zero exit status.
    public struct ExitStatus: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { "python3 with pydicom is required when CI=true (exit \(code))" }
    }
}
