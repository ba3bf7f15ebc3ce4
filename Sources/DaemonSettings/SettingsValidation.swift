// SPDX-License-Identifier: Apache-2.0
import Logging
import QRServer

/// The rules every source shares. Each returns the parsed value or throws a message that
/// names the value (the caller adds the key and the source).
public enum SettingsValidation {
    public struct Failure: Error, Sendable, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    public static let logLevels = "trace, debug, info, notice, warning, error, critical"

    public static func port(_ value: Int) throws(Failure) -> Int {
        guard (1...65535).contains(value) else { throw Failure("must be between 1 and 65535, got \(value)") }
        return value
    }

    /// An AE title: 1-16 printable ASCII characters without backslash; returned trimmed.
    public static func aeTitle(_ value: String) throws(Failure) -> String {
        let trimmed = trimSpaces(value)
        guard !trimmed.isEmpty, value.utf8.count <= 16, !value.contains("\\"),
            value.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F })
        else { throw Failure("AE title must be 1-16 printable ASCII characters without backslash, got '\(value)'") }
        return trimmed
    }

    public static func atLeast(_ minimum: Int, _ value: Int) throws(Failure) -> Int {
        guard value >= minimum else { throw Failure("must be at least \(minimum), got \(value)") }
        return value
    }

    /// The rule "at least `minimum`", for readers that take a rule.
    public static func atLeast(_ minimum: Int) -> (Int) throws(Failure) -> Int {
        { value throws(Failure) in try atLeast(minimum, value) }
    }

    public static func maxPDU(_ value: Int) throws(Failure) -> Int {
        guard (4096...16_777_216).contains(value) else {
            throw Failure("must be between 4096 and 16777216, got \(value)")
        }
        return value
    }

    public static func logLevel(_ value: String) throws(Failure) -> Logger.Level {
        guard let level = Logger.Level(rawValue: value) else {
            throw Failure("must be one of \(logLevels); got '\(value)'")
        }
        return level
    }

    public static func nonEmpty(_ value: String) throws(Failure) -> String {
        guard !value.isEmpty else { throw Failure("must not be empty") }
        return value
    }

    public static func host(_ value: String) throws(Failure) -> String {
        guard !value.isEmpty, !value.contains(where: { $0.isWhitespace }) else {
            throw Failure("host must be a name or address without spaces, got '\(value)'")
        }
        return value
    }

    public static func integer(_ text: String) throws(Failure) -> Int {
        guard let value = Int(text.trimmingCharacters(in: " ")) else {
            throw Failure("must be an integer, got '\(text)'")
        }
        return value
    }

    public static func boolean(_ text: String) throws(Failure) -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw Failure("must be true or false, got '\(text)'")
        }
    }

    public static func choice<T: RawRepresentable & CaseIterable>(_ text: String, as type: T.Type) throws(Failure) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            throw Failure("must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'")
        }
        return value
    }

    /// The suffix of a peer spec that marks a C-MOVE destination reached over TLS.
    public static let peerTLSMarker = "+tls"

    /// `AE:host:port`, or `AE:host:port+tls` for a destination reached over TLS (the file's
    /// `tls: true`); the host may itself contain colons (IPv6), optionally in brackets.
    public static func peer(_ spec: String) throws(Failure) -> (aeTitle: String, address: PeerAddress) {
        guard let first = spec.firstIndex(of: ":"), let last = spec.lastIndex(of: ":"), first < last else {
            throw Failure("peer must be AE:host:port or AE:host:port\(peerTLSMarker), got '\(spec)'")
        }
        let ae = try aeTitle(String(spec[..<first]))
        var host = String(spec[spec.index(after: first)..<last])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        host = try self.host(host)
        // The marker follows the port, the one part that cannot contain '+' itself.
        var portText = spec[spec.index(after: last)...]
        var tls = false
        if let plus = portText.firstIndex(of: "+") {
            guard portText[plus...].lowercased() == peerTLSMarker else {
                throw Failure("peer suffix must be \(peerTLSMarker), got '\(portText[plus...])' in '\(spec)'")
            }
            tls = true
            portText = portText[..<plus]
        }
        guard let portNumber = Int(portText) else {
            throw Failure("peer port must be an integer in '\(spec)'")
        }
        let p = try port(portNumber)
        return (ae, PeerAddress(host: host, port: p, tls: tls))
    }

    private static func trimSpaces(_ value: String) -> String {
        var s = Substring(value)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var s = Substring(self)
        while s.first == character { s.removeFirst() }
        while s.last == character { s.removeLast() }
        return String(s)
    }
}
