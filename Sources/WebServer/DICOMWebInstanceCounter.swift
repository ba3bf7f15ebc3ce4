// SPDX-License-Identifier: Apache-2.0
import Reactor

/// The DICOMweb services that send whole instances (the `service` label of
/// `qrscpd_dicomweb_instances_sent_total`). Frames, bulk data and metadata are not instances.
public enum DICOMWebService: Int, CaseIterable, Sendable {
    case wadoRS
    case wadoURI

    /// The label value.
    public var label: String {
        switch self {
        case .wadoRS: "wado_rs"
        case .wadoURI: "wado_uri"
        }
    }
}

/// Where the STOW-RS and WADO handlers count the instances they store and send: the metrics of
/// the listener serving them. Used on the reactor thread only, like the handlers; weak because
/// the listener holds the route table that holds the handlers.
struct DICOMWebInstanceCounter: Sendable {
    weak var server: HTTPServer?

    /// One instance durably committed (and indexed) by STOW-RS.
    func stored() { server?.metrics.instanceStored() }

    func sent(_ count: Int, by service: DICOMWebService) {
        guard count > 0 else { return }
        server?.metrics.instancesSent(count, by: service)
    }
}

/// The parts of a streamed multipart response not yet counted as sent. A part counts once the
/// connection has written its last byte to the socket; the parts still queued when the response
/// ends complete count then (as the request does in `qrscpd_http_requests_total`). A response cut
/// off (the client gone, a stored file failing mid-way) counts only the parts already written.
struct SentPartTally {
    /// Where each uncounted part ends in the connection's output (bytes written plus queued).
    private var ends: [Int] = []

    /// Notes a part just queued whole; `output` is the connection's output offset after it.
    mutating func queued(endingAt output: Int) { ends.append(output) }

    /// Removes and returns the number of parts that end at or before `written`.
    mutating func written(upTo written: Int) -> Int {
        let count = ends.prefix { $0 <= written }.count
        ends.removeFirst(count)
        return count
    }

    /// Removes and returns the number of every uncounted part.
    mutating func all() -> Int {
        defer { ends.removeAll() }
        return ends.count
    }
}

extension HTTPResponse {
    /// The response's connection's output so far: bytes written to the socket, and where the
    /// queued ones end. Still readable once the connection has closed (what it wrote before);
    /// nil when the connection is gone, and for HEAD, whose body is never sent.
    var connectionOutput: (written: Int, queuedEnd: Int)? {
        guard !isHead, let connection = exchange?.owner?.connection else { return nil }
        return (connection.bytesWritten, connection.bytesWritten + connection.pendingWriteBytes)
    }
}
