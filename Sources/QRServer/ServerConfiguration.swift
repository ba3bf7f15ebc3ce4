// SPDX-License-Identifier: Apache-2.0
import TLS

/// Everything the server needs to know to serve: where to listen, who it is, where the
/// archive lives, and the limits that keep it healthy under load or attack.
public struct ServerConfiguration: Sendable, Equatable {
    /// TCP port to listen on (104 is the well-known DICOM port; 11112 the registered one).
    public var port: Int
    /// Address to bind; "0.0.0.0" listens on every IPv4 interface.
    public var bindAddress: String
    /// Our AE title; a called AE title that differs (after trimming spaces) is rejected.
    public var aeTitle: String
    /// Root directory of the stored DICOM files.
    public var storageDirectory: String
    /// Most associations served at once; the next requester gets A-ASSOCIATE-RJ 2/3/2.
    public var maxAssociations: Int
    /// An established association with no traffic for this long is aborted; nil = never.
    public var idleTimeout: Duration?
    /// ARTIM: how long a connection may take to send its A-ASSOCIATE-RQ, and how long we
    /// wait for the peer to close after a reject, release or abort (PS3.8 §9.1.5).
    public var artimTimeout: Duration
    /// Largest P-DATA-TF we accept, advertised in the Maximum Length sub-item (PS3.8 D.1).
    public var maxPDULength: UInt32
    /// Move destinations by AE title (C-MOVE); empty when none is configured.
    public var peers: [String: PeerAddress] = [:]
    /// Calling AE titles allowed per service; a service absent or with an empty set is open to
    /// anyone. See ``isAllowed(callingAE:service:)``.
    public var allowedCallingAETitles: [DICOMService: Set<String>] = [:]
    /// How files are laid out under ``storageDirectory``.
    public var storageLayout: StorageLayout = .hierarchical
    /// What C-STORE does with an instance (SOP Instance UID) already in the archive.
    public var duplicatePolicy: DuplicatePolicy = .keep
    /// C-STORE ingest (duplicate policy, storage layout, flow control).
    public var store: StoreSettings = StoreSettings()
    /// Least time between two pending C-MOVE-RSPs (QR-19: pending responses are optional; one
    /// per instance or every few seconds). A sub-operation that completes sooner after the last
    /// one sends none; the final response always carries the counts. Zero sends one per
    /// sub-operation. C-GET always sends one per sub-operation: its requester receives every
    /// C-STORE on the same association anyway.
    public var movePendingInterval: Duration = .milliseconds(500)
    /// Most connections open at once that have not been accepted as an association (waiting
    /// for, or rejected after, their A-ASSOCIATE-RQ); counted apart from ``maxAssociations``.
    /// Beyond it the oldest such connection is closed.
    public var maxUnassociated = 128
    /// The DICOM-over-TLS listener's port (PS3.15 Annex B; 2762 by convention); nil: none.
    public var tlsPort: Int?
    /// Which certificate identities may use which calling AE titles on the TLS listener;
    /// empty: any certificate the context accepted may use any title.
    public var certificateIdentities = CertificateIdentityBinding()

    public init(
        port: Int,
        bindAddress: String = "0.0.0.0",
        aeTitle: String,
        storageDirectory: String,
        maxAssociations: Int = 32,
        idleTimeout: Duration? = nil,
        artimTimeout: Duration = .seconds(30),
        maxPDULength: UInt32 = 256 * 1024
    ) {
        self.port = port
        self.bindAddress = bindAddress
        self.aeTitle = aeTitle
        self.storageDirectory = storageDirectory
        self.maxAssociations = maxAssociations
        self.idleTimeout = idleTimeout
        self.artimTimeout = artimTimeout
        self.maxPDULength = maxPDULength
    }
}
