// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import Testing

@testable import Archive

/// The encoded C-FIND path (`findEncoded`, identifiers written straight from the rows)
/// against the reference path (`find`, one data set per match, then `DataSetWriter`):
/// the same bytes, page boundaries, resume tokens and FF01 flag, for requests covering
/// every kind of output, in every transfer syntax, with and without Retrieve AE Title.
@Suite struct EncodedFindTests {
    private let store = Fixture.shared
    private static let studyUID = Tag(0x0020, 0x000D)
    private static let seriesUID = Tag(0x0020, 0x000E)
    private static let sopUID = Tag(0x0008, 0x0018)
    private static let sopClass = Tag(0x0008, 0x0016)
    private static let modality = Tag(0x0008, 0x0060)
    private static let seriesDate = Tag(0x0008, 0x0021)
    private static let issuer = Tag(0x0010, 0x0021)

    private static func codeItem(_ code: String) -> DataSet {
        var item = DataSet()
        item.set(Tags.codeValue, vr: .SH, string: code)
        item.set(Tags.codingScheme, vr: .SH, string: "")
        return item
    }

    /// (request, model) pairs: columns of every kind (text, PN, UID, dates, integers,
    /// NULL and empty values), computed keys, blob attributes, sequences, constants,
    /// private keys, unsupported keys, non-ASCII values, every level.
    static let requests: [(Query, QueryModel)] = [
        (Query("STUDY").with(studyUID, .UI).with(.patientID, .LO).with(.studyDate, .DA), .studyRoot),
        (
            Query("STUDY").with(.patientName, .PN).with(.patientID, .LO).with(issuer, .LO).with(Tags.birthDate, .DA)
                .with(Tags.sex, .CS).with(studyUID, .UI).with(.studyDate, .DA).with(Tags.studyTime, .TM)
                .with(Tags.accession, .SH).with(Tags.studyID, .SH).with(Tags.referringPhysician, .PN)
                .with(Tags.studyDescription, .LO).with(Tags.modalitiesInStudy, .CS).with(Tags.sopClassesInStudy, .UI)
                .with(Tags.studySeries, .IS).with(Tags.studyInstances, .IS).with(Tags.instanceAvailability, .CS)
                .with(Tags.patientAge, .AS), .studyRoot
        ),
        (Query("STUDY").with(.patientName, .PN, "DOE*").with(studyUID, .UI), .studyRoot),
        (
            Query("STUDY").with(.patientName, .PN, bytes: Array("Müller*".utf8)).with(
                .specificCharacterSet, .CS, "ISO_IR 192"
            )
            .with(studyUID, .UI).with(Tags.studyDescription, .LO), .studyRoot
        ),
        (Query("STUDY").with(Tags.procedureCodeSequence, items: [codeItem("US123")]).with(studyUID, .UI), .studyRoot),
        (Query("STUDY").with(Tags.procedureCodeSequence, items: [DataSet()]).with(studyUID, .UI), .studyRoot),
        (Query("STUDY").with(Tags.patientAge, .AS, "054Y").with(studyUID, .UI), .studyRoot),
        (
            Query("STUDY").with(studyUID, .UI).with(Tag(0x0009, 0x0010), .LO, "ACME").with(
                Tag(0x0009, 0x1001), .LO, "x"
            )
            .with(Tags.sliceThickness, .DS), .studyRoot
        ),
        (
            Query("PATIENT").with(.patientName, .PN).with(.patientID, .LO).with(Tags.patientStudies, .IS)
                .with(Tags.patientSeries, .IS).with(Tags.patientInstances, .IS), .patientRoot
        ),
        (
            Query("SERIES").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI).with(modality, .CS)
                .with(Tags.seriesNumber, .IS).with(seriesDate, .DA).with(Tags.seriesInstances, .IS)
                .with(.patientName, .PN), .studyRoot
        ),
        (
            Query("IMAGE").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.1").with(sopUID, .UI)
                .with(sopClass, .UI).with(Tags.instanceNumber, .IS).with(Tags.imageType, .CS)
                .with(Tags.sliceThickness, .DS).with(Tags.contentDate, .DA), .studyRoot
        ),
        (Query("IMAGE").with(studyUID, .UI).with(seriesUID, .UI).with(sopUID, .UI).with(.patientName, .PN), .studyRoot),
        // relational-style: every instance (the hierarchy check is bypassed below)
    ]

    static let syntaxes: [TransferSyntax] = [
        .implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian,
    ]

    @Test(arguments: 0..<requests.count)
    func encodedPagesEqualTheReferenceEncoding(_ index: Int) throws {
        let (query, model) = Self.requests[index]
        let request = try FindRequest(model: model, identifier: query.ds, relational: index == Self.requests.count - 1)
        for syntax in Self.syntaxes {
            for title in [nil, "QRSCPD"] as [String?] {
                let encoding = IdentifierEncoding(transferSyntax: syntax, retrieveAETitle: title)
                for limit in [0, 1, 2, 100] {
                    var token: ResumeToken? = nil
                    var pages = 0
                    var total = 0
                    repeat {
                        let reference = try EncodedFindPage(
                            store.find(request, after: token, limit: limit), encoding: encoding)
                        let fast = try store.findEncoded(request, after: token, limit: limit, encoding: encoding)
                        #expect(
                            fast.bytes == reference.bytes,
                            "request \(index), \(syntax.uid), AE \(title ?? "-"), limit \(limit)")
                        #expect(fast.ends == reference.ends)
                        #expect(fast.next == reference.next)
                        #expect(fast.hasUnsupportedOptionalKeys == reference.hasUnsupportedOptionalKeys)
                        total += fast.count
                        token = fast.next
                        pages += 1
                    } while token != nil && pages < 50
                    #expect(token == nil)
                    if index == 0 { #expect(total == 7) }
                }
            }
        }
    }

    @Test func encodedIdentifiersDecodeToTheMatches() throws {
        let request = try Query("STUDY").with(.patientName, .PN).with(Self.studyUID, .UI).with(.patientID, .LO)
            .request()
        let encoding = IdentifierEncoding(transferSyntax: .explicitVRLittleEndian, retrieveAETitle: "QRSCPD")
        let page = try store.findEncoded(request, after: nil, limit: 100, encoding: encoding)
        let matches = try store.find(request, after: nil, limit: 100).matches
        #expect(page.count == 7)
        for i in 0..<page.count {
            var decoded = try DataSetReader.read(page.identifier(i), transferSyntax: .explicitVRLittleEndian)
            #expect(decoded.string(IdentifierEncoding.retrieveAETitleTag) == "QRSCPD")
            decoded.remove(IdentifierEncoding.retrieveAETitleTag)
            #expect(decoded == matches[i])
        }
        // Non-ASCII names: Specific Character Set ISO_IR 192 is in the identifier.
        #expect(
            (0..<page.count).contains { i in
                (try? DataSetReader.read(page.identifier(i), transferSyntax: .explicitVRLittleEndian))?
                    .string(.specificCharacterSet) == "ISO_IR 192"
            })
    }
}
