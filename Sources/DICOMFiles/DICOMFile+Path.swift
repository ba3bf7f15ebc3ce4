// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import SystemCalls

/// Part 10 files on disk: the path-taking conveniences over the pure ``DICOMFile`` parser and
/// encoder, which take and return bytes.
extension DICOMFile {
    /// Reads and parses a file from disk.
    public init(contentsOf path: String, options: DataSetReader.Options = .init()) throws {
        try self.init(bytes: DICOMFile.readBytes(path)[...], options: options)
    }

    /// Reads a file's bytes (one allocation, no intermediate copy).
    public static func readBytes(_ path: String) throws -> [UInt8] {
        do {
            return try FileBytes.readFile(path)
        } catch {
            let failed =
                switch error.call {
                case "open": "cannot open"
                case "fstat": "cannot stat"
                default: "cannot read"
                }
            throw DICOMError.io("\(failed) \(path): errno \(error.errno)")
        }
    }

    /// Writes the encoded file to disk atomically.
    public func write(to path: String) throws {
        let bytes = try encoded()
        do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw DICOMError.io("cannot write \(path): \(error)")
        }
    }
}
