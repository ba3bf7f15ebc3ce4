// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Crash safety of C-STORE: kill -9 of the daemon in the middle of a store leaves at most a
/// temporary file, which the next start-up removes; no index row without its file, no file
/// in place without its row after the next scan.
@Suite(
    "C-STORE crash safety (kill -9)", .serialized, .enabled(if: ExternalTool.interopEnabled),
    .timeLimit(.minutes(3)))
struct StoreCrashTests {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let explicitLE = "1.2.840.10008.1.2.1"

    /// A CT object of `megabytes` MiB of pixel data, as a data set in Explicit VR LE.
    static func bigDataSet(sopInstanceUID: String, study: String, series: String, megabytes: Int) throws -> [UInt8] {
        var ds = DataSet()
        ds.set(.sopClassUID, vr: .UI, string: ctImage)
        ds.set(.sopInstanceUID, vr: .UI, string: sopInstanceUID)
        ds.set(.modality, vr: .CS, string: "CT")
        ds.set(.patientName, vr: .PN, string: "Crash^Test")
        ds.set(.patientID, vr: .LO, string: "CRASH-1")
        ds.set(.studyInstanceUID, vr: .UI, string: study)
        ds.set(.seriesInstanceUID, vr: .UI, string: series)
        let side = Int(Double(megabytes * 1024 * 1024 / 2).squareRoot())
        ds.set(Tag(0x0028, 0x0010), vr: .US, uint16: UInt16(side))
        ds.set(Tag(0x0028, 0x0011), vr: .US, uint16: UInt16(side))
        ds.set(Tag(0x0028, 0x0100), vr: .US, uint16: 16)
        ds.set(Tag(0x7FE0, 0x0010), vr: .OW, bytes: [UInt8](repeating: 0x5A, count: side * side * 2)[...])
        return try DataSetWriter.write(ds, transferSyntax: TransferSyntax(uid: explicitLE))
    }

    /// Associates for CT Image Storage and sends a C-STORE-RQ plus the first `fraction` of
    /// the data set, in 64 KiB PDVs, then leaves the object unfinished.
    static func startStore(
        port: Int, aeTitle: String, sopInstanceUID: String, dataSet: [UInt8],
        fraction: Double
    ) throws -> RawDICOMSocket {
        let socket = try RawDICOMSocket(port: port, timeout: 10)
        let request = AssociateRequest.requestor(
            callingAETitle: "CRASHSCU", calledAETitle: aeTitle,
            contexts: [RequestedContext(abstractSyntax: ctImage, transferSyntaxes: [explicitLE])],
            maxPDULength: 65536, implementationClassUID: "1.2.826.0.1.3680043.10.1489.3")
        socket.send(PDU.associateRQ(request).encoded())
        guard let answer = socket.receivePDU(), answer.type == 0x02,
            case .associateAC(let accept) = try PDU.decode(type: answer.type, body: answer.body[...]),
            let context = NegotiatedAssociation(requestor: request, accept: accept).context(abstractSyntax: ctImage)
        else { throw DaemonError("CT Image Storage not accepted") }
        let command = CommandSet.cStoreRQ(
            messageID: 1, affectedSOPClassUID: ctImage, affectedSOPInstanceUID: sopInstanceUID)
        let cut = Int(Double(dataSet.count) * fraction)
        let pieces = DIMSEFragmenter.pieces(
            contextID: context.id, command: command.encoded()[...],
            dataSet: [dataSet[0..<cut]], peerMaxPDULength: 65536)
        socket.send(pieces.flatMap { $0 })
        return socket
    }

    static func incomingFiles(_ storage: URL) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: storage.appendingPathComponent(".incoming").path)) ?? []
    }

    static func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }

    @Test("kill -9 mid-object: only a temporary file remains, the restart removes it, nothing is indexed")
    func killMidObject() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        // Runs last: both daemons' defers below have stopped them by then.
        defer { try? FileManager.default.removeItem(at: scratch) }
        let storage = scratch.appendingPathComponent("storage")
        let index = scratch.appendingPathComponent("index.sqlite").path
        let study = "1.2.826.0.1.3680043.10.1489.77.1"
        let series = "1.2.826.0.1.3680043.10.1489.77.2"
        let uid = "1.2.826.0.1.3680043.10.1489.77.3.1"
        let dataSet = try Self.bigDataSet(sopInstanceUID: uid, study: study, series: series, megabytes: 32)

        let first = try DaemonProcess(arguments: ["--index-db", index], storageDirectory: storage)
        defer { _ = first.stop() }
        let socket = try Self.startStore(
            port: first.port, aeTitle: first.aeTitle, sopInstanceUID: uid,
            dataSet: dataSet, fraction: 0.5)
        // The object is being written to .incoming when the daemon dies.
        #expect(Self.waitFor(seconds: 20) { !Self.incomingFiles(storage).isEmpty }, "\(first.log)")
        first.stop(signal: SIGKILL)
        socket.close()
        let finalPath = storage.appendingPathComponent("\(study)/\(series)/\(uid).dcm").path
        #expect(!FileManager.default.fileExists(atPath: finalPath), "a half-received object reached its final place")
        #expect(Self.incomingFiles(storage).count <= 1)

        let second = try DaemonProcess(arguments: ["--index-db", index], storageDirectory: storage)
        defer { _ = second.stop() }
        #expect(Self.incomingFiles(storage).isEmpty, "the restart left \(Self.incomingFiles(storage))\n\(second.log)")
        #expect(second.log.contains("removed unfinished incoming files"), "\(second.log)")
        let found = FindRunner.run(
            .dcmtk, port: second.port, aeTitle: second.aeTitle, model: .studyRoot,
            keys: [
                "\(Key.level)=IMAGE", "\(Key.studyUID)=\(study)", "\(Key.seriesUID)=\(series)", Key.sopInstanceUID,
            ])
        #expect(found.finalStatus == "0000", "\(found)")
        #expect(found.matches.isEmpty, "an unfinished object is in the index: \(found.matches)")
        #expect(second.echoWithDCMTK().succeeded)
        #expect(second.stop() == 0)
    }

    @Test("kill -9 right after a store was acknowledged: the restart still has the file and its row")
    func killAfterAcknowledgement() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString)")
        // Runs last: both daemons' defers below have stopped them by then.
        defer { try? FileManager.default.removeItem(at: scratch) }
        let storage = scratch.appendingPathComponent("storage")
        let index = scratch.appendingPathComponent("index.sqlite").path
        let study = "1.2.826.0.1.3680043.10.1489.78.1"
        let series = "1.2.826.0.1.3680043.10.1489.78.2"
        let uid = "1.2.826.0.1.3680043.10.1489.78.3.1"
        let dataSet = try Self.bigDataSet(sopInstanceUID: uid, study: study, series: series, megabytes: 2)

        let first = try DaemonProcess(arguments: ["--index-db", index], storageDirectory: storage)
        defer { _ = first.stop() }
        let socket = try Self.startStore(
            port: first.port, aeTitle: first.aeTitle, sopInstanceUID: uid,
            dataSet: dataSet, fraction: 1.0)
        // C-STORE-RSP success means the file and its row are durable.
        let response = try #require(socket.receivePDU(), "no C-STORE-RSP\n\(first.log)")
        #expect(response.type == 0x04)
        #expect(
            response.body.containsSubsequence([0x00, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00]),
            "C-STORE-RSP is not a success")
        first.stop(signal: SIGKILL)
        socket.close()

        let finalPath = storage.appendingPathComponent("\(study)/\(series)/\(uid).dcm").path
        #expect(FileManager.default.fileExists(atPath: finalPath))
        let second = try DaemonProcess(arguments: ["--index-db", index], storageDirectory: storage)
        defer { _ = second.stop() }
        let found = FindRunner.run(
            .dcmtk, port: second.port, aeTitle: second.aeTitle, model: .studyRoot,
            keys: [
                "\(Key.level)=IMAGE", "\(Key.studyUID)=\(study)", "\(Key.seriesUID)=\(series)", Key.sopInstanceUID,
            ])
        #expect(found.matches.count == 1, "\(found)")
        #expect(Self.incomingFiles(storage).isEmpty)
        #expect(second.stop() == 0)
    }
}
