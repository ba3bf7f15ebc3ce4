// SPDX-License-Identifier: Apache-2.0
import DICOM
import GRDB

// Response building: one identifier per matching row, in the request's tag order.
extension FindPlan {
    /// A text element, padded to even length with the VR's padding byte.
    @inline(__always)
    static func text(_ tag: Tag, _ vr: VR, _ value: String) -> DataElement {
        var bytes = Array(value.utf8)
        if bytes.count & 1 == 1 { bytes.append(vr.paddingByte) }
        return DataElement(tag: tag, vr: vr, bytes: bytes[...])
    }

    private static let emptyBytes: ArraySlice<UInt8> = []

    /// Builds the response identifier; elements are produced in tag order (the request's
    /// order), with Query/Retrieve Level and Specific Character Set slotted in.
    func response(_ row: Row, _ cache: inout [DataSet?]) -> DataSet {
        var elements: [DataElement] = []
        elements.reserveCapacity(outputs.count + 2)
        var nonASCII = false
        for (slot, output) in outputs.enumerated() {
            if slot == levelSlot { elements.append(levelElement) }
            elements.append(element(output, row, &cache, &nonASCII))
        }
        if levelSlot == outputs.count { elements.append(levelElement) }
        if nonASCII {
            elements.insert(FindPlan.text(.specificCharacterSet, .CS, "ISO_IR 192"), at: charsetSlot)
        }
        return DataSet(elements)
    }

    /// The response element for one output; sets `nonASCII` when its text needs
    /// Specific Character Set ISO_IR 192.
    func element(_ output: Output, _ row: Row, _ cache: inout [DataSet?], _ nonASCII: inout Bool) -> DataElement {
        switch output.source {
        case .column(let column):
            let value = row[column] as DatabaseValue
            switch value.storage {
            case .string(let text):
                if !nonASCII, TextValues.isCharsetText(output.vr), text.utf8.contains(where: { $0 >= 0x80 }) {
                    nonASCII = true
                }
                return FindPlan.text(output.tag, output.vr, text)
            case .int64(let number): return FindPlan.text(output.tag, output.vr, String(number))
            case .double(let number): return FindPlan.text(output.tag, output.vr, String(number))
            default: return DataElement(tag: output.tag, vr: output.vr, bytes: FindPlan.emptyBytes)
            }
        case .list(let column):
            let list: String? = row[column]
            let values = (list ?? "").split(separator: ",").map(String.init).sorted()
            return FindPlan.text(output.tag, output.vr, values.joined(separator: "\\"))
        case .blob(let depth, let tag):
            if let stored = blob(row, depth, &cache)[tag] {
                if !nonASCII, TextValues.hasNonASCII(stored) { nonASCII = true }
                return stored
            }
            return DataElement(tag: output.tag, vr: output.vr, bytes: FindPlan.emptyBytes)
        case .sequence(let depth, let tag, let query, let matchers):
            let sequence = DataElement(tag: tag, items: matchingItems(row, depth, tag, query, matchers, &cache))
            if !nonASCII, TextValues.hasNonASCII(sequence) { nonASCII = true }
            return sequence
        case .constant(let value):
            return FindPlan.text(output.tag, output.vr, value)
        case .empty:
            return output.vr == .SQ
                ? DataElement(tag: output.tag, items: [])
                : DataElement(tag: output.tag, vr: output.vr, bytes: FindPlan.emptyBytes)
        }
    }

    /// The stored items of a sequence key that match, reduced to the requested sub-keys (whole
    /// items for an empty request item).
    private func matchingItems(
        _ row: Row, _ depth: Int, _ tag: Tag, _ query: DataSet, _ matchers: [SubKeyMatcher],
        _ cache: inout [DataSet?]
    ) -> [DataSet] {
        let stored = blob(row, depth, &cache).items(tag) ?? []
        var items: [DataSet] = []
        for item in stored where FindPlan.itemMatches(item, matchers) {
            if query.isEmpty {
                items.append(item)
                continue
            }
            var reduced = DataSet()
            for subKey in query {
                if let element = item[subKey.tag] {
                    reduced.set(element)
                } else {
                    reduced.set(subKey.tag, vr: subKey.vr, bytes: [])
                }
            }
            items.append(reduced)
        }
        return items
    }
}
