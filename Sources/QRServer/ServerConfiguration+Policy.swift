// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

/// A DICOM service the archive offers, as named in the settings file.
public enum DICOMService: String, Sendable, CaseIterable, Hashable, Codable {
    case echo, find, get, move, store

    /// The service a DIMSE request belongs to; nil for responses and C-CANCEL.
    public init?(requestField field: CommandField) {
        switch field {
        case .cEchoRQ: self = .echo
        case .cFindRQ: self = .find
        case .cGetRQ: self = .get
        case .cMoveRQ: self = .move
        case .cStoreRQ: self = .store
        default: return nil
        }
    }
}

/// Where a C-MOVE destination AE listens.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Reached over TLS (`peers.<AE>.tls: true`): our certificate, the peer's verified
    /// against the trust anchors and `host`.
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool = false) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    public var description: String { "\(host):\(port)" }
}

/// How stored files are named under the storage directory.
public enum StorageLayout: String, Sendable, CaseIterable, Hashable {
    /// `<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`
    case hierarchical
    /// `<SOPInstanceUID>.dcm` directly in the storage directory.
    case flat
}

/// What to do when a C-STORE brings an instance that is already archived.
public enum DuplicatePolicy: String, Sendable, CaseIterable, Hashable {
    /// Keep the archived copy; answer warning B000 with an Error Comment, and log it.
    case keep
    /// Overwrite the archived copy with the new one.
    case replace
    /// Refuse the new copy (C-STORE failure status).
    case reject
}

extension ServerConfiguration {
    /// Whether `callingAE` (compared after trimming spaces) may use `service`. A service with
    /// no allowed titles configured is open to anyone.
    public func isAllowed(callingAE: String, service: DICOMService) -> Bool {
        Self.isAllowed(callingAE: callingAE, service: service, in: allowedCallingAETitles)
    }

    /// Whether `callingAE` may use at least one service; associations from a caller allowed
    /// for none are rejected with A-ASSOCIATE-RJ 1/1/3.
    public func isCallingAETitleKnown(_ callingAE: String) -> Bool {
        Self.isKnown(callingAE: callingAE, in: allowedCallingAETitles)
    }

    /// Whether every service has a restricted list (otherwise every caller is known).
    public var restrictsCallingAETitles: Bool {
        DICOMService.allCases.allSatisfy { !(allowedCallingAETitles[$0]?.isEmpty ?? true) }
    }

    static func isAllowed(callingAE: String, service: DICOMService, in allowed: [DICOMService: Set<String>]) -> Bool {
        guard let titles = allowed[service], !titles.isEmpty else { return true }
        return titles.contains(callingAE.trimmingSpaces)
    }

    static func isKnown(callingAE: String, in allowed: [DICOMService: Set<String>]) -> Bool {
        DICOMService.allCases.contains { isAllowed(callingAE: callingAE, service: $0, in: allowed) }
    }
}

extension String {
    /// Leading and trailing spaces removed (AE title padding).
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}
