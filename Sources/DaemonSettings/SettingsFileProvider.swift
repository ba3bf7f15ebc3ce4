// SPDX-License-Identifier: Apache-2.0
import Configuration
import Foundation

/// The config file as a swift-configuration provider: the library's `YAMLSnapshot` parses
/// the file and answers lookups, after ``SettingsFileCheck`` has accepted every key.
///
/// The library's `FileProvider` would read the file a second time (and only asynchronously);
/// parsing the very bytes that were checked means an edit between the two cannot slip an
/// unchecked key in, and a reload stays a plain call on the worker pool. Keys written blank
/// (`key:`) are hidden, so that they fall through to the defaults as "not set here".
struct SettingsFileProvider: ConfigProvider {
    let outline: SettingsFileOutline
    private let snapshotOfFile: YAMLSnapshot?

    /// Checks and parses the file at `path`.
    static func load(path: String) throws(SettingsError) -> SettingsFileProvider {
        let data: Data
        do {
            // A file handle rather than Data(contentsOf:), which refuses character devices
            // such as /dev/null ("no settings").
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw SettingsError(source: path, key: nil, message: "cannot read the config file: \(reason(error))")
        }
        return try SettingsFileProvider(data: data, path: path)
    }

    /// Checks and parses YAML `data`; `path` names the source in errors.
    init(data: Data, path: String) throws(SettingsError) {
        outline = try SettingsFileCheck.check(String(decoding: data, as: UTF8.self), path: path)
        guard !outline.isEmpty else {
            snapshotOfFile = nil
            return
        }
        do {
            snapshotOfFile = try YAMLSnapshot(data: data.bytes, providerName: path, parsingOptions: .default)
        } catch {
            throw SettingsError(
                source: path, key: nil, message: "not valid YAML: \(SettingsFileCheck.oneLine("\(error)"))")
        }
    }

    var providerName: String { outline.path }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        guard let snapshotOfFile, !outline.blankKeys.contains(key.components.joined(separator: ".")) else {
            return LookupResult(encodedKey: key.description, value: nil)
        }
        return try snapshotOfFile.value(forKey: key, type: type)
    }

    nonisolated(nonsending) func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws
        -> LookupResult
    {
        try value(forKey: key, type: type)
    }

    nonisolated(nonsending) func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey,
        type: ConfigType,
        updatesHandler:
            nonisolated(nonsending) (ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>) async throws ->
            Return
    ) async throws -> Return {
        try await watchValueFromValue(forKey: key, type: type, updatesHandler: updatesHandler)
    }

    func snapshot() -> any ConfigSnapshot { FileSnapshot(provider: self) }

    nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
        updatesHandler:
            nonisolated(nonsending) (ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws -> Return
    ) async throws -> Return {
        try await watchSnapshotFromSnapshot(updatesHandler: updatesHandler)
    }

    /// The file does not change under a provider (a reload builds a new one).
    private struct FileSnapshot: ConfigSnapshot {
        let provider: SettingsFileProvider
        var providerName: String { provider.providerName }
        func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
            try provider.value(forKey: key, type: type)
        }
    }

    static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoSuchFileError { return "No such file or directory" }
        return SettingsFileCheck.oneLine(ns.localizedDescription)
    }
}
