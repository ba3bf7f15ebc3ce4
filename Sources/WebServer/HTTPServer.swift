// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Logging
import Reactor
import TLS

/// The HTTP/1.1 listener and its connections, on the DICOM server's reactor thread.
///
/// Loop-confined like `DICOMServer`: every method is called on `loop`; the class is
/// `@unchecked Sendable` only so that it can be handed to that loop once.
public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    public let loop: EventLoop
    let logger: Logger
    /// The route table; add routes before ``start()``.
    public var router = HTTPRouter()
    public internal(set) var metrics = HTTPMetrics()
    let cors: CORSPolicy
    var date = HTTPDate()

    var listener: TCPListener?
    /// The HTTPS context of new connections (`HTTPServer+TLS.swift`); nil: plain HTTP.
    var tlsContext: TLSContext?
    private(set) var connections: [Int: HTTPServerConnection] = [:]
    private var nextID = 1
    private var shutdownCompletion: (() -> Void)?

    public init(configuration: HTTPServerConfiguration, loop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        cors = CORSPolicy(origins: configuration.corsOrigins)
    }

    /// Adds a route (see ``HTTPRouter/add(_:_:name:_:)``).
    public func add(_ method: String, _ pattern: String, name: String, _ handler: any HTTPHandler) {
        router.add(method, pattern, name: name, handler)
    }

    /// The port actually bound.
    public var localPort: Int { listener?.localPort ?? configuration.port }
    /// Connections open now.
    public var openConnectionCount: Int { connections.count }

    /// Binds the configured address and starts accepting.
    public func start() throws {
        listener = try loop.listen(
            host: configuration.bindAddress, port: configuration.port, transport: transportFactory
        ) { [unowned self] in accept($0) }
        installErrorLog()
    }

    /// Serves an already-listening socket (socket activation, `FileDescriptorName=http`); HTTPS
    /// as well when ``useTLS(_:)`` was called before.
    public func start(listeningOn fd: Int32) throws {
        listener = try loop.listen(fd: fd, transport: transportFactory) { [unowned self] in accept($0) }
        installErrorLog()
    }

    private func installErrorLog() {
        listener?.onAcceptError = { [unowned self] error in
            logger.error("cannot accept an HTTP connection", metadata: ["error": "\(error)"])
        }
    }

    /// Stops accepting new connections; open ones finish their current request.
    public func stopAccepting() {
        listener?.close()
        listener = nil
    }

    /// Stops accepting, closes every connection, and calls `completion` once they are gone.
    public func shutdown(completion: @escaping () -> Void) {
        stopAccepting()
        shutdownCompletion = completion
        for connection in connections.values { connection.connection.close() }
        finishShutdownIfIdle()
    }

    private func accept(_ connection: Connection) {
        metrics.accepted()
        if connections.count >= configuration.maxConnections, !closeOldestIdle() {
            logger.warning(
                "HTTP connection refused: http.max_connections reached",
                metadata: [
                    "peer": "\(connection.peerAddress)", "open": "\(connections.count)",
                ])
            connection.close()
            return
        }
        let id = nextID
        nextID += 1
        let served = HTTPServerConnection(id: id, connection: connection, server: self)
        connections[id] = served
        served.start()
        if tlsContext != nil { recordHandshake(of: served) }
    }

    /// Closes the connection idle longest; false when none is idle.
    private func closeOldestIdle() -> Bool {
        guard let oldest = connections.values.filter(\.isIdle).min(by: { $0.id < $1.id }) else { return false }
        oldest.connection.close()
        return true
    }

    func connectionClosed(_ served: HTTPServerConnection) {
        connections[served.id] = nil
        metrics.connectionClosed(bytesIn: served.connection.bytesRead, bytesOut: served.connection.bytesWritten)
        finishShutdownIfIdle()
    }

    private func finishShutdownIfIdle() {
        guard connections.isEmpty, let completion = shutdownCompletion else { return }
        shutdownCompletion = nil
        completion()
    }

    /// Bytes received and sent so far, open connections included.
    public var bytesTransferred: (received: UInt64, sent: UInt64) {
        var received = metrics.bytesIn
        var sent = metrics.bytesOut
        for c in connections.values {
            received += UInt64(c.connection.bytesRead)
            sent += UInt64(c.connection.bytesWritten)
        }
        return (received, sent)
    }

    /// The route name for metrics ("none" for requests no route answered).
    public func routeName(_ index: Int) -> String {
        index >= 0 && index < router.routes.count ? router.routes[index].name : "none"
    }
}
