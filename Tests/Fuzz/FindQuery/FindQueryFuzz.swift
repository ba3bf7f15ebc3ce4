// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: C-FIND identifier → validated request → SQL plan → matches (PS3.4 C.4.1),
// against a small in-memory index, as the C-FIND service runs it.
//
// Input: byte 0 bit 0 picks the model (Patient Root, Study Root), bit 1 a relational query,
// bit 2 the identifier's syntax (Implicit, Explicit VR LE); the rest is the identifier. Checked
// besides "no trap": a request either fails validation with a status or runs; the rows encoded
// straight for the wire are byte for byte the encoding of the data sets `find` returns (the
// contract of `findEncoded`), in both syntaxes.
import Archive
import DICOM

private func text(_ group: UInt16, _ element: UInt16, _ vr: VR, _ value: String) -> DataElement {
    var bytes = Array(value.utf8)
    if bytes.count % 2 == 1 { bytes.append(vr == .UI ? 0 : 0x20) }
    return DataElement(tag: Tag(group, element), vr: vr, bytes: bytes[...])
}

private let store: SQLiteIndexStore = {
    let store = try! SQLiteIndexStore(path: nil)
    let people = [
        ("Doe^Jane", "P1", "F", "19700101"), ("Müller^Jürgen", "P2", "M", "19851231"), ("Smith", "P3", "O", ""),
    ]
    for (p, person) in people.enumerated() {
        for s in 0..<2 {
            for i in 0..<2 {
                let study = "1.2.3.\(p).\(s)"
                let series = "1.2.3.\(p).\(s).1"
                let instance = "1.2.3.\(p).\(s).1.\(i)"
                let header = DataSet([
                    text(0x0008, 0x0005, .CS, "ISO_IR 192"),
                    text(0x0008, 0x0016, .UI, "1.2.840.10008.5.1.4.1.1.2"),
                    text(0x0008, 0x0018, .UI, instance),
                    text(0x0008, 0x0020, .DA, "2024010\(s + 1)"),
                    text(0x0008, 0x0030, .TM, "12\(s)000.5"),
                    text(0x0008, 0x0050, .SH, "A\(p)\(s)"),
                    text(0x0008, 0x0060, .CS, s == 0 ? "CT" : "MR"),
                    text(0x0008, 0x1030, .LO, "Study \(s) of \(person.0)"),
                    text(0x0010, 0x0010, .PN, person.0),
                    text(0x0010, 0x0020, .LO, person.1),
                    text(0x0010, 0x0030, .DA, person.3),
                    text(0x0010, 0x0040, .CS, person.2),
                    text(0x0020, 0x000D, .UI, study),
                    text(0x0020, 0x000E, .UI, series),
                    text(0x0020, 0x0010, .SH, "S\(s)"),
                    text(0x0020, 0x0011, .IS, "\(s + 1)"),
                    text(0x0020, 0x0013, .IS, "\(i + 1)"),
                ])
                try! store.index(
                    InstanceRecord(
                        path: "\(study)/\(series)/\(instance).dcm", size: 1000,
                        modificationTime: 0, transferSyntaxUID: "1.2.840.10008.1.2.1",
                        header: header))
            }
        }
    }
    return store
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFindQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let control = bytes.first else { return 0 }
    let model: QueryModel = control & 1 == 0 ? .patientRoot : .studyRoot
    let syntax: TransferSyntax = control & 4 == 0 ? .implicitVRLittleEndian : .explicitVRLittleEndian
    guard let identifier = try? DataSetReader.read(bytes[1...], transferSyntax: syntax) else { return 0 }
    let request: FindRequest
    do {
        request = try FindRequest(model: model, identifier: identifier, relational: control & 2 != 0)
    } catch {
        _ = error.description
        return 0
    }
    guard let page = try? store.find(request, after: nil, limit: 0) else { return 0 }
    for match in page.matches { _ = match.description }
    for wire in [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian] {
        let encoding = IdentifierEncoding(transferSyntax: wire, retrieveAETitle: "QRSCPD")
        guard let reference = try? EncodedFindPage(page, encoding: encoding) else { continue }
        guard let direct = try? store.findEncoded(request, after: nil, limit: 0, encoding: encoding) else {
            preconditionFailure("findEncoded failed where find succeeded")
        }
        precondition(
            direct.ends == reference.ends && direct.bytes == reference.bytes,
            "findEncoded and find disagree for \(wire)")
    }
    return 0
}
