// SPDX-License-Identifier: Apache-2.0
/// A transfer syntax: how a data set is encoded (PS3.5 §10, PS3.6 Annex A).
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// The transfer syntax UID.
    public let uid: String
    /// Explicit VR encoding (PS3.5 §7.1.2); false for Implicit VR Little Endian.
    public let isExplicitVR: Bool
    /// Big endian byte ordering (PS3.5 §7.3); only Explicit VR Big Endian (retired).
    public let isBigEndian: Bool
    /// The data set after the file meta is raw-deflated (PS3.5 §A.5).
    public let isDeflated: Bool
    /// Pixel data is encapsulated in fragments (PS3.5 §A.4).
    public let isEncapsulated: Bool

    /// Creates a transfer syntax description explicitly.
    public init(uid: String, isExplicitVR: Bool, isBigEndian: Bool, isDeflated: Bool, isEncapsulated: Bool) {
        self.uid = uid
        self.isExplicitVR = isExplicitVR
        self.isBigEndian = isBigEndian
        self.isDeflated = isDeflated
        self.isEncapsulated = isEncapsulated
    }

    /// Looks up a UID among the known transfer syntaxes. Unknown UIDs are
    /// assumed to be Explicit VR Little Endian with encapsulated pixel data,
    /// which PS3.5 §10 requires of every transfer syntax other than the
    /// four native ones. Trailing NUL/space padding is ignored.
    public init(uid raw: String) {
        let uid: String
        if let last = raw.utf8.last, last != 0x00, last != 0x20 {
            uid = raw  // the usual case, already trimmed: no walk over characters
        } else {
            var u = Substring(raw)
            while let l = u.last, l == "\0" || l == " " { u.removeLast() }
            uid = String(u)
        }
        if let k = TransferSyntax.byUID[uid] {
            self = k
            return
        }
        self.init(uid: uid, isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: true)
    }

    /// Whether the UID is one of `TransferSyntax.known`.
    public var isKnown: Bool { TransferSyntax.byUID[uid] != nil }

    /// Native (unencapsulated) pixel data: the four uncompressed syntaxes.
    public var isNative: Bool { !isEncapsulated }

    public var description: String {
        UIDDictionary.entry(for: uid).map { "\($0.name) (\(uid))" } ?? uid
    }

    private static func encapsulated(_ uid: String) -> TransferSyntax {
        TransferSyntax(uid: uid, isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: true)
    }

    /// Implicit VR Little Endian 1.2.840.10008.1.2 (PS3.5 §A.1).
    public static let implicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2", isExplicitVR: false, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    /// Explicit VR Little Endian 1.2.840.10008.1.2.1 (PS3.5 §A.2).
    public static let explicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1", isExplicitVR: true, isBigEndian: false, isDeflated: false, isEncapsulated: false)
    /// Deflated Explicit VR Little Endian 1.2.840.10008.1.2.1.99 (PS3.5 §A.5).
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.1.99", isExplicitVR: true, isBigEndian: false, isDeflated: true, isEncapsulated: false)
    /// Explicit VR Big Endian 1.2.840.10008.1.2.2 (retired) (PS3.5 §A.3).
    public static let explicitVRBigEndian = TransferSyntax(
        uid: "1.2.840.10008.1.2.2", isExplicitVR: true, isBigEndian: true, isDeflated: false, isEncapsulated: false)
    /// Encapsulated Uncompressed Explicit VR Little Endian 1.2.840.10008.1.2.1.98 (PS3.5 §A.4.11).
    public static let encapsulatedUncompressedExplicitVRLittleEndian = encapsulated("1.2.840.10008.1.2.1.98")
    /// JPEG Baseline (Process 1) 1.2.840.10008.1.2.4.50 (PS3.5 §A.4.1).
    public static let jpegBaseline = encapsulated("1.2.840.10008.1.2.4.50")
    /// JPEG Extended (Process 2 & 4) 1.2.840.10008.1.2.4.51.
    public static let jpegExtended = encapsulated("1.2.840.10008.1.2.4.51")
    /// JPEG Lossless, Non-Hierarchical (Process 14) 1.2.840.10008.1.2.4.57.
    public static let jpegLossless = encapsulated("1.2.840.10008.1.2.4.57")
    /// JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 SV1) 1.2.840.10008.1.2.4.70.
    public static let jpegLosslessSV1 = encapsulated("1.2.840.10008.1.2.4.70")
    /// JPEG-LS Lossless 1.2.840.10008.1.2.4.80 (PS3.5 §A.4.3).
    public static let jpegLSLossless = encapsulated("1.2.840.10008.1.2.4.80")
    /// JPEG-LS Lossy (Near-Lossless) 1.2.840.10008.1.2.4.81.
    public static let jpegLSNearLossless = encapsulated("1.2.840.10008.1.2.4.81")
    /// JPEG 2000 Lossless Only 1.2.840.10008.1.2.4.90 (PS3.5 §A.4.4).
    public static let jpeg2000Lossless = encapsulated("1.2.840.10008.1.2.4.90")
    /// JPEG 2000 1.2.840.10008.1.2.4.91.
    public static let jpeg2000 = encapsulated("1.2.840.10008.1.2.4.91")
    /// JPEG 2000 Part 2 Multi-component Lossless Only 1.2.840.10008.1.2.4.92.
    public static let jpeg2000MCLossless = encapsulated("1.2.840.10008.1.2.4.92")
    /// JPEG 2000 Part 2 Multi-component 1.2.840.10008.1.2.4.93.
    public static let jpeg2000MC = encapsulated("1.2.840.10008.1.2.4.93")
    /// High-Throughput JPEG 2000 Lossless Only 1.2.840.10008.1.2.4.201 (PS3.5 §A.4.11).
    public static let htj2kLossless = encapsulated("1.2.840.10008.1.2.4.201")
    /// High-Throughput JPEG 2000 with RPCL Options Lossless Only 1.2.840.10008.1.2.4.202.
    public static let htj2kLosslessRPCL = encapsulated("1.2.840.10008.1.2.4.202")
    /// High-Throughput JPEG 2000 1.2.840.10008.1.2.4.203.
    public static let htj2k = encapsulated("1.2.840.10008.1.2.4.203")
    /// RLE Lossless 1.2.840.10008.1.2.5 (PS3.5 §A.4.2).
    public static let rleLossless = encapsulated("1.2.840.10008.1.2.5")
    /// MPEG2 Main Profile @ Main Level 1.2.840.10008.1.2.4.100.
    public static let mpeg2MPML = encapsulated("1.2.840.10008.1.2.4.100")
    /// MPEG-4 AVC/H.264 High Profile / Level 4.1 1.2.840.10008.1.2.4.102.
    public static let mpeg4HP41 = encapsulated("1.2.840.10008.1.2.4.102")
    /// HEVC/H.265 Main Profile / Level 5.1 1.2.840.10008.1.2.4.107.
    public static let hevcMP51 = encapsulated("1.2.840.10008.1.2.4.107")

    /// The four native (uncompressed, unencapsulated) syntaxes.
    public static let native: [TransferSyntax] = [
        .implicitVRLittleEndian, .explicitVRLittleEndian, .deflatedExplicitVRLittleEndian, .explicitVRBigEndian,
    ]

    /// All transfer syntaxes known by name in this module.
    public static let known: [TransferSyntax] =
        native + [
            .encapsulatedUncompressedExplicitVRLittleEndian, .jpegBaseline, .jpegExtended, .jpegLossless,
            .jpegLosslessSV1, .jpegLSLossless, .jpegLSNearLossless, .jpeg2000Lossless, .jpeg2000,
            .jpeg2000MCLossless, .jpeg2000MC, .htj2kLossless, .htj2kLosslessRPCL, .htj2k, .rleLossless,
            .mpeg2MPML, .mpeg4HP41, .hevcMP51,
        ]

    private static let byUID: [String: TransferSyntax] = {
        var d: [String: TransferSyntax] = [:]
        for t in known { d[t.uid] = t }
        return d
    }()
}
