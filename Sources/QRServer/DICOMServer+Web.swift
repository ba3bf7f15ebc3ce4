// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM

/// What the web server's STOW-RS needs of the DICOM server: the same store path as C-STORE.
extension DICOMServer {
    /// The writer and committer C-STORE uses (nil without ingest), and its UID policy.
    public var sharedStorePath: (writer: StoreWriter, committer: StoreCommitter, uidPolicy: UIDPolicy)? {
        guard let storeWriter, let storeCommitter else { return nil }
        return (storeWriter, storeCommitter, configuration.store.uidPolicy)
    }
}
