// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: the Part 10 file reader (PS3.10 §7.1) and the header summary the sender uses.
//
// Input: a whole file. `readHeaderSummary` promises the same values and the same errors as
// `readHeader` (it only scans the usual shape in place), so any disagreement traps; the
// data-set offset must lie inside the file; the full read, as the scanner and the indexer do
// it, either throws or gives a data set.
import DICOM

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPart10(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let header = try? DICOMFile.readHeader(bytes[...])
    let summary = try? DICOMFile.readHeaderSummary(bytes[...])
    switch (header, summary) {
    case (nil, nil):
        return 0
    case (let header?, let summary?):
        precondition(summary.transferSyntax == header.transferSyntax, "summary and header disagree on the syntax")
        precondition(summary.dataSetOffset == header.dataSetOffset, "summary and header disagree on the offset")
        precondition(summary.hasPreamble == header.hasPreamble, "summary and header disagree on the preamble")
        precondition(
            summary.mediaStorageSOPInstanceUID == header.meta.uid(.mediaStorageSOPInstanceUID),
            "summary and header disagree on the instance UID")
        precondition(
            header.dataSetOffset >= 0 && header.dataSetOffset <= bytes.count, "data set offset outside the file")
    default:
        preconditionFailure("readHeaderSummary and readHeader disagree on whether the header is valid")
    }
    let options = DataSetReader.Options(stopBeforePixelData: size & 1 == 0, maxInflatedSize: 1 << 22)
    if let file = try? DICOMFile(bytes: bytes[...], options: options) {
        _ = file.dataSet.description
    }
    return 0
}
