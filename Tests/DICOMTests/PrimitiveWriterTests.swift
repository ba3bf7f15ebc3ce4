// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOM

@Suite struct PrimitiveWriterTests {
    /// `writePrimitive` from raw bytes writes what writing the equivalent element writes:
    /// headers of every form, padding per VR, the UN fallback for long short-form values.
    @Test func writePrimitiveEqualsElementWriting() throws {
        let values: [[UInt8]] = [
            [], Array("A".utf8), Array("AB".utf8), Array("1.2.840.10008.5".utf8),
            [UInt8](repeating: 0x41, count: 0x10000), [UInt8](repeating: 0x42, count: 0xFFFF),
        ]
        for vr in [VR.PN, .LO, .UI, .CS, .DA, .IS, .AE, .UT, .UN, .OB] {
            for value in values {
                for (explicit, bigEndian) in [(false, false), (true, false), (true, true)] {
                    var reference: [UInt8] = [9]
                    try DataSetWriter.write(
                        DataElement(tag: Tag(0x0010, 0x0010), vr: vr, bytes: value[...]),
                        explicitVR: explicit, bigEndian: bigEndian, into: &reference)
                    var fast: [UInt8] = [9]
                    try value.withUnsafeBytes {
                        try DataSetWriter.writePrimitive(
                            tag: Tag(0x0010, 0x0010), vr: vr, value: $0, explicitVR: explicit,
                            bigEndian: bigEndian, into: &fast)
                    }
                    #expect(fast == reference, "\(vr) \(value.count) bytes explicit \(explicit) BE \(bigEndian)")
                }
            }
        }
    }
}
