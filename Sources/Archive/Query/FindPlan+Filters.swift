// SPDX-License-Identifier: Apache-2.0
import DICOM
import Foundation
import GRDB

// Swift-side matching: keys that are not columns are matched on the decoded attribute blobs of
// the rows the SQL conditions select.
extension FindPlan {
    /// The attribute blob of the level at `depth` in `row`, decoded once per row into `cache`.
    @inline(__always)
    func blob(_ row: Row, _ depth: Int, _ cache: inout [DataSet?]) -> DataSet {
        if let cached = cache[depth] { return cached }
        guard let column = blobColumn[depth] else { return DataSet() }
        let data: Data? = row[column]
        let attributes = decodeAttrs(data.map { [UInt8]($0) })
        cache[depth] = attributes
        return attributes
    }

    /// Whether `row` passes every Swift-side filter.
    func passes(_ row: Row, _ cache: inout [DataSet?]) -> Bool {
        for filter in filters {
            switch filter {
            case .value(let depth, let tag, let vr, let matcher):
                let attributes = blob(row, depth, &cache)
                if !matcher.matches(FindPlan.values(attributes, tag), isPN: vr == .PN, vr: vr) { return false }
            case .sequence(let depth, let tag, let matchers):
                let items = blob(row, depth, &cache).items(tag) ?? []
                if !items.contains(where: { FindPlan.itemMatches($0, matchers) }) { return false }
            }
        }
        return true
    }

    /// The stored values of `tag` as text to match: string values split and trimmed, numbers
    /// printed without a fraction when they have none.
    static func values(_ dataSet: DataSet, _ tag: Tag) -> [String] {
        guard let element = dataSet[tag], case .bytes(let bytes) = element.value else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        if element.vr.allowsMultipleStringValues {
            return text.split(separator: "\\", omittingEmptySubsequences: false)
                .map { TextValues.trimmed(String($0)) }
        }
        if !element.vr.isString {
            return dataSet.numbers(tag)?.map { number in
                number == number.rounded() ? String(Int64(number)) : String(number)
            } ?? []
        }
        return [TextValues.trimmed(text)]
    }

    /// Whether a stored sequence item matches every sub-key.
    static func itemMatches(_ item: DataSet, _ matchers: [SubKeyMatcher]) -> Bool {
        matchers.allSatisfy { $0.matcher.matches(values(item, $0.tag), isPN: $0.vr == .PN, vr: $0.vr) }
    }
}
