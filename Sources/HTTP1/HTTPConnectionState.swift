// SPDX-License-Identifier: Apache-2.0
/// The life of an HTTP/1.1 server connection as seen by the request parser, as a pure value:
/// events in, next state out, from one table (``transition(_:on:)``).
///
/// The reactor reads ``HTTPRequestParser/phase`` to pick its timer: the idle timeout in
/// ``State/idle``, the header timeout in ``State/receivingHead``, the body (idle) timeout in
/// ``State/receivingBody``. On expiry it calls ``HTTPRequestParser/timedOut()``.
public enum HTTPConnectionState: Int, Sendable, Hashable, CaseIterable {
    /// Between requests: nothing of the next request has arrived.
    case idle
    /// Some bytes of a request line or header section have arrived, not all of it.
    case receivingHead
    /// The head was parsed; the body (possibly empty) is being delivered.
    case receivingBody
    /// A request ended without keep-alive, or the peer closed or timed out between requests:
    /// no further request is read (final).
    case closed
    /// The request was refused with a ``HTTPParseError``; answer it and close (final).
    case failed

    /// What moves the connection from one state to another.
    public enum Event: Int, Sendable, Hashable, CaseIterable {
        /// The first byte of a request arrived.
        case headStarted
        /// The request line and header section were parsed.
        case headParsed
        /// The body ended on a persistent connection.
        case messageEndKeepAlive
        /// The body ended and the connection does not persist (RFC 9112 §9.6).
        case messageEndClose
        /// The input broke a rule or a limit.
        case malformed
        /// The reactor's timer for the current state expired.
        case timeout
        /// The peer closed its sending side (read returned 0).
        case peerClosed
    }

    private typealias S = HTTPConnectionState

    /// The table: for each state, the events it takes and the state each leads to. An event
    /// not listed has no effect (final states take none).
    private static let table: [S: [Event: S]] = [
        .idle: [.headStarted: .receivingHead, .malformed: .failed, .timeout: .closed, .peerClosed: .closed],
        .receivingHead: [
            .headParsed: .receivingBody, .malformed: .failed, .timeout: .failed,
            .peerClosed: .failed,
        ],
        .receivingBody: [
            .messageEndKeepAlive: .idle, .messageEndClose: .closed, .malformed: .failed,
            .timeout: .failed, .peerClosed: .failed,
        ],
        .closed: [:],
        .failed: [:],
    ]

    /// The state after `event` in `state`, or nil when the table has no entry.
    public static func transition(_ state: HTTPConnectionState, on event: Event) -> HTTPConnectionState? {
        table[state]?[event]
    }

    /// Whether no further request will be read.
    public var isFinal: Bool { self == .closed || self == .failed }
}
