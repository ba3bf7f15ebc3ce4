// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import HTTP1

/// A QIDO-RS search (PS3.18 §10.6) translated into the C-FIND request the index answers: the
/// same `FindRequest`, the same matching engine, the same paging.
///
/// - Match keys: `{attributeID}={value}` with a keyword (`PatientID`) or a tag (`00100020`);
///   wild cards, date/time ranges and empty-value matching as for C-FIND; UID lists (and
///   Modalities in Study) as comma- or backslash-separated values.
/// - `includefield`: keywords or tags, comma-separated or repeated, or `all`; attributes below
///   the query level are ignored (a viewer asks for Modality at the study level).
/// - `fuzzymatching=true`: person names match as a case-insensitive prefix.
/// - `limit`, `offset`: non-negative integers.
public struct QIDOQuery: Sendable {
    public var request: FindRequest
    public var limit: Int?
    public var offset: Int
    public var fuzzyMatching: Bool

    /// A search the server cannot run: answered 400 with ``message``.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    /// Parses a search at `level` with the UIDs the path fixed (`study`, `series`) and the query.
    public init(level: QueryLevel, study: String?, series: String?, query: [(name: String, value: String)])
        throws(Invalid)
    {
        var identifier = DataSet()
        identifier.set(.queryRetrieveLevel, vr: .CS, string: level.rawValue)
        var limit: Int?
        var offset = 0
        var fuzzy = false
        var includes: [Tag] = []
        var matches: [(Tag, String)] = []
        for (name, value) in query {
            switch name {
            case "limit": limit = try Self.count(name, value)
            case "offset": offset = try Self.count(name, value)
            case "fuzzymatching":
                guard value == "true" || value == "false" else { throw Invalid("fuzzymatching must be true or false") }
                fuzzy = value == "true"
            case "includefield":
                for item in value.split(separator: ",").map({ $0.trimmingWhitespace() }) where !item.isEmpty {
                    if item == "all" {
                        includes += QIDOReturnKeys.all(at: level)
                    } else {
                        includes.append(try Self.tag(String(item)))
                    }
                }
            default:
                let tag = try Self.tag(name)
                let keyLevel = FindRequest.attributeLevel(of: tag, model: .studyRoot)
                if keyLevel.isKnown, FindRequest.isLevel(keyLevel.level, below: level) {
                    throw Invalid(
                        "\(name) is a \(keyLevel.level.rawValue) level attribute: not a key of a \(level.rawValue) level search"
                    )
                }
                if let previous = matches.firstIndex(where: { $0.0 == tag }) {
                    guard Self.takesList(tag) else { throw Invalid("\(name) is given more than once") }
                    matches[previous].1 += "\\" + value
                } else {
                    matches.append((tag, value))
                }
            }
        }
        for (tag, value) in matches {
            let vr = Self.vr(of: tag)
            var text = Self.takesList(tag) ? value.replacingCommas() : value
            if fuzzy, vr == .PN, !text.isEmpty, !text.contains("*"), !text.contains("?") { text += "*" }
            identifier.set(tag, vr: vr, string: text)
        }
        if let study { identifier.set(Tag(0x0020, 0x000D), vr: .UI, string: study) }
        if let series { identifier.set(Tag(0x0020, 0x000E), vr: .UI, string: series) }
        var returned = QIDOReturnKeys.defaults(at: level, studyFixed: study != nil, seriesFixed: series != nil)
        for tag in includes {
            let keyLevel = FindRequest.attributeLevel(of: tag, model: .studyRoot)
            if keyLevel.isKnown, FindRequest.isLevel(keyLevel.level, below: level) { continue }
            returned.append(tag)
        }
        for tag in returned where identifier[tag] == nil {
            identifier.set(tag, vr: Self.vr(of: tag), string: "")
        }
        do {
            request = try FindRequest(model: .studyRoot, identifier: identifier, relational: true)
        } catch {
            throw Invalid(error.comment)
        }
        self.limit = limit
        self.offset = offset
        self.fuzzyMatching = fuzzy
    }

    /// A keyword or an 8-digit hex tag, public attributes only.
    static func tag(_ name: String) throws(Invalid) -> Tag {
        if name.contains(".") { throw Invalid("\(name): sequence keys are not supported in searches") }
        var tag: Tag?
        if name.utf8.count == 8, let value = UInt32(name, radix: 16) {
            tag = Tag(value)
        } else {
            tag = DataDictionary.tag(forKeyword: name)
        }
        guard let tag else { throw Invalid("unknown query parameter or attribute '\(name)'") }
        if tag.isPrivate { throw Invalid("\(name): private attributes are not indexed") }
        if tag.group < 0x0008 || tag == .queryRetrieveLevel || tag.group == 0x7FE0 {
            throw Invalid("\(name) is not a search key")
        }
        return tag
    }

    static func vr(of tag: Tag) -> VR {
        let vr = DataDictionary.entry(for: tag)?.vr ?? .UN
        return vr == .UN ? .LO : vr
    }

    /// UI keys and Modalities in Study take a list of values.
    private static func takesList(_ tag: Tag) -> Bool { vr(of: tag) == .UI || tag == Tag(0x0008, 0x0061) }

    static func count(_ name: String, _ value: String) throws(Invalid) -> Int {
        guard !value.isEmpty, value.utf8.count <= 9, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let n = Int(value)
        else {
            throw Invalid("\(name) must be a non-negative integer")
        }
        return n
    }
}

extension String {
    /// Commas as DICOM value separators (backslash), for list values given the DICOMweb way.
    func replacingCommas() -> String { String(map { $0 == "," ? "\\" : $0 }) }
}
