// SPDX-License-Identifier: Apache-2.0
import DaemonSettings
import Foundation
import TestSupport

/// The directory every config file of this test process is written under, removed when the
/// process exits: the paths go back to the tests (and into the errors they check), so no single
/// place in a test could remove them.
private let configFilesRoot: URL = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-settings-\(UUID().uuidString)")
    removeAtExit(root)
    return root
}()

/// A config file in a fresh temporary directory.
func writeConfig(_ text: String) throws -> String {
    let dir = configFilesRoot.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent("qrscpd.yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A loader that never falls back to /etc/qrscpd/qrscpd.yaml.
func loader(flags: CommandLineSettings = CommandLineSettings(), config: String?, environment: [String: String] = [:])
    -> SettingsLoader
{
    SettingsLoader(
        flags: flags, explicitConfigPath: config, environment: environment,
        defaultConfigPath: "/nonexistent/qrscpd.yaml")
}

/// The error `body` throws; `nil` (and so a failed expectation at the caller) when it does not.
func settingsError(_ body: () throws(SettingsError) -> DaemonSettings) -> SettingsError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
