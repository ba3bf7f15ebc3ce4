// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DICOM
import Foundation

/// Writes sample DICOM archives with the project's own DICOM writer: a demo archive, the
/// deterministic C-FIND fixture set with its ground truth, and bulk benchmark data.
struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qrscpd-samples",
        abstract: "Writes sample DICOM archives for qrscpd demos, tests and benchmarks.",
        subcommands: [Demo.self, Fixtures.self, Bulk.self, SyntheticIndex.self]
    )
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A small realistic archive: 3 patients, 5 studies, CT and MR series, 40 images of 64×64.")

    @Argument(help: "Directory to write into (created if missing).")
    var directory: String

    func run() throws {
        var writer = try ArchiveWriter(directory: URL(fileURLWithPath: directory))
        let truth = try writer.write(DemoSet.patients, uidRoot: DemoSet.uidRoot)
        print(
            "demo: \(writer.filesWritten) files, \(writer.bytesWritten) bytes, \(truth.patients.count) patients, "
                + "\(truth.studies.count) studies, \(truth.series.count) series in \(directory)")
    }
}

struct Fixtures: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The deterministic C-FIND fixture archive and DIR/ground-truth.json.")

    @Argument(help: "Directory to write into (created if missing).")
    var directory: String

    func run() throws {
        let url = URL(fileURLWithPath: directory)
        var writer = try ArchiveWriter(directory: url)
        let truth = try writer.write(FixtureSet.patients, uidRoot: FixtureSet.uidRoot)
        try ArchiveWriter.writeJSON(truth, to: url.appendingPathComponent("ground-truth.json"))
        print(
            "fixtures: \(writer.filesWritten) files, \(truth.patients.count) patients, \(truth.studies.count) studies, "
                + "\(truth.series.count) series, ground truth in \(url.appendingPathComponent("ground-truth.json").path)"
        )
    }
}

struct Bulk: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark data: N studies × S series × I instances, written one file at a time.")

    @Argument(help: "Directory to write into (created if missing).")
    var directory: String

    @Option(help: "Number of studies.")
    var studies: Int = 10

    @Option(name: .customLong("series-per-study"), help: "Series per study.")
    var seriesPerStudy: Int = 2

    @Option(name: .customLong("instances-per-series"), help: "Instances per series.")
    var instancesPerSeries: Int = 50

    @Option(name: .customLong("image-size"), help: "Rows and columns of each 16-bit image (1…4096).")
    var imageSize: Int = 512

    @Option(
        help:
            "Rows of each image (1…65535), overriding --image-size; e.g. 10000 with --columns 10000 for 200 MB images.")
    var rows: Int?

    @Option(help: "Columns of each image (1…65535), overriding --image-size.")
    var columns: Int?

    @Option(help: "Studies per patient.")
    var studiesPerPatient: Int = 2

    @Option(
        name: .customLong("run"),
        help:
            "Run number used in the UIDs (default: the current time), so that several bulk runs can share one archive.")
    var runNumber: Int?

    func validate() throws {
        guard studies > 0, seriesPerStudy > 0, instancesPerSeries > 0, studiesPerPatient > 0 else {
            throw ValidationError("counts must be positive")
        }
        guard (1...4096).contains(imageSize) else { throw ValidationError("--image-size must be 1…4096") }
        guard (1...65535).contains(imageRows), (1...65535).contains(imageColumns) else {
            throw ValidationError("--rows and --columns must be 1…65535 (US values)")
        }
        guard imageRows * imageColumns * 2 <= 0xFFFF_FFFE else {
            throw ValidationError("an image must stay under 4 GiB of pixel data (32-bit element length)")
        }
    }

    var imageRows: Int { rows ?? imageSize }
    var imageColumns: Int { columns ?? imageSize }

    /// Images larger than this are generated and written in bands rather than held whole.
    static let streamingThreshold = 16 << 20

    func run() throws {
        let runID = runNumber ?? Int(Date().timeIntervalSince1970)
        let root = "\(SampleUIDs.root).3.\(runID)"
        var writer = try ArchiveWriter(directory: URL(fileURLWithPath: directory))
        let started = Date()
        // One pixel buffer per series (instances differ in their headers), built once per series;
        // large images are generated band by band for each instance instead.
        for study in 0..<studies {
            let patient = study / studiesPerPatient
            let date = Self.date(dayOffset: study)
            let studySpec = StudySpec(
                uid: "\(root).1.\(study + 1)", date: date, time: "120000",
                accessionNumber: "BULK\(runID % 100_000)-\(study + 1)", studyID: "\(study + 1)",
                description: "BULK STUDY \(study + 1)", referringPhysician: "BENCH^MARK",
                series: [])
            let patientSpec = PatientSpec(
                id: "BULK-\(runID)-\(patient + 1)", name: "BULK^PATIENT\(patient + 1)",
                characterSet: nil, birthDate: "19700101", sex: "O", studies: [])
            for series in 0..<seriesPerStudy {
                let modality = series % 2 == 0 ? "CT" : "MR"
                let seriesSpec = SeriesSpec(
                    uid: "\(root).2.\(study + 1).\(series + 1)", modality: modality,
                    number: series + 1, description: "BULK \(modality) \(series + 1)",
                    bodyPart: "CHEST", instances: [])
                let streaming = imageRows * imageColumns * 2 > Self.streamingThreshold
                let pixels =
                    streaming
                    ? nil
                    : ImageFactory.syntheticPixels(rows: imageRows, columns: imageColumns, seed: series)
                for instance in 1...instancesPerSeries {
                    let spec = InstanceSpec(
                        uid: "\(root).3.\(study + 1).\(series + 1).\(instance)", number: instance,
                        transferSyntax: .explicitVRLittleEndian, rows: imageRows, columns: imageColumns)
                    let path = String(
                        format: "BULK%d/STU%05d/SER%03d/IMG%05d.dcm", runID, study + 1, series + 1, instance)
                    if let pixels {
                        try writer.writeInstance(
                            patient: patientSpec, study: studySpec, series: seriesSpec,
                            instance: spec, to: path, pixels: pixels)
                    } else {
                        try writer.writeInstanceStreamingPixels(
                            patient: patientSpec, study: studySpec,
                            series: seriesSpec, instance: spec, to: path,
                            seed: series)
                    }
                }
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            String(
                format: "bulk: %d files, %.1f MB in %.1f s (%.0f files/s) in %@", writer.filesWritten,
                Double(writer.bytesWritten) / 1e6, seconds, Double(writer.filesWritten) / max(seconds, 0.001),
                directory))
    }

    /// Dates spread over the years before 2025-01-01, one study per day.
    static func date(dayOffset: Int) -> String {
        var components = DateComponents()
        components.year = 2025
        components.month = 1
        components.day = 1
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let base = calendar.date(from: components)!
        let day = calendar.date(byAdding: .day, value: -dayOffset, to: base)!
        let c = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
    }
}

Samples.main()
