// SPDX-License-Identifier: Apache-2.0
import Systemd

/// The listening sockets systemd passed, by role: the plain DICOM port, the DICOM-over-TLS
/// port and the HTTP port, told apart by `FileDescriptorName=` (`dicom-tls` for TLS, `http`
/// for HTTP; any other name, or none, for the plain port).
struct ActivatedListeners {
    static let tlsName = "dicom-tls"
    static let httpName = "http"

    var plain: Int32?
    var tls: Int32?
    var http: Int32?

    init(_ sockets: [ActivatedSocket]) {
        tls = sockets.first { $0.name == Self.tlsName }?.fd
        http = sockets.first { $0.name == Self.httpName }?.fd
        plain = sockets.first { $0.name != Self.tlsName && $0.name != Self.httpName }?.fd
    }
}
