// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM

/// C-STORE ingest settings (Storage SCP) beyond the two the daemon configures directly
/// (``ServerConfiguration/storageLayout`` and ``ServerConfiguration/duplicatePolicy``).
public struct StoreSettings: Sendable, Equatable {
    /// Whether storage presentation contexts are accepted at all.
    public var enabled: Bool
    /// A path template overriding ``ServerConfiguration/storageLayout``, e.g.
    /// `{SOPClassUID}/{StudyUID}/{SOPInstanceUID}.dcm` (see ``StoreLayout``); nil = use it.
    public var pathTemplate: StoreLayout?
    /// Received-but-unwritten bytes per association above which the association stops
    /// reading its socket until the writer catches up (bounded memory per association).
    public var maxQueuedBytes: Int
    /// How received SOP Instance, Study and Series Instance UIDs are checked
    /// (`storage.uid_policy`); read per C-STORE, so a reload applies to the next one.
    public var uidPolicy: UIDPolicy

    public init(
        enabled: Bool = true, pathTemplate: StoreLayout? = nil, maxQueuedBytes: Int = 8 * 1024 * 1024,
        uidPolicy: UIDPolicy = .strict
    ) {
        self.enabled = enabled
        self.pathTemplate = pathTemplate
        self.maxQueuedBytes = maxQueuedBytes
        self.uidPolicy = uidPolicy
    }
}

extension ServerConfiguration {
    /// The path template received files are written to (QR-29: UIDs sanitized by ``StoreLayout``).
    public var effectiveStoreLayout: StoreLayout {
        if let template = store.pathTemplate { return template }
        switch storageLayout {
        case .hierarchical: return .default
        case .flat: return .flat
        }
    }

    /// The writer's duplicate policy for ``duplicatePolicy``.
    var storeDuplicatePolicy: StoreDuplicatePolicy {
        switch duplicatePolicy {
        case .keep: return .keep
        case .replace: return .replace
        case .reject: return .reject
        }
    }
}
