import DICOM

/// The storage presentation contexts: every Storage SOP Class of the UID registry
/// (PS3.4 Annex B; retired ones included) — the single place that decides them, for
/// ingest (C-STORE SCP) and for role negotiation.
enum StorageContexts {
    /// Every registered Storage SOP Class UID.
    static let sopClasses: Set<String> = Set(UIDDictionary.storageSOPClasses.map(\.uid))

    static func isStorageSOPClass(_ uid: String) -> Bool { sopClasses.contains(uid) }

    /// Transfer syntaxes accepted for ingest, in our order of preference: Explicit VR LE,
    /// Implicit VR LE, then every other registered transfer syntax (compressed included) —
    /// the data set is stored as received, so no codec is needed. The negotiation picks the
    /// first of these that the requester proposed.
    static let ingestTransferSyntaxes: [String] = {
        var list = ServicePolicy.uncompressedTransferSyntaxes
        for entry in UIDDictionary.transferSyntaxes where !list.contains(entry.uid) {
            list.append(entry.uid)
        }
        return list
    }()

    /// Abstract syntax → accepted transfer syntaxes for the storage SOP classes.
    static let ingest: [String: [String]] = Dictionary(
        uniqueKeysWithValues: sopClasses.map { ($0, ingestTransferSyntaxes) })
}
