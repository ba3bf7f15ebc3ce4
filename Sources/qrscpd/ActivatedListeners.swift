// SPDX-License-Identifier: Apache-2.0
import Logging
import Systemd

/// The listening sockets systemd passed, by role: the plain DICOM port, the DICOM-over-TLS
/// port, the HTTP port and the metrics admin port, told apart by `FileDescriptorName=`
/// (`dicom-tls` for TLS, `http` for HTTP, `metrics` for /metrics alone; any other name, or
/// none, for the plain port).
struct ActivatedListeners {
    static let tlsName = "dicom-tls"
    static let httpName = "http"
    static let metricsName = "metrics"

    var plain: Int32?
    var tls: Int32?
    var http: Int32?
    var metrics: Int32?

    init(_ sockets: [ActivatedSocket]) {
        let named = [Self.tlsName, Self.httpName, Self.metricsName]
        tls = sockets.first { $0.name == Self.tlsName }?.fd
        http = sockets.first { $0.name == Self.httpName }?.fd
        metrics = sockets.first { $0.name == Self.metricsName }?.fd
        plain = sockets.first { !named.contains($0.name ?? "") }?.fd
    }

    /// Starts a listener on the socket systemd passed (logging `passedMessage` with its
    /// descriptor), or on its configured address when there is none.
    static func start(
        _ activatedSocket: Int32?, logging passedMessage: Logger.Message, logger: Logger,
        listeningOn: (Int32) throws -> Void, otherwise: () throws -> Void
    ) throws {
        if let activatedSocket {
            try listeningOn(activatedSocket)
            logger.info(passedMessage, metadata: ["fd": "\(activatedSocket)"])
        } else {
            try otherwise()
        }
    }
}
