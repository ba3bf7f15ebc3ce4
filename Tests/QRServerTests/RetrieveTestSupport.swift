// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Dispatch
import Foundation
import Logging
import Reactor
import Synchronization

@testable import QRServer

enum RetrieveUIDs {
    static let patientRootGet = "1.2.840.10008.5.1.4.1.2.1.3"
    static let studyRootGet = "1.2.840.10008.5.1.4.1.2.2.3"
    static let patientRootMove = "1.2.840.10008.5.1.4.1.2.1.2"
    static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let mrImage = "1.2.840.10008.5.1.4.1.1.4"
    static let secondaryCapture = "1.2.840.10008.5.1.4.1.1.7"
    static let jpegBaseline = "1.2.840.10008.1.2.4.50"
}

/// A temporary archive: files written with the DICOM module, indexed in a real SQLiteIndexStore.
final class TestArchive {
    struct Item {
        var sopInstanceUID: String
        var sopClassUID: String
        var studyUID: String
        var seriesUID: String
        var transferSyntax: TransferSyntax
        var path: String
        var fileBytes: [UInt8]
        var dataSetOffset: Int
        var dataSet: DataSet
        /// The stored data set bytes (everything after the meta).
        var dataSetBytes: ArraySlice<UInt8> { fileBytes[dataSetOffset...] }
    }

    let directory: String
    let store: SQLiteIndexStore
    private(set) var items: [Item] = []

    init() throws {
        // The index first: if it throws, no directory has been made yet (deinit would not run).
        store = try SQLiteIndexStore()
        directory = NSTemporaryDirectory() + "qrscpd-retrieve-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Adds one instance; pixel data is `pixelBytes` bytes of a pattern (OW, 16 bits).
    @discardableResult
    func add(
        patientID: String = "PID1", study: String = "1.2.826.0.1.3680043.10.1489.7.1",
        series: String = "1.2.826.0.1.3680043.10.1489.7.1.1", instance: Int,
        sopClass: String = RetrieveUIDs.ctImage, transferSyntax: TransferSyntax = .explicitVRLittleEndian,
        pixelBytes: Int = 512, sopInstanceUID: String? = nil
    ) throws -> Item {
        let uid = sopInstanceUID ?? "\(series).\(instance)"
        var d = DataSet()
        d.set(.sopClassUID, vr: .UI, string: sopClass)
        d.set(.sopInstanceUID, vr: .UI, string: uid)
        d.set(.studyDate, vr: .DA, string: "20240102")
        d.set(.modality, vr: .CS, string: "CT")
        d.set(.patientName, vr: .PN, string: "Doe^Jane")
        d.set(.patientID, vr: .LO, string: patientID)
        d.set(Tag(0x0018, 0x0050), vr: .DS, string: "1.25")
        d.set(.studyInstanceUID, vr: .UI, string: study)
        d.set(.seriesInstanceUID, vr: .UI, string: series)
        d.set(Tag(0x0020, 0x0013), vr: .IS, string: "\(instance)")
        d.set(Tag(0x0028, 0x0010), uint16: 16)
        d.set(Tag(0x0028, 0x0011), uint16: UInt16(min(65_535, max(1, pixelBytes / 32))))
        d.set(Tag(0x0028, 0x0100), uint16: 16)
        d.set(Tag(0x0029, 0x0010), vr: .LO, string: "QRSCPD TEST")
        if transferSyntax.isEncapsulated {
            let fragment = (0..<pixelBytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ instance) }
            d.set(DataElement(tag: .pixelData, vr: .OB, fragments: [[], fragment[...]]))
        } else {
            var pixels: [UInt8] = []
            for i in 0..<(pixelBytes / 2) {
                let v = UInt16(truncatingIfNeeded: i &* 31 &+ instance)
                pixels += [UInt8(v & 0xFF), UInt8(v >> 8)]
            }
            d.set(.pixelData, vr: .OW, bytes: pixels[...])
        }
        let bytes = try DICOMFile.encode(dataSet: d, transferSyntax: transferSyntax)
        let path = directory + "/\(uid).dcm"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let header = try DICOMFile.readHeader(bytes[...])
        var indexed = d
        _ = indexed.remove(.pixelData)
        try store.index(
            InstanceRecord(
                path: path, size: Int64(bytes.count), modificationTime: 0,
                transferSyntaxUID: transferSyntax.uid, header: indexed))
        let item = Item(
            sopInstanceUID: uid, sopClassUID: sopClass, studyUID: study, seriesUID: series,
            transferSyntax: transferSyntax, path: path, fileBytes: bytes,
            dataSetOffset: header.dataSetOffset, dataSet: d)
        items.append(item)
        return item
    }
}

extension TestServer {
    /// A server for C-GET/C-MOVE tests: the server's own C-FIND page size, `peers` as move destinations.
    convenience init(retrievingFrom store: any IndexStore, peers: [String: PeerAddress] = [:]) throws {
        try self.init(store: store, pageSize: nil, peers: peers)
    }

    /// The info line logged for the retrieve (C-GET / C-MOVE).
    func retrieveLogs(_ name: String) -> [LogCapture.Entry] { logs.all.filter { $0.message == name } }
}

/// Contexts of a C-GET requester: the GET models and storage SOP classes with the SCP role.
func getContexts(
    storage: [String] = [RetrieveUIDs.ctImage, RetrieveUIDs.mrImage],
    storageSyntaxes: [String] = [UIDs.explicitLE, UIDs.implicitLE],
    role: Bool = true
) -> [RequestedContext] {
    [
        RequestedContext(
            abstractSyntax: RetrieveUIDs.studyRootGet, transferSyntaxes: [UIDs.explicitLE, UIDs.implicitLE]),
        RequestedContext(
            abstractSyntax: RetrieveUIDs.patientRootGet, transferSyntaxes: [UIDs.explicitLE, UIDs.implicitLE]),
        RequestedContext(
            abstractSyntax: RetrieveUIDs.studyRootMove, transferSyntaxes: [UIDs.explicitLE, UIDs.implicitLE]),
    ]
        + storage.map {
            RequestedContext(
                abstractSyntax: $0, transferSyntaxes: storageSyntaxes, role: role ? (scu: false, scp: true) : nil)
        }
}

func retrieveIdentifier(
    level: String, patientID: String? = nil, study: String? = nil, series: String? = nil,
    sop: String? = nil
) -> DataSet {
    var d = DataSet()
    d.set(.queryRetrieveLevel, vr: .CS, string: level)
    if let patientID { d.set(.patientID, vr: .LO, string: patientID) }
    if let study { d.set(.studyInstanceUID, vr: .UI, string: study) }
    if let series { d.set(.seriesInstanceUID, vr: .UI, string: series) }
    if let sop { d.set(.sopInstanceUID, vr: .UI, string: sop) }
    return d
}

struct ReceivedStore {
    var command: CommandSet
    var contextID: UInt8
    var dataSet: [UInt8]
}

struct GetOutcome {
    var stores: [ReceivedStore] = []
    var pending: [CommandSet] = []
    var final: CommandSet
    var finalIdentifier: DataSet?
    var status: DIMSEStatus { final.status ?? DIMSEStatus(0xFFFF) }
}

extension TestSCU {
    func sendRetrieve(contextID: UInt8, command: CommandSet, identifier: DataSet) throws {
        let bytes = try DataSetWriter.write(identifier, transferSyntax: transferSyntax(of: contextID))
        try sendMessage(contextID: contextID, command: command, dataSet: bytes)
    }

    /// A Study Root C-GET of one study at STUDY level; see ``get(contextID:messageID:sopClass:identifier:storeStatus:onStore:)``.
    func getStudy(
        _ studyUID: String, storeStatus: (ReceivedStore) -> DIMSEStatus = { _ in .success },
        onStore: (Int) throws -> Void = { _ in }
    ) throws -> GetOutcome {
        try get(
            contextID: try contextID(RetrieveUIDs.studyRootGet), sopClass: RetrieveUIDs.studyRootGet,
            identifier: retrieveIdentifier(level: "STUDY", study: studyUID), storeStatus: storeStatus, onStore: onStore)
    }

    /// Runs a C-GET: answers each C-STORE-RQ with `storeStatus` (default success), collects the
    /// pending C-GET-RSPs and the final one. `onStore` runs after each received store (e.g. to cancel).
    func get(
        contextID: UInt8, messageID: UInt16 = 1, sopClass: String, identifier: DataSet,
        storeStatus: (ReceivedStore) -> DIMSEStatus = { _ in .success },
        onStore: (Int) throws -> Void = { _ in }
    ) throws -> GetOutcome {
        try sendRetrieve(
            contextID: contextID, command: .cGetRQ(messageID: messageID, affectedSOPClassUID: sopClass),
            identifier: identifier)
        var stores: [ReceivedStore] = []
        var pending: [CommandSet] = []
        while true {
            let message = try receiveMessage()
            switch message.command.commandField {
            case .cStoreRQ:
                var bytes: [UInt8] = []
                for f in message.dataSet ?? [] { bytes += f }
                let store = ReceivedStore(command: message.command, contextID: message.contextID, dataSet: bytes)
                stores.append(store)
                let rsp = CommandSet.cStoreRSP(
                    respondingTo: message.command.messageID ?? 0,
                    affectedSOPClassUID: message.command.affectedSOPClassUID ?? "",
                    affectedSOPInstanceUID: message.command.affectedSOPInstanceUID ?? "", status: storeStatus(store))
                try sendMessage(contextID: message.contextID, command: rsp)
                try onStore(stores.count)
            case .cGetRSP:
                if message.command.status?.isPending == true {
                    pending.append(message.command)
                } else {
                    var identifier: DataSet?
                    if let fragments = message.dataSet {
                        var bytes: [UInt8] = []
                        for f in fragments { bytes += f }
                        identifier = try DataSetReader.read(
                            bytes[...], transferSyntax: transferSyntax(of: message.contextID))
                    }
                    return GetOutcome(
                        stores: stores, pending: pending, final: message.command,
                        finalIdentifier: identifier)
                }
            default:
                throw TestFailure("unexpected message \(String(describing: message.command.commandField))")
            }
        }
    }
}
