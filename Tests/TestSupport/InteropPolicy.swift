// SPDX-License-Identifier: Apache-2.0
import Foundation

/// When tests that drive real DICOM peer tools (DCMTK, pynetdicom) run.
public enum InteropPolicy {
    /// True under CI (`CI=true`), where a missing peer tool is a failure rather than a skip.
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Tests needing `tools` run when they are installed, and always under CI: there a missing
    /// tool makes the test fail instead of skipping it quietly.
    public static func enabled(requiring tools: String...) -> Bool {
        isCI || tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
