// SPDX-License-Identifier: Apache-2.0
import TestSupport
import Testing

@testable import DICOMNetwork

/// The command set's single-buffer layout against a plain model: a dictionary of element
/// values, encoded by sorting (PS3.7 §6.3.1) and decoded element by element, later wins.
@Suite("DIMSE command set layout (sorted single buffer)")
struct CommandSetLayoutTests {
    /// Implicit VR LE encoding of `elements`: group length, then ascending elements.
    static func reference(_ elements: [UInt16: [UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        for (element, value) in elements.sorted(by: { $0.key < $1.key }) where element != 0x0000 {
            body += [0x00, 0x00] + le16(element) + le32(value.count) + value
        }
        return [0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00] + le32(body.count) + body
    }

    /// Decodes element by element into a dictionary (later wins), or gives the error the
    /// command set must give.
    static func referenceDecode(_ bytes: [UInt8]) -> Result<[UInt16: [UInt8]], CommandSetDecodingError> {
        var elements: [UInt16: [UInt8]] = [:]
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 8 else { return .failure(.truncated(offset: offset)) }
            let group = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
            let element = UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8
            let length = bytes[(offset + 4)..<(offset + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
            guard length != 0xFFFF_FFFF else { return .failure(.undefinedLength(element: element)) }
            guard bytes.count - offset - 8 >= length else { return .failure(.truncated(offset: offset)) }
            if group == 0 && element != 0 { elements[element] = Array(bytes[(offset + 8)..<(offset + 8 + length)]) }
            offset += 8 + length
        }
        return .success(elements)
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ n: Int) -> [UInt8] { (0..<4).map { UInt8(n >> (8 * $0) & 0xFF) } }
    static func element(_ e: UInt16, _ value: [UInt8], group: UInt16 = 0) -> [UInt8] {
        le16(group) + le16(e) + le32(value.count) + value
    }

    @Test("elements encode in ascending order whatever order they were set in")
    func encodeOrder() throws {
        let ascending = CommandSet.cStoreRQ(
            messageID: 5, affectedSOPClassUID: UIDs.ctImage,
            affectedSOPInstanceUID: "1.2.3.4.5", moveOriginatorAETitle: "MOVESCU",
            moveOriginatorMessageID: 4)
        var reversed = CommandSet()
        reversed.moveOriginatorMessageID = 4
        reversed.moveOriginatorAETitle = "MOVESCU"
        reversed.affectedSOPInstanceUID = "1.2.3.4.5"
        reversed.hasDataSet = true
        reversed.priority = .medium
        reversed.messageID = 5
        reversed.commandField = .cStoreRQ
        reversed.affectedSOPClassUID = UIDs.ctImage
        #expect(reversed.encoded() == ascending.encoded())
        #expect(reversed == ascending)
        #expect(reversed.hashValue == ascending.hashValue)
        #expect(reversed.elementNumbers == [0x0002, 0x0100, 0x0110, 0x0700, 0x0800, 0x1000, 0x1030, 0x1031])
        #expect(ascending.encoded() == Self.reference(ascending.elements))
        #expect(ascending.encodedLength == ascending.encoded().count)
    }

    @Test("replacing a value with a longer, shorter or equal one keeps its neighbours and the group length")
    func replace() throws {
        var c = CommandSet.cMoveRQ(messageID: 4, affectedSOPClassUID: UIDs.studyRootMove, moveDestination: "DEST")
        var model = c.elements
        for destination in ["A LONGER DESTINATION", "B", "CD", "EF", "", "LAST"] {
            c.moveDestination = destination
            model[CommandSet.Tag.moveDestination] =
                Array(destination.utf8) + (destination.utf8.count % 2 == 1 ? [0x20] : [])
            #expect(c.elements == model)
            #expect(c.encoded() == Self.reference(model))
            #expect(c.moveDestination == destination)
            #expect(c.priority == .medium && c.messageID == 4 && c.affectedSOPClassUID == UIDs.studyRootMove)
        }
        c.messageID = 0xBEEF
        model[CommandSet.Tag.messageID] = [0xEF, 0xBE]
        #expect(c.encoded() == Self.reference(model))
    }

    @Test("removing elements: first, middle, last, absent; removing all gives the empty command set")
    func remove() throws {
        var c = CommandSet.cGetRSP(
            respondingTo: 3, affectedSOPClassUID: UIDs.studyRootGet, status: .pending,
            subOperations: .init(remaining: 5, completed: 1, failed: 0, warning: 0))
        var model = c.elements
        for element in [
            CommandSet.Tag.affectedSOPClassUID, CommandSet.Tag.commandDataSetType,
            CommandSet.Tag.warningSubOperations, CommandSet.Tag.moveDestination,
        ] {
            c.removeValue(element)
            model[element] = nil
            #expect(c.elements == model)
            #expect(c.encoded() == Self.reference(model))
        }
        c.status = nil
        c.subOperations = SubOperationCounts()
        c.setUS(CommandSet.Tag.commandField, nil)
        c.setUI(CommandSet.Tag.messageIDBeingRespondedTo, nil)
        #expect(c.elementNumbers.isEmpty)
        #expect(c == CommandSet())
        #expect(c.encoded() == hex("00 00 00 00 04 00 00 00 00 00 00 00"))
    }

    @Test("(0000,0000) cannot be set: the group length is always computed")
    func groupLengthNotSettable() throws {
        var c = CommandSet.cEchoRQ(messageID: 1)
        let before = c.encoded()
        c.setUS(CommandSet.Tag.groupLength, 7)
        c.setRawValue(CommandSet.Tag.groupLength, [1, 2, 3, 4])
        #expect(c.encoded() == before)
        #expect(c.us(CommandSet.Tag.groupLength) == nil)
        #expect(c.rawValue(CommandSet.Tag.groupLength) == nil)
    }

    @Test("raw values: odd lengths and empty values are kept as given")
    func rawValues() throws {
        var c = CommandSet()
        c.setRawValue(0x4000, [0x41, 0x42, 0x43])  // odd, not padded
        c.setRawValue(0x0003, [UInt8]())
        #expect(c.rawValue(0x4000).map(Array.init) == [0x41, 0x42, 0x43])
        #expect(c.rawValue(0x0003)?.isEmpty == true)
        #expect(c.ui(0x0003) == "")
        #expect(c.us(0x0003) == nil)  // too short for US
        let bytes = c.encoded()
        #expect(
            bytes == hex("00 00 00 00 04 00 00 00 13 00 00 00") + Self.element(0x0003, [])
                + Self.element(0x4000, [0x41, 0x42, 0x43]))
        #expect(try CommandSet(decoding: bytes[...]) == c)
        c.elements = [0x0110: [0x02, 0x00], 0x0100: [0x30, 0x00]]
        #expect(c.elementNumbers == [0x0100, 0x0110])
        #expect(c.messageID == 2)
    }

    @Test("decoding: duplicates (later wins), unordered and unknown elements, other groups, group length of any size")
    func decodeOddInput() throws {
        let bytes =
            Self.element(0x0000, [0x02, 0x00])  // group length with the wrong VR size
            + Self.element(0x0110, [0x01, 0x00])
            + Self.element(0x0002, ascii("1.2.840.10008.1.1") + [0x00])  // out of order
            + Self.element(0x0110, [0x07, 0x00])  // duplicate of an earlier element
            + Self.element(0x0052, ascii("STUDY "), group: 0x0008)  // other group, skipped
            + Self.element(0x5555, [0x01, 0x02, 0x03])  // unknown, odd length, kept raw
            + Self.element(0x0100, [0x30, 0x00])
            + Self.element(0x0000, [0x10, 0x00, 0x00, 0x00])  // a second group length, ignored
            + Self.element(0x5555, [0x09])  // duplicate of the last appended, later wins
            + Self.element(0x0800, [0x01, 0x01])
        let c = try CommandSet(decoding: bytes[...])
        guard case .success(let model) = Self.referenceDecode(bytes) else {
            Issue.record("reference failed")
            return
        }
        #expect(c.elements == model)
        #expect(c.messageID == 7)
        #expect(c.rawValue(0x5555).map(Array.init) == [0x09])
        #expect(c.elementNumbers == [0x0002, 0x0100, 0x0110, 0x0800, 0x5555])
        #expect(c.encoded() == Self.reference(model))
        #expect(c == CommandSet.cEchoRQ(messageID: 7).with(0x5555, [0x09]))
    }

    @Test("decoding errors give the offset of the element that runs short")
    func decodeErrors() throws {
        let echo = CommandSet.cEchoRQ(messageID: 1).encoded()
        // The last element (0000,0800) starts 18 bytes before the end.
        #expect(throws: CommandSetDecodingError.truncated(offset: echo.count - 10)) {
            try CommandSet(decoding: echo.dropLast())
        }
        #expect(throws: CommandSetDecodingError.truncated(offset: echo.count - 10)) {
            try CommandSet(decoding: echo.dropLast(4))
        }
        #expect(throws: CommandSetDecodingError.truncated(offset: 0)) { try CommandSet(decoding: hex("00 00 02")[...]) }
        #expect(throws: CommandSetDecodingError.undefinedLength(element: 0x0052)) {
            try CommandSet(decoding: (Self.element(0x0110, [1, 0]) + hex("08 00 52 00 FF FF FF FF"))[...])
        }
        #expect(try CommandSet(decoding: [][...]) == CommandSet())
    }

    @Test("every message constructor round-trips byte for byte")
    func constructorsRoundTrip() throws {
        let messages: [CommandSet] = [
            .cEchoRQ(messageID: 1),
            .cEchoRSP(respondingTo: 7),
            .cEchoRSP(respondingTo: 7, status: DIMSEStatus(rawValue: 0x0211)),
            .cFindRQ(messageID: 2, affectedSOPClassUID: UIDs.studyRootFind, priority: .high),
            .cFindRSP(respondingTo: 2, affectedSOPClassUID: UIDs.studyRootFind, status: .pending, hasIdentifier: true),
            .cFindRSP(respondingTo: 2, affectedSOPClassUID: UIDs.studyRootFind, status: .success, hasIdentifier: false),
            .cGetRQ(messageID: 3, affectedSOPClassUID: UIDs.studyRootGet, priority: .low),
            .cGetRSP(
                respondingTo: 3, affectedSOPClassUID: UIDs.studyRootGet, status: .pending,
                subOperations: .init(remaining: 5, completed: 1, failed: 0, warning: 0)),
            .cGetRSP(
                respondingTo: 3, affectedSOPClassUID: UIDs.studyRootGet, status: .warning,
                subOperations: .init(completed: 4, failed: 2, warning: 0), hasIdentifier: true),
            .cMoveRQ(messageID: 4, affectedSOPClassUID: UIDs.studyRootMove, moveDestination: "ODD"),
            .cMoveRSP(
                respondingTo: 4, affectedSOPClassUID: UIDs.studyRootMove, status: .pending,
                subOperations: .init(remaining: 1, completed: 0, failed: 0, warning: 0)),
            .cStoreRQ(messageID: 5, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3.4.56"),
            .cStoreRQ(
                messageID: 6, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3.4.5",
                priority: .high, moveOriginatorAETitle: "MOVESCU", moveOriginatorMessageID: 4),
            .cStoreRSP(
                respondingTo: 5, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3.4.5",
                status: .success),
            .cCancelRQ(respondingTo: 2),
        ]
        for m in messages {
            let bytes = m.encoded()
            #expect(bytes == Self.reference(m.elements))
            let decoded = try CommandSet(decoding: bytes[...])
            #expect(decoded == m)
            #expect(decoded.encoded() == bytes)
            #expect(decoded.commandField == m.commandField)
            #expect(decoded.subOperations == m.subOperations)
            #expect(decoded.moveOriginatorAETitle == m.moveOriginatorAETitle)
            #expect(decoded.affectedSOPInstanceUID == m.affectedSOPInstanceUID)
        }
        #expect(messages[9].rawValue(CommandSet.Tag.moveDestination).map(Array.init) == ascii("ODD "))
        #expect(messages[11].rawValue(CommandSet.Tag.affectedSOPInstanceUID).map(Array.init) == ascii("1.2.3.4.56"))
        #expect(
            messages[12].rawValue(CommandSet.Tag.affectedSOPInstanceUID).map(Array.init) == ascii("1.2.3.4.5") + [0])
    }

    @Test("message constructors give the command sets that setting each element gives")
    func constructorsMatchSetters() {
        func build(_ set: (inout CommandSet) -> Void) -> CommandSet {
            var c = CommandSet()
            set(&c)
            return c
        }
        let counts = SubOperationCounts(remaining: 5, completed: 1, failed: nil, warning: 0)
        let pairs: [(CommandSet, CommandSet)] = [
            (
                .cEchoRQ(messageID: 1),
                build {
                    $0.affectedSOPClassUID = UIDs.verification
                    $0.commandField = .cEchoRQ
                    $0.messageID = 1
                    $0.hasDataSet = false
                }
            ),
            (
                .cEchoRSP(respondingTo: 7, status: .init(rawValue: 0x0122)),
                build {
                    $0.affectedSOPClassUID = UIDs.verification
                    $0.commandField = .cEchoRSP
                    $0.messageIDBeingRespondedTo = 7
                    $0.hasDataSet = false
                    $0.status = .init(rawValue: 0x0122)
                }
            ),
            (
                .cFindRQ(messageID: 2, affectedSOPClassUID: UIDs.studyRootFind, priority: .low),
                build {
                    $0.affectedSOPClassUID = UIDs.studyRootFind
                    $0.commandField = .cFindRQ
                    $0.messageID = 2
                    $0.priority = .low
                    $0.hasDataSet = true
                }
            ),
            (
                .cFindRSP(
                    respondingTo: 2, affectedSOPClassUID: UIDs.studyRootFind, status: .pending,
                    hasIdentifier: true),
                build {
                    $0.affectedSOPClassUID = UIDs.studyRootFind
                    $0.commandField = .cFindRSP
                    $0.messageIDBeingRespondedTo = 2
                    $0.hasDataSet = true
                    $0.status = .pending
                }
            ),
            (
                .cGetRQ(messageID: 3, affectedSOPClassUID: UIDs.studyRootGet),
                build {
                    $0.affectedSOPClassUID = UIDs.studyRootGet
                    $0.commandField = .cGetRQ
                    $0.messageID = 3
                    $0.priority = .medium
                    $0.hasDataSet = true
                }
            ),
            (
                .cGetRSP(
                    respondingTo: 3, affectedSOPClassUID: UIDs.studyRootGet, status: .pending,
                    subOperations: counts),
                build {
                    $0.affectedSOPClassUID = UIDs.studyRootGet
                    $0.commandField = .cGetRSP
                    $0.messageIDBeingRespondedTo = 3
                    $0.hasDataSet = false
                    $0.status = .pending
                    $0.subOperations = counts
                }
            ),
            (
                .cMoveRQ(
                    messageID: 4, affectedSOPClassUID: UIDs.studyRootMove, moveDestination: "DEST1",
                    priority: .high),
                build {
                    $0.affectedSOPClassUID = UIDs.studyRootMove
                    $0.commandField = .cMoveRQ
                    $0.messageID = 4
                    $0.moveDestination = "DEST1"
                    $0.priority = .high
                    $0.hasDataSet = true
                }
            ),
            (
                .cMoveRSP(
                    respondingTo: 4, affectedSOPClassUID: UIDs.studyRootMove, status: .success,
                    subOperations: .init(completed: 3, failed: 0, warning: 0), hasIdentifier: true),
                build {
                    $0.affectedSOPClassUID = UIDs.studyRootMove
                    $0.commandField = .cMoveRSP
                    $0.messageIDBeingRespondedTo = 4
                    $0.hasDataSet = true
                    $0.status = .success
                    $0.subOperations = .init(completed: 3, failed: 0, warning: 0)
                }
            ),
            (
                .cStoreRQ(
                    messageID: 5, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3",
                    moveOriginatorAETitle: "MOVESCU", moveOriginatorMessageID: 4),
                build {
                    $0.affectedSOPClassUID = UIDs.ctImage
                    $0.commandField = .cStoreRQ
                    $0.messageID = 5
                    $0.priority = .medium
                    $0.hasDataSet = true
                    $0.affectedSOPInstanceUID = "1.2.3"
                    $0.moveOriginatorAETitle = "MOVESCU"
                    $0.moveOriginatorMessageID = 4
                }
            ),
            (
                .cStoreRSP(
                    respondingTo: 5, affectedSOPClassUID: UIDs.ctImage, affectedSOPInstanceUID: "1.2.3",
                    status: .init(rawValue: 0xB000)),
                build {
                    $0.affectedSOPClassUID = UIDs.ctImage
                    $0.commandField = .cStoreRSP
                    $0.messageIDBeingRespondedTo = 5
                    $0.hasDataSet = false
                    $0.status = .init(rawValue: 0xB000)
                    $0.affectedSOPInstanceUID = "1.2.3"
                }
            ),
            (
                .cCancelRQ(respondingTo: 2),
                build {
                    $0.commandField = .cCancelRQ
                    $0.messageIDBeingRespondedTo = 2
                    $0.hasDataSet = false
                }
            ),
        ]
        for (constructed, set) in pairs {
            #expect(constructed == set)
            #expect(constructed.encoded() == set.encoded())
            #expect(constructed.encoded() == Self.reference(set.elements))
        }
    }

    @Test("seeded random sets and removals match the dictionary model (2,000 steps)")
    func randomEdits() throws {
        var rng = SplitMix64(seed: 0xC0DE_5E7)
        let elements: [UInt16] = [
            0x0002, 0x0100, 0x0110, 0x0120, 0x0600, 0x0700, 0x0800, 0x0900, 0x1000, 0x1031,
            0x4000, 0xFFFF,
        ]
        var c = CommandSet()
        var model: [UInt16: [UInt8]] = [:]
        for step in 0..<2_000 {
            let element = elements[Int.random(in: 0..<elements.count, using: &rng)]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                c.removeValue(element)
                model[element] = nil
            case 1:
                let v = UInt16.random(in: 0...0xFFFF, using: &rng)
                c.setUS(element, v)
                model[element] = Self.le16(v)
            default:
                let value = (0..<Int.random(in: 0...70, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng)
                }
                c.setRawValue(element, value)
                model[element] = value
            }
            #expect(c.elements == model, "step \(step)")
            #expect(c.encoded() == Self.reference(model), "step \(step)")
            if step % 50 == 0 { #expect(try CommandSet(decoding: c.encoded()[...]) == c) }
        }
    }

    @Test("seeded random command bytes decode as the dictionary model does (20,000 inputs)")
    func randomDecoding() throws {
        var rng = SplitMix64(seed: 0xDEC0_DE)
        let valid = CommandSet.cStoreRQ(
            messageID: 5, affectedSOPClassUID: UIDs.ctImage,
            affectedSOPInstanceUID: "1.2.3.4.5", moveOriginatorAETitle: "MOVESCU",
            moveOriginatorMessageID: 4
        ).encoded()
        for i in 0..<20_000 {
            var bytes = valid
            if i % 2 == 0 {
                // Tags and lengths: small element numbers collide and reorder, groups flip.
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[at] =
                        UInt8.random(in: 0...3, using: &rng) == 0 ? 0xFF : UInt8.random(in: 0...0x12, using: &rng)
                }
            } else {
                bytes = (0..<Int.random(in: 0..<6, using: &rng)).flatMap { _ -> [UInt8] in
                    let value = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }
                    return Self.element(
                        UInt16.random(in: 0...4, using: &rng), value,
                        group: UInt16.random(in: 0...5, using: &rng) == 0 ? 8 : 0)
                }
            }
            let expected = Self.referenceDecode(bytes)
            let got = Result { () throws(CommandSetDecodingError) in try CommandSet(decoding: bytes[...]) }
            switch (got, expected) {
            case (.success(let c), .success(let model)):
                #expect(c.elements == model, "input \(i)")
                #expect(c.encoded() == Self.reference(model), "input \(i)")
            case (.failure(let e), .failure(let f)):
                #expect(e == f, "input \(i)")
            default:
                Issue.record("input \(i): \(got) vs \(expected)")
            }
        }
    }
}

extension CommandSet {
    fileprivate func with(_ element: UInt16, _ value: [UInt8]) -> CommandSet {
        var c = self
        c.setRawValue(element, value)
        return c
    }
}
