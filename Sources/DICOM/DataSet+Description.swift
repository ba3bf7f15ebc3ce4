// SPDX-License-Identifier: Apache-2.0
// Human-readable dump of data sets, for logs and debugging.

extension DataSet: CustomStringConvertible {
    /// One line per element, `(gggg,eeee) VR Keyword value`, items indented.
    public var description: String {
        var out = ""
        dump(into: &out, indent: "")
        return out
    }

    private func dump(into out: inout String, indent: String) {
        for e in elements {
            let kw = DataDictionary.entry(for: e.tag)?.keyword ?? "?"
            out += "\(indent)\(e.tag) \(e.vr.rawValue) \(kw) "
            switch e.value {
            case .sequence(let items):
                out += "<\(items.count) items>\n"
                for (i, item) in items.enumerated() {
                    out += "\(indent)  item \(i + 1)\n"
                    item.dump(into: &out, indent: indent + "    ")
                }
            case .fragments(let f):
                out += "<\(f.count) fragments, \(f.reduce(0) { $0 + $1.count }) bytes>\n"
            case .bytes(let b):
                if e.vr.isString {
                    let s = DataSet.decodeDefault(b.prefix(80))
                    out += "[\(DataSet.trim(s, vr: e.vr))]\(b.count > 80 ? "..." : "")\n"
                } else if let n = DataSet(sortedElements: [e]).numbers(e.tag), b.count <= 64 {
                    out +=
                        n.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : String($0) }
                        .joined(separator: "\\") + "\n"
                } else if e.vr == .AT, b.count >= 4, let t = DataSet(sortedElements: [e]).attributeTag(e.tag) {
                    out += "\(t)\n"
                } else {
                    out += "<\(b.count) bytes>\n"
                }
            }
        }
    }
}
