// SPDX-License-Identifier: Apache-2.0
// swift-format-ignore-file: AlwaysUseLowerCamelCase
import DICOM
import Foundation
import Testing

@testable import Archive

private let store = Fixture.shared
private let studyUID = Tag(0x0020, 0x000D)
private let seriesUID = Tag(0x0020, 0x000E)
private let sopUID = Tag(0x0008, 0x0018)
private let sopClass = Tag(0x0008, 0x0016)
private let modality = Tag(0x0008, 0x0060)

private func studies(_ q: Query, model: QueryModel = .studyRoot) throws -> [String] {
    try findAll(store, q.ds.contains(studyUID) ? q : q.with(studyUID, .UI), model: model).values(studyUID)
}

@Suite struct SingleValueMatching {
    @Test func QR05_singleValueLOIsCaseSensitive() throws {
        #expect(try studies(Query("STUDY").with(.patientID, .LO, "PID001")) == ["1.2.3.1", "1.2.3.2"])
        #expect(try studies(Query("STUDY").with(.patientID, .LO, "pid001")) == [])
        #expect(try studies(Query("STUDY").with(.patientID, .LO, "PID00")) == [])
    }

    @Test func QR05_singleValuePNIsCaseInsensitiveAndIgnoresSpaces() throws {
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "DOE^JOHN")) == ["1.2.3.1", "1.2.3.2"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "doe^john  ")) == ["1.2.3.1", "1.2.3.2"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "Doe^John^^")) == ["1.2.3.1", "1.2.3.2"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "van der berg^anne")) == ["1.2.3.7"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "Doe")) == [])
        #expect(try studies(Query("STUDY").with(Tags.referringPhysician, .PN, "JONES^BOB")) == ["1.2.3.3"])
    }

    @Test func QR05_singleValueOnOtherKeys() throws {
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "ACC_2")) == ["1.2.3.2"])
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "acc_2")) == [])
        #expect(try studies(Query("STUDY").with(.studyDate, .DA, "20250215")) == ["1.2.3.3", "1.2.3.4"])
        #expect(try studies(Query("STUDY").with(Tags.sex, .CS, "F")) == ["1.2.3.3", "1.2.3.7"])
        #expect(try studies(Query("STUDY").with(Tags.studyID, .SH, "2")) == ["1.2.3.2"])
        let series = try findAll(
            store,
            Query("SERIES").with(studyUID, .UI, "1.2.3.1").with(Tags.seriesNumber, .IS, "2")
                .with(seriesUID, .UI))
        #expect(series.values(seriesUID) == ["1.2.3.1.2"])
        let images = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.1")
                .with(Tags.instanceNumber, .IS, "2").with(sopUID, .UI))
        #expect(images.values(sopUID) == ["1.2.3.1.1.2"])
    }

    @Test func QR11_emptyValueMatching() throws {
        // No study has an empty accession; every study has a description.
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "\"\"")) == [])
        let all = try studies(Query("STUDY"))
        #expect(all.count == 7)
    }
}

@Suite struct UniversalMatching {
    @Test func QR07_zeroLengthMatchesAllAndReturnsValues() throws {
        let r = try findAll(store, Query("STUDY").with(.patientName, .PN).with(studyUID, .UI).with(Tags.accession, .SH))
        #expect(r.count == 7)
        #expect(r.values(Tags.accession) == ["ACC%3", "ACC1", "ACC4", "ACC5", "ACC6", "ACC7", "ACC_2"])
        #expect(r.values(.patientName).contains("Müller^Jürgen"))
        #expect(r.allSatisfy { $0.string(.queryRetrieveLevel) == "STUDY" })
    }

    @Test func QR03_responseHoldsExactlyTheRequestedKeys() throws {
        let r = try findAll(
            store,
            Query("STUDY").with(.patientID, .LO, "PID002").with(Tags.studyDescription, .LO)
                .with(Tags.patientAge, .AS).with(Tags.accession, .SH))
        #expect(r.count == 1)
        let ds = r[0]
        #expect(
            ds.tags
                == [Tags.accession, .queryRetrieveLevel, Tags.studyDescription, .patientID, Tags.patientAge].sorted())
        #expect(ds.string(Tags.studyDescription) == "US Abdomen")
        #expect(ds.string(Tags.patientAge) == "054Y")  // from the study blob (Patient Study module)
        #expect(ds.string(Tags.accession) == "ACC%3")
        #expect(ds[.specificCharacterSet] == nil)
    }

    @Test func QR08_starAloneIsUniversal() throws {
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "*")).count == 7)
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "**")).count == 7)
    }
}

@Suite struct WildcardMatching {
    @Test func QR08_prefixAndQuestionMark() throws {
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "doe*")) == ["1.2.3.1", "1.2.3.2", "1.2.3.3"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "D?E^J*")) == ["1.2.3.1", "1.2.3.2", "1.2.3.3"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "*^JANE")) == ["1.2.3.3"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "X*")) == [])
        #expect(
            try studies(Query("STUDY").with(Tags.accession, .SH, "ACC?")) == [
                "1.2.3.1", "1.2.3.4", "1.2.3.5", "1.2.3.6", "1.2.3.7",
            ])
    }

    @Test func QR08_wildcardOnNonPNIsCaseSensitive() throws {
        #expect(
            try studies(Query("STUDY").with(Tags.studyDescription, .LO, "CT*")) == ["1.2.3.1", "1.2.3.6", "1.2.3.7"])
        #expect(try studies(Query("STUDY").with(Tags.studyDescription, .LO, "ct*")) == [])
    }

    @Test func QR08_percentAndUnderscoreAreLiterals() throws {
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "ACC_*")) == ["1.2.3.2"])
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "ACC%*")) == ["1.2.3.3"])
        #expect(try studies(Query("STUDY").with(Tags.studyDescription, .LO, "*100%")) == ["1.2.3.2"])
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "%")) == [])
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "ACC[1]*")) == [])
    }

    /// A literal prefix and `*` is an index range only (no GLOB: SQLite re-prepares a
    /// statement with a bound GLOB pattern at every bind); other patterns keep the GLOB.
    /// Both give what wild card matching says, including past the last byte value.
    @Test func QR08_prefixPatternIsAnIndexRange() throws {
        func sql(_ value: String) throws -> String {
            FindPlan(try Query("STUDY").with(.patientName, .PN, value).with(studyUID, .UI).request()).sql
        }
        #expect(try !sql("doe*").contains("GLOB"))
        #expect(try !sql("doe^j**").contains("GLOB"))
        #expect(try sql("doe*n").contains("GLOB"))
        #expect(try sql("d?e*").contains("GLOB"))
        #expect(try sql("doe?").contains("GLOB"))
        #expect(
            try store.explain(try Query("STUDY").with(.patientName, .PN, "doe*").request())
                .contains { $0.contains("patient_name_norm") })
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "DOE^J*")) == ["1.2.3.1", "1.2.3.2", "1.2.3.3"])
        #expect(try studies(Query("STUDY").with(.patientName, .PN, "DOE^JA*")) == ["1.2.3.3"])
        #expect(
            try studies(
                Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "MÜLLER*")) == [
                    "1.2.3.4"
                ])
        #expect(
            try studies(Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "山田*"))
                == ["1.2.3.6"])
        #expect(
            try studies(Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "山*"))
                == ["1.2.3.6"])
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "ACC*")).count == 7)
        #expect(try studies(Query("STUDY").with(Tags.accession, .SH, "ACC1*")) == ["1.2.3.1"])
        #expect(try studies(Query("STUDY").with(Tags.studyDescription, .LO, "MR Head 100%*")) == ["1.2.3.2"])
        #expect(try studies(Query("STUDY").with(Tags.studyDescription, .LO, "MR Head 100_*")) == [])
    }

    @Test func QR08_wildcardOnBlobAttribute() throws {
        let r = try findAll(
            store,
            Query("SERIES").with(studyUID, .UI, "1.2.3.2").with(Tags.institution, .LO, "Clinic_*")
                .with(seriesUID, .UI))
        #expect(r.values(Tags.institution) == ["Clinic_B"])
        let none = try findAll(
            store, Query("SERIES").with(studyUID, .UI, "1.2.3.2").with(Tags.institution, .LO, "General*"))
        #expect(none.isEmpty)
    }
}

@Suite struct RangeMatching {
    @Test func QR09_dateRanges() throws {
        #expect(
            try studies(Query("STUDY").with(.studyDate, .DA, "20250101-20250215")) == ["1.2.3.2", "1.2.3.3", "1.2.3.4"])
        #expect(try studies(Query("STUDY").with(.studyDate, .DA, "-20241231")) == ["1.2.3.1", "1.2.3.5", "1.2.3.7"])
        #expect(try studies(Query("STUDY").with(.studyDate, .DA, "20250201-")) == ["1.2.3.3", "1.2.3.4", "1.2.3.6"])
        #expect(try studies(Query("STUDY").with(.studyDate, .DA, "20260101-")) == [])
        #expect(try studies(Query("STUDY").with(.studyDate, .DA, "2024.12.31-2024.12.31")) == ["1.2.3.1"])
    }

    @Test func QR09_timeRangesWithPartialAndFractionalValues() throws {
        #expect(try studies(Query("STUDY").with(Tags.studyTime, .TM, "1000-1100")) == ["1.2.3.3", "1.2.3.7"])
        #expect(try studies(Query("STUDY").with(Tags.studyTime, .TM, "-08")) == ["1.2.3.2"])
        #expect(try studies(Query("STUDY").with(Tags.studyTime, .TM, "103000.5-103000.5")) == ["1.2.3.3"])
        #expect(try studies(Query("STUDY").with(Tags.studyTime, .TM, "1030-1030")) == ["1.2.3.3", "1.2.3.7"])
        #expect(try studies(Query("STUDY").with(Tags.studyTime, .TM, "2359-")) == ["1.2.3.1"])
        #expect(try studies(Query("STUDY").with(Tags.studyTime, .TM, "1401-1459")) == [])
    }

    @Test func QR09_rangeOnBlobDate() throws {
        let r = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.1")
                .with(Tags.contentDate, .DA, "20241201-20241231").with(sopUID, .UI))
        #expect(r.values(sopUID) == ["1.2.3.1.1.1", "1.2.3.1.1.2"])
        let none = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.1")
                .with(Tags.contentDate, .DA, "20250101-"))
        #expect(none.isEmpty)
    }
}

@Suite struct UIDListMatching {
    @Test func QR06_listOfUIDs() throws {
        #expect(try studies(Query("STUDY").with(studyUID, .UI, "1.2.3.1\\1.2.3.3\\9.9")) == ["1.2.3.1", "1.2.3.3"])
        #expect(try studies(Query("STUDY").with(studyUID, .UI, "9.9\\8.8")) == [])
        let r = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.3").with(seriesUID, .UI, "1.2.3.3.1")
                .with(sopUID, .UI, "1.2.3.3.1.2\\1.2.3.1.1.1"))
        #expect(r.values(sopUID) == ["1.2.3.3.1.2"])
    }

    @Test func QR06_sopClassListAtImageLevel() throws {
        let r = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.2")
                .with(sopClass, .UI, "\(Fixture.pr)\\\(Fixture.mr)").with(sopUID, .UI))
        #expect(r.values(sopUID) == ["1.2.3.1.2.1"])
    }
}

@Suite struct SequenceMatching {
    private func item(_ code: String) -> DataSet {
        var i = DataSet()
        i.set(Tags.codeValue, vr: .SH, string: code)
        i.set(Tags.codingScheme, vr: .SH, string: "")
        return i
    }

    @Test func QR10_itemSubKeysMatch() throws {
        let r = try findAll(
            store, Query("STUDY").with(Tags.procedureCodeSequence, items: [item("US123")]).with(studyUID, .UI))
        #expect(r.values(studyUID) == ["1.2.3.3"])
        let items = r[0].items(Tags.procedureCodeSequence) ?? []
        #expect(items.count == 1)
        #expect(items.first?.string(Tags.codeValue) == "US123")
        #expect(items.first?.string(Tags.codingScheme) == "LOCAL")
        #expect(items.first?.tags == [Tags.codeValue, Tags.codingScheme])
        #expect(try studies(Query("STUDY").with(Tags.procedureCodeSequence, items: [item("CT*")])) == ["1.2.3.1"])
        #expect(try studies(Query("STUDY").with(Tags.procedureCodeSequence, items: [item("XX")])) == [])
    }

    @Test func QR10_emptyItemIsUniversal() throws {
        let r = try findAll(
            store, Query("STUDY").with(Tags.procedureCodeSequence, items: [DataSet()]).with(studyUID, .UI))
        #expect(r.count == 7)
        let s1 = r.first { $0.string(studyUID) == "1.2.3.1" }
        #expect(s1?.items(Tags.procedureCodeSequence)?.first?.string(Tag(0x0008, 0x0104)) == "Procedure CT456")
        let s5 = r.first { $0.string(studyUID) == "1.2.3.5" }
        #expect(s5?.items(Tags.procedureCodeSequence)?.isEmpty == true)
    }
}

@Suite struct ComputedKeys {
    @Test func QR04_modalitiesInStudyReturnedAndMatched() throws {
        let r = try findAll(
            store,
            Query("STUDY").with(.patientID, .LO, "PID001").with(Tags.modalitiesInStudy, .CS)
                .with(studyUID, .UI))
        let byStudy = Dictionary(
            uniqueKeysWithValues: r.map { ($0.string(studyUID)!, $0.strings(Tags.modalitiesInStudy)!) })
        #expect(byStudy["1.2.3.1"] == ["CT", "PR"])
        #expect(byStudy["1.2.3.2"] == ["MR"])
        #expect(try studies(Query("STUDY").with(Tags.modalitiesInStudy, .CS, "MR")) == ["1.2.3.2", "1.2.3.5"])
        #expect(try studies(Query("STUDY").with(Tags.modalitiesInStudy, .CS, "PR")) == ["1.2.3.1"])
        #expect(try studies(Query("STUDY").with(Tags.modalitiesInStudy, .CS, "US\\CR")) == ["1.2.3.3", "1.2.3.4"])
        #expect(try studies(Query("STUDY").with(Tags.modalitiesInStudy, .CS, "XA")) == [])
    }

    @Test func QR04_countsReflectTheIndex() throws {
        let p = try findAll(
            store,
            Query("PATIENT").with(.patientID, .LO, "PID001").with(Tags.patientStudies, .IS)
                .with(Tags.patientSeries, .IS).with(Tags.patientInstances, .IS), model: .patientRoot)
        #expect(p.count == 1)
        #expect(p[0].string(Tags.patientStudies) == "2")
        #expect(p[0].string(Tags.patientSeries) == "3")
        #expect(p[0].string(Tags.patientInstances) == "4")
        let s = try findAll(
            store,
            Query("STUDY").with(studyUID, .UI, "1.2.3.1").with(Tags.studySeries, .IS)
                .with(Tags.studyInstances, .IS).with(Tags.sopClassesInStudy, .UI))
        #expect(s[0].string(Tags.studySeries) == "2")
        #expect(s[0].string(Tags.studyInstances) == "3")
        #expect(s[0].strings(Tags.sopClassesInStudy) == [Fixture.ct, Fixture.pr].sorted())
        let se = try findAll(
            store,
            Query("SERIES").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.1")
                .with(Tags.seriesInstances, .IS))
        #expect(se[0].string(Tags.seriesInstances) == "2")
        // Matching on a count.
        #expect(try studies(Query("STUDY").with(Tags.studyInstances, .IS, "2")) == ["1.2.3.3"])
    }

    @Test func instanceAvailabilityIsOnline() throws {
        let r = try findAll(store, Query("STUDY").with(studyUID, .UI, "1.2.3.4").with(Tags.instanceAvailability, .CS))
        #expect(r.first?.string(Tags.instanceAvailability) == "ONLINE")
    }
}

@Suite struct LevelsAndModels {
    @Test func patientRootAllLevels() throws {
        let patients = try findAll(
            store, Query("PATIENT").with(.patientID, .LO).with(.patientName, .PN), model: .patientRoot)
        #expect(patients.values(.patientID) == ["PID001", "PID002", "PID003", "PID004", "PID005", "PID006"])
        let st = try findAll(
            store, Query("STUDY").with(.patientID, .LO, "PID001").with(studyUID, .UI), model: .patientRoot)
        #expect(st.values(studyUID) == ["1.2.3.1", "1.2.3.2"])
        let se = try findAll(
            store,
            Query("SERIES").with(.patientID, .LO, "PID001").with(studyUID, .UI, "1.2.3.1")
                .with(seriesUID, .UI).with(modality, .CS), model: .patientRoot)
        #expect(se.values(modality) == ["CT", "PR"])
        let im = try findAll(
            store,
            Query("IMAGE").with(.patientID, .LO, "PID001").with(studyUID, .UI, "1.2.3.1")
                .with(seriesUID, .UI, "1.2.3.1.1").with(sopUID, .UI).with(Tags.instanceNumber, .IS), model: .patientRoot
        )
        #expect(im.values(Tags.instanceNumber) == ["1", "2"])
        #expect(im.allSatisfy { $0.string(.queryRetrieveLevel) == "IMAGE" })
        // The patient must match too: a study of another patient is not returned.
        let wrong = try findAll(
            store, Query("SERIES").with(.patientID, .LO, "PID002").with(studyUID, .UI, "1.2.3.1"),
            model: .patientRoot)
        #expect(wrong.isEmpty)
    }

    @Test func studyRootAllLevels() throws {
        // Study Root STUDY level carries the patient keys.
        let st = try findAll(
            store,
            Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "müller*").with(
                .patientID, .LO
            )
            .with(Tags.birthDate, .DA))
        #expect(st.values(.patientID) == ["PID003"])
        #expect(st.values(Tags.birthDate) == ["19650505"])
        let se = try findAll(
            store, Query("SERIES").with(studyUID, .UI, "1.2.3.3").with(seriesUID, .UI).with(modality, .CS, "US"))
        #expect(se.values(seriesUID) == ["1.2.3.3.1"])
        let im = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.5").with(seriesUID, .UI, "1.2.3.5.1")
                .with(Tags.instanceNumber, .IS).with(Tags.imageType, .CS, "*AXIAL*"))
        #expect(im.values(Tags.instanceNumber) == ["7"])
        #expect(im.first?.strings(Tags.imageType) == ["ORIGINAL", "PRIMARY", "AXIAL"])
        // Zero-length higher-level keys are accepted and returned.
        let se2 = try findAll(
            store, Query("SERIES").with(studyUID, .UI, "1.2.3.5").with(.patientName, .PN).with(modality, .CS))
        #expect(se2.values(.patientName) == ["Łukasz^Żółw"])
    }

    @Test func unknownLevelKeyAtHigherLevelIsUnsupportedOptional() throws {
        let req = try Query("STUDY").with(studyUID, .UI, "1.2.3.1").with(Tags.sliceThickness, .DS).request()
        let page = try store.find(req, after: nil, limit: 10)
        #expect(page.hasUnsupportedOptionalKeys)
        #expect(page.matches.count == 1)
        #expect(page.matches[0].contains(Tags.sliceThickness))
        #expect(page.matches[0].bytes(Tags.sliceThickness)?.isEmpty == true)
        // At IMAGE level it is an instance attribute: matched and returned.
        let im = try findAll(
            store,
            Query("IMAGE").with(studyUID, .UI, "1.2.3.1").with(seriesUID, .UI, "1.2.3.1.1")
                .with(Tags.sliceThickness, .DS, "2.5"))
        #expect(im.count == 2)
        #expect(im.first?.string(Tags.sliceThickness) == "2.5")
        let priv = try store.find(
            try Query("STUDY").with(studyUID, .UI, "1.2.3.1").with(Tag(0x0009, 0x0010), .LO, "ACME")
                .with(Tag(0x0009, 0x1001), .LO, "x").request(), after: nil, limit: 10)
        #expect(priv.hasUnsupportedOptionalKeys)
        #expect(priv.matches.first?.string(Tag(0x0009, 0x0010)) == "ACME")
        #expect(priv.matches.first?.bytes(Tag(0x0009, 0x1001))?.isEmpty == true)
        let ok = try store.find(try Query("STUDY").with(studyUID, .UI).request(), after: nil, limit: 10)
        #expect(!ok.hasUnsupportedOptionalKeys)
    }
}

@Suite struct Validation {
    private func failure(_ q: Query, _ model: QueryModel = .studyRoot) -> QueryError? {
        do {
            _ = try q.request(model)
            return nil
        } catch let e as QueryError { return e } catch { return nil }
    }

    @Test func QR01_levelMissingOrInvalid() {
        var noLevel = Query("STUDY")
        noLevel.ds.remove(.queryRetrieveLevel)
        #expect(failure(noLevel)?.status == 0xA900)
        #expect(failure(noLevel)?.offendingElements == [.queryRetrieveLevel])
        #expect(failure(Query("FOO"))?.status == 0xA900)
        #expect(failure(Query("PATIENT"), .studyRoot)?.status == 0xA900)
        #expect(failure(Query("PATIENT").with(.patientID, .LO), .patientRoot) == nil)
    }

    @Test func QR02_uniqueKeysAboveTheLevel() {
        let e1 = failure(Query("STUDY").with(studyUID, .UI), .patientRoot)
        #expect(e1?.status == 0xA900)
        #expect(e1?.offendingElements == [.patientID])
        #expect(e1?.comment.contains("Patient ID") == true)
        #expect(failure(Query("SERIES").with(seriesUID, .UI))?.offendingElements == [studyUID])
        #expect(failure(Query("SERIES").with(studyUID, .UI, "1.2.3.*"))?.status == 0xA900)
        #expect(failure(Query("SERIES").with(studyUID, .UI, "1.2.3.1\\1.2.3.2"))?.status == 0xA900)
        #expect(failure(Query("IMAGE").with(studyUID, .UI, "1.2.3.1"))?.offendingElements == [seriesUID])
        #expect(failure(Query("STUDY").with(.patientID, .LO, "PID*"), .patientRoot)?.status == 0xA900)
        #expect(failure(Query("STUDY").with(.patientID, .LO, "PID*"), .studyRoot) == nil)
    }

    @Test func QR02_keysBelowTheLevelAndNonUniqueKeysAbove() {
        let below = failure(Query("STUDY").with(seriesUID, .UI))
        #expect(below?.status == 0xA900)
        #expect(below?.offendingElements == [seriesUID])
        #expect(failure(Query("STUDY").with(modality, .CS, "CT"))?.status == 0xA900)
        #expect(failure(Query("PATIENT").with(studyUID, .UI), .patientRoot)?.status == 0xA900)
        let above = failure(Query("SERIES").with(studyUID, .UI, "1.2.3.1").with(.patientName, .PN, "Doe*"))
        #expect(above?.status == 0xA900)
        #expect(above?.offendingElements == [.patientName])
        #expect(failure(Query("SERIES").with(studyUID, .UI, "1.2.3.1").with(.patientName, .PN)) == nil)
        // Relational queries skip the hierarchy rules.
        var q = Query("SERIES").with(modality, .CS, "MR").ds
        q.set(seriesUID, vr: .UI, string: "")
        #expect((try? FindRequest(model: .studyRoot, identifier: q, relational: true)) != nil)
    }

    @Test func relationalSeriesQueryWithoutStudyUID() throws {
        var q = Query("SERIES").with(modality, .CS, "MR").with(seriesUID, .UI).ds
        q.set(studyUID, vr: .UI, string: "")
        let req = try FindRequest(model: .studyRoot, identifier: q, relational: true)
        let page = try store.find(req, after: nil, limit: 10)
        #expect(page.matches.values(seriesUID) == ["1.2.3.2.1", "1.2.3.5.1"])
    }
}

@Suite struct CharacterSets {
    @Test func latin1QueryMatchesLatin1StoredName() throws {
        let latin1 = SpecificCharacterSet("ISO_IR 100")
        let q = Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 100")
            .with(.patientName, .PN, bytes: latin1.encode("MÜLLER*")).with(studyUID, .UI)
            .with(Tags.studyDescription, .LO)
        let r = try findAll(store, q)
        #expect(r.values(studyUID) == ["1.2.3.4"])
        let ds = try #require(r.first)
        #expect(ds.string(.specificCharacterSet) == "ISO_IR 192")
        #expect(Array(ds.bytes(.patientName) ?? []) == Array("Müller^Jürgen ".utf8))
        #expect(ds.decodedString(Tags.studyDescription) == "Röntgen Thorax")
    }

    @Test func utf8QueriesMatch() throws {
        let q = Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "Łukasz^Żółw")
            .with(studyUID, .UI).with(.patientName, .PN, "łukasz^żółw")
        #expect(try findAll(store, q).values(studyUID) == ["1.2.3.5"])
        let q2 = Query("STUDY").with(.specificCharacterSet, .CS, "ISO_IR 192").with(.patientName, .PN, "山田*")
            .with(studyUID, .UI).with(Tags.studyDescription, .LO)
        let r = try findAll(store, q2)
        #expect(r.values(studyUID) == ["1.2.3.6"])
        #expect(r.first?.string(.specificCharacterSet) == "ISO_IR 192")
        #expect(r.first?.decodedString(.patientName) == "山田^太郎")
        #expect(r.first?.decodedString(Tags.studyDescription) == "CT 頭部")
    }

    @Test func blobTextIsReencodedAsUTF8() throws {
        let r = try findAll(
            store,
            Query("SERIES").with(.specificCharacterSet, .CS, "ISO_IR 192").with(studyUID, .UI, "1.2.3.4")
                .with(Tags.institution, .LO, "*Süd"))
        #expect(r.count == 1)
        #expect(r.first?.string(.specificCharacterSet) == "ISO_IR 192")
        #expect(Array(r.first?.bytes(Tags.institution) ?? []) == Array("Klinikum Süd ".utf8))
    }
}

@Suite struct Paging {
    @Test func limitTwoOverFiveMatches() throws {
        let req = try Query("STUDY").with(.studyDate, .DA, "20241231-").with(studyUID, .UI).request()
        var pages: [[String]] = []
        var token: ResumeToken? = nil
        repeat {
            let page = try store.find(req, after: token, limit: 2)
            pages.append(page.matches.map { $0.string(studyUID)! })
            token = page.next
        } while token != nil && pages.count < 10
        #expect(pages.count == 3)
        #expect(pages.map(\.count) == [2, 2, 1])
        let all = pages.flatMap { $0 }
        #expect(Set(all).count == 5)
        #expect(all.sorted() == ["1.2.3.1", "1.2.3.2", "1.2.3.3", "1.2.3.4", "1.2.3.6"])
    }

    @Test func pagingWithSwiftSideFilter() throws {
        // Patient's Age is matched from the study blob.
        let req = try Query("STUDY").with(Tags.patientAge, .AS, "054Y").with(studyUID, .UI).request()
        var seen: [String] = []
        var token: ResumeToken? = nil
        var pages = 0
        repeat {
            let page = try store.find(req, after: token, limit: 3)
            seen += page.matches.map { $0.string(studyUID)! }
            token = page.next
            pages += 1
        } while token != nil && pages < 10
        #expect(seen.count == 7)
        #expect(Set(seen).count == 7)
        #expect(pages == 3)
    }

    @Test func swiftSideFilteringIsBoundedPerPage() throws {
        let req = try Query("STUDY").with(Tags.patientAge, .AS, "054Y").with(studyUID, .UI).request()
        var seen: [String] = []
        var token: ResumeToken? = nil
        var pages = 0
        repeat {
            let page = try store.find(req, after: token, limit: 100, maxExaminedRows: 2)
            #expect(page.matches.count <= 2)
            seen += page.matches.map { $0.string(studyUID)! }
            token = page.next
            pages += 1
        } while token != nil && pages < 20
        #expect(seen.sorted() == ["1.2.3.1", "1.2.3.2", "1.2.3.3", "1.2.3.4", "1.2.3.5", "1.2.3.6", "1.2.3.7"])
        // No match at all: short (empty) pages until the end, never a spurious match.
        let none = try Query("STUDY").with(Tags.patientAge, .AS, "099Y").request()
        var t: ResumeToken? = nil
        var empty = 0
        repeat {
            let page = try store.find(none, after: t, limit: 100, maxExaminedRows: 3)
            #expect(page.matches.isEmpty)
            t = page.next
            empty += 1
        } while t != nil && empty < 20
        #expect(empty >= 2 && empty < 20)
    }
}
