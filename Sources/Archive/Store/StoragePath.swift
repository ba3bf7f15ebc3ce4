// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The storage directory as the scanner and the writer both hold it, so that the paths they
/// put in the index compare equal.
enum StoragePath {
    /// Absolute (relative to the working directory), symbolic links resolved where the directory
    /// exists, no trailing slash.
    static func canonical(_ path: String) -> String {
        var result = path
        if !result.hasPrefix("/") { result = FileManager.default.currentDirectoryPath + "/" + result }
        if let real = realpath(result, nil) {
            result = String(cString: real)
            free(real)
        }
        while result.count > 1, result.hasSuffix("/") { result.removeLast() }
        return result
    }
}
