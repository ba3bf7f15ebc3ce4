import DICOM
import Foundation
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
    public func findEncoded(_ request: FindRequest, after token: ResumeToken?, limit: Int,
                            encoding: IdentifierEncoding) throws -> EncodedFindPage {
        try findEncoded(request, after: token, limit: limit, encoding: encoding,
                        maxExaminedRows: FindPlan.maxExaminedRowsPerPage)
    }

    func findEncoded(_ request: FindRequest, after token: ResumeToken?, limit: Int, encoding: IdentifierEncoding,
                     maxExaminedRows: Int) throws -> EncodedFindPage {
        if encoding.transferSyntax.isDeflated {
            return try EncodedFindPage(find(request, after: token, limit: limit, maxExaminedRows: maxExaminedRows),
                                       encoding: encoding)
        }
        let plan = FindPlan(request)
        let encoder = try IdentifierWriter(plan: plan, encoding: encoding)
        return try pool.read { db in
            try plan.runEncoded(db, encoder: encoder, after: token?.value ?? 0, limit: limit,
                                maxExaminedRows: maxExaminedRows)
        }
    }
}

/// The SQL column behind a key.
struct ColumnKey: Sendable {
    enum Kind: Sendable { case text, pn, uid, temporal, integer }
    let tag: Tag
    let level: QueryLevel
    let vr: VR
    let column: String
    let matchColumn: String
    let kind: Kind

    init(_ tag: Tag, _ level: QueryLevel, _ vr: VR, _ column: String, _ kind: Kind, match: String? = nil) {
        self.tag = tag; self.level = level; self.vr = vr; self.column = column; self.kind = kind
        matchColumn = match ?? column
    }

    static let all: [Tag: ColumnKey] = {
        let keys = [
            ColumnKey(Tag(0x0010, 0x0010), .patient, .PN, "p.name", .pn, match: "p.name_norm"),
            ColumnKey(Tag(0x0010, 0x0020), .patient, .LO, "p.patient_id", .text),
            ColumnKey(Tag(0x0010, 0x0021), .patient, .LO, "p.issuer", .text),
            ColumnKey(Tag(0x0010, 0x0030), .patient, .DA, "p.birth_date", .temporal),
            ColumnKey(Tag(0x0010, 0x0040), .patient, .CS, "p.sex", .text),
            ColumnKey(Tag(0x0020, 0x000D), .study, .UI, "s.study_uid", .uid),
            ColumnKey(Tag(0x0008, 0x0020), .study, .DA, "s.study_date", .temporal),
            ColumnKey(Tag(0x0008, 0x0030), .study, .TM, "s.study_time", .temporal),
            ColumnKey(Tag(0x0008, 0x0050), .study, .SH, "s.accession", .text),
            ColumnKey(Tag(0x0020, 0x0010), .study, .SH, "s.study_id", .text),
            ColumnKey(Tag(0x0008, 0x0090), .study, .PN, "s.ref_phys", .pn, match: "s.ref_phys_norm"),
            ColumnKey(Tag(0x0008, 0x1030), .study, .LO, "s.description", .text),
            ColumnKey(Tag(0x0020, 0x000E), .series, .UI, "se.series_uid", .uid),
            ColumnKey(Tag(0x0008, 0x0060), .series, .CS, "se.modality", .text),
            ColumnKey(Tag(0x0020, 0x0011), .series, .IS, "se.series_number", .integer),
            ColumnKey(Tag(0x0008, 0x0021), .series, .DA, "se.series_date", .temporal),
            ColumnKey(Tag(0x0008, 0x0031), .series, .TM, "se.series_time", .temporal),
            ColumnKey(Tag(0x0008, 0x0018), .image, .UI, "i.sop_uid", .uid),
            ColumnKey(Tag(0x0008, 0x0016), .image, .UI, "i.sop_class", .uid),
            ColumnKey(Tag(0x0020, 0x0013), .image, .IS, "i.instance_number", .integer),
        ]
        return Dictionary(uniqueKeysWithValues: keys.map { ($0.tag, $0) })
    }()
}

/// Keys computed from the index at query time (PS3.4 C.6.1.1.x, C.6.2.1.x).
struct ComputedKey: Sendable {
    let tag: Tag
    let level: QueryLevel
    let vr: VR
    /// Expression returning the value (a count, or a comma-separated distinct list).
    let select: String
    /// For list keys: EXISTS template with `%@` standing for the condition on `c.value`.
    let existsTemplate: String?
    /// The column inside `existsTemplate` the condition applies to.
    let existsColumn: String?

    static let all: [Tag: ComputedKey] = {
        let keys = [
            ComputedKey(tag: Tag(0x0020, 0x1200), level: .patient, vr: .IS,
                        select: "(SELECT COUNT(*) FROM study c WHERE c.patient_ref = p.id)", existsTemplate: nil, existsColumn: nil),
            ComputedKey(tag: Tag(0x0020, 0x1202), level: .patient, vr: .IS,
                        select: "(SELECT COUNT(*) FROM series c JOIN study d ON d.id = c.study_ref WHERE d.patient_ref = p.id)",
                        existsTemplate: nil, existsColumn: nil),
            ComputedKey(tag: Tag(0x0020, 0x1204), level: .patient, vr: .IS,
                        select: "(SELECT COUNT(*) FROM instance c JOIN study d ON d.id = c.study_ref WHERE d.patient_ref = p.id)",
                        existsTemplate: nil, existsColumn: nil),
            ComputedKey(tag: Tag(0x0020, 0x1206), level: .study, vr: .IS,
                        select: "(SELECT COUNT(*) FROM series c WHERE c.study_ref = s.id)", existsTemplate: nil, existsColumn: nil),
            ComputedKey(tag: Tag(0x0020, 0x1208), level: .study, vr: .IS,
                        select: "(SELECT COUNT(*) FROM instance c WHERE c.study_ref = s.id)", existsTemplate: nil, existsColumn: nil),
            ComputedKey(tag: Tag(0x0020, 0x1209), level: .series, vr: .IS,
                        select: "(SELECT COUNT(*) FROM instance c WHERE c.series_ref = se.id)", existsTemplate: nil, existsColumn: nil),
            ComputedKey(tag: Tag(0x0008, 0x0061), level: .study, vr: .CS,
                        select: "(SELECT group_concat(DISTINCT c.modality) FROM series c WHERE c.study_ref = s.id)",
                        existsTemplate: "EXISTS (SELECT 1 FROM series c WHERE c.study_ref = s.id AND %@)", existsColumn: "c.modality"),
            ComputedKey(tag: Tag(0x0008, 0x0062), level: .study, vr: .UI,
                        select: "(SELECT group_concat(DISTINCT c.sop_class) FROM instance c WHERE c.study_ref = s.id)",
                        existsTemplate: "EXISTS (SELECT 1 FROM instance c WHERE c.study_ref = s.id AND %@)", existsColumn: "c.sop_class"),
        ]
        return Dictionary(uniqueKeysWithValues: keys.map { ($0.tag, $0) })
    }()
}

/// A translated C-FIND request: SQL, Swift-side filters and response recipe.
struct FindPlan {
    enum Source {
        case column(Int)
        case list(Int)
        case blob(level: Int, tag: Tag)
        case sequence(level: Int, tag: Tag, query: DataSet, matchers: [SubKeyMatcher])
        case constant(String)
        case empty
    }

    struct Output {
        let tag: Tag
        let vr: VR
        let source: Source
    }

    struct SubKeyMatcher {
        let tag: Tag
        let vr: VR
        let matcher: ValueMatcher
    }

    enum Filter {
        case value(level: Int, tag: Tag, vr: VR, matcher: ValueMatcher)
        case sequence(level: Int, tag: Tag, matchers: [SubKeyMatcher])
    }

    let level: QueryLevel
    var selects: [String] = []
    var conditions: [String] = []
    var arguments: [DatabaseValueConvertible?] = []
    var outputs: [Output] = []
    var filters: [Filter] = []
    /// Column index in the row of each level's attribute blob, when needed.
    var blobColumn: [Int?] = [nil, nil, nil, nil]
    var unsupported = false
    /// Where Query/Retrieve Level and Specific Character Set go among the outputs.
    var levelSlot = 0
    var charsetSlot = 0
    var levelElement = DataElement(tag: .queryRetrieveLevel, vr: .CS, bytes: [])

    static let idColumn = ["p.id", "s.id", "se.id", "i.id"]
    static let from = [
        "patient p",
        "study s JOIN patient p ON p.id = s.patient_ref",
        "series se JOIN study s ON s.id = se.study_ref JOIN patient p ON p.id = s.patient_ref",
        "instance i JOIN series se ON se.id = i.series_ref JOIN study s ON s.id = se.study_ref JOIN patient p ON p.id = s.patient_ref",
    ]
    static let blobExpr = ["p.attrs", "s.attrs", "se.attrs", "i.attrs"]

    init(_ request: FindRequest) {
        level = request.level
        let depth = AttributeLevels.depth(level)
        let ids = request.identifier
        let cs = ids.characterSet()
        for e in ids {
            let tag = e.tag
            if tag == Tag(0x0008, 0x0056) { // Instance Availability
                outputs.append(Output(tag: tag, vr: .CS, source: .constant("ONLINE")))
                continue
            }
            if tag.isPrivate {
                // Private attributes are not indexed: creators are echoed, data elements
                // returned zero-length with FF01.
                if tag.isPrivateCreator {
                    outputs.append(Output(tag: tag, vr: .LO, source: .constant(ids.string(tag) ?? "")))
                } else {
                    unsupported = true
                    outputs.append(Output(tag: tag, vr: e.vr == .SQ ? .SQ : (e.vr == .UN ? .UN : e.vr), source: .empty))
                }
                continue
            }
            guard FindRequest.isKey(tag) else { continue }
            let stored = AttributeLevels.level(of: tag)
            let storedDepth = AttributeLevels.depth(stored.level)
            let requestVR = e.vr == .UN ? DataDictionary.implicitVR(for: tag) : e.vr
            if storedDepth > depth || (!stored.isKnown && depth < 3) {
                unsupported = true
                outputs.append(Output(tag: tag, vr: requestVR, source: .empty))
                continue
            }
            let value = ids.decodedString(tag, inherited: cs) ?? ""
            if let key = ColumnKey.all[tag] {
                let m = ValueMatcher.make(vr: key.vr, value: value)
                if let (sql, args) = FindPlan.condition(m, column: key.matchColumn, kind: key.kind) {
                    conditions.append(sql)
                    arguments.append(contentsOf: args)
                }
                selects.append(key.column)
                outputs.append(Output(tag: tag, vr: key.vr, source: .column(selects.count)))
            } else if let key = ComputedKey.all[tag] {
                let m = ValueMatcher.make(vr: key.vr == .UI ? .UI : key.vr, value: value)
                if !m.isUniversal {
                    if let template = key.existsTemplate, let col = key.existsColumn {
                        var mm = m
                        if case .single(let v) = m, v.contains("\\") {
                            mm = .list(v.split(separator: "\\").map { TextValues.trimmed(String($0)) })
                        }
                        if let (sql, args) = FindPlan.condition(mm, column: col, kind: .text) {
                            conditions.append(template.replacingOccurrences(of: "%@", with: sql))
                            arguments.append(contentsOf: args)
                        }
                    } else if let (sql, args) = FindPlan.condition(m, column: key.select, kind: .integer) {
                        conditions.append(sql)
                        arguments.append(contentsOf: args)
                    }
                }
                selects.append(key.select)
                outputs.append(Output(tag: tag, vr: key.vr,
                                      source: key.existsTemplate == nil ? .column(selects.count) : .list(selects.count)))
            } else if case .sequence(let items) = e.value {
                let lvl = storedDepth
                let query = items.first ?? DataSet()
                var subs: [SubKeyMatcher] = []
                for sub in query {
                    let vr = sub.vr == .UN ? DataDictionary.implicitVR(for: sub.tag) : sub.vr
                    if vr == .SQ || sub.tag.isGroupLength { continue }
                    let m = ValueMatcher.make(vr: vr, value: query.decodedString(sub.tag, inherited: ids.characterSet(inherited: cs)) ?? "")
                    subs.append(SubKeyMatcher(tag: sub.tag, vr: vr, matcher: m))
                }
                needBlob(lvl)
                if subs.contains(where: { !$0.matcher.isUniversal }) {
                    filters.append(.sequence(level: lvl, tag: tag, matchers: subs))
                }
                outputs.append(Output(tag: tag, vr: .SQ, source: .sequence(level: lvl, tag: tag, query: query, matchers: subs)))
            } else {
                let lvl = storedDepth
                needBlob(lvl)
                let m = ValueMatcher.make(vr: requestVR, value: value)
                if !m.isUniversal { filters.append(.value(level: lvl, tag: tag, vr: requestVR, matcher: m)) }
                outputs.append(Output(tag: tag, vr: requestVR, source: .blob(level: lvl, tag: tag)))
            }
        }
        finishOutputs()
    }

    private mutating func finishOutputs() {
        outputs.sort { $0.tag < $1.tag }
        levelSlot = outputs.firstIndex { $0.tag > .queryRetrieveLevel } ?? outputs.count
        charsetSlot = outputs.firstIndex { $0.tag > .specificCharacterSet } ?? outputs.count
        if levelSlot < charsetSlot { charsetSlot += 1 } else { charsetSlot = min(charsetSlot, levelSlot) }
        levelElement = FindPlan.text(.queryRetrieveLevel, .CS, level.rawValue)
    }

    private mutating func needBlob(_ lvl: Int) {
        if blobColumn[lvl] == nil {
            selects.append(FindPlan.blobExpr[lvl])
            blobColumn[lvl] = selects.count
        }
    }

    /// SQL condition for a matcher on a column; nil for universal matching.
    static func condition(_ m: ValueMatcher, column: String, kind: ColumnKey.Kind)
        -> (String, [DatabaseValueConvertible?])? {
        func bind(_ v: String) -> DatabaseValueConvertible? {
            if kind == .integer { return Int64(TextValues.trimmed(v)) }
            return v
        }
        switch m {
        case .universal:
            return nil
        case .never:
            return ("0", [])
        case .emptyValue:
            return kind == .integer ? ("\(column) IS NULL", []) : ("(\(column) IS NULL OR \(column) = '')", [])
        case .single(let v):
            if kind == .integer, Int64(TextValues.trimmed(v)) == nil { return ("0", []) }
            return ("\(column) = ?", [bind(v)])
        case .list(let l):
            let vals = l.map(bind).filter { $0 != nil }
            if vals.isEmpty { return ("0", []) }
            return ("\(column) IN (\(Array(repeating: "?", count: vals.count).joined(separator: ",")))", vals)
        case .range(let lo, let hi):
            var parts: [String] = []
            var args: [DatabaseValueConvertible?] = []
            if let lo { parts.append("\(column) >= ?"); args.append(lo) }
            if let hi { parts.append("\(column) <= ?"); args.append(hi) }
            return (parts.joined(separator: " AND "), args)
        case .wildcard(let p):
            var glob = ""
            var prefix = ""
            var inPrefix = true
            for ch in p {
                switch ch {
                case "*", "?": inPrefix = false; glob.append(ch)
                case "[": glob += "[[]"; if inPrefix { prefix.append(ch) }
                default: glob.append(ch); if inPrefix { prefix.append(ch) }
                }
            }
            let sql = "\(column) GLOB ?"
            let args: [DatabaseValueConvertible?] = [glob]
            guard !prefix.isEmpty, let upper = successor(of: prefix) else { return (sql, args) }
            // A pattern that is a literal prefix followed only by `*` is exactly the index
            // range [prefix, successor): no GLOB then. That matters beyond the scan: SQLite
            // re-prepares a statement whose GLOB pattern is a bound parameter every time it
            // is bound (to plan the range itself), which costs more than the query.
            if p.drop(while: { $0 != "*" && $0 != "?" }).allSatisfy({ $0 == "*" }) {
                return ("\(column) >= ? AND \(column) < ?", [prefix, upper])
            }
            return ("\(column) >= ? AND \(column) < ? AND " + sql, [prefix, upper, glob])
        }
    }

    /// The smallest string greater than every string starting with `prefix` (binary
    /// UTF-8 order = code point order), or nil.
    static func successor(of prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var v = last.value + 1
            if v == 0xD800 { v = 0xE000 }
            if let s = Unicode.Scalar(v) {
                scalars.append(s)
                var out = String.UnicodeScalarView()
                out.append(contentsOf: scalars)
                return String(out)
            }
        }
        return nil
    }

    var sql: String {
        let d = AttributeLevels.depth(level)
        let id = FindPlan.idColumn[d]
        var where_ = ["\(id) > ?"]
        where_.append(contentsOf: conditions)
        return "SELECT \(([id] + selects).joined(separator: ", ")) FROM \(FindPlan.from[d]) WHERE "
            + where_.joined(separator: " AND ") + " ORDER BY \(id) LIMIT ?"
    }

    /// Rows examined by Swift-side filters before a page is returned short.
    static let maxExaminedRowsPerPage = 20_000

    func run(_ db: Database, after: Int64, limit: Int, maxExaminedRows: Int = maxExaminedRowsPerPage) throws -> FindPage {
        var matches: [DataSet] = []
        matches.reserveCapacity(min(limit > 0 ? limit : 1024, 1024))
        let next = try forEachMatch(db, after: after, limit: limit, maxExaminedRows: maxExaminedRows) { row, _, blobs in
            matches.append(response(row, &blobs))
        }
        return FindPage(matches: matches, next: next, hasUnsupportedOptionalKeys: unsupported)
    }

    func runEncoded(_ db: Database, encoder: IdentifierWriter, after: Int64, limit: Int,
                    maxExaminedRows: Int = maxExaminedRowsPerPage) throws -> EncodedFindPage {
        let expected = min(limit > 0 ? limit : 1024, 1024)
        var bytes: [UInt8] = []
        var ends: [Int] = []
        bytes.reserveCapacity(expected * encoder.estimatedSize)
        ends.reserveCapacity(expected)
        let next = try forEachMatch(db, after: after, limit: limit, maxExaminedRows: maxExaminedRows) { row, stmt, blobs in
            do {
                try encoder.append(row, stmt, &blobs, into: &bytes)
            } catch {
                throw IdentifierEncodingError(description: "\(error)")
            }
            ends.append(bytes.count)
        }
        return EncodedFindPage(bytes: bytes, ends: ends, next: next, hasUnsupportedOptionalKeys: unsupported)
    }

    /// Runs the query from `after`, calling `body` for each match (at most `limit`), and
    /// returns where the next page resumes (nil when done). The row stays valid only
    /// during the call; `blobs` caches the decoded attribute blobs of the row.
    private func forEachMatch(_ db: Database, after: Int64, limit: Int, maxExaminedRows: Int,
                              _ body: (Row, Statement, inout [DataSet?]) throws -> Void) throws -> ResumeToken? {
        let pageSize = limit > 0 ? limit : Int.max / 4
        let stmt = try db.cachedStatement(sql: sql)
        var count = 0
        var position = after
        var lastReturned = after
        var examined = 0
        let chunk = filters.isEmpty ? pageSize + 1 : min(max(pageSize + 1, 256), max(1, maxExaminedRows))
        while true {
            var args: [DatabaseValueConvertible?] = [position]
            args.append(contentsOf: arguments)
            args.append(chunk)
            let cursor = try Row.fetchCursor(stmt, arguments: StatementArguments(args))
            var fetched = 0
            while let row = try cursor.next() {
                fetched += 1
                let id: Int64 = row[0]
                position = id
                var blobs: [DataSet?] = [nil, nil, nil, nil]
                if !filters.isEmpty, !passes(row, &blobs) { continue }
                if count == pageSize { return ResumeToken(lastReturned) }
                try body(row, stmt, &blobs)
                count += 1
                lastReturned = id
            }
            if fetched < chunk { break }
            examined += fetched
            if examined >= maxExaminedRows { return ResumeToken(position) }
        }
        return nil
    }

    @inline(__always)
    func blob(_ row: Row, _ lvl: Int, _ cache: inout [DataSet?]) -> DataSet {
        if let ds = cache[lvl] { return ds }
        guard let col = blobColumn[lvl] else { return DataSet() }
        let data: Data? = row[col]
        let ds = decodeAttrs(data.map { [UInt8]($0) })
        cache[lvl] = ds
        return ds
    }

    private func passes(_ row: Row, _ cache: inout [DataSet?]) -> Bool {
        for f in filters {
            switch f {
            case let .value(lvl, tag, vr, matcher):
                let ds = blob(row, lvl, &cache)
                if !matcher.matches(FindPlan.values(ds, tag), isPN: vr == .PN, vr: vr) { return false }
            case let .sequence(lvl, tag, matchers):
                let items = blob(row, lvl, &cache).items(tag) ?? []
                if !items.contains(where: { FindPlan.itemMatches($0, matchers) }) { return false }
            }
        }
        return true
    }

    static func values(_ ds: DataSet, _ tag: Tag) -> [String] {
        guard let e = ds[tag], case .bytes(let b) = e.value else { return [] }
        let s = String(decoding: b, as: UTF8.self)
        if e.vr.allowsMultipleStringValues {
            return s.split(separator: "\\", omittingEmptySubsequences: false).map { TextValues.trimmed(String($0)) }
        }
        if !e.vr.isString { return ds.numbers(tag)?.map { v in v == v.rounded() ? String(Int64(v)) : String(v) } ?? [] }
        return [TextValues.trimmed(s)]
    }

    static func itemMatches(_ item: DataSet, _ matchers: [SubKeyMatcher]) -> Bool {
        matchers.allSatisfy { $0.matcher.matches(values(item, $0.tag), isPN: $0.vr == .PN, vr: $0.vr) }
    }

    @inline(__always)
    static func text(_ tag: Tag, _ vr: VR, _ s: String) -> DataElement {
        var b = Array(s.utf8)
        if b.count & 1 == 1 { b.append(vr.paddingByte) }
        return DataElement(tag: tag, vr: vr, bytes: b[...])
    }

    static let emptyBytes: ArraySlice<UInt8> = []

    /// Builds the response identifier; elements are produced in tag order (the request's
    /// order), with Query/Retrieve Level and Specific Character Set slotted in.
    private func response(_ row: Row, _ cache: inout [DataSet?]) -> DataSet {
        var elements: [DataElement] = []
        elements.reserveCapacity(outputs.count + 2)
        var nonASCII = false
        for (n, out) in outputs.enumerated() {
            if n == levelSlot { elements.append(levelElement) }
            elements.append(element(out, row, &cache, &nonASCII))
        }
        if levelSlot == outputs.count { elements.append(levelElement) }
        if nonASCII {
            elements.insert(FindPlan.text(.specificCharacterSet, .CS, "ISO_IR 192"), at: charsetSlot)
        }
        return DataSet(elements)
    }

    /// The response element for one output; sets `nonASCII` when its text needs
    /// Specific Character Set ISO_IR 192.
    func element(_ out: Output, _ row: Row, _ cache: inout [DataSet?], _ nonASCII: inout Bool) -> DataElement {
        switch out.source {
        case .column(let i):
            let dbv = row[i] as DatabaseValue
            switch dbv.storage {
            case .string(let s):
                if !nonASCII, TextValues.isCharsetText(out.vr), s.utf8.contains(where: { $0 >= 0x80 }) { nonASCII = true }
                return FindPlan.text(out.tag, out.vr, s)
            case .int64(let v): return FindPlan.text(out.tag, out.vr, String(v))
            case .double(let v): return FindPlan.text(out.tag, out.vr, String(v))
            default: return DataElement(tag: out.tag, vr: out.vr, bytes: FindPlan.emptyBytes)
            }
        case .list(let i):
            let s: String? = row[i]
            let values = (s ?? "").split(separator: ",").map(String.init).sorted()
            return FindPlan.text(out.tag, out.vr, values.joined(separator: "\\"))
        case let .blob(lvl, tag):
            if let e = blob(row, lvl, &cache)[tag] {
                if !nonASCII, TextValues.hasNonASCII(e) { nonASCII = true }
                return e
            }
            return DataElement(tag: out.tag, vr: out.vr, bytes: FindPlan.emptyBytes)
        case let .sequence(lvl, tag, query, matchers):
            let stored = blob(row, lvl, &cache).items(tag) ?? []
            var items: [DataSet] = []
            for item in stored where FindPlan.itemMatches(item, matchers) {
                if query.isEmpty { items.append(item); continue }
                var reduced = DataSet()
                for q in query {
                    if let e = item[q.tag] { reduced.set(e) } else { reduced.set(q.tag, vr: q.vr, bytes: []) }
                }
                items.append(reduced)
            }
            let e = DataElement(tag: tag, items: items)
            if !nonASCII, TextValues.hasNonASCII(e) { nonASCII = true }
            return e
        case .constant(let s):
            return FindPlan.text(out.tag, out.vr, s)
        case .empty:
            return out.vr == .SQ ? DataElement(tag: out.tag, items: [])
                : DataElement(tag: out.tag, vr: out.vr, bytes: FindPlan.emptyBytes)
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
