// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import Testing

/// The real daemon serving the fixture archive (`qrscpd-samples fixtures`), queried by
/// DCMTK's findscu and a pynetdicom peer; every answer is checked against the archive's
/// ground-truth.json.
@Suite(
    "C-FIND interop (findscu, pynetdicom) on the fixture archive", .serialized,
    .enabled(if: ExternalTool.interopEnabled), .timeLimit(.minutes(5)))
struct FindInteropTests {
    // MARK: Levels and models

    struct LevelCase: Sendable, CustomStringConvertible {
        var model: QueryModelArgument
        var level: String
        var description: String { "\(model == .patientRoot ? "Patient Root" : "Study Root") \(level)" }
    }

    static let levelCases: [LevelCase] = [
        .init(model: .patientRoot, level: "PATIENT"),
        .init(model: .patientRoot, level: "STUDY"),
        .init(model: .patientRoot, level: "SERIES"),
        .init(model: .patientRoot, level: "IMAGE"),
        .init(model: .studyRoot, level: "STUDY"),
        .init(model: .studyRoot, level: "SERIES"),
        .init(model: .studyRoot, level: "IMAGE"),
    ]

    @Test("every level of both models returns exactly the ground truth's matches", arguments: levelCases)
    func levels(_ c: LevelCase) throws {
        let archive = try FixtureDaemon()
        let truth = archive.truth
        let patient = try #require(truth.patient("FX-0001"))
        let study = try #require(truth.studies(ofPatient: patient.PatientID).first { $0.ModalitiesInStudy.count > 1 })
        let series = try #require(truth.series(ofStudy: study.StudyInstanceUID).first { $0.Modality == "MR" })
        let patientKey = c.model == .patientRoot ? ["\(Key.patientID)=\(patient.PatientID)"] : []

        for peer in FindPeer.allCases {
            switch c.level {
            case "PATIENT":
                let outcome = archive.find(
                    peer, c.model,
                    [
                        "\(Key.level)=PATIENT", "\(Key.patientID)=\(patient.PatientID)", Key.patientName, Key.birthDate,
                        Key.sex,
                    ])
                try expectSuccess(outcome, peer)
                #expect(outcome.matches.count == 1, "\(peer): \(outcome)")
                let match = try #require(outcome.matches.first)
                #expect(match[Key.level] == "PATIENT")
                #expect(match[Key.patientID] == patient.PatientID)
                #expect(match[Key.patientName] == patient.PatientName)
                #expect(match[Key.birthDate] == patient.PatientBirthDate)
                #expect(match[Key.sex] == patient.PatientSex)
            case "STUDY":
                let outcome = archive.find(
                    peer, c.model,
                    [
                        "\(Key.level)=STUDY", "\(Key.patientID)=\(patient.PatientID)", Key.studyUID, Key.studyDate,
                        Key.studyTime, Key.accessionNumber, Key.studyID, Key.studyDescription, Key.retrieveAETitle,
                    ])
                try expectSuccess(outcome, peer)
                let expected = truth.studies(ofPatient: patient.PatientID)
                #expect(outcome.matches.count == expected.count, "\(peer): \(outcome)")
                #expect(outcome.valueSet(Key.studyUID) == Set(expected.map(\.StudyInstanceUID)))
                for match in outcome.matches {
                    guard let s = expected.first(where: { $0.StudyInstanceUID == match[Key.studyUID] }) else {
                        continue
                    }
                    #expect(match[Key.level] == "STUDY")
                    #expect(match[Key.studyDate] == s.StudyDate)
                    #expect(match[Key.studyTime] == s.StudyTime)
                    #expect(match[Key.accessionNumber] == s.AccessionNumber)
                    #expect(match[Key.studyID] == s.StudyID)
                    #expect(match[Key.studyDescription] == s.StudyDescription)
                    #expect(match[Key.retrieveAETitle] == archive.daemon.aeTitle)
                }
            case "SERIES":
                let outcome = archive.find(
                    peer, c.model,
                    patientKey + [
                        "\(Key.level)=SERIES", "\(Key.studyUID)=\(study.StudyInstanceUID)", Key.seriesUID, Key.modality,
                        Key.seriesNumber,
                    ])
                try expectSuccess(outcome, peer)
                let expected = truth.series(ofStudy: study.StudyInstanceUID)
                #expect(outcome.matches.count == expected.count, "\(peer): \(outcome)")
                #expect(outcome.valueSet(Key.seriesUID) == Set(expected.map(\.SeriesInstanceUID)))
                for match in outcome.matches {
                    guard let s = expected.first(where: { $0.SeriesInstanceUID == match[Key.seriesUID] }) else {
                        continue
                    }
                    #expect(match[Key.level] == "SERIES")
                    #expect(match[Key.modality] == s.Modality)
                    #expect(match[Key.seriesNumber] == "\(s.SeriesNumber)")
                }
            default:
                let outcome = archive.find(
                    peer, c.model,
                    patientKey + [
                        "\(Key.level)=IMAGE", "\(Key.studyUID)=\(study.StudyInstanceUID)",
                        "\(Key.seriesUID)=\(series.SeriesInstanceUID)", Key.sopInstanceUID, Key.instanceNumber,
                        Key.sopClassUID,
                    ])
                try expectSuccess(outcome, peer)
                let expected = truth.instances(ofSeries: series.SeriesInstanceUID)
                #expect(outcome.matches.count == expected.count, "\(peer): \(outcome)")
                #expect(outcome.valueSet(Key.sopInstanceUID) == Set(expected.map(\.SOPInstanceUID)))
                for match in outcome.matches {
                    guard let i = expected.first(where: { $0.SOPInstanceUID == match[Key.sopInstanceUID] }) else {
                        continue
                    }
                    #expect(match[Key.level] == "IMAGE")
                    #expect(match[Key.instanceNumber] == "\(i.InstanceNumber)")
                    #expect(match[Key.sopClassUID] == i.SOPClassUID)
                }
            }
        }
    }

    // MARK: Matching

    @Test("exact Patient ID, including one with a space")
    func exactPatientID() throws {
        let archive = try FixtureDaemon()
        for id in ["FX-0002", "FX 0003", "FX-SQL"] {
            let expected = archive.truth.studies(ofPatient: id)
            for peer in FindPeer.allCases {
                let outcome = archive.find(
                    peer, .studyRoot, ["\(Key.level)=STUDY", "\(Key.patientID)=\(id)", Key.studyUID])
                try expectSuccess(outcome, peer)
                #expect(
                    outcome.valueSet(Key.studyUID) == Set(expected.map(\.StudyInstanceUID)), "\(peer) \(id): \(outcome)"
                )
                #expect(outcome.matches.count == expected.count)
            }
        }
    }

    @Test("Patient's Name wild cards are case-insensitive; % and _ are literal characters")
    func patientNameWildcards() throws {
        let archive = try FixtureDaemon()
        let cases: [(pattern: String, patients: Set<String>)] = [
            ("doe*", ["FX-0001", "FX-0002"]),
            ("DOE^J*", ["FX-0001", "FX-0002"]),
            ("*john", ["FX-0001"]),
            ("?oe^jane", ["FX-0002"]),
            ("van der berg*", ["FX 0003"]),
            ("*Anna Maria", ["FX 0003"]),
            ("O'BRIEN^SEAN", ["FX-0004"]),
            ("100%^Under_Score", ["FX-SQL"]),
            ("100%*", ["FX-SQL"]),
            ("100?^Under?Score", ["FX-SQL", "FX-SQL-DECOY"]),
            ("*", Set(archive.truth.patients.map(\.PatientID))),
        ]
        for (pattern, patients) in cases {
            for peer in FindPeer.allCases {
                let outcome = archive.find(
                    peer, .patientRoot,
                    [
                        "\(Key.level)=PATIENT", "\(Key.patientName)=\(pattern)",
                        Key.patientID,
                    ])
                try expectSuccess(outcome, peer)
                #expect(outcome.valueSet(Key.patientID) == patients, "\(peer) '\(pattern)': \(outcome)")
                #expect(outcome.matches.count == patients.count, "\(peer) '\(pattern)'")
            }
        }
    }

    @Test("Study Date ranges across months and years (QR-09)")
    func dateRanges() throws {
        let archive = try FixtureDaemon()
        let dates = archive.truth.studies.map { ($0.StudyInstanceUID, $0.StudyDate) }
        let cases: [(String, (String) -> Bool)] = [
            ("20240101-20240229", { $0 >= "20240101" && $0 <= "20240229" }),
            ("20231201-20240131", { $0 >= "20231201" && $0 <= "20240131" }),
            ("-19991231", { $0 <= "19991231" }),
            ("20241231-", { $0 >= "20241231" }),
            ("20240229", { $0 == "20240229" }),
            ("19991231-20000101", { $0 >= "19991231" && $0 <= "20000101" }),
        ]
        for (range, contains) in cases {
            let expected = Set(dates.filter { contains($0.1) }.map(\.0))
            #expect(!expected.isEmpty)
            for peer in FindPeer.allCases {
                let outcome = archive.find(
                    peer, .studyRoot,
                    [
                        "\(Key.level)=STUDY", "\(Key.studyDate)=\(range)",
                        Key.studyUID,
                    ])
                try expectSuccess(outcome, peer)
                #expect(outcome.valueSet(Key.studyUID) == expected, "\(peer) \(range): \(outcome)")
                #expect(outcome.matches.count == expected.count)
                for match in outcome.matches { #expect(contains(match[Key.studyDate] ?? "")) }
            }
        }
    }

    @Test("a list of UIDs matches any of them (QR-06)")
    func uidList() throws {
        let archive = try FixtureDaemon()
        let studies = Array(archive.truth.studies.prefix(3)).map(\.StudyInstanceUID)
        let bigSeries = try #require(
            archive.truth.series.max { $0.NumberOfSeriesRelatedInstances < $1.NumberOfSeriesRelatedInstances })
        let instances = archive.truth.instances(ofSeries: bigSeries.SeriesInstanceUID).prefix(4).map(\.SOPInstanceUID)
        for peer in FindPeer.allCases {
            let outcome = archive.find(
                peer, .studyRoot,
                [
                    "\(Key.level)=STUDY",
                    "\(Key.studyUID)=\(studies.joined(separator: "\\"))",
                ])
            try expectSuccess(outcome, peer)
            #expect(outcome.valueSet(Key.studyUID) == Set(studies), "\(peer): \(outcome)")

            let images = archive.find(
                peer, .studyRoot,
                [
                    "\(Key.level)=IMAGE", "\(Key.studyUID)=\(bigSeries.StudyInstanceUID)",
                    "\(Key.seriesUID)=\(bigSeries.SeriesInstanceUID)",
                    "\(Key.sopInstanceUID)=\(instances.joined(separator: "\\"))", Key.instanceNumber,
                ])
            try expectSuccess(images, peer)
            #expect(images.valueSet(Key.sopInstanceUID) == Set(instances), "\(peer): \(images)")
        }
    }

    @Test("computed counts and Modalities in Study reflect the archive (QR-04)")
    func computedCounts() throws {
        let archive = try FixtureDaemon()
        let truth = archive.truth
        for peer in FindPeer.allCases {
            let patients = archive.find(
                peer, .patientRoot,
                [
                    "\(Key.level)=PATIENT", Key.patientID, Key.patientStudies, Key.patientSeries, Key.patientInstances,
                ])
            try expectSuccess(patients, peer)
            #expect(patients.matches.count == truth.patients.count, "\(peer): \(patients)")
            for match in patients.matches {
                guard let p = truth.patient(match[Key.patientID] ?? "") else {
                    Issue.record("\(peer): unknown patient \(match)")
                    continue
                }
                #expect(match[Key.patientStudies] == "\(p.NumberOfPatientRelatedStudies)", "\(peer) \(p.PatientID)")
                #expect(match[Key.patientSeries] == "\(p.NumberOfPatientRelatedSeries)", "\(peer) \(p.PatientID)")
                #expect(match[Key.patientInstances] == "\(p.NumberOfPatientRelatedInstances)", "\(peer) \(p.PatientID)")
            }

            let studies = archive.find(
                peer, .studyRoot,
                [
                    "\(Key.level)=STUDY", Key.studyUID, Key.studySeries, Key.studyInstances, Key.modalitiesInStudy,
                ])
            try expectSuccess(studies, peer)
            #expect(studies.matches.count == truth.studies.count, "\(peer): \(studies)")
            for match in studies.matches {
                guard let s = truth.studies.first(where: { $0.StudyInstanceUID == match[Key.studyUID] }) else {
                    Issue.record("\(peer): unknown study \(match)")
                    continue
                }
                #expect(match[Key.studySeries] == "\(s.NumberOfStudyRelatedSeries)")
                #expect(match[Key.studyInstances] == "\(s.NumberOfStudyRelatedInstances)")
                let modalities = Set((match[Key.modalitiesInStudy] ?? "").split(separator: "\\").map(String.init))
                #expect(modalities == Set(s.ModalitiesInStudy), "\(peer) \(s.StudyInstanceUID)")
            }

            let multi = try #require(truth.studies.first { $0.NumberOfStudyRelatedSeries > 1 })
            let series = archive.find(
                peer, .studyRoot,
                [
                    "\(Key.level)=SERIES", "\(Key.studyUID)=\(multi.StudyInstanceUID)", Key.seriesUID,
                    Key.seriesInstances,
                ])
            try expectSuccess(series, peer)
            #expect(series.matches.count == multi.NumberOfStudyRelatedSeries)
            for match in series.matches {
                let s = truth.series.first { $0.SeriesInstanceUID == match[Key.seriesUID] }
                #expect(match[Key.seriesInstances] == s.map { "\($0.NumberOfSeriesRelatedInstances)" })
            }
        }
    }

    // MARK: Character sets

    @Test("Latin-1 and UTF-8 names come back intact with Specific Character Set")
    func characterSets() throws {
        let archive = try FixtureDaemon()
        for id in ["FX-LATIN1", "FX-UTF8"] {
            let patient = try #require(archive.truth.patient(id))
            for peer in FindPeer.allCases {
                let outcome = archive.find(
                    peer, .patientRoot,
                    [
                        "\(Key.level)=PATIENT", "\(Key.patientID)=\(id)",
                        Key.patientName,
                    ])
                try expectSuccess(outcome, peer)
                let match = try #require(outcome.matches.first, "\(peer): \(outcome)")
                #expect(match[Key.patientName] == patient.PatientName, "\(peer): \(match)")
                let charset = match[Key.characterSet] ?? ""
                #expect(["ISO_IR 100", "ISO_IR 192"].contains(charset), "\(peer): SCS '\(charset)'")
                if id == "FX-UTF8" { #expect(charset == "ISO_IR 192") }

                let studies = archive.find(
                    peer, .patientRoot,
                    [
                        "\(Key.level)=STUDY", "\(Key.patientID)=\(id)", Key.studyUID, Key.studyDescription,
                    ])
                try expectSuccess(studies, peer)
                for match in studies.matches {
                    let s = archive.truth.studies.first { $0.StudyInstanceUID == match[Key.studyUID] }
                    #expect(match[Key.studyDescription] == s?.StudyDescription, "\(peer): \(match)")
                }
            }
        }
        // Non-ASCII matching values, encoded by pynetdicom in the request's character set.
        let cases: [(charset: String, pattern: String, id: String)] = [
            ("ISO_IR 100", "Müller^Jürgen", "FX-LATIN1"),
            ("ISO_IR 100", "Müller*", "FX-LATIN1"),
            ("ISO_IR 192", "Łukasz^Żółw", "FX-UTF8"),
            ("ISO_IR 192", "*Żółw", "FX-UTF8"),
            ("ISO_IR 192", "Müller^Jürgen", "FX-LATIN1"),
        ]
        for (charset, pattern, id) in cases {
            let outcome = archive.find(
                .pynetdicom, .patientRoot,
                [
                    "\(Key.level)=PATIENT", "\(Key.patientName)=\(pattern)",
                    Key.patientID,
                ], characterSet: charset)
            try expectSuccess(outcome, .pynetdicom)
            #expect(outcome.values(Key.patientID) == [id], "'\(pattern)' (\(charset)): \(outcome)")
        }
    }

    // MARK: Cancel

    @Test("C-CANCEL in the middle of a big result: FE00 and the rest is not sent (QR-14)")
    func cancel() throws {
        let archive = try FixtureDaemon()
        let big = try #require(
            archive.truth.series.max { $0.NumberOfSeriesRelatedInstances < $1.NumberOfSeriesRelatedInstances })
        #expect(big.NumberOfSeriesRelatedInstances >= 1000)
        let keys = [
            "\(Key.level)=IMAGE", "\(Key.studyUID)=\(big.StudyInstanceUID)",
            "\(Key.seriesUID)=\(big.SeriesInstanceUID)", Key.sopInstanceUID, Key.instanceNumber,
        ]
        for peer in FindPeer.allCases {
            let outcome = archive.find(peer, .studyRoot, keys, cancelAfter: 3)
            #expect(outcome.finalStatus == "FE00", "\(peer): \(outcome)")
            #expect(outcome.pendingStatuses.count < big.NumberOfSeriesRelatedInstances, "\(peer)")
        }
        // The daemon is fine afterwards: the whole series still answers.
        let outcome = archive.find(.pynetdicom, .studyRoot, keys)
        try expectSuccess(outcome, .pynetdicom)
        #expect(outcome.matches.count == big.NumberOfSeriesRelatedInstances)
    }

    // MARK: Invalid identifiers

    @Test("invalid identifiers are refused with a failure status and Error Comment")
    func invalidIdentifiers() throws {
        let archive = try FixtureDaemon()
        // No Query/Retrieve Level: A900 naming (0008,0052).
        let missing = archive.find(.pynetdicom, .studyRoot, ["\(Key.patientID)=FX-0001", Key.studyUID])
        #expect(missing.finalStatus == "A900", "\(missing)")
        #expect(missing.errorComment?.isEmpty == false)
        #expect(missing.offending.contains("00080052"), "\(missing.offending)")
        #expect(missing.matches.isEmpty)

        let cases: [(QueryModelArgument, [String])] = [
            (.studyRoot, ["\(Key.level)=PATIENT", Key.patientID]),
            (.patientRoot, ["\(Key.level)=BOGUS", Key.patientID]),
            (.patientRoot, ["\(Key.level)=STUDY", Key.studyUID]),  // no Patient ID above the level (QR-02)
        ]
        for (model, keys) in cases {
            for peer in FindPeer.allCases {
                let outcome = archive.find(peer, model, keys)
                let status = outcome.finalStatus ?? "none"
                #expect(status.hasPrefix("A9") || status.hasPrefix("C"), "\(peer) \(keys): \(outcome)")
                #expect(outcome.matches.isEmpty)
                #expect(outcome.errorComment?.isEmpty == false, "\(peer) \(keys)")
            }
        }
        // The daemon still answers.
        let ok = archive.find(.dcmtk, .studyRoot, ["\(Key.level)=STUDY", "\(Key.patientID)=FX-0001", Key.studyUID])
        try expectSuccess(ok, .dcmtk)
    }

    // MARK: Helpers

    func expectSuccess(_ outcome: FindOutcome, _ peer: FindPeer, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        #expect(outcome.finalStatus == "0000", "\(peer): \(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.pendingStatuses.allSatisfy { $0 == "FF00" || $0 == "FF01" }, sourceLocation: sourceLocation)
        #expect(
            outcome.pendingStatuses.count == outcome.matches.count, "\(peer): pending responses without identifiers",
            sourceLocation: sourceLocation)
    }
}

/// The daemon started on the fixture archive, once its start-up scan has indexed
/// everything. The suite is serialized, so one daemon at a time uses the archive
/// directory (copying 2,000 files for each test would cost more than the test).
final class FixtureDaemon {
    let truth: FixtureTruth
    let daemon: DaemonProcess
    let directory: URL

    init() throws {
        if ExternalTool.isCI {
            ExternalTool.require("/usr/bin/findscu")
        }
        truth = try FixtureArchive.truth()
        directory = try FixtureArchive.master()
        daemon = try DaemonProcess(storageDirectory: directory)
        try waitUntilIndexed()
    }

    deinit {
        daemon.stop()
    }

    func find(
        _ peer: FindPeer, _ model: QueryModelArgument, _ keys: [String], characterSet: String? = nil,
        cancelAfter: Int? = nil
    ) -> FindOutcome {
        FindRunner.run(
            peer, port: daemon.port, aeTitle: daemon.aeTitle, model: model, keys: keys,
            characterSet: characterSet, cancelAfter: cancelAfter)
    }

    /// Polls with findscu until every study and every instance is visible (the scan may
    /// still be running when the daemon starts listening).
    private func waitUntilIndexed(timeout: TimeInterval = 90) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = FindOutcome()
        while Date() < deadline {
            last = find(.dcmtk, .studyRoot, ["\(Key.level)=STUDY", Key.studyUID, Key.studyInstances])
            if last.finalStatus == "C000", last.errorComment == "no index" {
                throw DaemonError("the daemon runs without an index (C-FIND answers C000 'no index')")
            }
            if last.finalStatus == "0000", last.matches.count == truth.studies.count {
                let counts = last.matches.compactMap { Int($0[Key.studyInstances] ?? "") }
                if counts.count == truth.studies.count, counts.reduce(0, +) == truth.instances.count { return }
                // Without computed counts: count the instances series by series.
                if counts.count < truth.studies.count, allSeriesComplete() { return }
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        throw DaemonError(
            "the fixture archive was not fully indexed within \(Int(timeout)) s; last answer: \(last)\n"
                + "daemon log:\n\(daemon.log.suffix(4000))")
    }

    private func allSeriesComplete() -> Bool {
        for series in truth.series {
            let outcome = find(
                .dcmtk, .studyRoot,
                [
                    "\(Key.level)=IMAGE", "\(Key.studyUID)=\(series.StudyInstanceUID)",
                    "\(Key.seriesUID)=\(series.SeriesInstanceUID)", Key.sopInstanceUID,
                ])
            if outcome.matches.count != series.NumberOfSeriesRelatedInstances { return false }
        }
        return true
    }
}
