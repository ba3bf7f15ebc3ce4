// SPDX-License-Identifier: Apache-2.0
import CZlib

/// Raw deflate (RFC 1951, no zlib header: windowBits -15), as used by the
/// Deflated Explicit VR Little Endian transfer syntax (PS3.5 §A.5).
public enum Deflate {
    /// Inflates a raw deflate stream. Bytes after the end of the stream are ignored.
    /// - Parameter maxOutput: limit on the inflated size (guards against deflate bombs).
    public static func inflate(_ bytes: ArraySlice<UInt8>, maxOutput: Int = 1 << 31) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var outLen = 0
        var consumed = 0
        let rc = bytes.withUnsafeBufferPointer { p in
            qrs_inflate_raw(p.baseAddress, p.count, maxOutput, &out, &outLen, &consumed)
        }
        defer { qrs_zlib_free(out) }
        guard rc == 0 else {
            let msg: String
            switch rc {
            case -100: msg = "inflated data exceeds \(maxOutput) bytes"
            case -5: msg = "truncated deflate stream"
            case -3: msg = "invalid deflate data"
            case -4: msg = "out of memory"
            default: msg = "inflate failed"
            }
            throw DICOMError.deflate(code: rc, message: msg)
        }
        guard let out, outLen > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: out, count: outLen))
    }

    /// Deflates to a raw deflate stream.
    public static func deflate(_ bytes: ArraySlice<UInt8>, level: Int32 = 6) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var outLen = 0
        let rc = bytes.withUnsafeBufferPointer { p in
            qrs_deflate_raw(p.baseAddress, p.count, level, &out, &outLen)
        }
        defer { qrs_zlib_free(out) }
        guard rc == 0 else { throw DICOMError.deflate(code: rc, message: "deflate failed") }
        guard let out else { return [] }
        return Array(UnsafeBufferPointer(start: out, count: outLen))
    }
}
