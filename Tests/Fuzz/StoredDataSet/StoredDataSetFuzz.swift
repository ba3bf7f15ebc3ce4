// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: walking a stored file's elements by their headers as WADO-RS metadata and
// bulk data do (ElementWalker, FileWindow, StoredDataSet; the DICOMWeb module).
//
// Input: a whole file (byte 0 of a Part 10 preamble is free, so its low bits pick the bulk
// limit: 0 to 255 bytes). Checked besides "no trap":
// - every top-level element lies inside the file, after the one before it, and the walk ends;
// - an element found by its tag is the one the walk saw first with that tag;
// - each value left unread is of a binary VR (or Pixel Data) and longer than the limit.
import DICOM
import DICOMWeb

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoredDataSet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let window = FileWindow(fileSize: bytes.count) { offset, count in
        Array(bytes[min(offset, bytes.count)..<min(offset + count, bytes.count)])
    }
    let limit = Int(bytes.first ?? 0)
    let maxRead = 1 << 22
    guard let header = try? ElementWalker.header(window, maxProbe: maxRead) else { return 0 }
    precondition(header.dataSetOffset >= 0 && header.dataSetOffset <= bytes.count, "data set offset outside the file")
    var seen: [ElementExtent] = []
    var end = header.dataSetOffset
    let walked: Void? = try? ElementWalker.walk(
        window, from: header.dataSetOffset, explicitVR: header.transferSyntax.isExplicitVR,
        bigEndian: header.transferSyntax.isBigEndian
    ) { element in
        precondition(element.offset == end, "an element does not start where the one before ended")
        precondition(
            element.valueOffset > element.offset && element.end >= element.valueOffset && element.end <= bytes.count,
            "an element outside the file")
        if let length = element.length {
            precondition(element.valueOffset + length == element.end, "length and end differ")
        }
        end = element.end
        seen.append(element)
        return seen.count < 4096
    }
    if walked != nil, let first = seen.first {
        // In tag order, find stops at the first element past the tag: it sees what the walk saw.
        let ascending = zip(seen, seen.dropFirst()).allSatisfy { $0.tag.value < $1.tag.value }
        if ascending {
            for element in [first, seen[seen.count / 2], seen[seen.count - 1]] {
                let found = try? ElementWalker.find(element.tag, in: window, maxProbe: maxRead)
                precondition(found == element, "find disagrees with the walk")
            }
        }
    }
    if let stored = try? StoredDataSet(window, bulkLimit: limit, maxRead: maxRead) {
        for bulk in stored.bulk where seen.count < 4096 {
            // (A tag may come more than once in a broken file: one of its elements is the one.)
            let matches = seen.filter { $0.tag == bulk.tag }
            precondition(!matches.isEmpty, "a value left unread that the walk did not see")
            precondition(
                matches.contains {
                    ($0.tag == .pixelData || $0.isBinary) && ($0.length ?? $0.end - 8 - $0.valueOffset) > limit
                }, "a short or non-binary value left unread")
        }
    }
    return 0
}
