// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork

/// The storage presentation contexts: every Storage SOP Class of the UID registry
/// (PS3.4 Annex B; retired ones included) — the single place that decides them, for
/// ingest (C-STORE SCP) and for role negotiation.
enum StorageContexts {
    /// Every registered Storage SOP Class UID.
    static let sopClasses: Set<String> = Set(UIDDictionary.storageSOPClasses.map(\.uid))

    static func isStorageSOPClass(_ uid: String) -> Bool { sopClasses.contains(uid) }

    /// Whether the requestor may act as SCP on a context of this SOP class (C-GET, UL-14).
    static func acceptsRequestorSCPRole(_ sopClassUID: String) -> Bool { isStorageSOPClass(sopClassUID) }

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

    /// Registered transfer syntax UIDs.
    private static let knownTransferSyntaxes: Set<String> = Set(UIDDictionary.transferSyntaxes.map(\.uid))

    /// The policy for one A-ASSOCIATE-RQ: for storage SOP classes the requester's own order of
    /// preference wins — the first transfer syntax it proposed that is registered is accepted
    /// (an SCU holding a JPEG 2000 file proposes JPEG 2000 first and cannot convert it; an SCU
    /// proposing Explicit VR LE first gets it). Where one SOP class is proposed in several
    /// contexts, their transfer syntaxes are ranked in order of first appearance. Other
    /// abstract syntaxes keep `base`'s table.
    /// Appends the syntaxes of `list` (no repeats) not yet in `ranked`, in their order.
    private static func appendNew(_ list: [String], to ranked: inout [String]) {
        if ranked.isEmpty {
            ranked = list  // the first context of a SOP class: its list as it is, no copy
            return
        }
        for ts in list where !ranked.contains(ts) { ranked.append(ts) }
    }

    static func policy(_ base: AcceptorPolicy, for request: AssociateRequest) -> AcceptorPolicy {
        // The tables are read once here rather than through their lazy globals per context.
        let storage = sopClasses
        let known = knownTransferSyntaxes
        var proposed: [String: [String]] = [:]
        proposed.reserveCapacity(request.presentationContexts.count)
        for context in request.presentationContexts where storage.contains(context.abstractSyntax) {
            var usable: [String] = []
            usable.reserveCapacity(context.transferSyntaxes.count)
            for ts in context.transferSyntaxes where known.contains(ts) && !usable.contains(ts) { usable.append(ts) }
            guard !usable.isEmpty else { continue }
            // One dictionary access per context; the lists hold a few syntaxes each.
            Self.appendNew(usable, to: &proposed[context.abstractSyntax, default: []])
        }
        guard !proposed.isEmpty else { return base }
        // C-GET (UL-14): storage SOP classes for which the requester proposes the SCP role are
        // accepted to send C-STOREs on, whether or not ingest is enabled.
        let scpRole = Set(request.userInformation.roleSelections.filter(\.scpRole).map(\.sopClassUID))
        var policy = base
        let table = base.transferSyntaxes
        let ranked = proposed
        policy.transferSyntaxes = { abstractSyntax in
            if let ours = table(abstractSyntax) { return ranked[abstractSyntax] ?? ours }
            if scpRole.contains(abstractSyntax) { return ranked[abstractSyntax] }
            return nil
        }
        return policy
    }
}
