// SPDX-License-Identifier: Apache-2.0
/// The source field of A-ABORT (PS3.8 §9.3.8, Table 9-26): 0 service-user, 1 reserved,
/// 2 service-provider. Unknown values are kept, not rejected.
public struct AbortSource: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let serviceUser = AbortSource(rawValue: 0)
    public static let reserved = AbortSource(rawValue: 1)
    public static let serviceProvider = AbortSource(rawValue: 2)

    public var description: String {
        switch self {
        case .serviceUser: return "service-user"
        case .serviceProvider: return "service-provider"
        default: return "source \(rawValue)"
        }
    }
}

/// The reason/diagnostic field of A-ABORT (PS3.8 §9.3.8, Table 9-26); meaningful only for source 2.
public struct AbortReason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let notSpecified = AbortReason(rawValue: 0)
    public static let unrecognizedPDU = AbortReason(rawValue: 1)
    public static let unexpectedPDU = AbortReason(rawValue: 2)
    public static let unrecognizedPDUParameter = AbortReason(rawValue: 4)
    public static let unexpectedPDUParameter = AbortReason(rawValue: 5)
    public static let invalidPDUParameterValue = AbortReason(rawValue: 6)

    public var description: String {
        switch rawValue {
        case 0: return "reason not specified"
        case 1: return "unrecognized PDU"
        case 2: return "unexpected PDU"
        case 4: return "unrecognized PDU parameter"
        case 5: return "unexpected PDU parameter"
        case 6: return "invalid PDU parameter value"
        default: return "reason \(rawValue)"
        }
    }
}

/// A-ABORT PDU (PS3.8 §9.3.8): header, 2 reserved bytes, source, reason (UL-22).
public struct AbortPDU: Sendable, Hashable {
    public var source: AbortSource
    public var reason: AbortReason

    public init(source: AbortSource, reason: AbortReason = .notSpecified) {
        self.source = source
        self.reason = reason
    }
}
