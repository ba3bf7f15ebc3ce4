// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import DICOMWeb
import Foundation
import Testing

@Suite("STOW-RS pieces: Part 10 preamble, Study Instance UID scan, response")
struct STOWPiecesTests {
    static func file(_ transferSyntax: TransferSyntax, study: String?, before: Int = 0) throws -> [UInt8] {
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.7")
        ds.set(.sopInstanceUID, vr: .UI, string: "1.2.3.4")
        // A long value before the UID, so the UID arrives late.
        if before > 0 { ds.set(Tag(0x0010, 0x4000), vr: .LT, string: String(repeating: "x", count: before)) }
        if let study { ds.set(.studyInstanceUID, vr: .UI, string: study) }
        ds.set(.seriesInstanceUID, vr: .UI, string: "1.2.3.6")
        return try DICOMFile.encode(dataSet: ds, transferSyntax: transferSyntax)
    }

    @Test(
        "the preamble needs the whole meta group, then gives UIDs, syntax and data set offset",
        arguments: [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian])
    func preambleAndStudy(_ syntax: TransferSyntax) throws {
        let bytes = try Self.file(syntax, study: "1.2.3.5", before: 3000)
        var preamble: Part10Preamble?
        var firstComplete = -1
        for n in 0...bytes.count {
            let p = try Part10Preamble.parse(bytes[..<n])
            if p != nil, firstComplete < 0 {
                firstComplete = n
                preamble = p
            }
        }
        let p = try #require(preamble)
        #expect(firstComplete == p.dataSetOffset)
        #expect(p.sopClassUID == "1.2.840.10008.5.1.4.1.1.7" && p.sopInstanceUID == "1.2.3.4")
        #expect(p.transferSyntaxUID == syntax.uid)
        // The scan needs more bytes until the whole UID value is in, then always finds it.
        var found = -1
        for n in p.dataSetOffset...bytes.count {
            let r = StudyUIDScan.scan(bytes[p.dataSetOffset..<n], transferSyntax: syntax)
            if found < 0 {
                if r != .needMoreBytes {
                    found = n
                    #expect(r == .found("1.2.3.5"))
                }
            } else {
                #expect(r == .found("1.2.3.5"))
            }
        }
        #expect(found > p.dataSetOffset + 3000)
        let without = try Self.file(syntax, study: nil)
        let q = try #require(try Part10Preamble.parse(without[...]))
        #expect(StudyUIDScan.scan(without[q.dataSetOffset...], transferSyntax: syntax) == .found(nil))
        #expect(
            StudyUIDScan.scan(without[q.dataSetOffset...], transferSyntax: .deflatedExplicitVRLittleEndian)
                == .undetermined)
    }

    @Test("not a Part 10 file throws")
    func notPart10() throws {
        #expect(throws: (any Error).self) { try Part10Preamble.parse(ArraySlice(repeating: 0x41, count: 200)) }
        #expect((try? Part10Preamble.parse(ArraySlice(repeating: 0, count: 100))) == .some(nil))
    }

    @Test("response: statuses 200/202/409, Referenced and Failed SOP Sequences with reasons")
    func response() throws {
        let ok = STOWResult(sopClassUID: "1.2", sopInstanceUID: "1.2.3", outcome: .stored)
        let bad = STOWResult(
            sopClassUID: "1.2", sopInstanceUID: "1.2.4", outcome: .failed(reason: 0xA900, comment: "x"))
        #expect(STOWResult.status([ok]) == 200)
        #expect(STOWResult.status([ok, bad]) == 202)
        #expect(STOWResult.status([bad]) == 409)
        #expect(STOWResult.status([]) == 400)
        let json = STOWResult.responseJSON([ok, bad], studyURL: "http://h/dicom-web/studies/9") {
            "http://h/i/\($0.sopInstanceUID)"
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect(Array(object.keys).sorted() == ["00081190", "00081198", "00081199"])
        let failed = try #require(((object["00081198"] as? [String: Any])?["Value"] as? [[String: Any]])?.first)
        #expect((failed["00081197"] as? [String: Any])?["Value"] as? [Int] == [0xA900])
        #expect((failed["00081155"] as? [String: Any])?["Value"] as? [String] == ["1.2.4"])
        let referenced = try #require(((object["00081199"] as? [String: Any])?["Value"] as? [[String: Any]])?.first)
        #expect((referenced["00081190"] as? [String: Any])?["Value"] as? [String] == ["http://h/i/1.2.3"])
    }
}
