// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Testing

@testable import QRServer

@Suite("Stretch sizes of data sets sent from files and from memory")
struct StretchSizeTests {
    @Test(
        "whole PDVs of the peer's size, about 8 MiB, and never more than the PDU cap per stretch",
        arguments: [UInt32(7), 8, 100, 4096, 16384, 65536, 1 << 20, 0])
    func stretchesAreBounded(maxPDULength: UInt32) {
        let size = RetrieveOperation.streamChunkSize(peerMaxPDULength: maxPDULength)
        let fragment = DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: maxPDULength)
        #expect(size > 0 && size <= RetrieveOperation.streamChunkTarget)
        #expect(size % fragment == 0, "a stretch is whole PDVs")
        #expect(size / fragment <= RetrieveOperation.maxFramesPerStretch, "at most the cap of PDUs per stretch")
    }

    @Test("real peers' PDUs fill the whole target")
    func realPeersAreNotLimited() {
        // DCMTK's default (16 KiB) and ours (1 MiB): within one PDV of the target.
        for maxPDULength: UInt32 in [16384, 1 << 20] {
            let fragment = DIMSEFragmenter.maxFragmentLength(peerMaxPDULength: maxPDULength)
            let size = RetrieveOperation.streamChunkSize(peerMaxPDULength: maxPDULength)
            #expect(RetrieveOperation.streamChunkTarget - size < fragment, "max PDU \(maxPDULength): \(size)")
        }
        // A tiny maximum: the cap, not millions of one-byte PDUs.
        #expect(RetrieveOperation.streamChunkSize(peerMaxPDULength: 7) == RetrieveOperation.maxFramesPerStretch)
    }

    @Test("a peer with a tiny Maximum Length gets the data set intact, in many capped stretches")
    func tinyPDUsCarryTheDataSet() throws {
        let archive = try TestArchive()
        let item = try archive.add(instance: 1, pixelBytes: 300_000)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        // 122 bytes of payload per PDU: about 2,500 PDUs, three stretches of at most 1,024.
        let scu = try TestSCU(port: server.port, contexts: getContexts(), maxPDULength: 128)
        let outcome = try scu.getStudy(item.studyUID)
        try scu.release()
        #expect(outcome.status == .success)
        #expect(outcome.stores.count == 1)
        #expect(outcome.stores.first?.dataSet[...] == item.dataSetBytes, "data set byte for byte")
        #expect(RetrieveOperation.streamChunkSize(peerMaxPDULength: 128) == 1024 * 122)
    }

    /// A converted data set is in memory whole; it goes out in stretches like a file's, so its
    /// PDUs (and their headers) are framed a stretch at a time.
    @Test(
        "a converted data set goes out in stretches, intact, with tiny and with DCMTK-sized PDUs",
        arguments: [(UInt32(128), 300_000), (UInt32(16384), 9_000_000)])
    func convertedDataSetsAreStreamed(maxPDULength: UInt32, pixelBytes: Int) throws {
        let archive = try TestArchive()
        let item = try archive.add(instance: 1, transferSyntax: .explicitVRLittleEndian, pixelBytes: pixelBytes)
        let server = try TestServer(retrievingFrom: archive.store)
        defer { server.shutdown() }
        let scu = try TestSCU(
            port: server.port, contexts: getContexts(storageSyntaxes: [UIDs.implicitLE]),
            timeout: 30, maxPDULength: maxPDULength)
        let outcome = try scu.getStudy(item.studyUID)
        try scu.release()
        #expect(outcome.status == .success)
        let store = try #require(outcome.stores.first)
        #expect(
            store.dataSet.count > RetrieveOperation.streamChunkSize(peerMaxPDULength: maxPDULength),
            "more than one stretch")
        let received = try DataSetReader.read(store.dataSet[...], transferSyntax: .implicitVRLittleEndian)
        for element in item.dataSet where element.tag != Tag(0x0029, 0x0010) {
            #expect(
                received.bytes(element.tag).map { Array($0) } == Array(element.bytes(bigEndian: false)),
                "\(element.tag)")
        }
    }
}
