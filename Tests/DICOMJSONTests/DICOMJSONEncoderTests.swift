// SPDX-License-Identifier: Apache-2.0
import DICOM
import Testing

@testable import DICOMJSON

private func json(_ ds: DataSet, _ encoder: DICOMJSONEncoder = DICOMJSONEncoder()) -> String {
    String(decoding: encoder.encode(ds), as: UTF8.self)
}

@Suite("application/dicom+json encoder (PS3.18 Annex F), byte exact")
struct DICOMJSONEncoderTests {
    @Test("keys ascending as 8 uppercase hex digits; vr and Value; empty value has no Value (F.2.1, F.2.5)")
    func layout() {
        var ds = DataSet()
        ds.set(Tag(0x0020, 0x000D), vr: .UI, string: "1.2.3")
        ds.set(Tag(0x0008, 0x0020), vr: .DA, string: "20240102")
        ds.set(Tag(0x0009, 0x10AB), vr: .LO, string: "")
        #expect(
            json(ds) == #"{"00080020":{"vr":"DA","Value":["20240102"]},"# + #""000910AB":{"vr":"LO"},"#
                + #""0020000D":{"vr":"UI","Value":["1.2.3"]}}"#)
    }

    @Test("PN groups as Alphabetic/Ideographic/Phonetic, empty groups left out, empty value null (F.2.2, F.2.5)")
    func personName() {
        var ds = DataSet()
        ds.set(.patientName, vr: .PN, strings: ["A^B", "=I^J", "", "A==P"])
        #expect(
            json(ds) == #"{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A^B"},{"Ideographic":"I^J"},null,"#
                + #"{"Alphabetic":"A","Phonetic":"P"}]}}"#)
    }

    @Test("IS and DS as JSON numbers, normalised; not-a-number text kept as a string")
    func numbersFromText() {
        var ds = DataSet()
        ds.set(Tag(0x0020, 0x0013), vr: .IS, strings: ["+007", "-0", "12"])
        ds.set(Tag(0x0020, 0x0032), vr: .DS, strings: [" +1.50", "-.5", "3.", "1E+05", "0010.0e-3", "abc"])
        #expect(
            json(ds) == #"{"00200013":{"vr":"IS","Value":[7,-0,12]},"#
                + #""00200032":{"vr":"DS","Value":[1.50,-0.5,3,1e+05,10.0e-3,"abc"]}}"#)
    }

    @Test("binary numbers, AT as hex strings, both byte orders")
    func binaryNumbers() {
        var ds = DataSet()
        ds.set(Tag(0x0028, 0x0010), uint16: 512, 1)
        ds.set(Tag(0x0028, 0x0106), int16: -5)
        ds.set(Tag(0x0018, 0x9941), float: 0.1, -2)
        ds.set(Tag(0x0018, 0x9089), double: 1e-5)
        ds.set(Tag(0x0020, 0x9165), attributeTags: [.patientName, .pixelData])
        ds.set(DataElement(tag: Tag(0x0028, 0x0011), vr: .US, bytes: [0x02, 0x00], isBigEndian: true))
        #expect(
            json(ds) == #"{"00189089":{"vr":"FD","Value":[1e-05]},"00189941":{"vr":"FL","Value":[0.1,-2.0]},"#
                + #""00209165":{"vr":"AT","Value":["00100010","7FE00010"]},"00280010":{"vr":"US","Value":[512,1]},"#
                + #""00280011":{"vr":"US","Value":[512]},"00280106":{"vr":"SS","Value":[-5]}}"#)
    }

    @Test("JSON string escaping: quote, backslash-free text, controls (RFC 8259 §7)")
    func escaping() {
        var ds = DataSet()
        ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192")
        ds.set(Tag(0x0032, 0x4000), vr: .LT, string: "q\"t\tn\nr\r\u{1}\u{1F}é/")
        #expect(
            json(ds)
                == "{\"00080005\":{\"vr\":\"CS\",\"Value\":[\"ISO_IR 192\"]},\"00324000\":{\"vr\":\"LT\",\"Value\":[\"q\\\"t\\tn\\nr\\r\\u0001\\u001Fé/\"]}}"
        )
    }

    @Test("sequences: items as objects, empty SQ no Value, character set inherited into items")
    func sequences() {
        var item = DataSet()
        item.set(DataElement(tag: Tag(0x0008, 0x0104), vr: .LO, bytes: [0x47, 0xE4, 0x20, 0x20]))
        var ds = DataSet()
        ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 100")
        ds.set(Tag(0x0008, 0x1032), items: [item, DataSet()])
        ds.set(Tag(0x0018, 0x6011), items: [])
        #expect(
            json(ds) == #"{"00080005":{"vr":"CS","Value":["ISO_IR 100"]},"#
                + #""00081032":{"vr":"SQ","Value":[{"00080104":{"vr":"LO","Value":["Gä"]}},{}]},"#
                + #""00186011":{"vr":"SQ"}}"#)
    }

    @Test("binary: inline base64 up to the limit, BulkDataURI above it with the item path, little endian")
    func binary() {
        var nested = DataSet()
        nested.set(Tag(0x0009, 0x1011), vr: .OB, bytes: [1, 2, 3, 4, 5][...])
        var ds = DataSet()
        ds.set(Tag(0x0009, 0x1012), vr: .OB, bytes: [0xFF][...])
        ds.set(DataElement(tag: Tag(0x0009, 0x1013), vr: .OW, bytes: [0x01, 0x02], isBigEndian: true))
        ds.set(Tag(0x0009, 0x1020), items: [DataSet(), nested])
        ds.set(DataElement(tag: .pixelData, vr: .OB, fragments: [[], [1, 2, 3]]))
        let encoder = DICOMJSONEncoder(inlineBinaryLimit: 2) { ref in
            (ref.path.map { String(format: "%08X/%d/", $0.sequence.value, $0.item) }.joined())
                + String(format: "%08X:%d", ref.tag.value, ref.length) + (ref.isEncapsulated ? "e" : "")
        }
        #expect(
            json(ds, encoder) == #"{"00091012":{"vr":"OB","InlineBinary":"/w=="},"#
                + #""00091013":{"vr":"OW","InlineBinary":"AgE="},"#
                + #""00091020":{"vr":"SQ","Value":[{},{"00091011":{"vr":"OB","BulkDataURI":"00091020/1/00091011:5"}}]},"#
                + #""7FE00010":{"vr":"OB","BulkDataURI":"7FE00010:3e"}}"#)
        // Without a URI maker encapsulated data goes inline as its items (no delimiter).
        var pixels = DataSet()
        pixels.set(DataElement(tag: .pixelData, vr: .OB, fragments: [[], [1, 2]]))
        #expect(json(pixels) == #"{"7FE00010":{"vr":"OB","InlineBinary":"/v8A4AAAAAD+/wDgAgAAAAEC"}}"#)
    }

    @Test("an array of data sets for QIDO responses")
    func array() {
        var a = DataSet()
        a.set(.patientID, vr: .LO, string: "1")
        var out: [UInt8] = Array("x".utf8)
        DICOMJSONEncoder().writeArray([a, DataSet()], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"x[{"00100020":{"vr":"LO","Value":["1"]}},{}]"#)
    }
}
