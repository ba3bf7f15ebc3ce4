// SPDX-License-Identifier: Apache-2.0
import DICOM

/// A validated C-GET / C-MOVE identifier (PS3.4 C.4.2.1.4, C.4.3.1.3; QR-22): the model, the
/// retrieve level and the unique keys from the top of the model down to that level.
///
/// Baseline (hierarchical) retrieve only:
/// - Query/Retrieve Level present and valid for the model, else A900.
/// - Every level above the retrieve level carries its unique key with a single value, else A900.
/// - The retrieve level's unique key is present and not empty; it may hold a list of UIDs
///   (backslash separated). Patient ID is always single-valued.
/// - Wild cards (`*`, `?`) are not allowed in any unique key (A900).
/// Other attributes in the identifier are ignored.
public struct RetrieveRequest: Sendable, Hashable {
    public var model: QueryModel
    public var level: QueryLevel
    /// Patient ID (0010,0020): required in the Patient Root model; used as a filter when given
    /// at or above the retrieve level in that model.
    public var patientID: String?
    /// Study Instance UIDs (one above STUDY level, one or more at STUDY level).
    public var studyInstanceUIDs: [String]
    public var seriesInstanceUIDs: [String]
    public var sopInstanceUIDs: [String]

    public init(
        model: QueryModel, level: QueryLevel, patientID: String? = nil, studyInstanceUIDs: [String] = [],
        seriesInstanceUIDs: [String] = [], sopInstanceUIDs: [String] = []
    ) {
        self.model = model
        self.level = level
        self.patientID = patientID
        self.studyInstanceUIDs = studyInstanceUIDs
        self.seriesInstanceUIDs = seriesInstanceUIDs
        self.sopInstanceUIDs = sopInstanceUIDs
    }

    /// Validates a retrieve identifier; see the type's documentation for the rules.
    public init(model: QueryModel, identifier: DataSet) throws(QueryError) {
        let level = try QueryLevel.of(identifier, model: model)
        self.init(model: model, level: level)
        let depth = QueryLevel.allCases.firstIndex(of: level)!
        let top = model == .patientRoot ? 0 : 1
        for d in top...depth {
            let keyLevel = QueryLevel.allCases[d]
            let (tag, name) = FindRequest.uniqueKey(of: keyLevel)
            let raw = identifier.string(tag) ?? ""
            let isRetrieveLevel = d == depth && keyLevel != .patient
            let values = raw.split(separator: "\\", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: " \0") }
            if raw.isEmpty || values.contains(where: \.isEmpty) {
                throw QueryError(
                    status: 0xA900,
                    comment: "\(name) \(tag) is required for a \(level.rawValue) level retrieve",
                    offendingElements: [tag])
            }
            if values.contains(where: { $0.contains("*") || $0.contains("?") }) {
                throw QueryError(
                    status: 0xA900, comment: "wild cards are not allowed in \(name) \(tag) for retrieve",
                    offendingElements: [tag])
            }
            if values.count > 1, !isRetrieveLevel {
                throw QueryError(
                    status: 0xA900,
                    comment: "\(name) \(tag) must have a single value in a \(level.rawValue) level retrieve",
                    offendingElements: [tag])
            }
            switch keyLevel {
            case .patient: patientID = values[0]
            case .study: studyInstanceUIDs = values
            case .series: seriesInstanceUIDs = values
            case .image: sopInstanceUIDs = values
            }
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}

/// The instances a C-GET / C-MOVE sends. Every method may block: call on the worker pool.
public protocol RetrieveIndex: Sendable {
    /// The indexed instances matching a retrieve request, in a stable order (study, series,
    /// instance number). An empty list when nothing matches.
    func instances(for request: RetrieveRequest) throws -> [IndexedInstance]

    /// Records that the file of an instance, as found (`stamp`), is damaged and why, so that an
    /// administrator can find it (`--scan-only` lists such instances). Nothing happens when the
    /// instance is no longer indexed at `path`.
    func markDamaged(sopInstanceUID: String, path: String, stamp: FileStamp, reason: String) throws
}

extension RetrieveIndex {
    /// A store that keeps no such record (test doubles) ignores it.
    public func markDamaged(sopInstanceUID: String, path: String, stamp: FileStamp, reason: String) throws {}
}
