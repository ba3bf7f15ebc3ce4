// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Locations inside the package checkout that the interop tests need.
enum PackagePaths {
    /// The package root, found from this file's own path (Tests/InteropTests/Support/…).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The peer scripts (pynetdicom) shipped with the interop tests.
    static func peerScript(_ name: String) -> String {
        root.appendingPathComponent("Tests/InteropTests/Peers/\(name)").path
    }

    /// The qrscpd executable built alongside the tests; `QRSCPD_BINARY` overrides it.
    static var daemonBinary: String {
        if let explicit = ProcessInfo.processInfo.environment["QRSCPD_BINARY"] { return explicit }
        for configuration in ["debug", "release"] {
            let candidate = root.appendingPathComponent(".build/\(configuration)/qrscpd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return root.appendingPathComponent(".build/debug/qrscpd").path
    }
}
