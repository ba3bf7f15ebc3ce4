import Archive

/// C-STORE ingest settings (Storage SCP).
public struct StoreSettings: Sendable, Equatable {
    /// Whether storage presentation contexts are accepted at all.
    public var enabled: Bool
    /// What to do with an instance whose SOP Instance UID is already stored (QR-28):
    /// keep (default; the peer gets B000 with an Error Comment), replace, or reject (0111).
    public var duplicatePolicy: DuplicatePolicy
    /// Where received files go under the storage directory; default
    /// `{StudyUID}/{SeriesUID}/{SOPInstanceUID}.dcm` (UIDs sanitized, QR-29).
    public var storageLayout: StorageLayout
    /// Received-but-unwritten bytes per association above which the association stops
    /// reading its socket until the writer catches up (bounded memory per association).
    public var maxQueuedBytes: Int

    public init(enabled: Bool = true, duplicatePolicy: DuplicatePolicy = .keep,
                storageLayout: StorageLayout = .default, maxQueuedBytes: Int = 8 * 1024 * 1024) {
        self.enabled = enabled
        self.duplicatePolicy = duplicatePolicy
        self.storageLayout = storageLayout
        self.maxQueuedBytes = maxQueuedBytes
    }
}
