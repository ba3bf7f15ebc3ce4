// SPDX-License-Identifier: Apache-2.0
/// Prometheus text exposition format 0.0.4, written straight into a byte array: `# HELP` and
/// `# TYPE` lines, counters with `_total`, gauges, and histograms with cumulative `_bucket`
/// lines up to `le="+Inf"`, then `_sum` and `_count`. Label values and help text are escaped as
/// the format requires (backslash, double quote in label values, line feed).
///
/// Metric and label names are chosen by the program, not by peers: one that is not a valid name
/// (`[a-zA-Z_:][a-zA-Z0-9_:]*`, labels without ":") is a programming error. Label values may come
/// from anywhere; keep their number bounded.
public struct PrometheusTextWriter: Sendable {
    /// The Content-Type of the output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The text written so far.
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    /// A label: name and value.
    public typealias Label = (name: String, value: String)

    /// A counter family `name_total` (name given without the suffix) with one sample per label set.
    public mutating func counter(_ name: String, help: String, samples: [(labels: [Label], value: UInt64)]) {
        let family = name + "_total"
        header(family, help: help, type: "counter")
        for s in samples { sample(family, s.labels, value: { $0.integer(s.value) }) }
    }

    /// A gauge family with one sample per label set.
    public mutating func gauge(_ name: String, help: String, samples: [(labels: [Label], value: Double)]) {
        header(name, help: help, type: "gauge")
        for s in samples { sample(name, s.labels, value: { $0.number(s.value) }) }
    }

    /// A histogram family with one series per label set.
    public mutating func histogram(
        _ name: String, help: String,
        series: [(labels: [Label], histogram: PrometheusHistogram)]
    ) {
        header(name, help: help, type: "histogram")
        for s in series {
            var cumulative: UInt64 = 0
            for (bound, count) in zip(s.histogram.upperBounds, s.histogram.bucketCounts) {
                cumulative += count
                sample(name + "_bucket", s.labels, extra: ("le", Self.format(bound)), value: { $0.integer(cumulative) })
            }
            sample(name + "_bucket", s.labels, extra: ("le", "+Inf"), value: { $0.integer(s.histogram.count) })
            sample(name + "_sum", s.labels, value: { $0.number(s.histogram.sum) })
            sample(name + "_count", s.labels, value: { $0.integer(s.histogram.count) })
        }
    }

    private mutating func header(_ name: String, help: String, type: StaticString) {
        precondition(Self.isValidName(name, allowColon: true), "invalid metric name")
        append("# HELP ")
        append(name)
        append(" ")
        for b in help.utf8 {
            switch b {
            case 0x5C: append("\\\\")
            case 0x0A: append("\\n")
            default: bytes.append(b)
            }
        }
        append("\n# TYPE ")
        append(name)
        append(" ")
        type.withUTF8Buffer { bytes.append(contentsOf: $0) }
        append("\n")
    }

    private mutating func sample(
        _ name: String, _ labels: [Label], extra: Label? = nil,
        value: (inout PrometheusTextWriter) -> Void
    ) {
        append(name)
        if !labels.isEmpty || extra != nil {
            append("{")
            var first = true
            for label in labels + (extra.map { [$0] } ?? []) {
                precondition(Self.isValidName(label.name, allowColon: false), "invalid label name")
                if !first { append(",") }
                first = false
                append(label.name)
                append("=\"")
                for b in label.value.utf8 {
                    switch b {
                    case 0x5C: append("\\\\")
                    case 0x22: append("\\\"")
                    case 0x0A: append("\\n")
                    default: bytes.append(b)
                    }
                }
                append("\"")
            }
            append("}")
        }
        append(" ")
        value(&self)
        append("\n")
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    private mutating func integer(_ v: UInt64) { append(String(v)) }

    private mutating func number(_ v: Double) { append(Self.format(v)) }

    /// A float as the format spells it: "+Inf", "-Inf", "NaN", integers without ".0".
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }

    static func isValidName(_ name: String, allowColon: Bool) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ b: UInt8) -> Bool {
            (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A || b == 0x5F || (allowColon && b == 0x3A)
        }
        return letter(first) && name.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}

/// Observations counted into fixed buckets (each count is of its own bucket, not cumulative;
/// the writer accumulates), with their sum and total count.
public struct PrometheusHistogram: Sendable, Hashable {
    /// Upper bounds, ascending; `+Inf` is implicit.
    public let upperBounds: [Double]
    /// Observations per bucket: `bucketCounts[i]` counts values in (upperBounds[i-1], upperBounds[i]].
    public private(set) var bucketCounts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init(upperBounds: [Double]) {
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.upperBounds = upperBounds
        bucketCounts = Array(repeating: 0, count: upperBounds.count)
    }

    /// Counts one observation (values above the last bound count only towards `+Inf`).
    public mutating func observe(_ value: Double) {
        if let i = upperBounds.firstIndex(where: { value <= $0 }) { bucketCounts[i] += 1 }
        sum += value
        count += 1
    }

    /// Adds `other`'s observations (the same metric kept apart by two owners, e.g. two
    /// listeners); both must have the same bounds.
    public mutating func add(_ other: PrometheusHistogram) {
        precondition(other.upperBounds == upperBounds, "histograms with different bounds")
        for i in bucketCounts.indices { bucketCounts[i] += other.bucketCounts[i] }
        sum += other.sum
        count += other.count
    }
}
