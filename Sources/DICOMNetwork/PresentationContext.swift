// SPDX-License-Identifier: Apache-2.0
/// The DICOM application context name (PS3.7 Annex A.2.1).
public let dicomApplicationContextName = "1.2.840.10008.3.1.1.1"

/// A proposed presentation context, item 20H of A-ASSOCIATE-RQ (PS3.8 §9.3.2.2):
/// context ID (odd, 1–255), one abstract syntax (30H), one or more transfer syntaxes (40H).
public struct PresentationContextProposal: Sendable, Hashable {
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntaxes: [String]

    public init(id: UInt8, abstractSyntax: String, transferSyntaxes: [String]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }
}

/// Result/reason of a presentation context in A-ASSOCIATE-AC (PS3.8 §9.3.3.2, Table 9-18; UL-10).
public struct PresentationContextResultReason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let acceptance = Self(rawValue: 0)
    public static let userRejection = Self(rawValue: 1)
    public static let noReason = Self(rawValue: 2)
    public static let abstractSyntaxNotSupported = Self(rawValue: 3)
    public static let transferSyntaxesNotSupported = Self(rawValue: 4)

    public var isAccepted: Bool { rawValue == 0 }

    public var description: String {
        switch rawValue {
        case 0: return "acceptance"
        case 1: return "user-rejection"
        case 2: return "no-reason (provider rejection)"
        case 3: return "abstract-syntax-not-supported"
        case 4: return "transfer-syntaxes-not-supported"
        default: return "result \(rawValue)"
        }
    }
}

/// An answered presentation context, item 21H of A-ASSOCIATE-AC (PS3.8 §9.3.3.2):
/// context ID, result/reason and exactly one transfer syntax (40H), whose value is not significant
/// when the context is rejected.
public struct PresentationContextResult: Sendable, Hashable {
    public var id: UInt8
    public var result: PresentationContextResultReason
    public var transferSyntax: String

    public init(id: UInt8, result: PresentationContextResultReason, transferSyntax: String) {
        self.id = id
        self.result = result
        self.transferSyntax = transferSyntax
    }
}
