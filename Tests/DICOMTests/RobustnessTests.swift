// SPDX-License-Identifier: Apache-2.0
import DICOMFiles
import Foundation
import TestSupport
import Testing

@testable import DICOM

@Suite struct RobustnessTests {
    /// Every prefix of an encoded data set parses iff it ends on a top-level
    /// element boundary; otherwise it throws (never traps).
    @Test(arguments: fourSyntaxes)
    func everyPrefix(_ ts: TransferSyntax) throws {
        let ds = sampleDataSet()
        guard !ts.isDeflated else {
            let z = try DataSetWriter.write(ds, transferSyntax: ts)
            for n in 0..<z.count - 1 {
                #expect(throws: DICOMError.self) { try DataSetReader.read(z[..<n], transferSyntax: ts) }
            }
            return
        }
        var boundaries: Set<Int> = [0]
        var acc: [UInt8] = []
        for e in ds.elements {
            try DataSetWriter.write(e, explicitVR: ts.isExplicitVR, bigEndian: ts.isBigEndian, into: &acc)
            boundaries.insert(acc.count)
        }
        #expect(acc == (try DataSetWriter.write(ds, transferSyntax: ts)))
        for n in 0...acc.count {
            do {
                let r = try DataSetReader.read(acc[..<n], transferSyntax: ts)
                #expect(boundaries.contains(n), "prefix \(n) parsed")
                _ = r
            } catch is DICOMError {
                #expect(!boundaries.contains(n), "prefix \(n) threw")
            }
        }
    }

    @Test func everyPrefixOfPart10File() throws {
        let bytes = try DICOMFile.encode(
            dataSet: sampleDataSet(), transferSyntax: .explicitVRLittleEndian,
            sopClassUID: "1.2.3", sopInstanceUID: "4.5.6")
        var threw = 0
        for n in 0..<bytes.count {
            do { _ = try DICOMFile(bytes: bytes[..<n]) } catch is DICOMError { threw += 1 }
        }
        #expect(threw > bytes.count / 2)
    }

    @Test func randomGarbageAndMutations() throws {
        var rng = SplitMix64(seed: 0x5EED_1234)
        let valid = try DataSetWriter.write(sampleDataSet(), transferSyntax: .explicitVRLittleEndian)
        let validImplicit = try DataSetWriter.write(sampleDataSet(), transferSyntax: .implicitVRLittleEndian)
        var errors = 0
        for i in 0..<3000 {
            var buf: [UInt8]
            switch i % 3 {
            case 0:
                buf = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:
                buf = valid
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    buf[Int.random(in: 0..<buf.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            default:
                buf = validImplicit
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let k = Int.random(in: 0..<buf.count, using: &rng)
                    buf[k] = [0x00, 0xFF, 0xFE, 0xE0, 0xDD, 0x0D][Int.random(in: 0..<6, using: &rng)]
                }
            }
            for ts in [
                TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian,
                .deflatedExplicitVRLittleEndian,
            ] {
                do { _ = try DataSetReader.read(buf[...], transferSyntax: ts) } catch is DICOMError { errors += 1 }
            }
            do { _ = try DICOMFile(bytes: buf[...]) } catch is DICOMError { errors += 1 }
        }
        #expect(errors > 3000)
    }

    @Test func deepNestingIsRejected() throws {
        // 200 nested undefined-length sequences in implicit VR.
        var b: [UInt8] = []
        for _ in 0..<200 {
            b += [0x08, 0x00, 0x40, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]
        }
        #expect(throws: DICOMError.self) { try DataSetReader.read(b[...], transferSyntax: .implicitVRLittleEndian) }
    }

    @Test func hugeLengthIsCheckedBeforeUse() {
        let b: [UInt8] = [0x10, 0x00, 0x10, 0x00, 0xF0, 0xFF, 0xFF, 0x7F, 0x41, 0x42]
        #expect(
            throws: DICOMError.lengthExceedsRemaining(
                tag: Tag(0x0010, 0x0010), offset: 0, length: 0x7FFF_FFF0,
                remaining: 2)
        ) {
            try DataSetReader.read(b[...], transferSyntax: .implicitVRLittleEndian)
        }
        let bad: [UInt8] = [0x10, 0x00, 0x10, 0x00, 0x7A, 0x7A, 0x02, 0x00, 0x41, 0x42]
        #expect(throws: DICOMError.self) { try DataSetReader.read(bad[...], transferSyntax: .explicitVRLittleEndian) }
        let msg = DICOMError.truncated(offset: 12, needed: 8, available: 3, context: "element header").description
        #expect(msg.contains("offset 12"))
    }
}

@Suite struct RealFileMutationTests {
    /// Random byte mutations of real files: parse or throw, never trap.
    @Test func mutatedRealFiles() throws {
        guard let dir = pydicomTestFilesDir() else { return }
        var rng = SplitMix64(seed: 42)
        for name in ["rtplan.dcm", "MR_small_bigendian.dcm", "image_dfl.dcm", "UN_sequence.dcm", "JPEG2000.dcm"] {
            let orig = try DICOMFile.readBytes(dir.appendingPathComponent(name).path)
            for _ in 0..<300 {
                var b = orig
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                do { _ = try DICOMFile(bytes: b[...]) } catch is DICOMError {}
            }
        }
    }

    @Test func descriptionDumpsNestedValues() {
        let text = sampleDataSet().description
        #expect(text.contains("(0010,0020) LO PatientID [ID7]"))
        #expect(text.contains("item 1"))
        #expect(text.contains("(0028,0010) US Rows 512"))
    }
}
