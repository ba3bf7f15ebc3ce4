// SPDX-License-Identifier: Apache-2.0
/// Writes data sets in a transfer syntax (PS3.5 §7).
///
/// Encoding choices: sequences and items are always written with undefined
/// length and delimiters (PS3.5 §7.5.2); encapsulated pixel data as fragments
/// of defined length ending with a Sequence Delimitation Item (PS3.5 §A.4).
/// Odd-length values are padded to even length (space for text VRs, NUL for
/// UI and binary VRs, PS3.5 §7.1.1). Binary values are byte-swapped per VR
/// when the element's byte order differs from the target syntax (PS3.5 §7.3).
/// In explicit VR, a value too long for a 16-bit length VR is written as UN.
public enum DataSetWriter {
    /// Encodes a data set; deflated syntaxes are raw-deflated and padded to even length (PS3.5 §A.5).
    public static func write(_ dataSet: DataSet, transferSyntax: TransferSyntax) throws -> [UInt8] {
        var out: [UInt8] = []
        try write(dataSet, transferSyntax: transferSyntax, into: &out)
        return out
    }

    /// Appends the encoded data set to `out`.
    public static func write(_ dataSet: DataSet, transferSyntax: TransferSyntax, into out: inout [UInt8]) throws {
        if transferSyntax.isDeflated {
            var plain: [UInt8] = []
            try Encoder.dataSet(dataSet, explicit: true, be: false, into: &plain)
            let z = try Deflate.deflate(plain[...])
            out.append(contentsOf: z)
            if z.count & 1 == 1 { out.append(0) }  // PS3.5 §A.5: pad odd-length stream with NUL
        } else {
            try Encoder.dataSet(
                dataSet, explicit: transferSyntax.isExplicitVR, be: transferSyntax.isBigEndian,
                into: &out)
        }
    }

    /// Encodes a single element (header and value) in the given encoding.
    public static func write(
        _ element: DataElement, explicitVR: Bool, bigEndian: Bool,
        into out: inout [UInt8]
    ) throws {
        try Encoder.element(element, explicit: explicitVR, be: bigEndian, into: &out)
    }

    /// Appends a primitive element whose value bytes are already in the target byte
    /// order (text, or any value with `vr.byteSwapUnit == 1`), without building a
    /// ``DataElement``: the same bytes as writing `DataElement(tag:vr:bytes:)`, with the
    /// same padding and the same UN fallback for long values.
    public static func writePrimitive(
        tag: Tag, vr: VR, value: UnsafeRawBufferPointer, explicitVR: Bool,
        bigEndian: Bool, into out: inout [UInt8]
    ) throws {
        try Encoder.primitive(tag, vr: vr, count: value.count, explicit: explicitVR, be: bigEndian, into: &out) {
            $0.append(contentsOf: value)
        }
    }
}

enum Encoder {
    @inline(__always) static func put16(_ v: UInt16, _ be: Bool, _ out: inout [UInt8]) {
        if be {
            out.append(UInt8(v >> 8))
            out.append(UInt8(v & 0xFF))
        } else {
            out.append(UInt8(v & 0xFF))
            out.append(UInt8(v >> 8))
        }
    }

    @inline(__always) static func put32(_ v: UInt32, _ be: Bool, _ out: inout [UInt8]) {
        if be {
            put16(UInt16(v >> 16), true, &out)
            put16(UInt16(v & 0xFFFF), true, &out)
        } else {
            put16(UInt16(v & 0xFFFF), false, &out)
            put16(UInt16(v >> 16), false, &out)
        }
    }

    static func tag(_ t: Tag, _ be: Bool, _ out: inout [UInt8]) {
        put16(t.group, be, &out)
        put16(t.element, be, &out)
    }

    static func header(_ t: Tag, vr: VR, length: UInt32, explicit: Bool, be: Bool, into out: inout [UInt8]) {
        tag(t, be, &out)
        if explicit {
            let (a, b) = vr.bytes
            out.append(a)
            out.append(b)
            if vr.hasLongExplicitLength {
                out.append(0)
                out.append(0)
                put32(length, be, &out)
            } else {
                put16(UInt16(truncatingIfNeeded: length), be, &out)
            }
        } else {
            put32(length, be, &out)
        }
    }

    /// Header, value (appended by `value`, `count` bytes) and padding of a primitive element.
    @inline(__always)
    static func primitive(
        _ t: Tag, vr: VR, count: Int, explicit: Bool, be: Bool, into out: inout [UInt8],
        value: (inout [UInt8]) -> Void
    ) throws {
        let padded = count + (count & 1)
        guard padded <= 0xFFFF_FFFE else { throw DICOMError.valueTooLong(tag: t, length: count) }
        var headerVR = vr
        if explicit, !headerVR.hasLongExplicitLength, padded > 0xFFFF { headerVR = .UN }
        if headerVR == .SQ { headerVR = .UN }  // raw bytes under SQ: keep them opaque
        header(t, vr: headerVR, length: UInt32(padded), explicit: explicit, be: be, into: &out)
        value(&out)
        if count & 1 == 1 { out.append(vr.paddingByte) }
    }

    /// In Implicit VR a reader takes the VR from the dictionary, so bytes under a tag the
    /// dictionary makes a sequence are read as items: written only when they are items (as
    /// in a UN value holding an Implicit VR Little Endian sequence, PS3.5 §6.2.2), otherwise
    /// the conversion fails rather than send a data set that does not parse.
    static func checkImplicitlyReadable(_ t: Tag, vr: VR, value: ArraySlice<UInt8>) throws {
        guard DataDictionary.implicitVR(for: t) == .SQ, !value.isEmpty, value.count < 0xFFFF_FFFE else { return }
        var probe: [UInt8] = []
        probe.reserveCapacity(8 + value.count + 1)
        header(t, vr: .SQ, length: UInt32(value.count + (value.count & 1)), explicit: false, be: false, into: &probe)
        probe.append(contentsOf: value)
        if value.count & 1 == 1 { probe.append(vr.paddingByte) }
        guard (try? DataSetReader.read(probe[...], transferSyntax: .implicitVRLittleEndian)) != nil else {
            throw DICOMError.notEncodableInImplicitVR(tag: t, vr: vr)
        }
    }

    static func dataSet(_ ds: DataSet, explicit: Bool, be: Bool, into out: inout [UInt8]) throws {
        for e in ds.elements { try element(e, explicit: explicit, be: be, into: &out) }
    }

    static func element(_ e: DataElement, explicit: Bool, be: Bool, into out: inout [UInt8]) throws {
        switch e.value {
        case .bytes:
            let b = e.bytes(bigEndian: be)
            if !explicit { try checkImplicitlyReadable(e.tag, vr: e.vr, value: b) }
            try primitive(e.tag, vr: e.vr, count: b.count, explicit: explicit, be: be, into: &out) {
                $0.append(contentsOf: b)
            }
        case .sequence(let items):
            header(e.tag, vr: .SQ, length: 0xFFFF_FFFF, explicit: explicit, be: be, into: &out)
            for item in items {
                tag(.item, be, &out)
                put32(0xFFFF_FFFF, be, &out)
                try dataSet(item, explicit: explicit, be: be, into: &out)
                tag(.itemDelimitationItem, be, &out)
                put32(0, be, &out)
            }
            tag(.sequenceDelimitationItem, be, &out)
            put32(0, be, &out)
        case .fragments(let frags):
            // Implicit VR: undefined length on any tag but Pixel Data reads as a sequence.
            if !explicit && e.tag != .pixelData { throw DICOMError.notEncodableInImplicitVR(tag: e.tag, vr: e.vr) }
            let vr: VR = e.vr == .OW ? .OW : .OB
            header(e.tag, vr: vr, length: 0xFFFF_FFFF, explicit: explicit, be: be, into: &out)
            for f in frags {
                let padded = f.count + (f.count & 1)
                guard padded <= 0xFFFF_FFFE else { throw DICOMError.valueTooLong(tag: e.tag, length: f.count) }
                tag(.item, be, &out)
                put32(UInt32(padded), be, &out)
                out.append(contentsOf: f)
                if f.count & 1 == 1 { out.append(0) }
            }
            tag(.sequenceDelimitationItem, be, &out)
            put32(0, be, &out)
        }
    }
}
