// SPDX-License-Identifier: Apache-2.0
import GRDB

extension SQLiteIndexStore {
    /// Copies every committed transaction from the write-ahead log into the database file and
    /// truncates the log to zero bytes (`PRAGMA wal_checkpoint(TRUNCATE)`). Returns false when
    /// a reader kept it from completing (the rows stay in the log, still safe).
    @discardableResult
    public func checkpoint() throws -> Bool {
        try pool.writeWithoutTransaction { db in
            let busy = try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") ?? 0
            return busy == 0
        }
    }
}
