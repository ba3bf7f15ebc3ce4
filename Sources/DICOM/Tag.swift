// SPDX-License-Identifier: Apache-2.0
/// A DICOM data element tag: (group, element) pair (PS3.5 §7.1).
///
/// Ordering is by group, then element, which is the order data elements
/// must appear in a data set (PS3.5 §7.1).
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Group number (gggg).
    public var group: UInt16
    /// Element number (eeee).
    public var element: UInt16

    /// Creates a tag from group and element numbers.
    @inlinable public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// Creates a tag from its 32-bit form `0xggggeeee`.
    @inlinable public init(_ value: UInt32) {
        self.group = UInt16(truncatingIfNeeded: value >> 16)
        self.element = UInt16(truncatingIfNeeded: value)
    }

    /// The 32-bit form `0xggggeeee`.
    @inlinable public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }

    @inlinable public static func < (a: Tag, b: Tag) -> Bool { a.value < b.value }

    /// `(gggg,eeee)` in upper-case hex.
    public var description: String {
        func hex(_ v: UInt16) -> String {
            let s = String(v, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - s.count) + s
        }
        return "(\(hex(group)),\(hex(element)))"
    }

    /// Private data element: odd group other than 0001, 0003, 0005, 0007, FFFF (PS3.5 §7.8).
    public var isPrivate: Bool { group & 1 == 1 && group > 0x0007 && group != 0xFFFF }
    /// Private Creator element (gggg,0010-00FF) in a private group (PS3.5 §7.8.1).
    public var isPrivateCreator: Bool { isPrivate && element >= 0x0010 && element <= 0x00FF }
    /// Group length element (gggg,0000) (PS3.5 §7.2).
    public var isGroupLength: Bool { element == 0 }
    /// File meta information element, group 0002 (PS3.10 §7.1).
    public var isFileMeta: Bool { group == 0x0002 }

    // MARK: Well-known tags

    /// Item (FFFE,E000) (PS3.5 §7.5).
    public static let item = Tag(0xFFFE, 0xE000)
    /// Item Delimitation Item (FFFE,E00D) (PS3.5 §7.5).
    public static let itemDelimitationItem = Tag(0xFFFE, 0xE00D)
    /// Sequence Delimitation Item (FFFE,E0DD) (PS3.5 §7.5).
    public static let sequenceDelimitationItem = Tag(0xFFFE, 0xE0DD)
    /// File Meta Information Group Length (0002,0000).
    public static let fileMetaInformationGroupLength = Tag(0x0002, 0x0000)
    /// File Meta Information Version (0002,0001).
    public static let fileMetaInformationVersion = Tag(0x0002, 0x0001)
    /// Media Storage SOP Class UID (0002,0002).
    public static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002)
    /// Media Storage SOP Instance UID (0002,0003).
    public static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003)
    /// Transfer Syntax UID (0002,0010).
    public static let transferSyntaxUID = Tag(0x0002, 0x0010)
    /// Implementation Class UID (0002,0012).
    public static let implementationClassUID = Tag(0x0002, 0x0012)
    /// Implementation Version Name (0002,0013).
    public static let implementationVersionName = Tag(0x0002, 0x0013)
    /// Source Application Entity Title (0002,0016).
    public static let sourceApplicationEntityTitle = Tag(0x0002, 0x0016)
    /// Specific Character Set (0008,0005).
    public static let specificCharacterSet = Tag(0x0008, 0x0005)
    /// SOP Class UID (0008,0016).
    public static let sopClassUID = Tag(0x0008, 0x0016)
    /// SOP Instance UID (0008,0018).
    public static let sopInstanceUID = Tag(0x0008, 0x0018)
    /// Study Date (0008,0020).
    public static let studyDate = Tag(0x0008, 0x0020)
    /// Modality (0008,0060).
    public static let modality = Tag(0x0008, 0x0060)
    /// Patient's Name (0010,0010).
    public static let patientName = Tag(0x0010, 0x0010)
    /// Patient ID (0010,0020).
    public static let patientID = Tag(0x0010, 0x0020)
    /// Study Instance UID (0020,000D).
    public static let studyInstanceUID = Tag(0x0020, 0x000D)
    /// Series Instance UID (0020,000E).
    public static let seriesInstanceUID = Tag(0x0020, 0x000E)
    /// Pixel Representation (0028,0103).
    public static let pixelRepresentation = Tag(0x0028, 0x0103)
    /// Pixel Data (7FE0,0010).
    public static let pixelData = Tag(0x7FE0, 0x0010)
    /// Data Set Trailing Padding (FFFC,FFFC) (PS3.10 §7.2).
    public static let dataSetTrailingPadding = Tag(0xFFFC, 0xFFFC)
}
