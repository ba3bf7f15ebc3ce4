// SPDX-License-Identifier: Apache-2.0
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
                batch.append(
                    InstanceRecord(
                        path: "/synthetic/\(s)/\(i).dcm", size: 1000, modificationTime: 1,
                        transferSyntaxUID: "1.2.840.10008.1.2.1", header: ds))
                if batch.count == 500 {
                    batches.append(batch)
                    batch = []
                }
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
        let batches = Self.records(studies: Self.studies, instancesPerStudy: 2)
        let start = DispatchTime.now().uptimeNanoseconds
        let c0 = ScannerPerformanceTests.cpuSeconds()
        for b in batches { try store.index(b) }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(
            "indexed \(Self.studies * 2) instances in \(secs) s (\(Double(Self.studies * 2) / secs)/s), cpu \(ScannerPerformanceTests.cpuSeconds() - c0) s"
        )

        let byID = try Query("STUDY").with(.patientID, .LO, "P\(Self.studies / 4)").with(Tag(0x0020, 0x000D), .UI)
            .with(.patientName, .PN).with(.studyDate, .DA).request()
        #expect(try store.find(byID, after: nil, limit: 100).matches.count == 2)
        print("PatientID exact: \(try Self.median(200) { _ = try store.find(byID, after: nil, limit: 100) }) ms")

        let byName = try Query("STUDY").with(.patientName, .PN, "JONES12*").with(Tag(0x0020, 0x000D), .UI).request()
        #expect(try store.find(byName, after: nil, limit: 100).matches.count >= 1)
        print("PatientName prefix: \(try Self.median(200) { _ = try store.find(byName, after: nil, limit: 100) }) ms")

        let byDate = try Query("STUDY").with(.studyDate, .DA, "20240301-20240302").with(Tag(0x0020, 0x000D), .UI)
            .request()
        print("StudyDate range: \(try Self.median(50) { _ = try store.find(byDate, after: nil, limit: 100) }) ms")

        let img = try Query("IMAGE").with(Tag(0x0020, 0x000D), .UI, "2.25.77").with(
            Tag(0x0020, 0x000E), .UI, "2.25.77.1"
        )
        .with(Tag(0x0008, 0x0018), .UI).request()
        print("IMAGE in series: \(try Self.median(200) { _ = try store.find(img, after: nil, limit: 100) }) ms")

        let universal = try Query("STUDY").with(Tag(0x0020, 0x000D), .UI).with(.patientName, .PN).with(.patientID, .LO)
            .with(.studyDate, .DA).with(Tag(0x0008, 0x0050), .SH).request()
        let u0 = DispatchTime.now().uptimeNanoseconds
        let uc0 = ScannerPerformanceTests.cpuSeconds()
        var n = 0
        var token: ResumeToken? = nil
        repeat {
            let p = try store.find(universal, after: token, limit: 1000)
            n += p.matches.count
            token = p.next
        } while token != nil
        let us = Double(DispatchTime.now().uptimeNanoseconds - u0) / 1e9
        #expect(n == Self.studies)
        print(
            "universal: \(n) responses in \(us) s = \(Double(n) / us)/s, cpu \(ScannerPerformanceTests.cpuSeconds() - uc0) s"
        )

        let withCounts = try Query("STUDY").with(Tag(0x0020, 0x000D), .UI).with(Tags.modalitiesInStudy, .CS)
            .with(Tags.studyInstances, .IS).with(.patientID, .LO, "P\(Self.studies / 3)").request()
        print(
            "PatientID + computed: \(try Self.median(200) { _ = try store.find(withCounts, after: nil, limit: 100) }) ms"
        )
    }
}

/// Scanner throughput; run with ARCHIVE_PERF_FILES=<count> (e.g. 5000).
@Suite struct ScannerPerformanceTests {
    static let files = Int(ProcessInfo.processInfo.environment["ARCHIVE_PERF_FILES"] ?? "") ?? 0

    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    @Test(.enabled(if: files > 0)) func scanRates() throws {
        let root = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var inst = Fixture.instances[0]
        for i in 0..<Self.files {
            let dir = "\(root)/\(i / 1000)"
            if i % 1000 == 0 { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            inst.studyUID = "2.25.9.\(i / 50)"
            inst.seriesUID = "2.25.9.\(i / 50).1"
            inst.sopUID = "2.25.9.\(i / 50).1.\(i)"
            inst.patientID = "P\(i / 100)"
            inst.instanceNumber = i
            try inst.write(to: "\(dir)/\(i).dcm")
        }
        let store = try SQLiteIndexStore()
        let scanner = StorageScanner(store: store, root: root)
        let c0 = Self.cpuSeconds()
        let first = try scanner.scan()
        let c1 = Self.cpuSeconds()
        #expect(first.indexed == Self.files)
        print(
            "first scan: \(first.indexed) files in \(first.duration) s = \(Double(first.indexed) / first.duration)/s, cpu \(c1 - c0) s"
        )
        let again = try scanner.scan()
        let c2 = Self.cpuSeconds()
        #expect(again.unchanged == Self.files)
        print(
            "re-scan: \(again.unchanged) unchanged in \(again.duration) s = \(Double(again.unchanged) / again.duration)/s, cpu \(c2 - c1) s"
        )
    }
}

/// Query timings at benchmark scale; run with ARCHIVE_PERF_SYNTH=<patients> (each patient:
/// 2 studies × 4 series × 25 instances = 200 instances; 5000 → 1,000,000 instances).
@Suite struct SyntheticPerformanceTests {
    static let patients = Int(ProcessInfo.processInfo.environment["ARCHIVE_PERF_SYNTH"] ?? "") ?? 0

    @Test(.enabled(if: patients > 0)) func largeIndexQueries() throws {
        let store = try SQLiteIndexStore()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let n = try store.insertSynthetic(
            SyntheticShape(
                patients: Self.patients, studiesPerPatient: 2, seriesPerStudy: 4,
                instancesPerSeries: 25))
        print("insertSynthetic: \(n) instances in \(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) s")
        let uid = Tag(0x0020, 0x000D)
        let pid = "SYN" + String(format: "%07d", Self.patients / 2)
        let byID = try Query("STUDY").with(.patientID, .LO, pid).with(uid, .UI).with(.patientName, .PN)
            .with(.studyDate, .DA).with(Tags.studyInstances, .IS).with(Tags.modalitiesInStudy, .CS).request()
        #expect(try store.find(byID, after: nil, limit: 100).matches.count == 2)
        print(
            "1M PatientID exact (+counts): \(try PerformanceTests.median(200) { _ = try store.find(byID, after: nil, limit: 100) }) ms"
        )
        let byName = try Query("STUDY").with(.patientName, .PN, "SMITH123*").with(uid, .UI).request()
        print(
            "1M PatientName prefix: \(try PerformanceTests.median(200) { _ = try store.find(byName, after: nil, limit: 100) }) ms, \(try store.find(byName, after: nil, limit: 100).matches.count) matches"
        )
        let img = try Query("IMAGE").with(uid, .UI, "2.25.77.7.1").with(Tag(0x0020, 0x000E), .UI, "2.25.77.7.1.2")
            .with(Tag(0x0008, 0x0018), .UI).with(Tags.instanceNumber, .IS).request()
        #expect(try store.find(img, after: nil, limit: 100).matches.count == 25)
        print(
            "1M IMAGE in series: \(try PerformanceTests.median(200) { _ = try store.find(img, after: nil, limit: 100) }) ms"
        )
        let universal = try Query("IMAGE").with(uid, .UI, "2.25.77.7.1").with(Tag(0x0020, 0x000E), .UI, "2.25.77.7.1.2")
            .with(Tag(0x0008, 0x0018), .UI).request()
        _ = universal
        let all = try Query("STUDY").with(uid, .UI).with(.patientID, .LO).with(.patientName, .PN).request()
        let u0 = DispatchTime.now().uptimeNanoseconds
        var count = 0
        var token: ResumeToken? = nil
        repeat {
            let p = try store.find(all, after: token, limit: 1000)
            count += p.matches.count
            token = p.next
        } while token != nil
        print("1M universal studies: \(count) in \(Double(DispatchTime.now().uptimeNanoseconds - u0) / 1e9) s")
    }
}
