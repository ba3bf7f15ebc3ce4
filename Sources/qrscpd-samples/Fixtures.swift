// SPDX-License-Identifier: Apache-2.0
import DICOM

/// The deterministic C-FIND fixture archive: tricky names (carets, spaces, case, Latin-1 as
/// ISO_IR 100, UTF-8 as ISO_IR 192, SQL wildcard characters), dates across months and
/// years, several modalities, non-sequential instance numbers, and one big series for
/// cancel tests. Every run writes byte-identical files.
enum FixtureSet {
    static let uidRoot = "\(SampleUIDs.root).2"
    /// Instances in the big series (FX-BULK), enough for a C-CANCEL mid-query.
    static let bigSeriesSize = 2000

    static func studyUID(_ p: Int, _ s: Int) -> String { "\(uidRoot).1.\(p).\(s)" }
    static func seriesUID(_ p: Int, _ s: Int, _ r: Int) -> String { "\(uidRoot).2.\(p).\(s).\(r)" }
    static func instanceUID(_ p: Int, _ s: Int, _ r: Int, _ i: Int) -> String { "\(uidRoot).3.\(p).\(s).\(r).\(i)" }

    struct SeriesPlan {
        var modality: String
        var description: String
        var bodyPart: String
        var instanceNumbers: [Int]
        var transferSyntax: TransferSyntax = .explicitVRLittleEndian
        /// Instance numbers written in Explicit VR Big Endian instead.
        var bigEndianNumbers: Set<Int> = []
        var size = 16
    }

    struct StudyPlan {
        var date: String
        var time: String
        var description: String
        var referringPhysician = "HOUSE^GREGORY"
        var series: [SeriesPlan]
    }

    struct PatientPlan {
        var id: String
        var name: String
        var characterSet: String?
        var birthDate: String
        var sex: String
        var studies: [StudyPlan]
    }

    static let plans: [PatientPlan] = [
        PatientPlan(
            id: "FX-LATIN1", name: "Müller^Jürgen", characterSet: "ISO_IR 100", birthDate: "19700312", sex: "M",
            studies: [
                StudyPlan(
                    date: "20240115", time: "081500", description: "Thorax Übersicht",
                    referringPhysician: "Größer^Käthe",
                    series: [
                        SeriesPlan(
                            modality: "CT", description: "Thorax nativ", bodyPart: "CHEST",
                            instanceNumbers: Array(1...5)),
                        SeriesPlan(
                            modality: "CT", description: "Thorax KM", bodyPart: "CHEST",
                            instanceNumbers: Array(1...3),
                            transferSyntax: .implicitVRLittleEndian),
                    ]),
                StudyPlan(
                    date: "20240201", time: "143000", description: "Schädel",
                    series: [
                        SeriesPlan(
                            modality: "MR", description: "T1 axial", bodyPart: "HEAD",
                            instanceNumbers: Array(1...4))
                    ]),
            ]),
        PatientPlan(
            id: "FX-UTF8", name: "Łukasz^Żółw", characterSet: "ISO_IR 192", birthDate: "19851124", sex: "M",
            studies: [
                StudyPlan(
                    date: "20231231", time: "235900", description: "Głowa",
                    referringPhysician: "Wąs^Józef",
                    series: [
                        SeriesPlan(
                            modality: "MR", description: "T2 osiowe", bodyPart: "HEAD",
                            instanceNumbers: Array(1...3)),
                        SeriesPlan(
                            modality: "MR", description: "FLAIR", bodyPart: "HEAD",
                            instanceNumbers: Array(1...2)),
                    ])
            ]),
        PatientPlan(
            id: "FX-0001", name: "DOE^JOHN", characterSet: nil, birthDate: "19600101", sex: "M",
            studies: [
                StudyPlan(
                    date: "20240131", time: "120000", description: "CT ABDOMEN",
                    series: [
                        SeriesPlan(
                            modality: "CT", description: "ABDOMEN PORTAL", bodyPart: "ABDOMEN",
                            instanceNumbers: Array(1...3))
                    ]),
                StudyPlan(
                    date: "20250101", time: "000100", description: "CT AND MR HEAD",
                    series: [
                        SeriesPlan(
                            modality: "CT", description: "HEAD CT", bodyPart: "HEAD",
                            instanceNumbers: Array(1...2)),
                        SeriesPlan(
                            modality: "MR", description: "HEAD MR", bodyPart: "HEAD",
                            instanceNumbers: Array(1...2),
                            transferSyntax: .implicitVRLittleEndian),
                    ]),
            ]),
        PatientPlan(
            id: "FX-0002", name: "doe^jane", characterSet: nil, birthDate: "19620202", sex: "F",
            studies: [
                StudyPlan(
                    date: "20240229", time: "093000", description: "chest x-ray",
                    series: [
                        SeriesPlan(
                            modality: "CR", description: "pa", bodyPart: "CHEST",
                            instanceNumbers: [1, 2])
                    ])
            ]),
        PatientPlan(
            id: "FX 0003", name: "Van Der Berg^Anna Maria", characterSet: nil, birthDate: "19900515", sex: "F",
            studies: [
                StudyPlan(
                    date: "19991231", time: "180000", description: "MILLENNIUM CT",
                    series: [
                        SeriesPlan(
                            modality: "CT", description: "LAST CT OF 1999", bodyPart: "PELVIS",
                            instanceNumbers: [1, 2])
                    ]),
                StudyPlan(
                    date: "20000101", time: "060000", description: "MILLENNIUM MR",
                    series: [
                        SeriesPlan(
                            modality: "MR", description: "FIRST MR OF 2000", bodyPart: "KNEE",
                            instanceNumbers: [1, 2], bigEndianNumbers: [2])
                    ]),
            ]),
        PatientPlan(
            id: "FX-SQL", name: "100%^Under_Score", characterSet: nil, birthDate: "19991111", sex: "O",
            studies: [
                StudyPlan(
                    date: "20241231", time: "101010", description: "50% DOSE_TEST",
                    series: [
                        SeriesPlan(
                            modality: "OT", description: "SC", bodyPart: "",
                            instanceNumbers: [1])
                    ])
            ]),
        PatientPlan(
            id: "FX-SQL-DECOY", name: "100X^UnderXScore", characterSet: nil, birthDate: "19991111", sex: "O",
            studies: [
                StudyPlan(
                    date: "20241231", time: "111111", description: "50X DOSEXTEST",
                    series: [
                        SeriesPlan(
                            modality: "OT", description: "SC", bodyPart: "",
                            instanceNumbers: [1])
                    ])
            ]),
        PatientPlan(
            id: "FX-0004", name: "O'BRIEN^SEAN", characterSet: nil, birthDate: "19751010", sex: "M",
            studies: [
                StudyPlan(
                    date: "20240301", time: "073000", description: "KNEE MR",
                    series: [
                        SeriesPlan(
                            modality: "MR", description: "PD SAG", bodyPart: "KNEE",
                            instanceNumbers: [2, 10])
                    ])
            ]),
        PatientPlan(
            id: "FX-BULK", name: "BULK^CANCEL", characterSet: nil, birthDate: "20000229", sex: "F",
            studies: [
                StudyPlan(
                    date: "20240615", time: "120000", description: "MANY SLICES",
                    series: [
                        SeriesPlan(
                            modality: "CT", description: "THIN SLICES", bodyPart: "CHEST",
                            instanceNumbers: Array(1...bigSeriesSize), size: 4)
                    ])
            ]),
    ]

    static var patients: [PatientSpec] {
        plans.enumerated().map { p, plan in
            PatientSpec(
                id: plan.id, name: plan.name, characterSet: plan.characterSet, birthDate: plan.birthDate,
                sex: plan.sex,
                studies: plan.studies.enumerated().map { s, study in
                    StudySpec(
                        uid: studyUID(p + 1, s + 1), date: study.date, time: study.time,
                        accessionNumber: String(format: "FXA%02d%02d", p + 1, s + 1),
                        studyID: "S\(p + 1)\(s + 1)", description: study.description,
                        referringPhysician: study.referringPhysician,
                        series: study.series.enumerated().map { r, series in
                            SeriesSpec(
                                uid: seriesUID(p + 1, s + 1, r + 1), modality: series.modality, number: r + 1,
                                description: series.description, bodyPart: series.bodyPart,
                                instances: series.instanceNumbers.map { number in
                                    InstanceSpec(
                                        uid: instanceUID(p + 1, s + 1, r + 1, number), number: number,
                                        transferSyntax: series.bigEndianNumbers.contains(number)
                                            ? .explicitVRBigEndian : series.transferSyntax,
                                        rows: series.size, columns: series.size)
                                })
                        })
                })
        }
    }
}

/// The demo archive: 3 patients, 5 studies, CT and MR series, 40 images of 64×64.
enum DemoSet {
    static let uidRoot = "\(SampleUIDs.root).1"

    static var patients: [PatientSpec] {
        // (patient, study, modality, images) — 40 images in all.
        let layout:
            [(
                name: String, id: String, birth: String, sex: String,
                studies: [(date: String, description: String, series: [(String, String, Int)])]
            )] = [
                (
                    "SAMPLE^ALPHA", "DEMO-001", "19580704", "M",
                    [
                        ("20240304", "CT CHEST", [("CT", "CHEST AXIAL", 10)]),
                        ("20250211", "MR BRAIN", [("MR", "T1 AXIAL", 6)]),
                    ]
                ),
                (
                    "SAMPLE^BRAVO", "DEMO-002", "19811123", "F",
                    [
                        ("20241018", "MR KNEE", [("MR", "PD SAGITTAL", 5), ("MR", "T2 CORONAL", 5)])
                    ]
                ),
                (
                    "SAMPLE^CHARLIE", "DEMO-003", "19930530", "O",
                    [
                        ("20250520", "CT ABDOMEN", [("CT", "PORTAL VENOUS", 8), ("MR", "LIVER T2", 2)]),
                        ("20250602", "CT HEAD", [("CT", "HEAD AXIAL", 4)]),
                    ]
                ),
            ]
        var out: [PatientSpec] = []
        var imageCounter = 0
        for (p, patient) in layout.enumerated() {
            var studies: [StudySpec] = []
            for (s, study) in patient.studies.enumerated() {
                let studyUID = "\(uidRoot).1.\(p + 1).\(s + 1)"
                var series: [SeriesSpec] = []
                for (r, plan) in study.series.enumerated() {
                    let seriesUID = "\(uidRoot).2.\(p + 1).\(s + 1).\(r + 1)"
                    let instances = (1...plan.2).map { number -> InstanceSpec in
                        imageCounter += 1
                        // Mostly Explicit VR LE; every 7th Implicit VR LE; one Explicit VR BE.
                        let syntax: TransferSyntax =
                            imageCounter == 20
                            ? .explicitVRBigEndian
                            : (imageCounter % 7 == 0 ? .implicitVRLittleEndian : .explicitVRLittleEndian)
                        return InstanceSpec(
                            uid: "\(uidRoot).3.\(p + 1).\(s + 1).\(r + 1).\(number)", number: number,
                            transferSyntax: syntax, rows: 64, columns: 64)
                    }
                    series.append(
                        SeriesSpec(
                            uid: seriesUID, modality: plan.0, number: r + 1, description: plan.1,
                            bodyPart: "", instances: instances))
                }
                studies.append(
                    StudySpec(
                        uid: studyUID, date: study.date, time: "10\(s)000",
                        accessionNumber: "DEMO\(p + 1)\(s + 1)", studyID: "\(s + 1)",
                        description: study.description, referringPhysician: "WHO^DOCTOR",
                        series: series))
            }
            out.append(
                PatientSpec(
                    id: patient.id, name: patient.name, characterSet: nil, birthDate: patient.birth,
                    sex: patient.sex, studies: studies))
        }
        return out
    }
}
