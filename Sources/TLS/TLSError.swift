// SPDX-License-Identifier: Apache-2.0
import CLibssl

/// Why a TLS context could not be built. Each case names the file or setting at fault and
/// carries the text of OpenSSL's error queue, for the log line an administrator reads.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file or directory named in the configuration does not exist or cannot be read.
    case fileUnreadable(setting: String, path: String, reason: String)
    /// The certificate chain file is not PEM certificates OpenSSL accepts.
    case badCertificate(path: String, openSSL: String)
    /// The key file is not a PEM private key OpenSSL accepts (or is encrypted).
    case badKey(path: String, openSSL: String)
    /// The key is not the key of the chain's first certificate.
    case keyMismatch(certificate: String, key: String, openSSL: String)
    /// The trust anchors could not be loaded.
    case badTrustAnchors(path: String, openSSL: String)
    /// OpenSSL refused the TLS 1.2 cipher list or the TLS 1.3 cipher suites.
    case badCiphers(setting: String, value: String, openSSL: String)
    /// A server context needs a certificate and a key.
    case missingSetting(String)
    /// OpenSSL failed in a way the configuration does not explain (allocation, library state).
    case library(call: String, openSSL: String)

    public var description: String {
        switch self {
        case .fileUnreadable(let setting, let path, let reason):
            return "TLS \(setting) \(path): \(reason)"
        case .badCertificate(let path, let openSSL):
            return "TLS certificate \(path) could not be loaded: \(openSSL)"
        case .badKey(let path, let openSSL):
            return "TLS key \(path) could not be loaded: \(openSSL)"
        case .keyMismatch(let certificate, let key, let openSSL):
            return "TLS key \(key) does not match certificate \(certificate): \(openSSL)"
        case .badTrustAnchors(let path, let openSSL):
            return "TLS trust anchors \(path) could not be loaded: \(openSSL)"
        case .badCiphers(let setting, let value, let openSSL):
            return "TLS \(setting) \"\(value)\" rejected: \(openSSL)"
        case .missingSetting(let setting):
            return "TLS \(setting) is required"
        case .library(let call, let openSSL):
            return "TLS \(call) failed: \(openSSL)"
        }
    }
}

/// OpenSSL's per-thread error queue.
enum OpenSSLErrors {
    /// Empties the queue, so that what a later call leaves there is that call's alone.
    static func clear() {
        ERR_clear_error()
    }

    /// Empties the queue and returns its entries as text, oldest first, joined by "; ";
    /// "no further detail" when it was empty.
    static func drain() -> String {
        var lines: [String] = []
        while lines.count < 16 {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            var line = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)"
            if let library = ERR_lib_error_string(code).map({ String(cString: $0) }) {
                line = library + ": " + line
            }
            if let data, flags & ERR_TXT_STRING != 0, data.pointee != 0 {
                line += " (" + String(cString: data) + ")"
            }
            lines.append(line)
        }
        while ERR_get_error() != 0 {}
        return lines.isEmpty ? "no further detail" : lines.joined(separator: "; ")
    }
}
