// SPDX-License-Identifier: Apache-2.0
import DaemonSettings

extension Daemon {
    /// The settings a reload changed, by their key in the file, for the "settings reloaded" line.
    static func describeChanges(from old: DaemonSettings, to new: DaemonSettings) -> [String] {
        var changed: [String] = []
        if old.logLevel != new.logLevel { changed.append("log_level") }
        if old.maxAssociations != new.maxAssociations { changed.append("limits.max_associations") }
        if old.maxPDU != new.maxPDU { changed.append("limits.max_pdu") }
        if old.acseTimeout != new.acseTimeout { changed.append("limits.acse_timeout") }
        if old.idleTimeout != new.idleTimeout { changed.append("limits.idle_timeout") }
        if old.shutdownGracePeriod != new.shutdownGracePeriod { changed.append("limits.shutdown_grace_period") }
        if old.movePendingInterval != new.movePendingInterval { changed.append("limits.move_pending_interval_ms") }
        if old.maxUnassociated != new.maxUnassociated { changed.append("limits.max_unassociated") }
        if old.peers != new.peers { changed.append("peers") }
        if old.allowedCallingAETitles != new.allowedCallingAETitles { changed.append("allowed_calling_ae_titles") }
        if old.storageLayout != new.storageLayout { changed.append("storage.layout") }
        if old.duplicatePolicy != new.duplicatePolicy { changed.append("storage.duplicates") }
        if old.uidPolicy != new.uidPolicy { changed.append("storage.uid_policy") }
        if old.tls != new.tls { changed.append(SettingsKeys.tlsSection) }
        return changed
    }
}
