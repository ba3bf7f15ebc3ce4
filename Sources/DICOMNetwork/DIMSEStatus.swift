// SPDX-License-Identifier: Apache-2.0
/// A DIMSE status code (0000,0900) with the classification of PS3.7 Annex C (and the per-service
/// tables of PS3.4): success, pending, cancel, warning, failure.
public struct DIMSEStatus: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let success = DIMSEStatus(0x0000)
    public static let pending = DIMSEStatus(0xFF00)
    /// C-FIND pending: one or more optional keys not supported.
    public static let pendingWithWarning = DIMSEStatus(0xFF01)
    public static let cancel = DIMSEStatus(0xFE00)
    /// Warning: sub-operations complete, one or more failures (MOVE/GET); coercion of data elements (STORE).
    public static let warning = DIMSEStatus(0xB000)
    public static let elementsDiscarded = DIMSEStatus(0xB006)
    public static let dataSetDoesNotMatchSOPClassWarning = DIMSEStatus(0xB007)
    /// Refused: out of resources (C-FIND; C-STORE uses A7xx).
    public static let outOfResources = DIMSEStatus(0xA700)
    /// Refused: out of resources, unable to calculate number of matches (MOVE/GET).
    public static let outOfResourcesUnableToCalculateMatches = DIMSEStatus(0xA701)
    /// Refused: out of resources, unable to perform sub-operations (MOVE/GET).
    public static let outOfResourcesUnableToPerformSubOperations = DIMSEStatus(0xA702)
    /// Refused: move destination unknown.
    public static let moveDestinationUnknown = DIMSEStatus(0xA801)
    /// Error: identifier / data set does not match SOP class.
    public static let identifierDoesNotMatchSOPClass = DIMSEStatus(0xA900)
    /// Failed: unable to process (Cxxx, implementation-chosen).
    public static let unableToProcess = DIMSEStatus(0xC000)
    public static let duplicateSOPInstance = DIMSEStatus(0x0111)
    public static let invalidSOPInstance = DIMSEStatus(0x0117)
    public static let sopClassNotSupported = DIMSEStatus(0x0122)
    public static let notAuthorized = DIMSEStatus(0x0124)
    public static let duplicateInvocation = DIMSEStatus(0x0210)
    public static let unrecognizedOperation = DIMSEStatus(0x0211)
    public static let mistypedArgument = DIMSEStatus(0x0212)
    public static let resourceLimitation = DIMSEStatus(0x0213)

    public var isSuccess: Bool { rawValue == 0x0000 }
    public var isPending: Bool { rawValue == 0xFF00 || rawValue == 0xFF01 }
    public var isCancel: Bool { rawValue == 0xFE00 }
    /// Warning: 0001, Bxxx, 0107 (attribute list error), 0116 (attribute value out of range).
    public var isWarning: Bool {
        rawValue == 0x0001 || rawValue & 0xF000 == 0xB000 || rawValue == 0x0107 || rawValue == 0x0116
    }
    /// Everything that is not success, pending, cancel or warning.
    public var isFailure: Bool { !(isSuccess || isPending || isCancel || isWarning) }

    public var description: String {
        let h = String(rawValue, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - h.count) + h + "H"
    }
}
