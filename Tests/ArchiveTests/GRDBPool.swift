// SPDX-License-Identifier: Apache-2.0
import GRDB

/// Raw GRDB access for the migration test (GRDB is re-exported by nothing, so the
/// test target reaches it through Archive's dependency).
struct GRDBPool {
    let pool: DatabasePool
    init(path: String) throws { pool = try DatabasePool(path: path) }
}
