// SPDX-License-Identifier: Apache-2.0

/// Where two byte sequences first differ, or nil when they are equal (without the test
/// library's element-wise diff, which takes minutes on megabytes).
public func firstDifference<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> String? {
    var index = 0
    for (x, y) in zip(a, b) {
        if x != y { return "byte \(index) differs (\(x) vs \(y)); counts \(a.count) and \(b.count)" }
        index += 1
    }
    return a.count == b.count ? nil : "counts differ: \(a.count) and \(b.count)"
}
