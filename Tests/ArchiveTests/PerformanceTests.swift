import DICOM
import Foundation
import Testing
@testable import Archive

/// Timing checks on a synthetic index; run with ARCHIVE_PERF=<studies> (e.g. 10000).
/// Prints medians; asserts only that queries answer correctly.
@Suite struct PerformanceTests {
    static let studies = Int(ProcessInfo.processInfo.environment["ARCHIVE_PERF"] ?? "") ?? 0

    static func records(studies: Int, instancesPerStudy: Int) -> [[InstanceRecord]] {
        var batches: [[InstanceRecord]] = []
        var batch: [InstanceRecord] = []
        let names = ["SMITH", "JONES", "DOE", "MÜLLER", "GARCIA", "LEE", "BROWN", "TAYLOR"]
        for s in 0..<studies {
            for i in 0..<instancesPerStudy {
                var ds = DataSet()
                ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192")
                ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.2")
                ds.set(.sopInstanceUID, vr: .UI, string: "2.25.\(s).\(i)")
                ds.set(.studyDate, vr: .DA, string: String(format: "2024%02d%02d", s % 12 + 1, s % 28 + 1))
                ds.set(Tag(0x0008, 0x0030), vr: .TM, string: "101010")
                ds.set(Tag(0x0008, 0x0050), vr: .SH, string: "A\(s)")
                ds.set(.modality, vr: .CS, string: i % 2 == 0 ? "CT" : "MR")
                ds.set(.patientName, vr: .PN, string: "\(names[s % names.count])\(s / 8)^PAT")
                ds.set(.patientID, vr: .LO, string: "P\(s / 2)")
                ds.set(.studyInstanceUID, vr: .UI, string: "2.25.\(s)")
                ds.set(.seriesInstanceUID, vr: .UI, string: "2.25.\(s).\(i % 2)")
                ds.set(Tag(0x0020, 0x0013), vr: .IS, string: "\(i)")
                batch.append(InstanceRecord(path: "/synthetic/\(s)/\(i).dcm", size: 1000, modificationTime: 1,
                                            transferSyntaxUID: "1.2.840.10008.1.2.1", header: ds))
                if batch.count == 500 { batches.append(batch); batch = [] }
            }
        }
        if !batch.isEmpty { batches.append(batch) }
        return batches
    }

    static func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var t: [Double] = []
        for _ in 0..<runs {
            let s = DispatchTime.now().uptimeNanoseconds
            try body()
            t.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
        }
        return t.sorted()[t.count / 2]
    }

    @Test(.enabled(if: studies > 0)) func queryTimings() throws {
        let store = try SQLiteIndexStore()
        let start = DispatchTime.now().uptimeNanoseconds
        for b in Self.records(studies: Self.studies, instancesPerStudy: 2) { try store.index(b) }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("indexed \(Self.studies * 2) instances in \(secs) s (\(Double(Self.studies * 2) / secs)/s)")

        let byID = try Query("STUDY").with(.patientID, .LO, "P\(Self.studies / 4)").with(Tag(0x0020, 0x000D), .UI)
            .with(.patientName, .PN).with(.studyDate, .DA).request()
        #expect(try store.find(byID, after: nil, limit: 100).matches.count == 2)
        print("PatientID exact: \(try Self.median(200) { _ = try store.find(byID, after: nil, limit: 100) }) ms")

        let byName = try Query("STUDY").with(.patientName, .PN, "JONES12*").with(Tag(0x0020, 0x000D), .UI).request()
        #expect(try store.find(byName, after: nil, limit: 100).matches.count >= 1)
        print(try store.explain(byName))
        print(try store.explain(byID))
        print("PatientName prefix: \(try Self.median(200) { _ = try store.find(byName, after: nil, limit: 100) }) ms")

        let byDate = try Query("STUDY").with(.studyDate, .DA, "20240301-20240302").with(Tag(0x0020, 0x000D), .UI).request()
        print("StudyDate range: \(try Self.median(50) { _ = try store.find(byDate, after: nil, limit: 100) }) ms")

        let img = try Query("IMAGE").with(Tag(0x0020, 0x000D), .UI, "2.25.77").with(Tag(0x0020, 0x000E), .UI, "2.25.77.1")
            .with(Tag(0x0008, 0x0018), .UI).request()
        print("IMAGE in series: \(try Self.median(200) { _ = try store.find(img, after: nil, limit: 100) }) ms")

        let universal = try Query("STUDY").with(Tag(0x0020, 0x000D), .UI).with(.patientName, .PN).with(.patientID, .LO)
            .with(.studyDate, .DA).with(Tag(0x0008, 0x0050), .SH).request()
        let u0 = DispatchTime.now().uptimeNanoseconds
        var n = 0
        var token: ResumeToken? = nil
        repeat {
            let p = try store.find(universal, after: token, limit: 1000)
            n += p.matches.count
            token = p.next
        } while token != nil
        let us = Double(DispatchTime.now().uptimeNanoseconds - u0) / 1e9
        #expect(n == Self.studies)
        print("universal: \(n) responses in \(us) s = \(Double(n) / us)/s")

        let withCounts = try Query("STUDY").with(Tag(0x0020, 0x000D), .UI).with(Tags.modalitiesInStudy, .CS)
            .with(Tags.studyInstances, .IS).with(.patientID, .LO, "P\(Self.studies / 3)").request()
        print("PatientID + computed: \(try Self.median(200) { _ = try store.find(withCounts, after: nil, limit: 100) }) ms")
    }
}
