// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DICOM

/// Swift Testing also has a `Tag` type; use DICOM's in these tests.
typealias Tag = DICOM.Tag

/// Package root, located from this file's path.
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Element value normalized for comparison: little endian, padded to even length.
enum NormValue: Equatable, CustomStringConvertible {
    case bytes([UInt8])
    case items([[NormElement]])
    case fragments([[UInt8]])

    var description: String {
        switch self {
        case .bytes(let b): return "bytes\(b)"
        case .items(let i): return "items\(i)"
        case .fragments(let f): return "fragments\(f)"
        }
    }
}

struct NormElement: Equatable, CustomStringConvertible {
    var tag: Tag
    var vr: VR
    var value: NormValue
    var description: String { "\(tag) \(vr.rawValue) \(value)" }
}

func normalize(_ ds: DataSet) -> [NormElement] {
    ds.elements.map { e in
        let v: NormValue
        switch e.value {
        case .bytes:
            var b = Array(e.bytes(bigEndian: false))
            if b.count & 1 == 1 { b.append(e.vr.paddingByte) }
            v = .bytes(b)
        case .sequence(let items): v = .items(items.map(normalize))
        case .fragments(let f): v = .fragments(f.map { Array($0) + ($0.count & 1 == 1 ? [0] : []) })
        }
        return NormElement(tag: e.tag, vr: e.vr, value: v)
    }
}

/// One standard (non-range, non-meta) tag per VR whose dictionary VR is exactly that VR,
/// so that implicit VR round trips keep the VR.
let tagForVR: [VR: Tag] = {
    var d: [VR: Tag] = [:]
    for e in DataDictionary.allEntries
    where !e.isRange && e.tag.group >= 0x0008 && e.tag.element != 0
        && e.tag != .pixelData && e.tag != .specificCharacterSet && e.vrCode == e.vr.rawValue && e.tag.group != 0xFFFE
        && !e.tag.isPrivate
    {
        if d[e.vr] == nil { d[e.vr] = e.tag }
    }
    return d
}()

/// A data set exercising every VR, empty and odd-length values and nested
/// undefined/defined-length sequences (the reader sees both once re-encoded by hand).
func sampleDataSet() -> DataSet {
    var ds = DataSet()
    func t(_ vr: VR) -> Tag { tagForVR[vr]! }
    ds.set(.specificCharacterSet, vr: .CS, string: "ISO_IR 192")
    ds.set(t(.AE), vr: .AE, string: "STORESCU")
    ds.set(t(.AS), vr: .AS, string: "045Y")
    ds.set(t(.AT), attributeTags: [Tag(0x0010, 0x0010), Tag(0x7FE0, 0x0010)])
    ds.set(t(.CS), vr: .CS, strings: ["ORIGINAL", "PRIMARY", "AXIAL"])
    ds.set(t(.DA), vr: .DA, string: "20240131")
    ds.set(t(.DS), vr: .DS, strings: ["1.5", "-2.25e3", "0"])
    ds.set(t(.DT), vr: .DT, string: "20240131120000.5")
    ds.set(t(.FD), double: 3.141592653589793, -1e300)
    ds.set(t(.FL), float: 1.5, -0.25)
    ds.set(t(.IS), vr: .IS, strings: ["12", "-3"])
    ds.set(t(.LO), vr: .LO, string: "")  // empty value
    ds.set(t(.LT), vr: .LT, string: "  leading spaces kept, odd")
    ds.set(t(.OB), vr: .OB, bytes: [1, 2, 3])  // odd raw length, padded on write
    ds.set(t(.OD), vr: .OD, double: 2.5, 1e-10)
    ds.set(t(.OF), vr: .OF, float: 7.25)
    ds.set(t(.OL), vr: .OL, uint32: 0x0102_0304, 0xA0B0_C0D0)
    ds.set(t(.OV), vr: .OV, uint64: 0x0102_0304_0506_0708)
    ds.set(t(.OW), vr: .OW, uint16: 0x0102, 0xFFEE)
    ds.set(t(.PN), vr: .PN, string: "Müller^Hans")  // UTF-8, odd byte count
    ds.set(t(.SH), vr: .SH, string: "SH1")
    ds.set(t(.SL), int32: -123_456, 7)
    ds.set(t(.SS), int16: -2, 300)
    ds.set(t(.ST), vr: .ST, string: "short text")
    ds.set(t(.SV), int64: -9_000_000_000)
    ds.set(t(.TM), vr: .TM, string: "235959.123")
    ds.set(t(.UC), vr: .UC, string: "unlimited characters")
    ds.set(t(.UI), vr: .UI, string: "1.2.840.10008.5.1.4.1.1.2")
    ds.set(t(.UL), uint32: 0xDEAD_BEEF)
    ds.set(t(.UN), vr: .UN, bytes: [9, 8, 7, 6])
    ds.set(t(.UR), vr: .UR, string: "http://example.com/x")
    ds.set(t(.US), uint16: 0x0102, 0xFFFE)
    ds.set(t(.UT), vr: .UT, string: "unlimited text")
    ds.set(t(.UV), uint64: 0xFEDC_BA98_7654_3210)
    // Nested sequences: item with inner sequence, empty item, empty sequence.
    var inner = DataSet()
    inner.set(.patientID, vr: .LO, string: "ID7")
    inner.set(Tag(0x0028, 0x0010), uint16: 512)
    var deeper = DataSet()
    deeper.set(Tag(0x0008, 0x0100), vr: .SH, string: "CODE")
    inner.set(Tag(0x0008, 0x1115), items: [deeper, DataSet()])
    var item2 = DataSet()
    item2.set(Tag(0x0008, 0x1150), vr: .UI, string: "1.2.3")
    ds.set(t(.SQ), items: [inner, DataSet(), item2])
    ds.set(Tag(0x0008, 0x1140), items: [])  // ReferencedImageSequence, empty
    return ds
}

/// Runs a command, returning (status, stdout).
func run(_ args: [String], cwd: URL = packageRoot, mergeStderr: Bool = false) throws -> (Int32, Data) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.currentDirectoryURL = cwd
    let out = Pipe()
    p.standardOutput = out
    p.standardError = mergeStderr ? out : FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, data)
}

/// pydicom's test file directory, or nil if python3/pydicom is unavailable
/// (recorded as a failure when CI=true).
func pydicomTestFilesDir() -> URL? {
    if let (st, data) = try? run(["python3", "scripts/pydicom-reference.py", "--test-files-dir"]), st == 0,
        let s = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
        FileManager.default.fileExists(atPath: s)
    {
        return URL(fileURLWithPath: s)
    }
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        Issue.record("python3 with pydicom is required when CI=true")
    } else {
        print("note: python3/pydicom not available; skipping pydicom comparison")
    }
    return nil
}
