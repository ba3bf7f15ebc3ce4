// SPDX-License-Identifier: Apache-2.0
/// A data set (PS3.5 §7): data elements ordered by tag.
///
/// Elements are stored in a tag-sorted array; lookup is a binary search.
/// Equality compares raw values and byte order (not normalized values).
public struct DataSet: Sendable, Equatable {
    /// The elements in ascending tag order.
    public private(set) var elements: [DataElement]

    /// Creates an empty data set.
    public init() { elements = [] }

    /// Creates a data set from elements in any order (sorted here; for
    /// duplicate tags the last one wins).
    public init(_ elements: [DataElement]) {
        self.elements = []
        self.elements.reserveCapacity(elements.count)
        var sorted = true
        for i in elements.indices.dropFirst() where elements[i - 1].tag >= elements[i].tag {
            sorted = false
            break
        }
        if sorted {
            self.elements = elements
        } else {
            for e in elements { self[e.tag] = e }
        }
    }

    /// Internal: adopt elements known to be sorted ascending by tag.
    init(sortedElements: [DataElement]) { elements = sortedElements }

    /// Number of elements.
    public var count: Int { elements.count }
    /// Whether the data set has no elements.
    public var isEmpty: Bool { elements.isEmpty }
    /// The tags in ascending order.
    public var tags: [Tag] { elements.map(\.tag) }

    /// Index of `tag`, or the insertion point as a negative `-(i+1)`.
    @usableFromInline func search(_ tag: Tag) -> Int {
        let v = tag.value
        var lo = 0
        var hi = elements.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let m = elements[mid].tag.value
            if m == v { return mid }
            if m < v { lo = mid + 1 } else { hi = mid }
        }
        return -(lo + 1)
    }

    /// Whether an element with `tag` is present.
    public func contains(_ tag: Tag) -> Bool { search(tag) >= 0 }

    /// The element with `tag`; setting nil removes it, setting an element
    /// inserts or replaces it (its tag is forced to `tag`).
    public subscript(tag: Tag) -> DataElement? {
        get {
            let i = search(tag)
            return i >= 0 ? elements[i] : nil
        }
        set {
            let i = search(tag)
            if var e = newValue {
                e.tag = tag
                if i >= 0 { elements[i] = e } else { elements.insert(e, at: -(i + 1)) }
            } else if i >= 0 {
                elements.remove(at: i)
            }
        }
    }

    /// Inserts or replaces an element.
    public mutating func set(_ element: DataElement) { self[element.tag] = element }

    /// Removes the element with `tag`, returning it.
    @discardableResult
    public mutating func remove(_ tag: Tag) -> DataElement? {
        let i = search(tag)
        return i >= 0 ? elements.remove(at: i) : nil
    }

    /// Internal fast path for readers: append if it keeps order, else insert.
    mutating func appendOrInsert(_ e: DataElement) {
        if let last = elements.last, last.tag >= e.tag {
            self[e.tag] = e
        } else {
            elements.append(e)
        }
    }

    mutating func reserveCapacity(_ n: Int) { elements.reserveCapacity(n) }

    /// All elements re-encoded in the given byte order (PS3.5 §7.3).
    public func converted(bigEndian: Bool) -> DataSet {
        DataSet(sortedElements: elements.map { $0.converted(bigEndian: bigEndian) })
    }

    /// The elements whose group is `group`.
    public func elements(inGroup group: UInt16) -> ArraySlice<DataElement> {
        var lo = search(Tag(group, 0))
        if lo < 0 { lo = -(lo + 1) }
        var hi = lo
        while hi < elements.count, elements[hi].tag.group == group { hi += 1 }
        return elements[lo..<hi]
    }
}

extension DataSet: Sequence {
    /// Iterates elements in tag order.
    public func makeIterator() -> IndexingIterator<[DataElement]> { elements.makeIterator() }
}
