// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct SampleError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Builds image data sets from the specs and writes them as Part 10 files, one at a time
/// (nothing is kept in memory but the file being written).
struct ArchiveWriter {
    let directory: URL
    var filesWritten = 0
    var bytesWritten = 0

    init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Writes every instance of `patients`; returns the ground truth.
    mutating func write(_ patients: [PatientSpec], uidRoot: String) throws -> GroundTruth {
        var truth = GroundTruth(uidRoot: uidRoot)
        for (p, patient) in patients.enumerated() {
            var patientSeries = 0
            var patientInstances = 0
            for (s, study) in patient.studies.enumerated() {
                var studyInstances = 0
                for (r, series) in study.series.enumerated() {
                    for instance in series.instances {
                        let relative = String(
                            format: "PAT%03d/STU%02d/SER%02d/IMG%05d.dcm", p + 1, s + 1, r + 1,
                            instance.number)
                        try writeInstance(
                            patient: patient, study: study, series: series, instance: instance,
                            to: relative)
                        truth.instances.append(
                            .init(
                                SOPInstanceUID: instance.uid, SOPClassUID: SOPClass.forModality(series.modality),
                                SeriesInstanceUID: series.uid, StudyInstanceUID: study.uid, PatientID: patient.id,
                                InstanceNumber: instance.number, TransferSyntaxUID: instance.transferSyntax.uid,
                                Rows: instance.rows, Columns: instance.columns, path: relative))
                    }
                    truth.series.append(
                        .init(
                            SeriesInstanceUID: series.uid, StudyInstanceUID: study.uid, PatientID: patient.id,
                            Modality: series.modality, SeriesNumber: series.number,
                            SeriesDescription: series.description,
                            BodyPartExamined: series.bodyPart, NumberOfSeriesRelatedInstances: series.instances.count))
                    studyInstances += series.instances.count
                }
                var modalities: [String] = []
                for series in study.series where !modalities.contains(series.modality) {
                    modalities.append(series.modality)
                }
                truth.studies.append(
                    .init(
                        StudyInstanceUID: study.uid, PatientID: patient.id, StudyDate: study.date,
                        StudyTime: study.time,
                        AccessionNumber: study.accessionNumber, StudyID: study.studyID,
                        StudyDescription: study.description, ReferringPhysicianName: study.referringPhysician,
                        ModalitiesInStudy: modalities.sorted(), NumberOfStudyRelatedSeries: study.series.count,
                        NumberOfStudyRelatedInstances: studyInstances))
                patientSeries += study.series.count
                patientInstances += studyInstances
            }
            truth.patients.append(
                .init(
                    PatientID: patient.id, PatientName: patient.name, SpecificCharacterSet: patient.characterSet,
                    PatientBirthDate: patient.birthDate, PatientSex: patient.sex,
                    NumberOfPatientRelatedStudies: patient.studies.count, NumberOfPatientRelatedSeries: patientSeries,
                    NumberOfPatientRelatedInstances: patientInstances))
        }
        return truth
    }

    mutating func writeInstance(
        patient: PatientSpec, study: StudySpec, series: SeriesSpec, instance: InstanceSpec,
        to relativePath: String, pixels: [UInt8]? = nil
    ) throws {
        let dataSet = ImageFactory.dataSet(
            patient: patient, study: study, series: series, instance: instance,
            pixels: pixels)
        let bytes = try DICOMFile.encode(
            dataSet: dataSet, transferSyntax: instance.transferSyntax,
            sourceAETitle: "QRSCPD_SAMPLES")
        let url = directory.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Self.writeFile(bytes, to: url.path)
        filesWritten += 1
        bytesWritten += bytes.count
    }

    /// Writes one Explicit VR Little Endian instance whose synthetic pixel data is generated and
    /// written in bands of about `bandBytes`, so an image of hundreds of megabytes never sits
    /// whole in memory. Pixel Data is the last element of these data sets, so the file is the
    /// encoded header and data set without it, the Pixel Data element header, then the bands.
    mutating func writeInstanceStreamingPixels(
        patient: PatientSpec, study: StudySpec, series: SeriesSpec,
        instance: InstanceSpec, to relativePath: String, seed: Int,
        bandBytes: Int = 4 << 20
    ) throws {
        guard instance.transferSyntax == .explicitVRLittleEndian else {
            throw SampleError("streamed pixel data is written in Explicit VR Little Endian only")
        }
        let pixelLength = instance.rows * instance.columns * 2
        guard pixelLength <= 0xFFFF_FFFE else { throw SampleError("pixel data of \(pixelLength) bytes is too long") }
        var dataSet = ImageFactory.dataSet(
            patient: patient, study: study, series: series, instance: instance,
            pixels: [])
        _ = dataSet.remove(.pixelData)
        var head = try DICOMFile.encode(
            dataSet: dataSet, transferSyntax: instance.transferSyntax,
            sourceAETitle: "QRSCPD_SAMPLES")
        // (7FE0,0010) OW, two reserved bytes, 32-bit little-endian length (PS3.5 §7.1.2).
        head += [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x57, 0, 0]
        head += (0..<4).map { UInt8(truncatingIfNeeded: pixelLength >> (8 * $0)) }

        let url = directory.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = try Self.create(url.path)
        defer { close(fd) }
        try Self.writeAll(head, to: fd, path: url.path)
        let rowsPerBand = max(1, bandBytes / (instance.columns * 2))
        var row = 0
        while row < instance.rows {
            let band = row..<min(instance.rows, row + rowsPerBand)
            let pixels = ImageFactory.syntheticPixelRows(
                band, rows: instance.rows, columns: instance.columns,
                seed: seed)
            try Self.writeAll(pixels, to: fd, path: url.path)
            row = band.upperBound
        }
        filesWritten += 1
        bytesWritten += head.count + pixelLength
    }

    /// Writes a file with plain open/write/close: no temporary file and rename per file,
    /// which would double the metadata work of writing thousands of small files.
    static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let fd = try create(path)
        defer { close(fd) }
        try writeAll(bytes, to: fd, path: path)
    }

    private static func create(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SampleError("cannot create \(path): errno \(errno)") }
        return fd
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SampleError("cannot write \(path): errno \(errno)")
            }
            offset += n
        }
    }

    /// Writes the ground truth as pretty, key-sorted JSON.
    static func writeJSON(_ truth: GroundTruth, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(truth).write(to: url, options: .atomic)
    }
}

/// Data sets of synthetic images (CT, MR, CR, secondary capture) with 16-bit pixel data.
enum ImageFactory {
    static func tag(_ keyword: String) -> Tag {
        guard let tag = DataDictionary.tag(forKeyword: keyword) else { fatalError("unknown keyword \(keyword)") }
        return tag
    }

    static func dataSet(
        patient: PatientSpec, study: StudySpec, series: SeriesSpec, instance: InstanceSpec,
        pixels: [UInt8]? = nil
    ) -> DataSet {
        let charset = SpecificCharacterSet(patient.characterSet)
        var d = DataSet()
        func text(_ keyword: String, _ vr: VR, _ value: String) {
            var bytes = charset.encode(value)
            if bytes.count & 1 == 1 { bytes.append(vr.paddingByte) }
            d.set(tag(keyword), vr: vr, bytes: bytes[...])
        }
        func ascii(_ keyword: String, _ vr: VR, _ value: String) { d.set(tag(keyword), vr: vr, string: value) }

        let sopClass = SOPClass.forModality(series.modality)
        if let cs = patient.characterSet { ascii("SpecificCharacterSet", .CS, cs) }
        ascii("ImageType", .CS, series.modality == "OT" ? "DERIVED\\SECONDARY" : "ORIGINAL\\PRIMARY\\AXIAL")
        ascii("SOPClassUID", .UI, sopClass)
        ascii("SOPInstanceUID", .UI, instance.uid)
        ascii("StudyDate", .DA, study.date)
        ascii("SeriesDate", .DA, study.date)
        ascii("ContentDate", .DA, study.date)
        ascii("StudyTime", .TM, study.time)
        ascii("SeriesTime", .TM, study.time)
        ascii("ContentTime", .TM, study.time)
        ascii("AccessionNumber", .SH, study.accessionNumber)
        ascii("Modality", .CS, series.modality)
        ascii("Manufacturer", .LO, "qrscpd samples")
        text("ReferringPhysicianName", .PN, study.referringPhysician)
        text("StudyDescription", .LO, study.description)
        text("SeriesDescription", .LO, series.description)
        text("PatientName", .PN, patient.name)
        text("PatientID", .LO, patient.id)
        ascii("PatientBirthDate", .DA, patient.birthDate)
        ascii("PatientSex", .CS, patient.sex)
        if !series.bodyPart.isEmpty { ascii("BodyPartExamined", .CS, series.bodyPart) }
        if series.modality == "CT" {
            ascii("SliceThickness", .DS, "2.5")
            ascii("KVP", .DS, "120")
        }
        if series.modality == "MR" {
            ascii("ScanningSequence", .CS, "SE")
            ascii("SequenceVariant", .CS, "NONE")
            ascii("MagneticFieldStrength", .DS, "1.5")
        }
        ascii("StudyInstanceUID", .UI, study.uid)
        ascii("SeriesInstanceUID", .UI, series.uid)
        ascii("StudyID", .SH, study.studyID)
        ascii("SeriesNumber", .IS, "\(series.number)")
        ascii("InstanceNumber", .IS, "\(instance.number)")
        if series.modality == "CT" || series.modality == "MR" {
            let z = String(format: "%.1f", Double(instance.number) * 2.5)
            ascii("ImagePositionPatient", .DS, "-100\\-100\\\(z)")
            ascii("ImageOrientationPatient", .DS, "1\\0\\0\\0\\1\\0")
            ascii("FrameOfReferenceUID", .UI, study.uid + ".0")
            ascii("SliceLocation", .DS, z)
        }
        d.set(tag("SamplesPerPixel"), uint16: 1)
        ascii("PhotometricInterpretation", .CS, "MONOCHROME2")
        d.set(tag("Rows"), uint16: UInt16(instance.rows))
        d.set(tag("Columns"), uint16: UInt16(instance.columns))
        ascii("PixelSpacing", .DS, "0.5\\0.5")
        d.set(tag("BitsAllocated"), uint16: 16)
        d.set(tag("BitsStored"), uint16: 12)
        d.set(tag("HighBit"), uint16: 11)
        d.set(tag("PixelRepresentation"), uint16: 0)
        ascii("WindowCenter", .DS, "2048")
        ascii("WindowWidth", .DS, "4096")
        if series.modality == "CT" {
            ascii("RescaleIntercept", .DS, "-1024")
            ascii("RescaleSlope", .DS, "1")
        }
        let pixelBytes =
            pixels ?? syntheticPixels(rows: instance.rows, columns: instance.columns, seed: instance.number)
        d.set(.pixelData, vr: .OW, bytes: pixelBytes[...])
        return d
    }

    /// A 12-bit gradient with a bright disc whose size follows `seed`, little endian.
    static func syntheticPixels(rows: Int, columns: Int, seed: Int) -> [UInt8] {
        syntheticPixelRows(0..<rows, rows: rows, columns: columns, seed: seed)
    }

    /// The rows `band` of ``syntheticPixels(rows:columns:seed:)``: generating an image band by
    /// band gives the same bytes as generating it whole.
    static func syntheticPixelRows(_ band: Range<Int>, rows: Int, columns: Int, seed: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: band.count * columns * 2)
        let cx = columns / 2
        let cy = rows / 2
        let radius = max(1, min(rows, columns) / 4 + (seed % 7) - 3)
        let r2 = radius * radius
        out.withUnsafeMutableBufferPointer { buffer in
            var i = 0
            for y in band {
                for x in 0..<columns {
                    let dx = x - cx
                    let dy = y - cy
                    var value = (x * 4096 / max(1, columns) + y * 7 + seed * 31) & 0x0FFF
                    if dx * dx + dy * dy <= r2 { value = 3000 + (seed * 13) % 1000 }
                    buffer[i] = UInt8(value & 0xFF)
                    buffer[i + 1] = UInt8(value >> 8)
                    i += 2
                }
            }
        }
        return out
    }
}
