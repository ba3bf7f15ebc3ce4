// SPDX-License-Identifier: Apache-2.0
/// A ``MultipartParser`` fed with chunks the caller cannot keep (the body slices of an HTTP
/// request, valid only until the receive buffer drops them). What the parser leaves
/// unconsumed at the end of a chunk — a possible start of a delimiter, a header section not yet
/// complete — is copied into a small carry buffer and parsed with the next chunk; everything
/// else is parsed in place, so body bytes are copied only around a chunk's edge.
public struct MultipartStream: Sendable {
    public private(set) var parser: MultipartParser
    /// Input left over from earlier chunks (bounded by a delimiter and a header section).
    var carry: [UInt8] = []

    public init(parser: MultipartParser) { self.parser = parser }

    /// Bytes held between chunks (for bounds checks).
    public var carriedByteCount: Int { carry.count }

    /// Whether the close delimiter has been read (or an error ended the parse).
    public var isFinished: Bool { parser.isFinished }

    /// Parses `chunk`, calling `emit` with each event; body slices are valid only during `emit`.
    /// An ``MultipartEvent/error(_:)`` is the last event.
    public mutating func feed(_ chunk: ArraySlice<UInt8>, emit: (MultipartEvent) throws -> Void) rethrows {
        if carry.isEmpty {
            let used = try run(chunk, emit: emit)
            if !parser.isFinished { carry = Array(chunk[(chunk.startIndex + used)...]) }
            return
        }
        // Only as much of the chunk as can complete what the carry holds (a delimiter, a header
        // section) is appended; the rest of the chunk is parsed in place.
        let take = min(chunk.count, parser.delimiter.count + parser.maxHeaderBytes + 4)
        let carried = carry.count
        var joined = carry
        joined.append(contentsOf: chunk.prefix(take))
        carry = []
        let used = try run(joined[...], emit: emit)
        if parser.isFinished { return }
        if used >= carried {
            try feed(chunk.dropFirst(used - carried), emit: emit)
        } else {
            // Still inside the carried bytes: the joined bytes did not suffice (a short chunk).
            carry = Array(joined[used...]) + chunk.dropFirst(take)
        }
    }

    /// The body ended: an error event when the close delimiter never came.
    public mutating func finish() -> MultipartEvent? {
        carry = []
        return parser.finish()
    }

    /// Parses as far as `input` allows, returning how many bytes were consumed.
    mutating func run(_ input: ArraySlice<UInt8>, emit: (MultipartEvent) throws -> Void) rethrows -> Int {
        var offset = input.startIndex
        while true {
            switch parser.next(input[offset...]) {
            case .needMoreBytes, .done: return offset - input.startIndex
            case .consumed(let n): offset += n
            case .event(let e, let n):
                try emit(e)
                offset += n
            }
        }
    }
}
