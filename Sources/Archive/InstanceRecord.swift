// SPDX-License-Identifier: Apache-2.0
import DICOM

/// One file to index: where it is and what its header says.
public struct InstanceRecord: Sendable {
    /// Path of the file (absolute, or relative to the storage directory).
    public var path: String
    public var size: Int64
    public var modificationTime: Double
    /// Transfer syntax of the data set in the file.
    public var transferSyntaxUID: String
    /// The data set up to (not including) Pixel Data.
    public var header: DataSet

    public init(path: String, size: Int64, modificationTime: Double, transferSyntaxUID: String, header: DataSet) {
        self.path = path
        self.size = size
        self.modificationTime = modificationTime
        self.transferSyntaxUID = transferSyntaxUID
        self.header = header
    }
}
