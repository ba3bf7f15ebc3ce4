// SPDX-License-Identifier: Apache-2.0
import GRDB

// SQL generation: one condition per matched column, and the page query.
extension FindPlan {
    /// SQL condition for a matcher on a column; nil for universal matching.
    static func condition(_ matcher: ValueMatcher, column: String, kind: ColumnKey.Kind)
        -> (String, [DatabaseValueConvertible?])?
    {
        func bind(_ value: String) -> DatabaseValueConvertible? {
            if kind == .integer { return Int64(TextValues.trimmed(value)) }
            return value
        }
        switch matcher {
        case .universal:
            return nil
        case .never:
            return ("0", [])
        case .emptyValue:
            return kind == .integer ? ("\(column) IS NULL", []) : ("(\(column) IS NULL OR \(column) = '')", [])
        case .single(let value):
            if kind == .integer, Int64(TextValues.trimmed(value)) == nil { return ("0", []) }
            return ("\(column) = ?", [bind(value)])
        case .list(let list):
            let values = list.map(bind).filter { $0 != nil }
            if values.isEmpty { return ("0", []) }
            return ("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ",")))", values)
        case .range(let lower, let upper):
            var parts: [String] = []
            var args: [DatabaseValueConvertible?] = []
            if let lower {
                parts.append("\(column) >= ?")
                args.append(lower)
            }
            if let upper {
                parts.append("\(column) <= ?")
                args.append(upper)
            }
            return (parts.joined(separator: " AND "), args)
        case .wildcard(let pattern):
            return wildcardCondition(pattern, column: column)
        }
    }

    /// A wild card pattern as `GLOB` (with `[` escaped), narrowed by the index range of its
    /// literal prefix when it has one.
    private static func wildcardCondition(_ pattern: String, column: String)
        -> (String, [DatabaseValueConvertible?])
    {
        var glob = ""
        var prefix = ""
        var inPrefix = true
        for character in pattern {
            switch character {
            case "*", "?":
                inPrefix = false
                glob.append(character)
            case "[":
                glob += "[[]"
                if inPrefix { prefix.append(character) }
            default:
                glob.append(character)
                if inPrefix { prefix.append(character) }
            }
        }
        let sql = "\(column) GLOB ?"
        let args: [DatabaseValueConvertible?] = [glob]
        guard !prefix.isEmpty, let upper = successor(of: prefix) else { return (sql, args) }
        // A pattern that is a literal prefix followed only by `*` is exactly the index
        // range [prefix, successor): no GLOB then. That matters beyond the scan: SQLite
        // re-prepares a statement whose GLOB pattern is a bound parameter every time it
        // is bound (to plan the range itself), which costs more than the query.
        if pattern.drop(while: { $0 != "*" && $0 != "?" }).allSatisfy({ $0 == "*" }) {
            return ("\(column) >= ? AND \(column) < ?", [prefix, upper])
        }
        return ("\(column) >= ? AND \(column) < ? AND " + sql, [prefix, upper, glob])
    }

    /// The smallest string greater than every string starting with `prefix` (binary
    /// UTF-8 order = code point order), or nil.
    static func successor(of prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var value = last.value + 1
            if value == 0xD800 { value = 0xE000 }
            if let scalar = Unicode.Scalar(value) {
                scalars.append(scalar)
                var out = String.UnicodeScalarView()
                out.append(contentsOf: scalars)
                return String(out)
            }
        }
        return nil
    }

    /// The page query: rows after the resume id (first argument), the conditions' arguments,
    /// and the row limit (last argument).
    var sql: String {
        let depth = AttributeLevels.depth(level)
        let id = FindPlan.idColumn[depth]
        let clauses = ["\(id) > ?"] + conditions
        return "SELECT \(([id] + selects).joined(separator: ", ")) FROM \(FindPlan.from[depth]) WHERE "
            + clauses.joined(separator: " AND ") + " ORDER BY \(id) LIMIT ?"
    }
}
