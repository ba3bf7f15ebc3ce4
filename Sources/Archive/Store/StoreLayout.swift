// SPDX-License-Identifier: Apache-2.0
import Foundation

/// What a C-STORE does when the SOP Instance UID is already in the archive (QR-28).
public enum StoreDuplicatePolicy: String, Sendable, Hashable, CaseIterable {
    /// Keep the stored copy, discard the new one (the peer gets a warning status).
    case keep
    /// Replace the stored copy with the new one.
    case replace
    /// Refuse the new one (the peer gets 0111 "duplicate SOP instance").
    case reject
}

/// Where a received object goes, relative to the storage directory: a template of path
/// segments separated by "/" with the placeholders `{StudyUID}`, `{SeriesUID}`,
/// `{SOPInstanceUID}` and `{SOPClassUID}`. The default is
/// `{StudyUID}/{SeriesUID}/{SOPInstanceUID}.dcm`.
///
/// UIDs come from the peer (QR-29): each is used as is only when it is 1–64 characters of
/// digits and single dots, not starting or ending with a dot; any other value is replaced by
/// `x` + the SHA-256 of its bytes in hex, so no UID can add, climb or hide a path segment.
public struct StoreLayout: Sendable, Hashable, CustomStringConvertible {
    public enum Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self {
            case .invalid(let m): return "invalid storage layout: \(m)"
            }
        }
    }

    public static let placeholders = ["{StudyUID}", "{SeriesUID}", "{SOPInstanceUID}", "{SOPClassUID}"]
    public static let `default` = try! StoreLayout("{StudyUID}/{SeriesUID}/{SOPInstanceUID}.dcm")
    /// `{SOPInstanceUID}.dcm` directly in the storage directory.
    public static let flat = try! StoreLayout("{SOPInstanceUID}.dcm")

    /// The template as configured.
    public let template: String
    /// The template cut into literal text and placeholders once, so that a path is built
    /// by appending pieces rather than searching the template for every placeholder at
    /// every stored object.
    private let pieces: [Piece]

    private enum Piece: Sendable, Hashable {
        case literal(String)
        case studyUID, seriesUID, sopInstanceUID, sopClassUID
    }

    /// Validates a template: relative, no empty, "." or ".." segment, no segment starting with
    /// "." (the scanner ignores those), only known placeholders, and `{SOPInstanceUID}` in the
    /// last segment (one file per instance).
    public init(_ template: String) throws(Error) {
        let segments = template.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !template.hasPrefix("/") else { throw .invalid("'\(template)' must be relative") }
        for s in segments {
            guard !s.isEmpty, s != ".", s != ".." else {
                throw .invalid("'\(template)' has an empty, '.' or '..' segment")
            }
            guard !s.hasPrefix(".") else { throw .invalid("'\(template)': segment '\(s)' starts with '.'") }
            guard !s.contains("\0") else { throw .invalid("'\(template)' contains NUL") }
            var rest = s
            for p in Self.placeholders { rest = rest.replacingAll(p, with: "") }
            guard !rest.contains("{"), !rest.contains("}") else {
                throw .invalid(
                    "'\(template)': unknown placeholder in '\(s)' (known: \(Self.placeholders.joined(separator: ", ")))"
                )
            }
        }
        guard let last = segments.last, last.contains("{SOPInstanceUID}") else {
            throw .invalid("'\(template)': the last segment must contain {SOPInstanceUID}")
        }
        self.template = template
        self.pieces = Self.pieces(of: template)
    }

    /// `template` as literal runs and placeholders (the template is valid: every "{" opens
    /// a known placeholder).
    private static func pieces(of template: String) -> [Piece] {
        let known: [(String, Piece)] = [
            ("{StudyUID}", .studyUID), ("{SeriesUID}", .seriesUID),
            ("{SOPInstanceUID}", .sopInstanceUID), ("{SOPClassUID}", .sopClassUID),
        ]
        var pieces: [Piece] = []
        var literal = ""
        var rest = template[...]
        while let c = rest.first {
            if c == "{", let (name, piece) = known.first(where: { rest.hasPrefix($0.0) }) {
                if !literal.isEmpty { pieces.append(.literal(literal)) }
                literal = ""
                pieces.append(piece)
                rest = rest.dropFirst(name.count)
            } else {
                literal.append(c)
                rest = rest.dropFirst()
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }

    public var description: String { template }

    /// The relative path for an instance.
    public func relativePath(studyUID: String, seriesUID: String, sopInstanceUID: String, sopClassUID: String) -> String
    {
        var path = ""
        path.reserveCapacity(
            template.utf8.count + studyUID.utf8.count + seriesUID.utf8.count
                + sopInstanceUID.utf8.count + sopClassUID.utf8.count)
        for piece in pieces {
            switch piece {
            case .literal(let text): path += text
            case .studyUID: path += Self.pathComponent(forUID: studyUID)
            case .seriesUID: path += Self.pathComponent(forUID: seriesUID)
            case .sopInstanceUID: path += Self.pathComponent(forUID: sopInstanceUID)
            case .sopClassUID: path += Self.pathComponent(forUID: sopClassUID)
            }
        }
        return path
    }

    /// A UID as a safe path component: the UID itself when it is a plausible UID (digits and
    /// single dots, 1–64 characters, no leading or trailing dot), else `x` + SHA-256 hex.
    public static func pathComponent(forUID uid: String) -> String {
        isSafeUID(uid) ? uid : "x" + SHA256.hex(Array(uid.utf8))
    }

    /// Digits and single dots only, 1–64 characters, not starting or ending with a dot.
    public static func isSafeUID(_ uid: String) -> Bool {
        let b = uid.utf8
        guard !b.isEmpty, b.count <= 64, b.first != 0x2E, b.last != 0x2E else { return false }
        var previousDot = false
        for c in b {
            if c == 0x2E {
                if previousDot { return false }
                previousDot = true
            } else if c >= 0x30 && c <= 0x39 {
                previousDot = false
            } else {
                return false
            }
        }
        return true
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
