// SPDX-License-Identifier: Apache-2.0
import DICOMFiles
import Foundation
import TestSupport
import Testing

@testable import DICOM

/// Files we write are readable by DCMTK's dcmdump (skipped when not installed, except under CI,
/// where a missing dcmdump fails the test).
@Suite(.enabled(if: InteropPolicy.enabled(requiring: "/usr/bin/dcmdump")))
struct DCMTKInteropTests {
    @Test(arguments: fourSyntaxes)
    func dcmdumpReadsOurFiles(_ ts: TransferSyntax) throws {
        var ds = sampleDataSet()
        ds.set(.sopClassUID, vr: .UI, string: "1.2.840.10008.5.1.4.1.1.7")
        ds.set(.sopInstanceUID, vr: .UI, string: "1.2.826.0.1.3680043.10.1489.99.2")
        ds.set(.patientName, vr: .PN, string: "Interop^Test")
        let path = NSTemporaryDirectory() + "dicomtests-\(UUID().uuidString).dcm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try DICOMFile(
            meta: DICOMFile.makeMeta(
                sopClassUID: "1.2.840.10008.5.1.4.1.1.7",
                sopInstanceUID: "1.2.826.0.1.3680043.10.1489.99.2",
                transferSyntax: ts),
            transferSyntax: ts, dataSet: ds
        ).write(to: path)
        let (status, out) = try run(["dcmdump", "-E", path], mergeStderr: true)
        let text = String(decoding: out, as: UTF8.self)
        #expect(status == 0, "\(text)")
        #expect(!text.contains("W: ") && !text.contains("E: "), "\(text)")
        #expect(text.contains("[Interop^Test]"))
        #expect(text.contains("[ID7]"))
        #expect(text.contains("(0028,0010) US 512"))
        #expect(text.contains(Implementation.classUID))
    }
}
