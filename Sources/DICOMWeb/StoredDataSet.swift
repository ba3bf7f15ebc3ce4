// SPDX-License-Identifier: Apache-2.0
import DICOM

/// A stored Part 10 file's data set read without its bulk values: top-level binary values
/// longer than a limit (Pixel Data above all, wherever it is) are located by their headers and
/// left unread, everything else is read and parsed. Memory is bounded by the rest of the data
/// set, not by the file.
public struct StoredDataSet: Sendable {
    /// A value left unread.
    public struct Bulk: Sendable, Hashable {
        public var tag: Tag
        public var vr: VR
    }

    /// The data set without the bulk values.
    public var dataSet: DataSet
    /// The top-level values left unread, in tag order.
    public var bulk: [Bulk]

    /// Reads the data set of the file `window` reads, leaving top-level binary values of more
    /// than `bulkLimit` bytes (as stored: encapsulated items with their headers) unread.
    /// Throws ``FrameLocationError`` when the values it would read exceed `maxRead` bytes or the
    /// data set is deflated (its elements cannot be located in the file).
    public init(_ window: FileWindow, bulkLimit: Int, maxRead: Int) throws {
        let header = try ElementWalker.header(window, maxProbe: maxRead)
        let syntax = header.transferSyntax
        var kept = Array(try window.read(0, header.dataSetOffset))
        var bulk: [Bulk] = []
        try ElementWalker.walk(
            window, from: header.dataSetOffset, explicitVR: syntax.isExplicitVR, bigEndian: syntax.isBigEndian
        ) { element in
            let storedLength = element.length ?? element.end - 8 - element.valueOffset
            let isBulk = element.tag == .pixelData ? element.vr != .SQ : element.isBinary && element.length != nil
            if isBulk && storedLength > bulkLimit {
                bulk.append(Bulk(tag: element.tag, vr: element.vr))
                return true
            }
            guard kept.count + element.end - element.offset <= maxRead else {
                throw FrameLocationError("more than \(maxRead) bytes of values to read")
            }
            kept += try window.read(element.offset, element.end - element.offset)
            return true
        }
        dataSet = try DICOMFile(bytes: kept[...]).dataSet
        if !syntax.isExplicitVR, let at = bulk.firstIndex(where: { $0.tag == .pixelData }) {
            // Implicit VR: OW unless the pixel cells are bytes (PS3.5 §8.2, A.1).
            bulk[at].vr = (dataSet.int(Tag(0x0028, 0x0100)) ?? 16) > 8 ? .OW : .OB
        }
        self.bulk = bulk
    }
}
