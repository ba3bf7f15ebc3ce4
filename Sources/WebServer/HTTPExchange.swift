// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Reactor

/// One request and its response on a connection: what the log line and the metrics need, and
/// where the body goes.
final class HTTPExchange {
    weak var owner: HTTPServerConnection?
    let method: String
    let path: String
    let started: ContinuousClock.Instant
    /// Index of the route answering, -1 for none.
    var route = -1
    var keepAlive: Bool
    var response: HTTPResponse!
    /// The request and handler to call at the end of the body (unless a receiver takes it).
    var request: HTTPRequest?
    var handler: (any HTTPHandler)?
    var receiver: (any HTTPBodyReceiver)?
    /// An answer decided by the server itself (404, 405, OPTIONS), given once the body is read.
    var answer: ((HTTPResponse) -> Void)?
    var bodyComplete = false
    var finished = false

    init(owner: HTTPServerConnection, method: String, path: String, keepAlive: Bool) {
        self.owner = owner
        self.method = method
        self.path = path
        self.keepAlive = keepAlive
        started = .now
    }

    var connection: Connection? {
        guard let c = owner?.connection, !c.isClosed else { return nil }
        return c
    }

    func responseEnded(truncated: Bool) {
        owner?.responseEnded(self, truncated: truncated)
    }
}
