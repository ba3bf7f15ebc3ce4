// SPDX-License-Identifier: Apache-2.0
import DICOMWeb
import Testing

@Suite("Accept negotiation for WADO-RS (PS3.18 §8.7)")
struct AcceptNegotiationTests {
    static let explicitLE = "1.2.840.10008.1.2.1"
    static let implicitLE = "1.2.840.10008.1.2"
    static let bigEndian = "1.2.840.10008.1.2.2"
    static let jpeg = "1.2.840.10008.1.2.4.50"

    @Test("Accept parsing: q-values order the ranges, q=0 and malformed ranges drop out, quoted commas stay")
    func parsing() {
        let ranges = AcceptedRange.parse([
            "text/html;q=0.2, multipart/related; type=\"application/dicom\"; transfer-syntax=*",
            "application/json;q=0, bad, application/dicom+json;q=0.5, x/y;q=2",
        ])
        #expect(ranges.map(\.mediaType.essence) == ["multipart/related", "application/dicom+json", "text/html"])
        #expect(ranges[0].mediaType.parameter("type") == "application/dicom")
        #expect(ranges[0].mediaType.parameter("transfer-syntax") == "*")
        #expect(AcceptedRange.parse([]).map(\.mediaType.essence) == ["*/*"])
        #expect(MediaType(parsing: "a/b; x=\"q,\\\"r\"")?.parameter("x") == "q,\"r")
        #expect(MediaType(parsing: "a/b; x=\"open") == nil)
    }

    @Test("instances: multipart application/dicom with *, the stored or a native syntax; 406 for transcoding")
    func instances() {
        let native: WADONegotiation.Resource = .instances(stored: [Self.implicitLE, Self.explicitLE])
        let mixed: WADONegotiation.Resource = .instances(stored: [Self.jpeg, Self.explicitLE])
        func choose(_ r: WADONegotiation.Resource, _ accept: String?) -> WADORepresentation? {
            WADONegotiation.choose(r, accept: accept.map { [$0] } ?? [])
        }
        #expect(
            choose(mixed, "multipart/related; type=\"application/dicom\"; transfer-syntax=*")
                == .multipartDICOM(transferSyntax: nil))
        #expect(choose(mixed, nil) == .multipartDICOM(transferSyntax: nil))
        #expect(choose(mixed, "*/*") == .multipartDICOM(transferSyntax: nil))
        #expect(choose(mixed, "multipart/related; type=\"application/dicom\"") == nil)
        #expect(
            choose(native, "multipart/related; type=\"application/dicom\"")
                == .multipartDICOM(transferSyntax: Self.explicitLE))
        #expect(
            choose(.instances(stored: [Self.explicitLE]), "multipart/related; type=\"application/dicom\"")
                == .multipartDICOM(transferSyntax: nil))
        #expect(choose(mixed, "multipart/related; type=\"application/dicom\"; transfer-syntax=\(Self.jpeg)") == nil)
        #expect(
            choose(
                .instances(stored: [Self.jpeg]),
                "multipart/related; type=\"application/dicom\"; transfer-syntax=\(Self.jpeg)")
                == .multipartDICOM(transferSyntax: nil))
        #expect(choose(mixed, "application/dicom+json") == nil)
        #expect(
            choose(
                mixed,
                "multipart/related; type=\"application/dicom\"; transfer-syntax=\(Self.jpeg), multipart/related; type=\"application/dicom\"; transfer-syntax=*;q=0.5"
            )
                == .multipartDICOM(transferSyntax: nil))
        #expect(
            WADORepresentation.multipartDICOM(transferSyntax: Self.explicitLE).partContentType
                == "application/dicom; transfer-syntax=\(Self.explicitLE)")
    }

    @Test("metadata: dicom+json, json and wildcards; 406 for XML")
    func metadata() {
        for accept in ["application/dicom+json", "application/json", "*/*", "application/*", ""] {
            #expect(WADONegotiation.choose(.metadata, accept: [accept]) == .dicomJSON, "\(accept)")
        }
        #expect(WADONegotiation.choose(.metadata, accept: ["multipart/related; type=\"application/dicom+xml\""]) == nil)
    }

    @Test("frames: octet-stream for native little endian, the stored syntax with *, image types for compressed")
    func frames() {
        func choose(_ stored: String, _ accept: String) -> WADORepresentation? {
            WADONegotiation.choose(.frames(stored: stored), accept: [accept])
        }
        let ohif = "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*"
        #expect(
            choose(Self.implicitLE, ohif)
                == .multipartBulk(partType: "application/octet-stream", transferSyntax: Self.explicitLE))
        #expect(
            choose(Self.jpeg, ohif) == .multipartBulk(partType: "application/octet-stream", transferSyntax: Self.jpeg))
        #expect(
            choose(Self.bigEndian, ohif)
                == .multipartBulk(partType: "application/octet-stream", transferSyntax: Self.bigEndian))
        let plain = "multipart/related; type=\"application/octet-stream\""
        #expect(
            choose(Self.implicitLE, plain)
                == .multipartBulk(partType: "application/octet-stream", transferSyntax: Self.explicitLE))
        #expect(choose(Self.jpeg, plain) == nil)
        #expect(choose(Self.bigEndian, plain) == nil)
        #expect(
            choose(Self.jpeg, "multipart/related; type=\"image/jpeg\"")
                == .multipartBulk(partType: "image/jpeg", transferSyntax: Self.jpeg))
        #expect(choose(Self.jpeg, "multipart/related; type=\"image/jp2\"") == nil)
        #expect(choose(Self.explicitLE, "multipart/related; type=\"image/jpeg\"") == nil)
        #expect(choose(Self.jpeg, "*/*") == .multipartBulk(partType: "image/jpeg", transferSyntax: Self.jpeg))
        #expect(
            choose(Self.explicitLE, "*/*")
                == .multipartBulk(partType: "application/octet-stream", transferSyntax: Self.explicitLE))
        #expect(
            choose(Self.jpeg, "multipart/related; type=\"image/jpeg\"; transfer-syntax=1.2.840.10008.1.2.4.70") == nil)
        #expect(choose(Self.jpeg, "application/dicom+json") == nil)
        // dicomweb-client's default Accept for frames.
        #expect(
            choose(Self.implicitLE, "multipart/related; type=\"*/*\"")
                == .multipartBulk(partType: "application/octet-stream", transferSyntax: Self.explicitLE))
        #expect(
            choose(Self.jpeg, "multipart/related; type=\"*/*\"")
                == .multipartBulk(partType: "image/jpeg", transferSyntax: Self.jpeg))
        #expect(
            WADORepresentation.multipartBulk(partType: "image/jpeg", transferSyntax: Self.jpeg).partContentType
                == "image/jpeg; transfer-syntax=\(Self.jpeg)")
    }

    @Test("bulk data: octet-stream parts")
    func bulkData() {
        #expect(
            WADONegotiation.choose(.bulkData, accept: ["multipart/related; type=\"application/octet-stream\""])
                == .multipartBulk(partType: "application/octet-stream", transferSyntax: nil))
        #expect(WADONegotiation.choose(.bulkData, accept: ["application/dicom+json"]) == nil)
    }
}
