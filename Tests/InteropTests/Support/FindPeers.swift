// SPDX-License-Identifier: Apache-2.0
// swift-format-ignore-file: AlwaysUseLowerCamelCase
import DICOM
import DICOMFiles
import Foundation
import Synchronization
import TestSupport
import Testing

/// The deterministic C-FIND fixture archive written by `qrscpd-samples fixtures`, and its
/// ground truth (`ground-truth.json`).
struct FixtureTruth: Decodable, Sendable {
    struct Patient: Decodable, Sendable {
        var PatientID: String
        var PatientName: String
        var SpecificCharacterSet: String?
        var PatientBirthDate: String
        var PatientSex: String
        var NumberOfPatientRelatedStudies: Int
        var NumberOfPatientRelatedSeries: Int
        var NumberOfPatientRelatedInstances: Int
    }

    struct Study: Decodable, Sendable {
        var StudyInstanceUID: String
        var PatientID: String
        var StudyDate: String
        var StudyTime: String
        var AccessionNumber: String
        var StudyID: String
        var StudyDescription: String
        var ReferringPhysicianName: String
        var ModalitiesInStudy: [String]
        var NumberOfStudyRelatedSeries: Int
        var NumberOfStudyRelatedInstances: Int
    }

    struct Series: Decodable, Sendable {
        var SeriesInstanceUID: String
        var StudyInstanceUID: String
        var PatientID: String
        var Modality: String
        var SeriesNumber: Int
        var SeriesDescription: String
        var BodyPartExamined: String
        var NumberOfSeriesRelatedInstances: Int
    }

    struct Instance: Decodable, Sendable {
        var SOPInstanceUID: String
        var SOPClassUID: String
        var SeriesInstanceUID: String
        var StudyInstanceUID: String
        var PatientID: String
        var InstanceNumber: Int
        var TransferSyntaxUID: String
        var path: String
    }

    var uidRoot: String
    var patients: [Patient]
    var studies: [Study]
    var series: [Series]
    var instances: [Instance]

    func patient(_ id: String) -> Patient? { patients.first { $0.PatientID == id } }
    func studies(ofPatient id: String) -> [Study] { studies.filter { $0.PatientID == id } }
    func series(ofStudy uid: String) -> [Series] { series.filter { $0.StudyInstanceUID == uid } }
    func instances(ofSeries uid: String) -> [Instance] { instances.filter { $0.SeriesInstanceUID == uid } }
}

enum FixtureArchive {
    /// `qrscpd-samples` built alongside the tests; `QRSCPD_SAMPLES_BINARY` overrides it.
    static var samplesBinary: String {
        if let explicit = ProcessInfo.processInfo.environment["QRSCPD_SAMPLES_BINARY"] { return explicit }
        for configuration in ["debug", "release"] {
            let candidate = PackagePaths.root.appendingPathComponent(".build/\(configuration)/qrscpd-samples").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return PackagePaths.root.appendingPathComponent(".build/debug/qrscpd-samples").path
    }

    private static let generated = Mutex<URL?>(nil)

    /// The fixture archive, generated once per test process and removed when the process exits
    /// (suites in the process share it, so no one test can remove it).
    static func master() throws -> URL {
        try generated.withLock { cached in
            if let cached { return cached }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "qrscpd-fixtures-\(UUID().uuidString)")
            guard FileManager.default.isExecutableFile(atPath: samplesBinary) else {
                throw DaemonError("qrscpd-samples not found at \(samplesBinary); build it first (swift build)")
            }
            let result = ExternalTool.run(samplesBinary, ["fixtures", dir.path], timeout: 120)
            guard result.succeeded else {
                try? FileManager.default.removeItem(at: dir)
                throw DaemonError("qrscpd-samples fixtures failed:\n\(result.transcript)")
            }
            cached = dir
            removeAtExit(dir)
            return dir
        }
    }

    static func truth() throws -> FixtureTruth {
        let data = try Data(contentsOf: try master().appendingPathComponent("ground-truth.json"))
        return try JSONDecoder().decode(FixtureTruth.self, from: data)
    }
}

/// Tags used by the C-FIND interop tests, as "gggg,eeee" (findscu's `-k` syntax).
enum Key {
    static let level = "0008,0052"
    static let characterSet = "0008,0005"
    static let retrieveAETitle = "0008,0054"
    static let sopClassUID = "0008,0016"
    static let sopInstanceUID = "0008,0018"
    static let studyDate = "0008,0020"
    static let studyTime = "0008,0030"
    static let accessionNumber = "0008,0050"
    static let modality = "0008,0060"
    static let modalitiesInStudy = "0008,0061"
    static let studyDescription = "0008,1030"
    static let patientName = "0010,0010"
    static let patientID = "0010,0020"
    static let birthDate = "0010,0030"
    static let sex = "0010,0040"
    static let studyUID = "0020,000D"
    static let seriesUID = "0020,000E"
    static let studyID = "0020,0010"
    static let seriesNumber = "0020,0011"
    static let instanceNumber = "0020,0013"
    static let patientStudies = "0020,1200"
    static let patientSeries = "0020,1202"
    static let patientInstances = "0020,1204"
    static let studySeries = "0020,1206"
    static let studyInstances = "0020,1208"
    static let seriesInstances = "0020,1209"
}

/// A C-FIND peer: DCMTK's findscu or the pynetdicom script.
enum FindPeer: String, CaseIterable, Sendable, CustomStringConvertible {
    case dcmtk
    case pynetdicom
    var description: String { rawValue }
}

enum QueryModelArgument: String, Sendable {
    case patientRoot = "P"
    case studyRoot = "S"
}

/// What a peer saw: the identifiers of the pending responses (keys "GGGG,EEEE", values
/// decoded with the response's Specific Character Set) and the final status.
struct FindOutcome: CustomStringConvertible {
    var matches: [[String: String]] = []
    /// Final status as 4 upper-case hex digits, nil when none arrived.
    var finalStatus: String?
    var pendingStatuses: [String] = []
    var errorComment: String?
    var offending: [String] = []
    var transcript = ""

    func values(_ key: String) -> [String] { matches.map { $0[key] ?? "<absent>" } }
    func valueSet(_ key: String) -> Set<String> { Set(values(key)) }

    var description: String {
        "final=\(finalStatus ?? "none") matches=\(matches.count) comment=\(errorComment ?? "-")\n\(transcript.suffix(4000))"
    }
}

enum FindRunner {
    /// Runs one C-FIND. `keys` use findscu's syntax ("gggg,eeee=value" or "gggg,eeee").
    static func run(
        _ peer: FindPeer, port: Int, aeTitle: String, model: QueryModelArgument, keys: [String],
        characterSet: String? = nil, cancelAfter: Int? = nil
    ) -> FindOutcome {
        switch peer {
        case .dcmtk:
            return dcmtk(
                port: port, aeTitle: aeTitle, model: model, keys: keys,
                characterSet: characterSet, cancelAfter: cancelAfter)
        case .pynetdicom:
            return pynetdicom(
                port: port, aeTitle: aeTitle, model: model, keys: keys,
                characterSet: characterSet, cancelAfter: cancelAfter)
        }
    }

    static func dcmtk(
        port: Int, aeTitle: String, model: QueryModelArgument, keys: [String],
        characterSet: String?, cancelAfter: Int?
    ) -> FindOutcome {
        let outDir = FileManager.default.temporaryDirectory.appendingPathComponent("findscu-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outDir) }
        var arguments = [
            "-d", "-\(model.rawValue)", "-aet", "FINDSCU", "-aec", aeTitle, "-to", "30",
            "-X", "-od", outDir.path,
        ]
        if let cancelAfter { arguments += ["--cancel", "\(cancelAfter)"] }
        if let characterSet { arguments += ["-k", "\(Key.characterSet)=\(characterSet)"] }
        for key in keys { arguments += ["-k", key] }
        arguments += ["127.0.0.1", "\(port)"]
        let result = ExternalTool.run("/usr/bin/findscu", arguments, timeout: 120)
        var outcome = FindOutcome(transcript: result.transcript)
        // Each response's status appears as "DIMSE Status : 0xff00: Pending ..." in the debug log.
        let log = result.stdout + "\n" + result.stderr
        var statuses: [String] = []
        for line in log.split(separator: "\n") where line.contains("DIMSE Status") {
            if let range = line.range(of: "0x") {
                statuses.append(String(line[range.upperBound...].prefix(4)).uppercased())
            }
        }
        if let last = statuses.last, !["FF00", "FF01"].contains(last) {
            outcome.finalStatus = last
            outcome.pendingStatuses = Array(statuses.dropLast())
        } else {
            outcome.pendingStatuses = statuses
        }
        for line in log.split(separator: "\n") where line.contains("(0000,0902)") {
            if let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]"), open < close {
                outcome.errorComment = String(line[line.index(after: open)..<close])
            }
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: outDir.path)) ?? [])
            .filter { $0.hasPrefix("rsp") }.sorted()
        for file in files {
            do {
                let dicom = try DICOMFile(contentsOf: outDir.appendingPathComponent(file).path)
                outcome.matches.append(flatten(dicom.dataSet))
            } catch {
                outcome.transcript += "\ncannot read \(file): \(error)"
            }
        }
        return outcome
    }

    static func pynetdicom(
        port: Int, aeTitle: String, model: QueryModelArgument, keys: [String],
        characterSet: String?, cancelAfter: Int?
    ) -> FindOutcome {
        var arguments = ["\(port)", aeTitle, "--model", model.rawValue]
        if let characterSet { arguments += ["--charset", characterSet] }
        if let cancelAfter { arguments += ["--cancel-after", "\(cancelAfter)"] }
        for key in keys { arguments += ["-k", key] }
        let (result, json) = ExternalTool.pythonPeer("find_peer.py", arguments, timeout: 120)
        var outcome = FindOutcome(transcript: result.transcript)
        guard let object = json as? [String: Any] else { return outcome }
        outcome.finalStatus = object["final"] as? String
        let statuses = object["statuses"] as? [String] ?? []
        outcome.pendingStatuses = statuses.filter { $0 == "FF00" || $0 == "FF01" }
        outcome.errorComment = object["error_comment"] as? String
        outcome.offending = object["offending"] as? [String] ?? []
        for identifier in object["identifiers"] as? [[String: Any]] ?? [] {
            var flat: [String: String] = [:]
            for (key, value) in identifier {
                if let text = value as? String {
                    flat[key] = text
                } else if let list = value as? [String] {
                    flat[key] = list.joined(separator: "\\")
                }
            }
            outcome.matches.append(flat)
        }
        return outcome
    }

    /// Every string-valued element of a response identifier, decoded with its character set.
    static func flatten(_ dataSet: DataSet) -> [String: String] {
        var out: [String: String] = [:]
        for element in dataSet.elements {
            guard case .bytes = element.value else { continue }
            let key = hex(element.tag.group) + "," + hex(element.tag.element)
            if element.vr.isString {
                out[key] = dataSet.decodedString(element.tag) ?? ""
            } else if element.vr == .US, let value = dataSet.uint16(element.tag) {
                out[key] = "\(value)"
            } else if element.vr == .UL, let value = dataSet.uint32(element.tag) {
                out[key] = "\(value)"
            }
        }
        return out
    }

    static func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
