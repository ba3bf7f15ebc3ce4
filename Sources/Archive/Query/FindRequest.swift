// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Query/Retrieve information models (PS3.4 C.6).
public enum QueryModel: String, Sendable, Hashable, CaseIterable {
    case patientRoot
    case studyRoot

    /// The model of a C-FIND/C-MOVE/C-GET SOP Class UID, or nil for any other.
    public init?(sopClassUID: String) {
        switch sopClassUID {
        case "1.2.840.10008.5.1.4.1.2.1.1", "1.2.840.10008.5.1.4.1.2.1.2", "1.2.840.10008.5.1.4.1.2.1.3":
            self = .patientRoot
        case "1.2.840.10008.5.1.4.1.2.2.1", "1.2.840.10008.5.1.4.1.2.2.2", "1.2.840.10008.5.1.4.1.2.2.3":
            self = .studyRoot
        default:
            return nil
        }
    }
}

/// Query/Retrieve Level (0008,0052).
public enum QueryLevel: String, Sendable, Hashable, CaseIterable {
    case patient = "PATIENT"
    case study = "STUDY"
    case series = "SERIES"
    case image = "IMAGE"
}

extension QueryLevel {
    /// The Query/Retrieve Level (0008,0052) of a C-FIND, C-GET or C-MOVE identifier: A900 when it
    /// is missing or empty, not one of the four levels, or PATIENT in the Study Root model.
    static func of(_ identifier: DataSet, model: QueryModel) throws(QueryError) -> QueryLevel {
        guard let levelText = identifier.string(.queryRetrieveLevel), !levelText.isEmpty else {
            throw QueryError(
                status: 0xA900, comment: "Query/Retrieve Level (0008,0052) missing",
                offendingElements: [.queryRetrieveLevel])
        }
        guard let level = QueryLevel(rawValue: levelText.uppercased()) else {
            throw QueryError(
                status: 0xA900, comment: "invalid Query/Retrieve Level '\(levelText)'",
                offendingElements: [.queryRetrieveLevel])
        }
        if model == .studyRoot, level == .patient {
            throw QueryError(
                status: 0xA900, comment: "PATIENT level is not valid in the Study Root model",
                offendingElements: [.queryRetrieveLevel])
        }
        return level
    }
}

/// A C-FIND request that failed validation, with the DIMSE status to answer and the
/// text for Error Comment (0000,0902) (PS3.4 C.4.1.1.4, PS3.7 C.4).
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A900 (identifier does not match SOP class) or a Cxxx "unable to process" code.
    public var status: UInt16
    public var comment: String
    public var offendingElements: [Tag]

    public init(status: UInt16, comment: String, offendingElements: [Tag] = []) {
        self.status = status
        self.comment = comment
        self.offendingElements = offendingElements
    }

    public var description: String { "status \(String(status, radix: 16, uppercase: true)): \(comment)" }
}

/// A validated C-FIND request: model, level and the identifier as received.
public struct FindRequest: Sendable {
    public var model: QueryModel
    public var level: QueryLevel
    /// The request identifier, decoded from the negotiated transfer syntax.
    public var identifier: DataSet

    /// True for relational queries (PS3.4 C.4.1.2.2, negotiated via extended negotiation):
    /// the hierarchical key rules (QR-02) are not applied.
    public var isRelational: Bool = false

    /// Validates the identifier against the model for a baseline hierarchical query
    /// (QR-01, QR-02): see `init(model:identifier:relational:)`.
    public init(model: QueryModel, identifier: DataSet) throws(QueryError) {
        try self.init(model: model, identifier: identifier, relational: false)
    }

    /// Validates the identifier against the model:
    /// - QR-01: Query/Retrieve Level present and valid for the model, else A900.
    /// - QR-02 (unless `relational`; PS3.4 C.4.1.2.1, C.4.1.3.1): every level above the
    ///   requested one carries its unique key (Patient ID in the Patient Root model,
    ///   Study Instance UID, Series Instance UID) with a single value (no wild card, no
    ///   list, not empty), else A900. Keys of a level below the requested one → A900.
    ///   Other keys of a level above the requested one are accepted only when
    ///   zero-length (they are then returned, not matched), else A900. In the Study
    ///   Root model the patient attributes are STUDY level keys. Attributes whose level
    ///   is not known to us are not rejected (see `FindPage.hasUnsupportedOptionalKeys`).
    public init(model: QueryModel, identifier: DataSet, relational: Bool) throws(QueryError) {
        let level = try QueryLevel.of(identifier, model: model)
        self.model = model
        self.level = level
        self.identifier = identifier
        self.isRelational = relational
        if !relational { try FindRequest.checkHierarchy(model: model, level: level, identifier: identifier) }
    }

    /// The unique key of a level (PS3.4 C.6).
    static func uniqueKey(of level: QueryLevel) -> (tag: Tag, name: String) {
        switch level {
        case .patient: return (Tag(0x0010, 0x0020), "Patient ID")
        case .study: return (Tag(0x0020, 0x000D), "Study Instance UID")
        case .series: return (Tag(0x0020, 0x000E), "Series Instance UID")
        case .image: return (Tag(0x0008, 0x0018), "SOP Instance UID")
        }
    }

    /// The level an attribute is a key of in `model` (Study Root: patient keys are
    /// STUDY level keys), and whether we know its level.
    static func keyLevel(of tag: Tag, model: QueryModel) -> (level: QueryLevel, isKnown: Bool) {
        var key = AttributeLevels.level(of: tag)
        if model == .studyRoot, key.level == .patient { key.level = .study }
        return key
    }

    /// Whether a tag takes part in matching/returning at all (not command, meta,
    /// group length, private, or one of the keys valid at any level).
    static func isKey(_ tag: Tag) -> Bool {
        !(tag.group < 0x0008 || tag.isGroupLength || tag.isPrivate || AttributeLevels.anyLevel.contains(tag))
    }

    private static func checkHierarchy(model: QueryModel, level: QueryLevel, identifier: DataSet) throws(QueryError) {
        let depth = AttributeLevels.depth(level)
        let top = model == .patientRoot ? 0 : 1
        if depth > top {
            for upperDepth in top..<depth {
                let upper = QueryLevel.allCases[upperDepth]
                let (tag, name) = uniqueKey(of: upper)
                let value = identifier.string(tag) ?? ""
                if value.isEmpty || value.contains(where: { $0 == "*" || $0 == "?" || $0 == "\\" }) {
                    throw QueryError(
                        status: 0xA900,
                        comment: "\(name) \(tag) with a single value is required above the \(level.rawValue) level",
                        offendingElements: [tag])
                }
            }
        }
        for element in identifier where isKey(element.tag) {
            let (keyLevel, known) = keyLevel(of: element.tag, model: model)
            let keyDepth = AttributeLevels.depth(keyLevel)
            if keyDepth > depth {
                guard known else { continue }
                throw QueryError(
                    status: 0xA900,
                    comment:
                        "key \(element.tag) is a \(keyLevel.rawValue) level key, below the \(level.rawValue) query level",
                    offendingElements: [element.tag])
            }
            if keyDepth < depth, element.tag != uniqueKey(of: keyLevel).tag, !isEmptyValue(element) {
                throw QueryError(
                    status: 0xA900,
                    comment: "non-unique key \(element.tag) of the \(keyLevel.rawValue) level must be zero-length"
                        + " in a \(level.rawValue) level query",
                    offendingElements: [element.tag])
            }
        }
    }

    private static func isEmptyValue(_ element: DataElement) -> Bool {
        switch element.value {
        case .bytes(let bytes): return bytes.allSatisfy { $0 == 0x20 || $0 == 0 }
        case .sequence(let items): return items.allSatisfy(\.isEmpty)
        case .fragments(let fragments): return fragments.isEmpty
        }
    }
}

extension Tag {
    /// Query/Retrieve Level (0008,0052).
    public static let queryRetrieveLevel = Tag(0x0008, 0x0052)
}
