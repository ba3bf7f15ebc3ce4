// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Reactor

/// The answer to one request, written on the reactor thread. Either ``send(status:contentType:body:fields:)``
/// once, or ``begin(status:contentType:contentLength:fields:)``, any number of `write` calls
/// and ``end()``. Without a content length the body goes out chunked (HTTP/1.1) or ends with the
/// connection (HTTP/1.0).
///
/// Back-pressure: a producer checks ``isAboveLowWater`` after a write and, when true, waits for
/// ``whenWritable(_:)`` before producing more; a reader that stops reading then holds the
/// producer, not memory. ``onAbort`` tells it the connection closed and nothing more is wanted.
public final class HTTPResponse {
    /// The status sent (0 before the head went out).
    public private(set) var status = 0
    /// Body bytes queued so far (without the head and chunk framing).
    public private(set) var bodyBytes = 0
    /// Whether the head has been queued.
    public var hasBegun: Bool { status != 0 }
    public private(set) var isEnded = false
    /// Called once if the connection closes before ``end()``.
    public var onAbort: (() -> Void)?

    weak var exchange: HTTPExchange?
    let isHead: Bool
    let version: HTTPVersion
    /// Fields every response to this request carries (CORS, Date, Server).
    let commonFields: HTTPFields
    private var chunked = false
    private var remainingLength: Int?
    private var writableWaiter: (() -> Void)?
    /// Set by the server when the connection will close after this response.
    var closesConnection: Bool

    init(exchange: HTTPExchange?, isHead: Bool, version: HTTPVersion, commonFields: HTTPFields, closesConnection: Bool)
    {
        self.exchange = exchange
        self.isHead = isHead
        self.version = version
        self.commonFields = commonFields
        self.closesConnection = closesConnection
    }

    private var connection: Connection? { exchange?.connection }

    /// Whether the connection is gone (nothing written will be sent).
    public var isAborted: Bool { connection == nil || connection!.isClosed }

    /// Whether queued output has reached the connection's low-water mark: wait for
    /// ``whenWritable(_:)`` before writing more.
    public var isAboveLowWater: Bool {
        guard let connection else { return false }
        return connection.pendingWriteBytes >= connection.writeLowWaterMark
    }

    /// Calls `body` once the output has drained below the low-water mark (at once if it has).
    public func whenWritable(_ body: @escaping () -> Void) {
        guard !isAborted else { return }
        if !isAboveLowWater {
            body()
        } else {
            writableWaiter = body
        }
    }

    func connectionWritable() {
        guard let waiter = writableWaiter, !isAboveLowWater else { return }
        writableWaiter = nil
        waiter()
    }

    func aborted() {
        writableWaiter = nil
        let abort = onAbort
        onAbort = nil
        abort?()
    }

    /// Stops reading the request's connection (a body receiver's back-pressure).
    public func pauseReading() { connection?.pauseReading() }
    /// Resumes reading after ``pauseReading()``.
    public func resumeReading() { connection?.resumeReading() }

    /// A whole response with a body in memory.
    public func send(status: Int, contentType: String? = nil, body: [UInt8] = [], fields: HTTPFields = [:]) {
        begin(status: status, contentType: contentType, contentLength: body.count, fields: fields)
        if !body.isEmpty { write(body) }
        end()
    }

    /// An error answer with a short plain-text reason (never request bytes echoed unescaped:
    /// the body is text/plain and the reason is ours).
    public func sendError(_ status: Int, _ reason: String, fields: HTTPFields = [:]) {
        let text = "\(status) \(HTTPResponseHead.reasonPhrase(status)): \(reason)\n"
        send(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8), fields: fields)
    }

    /// Queues the status line and fields. `contentLength` nil streams the body.
    public func begin(status: Int, contentType: String? = nil, contentLength: Int?, fields: HTTPFields = [:]) {
        precondition(!hasBegun, "response head sent twice")
        self.status = status
        var head = HTTPResponseHead(status: status, fields: commonFields, version: .http1_1)
        for field in fields { head.fields.append(name: field.name, value: field.value) }
        if let contentType { head.fields.append(name: "Content-Type", value: contentType) }
        let bodyless = status == 204 || status == 304 || status < 200
        if let contentLength {
            if !bodyless { head.fields.append(name: "Content-Length", value: String(contentLength)) }
            remainingLength = contentLength
        } else if !bodyless {
            if version.minor >= 1 {
                chunked = !isHead
                head.fields.append(name: "Transfer-Encoding", value: "chunked")
            } else {
                closesConnection = true
            }
        }
        if closesConnection { head.fields.append(name: "Connection", value: "close") }
        connection?.write(head.encoded[...])
    }

    /// Queues body bytes.
    public func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        write([.bytes(bytes[...])])
    }

    /// Queues body pieces (slices, file regions sent with `sendfile`, framed mappings).
    public func write(_ pieces: [OutputPiece]) {
        precondition(hasBegun && !isEnded, "body written outside begin/end")
        let length = pieces.reduce(0) { $0 + $1.count }
        guard length > 0 else { return }
        bodyBytes += length
        if let remaining = remainingLength {
            precondition(length <= remaining, "body longer than its Content-Length")
            remainingLength = remaining - length
        }
        guard !isHead, let connection else { return }
        if chunked {
            var framed: [OutputPiece] = [.bytes(HTTPChunkedFraming.chunkHeader(length: length)[...])]
            framed += pieces
            framed.append(.bytes(HTTPChunkedFraming.chunkEnd[...]))
            connection.write(framed)
        } else {
            connection.write(pieces)
        }
    }

    /// Ends the body; the next pipelined request is read after this.
    public func end() {
        guard hasBegun, !isEnded else { return }
        isEnded = true
        writableWaiter = nil
        if chunked { connection?.write(HTTPChunkedFraming.lastChunk[...]) }
        let short = (remainingLength ?? 0) > 0
        exchange?.responseEnded(truncated: short)
    }
}

extension HTTPResponse {
    /// Closes the connection at once: for a failure after part of the body went out, when no
    /// status can tell the client any more. It is an abort (``Connection/abort()``: no TLS
    /// close_notify either), so the client sees a truncated body, never an orderly end.
    public func abortConnection() {
        exchange?.connection?.abort()
    }
}
