import Systemd

/// The listening sockets systemd passed, by role: the plain DICOM port and the DICOM-over-TLS
/// port, told apart by `FileDescriptorName=` (`dicom-tls` for TLS; any other name, or none,
/// for the plain port).
struct ActivatedListeners {
    static let tlsName = "dicom-tls"

    var plain: Int32?
    var tls: Int32?

    init(_ sockets: [ActivatedSocket]) {
        tls = sockets.first { $0.name == Self.tlsName }?.fd
        plain = sockets.first { $0.name != Self.tlsName }?.fd
    }
}
