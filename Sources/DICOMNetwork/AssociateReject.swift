// SPDX-License-Identifier: Apache-2.0
/// A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4, Table 9-21): result, source, reason/diagnostic.
///
/// Fields are raw-value structs so any byte a peer sends can be represented.
public struct AssociateReject: Sendable, Hashable {
    /// Result: 1 rejected-permanent, 2 rejected-transient.
    public struct Result: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let permanent = Result(rawValue: 1)
        public static let transient = Result(rawValue: 2)
    }

    /// Source: 1 UL service-user, 2 UL service-provider (ACSE), 3 UL service-provider (presentation).
    public struct Source: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let serviceUser = Source(rawValue: 1)
        public static let serviceProviderACSE = Source(rawValue: 2)
        public static let serviceProviderPresentation = Source(rawValue: 3)
    }

    /// Reason/diagnostic; its meaning depends on ``source`` (Table 9-21).
    public struct Reason: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        // Source 1 (service-user)
        public static let noReasonGiven = Reason(rawValue: 1)
        public static let applicationContextNameNotSupported = Reason(rawValue: 2)
        public static let callingAETitleNotRecognized = Reason(rawValue: 3)
        public static let calledAETitleNotRecognized = Reason(rawValue: 7)
        // Source 2 (ACSE)
        public static let protocolVersionNotSupported = Reason(rawValue: 2)
        // Source 3 (presentation)
        public static let temporaryCongestion = Reason(rawValue: 1)
        public static let localLimitExceeded = Reason(rawValue: 2)
    }

    public var result: Result
    public var source: Source
    public var reason: Reason

    public init(result: Result, source: Source, reason: Reason) {
        self.result = result
        self.source = source
        self.reason = reason
    }

    /// 1/1/2: application context name not supported.
    public static let applicationContextNotSupported =
        AssociateReject(result: .permanent, source: .serviceUser, reason: .applicationContextNameNotSupported)
    /// 1/2/2: protocol version not supported (UL-05).
    public static let protocolVersionNotSupported =
        AssociateReject(result: .permanent, source: .serviceProviderACSE, reason: .protocolVersionNotSupported)
    /// 1/1/7: called AE title not recognized (UL-16).
    public static let calledAETitleNotRecognized =
        AssociateReject(result: .permanent, source: .serviceUser, reason: .calledAETitleNotRecognized)
    /// 1/1/3: calling AE title not recognized (UL-16).
    public static let callingAETitleNotRecognized =
        AssociateReject(result: .permanent, source: .serviceUser, reason: .callingAETitleNotRecognized)
    /// 2/3/2: local limit exceeded, e.g. association cap reached (UL-16).
    public static let localLimitExceeded =
        AssociateReject(result: .transient, source: .serviceProviderPresentation, reason: .localLimitExceeded)
    /// 1/1/1: no reason given.
    public static let noReasonGiven =
        AssociateReject(result: .permanent, source: .serviceUser, reason: .noReasonGiven)
}
