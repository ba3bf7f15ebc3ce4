// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import Testing

@testable import WebServer

@Suite("QIDO-RS query translation into a C-FIND request")
struct QIDOQueryTests {
    func query(_ level: QueryLevel, _ pairs: [(String, String)], study: String? = nil, series: String? = nil)
        throws(QIDOQuery.Invalid) -> QIDOQuery
    {
        try QIDOQuery(level: level, study: study, series: series, query: pairs.map { (name: $0.0, value: $0.1) })
    }

    @Test func keywordsTagsAndDefaults() throws {
        let q = try query(
            .study, [("PatientID", "P1"), ("00080020", "20240101-20240131"), ("limit", "10"), ("offset", "5")])
        let id = q.request.identifier
        #expect(q.request.level == .study)
        #expect(id.string(Tag(0x0010, 0x0020)) == "P1")
        #expect(id.string(Tag(0x0008, 0x0020)) == "20240101-20240131")
        #expect(id[Tag(0x0020, 0x000D)] != nil, "Study Instance UID is returned by default")
        #expect(id[Tag(0x0020, 0x1208)] != nil, "Number of Study Related Instances is returned by default")
        #expect(q.limit == 10 && q.offset == 5)
    }

    @Test func listsFuzzyAndIncludefield() throws {
        let q = try query(
            .study,
            [
                ("StudyInstanceUID", "1.2,1.3"), ("ModalitiesInStudy", "CT,MR"),
                ("PatientName", "doe"), ("fuzzymatching", "true"),
                ("includefield", "00100021,Modality"), ("includefield", "StudyDescription"),
            ])
        let id = q.request.identifier
        #expect(id.string(Tag(0x0020, 0x000D)) == "1.2\\1.3")
        #expect(id.string(Tag(0x0008, 0x0061)) == "CT\\MR")
        #expect(id.string(Tag(0x0010, 0x0010)) == "doe*")
        #expect(id[Tag(0x0010, 0x0021)] != nil)
        #expect(id[Tag(0x0008, 0x0060)] == nil, "a series attribute asked at the study level is ignored")
        let all = try query(.series, [("includefield", "all")], study: "1.2")
        #expect(all.request.identifier[Tag(0x0008, 0x0021)] != nil)
        #expect(all.request.identifier.string(Tag(0x0020, 0x000D)) == "1.2")
    }

    @Test(arguments: [
        ("Foo", "x", "unknown"), ("SOPInstanceUID", "1", "IMAGE level"), ("limit", "-1", "limit"),
        ("offset", "a", "offset"), ("00091010", "x", "private"),
        ("ReferencedSeriesSequence.SeriesInstanceUID", "1", "sequence"),
        ("fuzzymatching", "yes", "fuzzymatching"), ("PatientID", "a", "more than once"),
    ])
    func badKeysAreRefused(_ name: String, _ value: String, _ words: String) {
        var pairs = [(name, value)]
        if name == "PatientID" { pairs.append(("PatientID", "b")) }
        do {
            _ = try query(.study, pairs)
            Issue.record("\(name)=\(value) accepted")
        } catch {
            #expect("\(error)".contains(words), "\(error)")
        }
    }
}
