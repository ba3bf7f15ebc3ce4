// SPDX-License-Identifier: Apache-2.0
import DICOM
import Testing

@testable import Archive

/// The duplicate check of a C-STORE commit group: the copies already indexed, in one read.
@Suite struct IndexLookupTests {
    @Test func instancesBySOPInstanceUIDLeaveOutTheUnknownOnes() throws {
        let store = try SQLiteIndexStore()
        try store.index(
            Fixture.instances.enumerated().map { i, inst in
                InstanceRecord(
                    path: "/s/\(i).dcm", size: 100, modificationTime: 1.5,
                    transferSyntaxUID: TransferSyntax.explicitVRLittleEndian.uid, header: inst.dataSet())
            })
        let found = try store.instances(sopInstanceUIDs: ["1.2.3.1.1.2", "9.9.9", "1.2.3.3.1.1"])
        #expect(Set(found.keys) == ["1.2.3.1.1.2", "1.2.3.3.1.1"])
        #expect(found["1.2.3.1.1.2"] == (try store.instance(sopInstanceUID: "1.2.3.1.1.2")))
        #expect(found["1.2.3.3.1.1"]?.path == "/s/4.dcm")
        #expect(found["1.2.3.3.1.1"]?.seriesInstanceUID == "1.2.3.3.1")
        #expect(try store.instances(sopInstanceUIDs: []).isEmpty)
    }
}
