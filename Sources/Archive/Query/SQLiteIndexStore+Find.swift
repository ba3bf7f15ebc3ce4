// SPDX-License-Identifier: Apache-2.0
import DICOM
import GRDB

/// C-FIND against the SQLite index (PS3.4 C.4.1.3, C.2.2.2).
///
/// Matching choices (conformance statement):
/// - PN matching is case-insensitive and ignores leading/trailing spaces (and empty
///   trailing components, `Doe^John^^` = `DOE^JOHN`); accents are significant. Other
///   VRs are matched exactly (case-sensitive); trailing spaces are not significant.
/// - Wild cards `*` and `?` on AE CS LO LT PN SH ST UC UR UT (`?` is one character,
///   not one byte); `*` alone is universal matching. They are translated to SQLite
///   `GLOB` (case-sensitive, unlike `LIKE`), with `[` escaped, so `%`, `_` and every
///   other character of a request are literals; a literal prefix also becomes an index
///   range, and a pattern that is only a prefix and `*` is matched by that range alone
///   (binary order: the strings in [prefix, successor) are those starting with prefix).
///   No wild cards for DA TM DT UI or numbers (the value is then literal).
/// - Range matching on DA, TM, DT: `a-b`, `-b`, `a-`, inclusive; partial TM/DT upper
///   bounds cover their span (`-10` includes 10:59:59.999999). Study Date and Study Time
///   are matched independently (combined date-time matching is not offered).
///   Legacy `YYYY.MM.DD` and `HH:MM:SS` forms are accepted.
/// - List of UID matching for UI keys; a backslash list of Modalities in Study matches
///   a study having any of them.
/// - Empty value matching: the value `""` (two quotes) matches absent or empty values
///   (C.2.2.2.7). Multiple-value matching (C.2.2.2.8) is not offered for other keys.
/// - Sequence matching (C.2.2.2.6) on any sequence the files hold at the key's level
///   (kept in the entity's attribute blob): an entity matches when one stored item
///   matches every sub-key of the request item; an empty item is universal. The
///   response holds the matching items, reduced to the requested sub-keys (whole items
///   for an empty request item).
/// - Any attribute the files hold at a level at or above the query level can be
///   matched and returned; attributes that are not columns are matched in Swift on the
///   rows the SQL conditions select, page by page.
/// - Keys whose level we do not know are kept at the IMAGE level. Asked at a higher
///   level, they are returned zero-length and `hasUnsupportedOptionalKeys` is set (FF01).
///   Private attributes are not indexed: private data elements in a request are returned
///   zero-length with FF01; private creator elements are echoed.
/// - Computed keys reflect the index at query time: Modalities in Study, SOP Classes in
///   Study, Number of Patient Related Studies/Series/Instances, Number of Study Related
///   Series/Instances, Number of Series Related Instances; Instance Availability is
///   ONLINE. Modalities/SOP Classes in Study and the counts can be matched too.
/// - Request values are decoded with the request's Specific Character Set. Response
///   text is UTF-8: Specific Character Set "ISO_IR 192" is added to every identifier
///   holding a non-ASCII value. Retrieve AE Title is added by the service.
extension SQLiteIndexStore {
    /// One page of matches (see the matching choices above). The work per call is
    /// bounded: when keys are matched in Swift (attribute blobs, sequences) and few rows
    /// match, a page may hold fewer than `limit` matches, even none, with a non-nil
    /// `next`; keep calling until `next` is nil. `limit` ≤ 0 means no limit.
    public func find(_ request: FindRequest, after token: ResumeToken?, limit: Int) throws -> FindPage {
        try find(request, after: token, limit: limit, maxExaminedRows: FindPlan.maxExaminedRowsPerPage)
    }

    func find(_ request: FindRequest, after token: ResumeToken?, limit: Int, maxExaminedRows: Int) throws -> FindPage {
        let plan = FindPlan(request)
        return try pool.read { db in
            try plan.run(db, after: token?.value ?? 0, limit: limit, maxExaminedRows: maxExaminedRows)
        }
    }

    /// One page of matches encoded for the wire, straight from the rows: byte for byte what
    /// `encoding.encode(_:)` gives for each data set of `find` (deflated transfer syntaxes
    /// take that path), without building a data set per match.
    public func findEncoded(
        _ request: FindRequest, after token: ResumeToken?, limit: Int,
        encoding: IdentifierEncoding
    ) throws -> EncodedFindPage {
        try findEncoded(
            request, after: token, limit: limit, encoding: encoding,
            maxExaminedRows: FindPlan.maxExaminedRowsPerPage)
    }

    func findEncoded(
        _ request: FindRequest, after token: ResumeToken?, limit: Int, encoding: IdentifierEncoding,
        maxExaminedRows: Int
    ) throws -> EncodedFindPage {
        if encoding.transferSyntax.isDeflated {
            return try EncodedFindPage(
                find(request, after: token, limit: limit, maxExaminedRows: maxExaminedRows),
                encoding: encoding)
        }
        let plan = FindPlan(request)
        let encoder = try IdentifierWriter(plan: plan, encoding: encoding)
        return try pool.read { db in
            try plan.runEncoded(
                db, encoder: encoder, after: token?.value ?? 0, limit: limit,
                maxExaminedRows: maxExaminedRows)
        }
    }
}

extension SQLiteIndexStore {
    /// SQLite's plan for a request's first page (diagnostics, tests).
    public func explain(_ request: FindRequest) throws -> [String] {
        let plan = FindPlan(request)
        return try pool.read { db in
            var args: [DatabaseValueConvertible?] = [Int64(0)]
            args.append(contentsOf: plan.arguments)
            args.append(101)
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + plan.sql, arguments: StatementArguments(args))
                .map { $0["detail"] as String }
        }
    }
}
