// SPDX-License-Identifier: Apache-2.0
import Configuration
import Synchronization

/// One rank of the precedence chain: a provider, and how to name a setting it holds in an
/// error (the option, the variable, or the file's path, line and dotted key).
struct SettingsSource: Sendable {
    enum Kind: Sendable {
        case commandLine
        case environment([String: String])
        case file(SettingsFileOutline)
        case defaults
    }

    var kind: Kind
    var provider: any ConfigProvider

    /// An error about `key` (components, as the reader looks it up) from this source.
    func error(_ key: [String], _ message: String) -> SettingsError {
        let dotted = key.joined(separator: ".")
        switch kind {
        case .commandLine:
            let option = SettingsKeys.options[dotted] ?? SettingsKeys.options[key[0]] ?? dotted
            return SettingsError(source: "command line", key: option, message: message)
        case .environment:
            let variable =
                key.first == SettingsKeys.peersSection
                ? SettingsKeys.peersVariable : SettingsKeys.environmentVariables[dotted] ?? dotted
            return SettingsError(source: "environment", key: variable, message: message)
        case .file(let outline):
            return SettingsError(source: outline.path, line: outline.lines[dotted], key: dotted, message: message)
        case .defaults:
            return SettingsError(source: "defaults", key: dotted, message: message)
        }
    }

    /// The value as written in this source, when it is a piece of text, for error messages.
    func text(_ key: [String]) -> String? {
        let dotted = key.joined(separator: ".")
        switch kind {
        case .environment(let variables):
            return SettingsKeys.environmentVariables[dotted].flatMap { variables[$0] }
        case .file(let outline):
            return outline.text[dotted]
        case .commandLine, .defaults:
            return nil
        }
    }
}

/// Keeps the reader's last access event: which providers were asked for a key and what each
/// answered, so that a value can be traced to the source that gave it.
final class AccessRecorder: AccessReporter {
    private let last = Mutex<AccessEvent?>(nil)

    func report(_ event: AccessEvent) {
        last.withLock { $0 = event }
    }

    func take() -> AccessEvent? {
        last.withLock { event in
            defer { event = nil }
            return event
        }
    }
}
