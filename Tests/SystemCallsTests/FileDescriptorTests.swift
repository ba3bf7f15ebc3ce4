// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The file calls of the system-call layer against real files in a temporary directory.
@Suite struct FileDescriptorTests {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "systemcalls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    @Test func gatheringWriteWritesEveryPieceInOrder() throws {
        let path = directory + "/gathered"
        let file = try FileDescriptor(opening: path, flags: O_RDWR | O_CREAT | O_EXCL, permissions: 0o600)
        defer { file.close() }
        // Pieces of varied sizes, some empty, some large enough for a short write to matter.
        let pieces: [ArraySlice<UInt8>] = (0..<40).map { index in
            [UInt8](repeating: UInt8(index), count: index % 7 == 0 ? 0 : index * 1021)[...]
        }
        try file.write(gathering: pieces)
        let expected = pieces.flatMap { $0 }
        #expect(try file.size() == expected.count)
        #expect(try file.read(at: 0, count: expected.count) == expected)
        #expect(try FileBytes.readFile(path) == expected)
    }

    @Test func advanceSkipsWrittenBytesAcrossVectors() {
        var storage: [UInt8] = Array(0..<10)
        storage.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            var vectors = [
                iovec(iov_base: base, iov_len: 3), iovec(iov_base: base + 3, iov_len: 3),
                iovec(iov_base: base + 6, iov_len: 4),
            ]
            var first = 0
            FileDescriptor.advance(&vectors, first: &first, by: 4)
            #expect(first == 1)
            #expect(vectors[1].iov_base == base + 4)
            #expect(vectors[1].iov_len == 2)
            FileDescriptor.advance(&vectors, first: &first, by: 6)
            #expect(first == 3)
        }
    }

    @Test func positionalReadStopsAtTheEnd() throws {
        let path = directory + "/short"
        try Data([1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: path))
        let file = try FileDescriptor(opening: path, flags: O_RDONLY)
        defer { file.close() }
        #expect(try file.read(at: 3, count: 10) == [4, 5])
        #expect(try FileBytes.read(file.rawValue, at: 1, count: 2) == [2, 3])
    }

    @Test func failuresNameTheCallAndTheErrno() {
        #expect(throws: SystemError(errno: ENOENT, call: "open")) {
            try FileBytes.readFile(directory + "/missing")
        }
        #expect(throws: SystemError(errno: EEXIST, call: "open")) {
            _ = try FileDescriptor(opening: directory, flags: O_RDWR | O_CREAT | O_EXCL, permissions: 0o600)
        }
    }
}
