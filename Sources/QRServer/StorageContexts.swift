import DICOM

/// Presentation-context acceptance for the Storage SOP classes: the ONE place that decides it,
/// for both uses of a storage context —
/// - C-GET: the requestor takes the SCP role (UL-14) and we send C-STORE-RQs on the context;
/// - C-STORE ingest: the requestor is SCU and we store what it sends.
enum StorageContexts {
    /// Every Storage SOP class of the data dictionary.
    static let sopClasses: Set<String> = Set(UIDDictionary.storageSOPClasses.map(\.uid))

    /// Transfer syntaxes accepted on a storage context, in our order of preference (the first
    /// one the requester proposed wins): the uncompressed syntaxes first, the way most objects
    /// are stored and the ones we can convert among; then every encapsulated syntax we know,
    /// for objects stored compressed (sent unchanged, never transcoded).
    static let transferSyntaxes: [String] = [
        TransferSyntax.explicitVRLittleEndian.uid,
        TransferSyntax.implicitVRLittleEndian.uid,
        TransferSyntax.explicitVRBigEndian.uid,
        TransferSyntax.deflatedExplicitVRLittleEndian.uid,
    ] + TransferSyntax.known.filter(\.isEncapsulated).map(\.uid)

    static func isStorageSOPClass(_ uid: String) -> Bool { sopClasses.contains(uid) }

    /// The transfer syntaxes accepted for a storage abstract syntax; nil when it is not one.
    static func acceptedTransferSyntaxes(for abstractSyntax: String) -> [String]? {
        isStorageSOPClass(abstractSyntax) ? transferSyntaxes : nil
    }

    /// Whether the requestor may act as SCP on a context of this SOP class (C-GET, UL-14).
    static func acceptsRequestorSCPRole(_ sopClassUID: String) -> Bool { isStorageSOPClass(sopClassUID) }
}
