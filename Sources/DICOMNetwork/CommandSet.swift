/// Errors decoding a DIMSE command set (PS3.7 §6.3, §9.3).
public enum CommandSetDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An element header or value runs past the end of the command.
    case truncated(offset: Int)
    /// An element with undefined length (not allowed in Implicit VR LE command sets).
    case undefinedLength(element: UInt16)

    public var description: String {
        switch self {
        case .truncated(let o): return "command set truncated at offset \(o)"
        case .undefinedLength(let e): return "command element (0000,\(String(e, radix: 16))) has undefined length"
        }
    }
}

/// A DIMSE command set: the group-0000 elements of a message (PS3.7 §6.3, §9.3, Annex E).
///
/// Always encoded Implicit VR Little Endian with (0000,0000) Command Group Length computed
/// (DM-01/02). Decoding ignores the received group length and keeps retired or unknown
/// group-0000 elements as raw values; elements of other groups are skipped.
public struct CommandSet: Sendable, Hashable {
    /// Raw element values keyed by element number of group 0000 (excluding 0000,0000).
    public var elements: [UInt16: [UInt8]]

    public init() {
        // Room for every element a message of PS3.7 carries, so building one never rehashes.
        elements = Dictionary(minimumCapacity: 16)
    }

    /// Element numbers (group 0000).
    public enum Tag {
        public static let groupLength: UInt16 = 0x0000
        public static let affectedSOPClassUID: UInt16 = 0x0002
        public static let requestedSOPClassUID: UInt16 = 0x0003
        public static let commandField: UInt16 = 0x0100
        public static let messageID: UInt16 = 0x0110
        public static let messageIDBeingRespondedTo: UInt16 = 0x0120
        public static let moveDestination: UInt16 = 0x0600
        public static let priority: UInt16 = 0x0700
        public static let commandDataSetType: UInt16 = 0x0800
        public static let status: UInt16 = 0x0900
        public static let offendingElement: UInt16 = 0x0901
        public static let errorComment: UInt16 = 0x0902
        public static let affectedSOPInstanceUID: UInt16 = 0x1000
        public static let requestedSOPInstanceUID: UInt16 = 0x1001
        public static let remainingSubOperations: UInt16 = 0x1020
        public static let completedSubOperations: UInt16 = 0x1021
        public static let failedSubOperations: UInt16 = 0x1022
        public static let warningSubOperations: UInt16 = 0x1023
        public static let moveOriginatorAETitle: UInt16 = 0x1030
        public static let moveOriginatorMessageID: UInt16 = 0x1031
    }

    /// Command Data Set Type value meaning "no data set" (DM-05).
    public static let noDataSet: UInt16 = 0x0101
    /// The value we send when a data set follows (any value ≠ 0101H is legal).
    public static let dataSetPresent: UInt16 = 0x0001

    // MARK: Typed element access

    /// A US value (2 bytes little-endian).
    public func us(_ element: UInt16) -> UInt16? {
        guard let v = elements[element], v.count >= 2 else { return nil }
        return UInt16(v[0]) | UInt16(v[1]) << 8  // little-endian
    }

    public mutating func setUS(_ element: UInt16, _ value: UInt16?) {
        guard let value else { elements[element] = nil; return }
        var b: [UInt8] = []
        b.appendLittleEndian(value)  // little-endian
        elements[element] = b
    }

    /// A UI value, trailing NUL/space removed.
    public func ui(_ element: UInt16) -> String? {
        elements[element].map { DICOMText.uid($0[...]) }
    }

    /// Sets a UI value, NUL-padded to even length.
    public mutating func setUI(_ element: UInt16, _ value: String?) {
        guard let value else { elements[element] = nil; return }
        var b = Array(value.utf8)
        if b.count % 2 == 1 { b.append(0x00) }
        elements[element] = b
    }

    /// A text value (AE, LO, ST), leading/trailing spaces removed.
    public func text(_ element: UInt16) -> String? {
        elements[element].map { DICOMText.withoutPadding($0[...]) }
    }

    /// Sets a text value (AE, LO, ST), space-padded to even length.
    public mutating func setText(_ element: UInt16, _ value: String?) {
        guard let value else { elements[element] = nil; return }
        var b = Array(value.utf8)
        if b.count % 2 == 1 { b.append(0x20) }
        elements[element] = b
    }

    public var affectedSOPClassUID: String? {
        get { ui(Tag.affectedSOPClassUID) }
        set { setUI(Tag.affectedSOPClassUID, newValue) }
    }
    public var requestedSOPClassUID: String? {
        get { ui(Tag.requestedSOPClassUID) }
        set { setUI(Tag.requestedSOPClassUID, newValue) }
    }
    /// The raw Command Field value.
    public var commandFieldValue: UInt16? {
        get { us(Tag.commandField) }
        set { setUS(Tag.commandField, newValue) }
    }
    /// The Command Field, `nil` if absent or not one of ``CommandField``.
    public var commandField: CommandField? {
        get { commandFieldValue.flatMap(CommandField.init(rawValue:)) }
        set { commandFieldValue = newValue?.rawValue }
    }
    public var messageID: UInt16? {
        get { us(Tag.messageID) }
        set { setUS(Tag.messageID, newValue) }
    }
    public var messageIDBeingRespondedTo: UInt16? {
        get { us(Tag.messageIDBeingRespondedTo) }
        set { setUS(Tag.messageIDBeingRespondedTo, newValue) }
    }
    public var moveDestination: String? {
        get { text(Tag.moveDestination) }
        set { setText(Tag.moveDestination, newValue) }
    }
    public var priority: DIMSEPriority? {
        get { us(Tag.priority).flatMap(DIMSEPriority.init(rawValue:)) }
        set { setUS(Tag.priority, newValue?.rawValue) }
    }
    public var commandDataSetType: UInt16? {
        get { us(Tag.commandDataSetType) }
        set { setUS(Tag.commandDataSetType, newValue) }
    }
    /// True when a data set follows: Command Data Set Type ≠ 0101H (DM-05). An absent element
    /// counts as "no data set".
    public var hasDataSet: Bool {
        get { commandDataSetType.map { $0 != Self.noDataSet } ?? false }
        set { commandDataSetType = newValue ? Self.dataSetPresent : Self.noDataSet }
    }
    public var status: DIMSEStatus? {
        get { us(Tag.status).map(DIMSEStatus.init(rawValue:)) }
        set { setUS(Tag.status, newValue?.rawValue) }
    }
    /// Offending Element (0000,0901), AT: list of (group, element) tags.
    public var offendingElements: [UInt32]? {
        get {
            guard let v = elements[Tag.offendingElement] else { return nil }
            var r = ByteReader(v[...])
            var tags: [UInt32] = []
            while let g = r.readUInt16LittleEndian(), let e = r.readUInt16LittleEndian() {  // little-endian
                tags.append(UInt32(g) << 16 | UInt32(e))
            }
            return tags
        }
        set {
            guard let newValue else { elements[Tag.offendingElement] = nil; return }
            var b: [UInt8] = []
            for t in newValue {
                b.appendLittleEndian(UInt16(t >> 16))  // little-endian
                b.appendLittleEndian(UInt16(t & 0xFFFF))
            }
            elements[Tag.offendingElement] = b
        }
    }
    public var errorComment: String? {
        get { text(Tag.errorComment) }
        set { setText(Tag.errorComment, newValue) }
    }
    public var affectedSOPInstanceUID: String? {
        get { ui(Tag.affectedSOPInstanceUID) }
        set { setUI(Tag.affectedSOPInstanceUID, newValue) }
    }
    public var requestedSOPInstanceUID: String? {
        get { ui(Tag.requestedSOPInstanceUID) }
        set { setUI(Tag.requestedSOPInstanceUID, newValue) }
    }
    public var remainingSubOperations: UInt16? {
        get { us(Tag.remainingSubOperations) }
        set { setUS(Tag.remainingSubOperations, newValue) }
    }
    public var completedSubOperations: UInt16? {
        get { us(Tag.completedSubOperations) }
        set { setUS(Tag.completedSubOperations, newValue) }
    }
    public var failedSubOperations: UInt16? {
        get { us(Tag.failedSubOperations) }
        set { setUS(Tag.failedSubOperations, newValue) }
    }
    public var warningSubOperations: UInt16? {
        get { us(Tag.warningSubOperations) }
        set { setUS(Tag.warningSubOperations, newValue) }
    }
    /// All four sub-operation counters at once.
    public var subOperations: SubOperationCounts {
        get {
            SubOperationCounts(remaining: remainingSubOperations, completed: completedSubOperations,
                               failed: failedSubOperations, warning: warningSubOperations)
        }
        set {
            remainingSubOperations = newValue.remaining
            completedSubOperations = newValue.completed
            failedSubOperations = newValue.failed
            warningSubOperations = newValue.warning
        }
    }
    public var moveOriginatorAETitle: String? {
        get { text(Tag.moveOriginatorAETitle) }
        set { setText(Tag.moveOriginatorAETitle, newValue) }
    }
    public var moveOriginatorMessageID: UInt16? {
        get { us(Tag.moveOriginatorMessageID) }
        set { setUS(Tag.moveOriginatorMessageID, newValue) }
    }

    // MARK: Encoding / decoding

    /// Implicit VR Little Endian encoding, elements in ascending order, preceded by
    /// (0000,0000) UL group length = byte count of the rest (DM-01/02).
    public func encoded() -> [UInt8] {
        let sorted = elements.sorted { $0.key < $1.key }.filter { $0.key != Tag.groupLength }
        let groupLength = sorted.reduce(0) { $0 + 8 + $1.value.count }
        var out: [UInt8] = []
        out.reserveCapacity(12 + groupLength)
        out.appendLittleEndian(UInt16(0x0000))  // (0000,0000), little-endian
        out.appendLittleEndian(UInt16(0x0000))
        out.appendLittleEndian(UInt32(4))
        out.appendLittleEndian(UInt32(groupLength))
        for (element, value) in sorted {
            out.appendLittleEndian(UInt16(0x0000))  // group, little-endian
            out.appendLittleEndian(element)
            out.appendLittleEndian(UInt32(value.count))
            out += value
        }
        return out
    }

    /// Decodes an Implicit VR LE command set. The group length value is ignored (DM-02).
    public init(decoding bytes: ArraySlice<UInt8>) throws(CommandSetDecodingError) {
        self.init()
        var r = ByteReader(bytes)
        while !r.isEmpty {
            let offset = bytes.count - r.count
            guard let group = r.readUInt16LittleEndian(), let element = r.readUInt16LittleEndian(),
                  let length = r.readUInt32LittleEndian()  // little-endian
            else { throw .truncated(offset: offset) }
            guard length != 0xFFFF_FFFF else { throw .undefinedLength(element: element) }
            guard let value = r.readSlice(Int(length)) else { throw .truncated(offset: offset) }
            if group == 0x0000 && element != Tag.groupLength {
                elements[element] = Array(value)
            }
        }
    }
}
