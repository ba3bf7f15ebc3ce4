// SPDX-License-Identifier: Apache-2.0
/// Command Field (0000,0100) values used by the Q/R archive (PS3.7 Annex E; DM-03).
public enum CommandField: UInt16, Sendable, Hashable, CaseIterable {
    case cStoreRQ = 0x0001
    case cStoreRSP = 0x8001
    case cGetRQ = 0x0010
    case cGetRSP = 0x8010
    case cFindRQ = 0x0020
    case cFindRSP = 0x8020
    case cMoveRQ = 0x0021
    case cMoveRSP = 0x8021
    case cEchoRQ = 0x0030
    case cEchoRSP = 0x8030
    case cCancelRQ = 0x0FFF

    /// True for the response command fields (bit 15 set).
    public var isResponse: Bool { rawValue & 0x8000 != 0 }
}

/// Priority (0000,0700) of a request (PS3.7 §9.1; DM-04): 0 medium, 1 high, 2 low.
public enum DIMSEPriority: UInt16, Sendable, Hashable {
    case medium = 0x0000
    case high = 0x0001
    case low = 0x0002
}

/// Sub-operation counters of C-MOVE/C-GET responses (0000,1020–1023; PS3.7 §9.1.3/§9.1.4, DM-09/10).
public struct SubOperationCounts: Sendable, Hashable {
    public var remaining: UInt16?
    public var completed: UInt16?
    public var failed: UInt16?
    public var warning: UInt16?

    public init(remaining: UInt16? = nil, completed: UInt16? = nil, failed: UInt16? = nil, warning: UInt16? = nil) {
        self.remaining = remaining
        self.completed = completed
        self.failed = failed
        self.warning = warning
    }
}
