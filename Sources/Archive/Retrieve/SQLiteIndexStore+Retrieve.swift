// SPDX-License-Identifier: Apache-2.0
import GRDB

extension SQLiteIndexStore: RetrieveIndex {
    /// Lists of UIDs are matched in chunks of this many bound parameters.
    private static let retrieveChunkSize = 500

    public func instances(for request: RetrieveRequest) throws -> [IndexedInstance] {
        // The list (if any) is at the retrieve level; the levels above hold one value each.
        var fixed: [(column: String, value: String)] = []
        if request.model == .patientRoot, let patientID = request.patientID {
            fixed.append(("p.patient_id", patientID))
        }
        var listColumn: String?
        var list: [String] = []
        for (column, values, level) in [
            ("s.study_uid", request.studyInstanceUIDs, QueryLevel.study),
            ("se.series_uid", request.seriesInstanceUIDs, .series),
            ("i.sop_uid", request.sopInstanceUIDs, .image),
        ] where !values.isEmpty {
            if level == request.level {
                listColumn = column
                list = Array(Set(values)).sorted()
            } else {
                fixed.append((column, values[0]))
            }
        }
        let base = """
            SELECT i.sop_uid, i.sop_class, i.transfer_syntax, s.study_uid, se.series_uid, i.path, i.size, i.mtime,
                   s.id, se.id, COALESCE(i.instance_number, 0), i.id
            FROM instance i JOIN series se ON se.id = i.series_ref JOIN study s ON s.id = i.study_ref
            JOIN patient p ON p.id = s.patient_ref
            """
        let chunks: [[String]] =
            listColumn == nil
            ? [[]]
            : stride(from: 0, to: list.count, by: Self.retrieveChunkSize).map {
                Array(list[$0..<min($0 + Self.retrieveChunkSize, list.count)])
            }
        return try pool.read { db in
            var rows: [(study: Int64, series: Int64, number: Int64, id: Int64, instance: IndexedInstance)] = []
            for chunk in chunks {
                var conditions = fixed.map { "\($0.column) = ?" }
                var arguments: [String] = fixed.map(\.value)
                if let listColumn {
                    conditions.append(
                        "\(listColumn) IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ",")))")
                    arguments += chunk
                }
                var sql = base
                if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
                // A UID list makes the SQL differ by its length: such statements are not cached,
                // or every list length would keep one. A cursor reads each row in place.
                let statement = listColumn == nil ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
                let rowCursor = try Row.fetchCursor(statement, arguments: StatementArguments(arguments))
                while let row = try rowCursor.next() {
                    let instance = IndexedInstance(
                        sopInstanceUID: row[0], sopClassUID: row[1], transferSyntaxUID: row[2],
                        studyInstanceUID: row[3], seriesInstanceUID: row[4], path: row[5], size: row[6],
                        modificationTime: row[7])
                    rows.append((row[8], row[9], row[10], row[11], instance))
                }
            }
            rows.sort { ($0.study, $0.series, $0.number, $0.id) < ($1.study, $1.series, $1.number, $1.id) }
            return rows.map(\.instance)
        }
    }
}
