// SPDX-License-Identifier: Apache-2.0
/// A complete DIMSE message: command set and optional data set on one presentation context
/// (PS3.7 §6.3; PS3.8 Annex E).
public struct DIMSEMessage: Sendable, Hashable {
    public var contextID: UInt8
    public var command: CommandSet
    /// The data set fragments as received (slices of the PDU buffers, not concatenated);
    /// `nil` when the command has no data set (DM-05).
    public var dataSet: [ArraySlice<UInt8>]?

    public init(contextID: UInt8, command: CommandSet, dataSet: [ArraySlice<UInt8>]? = nil) {
        self.contextID = contextID
        self.command = command
        self.dataSet = dataSet
    }

    /// Total data set size in bytes.
    public var dataSetLength: Int { dataSet?.reduce(0) { $0 + $1.count } ?? 0 }
}
