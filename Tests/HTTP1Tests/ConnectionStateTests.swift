// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Testing

@Suite("HTTP connection states: the whole table")
struct ConnectionStateTests {
    typealias S = HTTPConnectionState

    /// The expected table, written out cell by cell; nil = the event has no effect.
    static func expected(_ s: S, _ e: S.Event) -> S? {
        switch (s, e) {
        case (.idle, .headStarted): return .receivingHead
        case (.idle, .malformed): return .failed
        case (.idle, .timeout), (.idle, .peerClosed): return .closed
        case (.receivingHead, .headParsed): return .receivingBody
        case (.receivingHead, .malformed), (.receivingHead, .timeout), (.receivingHead, .peerClosed): return .failed
        case (.receivingBody, .messageEndKeepAlive): return .idle
        case (.receivingBody, .messageEndClose): return .closed
        case (.receivingBody, .malformed), (.receivingBody, .timeout), (.receivingBody, .peerClosed): return .failed
        default: return nil
        }
    }

    @Test("every (state, event) pair matches the expected cell")
    func table() {
        for s in S.allCases {
            for e in S.Event.allCases {
                #expect(S.transition(s, on: e) == Self.expected(s, e), "\(s) on \(e)")
            }
        }
    }

    @Test("final states take no event; every state is reachable from idle")
    func finalAndReachable() {
        for s in S.allCases where s.isFinal {
            #expect(S.Event.allCases.allSatisfy { S.transition(s, on: $0) == nil })
        }
        var seen: Set<S> = [.idle]
        var frontier: [S] = [.idle]
        while let s = frontier.popLast() {
            for e in S.Event.allCases {
                if let n = S.transition(s, on: e), seen.insert(n).inserted { frontier.append(n) }
            }
        }
        #expect(seen == Set(S.allCases))
    }

    @Test("the parser walks the table: idle → head → body → idle, and closes on Connection: close")
    func parserWalk() {
        var parser = HTTPRequestParser()
        #expect(parser.phase == .idle)
        _ = parser.next(Array("GET / HTTP/1.1\r\nHo".utf8)[...])
        #expect(parser.phase == .receivingHead)
        let full = Array("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8)
        guard case .event(.head, let n) = parser.next(full[...]) else {
            Issue.record("no head")
            return
        }
        #expect(n == full.count)
        #expect(parser.phase == .receivingBody)
        #expect(parser.next([][...]) == .event(.end, consumed: 0))
        #expect(parser.phase == .closed)
    }
}
