// SPDX-License-Identifier: Apache-2.0
/// A setting that could not be used: where it came from, its name there, and why.
///
/// Printed as one line, e.g.
/// `/etc/qrscpd/qrscpd.yaml:12: limits.max_associations: must be at least 1, got 0`.
public struct SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The config file's path, "environment", or "command line".
    public var source: String
    /// 1-based line in the config file, when known.
    public var line: Int?
    /// The setting's name in its source: a dotted file key, a variable or an option.
    public var key: String?
    public var message: String

    public init(source: String, line: Int? = nil, key: String?, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = source
        if let line { text += ":\(line)" }
        if let key { text += ": \(key)" }
        return text + ": " + message
    }
}

extension SettingsError {
    /// No source gives a storage directory. The message is the wording of the tool qrscpd
    /// replaces; the daemon prints it as `Error: --storage-dir is required`, with the usage.
    public static let missingStorageDirectory = SettingsError(
        source: "settings", key: SettingsKeys.storageDirectory, message: "--storage-dir is required"
    )
}
