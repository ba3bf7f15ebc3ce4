// SPDX-License-Identifier: Apache-2.0
import DICOM
import GRDB

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
        "instance i JOIN series se ON se.id = i.series_ref JOIN study s ON s.id = se.study_ref"
            + " JOIN patient p ON p.id = s.patient_ref",
    ]
    private static let blobExpr = ["p.attrs", "s.attrs", "se.attrs", "i.attrs"]

    /// Translates the request's keys into SQL conditions, Swift-side filters and outputs.
    init(_ request: FindRequest) {
        level = request.level
        let depth = AttributeLevels.depth(level)
        let identifier = request.identifier
        let characterSet = identifier.characterSet()
        for element in identifier {
            let tag = element.tag
            if tag == Tag(0x0008, 0x0056) {  // Instance Availability
                outputs.append(Output(tag: tag, vr: .CS, source: .constant("ONLINE")))
                continue
            }
            if tag.isPrivate {
                // Private attributes are not indexed: creators are echoed, data elements
                // returned zero-length with FF01.
                if tag.isPrivateCreator {
                    outputs.append(Output(tag: tag, vr: .LO, source: .constant(identifier.string(tag) ?? "")))
                } else {
                    unsupported = true
                    let vr = element.vr == .SQ ? .SQ : (element.vr == .UN ? .UN : element.vr)
                    outputs.append(Output(tag: tag, vr: vr, source: .empty))
                }
                continue
            }
            guard FindRequest.isKey(tag) else { continue }
            let stored = AttributeLevels.level(of: tag)
            let storedDepth = AttributeLevels.depth(stored.level)
            let requestVR = element.vr == .UN ? DataDictionary.implicitVR(for: tag) : element.vr
            if storedDepth > depth || (!stored.isKnown && depth < 3) {
                unsupported = true
                outputs.append(Output(tag: tag, vr: requestVR, source: .empty))
                continue
            }
            let value = identifier.decodedString(tag, inherited: characterSet) ?? ""
            if let key = ColumnKey.all[tag] {
                addColumnKey(key, value: value)
            } else if let key = ComputedKey.all[tag] {
                addComputedKey(key, value: value)
            } else if case .sequence(let items) = element.value {
                let query = items.first ?? DataSet()
                let itemCharacterSet = identifier.characterSet(inherited: characterSet)
                addSequenceKey(tag, query: query, characterSet: itemCharacterSet, depth: storedDepth)
            } else {
                needBlob(storedDepth)
                let matcher = ValueMatcher.make(vr: requestVR, value: value)
                if !matcher.isUniversal {
                    filters.append(.value(level: storedDepth, tag: tag, vr: requestVR, matcher: matcher))
                }
                outputs.append(Output(tag: tag, vr: requestVR, source: .blob(level: storedDepth, tag: tag)))
            }
        }
        finishOutputs()
    }

    /// A key with a column: matched in SQL, returned from the column.
    private mutating func addColumnKey(_ key: ColumnKey, value: String) {
        let matcher = ValueMatcher.make(vr: key.vr, value: value)
        if let (sql, args) = FindPlan.condition(matcher, column: key.matchColumn, kind: key.kind) {
            conditions.append(sql)
            arguments.append(contentsOf: args)
        }
        selects.append(key.column)
        outputs.append(Output(tag: key.tag, vr: key.vr, source: .column(selects.count)))
    }

    /// A key computed at query time: a count matched as an integer, or a list matched with EXISTS
    /// (a backslash list in the request matches an entity having any of its values).
    private mutating func addComputedKey(_ key: ComputedKey, value: String) {
        let matcher = ValueMatcher.make(vr: key.vr == .UI ? .UI : key.vr, value: value)
        if !matcher.isUniversal {
            if let template = key.existsTemplate, let column = key.existsColumn {
                var listMatcher = matcher
                if case .single(let single) = matcher, single.contains("\\") {
                    listMatcher = .list(single.split(separator: "\\").map { TextValues.trimmed(String($0)) })
                }
                if let (sql, args) = FindPlan.condition(listMatcher, column: column, kind: .text) {
                    conditions.append(template.replacingOccurrences(of: "%@", with: sql))
                    arguments.append(contentsOf: args)
                }
            } else if let (sql, args) = FindPlan.condition(matcher, column: key.select, kind: .integer) {
                conditions.append(sql)
                arguments.append(contentsOf: args)
            }
        }
        selects.append(key.select)
        let source: Source = key.existsTemplate == nil ? .column(selects.count) : .list(selects.count)
        outputs.append(Output(tag: key.tag, vr: key.vr, source: source))
    }

    /// A sequence key (C.2.2.2.6): its one request item's sub-keys are matched in Swift against
    /// the items stored in the attribute blob at `depth`.
    private mutating func addSequenceKey(_ tag: Tag, query: DataSet, characterSet: SpecificCharacterSet, depth: Int) {
        var subKeys: [SubKeyMatcher] = []
        for subKey in query {
            let vr = subKey.vr == .UN ? DataDictionary.implicitVR(for: subKey.tag) : subKey.vr
            if vr == .SQ || subKey.tag.isGroupLength { continue }
            let value = query.decodedString(subKey.tag, inherited: characterSet) ?? ""
            subKeys.append(SubKeyMatcher(tag: subKey.tag, vr: vr, matcher: ValueMatcher.make(vr: vr, value: value)))
        }
        needBlob(depth)
        if subKeys.contains(where: { !$0.matcher.isUniversal }) {
            filters.append(.sequence(level: depth, tag: tag, matchers: subKeys))
        }
        let source = Source.sequence(level: depth, tag: tag, query: query, matchers: subKeys)
        outputs.append(Output(tag: tag, vr: .SQ, source: source))
    }

    private mutating func finishOutputs() {
        outputs.sort { $0.tag < $1.tag }
        levelSlot = outputs.firstIndex { $0.tag > .queryRetrieveLevel } ?? outputs.count
        charsetSlot = outputs.firstIndex { $0.tag > .specificCharacterSet } ?? outputs.count
        if levelSlot < charsetSlot { charsetSlot += 1 } else { charsetSlot = min(charsetSlot, levelSlot) }
        levelElement = FindPlan.text(.queryRetrieveLevel, .CS, level.rawValue)
    }

    /// Selects the attribute blob of the level at `depth` (once).
    private mutating func needBlob(_ depth: Int) {
        if blobColumn[depth] == nil {
            selects.append(FindPlan.blobExpr[depth])
            blobColumn[depth] = selects.count
        }
    }
}
