// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
    import Glibc
#endif

/// Deterministic pseudo-random bytes (xorshift) so failures are reproducible.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

func randomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var rng = TestRNG(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        var word = rng.next()
        for _ in 0..<8 where i < count {
            bytes[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            i += 1
        }
    }
    return bytes
}

/// Splits `bytes` into random-size slices (sharing storage) of 1...maxChunk bytes.
func randomSlices(_ bytes: [UInt8], maxChunk: Int, seed: UInt64) -> [ArraySlice<UInt8>] {
    var rng = TestRNG(seed: seed)
    var slices: [ArraySlice<UInt8>] = []
    var start = 0
    while start < bytes.count {
        let size = Int.random(in: 1...maxChunk, using: &rng)
        let end = min(bytes.count, start + size)
        slices.append(bytes[start..<end])
        start = end
    }
    return slices
}

/// Sends all of `slices` on a blocking socket; false on error.
func blockingSend(_ fd: Int32, _ slices: [ArraySlice<UInt8>]) -> Bool {
    for slice in slices {
        var offset = slice.startIndex
        while offset < slice.endIndex {
            let n = slice[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
    }
    return true
}

/// Receives until `count` bytes or EOF/error/timeout; returns what arrived.
func blockingReceive(_ fd: Int32, upTo count: Int) -> [UInt8] {
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while received.count < count {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, count - received.count), 0) }
        if n <= 0 { break }
        received += chunk[0..<n]
    }
    return received
}
