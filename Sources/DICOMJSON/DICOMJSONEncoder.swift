// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Where a value sent as BulkDataURI sits, for the caller's URI maker.
public struct BulkDataReference: Sendable, Hashable {
    /// One step into a sequence: its tag and the item's index (0-based).
    public struct ItemStep: Sendable, Hashable {
        public var sequence: Tag
        public var item: Int
    }

    /// The sequence items leading to the element, outermost first; empty at the top level.
    public var path: [ItemStep]
    public var tag: Tag
    public var vr: VR
    /// The value's length in bytes (for encapsulated Pixel Data, the fragments' total).
    public var length: Int
    /// Whether the value is encapsulated (Pixel Data in fragments).
    public var isEncapsulated: Bool
}

/// Encodes data sets as `application/dicom+json` (PS3.18 Annex F, the DICOM JSON Model) into a
/// byte array, with no intermediate objects.
///
/// - Keys are the tags as 8 uppercase hex digits, in ascending order; each attribute has "vr"
///   and, when it has a value, "Value", "BulkDataURI" or "InlineBinary" (F.2.2, F.2.5: an empty
///   attribute has none of them).
/// - Text is decoded with the data set's Specific Character Set (inherited by sequence items
///   without their own) and split on backslash; an empty value among several is null (F.2.5).
/// - PN values are objects with "Alphabetic", "Ideographic" and "Phonetic" from the
///   "="-separated component groups, empty groups left out (F.2.2).
/// - IS and DS are JSON numbers (a "+" sign, leading zeros and bare "." are normalised; text
///   that is no number stays a string rather than being lost); binary numbers (US, SS, UL, SL,
///   UV, SV, FL, FD) are numbers, NaN and infinities null; AT values are 8-hex-digit strings.
/// - SQ values are arrays of item objects.
/// - OB, OD, OF, OL, OV, OW and UN values longer than ``inlineBinaryLimit`` bytes are
///   "BulkDataURI" when ``bulkDataURI`` gives one, otherwise "InlineBinary" (base64 of the
///   little endian bytes; for encapsulated Pixel Data, of the encapsulated item stream, whose
///   length, item headers included, is the one compared with the limit).
public struct DICOMJSONEncoder: Sendable {
    /// Binary values up to this many bytes are always inline.
    public var inlineBinaryLimit: Int
    /// Makes the URI for a bulk value; nil (or a nil result) keeps the value inline.
    public var bulkDataURI: (@Sendable (BulkDataReference) -> String?)?

    public init(inlineBinaryLimit: Int = 0, bulkDataURI: (@Sendable (BulkDataReference) -> String?)? = nil) {
        self.inlineBinaryLimit = inlineBinaryLimit
        self.bulkDataURI = bulkDataURI
    }

    /// The data set as one JSON object.
    public func encode(_ dataSet: DataSet, inherited characterSet: SpecificCharacterSet = .default) -> [UInt8] {
        var out: [UInt8] = []
        write(dataSet, inherited: characterSet, into: &out)
        return out
    }

    /// Appends the data set as one JSON object to `out`.
    public func write(
        _ dataSet: DataSet, inherited characterSet: SpecificCharacterSet = .default,
        into out: inout [UInt8]
    ) {
        var json = JSONOutput(into: out)
        out = []
        writeObject(dataSet, inherited: characterSet, path: [], to: &json)
        out = json.bytes
    }

    /// Appends a JSON array of data sets (a QIDO-RS response or a metadata response) to `out`.
    public func writeArray<S: Sequence>(_ dataSets: S, into out: inout [UInt8]) where S.Element == DataSet {
        var json = JSONOutput(into: out)
        out = []
        json.byte(0x5B)
        var first = true
        for ds in dataSets {
            if !first { json.byte(0x2C) }
            first = false
            writeObject(ds, inherited: .default, path: [], to: &json)
        }
        json.byte(0x5D)
        out = json.bytes
    }

    private func writeObject(
        _ dataSet: DataSet, inherited: SpecificCharacterSet,
        path: [BulkDataReference.ItemStep], to json: inout JSONOutput
    ) {
        let characterSet = dataSet.characterSet(inherited: inherited)
        json.byte(0x7B)
        var first = true
        for element in dataSet.elements {
            if !first { json.byte(0x2C) }
            first = false
            json.tag(element.tag.value)
            json.raw(":{\"vr\":\"")
            json.raw(element.vr.staticName)
            json.byte(0x22)
            writeValue(element, in: dataSet, characterSet: characterSet, path: path, to: &json)
            json.byte(0x7D)
        }
        json.byte(0x7D)
    }

    private func writeValue(
        _ element: DataElement, in dataSet: DataSet, characterSet: SpecificCharacterSet,
        path: [BulkDataReference.ItemStep], to json: inout JSONOutput
    ) {
        let tag = element.tag
        switch element.value {
        case .sequence(let items):
            guard !items.isEmpty else { return }
            json.raw(",\"Value\":[")
            for (i, item) in items.enumerated() {
                if i > 0 { json.byte(0x2C) }
                writeObject(
                    item, inherited: characterSet,
                    path: path + [BulkDataReference.ItemStep(sequence: tag, item: i)], to: &json)
            }
            json.byte(0x5D)
        case .fragments(let fragments):
            let length = fragments.reduce(0) { $0 + $1.count }
            let reference = BulkDataReference(
                path: path, tag: tag, vr: element.vr, length: length,
                isEncapsulated: true)
            // The limit applies to the value as stored: the fragments with their item headers.
            let storedLength = length + 8 * fragments.count
            if storedLength > inlineBinaryLimit, let uri = bulkDataURI?(reference) {
                json.raw(",\"BulkDataURI\":")
                json.string(uri)
            } else {
                json.raw(",\"InlineBinary\":")
                json.base64(Self.encapsulatedStream(fragments))
            }
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return }
            switch element.vr {
            case .OB, .OD, .OF, .OL, .OV, .OW, .UN:
                let reference = BulkDataReference(
                    path: path, tag: tag, vr: element.vr, length: bytes.count,
                    isEncapsulated: false)
                if bytes.count > inlineBinaryLimit, let uri = bulkDataURI?(reference) {
                    json.raw(",\"BulkDataURI\":")
                    json.string(uri)
                } else {
                    json.raw(",\"InlineBinary\":")
                    json.base64(element.bytes(bigEndian: false))
                }
            case .SQ:
                // An SQ read as bytes cannot be shown as items; say nothing rather than guess.
                return
            default:
                json.raw(",\"Value\":[")
                writeValues(element, in: dataSet, characterSet: characterSet, to: &json)
                json.byte(0x5D)
            }
        }
    }

    /// The values of a non-binary element (inside the "Value" array).
    private func writeValues(
        _ element: DataElement, in dataSet: DataSet, characterSet: SpecificCharacterSet,
        to json: inout JSONOutput
    ) {
        let tag = element.tag
        func list<T>(_ values: [T]?, _ write: (T, inout JSONOutput) -> Void) {
            for (i, v) in (values ?? []).enumerated() {
                if i > 0 { json.byte(0x2C) }
                write(v, &json)
            }
        }
        switch element.vr {
        case .US: list(dataSet.binaries(tag, as: UInt16.self)) { $1.integer($0) }
        case .SS: list(dataSet.binaries(tag, as: Int16.self)) { $1.integer($0) }
        case .UL: list(dataSet.binaries(tag, as: UInt32.self)) { $1.integer($0) }
        case .SL: list(dataSet.binaries(tag, as: Int32.self)) { $1.integer($0) }
        case .UV: list(dataSet.binaries(tag, as: UInt64.self)) { $1.integer($0) }
        case .SV: list(dataSet.binaries(tag, as: Int64.self)) { $1.integer($0) }
        case .FL: list(dataSet.binaries(tag, as: UInt32.self)) { $1.number(Float(bitPattern: $0)) }
        case .FD: list(dataSet.binaries(tag, as: UInt64.self)) { $1.number(Double(bitPattern: $0)) }
        case .AT:
            let count = element.bytes.count / 4
            list(Array(0..<count)) { i, json in
                if let t = dataSet.attributeTag(tag, at: i) { json.tag(t.value) } else { json.raw("null") }
            }
        default:
            list(dataSet.decodedStrings(tag, inherited: characterSet)) { value, json in
                Self.writeText(value, vr: element.vr, to: &json)
            }
        }
    }

    /// One text value: null when empty, a PN object, an IS/DS number, or a string.
    static func writeText(_ value: String, vr: VR, to json: inout JSONOutput) {
        guard !value.isEmpty else { return json.raw("null") }
        switch vr {
        case .PN:
            let groups = value.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
            let names: [StaticString] = ["Alphabetic", "Ideographic", "Phonetic"]
            var wrote = false
            json.byte(0x7B)
            for (name, group) in zip(names, groups) where !group.isEmpty {
                if wrote { json.byte(0x2C) }
                wrote = true
                json.byte(0x22)
                json.raw(name)
                json.raw("\":")
                json.string(group)
            }
            json.byte(0x7D)
        case .IS:
            if let digits = DecimalText.integer(value) {
                json.bytes.append(contentsOf: digits)
            } else {
                json.string(value)
            }
        case .DS:
            if let number = DecimalText.decimal(value) {
                json.bytes.append(contentsOf: number)
            } else {
                json.string(value)
            }
        default:
            json.string(value)
        }
    }

    /// The encapsulated Pixel Data value as stored: each fragment as an item (PS3.5 §A.4),
    /// little endian. The Sequence Delimitation Item that ends an undefined length is not part
    /// of the value (PS3.5 §7.1.3).
    static func encapsulatedStream(_ fragments: [ArraySlice<UInt8>]) -> [UInt8] {
        var out: [UInt8] = []
        func header(_ element: UInt16, _ length: Int) {
            out += [0xFE, 0xFF, UInt8(element & 0xFF), UInt8(element >> 8)]
            withUnsafeBytes(of: UInt32(length).littleEndian) { out.append(contentsOf: $0) }
        }
        for f in fragments {
            header(0xE000, f.count)
            out.append(contentsOf: f)
        }
        return out
    }
}

extension VR {
    /// The VR's two letters as a static string (no allocation per element).
    var staticName: StaticString {
        switch self {
        case .AE: "AE"
        case .AS: "AS"
        case .AT: "AT"
        case .CS: "CS"
        case .DA: "DA"
        case .DS: "DS"
        case .DT: "DT"
        case .FD: "FD"
        case .FL: "FL"
        case .IS: "IS"
        case .LO: "LO"
        case .LT: "LT"
        case .OB: "OB"
        case .OD: "OD"
        case .OF: "OF"
        case .OL: "OL"
        case .OV: "OV"
        case .OW: "OW"
        case .PN: "PN"
        case .SH: "SH"
        case .SL: "SL"
        case .SQ: "SQ"
        case .SS: "SS"
        case .ST: "ST"
        case .SV: "SV"
        case .TM: "TM"
        case .UC: "UC"
        case .UI: "UI"
        case .UL: "UL"
        case .UN: "UN"
        case .UR: "UR"
        case .US: "US"
        case .UT: "UT"
        case .UV: "UV"
        }
    }
}
