// SPDX-License-Identifier: Apache-2.0
import DICOM
import GRDB

// Paging: runs the page query in chunks, applies the Swift-side filters and bounds the rows examined.
extension FindPlan {
    /// Rows examined by Swift-side filters before a page is returned short.
    static let maxExaminedRowsPerPage = 20_000

    /// One page of matches as data sets.
    func run(
        _ db: Database, after: Int64, limit: Int,
        maxExaminedRows: Int = maxExaminedRowsPerPage
    ) throws -> FindPage {
        var matches: [DataSet] = []
        matches.reserveCapacity(min(limit > 0 ? limit : 1024, 1024))
        let next = try forEachMatch(db, after: after, limit: limit, maxExaminedRows: maxExaminedRows) { row, _, blobs in
            matches.append(response(row, &blobs))
        }
        return FindPage(matches: matches, next: next, hasUnsupportedOptionalKeys: unsupported)
    }

    /// One page of matches encoded for the wire by `encoder`.
    func runEncoded(
        _ db: Database, encoder: IdentifierWriter, after: Int64, limit: Int,
        maxExaminedRows: Int = maxExaminedRowsPerPage
    ) throws -> EncodedFindPage {
        let expected = min(limit > 0 ? limit : 1024, 1024)
        var bytes: [UInt8] = []
        var ends: [Int] = []
        bytes.reserveCapacity(expected * encoder.estimatedSize)
        ends.reserveCapacity(expected)
        let next = try forEachMatch(db, after: after, limit: limit, maxExaminedRows: maxExaminedRows) {
            row, statement, blobs in
            do {
                try encoder.append(row, statement, &blobs, into: &bytes)
            } catch {
                throw IdentifierEncodingError(description: "\(error)")
            }
            ends.append(bytes.count)
        }
        return EncodedFindPage(bytes: bytes, ends: ends, next: next, hasUnsupportedOptionalKeys: unsupported)
    }

    /// Runs the query from `after`, calling `body` for each match (at most `limit`), and
    /// returns where the next page resumes (nil when done). The row stays valid only
    /// during the call; `blobs` caches the decoded attribute blobs of the row.
    private func forEachMatch(
        _ db: Database, after: Int64, limit: Int, maxExaminedRows: Int,
        _ body: (Row, Statement, inout [DataSet?]) throws -> Void
    ) throws -> ResumeToken? {
        let pageSize = limit > 0 ? limit : Int.max / 4
        let statement = try db.cachedStatement(sql: sql)
        var count = 0
        var position = after
        var lastReturned = after
        var examined = 0
        let chunk = filters.isEmpty ? pageSize + 1 : min(max(pageSize + 1, 256), max(1, maxExaminedRows))
        while true {
            var args: [DatabaseValueConvertible?] = [position]
            args.append(contentsOf: arguments)
            args.append(chunk)
            let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(args))
            var fetched = 0
            while let row = try cursor.next() {
                fetched += 1
                let id: Int64 = row[0]
                position = id
                var blobs: [DataSet?] = [nil, nil, nil, nil]
                if !filters.isEmpty, !passes(row, &blobs) { continue }
                if count == pageSize { return ResumeToken(lastReturned) }
                try body(row, statement, &blobs)
                count += 1
                lastReturned = id
            }
            if fetched < chunk { break }
            examined += fetched
            if examined >= maxExaminedRows { return ResumeToken(position) }
        }
        return nil
    }
}
