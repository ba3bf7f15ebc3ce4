// SPDX-License-Identifier: Apache-2.0
import DICOM

/// The archive index as the services see it. SQLite is the embedded implementation;
/// nothing outside `Archive` sees SQL, so another store (e.g. a shared PostgreSQL
/// index) can stand behind the same protocol.
///
/// Every method may block (disk, database): call them on the worker pool, never on the
/// reactor thread. Implementations are safe to call from several threads at once.
public protocol IndexStore: Sendable {
    /// One page of C-FIND matches, resuming after `token` (nil = first page).
    ///
    /// Paging is by key, not by an open cursor, so that no database transaction stays open
    /// while the reactor waits for a slow client to drain its socket.
    func find(_ request: FindRequest, after token: ResumeToken?, limit: Int) throws -> FindPage

    /// The same page with each identifier encoded as `encoding` says: byte for byte
    /// `encoding.encode(_:)` of each match of `find`. A default implementation does just
    /// that; the SQLite store encodes straight from its rows.
    func findEncoded(
        _ request: FindRequest, after token: ResumeToken?, limit: Int,
        encoding: IdentifierEncoding
    ) throws -> EncodedFindPage

    /// Adds or replaces one instance (keyed by SOP Instance UID) and its patient, study
    /// and series, from the file's header (everything before Pixel Data).
    func index(_ record: InstanceRecord) throws

    /// Adds or replaces several instances, in one transaction where the store can, and
    /// returns per record nil (indexed) or the error that kept it out. A record that cannot
    /// be written never keeps the others out (C-STORE group commit).
    func index(batch records: [InstanceRecord]) -> [(any Error)?]

    /// Removes one instance; parents left without children are removed too.
    func remove(sopInstanceUID: String) throws

    /// The indexed instance with this SOP Instance UID, if any.
    func instance(sopInstanceUID: String) throws -> IndexedInstance?

    /// The indexed instances among these SOP Instance UIDs, by UID (absent ones are left
    /// out), read in one snapshot where the store can (the duplicate check of a C-STORE
    /// commit group).
    func instances(sopInstanceUIDs: [String]) throws -> [String: IndexedInstance]

    /// Number of instances in the index.
    func instanceCount() throws -> Int
}

extension IndexStore {
    /// One ``instance(sopInstanceUID:)`` call per UID.
    public func instances(sopInstanceUIDs: [String]) throws -> [String: IndexedInstance] {
        var found: [String: IndexedInstance] = [:]
        for uid in sopInstanceUIDs {
            if let instance = try instance(sopInstanceUID: uid) { found[uid] = instance }
        }
        return found
    }

    /// One ``index(_:)`` call per record.
    public func index(batch records: [InstanceRecord]) -> [(any Error)?] {
        records.map { record in
            do {
                try index(record)
                return nil
            } catch {
                return error
            }
        }
    }
}

/// Opaque position in a result stream, handed back to `find` for the next page.
public struct ResumeToken: Sendable, Hashable {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
}

/// One page of C-FIND results.
public struct FindPage: Sendable {
    /// Response identifiers, one per match, each holding exactly the requested keys
    /// (zero-length when the archive has no value), the Query/Retrieve Level and, when a
    /// value is not in the default repertoire, Specific Character Set.
    public var matches: [DataSet]
    /// Where to resume; nil when this was the last page.
    public var next: ResumeToken?
    /// True when the request held optional keys the index cannot match on (status FF01).
    public var hasUnsupportedOptionalKeys: Bool

    public init(matches: [DataSet], next: ResumeToken?, hasUnsupportedOptionalKeys: Bool = false) {
        self.matches = matches
        self.next = next
        self.hasUnsupportedOptionalKeys = hasUnsupportedOptionalKeys
    }
}

/// What the index knows about one stored file.
public struct IndexedInstance: Sendable, Hashable {
    public var sopInstanceUID: String
    public var sopClassUID: String
    public var transferSyntaxUID: String
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
    public var path: String
    public var size: Int64
    public var modificationTime: Double

    public init(
        sopInstanceUID: String, sopClassUID: String, transferSyntaxUID: String, studyInstanceUID: String,
        seriesInstanceUID: String, path: String, size: Int64, modificationTime: Double
    ) {
        self.sopInstanceUID = sopInstanceUID
        self.sopClassUID = sopClassUID
        self.transferSyntaxUID = transferSyntaxUID
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.path = path
        self.size = size
        self.modificationTime = modificationTime
    }
}
