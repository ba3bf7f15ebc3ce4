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

    /// Validates the identifier against the model (QR-01): Query/Retrieve Level present
    /// and valid for the model. Hierarchical key rules (QR-02) are checked by the index.
    public init(model: QueryModel, identifier: DataSet) throws(QueryError) {
        guard let levelText = identifier.string(.queryRetrieveLevel) else {
            throw QueryError(status: 0xA900, comment: "Query/Retrieve Level (0008,0052) missing", offendingElements: [.queryRetrieveLevel])
        }
        guard let level = QueryLevel(rawValue: levelText.uppercased()) else {
            throw QueryError(status: 0xA900, comment: "invalid Query/Retrieve Level '\(levelText)'", offendingElements: [.queryRetrieveLevel])
        }
        if model == .studyRoot, level == .patient {
            throw QueryError(status: 0xA900, comment: "PATIENT level is not valid in the Study Root model", offendingElements: [.queryRetrieveLevel])
        }
        self.model = model
        self.level = level
        self.identifier = identifier
    }
}

extension Tag {
    /// Query/Retrieve Level (0008,0052).
    public static let queryRetrieveLevel = Tag(0x0008, 0x0052)
}
