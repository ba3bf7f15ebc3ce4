// SPDX-License-Identifier: Apache-2.0
import DICOM
import GRDB
import GRDBSQLite

/// Encodes C-FIND response identifiers straight from a ``FindPlan``'s rows into one
/// buffer: byte for byte what `IdentifierEncoding.encode(_:)` gives for the data set the
/// plan builds for the row (same element order, padding, Specific Character Set rule).
///
/// Column values (the indexed keys, by far the most common) are copied from SQLite's
/// text without making a `String`, a `DataElement` or a `DataSet`; every other output
/// (attribute blobs, sequences, lists, constants) goes through the plan's element
/// builder and the data set writer, so it cannot drift from the reference path.
struct IdentifierWriter {
    /// One element of the identifier, in tag order.
    enum Step {
        /// A text column of the row, copied without a `DataElement`.
        case column(Int32, tag: Tag, vr: VR)
        /// `plan.outputs[n]`, built by the plan and written by the data set writer.
        case output(Int)
        /// An element encoded once per page (Query/Retrieve Level, Retrieve AE Title).
        case fixed([UInt8])
        /// Where Specific Character Set goes when a value is not ASCII.
        case charsetMark
    }

    let plan: FindPlan
    let steps: [Step]
    let explicitVR: Bool
    let bigEndian: Bool
    /// Specific Character Set "ISO_IR 192", encoded.
    let charsetElement: [UInt8]
    /// A guess at the bytes per identifier, to size the page buffer.
    let estimatedSize: Int

    init(plan: FindPlan, encoding: IdentifierEncoding) throws {
        self.plan = plan
        explicitVR = encoding.transferSyntax.isExplicitVR
        bigEndian = encoding.transferSyntax.isBigEndian
        let explicitVR = self.explicitVR
        let bigEndian = self.bigEndian
        func encoded(_ e: DataElement) throws -> [UInt8] {
            var out: [UInt8] = []
            try DataSetWriter.write(e, explicitVR: explicitVR, bigEndian: bigEndian, into: &out)
            return out
        }
        var fixed: [(tag: Tag, bytes: [UInt8])] = [(tag: .queryRetrieveLevel, bytes: try encoded(plan.levelElement))]
        if let title = encoding.retrieveAETitle {
            var holder = DataSet()
            holder.set(IdentifierEncoding.retrieveAETitleTag, vr: .AE, string: title)
            fixed.append(
                (
                    tag: IdentifierEncoding.retrieveAETitleTag,
                    bytes: try encoded(holder[IdentifierEncoding.retrieveAETitleTag]!)
                ))
        }
        fixed.sort { $0.tag < $1.tag }
        charsetElement = try encoded(FindPlan.text(.specificCharacterSet, .CS, "ISO_IR 192"))

        // Outputs are sorted by tag and never hold the fixed elements' tags (those are
        // keys of every level, not outputs); merge the two lists by tag.
        var steps: [Step] = []
        var charsetPlaced = false
        var nextOutput = 0
        var nextFixed = 0
        let outputs = plan.outputs
        while nextOutput < outputs.count || nextFixed < fixed.count {
            let takeOutput =
                nextFixed == fixed.count
                || (nextOutput < outputs.count && outputs[nextOutput].tag < fixed[nextFixed].tag)
            let tag = takeOutput ? outputs[nextOutput].tag : fixed[nextFixed].tag
            if !charsetPlaced, tag > .specificCharacterSet {
                steps.append(.charsetMark)
                charsetPlaced = true
            }
            if takeOutput {
                let output = outputs[nextOutput]
                if case .column(let column) = output.source, output.vr.byteSwapUnit == 1 {
                    steps.append(.column(Int32(column), tag: output.tag, vr: output.vr))
                } else {
                    steps.append(.output(nextOutput))
                }
                nextOutput += 1
            } else {
                steps.append(.fixed(fixed[nextFixed].bytes))
                nextFixed += 1
            }
        }
        if !charsetPlaced { steps.append(.charsetMark) }
        self.steps = steps
        estimatedSize = fixed.reduce(0) { $0 + $1.bytes.count } + outputs.count * 40
    }

    /// Appends the identifier of the current row of `statement`.
    func append(_ row: Row, _ statement: Statement, _ blobs: inout [DataSet?], into out: inout [UInt8]) throws {
        var nonASCII = false
        var charsetOffset = out.count
        let sqliteStatement = statement.sqliteStatement
        for step in steps {
            switch step {
            case .charsetMark:
                charsetOffset = out.count
            case .fixed(let bytes):
                out.append(contentsOf: bytes)
            case .column(let column, let tag, let vr):
                try appendColumn(sqliteStatement, column, tag, vr, &nonASCII, into: &out)
            case .output(let n):
                let element = plan.element(plan.outputs[n], row, &blobs, &nonASCII)
                try DataSetWriter.write(element, explicitVR: explicitVR, bigEndian: bigEndian, into: &out)
            }
        }
        if nonASCII { out.insert(contentsOf: charsetElement, at: charsetOffset) }
    }

    /// A column value as `FindPlan.element` makes it: text as GRDB reads it (up to the
    /// first NUL, invalid UTF-8 repaired), integers and reals in decimal, anything else
    /// zero-length.
    private func appendColumn(
        _ statement: OpaquePointer, _ column: Int32, _ tag: Tag, _ vr: VR,
        _ nonASCII: inout Bool, into out: inout [UInt8]
    ) throws {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, column) else { return try write(tag, vr, "", into: &out) }
            let stored = UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column)))
            let value = UnsafeRawBufferPointer(rebasing: stored[..<(stored.firstIndex(of: 0) ?? stored.count)])
            if value.contains(where: { $0 >= 0x80 }) {
                // Rare: take GRDB's path (String(cString:) repairs invalid UTF-8).
                if TextValues.isCharsetText(vr) { nonASCII = true }
                try write(tag, vr, String(cString: text), into: &out)
            } else {
                try DataSetWriter.writePrimitive(
                    tag: tag, vr: vr, value: value, explicitVR: explicitVR,
                    bigEndian: bigEndian, into: &out)
            }
        case SQLITE_INTEGER:
            try write(tag, vr, String(sqlite3_column_int64(statement, column)), into: &out)
        case SQLITE_FLOAT:
            try write(tag, vr, String(sqlite3_column_double(statement, column)), into: &out)
        default:
            try write(tag, vr, "", into: &out)
        }
    }

    private func write(_ tag: Tag, _ vr: VR, _ text: String, into out: inout [UInt8]) throws {
        var text = text
        try text.withUTF8 { utf8 in
            try DataSetWriter.writePrimitive(
                tag: tag, vr: vr, value: UnsafeRawBufferPointer(utf8),
                explicitVR: explicitVR, bigEndian: bigEndian, into: &out)
        }
    }
}
