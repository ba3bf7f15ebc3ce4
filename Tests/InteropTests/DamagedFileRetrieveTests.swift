// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Stored files damaged after they were indexed — one truncated inside its Pixel Data, one
/// overwritten with random bytes — are failed sub-operations of a C-GET (B000, their UIDs in the
/// Failed SOP Instance UID List), never completed ones; every other instance of the study goes
/// out unchanged; the two are marked damaged in the index, which `--scan-only` lists.
@Suite(
    "Damaged stored files in C-GET", .serialized, .enabled(if: ExternalTool.interopEnabled),
    .timeLimit(.minutes(5)))
struct DamagedFileRetrieveTests {
    /// A copy of one fixture study (its own storage directory and index file), with two of its
    /// files damaged once the daemon has indexed them.
    final class DamagedStudy {
        let scratch: URL
        let storage: URL
        let index: URL
        let instances: [FixtureTruth.Instance]
        let truncated: FixtureTruth.Instance
        let garbage: FixtureTruth.Instance
        let studyUID: String
        /// The stored bytes of each instance before the damage, by SOP Instance UID.
        private(set) var original: [String: [UInt8]] = [:]

        init() throws {
            let truth = try FixtureArchive.truth()
            let master = try FixtureArchive.master()
            // A small study of at least four instances, all with Pixel Data after their header.
            let study = try #require(
                truth.studies.filter { $0.NumberOfStudyRelatedInstances >= 4 }
                    .min { $0.NumberOfStudyRelatedInstances < $1.NumberOfStudyRelatedInstances })
            studyUID = study.StudyInstanceUID
            instances = truth.instances.filter { $0.StudyInstanceUID == study.StudyInstanceUID }
            scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "qrscpd-damaged-\(UUID().uuidString)")
            storage = scratch.appendingPathComponent("storage")
            index = scratch.appendingPathComponent("index.sqlite")
            for instance in instances {
                let source =
                    instance.path.hasPrefix("/")
                    ? URL(fileURLWithPath: instance.path)
                    : master.appendingPathComponent(instance.path)
                let target = storage.appendingPathComponent(instance.SOPInstanceUID + ".dcm")
                try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
                try FileManager.default.copyItem(at: source, to: target)
                original[instance.SOPInstanceUID] = Array(try Data(contentsOf: target))
            }
            // Uncompressed (the native syntaxes are what a truncation leaves a Pixel Data length for).
            let native = instances.filter { TransferSyntax(uid: $0.TransferSyntaxUID).isNative }
            truncated = try #require(native.first)
            garbage = try #require(instances.last { $0.SOPInstanceUID != native.first?.SOPInstanceUID })
        }

        deinit { try? FileManager.default.removeItem(at: scratch) }

        func path(_ instance: FixtureTruth.Instance) -> String {
            storage.appendingPathComponent(instance.SOPInstanceUID + ".dcm").path
        }

        /// Cuts one file inside its Pixel Data value and overwrites another with random bytes of
        /// its own size.
        func damage() throws {
            let bytes = try #require(original[truncated.SOPInstanceUID])
            let file = try DICOMFile(bytes: bytes[...], options: .init(stopBeforePixelData: true))
            let pixelData = try #require(file.pixelDataOffset, "no Pixel Data in \(truncated.path)")
            #expect(truncate(path(truncated), off_t(pixelData + 12 + 64)) == 0)
            var rng = SplitMix64(seed: 4)
            let count = try #require(original[garbage.SOPInstanceUID]).count
            try Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(
                to: URL(fileURLWithPath: path(garbage)))
        }

        var intact: [FixtureTruth.Instance] {
            instances.filter {
                $0.SOPInstanceUID != truncated.SOPInstanceUID && $0.SOPInstanceUID != garbage.SOPInstanceUID
            }
        }

        /// The received file holds the stored data set: byte for byte when it came in the stored
        /// syntax, element by element otherwise.
        func expectDelivered(
            _ instance: FixtureTruth.Instance, at received: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let got = try DICOMFile(contentsOf: received)
            if got.transferSyntax.uid == instance.TransferSyntaxUID {
                let stored = try #require(original[instance.SOPInstanceUID])
                let storedHeader = try DICOMFile.readHeaderSummary(stored[...])
                let receivedBytes = Array(try Data(contentsOf: URL(fileURLWithPath: received)))
                #expect(
                    receivedBytes[got.dataSetOffset...] == stored[storedHeader.dataSetOffset...],
                    "\(instance.SOPInstanceUID): data set differs", sourceLocation: sourceLocation)
            } else {
                try RetrieveInteropTests.expectSame(received, path(instance), sourceLocation: sourceLocation)
            }
        }
    }

    @Test(
        "getscu and pynetdicom: the truncated and the garbage file fail (B000, listed), the rest arrive intact; --scan-only lists both"
    )
    func damagedFilesFail() throws {
        guard ExternalTool.require("/usr/bin/getscu") else { return }
        let study = try DamagedStudy()
        let daemon = try DaemonProcess(arguments: ["--index-db", study.index.path], storageDirectory: study.storage)
        // The start-up scan is done before the daemon listens: damage what it indexed.
        try study.damage()
        let damagedUIDs = Set([study.truncated.SOPInstanceUID, study.garbage.SOPInstanceUID])

        // DCMTK getscu.
        let out = study.scratch.appendingPathComponent("getscu")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let get = ExternalTool.run(
            "/usr/bin/getscu",
            [
                "-v", "-S", "-aec", daemon.aeTitle, "-od", out.path,
                "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=\(study.studyUID)",
                "127.0.0.1", "\(daemon.port)",
            ])
        let transcript = get.transcript
        #expect(get.succeeded, "\(transcript)")
        #expect(
            transcript.contains("Received C-GET Response (Warning: SubOperationsCompleteOneOrMoreFailures)"),
            "\(transcript)")
        #expect(transcript.contains("Number of Failed Suboperations    : 2"), "\(transcript)")
        #expect(transcript.contains("Number of Completed Suboperations : \(study.intact.count)"), "\(transcript)")
        #expect(!transcript.contains("Release Failed"), "\(transcript)")
        #expect(!transcript.contains("P-Data PDU arrived"), "\(transcript)")
        let received = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(received.count == study.intact.count, "\(received)\n\(transcript)")
        for uid in damagedUIDs {
            #expect(!received.contains { $0.contains(uid) }, "damaged \(uid) was delivered")
        }
        for instance in study.intact {
            let name = try #require(
                received.first { $0.contains(instance.SOPInstanceUID) }, "\(instance.SOPInstanceUID) missing")
            try study.expectDelivered(instance, at: out.appendingPathComponent(name).path)
        }

        // pynetdicom.
        let pyOut = study.scratch.appendingPathComponent("pynetdicom")
        try FileManager.default.createDirectory(at: pyOut, withIntermediateDirectories: true)
        let (outcome, final) = try daemon.retrieveWithPynetdicom(
            "get", model: "S", into: pyOut, ["QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(study.studyUID)"])
        #expect(final["status"] as? Int == 0xB000, "\(final)")
        #expect(final["NumberOfFailedSuboperations"] as? Int == 2)
        #expect(final["NumberOfCompletedSuboperations"] as? Int == study.intact.count)
        #expect(Set(final["FailedSOPInstanceUIDList"] as? [String] ?? []) == damagedUIDs, "\(final)")
        #expect(outcome["released"] as? Bool == true)
        let pyReceived = Set(((outcome["received"] as? [[String: Any]]) ?? []).compactMap { $0["uid"] as? String })
        #expect(pyReceived == Set(study.intact.map(\.SOPInstanceUID)))
        for instance in study.intact {
            try study.expectDelivered(instance, at: pyOut.appendingPathComponent("\(instance.SOPInstanceUID).dcm").path)
        }

        // Logged per file, counted, marked in the index.
        let log = daemon.log
        for instance in [study.truncated, study.garbage] {
            #expect(
                log.contains("damaged file in the archive") && log.contains(study.path(instance)), "\(log.suffix(3000))"
            )
        }
        #expect(log.contains("declares"), "the truncation's reason\n\(log.suffix(3000))")
        #expect(daemon.stop() == 0)
        #expect(
            daemon.log.contains("damaged_files=4"), "two C-GETs, two damaged files each\n\(daemon.log.suffix(2000))")

        let scan = ExternalTool.run(
            PackagePaths.daemonBinary,
            [
                "104", "QRSCPD", "--scan-only", "--storage-dir", study.storage.path,
                "--index-db", study.index.path,
            ], timeout: 60)
        #expect(scan.succeeded, "\(scan.transcript)")
        #expect(scan.stdout.contains("damaged     2"), "\(scan.transcript)")
        for instance in [study.truncated, study.garbage] {
            #expect(scan.stdout.contains("damaged: \(study.path(instance))"), "\(scan.transcript)")
        }
        for instance in study.intact {
            #expect(!scan.stdout.contains("damaged: \(study.path(instance))"))
        }
    }
}
