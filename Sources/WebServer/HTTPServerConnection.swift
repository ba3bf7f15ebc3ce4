// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Logging
import Reactor

/// Drives one HTTP connection: feeds the receive buffer to ``HTTPRequestParser``, routes each
/// request, answers pipelined requests one after the other in order (the next request is not
/// parsed until the current response has ended; reading pauses meanwhile), and runs the header,
/// idle and progress timers.
final class HTTPServerConnection {
    let id: Int
    let connection: Connection
    unowned let server: HTTPServer
    private var parser: HTTPRequestParser
    private(set) var current: HTTPExchange?
    private var timer: TimerID?
    private var timerKind = TimerKind.none
    private var progressMark = 0
    private var closing = false
    /// The client shut down its sending side (a half-close): what it sent is answered, then
    /// the connection closes.
    private var clientDone = false
    /// Inside ``process(_:)`` (the receive buffer is out of the connection meanwhile).
    private var processing = false

    enum TimerKind: Equatable { case none, idle, head, body, response }

    init(id: Int, connection: Connection, server: HTTPServer) {
        self.id = id
        self.connection = connection
        self.server = server
        parser = HTTPRequestParser(limits: server.configuration.limits)
    }

    /// Between requests, with nothing of the next one received.
    var isIdle: Bool { current == nil && parser.phase == .idle }

    func start() {
        connection.onRead = { [unowned self] buffer in process(&buffer) }
        connection.onWritable = { [unowned self] in current?.response.connectionWritable() }
        connection.onClose = { [unowned self] error in closed(error) }
        connection.onInputEnded = { [unowned self] in inputEnded() }
        updateTimer()
    }

    // MARK: Input

    private func process(_ buffer: inout ByteBuffer) {
        processing = true
        processRequests(&buffer)
        processing = false
        closeIfClientDone()
    }

    private func processRequests(_ buffer: inout ByteBuffer) {
        while !closing && !connection.isClosed {
            if let exchange = current, exchange.bodyComplete {
                // The response is being produced: hold the next request (pipelining answers in
                // order) and stop reading once enough of it has piled up.
                if buffer.readableBytes >= server.configuration.maxBufferedInput { connection.pauseReading() }
                break
            }
            let view = buffer.readableView
            switch parser.next(view) {
            case .needMoreBytes:
                updateTimer()
                return
            case .closed:
                buffer.clear()
                updateTimer()
                return
            case .consumed(let n):
                buffer.moveReaderIndex(forwardBy: n)
            case .event(let event, let n):
                handle(event)
                buffer.moveReaderIndex(forwardBy: n)
            }
        }
        if let exchange = current, exchange.bodyComplete, !exchange.finished { connection.pauseReading() }
        updateTimer()
    }

    private func handle(_ event: HTTPRequestEvent) {
        switch event {
        case .head(let head):
            begin(head)
        case .body(let bytes):
            guard let exchange = current else { return }
            if let receiver = exchange.receiver {
                receiver.receive(bytes)
            } else if exchange.request != nil {
                guard exchange.request!.body.count + bytes.count <= server.configuration.maxCollectedBody else {
                    refuse(HTTPParseError(status: 413, reason: "request body too large for this resource"))
                    return
                }
                exchange.request!.body.append(contentsOf: bytes)
            }
        case .end:
            guard let exchange = current else { return }
            exchange.bodyComplete = true
            if let receiver = exchange.receiver {
                receiver.end()
            } else if let answer = exchange.answer {
                answer(exchange.response)
            } else if let handler = exchange.handler, let request = exchange.request {
                exchange.request = nil
                handler.handle(request, exchange.response)
            }
        case .error(let error):
            refuse(error)
        }
    }

    private func begin(_ head: HTTPRequestHead) {
        let target = HTTPRequest.parseTarget(head.target)
        let exchange = HTTPExchange(
            owner: self, method: head.method, path: target?.path ?? "-",
            keepAlive: head.keepAlive && !closing)
        let origin = head.fields["origin"]
        exchange.response = HTTPResponse(
            exchange: exchange, isHead: head.method == "HEAD", version: head.version,
            commonFields: commonFields(origin: origin),
            closesConnection: !exchange.keepAlive)
        current = exchange
        guard let target else {
            exchange.answer = { $0.sendError(400, "the request target must be a path (origin-form)") }
            return
        }
        var request = HTTPRequest(head: head, path: target.path, query: target.query)
        if head.method == "OPTIONS" {
            exchange.answer = { [unowned self] in options(request, origin: origin, $0) }
            return
        }
        switch server.router.lookup(method: head.method, path: target.path) {
        case .notFound:
            exchange.answer = { $0.sendError(404, "no resource at this path") }
        case .methodNotAllowed(let allowed):
            exchange.answer = {
                $0.sendError(405, "method not allowed here", fields: ["Allow": allowed.joined(separator: ", ")])
            }
        case .found(let index, let parameters):
            request.pathParameters = parameters
            exchange.route = index
            let handler = server.router.routes[index].handler
            if let receiver = handler.bodyReceiver(for: request, exchange.response) {
                exchange.receiver = receiver
            } else {
                exchange.request = request
                exchange.handler = handler
            }
        }
        if head.framing != .none, let answer = exchange.answer {
            // The server answers this request itself (404, 405, OPTIONS, 400): the body is not
            // worth reading; answer now and close instead of draining it.
            exchange.keepAlive = false
            exchange.response.closesConnection = true
            answer(exchange.response)
            return
        }
        if head.expectsContinue, head.framing != .none {
            connection.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)[...])
        }
    }

    private func commonFields(origin: String?) -> HTTPFields {
        var fields: HTTPFields = ["Date": server.date.now(), "Server": "qrscpd"]
        for field in server.cors.responseFields(origin: origin) { fields.append(name: field.name, value: field.value) }
        return fields
    }

    /// OPTIONS: a CORS preflight (Origin and Access-Control-Request-Method), or the methods a path allows.
    private func options(_ request: HTTPRequest, origin: String?, _ response: HTTPResponse) {
        let allowed: [String]
        switch server.router.lookup(method: "OPTIONS", path: request.path) {
        case .notFound:
            response.sendError(404, "no resource at this path")
            return
        case .methodNotAllowed(let methods): allowed = methods
        case .found: allowed = ["OPTIONS"]
        }
        guard let method = request.head.fields["access-control-request-method"], origin != nil else {
            response.send(status: 204, fields: ["Allow": allowed.joined(separator: ", ")])
            return
        }
        guard allowed.contains(method),
            let fields = server.cors.preflightFields(
                origin: origin, method: method,
                requestedHeaders: request.head.fields["access-control-request-headers"])
        else {
            response.sendError(403, "cross-origin request not allowed (http.cors_origins)")
            return
        }
        response.send(status: 204, fields: fields)
    }

    /// The parser refused the input (or a timer expired): answer the status and close.
    private func refuse(_ error: HTTPParseError) {
        server.metrics.refused()
        server.logger.warning(
            "HTTP request refused",
            metadata: [
                "peer": "\(connection.peerAddress)", "http_status": "\(error.status)", "reason": "\(error.reason)",
            ])
        let exchange: HTTPExchange
        if let current {
            exchange = current
            exchange.receiver?.abort()
            exchange.receiver = nil
            if exchange.response.hasBegun {
                // Part of a response is out: no other status can follow it.
                connection.close()
                return
            }
        } else {
            exchange = HTTPExchange(owner: self, method: "-", path: "-", keepAlive: false)
            exchange.response = HTTPResponse(
                exchange: exchange, isHead: false, version: .http1_1,
                commonFields: commonFields(origin: nil), closesConnection: true)
            current = exchange
        }
        exchange.keepAlive = false
        exchange.response.closesConnection = true
        exchange.bodyComplete = true
        exchange.response.sendError(error.status, error.reason)
    }

    // MARK: Half-close

    /// The client will send nothing more. A request whose body is incomplete can never be
    /// answered; one complete (and any complete ones pipelined behind it) still is.
    private func inputEnded() {
        clientDone = true
        if let exchange = current, !exchange.bodyComplete {
            connection.close()
            return
        }
        closeIfClientDone()
    }

    /// After the client's half-close, once nothing of what it sent is left to answer (bytes
    /// left over with no request in progress are a request that can never be complete): close
    /// when the output is written (bounded by the progress timeout).
    private func closeIfClientDone() {
        guard clientDone, !processing, current == nil, !closing, !connection.isClosed else { return }
        closing = true
        cancelTimer()
        connection.closeAfterFlush(timeout: server.configuration.progressTimeout)
    }

    // MARK: Response end

    func responseEnded(_ exchange: HTTPExchange, truncated: Bool) {
        guard exchange === current, !exchange.finished else { return }
        exchange.finished = true
        log(exchange, aborted: false)
        current = nil
        if truncated || !exchange.bodyComplete {
            // A body shorter than announced, or an answer before the request's body ended: the
            // connection cannot carry another message reliably.
            exchange.keepAlive = false
        }
        if !exchange.keepAlive || exchange.response.closesConnection || closing {
            closing = true
            cancelTimer()
            connection.closeAfterFlush(timeout: server.configuration.progressTimeout)
            return
        }
        updateTimer()
        // Buffered pipelined requests are delivered again once reading resumes.
        connection.resumeReading()
        // Pipelined requests still buffered come back through process(), which closes after them.
        if connection.bufferedInputBytes == 0 { closeIfClientDone() }
    }

    private func log(_ exchange: HTTPExchange, aborted: Bool) {
        let seconds = Self.seconds(ContinuousClock.now - exchange.started)
        let response = exchange.response!
        server.metrics.record(route: exchange.route, status: response.status, seconds: seconds)
        var metadata: Logger.Metadata = [
            "peer": "\(connection.peerAddress)",
            "http_method": "\(exchange.method)",
            "http_route": "\(server.routeName(exchange.route))",
            "http_path": "\(exchange.path)",
            "http_status": "\(response.status)",
            "http_bytes": "\(response.bodyBytes)",
            "duration_ms": "\(Int((seconds * 1000).rounded()))",
        ]
        if aborted { metadata["aborted"] = "true" }
        server.logger.info(aborted ? "HTTP request aborted" : "HTTP request", metadata: metadata)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    // MARK: Close

    private func closed(_ error: Error?) {
        cancelTimer()
        if let exchange = current, !exchange.finished {
            exchange.finished = true
            exchange.receiver?.abort()
            exchange.response.aborted()
            if exchange.method != "-" { log(exchange, aborted: true) }
        }
        current = nil
        server.connectionClosed(self)
    }

    // MARK: Timers

    private func wantedTimer() -> TimerKind {
        if closing || connection.isClosed { return .none }
        if let exchange = current { return exchange.bodyComplete ? .response : .body }
        switch parser.phase {
        case .idle: return .idle
        case .receivingHead: return .head
        case .receivingBody: return .body
        case .closed, .failed: return .none
        }
    }

    private func updateTimer() {
        let wanted = wantedTimer()
        guard wanted != timerKind else { return }
        cancelTimer()
        arm(wanted)
    }

    private func arm(_ kind: TimerKind) {
        timerKind = kind
        let configuration = server.configuration
        let delay: Duration
        switch kind {
        case .none: return
        case .idle: delay = configuration.idleTimeout
        case .head: delay = configuration.headerTimeout
        case .body:
            delay = configuration.progressTimeout
            progressMark = connection.bytesRead
        case .response:
            delay = configuration.progressTimeout
            progressMark = connection.bytesWritten
        }
        timer = server.loop.schedule(after: delay) { [weak self] in self?.timerFired(kind) }
    }

    private func cancelTimer() {
        if let timer { server.loop.cancel(timer) }
        timer = nil
        timerKind = .none
    }

    private func timerFired(_ kind: TimerKind) {
        timer = nil
        timerKind = .none
        guard !connection.isClosed, wantedTimer() == kind else {
            updateTimer()
            return
        }
        switch kind {
        case .none:
            return
        case .idle:
            connection.close()
        case .head:
            if let error = parser.timedOut() { refuse(error) }
        case .body:
            if connection.bytesRead != progressMark { return arm(.body) }
            if let error = parser.timedOut() { refuse(error) } else { connection.close() }
        case .response:
            // Waiting for the handler (a query on a worker) is not the peer's fault; a peer that
            // takes nothing of what is queued for it is.
            if connection.pendingWriteBytes == 0 || connection.bytesWritten != progressMark { return arm(.response) }
            server.logger.warning(
                "HTTP client stopped reading; closing",
                metadata: [
                    "peer": "\(connection.peerAddress)", "pending_bytes": "\(connection.pendingWriteBytes)",
                ])
            connection.close()
        }
    }
}
