// SPDX-License-Identifier: Apache-2.0
import Foundation
import QRServer
import Yams

/// What the strict check learned about a config file: where each key is, its text, which
/// keys are blank, and the peers' AE titles (which the reader cannot list by itself).
public struct SettingsFileOutline: Sendable, Equatable {
    public var path: String
    /// 1-based line of each dotted key's value (peer fields too: `peers.DEST.port`).
    public var lines: [String: Int] = [:]
    /// The scalar text of each dotted key, for error messages.
    public var text: [String: String] = [:]
    /// Keys written with no value (`key:`, `~`, `null`): they count as not set here.
    public var blankKeys: Set<String> = []
    /// The peers' AE titles as written in the file.
    public var peerTitles: [String] = []
    /// True for a file with no settings at all (empty, or only comments).
    public var isEmpty = true
    /// `tls.identities`: certificate identity → calling AE titles (the reader cannot list a
    /// mapping's keys either).
    public var tlsIdentities: [String: [String]] = [:]

    public init(path: String) { self.path = path }
}

/// The strict check of a YAML config file, before swift-configuration reads its values.
///
/// swift-configuration looks keys up but cannot list them, so a misspelt key would be
/// silently ignored. This walk of the YAML document rejects every key that is not a known
/// setting (nested ones too) and every value of the wrong shape (a list where one value
/// belongs, a mapping where a list belongs), naming the file, the line and the dotted key.
/// Whether a value is a valid port, level or policy is checked after it is read.
public enum SettingsFileCheck {
    public static func check(_ text: String, path: String) throws(SettingsError) -> SettingsFileOutline {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError(source: path, key: nil, message: "not valid YAML: \(oneLine("\(error)"))")
        }
        var walker = Walker(outline: SettingsFileOutline(path: path))
        guard let root, !isBlank(root) else { return walker.outline }
        guard let mapping = root.mapping else {
            throw SettingsError(
                source: path, line: root.mark?.line, key: nil, message: "the top level must be a mapping of settings")
        }
        try walker.walkTop(mapping)
        walker.outline.isEmpty = mapping.isEmpty
        return walker.outline
    }

    private static func isBlank(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    /// The sections and, for each, the keys it holds.
    private static let sections: [String: Set<String>] = {
        var sections: [String: Set<String>] = [:]
        for key in SettingsKeys.scalars + SettingsKeys.lists {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            if parts.count == 2 { sections[parts[0], default: []].insert(parts[1]) }
        }
        return sections
    }()

    private struct Walker {
        var outline: SettingsFileOutline

        func error(_ key: String, _ node: Node, _ message: String) -> SettingsError {
            SettingsError(source: outline.path, line: node.mark?.line, key: key, message: message)
        }

        func entries(_ key: String, _ node: Node) throws(SettingsError) -> [(name: String, keyNode: Node, value: Node)]
        {
            guard let mapping = node.mapping else { throw error(key, node, "must be a mapping") }
            var result: [(String, Node, Node)] = []
            for (keyNode, value) in mapping {
                guard let name = keyNode.scalar?.string else { throw error(key, keyNode, "keys must be plain names") }
                result.append((name, keyNode, value))
            }
            return result
        }

        mutating func walkTop(_ mapping: Node.Mapping) throws(SettingsError) {
            for (keyNode, value) in mapping {
                guard let name = keyNode.scalar?.string else {
                    throw error("(top level)", keyNode, "keys must be plain names")
                }
                if name == SettingsKeys.peersSection {
                    try walkPeers(value)
                } else if let members = SettingsFileCheck.sections[name] {
                    try walkSection(name, members: members, value)
                } else if SettingsKeys.scalars.contains(name) {
                    try scalar(name, value)
                } else {
                    throw error(name, keyNode, "unknown setting")
                }
            }
        }

        mutating func walkSection(_ section: String, members: Set<String>, _ node: Node) throws(SettingsError) {
            guard !SettingsFileCheck.isBlank(node) else { return }
            for (name, keyNode, value) in try entries(section, node) {
                let key = "\(section).\(name)"
                if key == SettingsKeys.tlsIdentities {
                    try tlsIdentities(value)
                    continue
                }
                guard members.contains(name) else {
                    if section == SettingsKeys.allowedSection {
                        throw error(
                            key, keyNode,
                            "unknown service; expected one of \(DICOMService.allCases.map(\.rawValue).joined(separator: ", "))"
                        )
                    }
                    throw error(key, keyNode, "unknown setting")
                }
                if SettingsKeys.lists.contains(key) {
                    try list(key, value)
                } else {
                    try scalar(key, value)
                }
            }
        }

        mutating func walkPeers(_ node: Node) throws(SettingsError) {
            guard !SettingsFileCheck.isBlank(node) else { return }
            for (title, keyNode, value) in try entries(SettingsKeys.peersSection, node) {
                let peerKey = "\(SettingsKeys.peersSection).\(title)"
                do { _ = try SettingsValidation.aeTitle(title) } catch {
                    throw self.error(peerKey, keyNode, error.message)
                }
                var fields: Set<String> = []
                for (field, fieldNode, fieldValue) in try entries(peerKey, value) {
                    let key = "\(peerKey).\(field)"
                    guard field == "host" || field == "port" || field == "tls" else {
                        throw error(key, fieldNode, "unknown setting; a peer has host, port and tls")
                    }
                    try scalar(key, fieldValue)
                    if !outline.blankKeys.contains(key) { fields.insert(field) }
                }
                guard fields.contains("host") else { throw error("\(peerKey).host", value, "missing") }
                guard fields.contains("port") else { throw error("\(peerKey).port", value, "missing") }
                outline.peerTitles.append(title)
            }
        }

        /// `tls.identities`: each identity maps to a list of AE titles (`*`: any).
        mutating func tlsIdentities(_ node: Node) throws(SettingsError) {
            let key = SettingsKeys.tlsIdentities
            outline.lines[key] = node.mark?.line
            guard !SettingsFileCheck.isBlank(node) else { return }
            for (identity, _, value) in try entries(key, node) {
                let entryKey = "\(key).\(identity)"
                guard let items = value.sequence else {
                    throw error(entryKey, value, "must be a list of calling AE titles, e.g. [MODALITY1] or [\"*\"]")
                }
                var titles: [String] = []
                for item in items {
                    guard let text = item.scalar?.string else {
                        throw error(entryKey, item, "must be a list of calling AE titles")
                    }
                    if text == "*" {
                        titles.append(text)
                        continue
                    }
                    do { titles.append(try SettingsValidation.aeTitle(text)) } catch {
                        throw self.error(entryKey, item, error.message)
                    }
                }
                outline.tlsIdentities[identity, default: []] += titles
            }
        }

        mutating func scalar(_ key: String, _ node: Node) throws(SettingsError) {
            outline.lines[key] = node.mark?.line
            if SettingsFileCheck.isBlank(node) {
                outline.blankKeys.insert(key)
                return
            }
            guard let scalar = node.scalar else {
                throw error(key, node, "must be a single value, not a list or mapping")
            }
            outline.text[key] = scalar.string
        }

        mutating func list(_ key: String, _ node: Node) throws(SettingsError) {
            outline.lines[key] = node.mark?.line
            if SettingsFileCheck.isBlank(node) {
                // An empty entry: nobody is restricted for that service, as with [].
                outline.blankKeys.insert(key)
                return
            }
            guard let items = node.sequence else {
                throw error(key, node, "must be a list of AE titles, e.g. [MODALITY1, WORKSTATION]")
            }
            for item in items {
                if SettingsFileCheck.isBlank(item) { throw error(key, item, "AE title must not be empty") }
                guard item.scalar != nil else {
                    throw error(key, item, "must be a list of AE titles, e.g. [MODALITY1, WORKSTATION]")
                }
            }
        }
    }
}
