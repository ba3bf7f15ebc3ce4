// SPDX-License-Identifier: Apache-2.0
import HTTP1

/// Events with body bytes copied and adjacent body pieces joined, so that the same request
/// cut differently compares equal.
enum Parsed: Equatable, CustomStringConvertible {
    case head(HTTPRequestHead)
    case body([UInt8])
    case end
    case error(Int)

    var description: String {
        switch self {
        case .head(let h): return "head(\(h.method) \(h.target))"
        case .body(let b): return "body(\(String(decoding: b, as: UTF8.self)))"
        case .end: return "end"
        case .error(let s): return "error(\(s))"
        }
    }
}

/// Feeds `pieces` one after the other into a parser, as a connection's reads would arrive,
/// keeping unconsumed bytes like the receive buffer does.
func feed(_ pieces: [[UInt8]], limits: HTTPParserLimits = HTTPParserLimits()) -> (
    events: [Parsed], leftover: Int, phase: HTTPConnectionState
) {
    var parser = HTTPRequestParser(limits: limits)
    var buffer: [UInt8] = []
    var out: [Parsed] = []
    for piece in pieces {
        buffer += piece
        let (events, consumed) = parser.parse(buffer[...])
        for e in events {
            switch e {
            case .head(let h): out.append(.head(h))
            case .body(let b):
                if case .body(let prev) = out.last {
                    out[out.count - 1] = .body(prev + b)
                } else {
                    out.append(.body(Array(b)))
                }
            case .end: out.append(.end)
            case .error(let err): out.append(.error(err.status))
            }
        }
        buffer.removeFirst(consumed)
    }
    return (out, buffer.count, parser.phase)
}

func feed(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> [Parsed] {
    feed([Array(text.utf8)], limits: limits).events
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
