// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import DICOMJSON
import Foundation
import TestSupport
import Testing

/// Runs scripts/pydicom-json-reference.py; nil (a failure under CI) when python3 or pydicom is missing.
private func reference(_ arguments: [String]) throws -> Data? {
    switch try PydicomReference.run("pydicom-json-reference.py", arguments) {
    case .success(let data): return data
    case .failure(let status):
        if InteropPolicy.isCI { Issue.record("\(status)") }
        return nil
    }
}

/// Compares our DICOM JSON with pydicom's `Dataset.to_json_dict()`, both parsed as objects.
///
/// Where pydicom departs from PS3.18 Annex F, the pydicom side is normalised to the standard
/// before comparing, and only there:
/// - an empty value among several: pydicom "", F.2.5 null;
/// - an SQ without items: pydicom "Value": [], F.2.5 no "Value";
/// - an empty PN component group: pydicom "", F.2.2 leaves it out;
/// - FL values: pydicom widens to double (0.1 → 0.10000000149011612); we write the float's
///   shortest form; compared as Float.
@Suite("application/dicom+json against pydicom's to_json_dict")
struct PydicomJSONTests {
    static let pydicomFiles = [
        "CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "test-SR.dcm",
        "JPEG2000.dcm", "SC_rgb_jpeg_dcmtk.dcm", "waveform_ecg.dcm",
    ]

    @Test("fixtures and pydicom's own files: bulk data as URIs over 1 KiB, inline below", arguments: [1024, 1 << 30])
    func matchesPydicom(threshold: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-json-\(getpid())-\(threshold)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try reference(["--make-fixtures", dir.path]) != nil,
            let testDirData = try reference(["--test-files-dir"])
        else { return }
        let testDir = String(decoding: testDirData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var paths = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { dir.path + "/" + $0 }
        paths += Self.pydicomFiles.map { testDir + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
        #expect(paths.count >= 10)
        guard let data = try reference(["--threshold", String(threshold)] + paths) else { return }
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // pydicom's threshold compares the value's length the same way (bytes over it go out as URIs).
        let encoder = DICOMJSONEncoder(inlineBinaryLimit: threshold) { String(format: "bulk:%08X", $0.tag.value) }
        var compared = 0
        for path in paths {
            // InlineBinary is little endian (F.2.7); pydicom writes a big endian file's bytes as
            // stored, so the big endian fixture is held to the reference of its little endian twin.
            let referencePath =
                path.hasSuffix("values-explicit-be.dcm")
                ? path.replacingOccurrences(of: "-be.dcm", with: "-le.dcm") : path
            guard let ref = expected[referencePath] as? [String: Any], ref["error"] == nil else {
                Issue.record("pydicom could not convert \(path): \(String(describing: expected[path]))")
                continue
            }
            let file = try DICOMFile(contentsOf: path)
            let ours = encoder.encode(file.dataSet)
            let object = try JSONSerialization.jsonObject(with: Data(ours))
            compare(object, normalized(ref, vr: nil), at: (path as NSString).lastPathComponent, vr: nil)
            compared += 1
        }
        #expect(compared == paths.count)
    }

    /// pydicom's output with its departures from Annex F undone (see the suite's comment).
    private func normalized(_ value: Any, vr: String?) -> Any {
        if var attribute = value as? [String: Any], let vr = attribute["vr"] as? String {
            if let values = attribute["Value"] as? [Any] {
                if values.isEmpty {
                    attribute["Value"] = nil
                } else {
                    attribute["Value"] = values.map { v -> Any in
                        if let s = v as? String, s.isEmpty, vr != "SQ" { return NSNull() }
                        if var pn = v as? [String: Any], vr == "PN" {
                            for (k, g) in pn where (g as? String) == "" { pn[k] = nil }
                            return pn
                        }
                        return normalized(v, vr: vr)
                    }
                }
            }
            return attribute
        }
        if let object = value as? [String: Any] {
            return object.mapValues { normalized($0, vr: nil) }
        }
        return value
    }

    private func compare(_ ours: Any, _ theirs: Any, at path: String, vr: String?) {
        switch (ours, theirs) {
        case (let a as [String: Any], let b as [String: Any]):
            #expect(Set(a.keys) == Set(b.keys), "\(path): keys \(a.keys.sorted()) vs pydicom \(b.keys.sorted())")
            let elementVR = a["vr"] as? String
            for key in Set(a.keys).intersection(b.keys).sorted() {
                compare(a[key]!, b[key]!, at: path + "/" + key, vr: elementVR ?? vr)
            }
        case (let a as [Any], let b as [Any]):
            #expect(a.count == b.count, "\(path): \(a.count) values vs pydicom \(b.count)")
            for (i, (x, y)) in zip(a, b).enumerated() { compare(x, y, at: path + "[\(i)]", vr: vr) }
        case (let a as NSNumber, let b as NSNumber) where vr == "FL" || vr == "OF":
            #expect(a.floatValue == b.floatValue, "\(path): \(a) vs pydicom \(b)")
        case (let a as NSObject, let b as NSObject):
            #expect(a.isEqual(b), "\(path): \(a) vs pydicom \(b)")
        default:
            Issue.record("\(path): \(ours) vs pydicom \(theirs)")
        }
    }
}
