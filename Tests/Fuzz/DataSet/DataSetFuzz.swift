// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: the data-set reader in every native transfer syntax (PS3.5 §7, §A.5).
//
// Input: byte 0 chooses the syntax (bits 0–1: Implicit VR LE, Explicit VR LE, Explicit VR BE,
// Deflated Explicit VR LE) and bit 2 stops before Pixel Data as the indexer does; the rest is
// the data set; bits 3–4 choose the syntax to convert to, as C-GET converts a stored file for
// the peer. A read either throws a DICOMError or gives a data set whose values the server then
// decodes and describes without trapping; when the conversion writes, what it wrote must read
// back in the target syntax with the same top-level elements (a peer must never be sent a data
// set that does not parse).
import DICOM

private let syntaxes: [TransferSyntax] = [
    .implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian,
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDataSet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let control = bytes.first else { return 0 }
    let syntax = syntaxes[Int(control & 3)]
    // Bound inflation so that a small input cannot make the harness run out of memory.
    let options = DataSetReader.Options(stopBeforePixelData: control & 4 != 0, maxInflatedSize: 1 << 22)
    guard let dataSet = try? DataSetReader.read(bytes[1...], transferSyntax: syntax, options: options) else { return 0 }
    exercise(dataSet, syntax: syntax, depth: 0)
    _ = dataSet.description
    let target = syntaxes[Int(control >> 3 & 3)]
    guard let converted = try? DataSetWriter.write(dataSet, transferSyntax: target) else { return 0 }
    let reread: DataSet
    do {
        reread = try DataSetReader.read(converted[...], transferSyntax: target)
    } catch {
        preconditionFailure("a data set converted from \(syntax) to \(target) does not read back: \(error)")
    }
    precondition(
        reread.tags == dataSet.tags, "a data set converted from \(syntax) to \(target) reads back other elements")
    return 0
}

/// Decodes every value as the services do: strings in the data set's character set, UIDs, items.
private func exercise(_ dataSet: DataSet, syntax: TransferSyntax, depth: Int) {
    let characterSet = dataSet.characterSet()
    for element in dataSet {
        if let items = element.items {
            if depth < 8 { for item in items { exercise(item, syntax: syntax, depth: depth + 1) } }
            continue
        }
        if element.fragments != nil { continue }
        if element.vr.isString {
            _ = dataSet.decodedStrings(element.tag, inherited: characterSet)
            _ = dataSet.uid(element.tag)
        }
        _ = element.converted(bigEndian: !syntax.isBigEndian)
    }
}
