// SPDX-License-Identifier: Apache-2.0
import PrometheusText

/// HTTP counters kept on the reactor thread: requests by route and status, request duration by
/// route, bytes. Keys are created on first use and only incremented afterwards, so counting a
/// request allocates nothing once a route/status pair has been seen. Labels are bounded: route
/// names are ours, statuses are the few codes the server answers.
public struct HTTPMetrics: Sendable {
    /// Requests by (route index, status); route index -1 = no route (404, parse errors).
    public private(set) var requests: [Int: UInt64] = [:]
    /// Request durations (head received to response end) by route index, -1 for no route.
    public private(set) var durations: [Int: PrometheusHistogram] = [:]
    public private(set) var bytesIn: UInt64 = 0
    public private(set) var bytesOut: UInt64 = 0
    public private(set) var connectionsAccepted: UInt64 = 0
    /// Requests refused by the parser's limits (400, 408, 413, 414, 431) .
    public private(set) var refusedRequests: UInt64 = 0
    /// Instances STOW-RS committed durably (DICOMWebInstanceCounter).
    public private(set) var instancesStored: UInt64 = 0
    /// Instances sent, by ``DICOMWebService`` raw value (DICOMWebInstanceCounter).
    public private(set) var instancesSent: [UInt64] = Array(repeating: 0, count: DICOMWebService.allCases.count)

    /// Bucket bounds in seconds, from a cached metadata answer to a large study's retrieval.
    public static let durationBounds: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    static func key(route: Int, status: Int) -> Int { (route + 1) << 10 | status }
    static func split(_ key: Int) -> (route: Int, status: Int) { ((key >> 10) - 1, key & 0x3FF) }

    mutating func record(route: Int, status: Int, seconds: Double) {
        requests[Self.key(route: route, status: status), default: 0] += 1
        durations[route, default: PrometheusHistogram(upperBounds: Self.durationBounds)].observe(seconds)
    }

    mutating func connectionClosed(bytesIn: Int, bytesOut: Int) {
        self.bytesIn += UInt64(bytesIn)
        self.bytesOut += UInt64(bytesOut)
    }

    // TLS handshakes on the HTTPS port (`HTTPServer+TLS.swift`).
    public private(set) var tlsHandshakes: UInt64 = 0
    public private(set) var tlsHandshakeFailures: UInt64 = 0

    mutating func tlsHandshake(completed: Bool) {
        if completed { tlsHandshakes += 1 } else { tlsHandshakeFailures += 1 }
    }

    mutating func instanceStored() { instancesStored += 1 }
    mutating func instancesSent(_ count: Int, by service: DICOMWebService) {
        instancesSent[service.rawValue] += UInt64(count)
    }

    mutating func accepted() { connectionsAccepted += 1 }
    mutating func refused() { refusedRequests += 1 }

    /// Requests as (route, status, count).
    public var requestCounts: [(route: Int, status: Int, count: UInt64)] {
        requests.sorted { $0.key < $1.key }.map {
            let k = Self.split($0.key)
            return (k.route, k.status, $0.value)
        }
    }
}
