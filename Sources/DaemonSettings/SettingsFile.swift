import Foundation
import QRServer
import Yams

/// Reads the YAML settings file (see `etc/qrscpd/qrscpd.yaml`). Every key is known; an
/// unknown key or a bad value is a ``SettingsError`` naming the dotted key, the file and
/// the line. A key whose value is empty (`null`, `~`) counts as absent.
public enum SettingsFile {
    /// Every key the file may hold, dotted (sections end in ".").
    public static let knownKeys: [String] = [
        "port", "ae_title", "bind", "log_level",
        "storage.directory", "storage.layout", "storage.duplicates",
        "index.database", "index.scan_only",
        "limits.max_pdu", "limits.max_associations", "limits.acse_timeout", "limits.idle_timeout",
        "limits.shutdown_grace_period",
    ] + DICOMService.allCases.map { "allowed_calling_ae_titles.\($0.rawValue)" } + ["peers.<AE>.host", "peers.<AE>.port"]

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws(SettingsError) -> SettingsLayer {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SettingsError(source: path, key: nil, message: "cannot read the config file: \(Self.reason(error))")
        }
        return try parse(text, path: path)
    }

    /// Parses YAML `text`; `path` only names the source in errors.
    public static func parse(_ text: String, path: String) throws(SettingsError) -> SettingsLayer {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError(source: path, key: nil, message: "not valid YAML: \(oneLine("\(error)"))")
        }
        var reader = Reader(path: path)
        guard let root, !isNull(root) else { return reader.layer }
        guard let mapping = root.mapping else {
            throw SettingsError(source: path, line: root.mark?.line, key: nil, message: "the top level must be a mapping of settings")
        }
        try reader.readTop(mapping)
        return reader.layer
    }

    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain, ns.code == NSFileReadNoSuchFileError { return "No such file or directory" }
        return oneLine(ns.localizedDescription)
    }

    private struct Reader {
        let path: String
        var layer = SettingsLayer()

        init(path: String) { self.path = path }

        func error(_ key: String, _ node: Node, _ message: String) -> SettingsError {
            SettingsError(source: path, line: node.mark?.line, key: key, message: message)
        }

        func entries(_ key: String, _ node: Node) throws(SettingsError) -> [(String, Node, Node)] {
            guard let mapping = node.mapping else { throw error(key, node, "must be a mapping") }
            var result: [(String, Node, Node)] = []
            for (k, v) in mapping {
                guard let name = k.scalar?.string else { throw error(key, k, "keys must be plain names") }
                result.append((name, k, v))
            }
            return result
        }

        func scalar(_ key: String, _ node: Node) throws(SettingsError) -> String? {
            if SettingsFile.isNull(node) { return nil }
            guard let scalar = node.scalar else { throw error(key, node, "must be a single value, not a list or mapping") }
            return scalar.string
        }

        func value<T>(_ key: String, _ node: Node, _ parse: (String) throws(SettingsValidation.Failure) -> T) throws(SettingsError) -> T? {
            guard let text = try scalar(key, node) else { return nil }
            do {
                return try parse(text)
            } catch {
                throw self.error(key, node, error.message)
            }
        }

        func int<T>(_ key: String, _ node: Node, _ check: (Int) throws(SettingsValidation.Failure) -> T) throws(SettingsError) -> T? {
            try value(key, node) { text throws(SettingsValidation.Failure) in try check(SettingsValidation.integer(text)) }
        }

        mutating func readTop(_ mapping: Node.Mapping) throws(SettingsError) {
            for (keyNode, node) in mapping {
                guard let key = keyNode.scalar?.string else { throw error("(top level)", keyNode, "keys must be plain names") }
                switch key {
                case "port": layer.port = try int(key, node, SettingsValidation.port)
                case "ae_title": layer.aeTitle = try value(key, node, SettingsValidation.aeTitle)
                case "bind": layer.bindAddress = try value(key, node, SettingsValidation.host)
                case "log_level": layer.logLevel = try value(key, node, SettingsValidation.logLevel)
                case "storage": try readStorage(node)
                case "index": try readIndex(node)
                case "limits": try readLimits(node)
                case "allowed_calling_ae_titles": try readAllowed(node)
                case "peers": try readPeers(node)
                default: throw error(key, keyNode, "unknown setting")
                }
            }
        }

        mutating func readStorage(_ node: Node) throws(SettingsError) {
            guard !SettingsFile.isNull(node) else { return }
            for (name, keyNode, value) in try entries("storage", node) {
                let key = "storage.\(name)"
                switch name {
                case "directory": layer.storageDirectory = try self.value(key, value, SettingsValidation.nonEmpty)
                case "layout": layer.storageLayout = try self.value(key, value) { text throws(SettingsValidation.Failure) in try SettingsValidation.choice(text, as: StorageLayout.self) }
                case "duplicates": layer.duplicatePolicy = try self.value(key, value) { text throws(SettingsValidation.Failure) in try SettingsValidation.choice(text, as: DuplicatePolicy.self) }
                default: throw error(key, keyNode, "unknown setting")
                }
            }
        }

        mutating func readIndex(_ node: Node) throws(SettingsError) {
            guard !SettingsFile.isNull(node) else { return }
            for (name, keyNode, value) in try entries("index", node) {
                let key = "index.\(name)"
                switch name {
                case "database":
                    // Empty (or absent) keeps the index in memory.
                    layer.indexDatabase = try scalar(key, value) ?? ""
                case "scan_only": layer.scanOnly = try self.value(key, value, SettingsValidation.boolean)
                default: throw error(key, keyNode, "unknown setting")
                }
            }
        }

        mutating func readLimits(_ node: Node) throws(SettingsError) {
            guard !SettingsFile.isNull(node) else { return }
            for (name, keyNode, value) in try entries("limits", node) {
                let key = "limits.\(name)"
                switch name {
                case "max_pdu": layer.maxPDU = try int(key, value, SettingsValidation.maxPDU)
                case "max_associations": layer.maxAssociations = try int(key, value) { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(1, v) }
                case "acse_timeout": layer.acseTimeout = try int(key, value) { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(1, v) }
                case "idle_timeout": layer.idleTimeout = try int(key, value) { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(0, v) }
                case "shutdown_grace_period": layer.shutdownGracePeriod = try int(key, value) { v throws(SettingsValidation.Failure) in try SettingsValidation.atLeast(0, v) }
                default: throw error(key, keyNode, "unknown setting")
                }
            }
        }

        mutating func readAllowed(_ node: Node) throws(SettingsError) {
            guard !SettingsFile.isNull(node) else { return }
            var allowed: [DICOMService: Set<String>] = [:]
            for (name, keyNode, value) in try entries("allowed_calling_ae_titles", node) {
                let key = "allowed_calling_ae_titles.\(name)"
                guard let service = DICOMService(rawValue: name) else {
                    throw error(key, keyNode, "unknown service; expected one of \(DICOMService.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if SettingsFile.isNull(value) { allowed[service] = []; continue }
                guard let list = value.sequence else { throw error(key, value, "must be a list of AE titles, e.g. [MODALITY1, WORKSTATION]") }
                var titles = Set<String>()
                for item in list {
                    guard let title = try self.value(key, item, SettingsValidation.aeTitle) else {
                        throw error(key, item, "AE title must not be empty")
                    }
                    titles.insert(title)
                }
                allowed[service] = titles
            }
            layer.allowedCallingAETitles = allowed
        }

        mutating func readPeers(_ node: Node) throws(SettingsError) {
            guard !SettingsFile.isNull(node) else { return }
            var peers: [String: PeerAddress] = [:]
            for (name, keyNode, value) in try entries("peers", node) {
                let peerKey = "peers.\(name)"
                let title: String
                do { title = try SettingsValidation.aeTitle(name) } catch { throw self.error(peerKey, keyNode, error.message) }
                var host: String?
                var port: Int?
                for (field, fieldNode, fieldValue) in try entries(peerKey, value) {
                    let key = "\(peerKey).\(field)"
                    switch field {
                    case "host": host = try self.value(key, fieldValue, SettingsValidation.host)
                    case "port": port = try int(key, fieldValue, SettingsValidation.port)
                    default: throw error(key, fieldNode, "unknown setting; a peer has host and port")
                    }
                }
                guard let host else { throw error("\(peerKey).host", value, "missing") }
                guard let port else { throw error("\(peerKey).port", value, "missing") }
                peers[title] = PeerAddress(host: host, port: port)
            }
            layer.peers = peers
        }
    }
}
