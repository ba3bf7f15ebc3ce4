// SPDX-License-Identifier: Apache-2.0
/// Project implementation identification written into File Meta Information
/// (PS3.7 §D.3.3.2, PS3.10 §7.1).
public enum Implementation {
    /// UID root of the project.
    public static let uidRoot = "1.2.826.0.1.3680043.10.1489"
    /// Implementation Class UID (0002,0012).
    public static let classUID = "1.2.826.0.1.3680043.10.1489.1"
    /// Implementation Version Name (0002,0013).
    public static let versionName = "QRSCPD_010"
}

/// A DICOM Part 10 file (PS3.10 §7): preamble, "DICM", File Meta Information
/// (group 0002, always Explicit VR Little Endian) and the data set.
///
/// Bytes in, values out: reading a path and writing one are in the `DICOMFiles` module.
public struct DICOMFile: Sendable {
    /// File Meta Information elements (group 0002); empty for files without meta.
    public var meta: DataSet
    /// Transfer syntax of the data set: from (0002,0010), or guessed when absent;
    /// for a native little endian syntax whose implicit/explicit VR encoding
    /// contradicts the data set's first element header, the syntax actually used.
    public var transferSyntax: TransferSyntax
    /// The data set.
    public var dataSet: DataSet
    /// Byte offset in the file where the data set begins (after the meta;
    /// for deflated files, where the deflated stream begins).
    public var dataSetOffset: Int
    /// Whether the file had the 128-byte preamble and "DICM".
    public var hasPreamble: Bool
    /// When read with `stopBeforePixelData`: offset of Pixel Data in the file
    /// (nil for deflated files, whose offsets are in the inflated stream).
    public var pixelDataOffset: Int?

    /// The header part of a Part 10 file.
    public struct Header: Sendable {
        /// File Meta Information (possibly empty).
        public var meta: DataSet
        /// Transfer syntax of the data set.
        public var transferSyntax: TransferSyntax
        /// Offset of the data set in the file.
        public var dataSetOffset: Int
        /// Whether the preamble and "DICM" prefix were present.
        public var hasPreamble: Bool
    }

    /// Creates a file value from parts.
    public init(
        meta: DataSet, transferSyntax: TransferSyntax, dataSet: DataSet, dataSetOffset: Int = 0,
        hasPreamble: Bool = true
    ) {
        self.meta = meta
        self.transferSyntax = transferSyntax
        self.dataSet = dataSet
        self.dataSetOffset = dataSetOffset
        self.hasPreamble = hasPreamble
        self.pixelDataOffset = nil
    }

    /// Parses a whole file held in memory.
    public init(bytes: ArraySlice<UInt8>, options: DataSetReader.Options = .init()) throws {
        let h = try DICOMFile.readHeader(bytes)
        let start = bytes.startIndex + h.dataSetOffset
        let r = try DataSetReader.readResult(bytes[start...], transferSyntax: h.transferSyntax, options: options)
        self.init(
            meta: h.meta, transferSyntax: h.transferSyntax, dataSet: r.dataSet,
            dataSetOffset: h.dataSetOffset, hasPreamble: h.hasPreamble)
        if !h.transferSyntax.isDeflated { pixelDataOffset = r.pixelDataOffset.map { $0 + h.dataSetOffset } }
    }

    static func isDICM(_ b: ArraySlice<UInt8>, at o: Int) -> Bool {
        let s = b.startIndex + o
        return b.count >= o + 4 && b[s] == 0x44 && b[s + 1] == 0x49 && b[s + 2] == 0x43 && b[s + 3] == 0x4D
    }

    /// Parses preamble, "DICM" and File Meta Information (PS3.10 §7.1) without
    /// reading the data set. Tolerates a missing preamble, missing (0002,0000),
    /// and files without meta at all (raw data set; the syntax is then guessed
    /// among Implicit VR LE, Explicit VR LE and Explicit VR BE).
    public static func readHeader(_ bytes: ArraySlice<UInt8>) throws -> Header {
        var metaStart: Int?
        if isDICM(bytes, at: 128) { metaStart = 132 } else if isDICM(bytes, at: 0) { metaStart = 4 }
        guard let ms = metaStart else {
            guard bytes.count >= 8 else {
                throw DICOMError.invalidFile("too short (\(bytes.count) bytes), no DICM prefix")
            }
            return Header(
                meta: DataSet(), transferSyntax: guessSyntax(bytes, at: 0), dataSetOffset: 0, hasPreamble: false)
        }
        let metaBytes = bytes[(bytes.startIndex + ms)...]
        // Meta should be Explicit VR LE; tolerate implicit-VR meta.
        let explicitMeta =
            metaBytes.count >= 6
            && VR(byte0: metaBytes[metaBytes.startIndex + 4], byte1: metaBytes[metaBytes.startIndex + 5]) != nil
        var metaSet: DataSet?
        var offset = 0
        // Prefer the group length (0002,0000) when present and consistent: the
        // data set after the meta may be deflated and must not be parsed.
        let m0 = metaBytes.startIndex
        if explicitMeta, metaBytes.count >= 12,
            metaBytes[m0] == 2, metaBytes[m0 + 1] == 0, metaBytes[m0 + 2] == 0, metaBytes[m0 + 3] == 0,
            metaBytes[m0 + 4] == 0x55, metaBytes[m0 + 5] == 0x4C, metaBytes[m0 + 6] == 4, metaBytes[m0 + 7] == 0
        {
            let gl =
                Int(metaBytes[m0 + 8]) | Int(metaBytes[m0 + 9]) << 8
                | Int(metaBytes[m0 + 10]) << 16 | Int(metaBytes[m0 + 11]) << 24
            let metaEnd = 12 + gl
            let nextIsMeta =
                metaBytes.count >= metaEnd + 2 && metaBytes[m0 + metaEnd] == 2 && metaBytes[m0 + metaEnd + 1] == 0
            if metaEnd <= metaBytes.count, !nextIsMeta,
                let ds = try? DataSetReader.read(
                    metaBytes[m0..<(m0 + metaEnd)], explicit: true, bigEndian: false,
                    options: .init(), onlyGroup: 0x0002),
                ds.pixelDataOffset == nil
            {
                metaSet = ds.dataSet
                offset = ms + metaEnd
            }
        }
        if metaSet == nil {
            let r = try DataSetReader.read(
                metaBytes, explicit: explicitMeta, bigEndian: false,
                options: .init(), onlyGroup: 0x0002)
            metaSet = r.dataSet
            offset = ms + (r.pixelDataOffset ?? metaBytes.count)
        }
        let meta = metaSet ?? DataSet()
        let ts = syntax(declared: meta.uid(.transferSyntaxUID), of: bytes, dataSetAt: offset)
        return Header(meta: meta, transferSyntax: ts, dataSetOffset: offset, hasPreamble: ms == 132)
    }

    /// The syntax of the data set at `offset`: the declared (0002,0010) value (trimmed), or a
    /// guess when it is absent or empty.
    static func syntax(declared uid: String?, of bytes: ArraySlice<UInt8>, dataSetAt offset: Int) -> TransferSyntax {
        guard let uid, !uid.isEmpty else { return guessSyntax(bytes, at: offset) }
        let declared = TransferSyntax(uid: uid)
        // Tolerate a native syntax whose VR encoding (implicit/explicit) does not
        // match the data set: use what the first element header shows.
        guard declared.isNative, !declared.isDeflated, !declared.isBigEndian, bytes.count - offset >= 8 else {
            return declared
        }
        let guessed = guessSyntax(bytes, at: offset)
        return guessed.isBigEndian ? declared : guessed
    }

    /// Guesses the encoding of a raw data set from its first element header.
    static func guessSyntax(_ b: ArraySlice<UInt8>, at o: Int) -> TransferSyntax {
        let s = b.startIndex + o
        guard b.count - o >= 6 else { return .implicitVRLittleEndian }
        let explicit = VR(byte0: b[s + 4], byte1: b[s + 5]) != nil
        let bigEndian = b[s] == 0 && b[s + 1] != 0
        if explicit { return bigEndian ? .explicitVRBigEndian : .explicitVRLittleEndian }
        return .implicitVRLittleEndian
    }

    /// Builds File Meta Information (PS3.10 §7.1) without the group length:
    /// (0002,0001) 00\01, SOP Class/Instance UIDs, Transfer Syntax UID,
    /// Implementation Class UID and Version Name, optional Source AE Title.
    public static func makeMeta(
        sopClassUID: String, sopInstanceUID: String, transferSyntax: TransferSyntax,
        sourceAETitle: String? = nil
    ) -> DataSet {
        var m = DataSet()
        m.set(.fileMetaInformationVersion, vr: .OB, bytes: [0x00, 0x01])
        m.set(.mediaStorageSOPClassUID, vr: .UI, string: sopClassUID)
        m.set(.mediaStorageSOPInstanceUID, vr: .UI, string: sopInstanceUID)
        m.set(.transferSyntaxUID, vr: .UI, string: transferSyntax.uid)
        m.set(.implementationClassUID, vr: .UI, string: Implementation.classUID)
        m.set(.implementationVersionName, vr: .SH, string: Implementation.versionName)
        if let ae = sourceAETitle { m.set(.sourceApplicationEntityTitle, vr: .AE, string: ae) }
        return m
    }

    /// Encodes the preamble (zeros), "DICM" and meta with a computed
    /// (0002,0000) group length; returns the bytes (the data set offset is their count).
    public static func encodeHeader(meta: DataSet) throws -> [UInt8] {
        var group: [UInt8] = []
        for e in meta.elements where e.tag.group == 0x0002 && e.tag.element != 0 {
            try Encoder.element(e.converted(bigEndian: false), explicit: true, be: false, into: &group)
        }
        var out = [UInt8](repeating: 0, count: 128)
        out.reserveCapacity(132 + 12 + group.count)
        out.append(contentsOf: Array("DICM".utf8))
        Encoder.header(.fileMetaInformationGroupLength, vr: .UL, length: 4, explicit: true, be: false, into: &out)
        Encoder.put32(UInt32(group.count), false, &out)
        out.append(contentsOf: group)
        return out
    }

    /// Encodes this file (group length recomputed; (0002,0010) set from `transferSyntax`).
    public func encoded() throws -> [UInt8] {
        var m = meta
        m.set(.transferSyntaxUID, vr: .UI, string: transferSyntax.uid)
        var out = try DICOMFile.encodeHeader(meta: m)
        try DataSetWriter.write(dataSet, transferSyntax: transferSyntax, into: &out)
        return out
    }

    /// Encodes a complete Part 10 file. SOP Class/Instance UIDs default to the
    /// data set's (0008,0016)/(0008,0018).
    public static func encode(
        dataSet: DataSet, transferSyntax: TransferSyntax, sopClassUID: String? = nil,
        sopInstanceUID: String? = nil, sourceAETitle: String? = nil
    ) throws -> [UInt8] {
        let meta = makeMeta(
            sopClassUID: sopClassUID ?? dataSet.uid(.sopClassUID) ?? "",
            sopInstanceUID: sopInstanceUID ?? dataSet.uid(.sopInstanceUID) ?? "",
            transferSyntax: transferSyntax, sourceAETitle: sourceAETitle)
        return try DICOMFile(meta: meta, transferSyntax: transferSyntax, dataSet: dataSet).encoded()
    }
}
