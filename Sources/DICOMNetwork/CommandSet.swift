// SPDX-License-Identifier: Apache-2.0
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
///
/// The command set is held in its encoded form: one byte buffer with the group length element
/// first, then every other element in ascending element order, each once. A message has a
/// handful of elements and is built once, then sent, or received once and read a few times;
/// kept this way, ``encoded()`` hands out the buffer as it is, decoding copies the received
/// bytes once, and typed getters read values where they lie. The element number (0000,0000)
/// cannot be set: the group length is always the computed one.
public struct CommandSet: Sendable, Hashable {
    /// (0000,0000) UL group length, then (group, element, 4-byte length, value) per element,
    /// little-endian, ascending element order, no element twice. Equal command sets have equal
    /// bytes, so the synthesised `==` and `hash(into:)` compare contents.
    /// The layout is kept by the functions of CommandSet+Storage.swift.
    var storage: [UInt8]

    /// Bytes of the (0000,0000) group length element that starts every command set.
    static let groupLengthElementLength = 12
    /// Bytes of an element's tag and length.
    static let elementHeaderLength = 8
    /// Room reserved by ``init()``: a C-STORE-RQ with 64-byte UIDs and a move originator fits.
    static let initialCapacity = 256

    public init() {
        storage = Self.emptyStorage(capacity: Self.initialCapacity)
    }

    /// A command set of bytes already in the layout of ``storage``.
    init(storage: [UInt8]) {
        self.storage = storage
    }

    /// The group length element with value 0, in a buffer of `capacity` bytes.
    static func emptyStorage(capacity: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Swift.max(capacity, groupLengthElementLength)) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: UInt32(0), toByteOffset: 0, as: UInt32.self)  // (0000,0000)
            raw.storeBytes(of: UInt32(4).littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)
            initialized = groupLengthElementLength
        }
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

    // MARK: Raw element access

    /// The raw value of an element of group 0000, `nil` if absent (always for (0000,0000)).
    /// The slice shares storage with the command set.
    public func rawValue(_ element: UInt16) -> ArraySlice<UInt8>? {
        let (offset, found) = Self.locate(element, in: storage)
        guard found else { return nil }
        let start = offset + Self.elementHeaderLength
        return storage[start..<(start + Self.valueLength(at: offset, in: storage))]
    }

    /// Sets an element's raw value as given (no padding), or removes it when `nil`.
    /// Setting (0000,0000) has no effect: the group length is computed.
    public mutating func setRawValue(_ element: UInt16, _ value: some Collection<UInt8>) {
        Self.setValue(element, count: value.count, in: &storage) { $0.copyBytes(from: value) }
    }

    /// Removes an element; removing an absent one does nothing.
    public mutating func removeValue(_ element: UInt16) {
        let (offset, found) = Self.locate(element, in: storage)
        guard found else { return }
        let end = offset + Self.elementHeaderLength + Self.valueLength(at: offset, in: storage)
        storage.removeSubrange(offset..<end)
        Self.updateGroupLength(&storage)
    }

    /// The elements present (excluding (0000,0000)), in ascending order.
    public var elementNumbers: [UInt16] {
        var numbers: [UInt16] = []
        forEachElement { element, _ in numbers.append(element) }
        return numbers
    }

    /// Raw element values keyed by element number of group 0000 (excluding 0000,0000): a copy,
    /// for inspection; the typed accessors and ``rawValue(_:)`` read in place.
    public var elements: [UInt16: [UInt8]] {
        get {
            var d: [UInt16: [UInt8]] = [:]
            forEachElement { element, value in d[element] = Array(value) }
            return d
        }
        set {
            storage = Self.emptyStorage(capacity: Self.initialCapacity)
            for (element, value) in newValue { setRawValue(element, value) }
        }
    }

    /// Calls `body` with each element (excluding (0000,0000)) and its value, in ascending order.
    private func forEachElement(_ body: (UInt16, ArraySlice<UInt8>) -> Void) {
        var offset = Self.groupLengthElementLength
        while offset < storage.count {
            let length = Self.valueLength(at: offset, in: storage)
            let start = offset + Self.elementHeaderLength
            body(Self.elementNumber(at: offset, in: storage), storage[start..<(start + length)])
            offset = start + length
        }
    }

    // MARK: Typed element access

    /// A US value (2 bytes little-endian).
    public func us(_ element: UInt16) -> UInt16? {
        // Read in place: the most frequent getter need not hand out a slice of the buffer.
        let (offset, found) = Self.locate(element, in: storage)
        guard found, Self.valueLength(at: offset, in: storage) >= 2 else { return nil }
        let at = offset + Self.elementHeaderLength
        return UInt16(storage[at]) | UInt16(storage[at + 1]) << 8  // little-endian
    }

    public mutating func setUS(_ element: UInt16, _ value: UInt16?) {
        guard let value else {
            removeValue(element)
            return
        }
        Self.setValue(element, count: 2, in: &storage) {
            $0.storeBytes(of: value.littleEndian, as: UInt16.self)
        }
    }

    /// A UI value, trailing NUL/space removed.
    public func ui(_ element: UInt16) -> String? {
        rawValue(element).map(DICOMText.uid)
    }

    /// Sets a UI value, NUL-padded to even length.
    public mutating func setUI(_ element: UInt16, _ value: String?) {
        setPadded(element, value, pad: 0x00)
    }

    /// A text value (AE, LO, ST), leading/trailing spaces removed.
    public func text(_ element: UInt16) -> String? {
        rawValue(element).map(DICOMText.withoutPadding)
    }

    /// Sets a text value (AE, LO, ST), space-padded to even length.
    public mutating func setText(_ element: UInt16, _ value: String?) {
        setPadded(element, value, pad: 0x20)
    }

    /// Sets the UTF-8 bytes of `value` padded with `pad` to even length, or removes the element.
    private mutating func setPadded(_ element: UInt16, _ value: String?, pad: UInt8) {
        guard let value else {
            removeValue(element)
            return
        }
        let utf8 = value.utf8
        let count = utf8.count
        Self.setValue(element, count: count + count % 2, in: &storage) { buffer in
            buffer.copyBytes(from: utf8)
            if count % 2 == 1 { buffer[count] = pad }
        }
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
            guard let v = rawValue(Tag.offendingElement) else { return nil }
            var r = ByteReader(v)
            var tags: [UInt32] = []
            while let g = r.readUInt16LittleEndian(), let e = r.readUInt16LittleEndian() {  // little-endian
                tags.append(UInt32(g) << 16 | UInt32(e))
            }
            return tags
        }
        set {
            guard let newValue else {
                removeValue(Tag.offendingElement)
                return
            }
            Self.setValue(Tag.offendingElement, count: 4 * newValue.count, in: &storage) { buffer in
                for (i, t) in newValue.enumerated() {
                    buffer.storeBytes(of: UInt16(t >> 16).littleEndian, toByteOffset: 4 * i, as: UInt16.self)
                    buffer.storeBytes(of: UInt16(t & 0xFFFF).littleEndian, toByteOffset: 4 * i + 2, as: UInt16.self)
                }
            }
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
            SubOperationCounts(
                remaining: remainingSubOperations, completed: completedSubOperations,
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
}
