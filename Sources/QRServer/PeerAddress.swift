/// Where a known peer AE listens (C-MOVE destinations, `--peer AE:HOST:PORT`).
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    /// Numeric IPv4/IPv6 address or a host name (resolved on the worker pool).
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}
