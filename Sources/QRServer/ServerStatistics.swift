// SPDX-License-Identifier: Apache-2.0
/// Counters kept on the reactor thread and logged when the daemon stops.
public struct ServerStatistics: Sendable, Equatable {
    public var associationsAccepted = 0
    public var associationsRejected = 0
    public var associationsAborted = 0
    public var connectionsOpened = 0
    public var messagesProcessed = 0
    public var echoes = 0
    /// C-FIND operations answered (any final status) and pending responses sent.
    public var finds = 0
    public var findMatches = 0
    /// C-FIND operations now holding their next page until the client takes the output queued
    /// for it (flow control): a gauge, not a counter.
    public var findsHeldForOutput = 0
    /// C-STORE: objects stored (success or kept-duplicate warning), refused, and data set bytes received.
    public var storesReceived = 0
    public var storesFailed = 0
    public var storeBytesReceived = 0
    /// C-GET and C-MOVE operations answered, and instances they sent.
    public var gets = 0
    public var moves = 0
    public var imagesSent = 0
    /// Stored files found damaged when a C-GET or C-MOVE was to send them (failed sub-operations).
    public var damagedFilesFound = 0
    public var bytesIn = 0
    public var bytesOut = 0
    /// Associations aborted because the peer left a PDU or a data set incomplete for the idle
    /// timeout (see docs/LIMITS.md).
    public var progressTimeouts = 0
    /// Connections not yet associated that were closed, oldest first, to stay within
    /// `limits.max_unassociated` or to free a descriptor for a new connection.
    public var unassociatedDropped = 0
    /// Times `accept` failed for want of file descriptors (EMFILE, ENFILE).
    public var descriptorExhaustions = 0
    /// Connections accepted and closed at once with the reserve descriptor, none being free.
    public var connectionsShed = 0
    /// TLS connections whose handshake completed, and those whose handshake failed or stalled.
    public var tlsHandshakes = 0
    public var tlsHandshakeFailures = 0
    /// Completed TLS handshakes whose output the kernel encrypts (kTLS), and those whose output
    /// goes through SSL_write.
    public var tlsKernelSend = 0
    public var tlsLibrarySend = 0
    /// Associations accepted on the TLS listener.
    public var tlsAssociations = 0

    public init() {}
}
