// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport

/// The test server certificate and key copied into a new directory of their own, so that a test
/// may overwrite them and reload the daemon without touching the shared test certificates.
struct ServerCertificateCopy {
    let certificates: TestCertificates
    /// The new directory (the caller removes it).
    let directory: URL
    let certificatePath: String
    let keyPath: String

    /// - Parameter prefix: the directory's name before a UUID, under the temporary directory.
    init(prefix: String) throws {
        certificates = try TestCertificates.shared.get()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        certificatePath = directory.appendingPathComponent("server.pem").path
        keyPath = directory.appendingPathComponent("server.key").path
        do {
            try FileManager.default.copyItem(atPath: certificates.serverCertificate, toPath: certificatePath)
            try FileManager.default.copyItem(atPath: certificates.serverKey, toPath: keyPath)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }
}
