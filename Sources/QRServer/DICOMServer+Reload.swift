// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork

extension DICOMServer {
    /// Applies reloaded settings without touching open associations: new associations are
    /// negotiated with the new policy (allowed calling AE titles, max PDU) and counted against
    /// the new limits; peers, timeouts and storage policies are read from ``configuration``
    /// when used. The listening address, port, our AE title and the storage directory need a
    /// restart and are kept; the returned names list those that differed.
    @discardableResult
    public func apply(_ newConfiguration: ServerConfiguration) -> [String] {
        var updated = newConfiguration
        var needRestart: [String] = []
        if updated.port != configuration.port { needRestart.append("port") }
        if updated.bindAddress != configuration.bindAddress { needRestart.append("bind") }
        if updated.aeTitle != configuration.aeTitle { needRestart.append("ae_title") }
        if updated.storageDirectory != configuration.storageDirectory { needRestart.append("storage.directory") }
        if updated.tlsPort != configuration.tlsPort { needRestart.append("tls.port") }
        updated.port = configuration.port
        updated.bindAddress = configuration.bindAddress
        updated.aeTitle = configuration.aeTitle
        updated.storageDirectory = configuration.storageDirectory
        updated.tlsPort = configuration.tlsPort
        // Associations already open negotiated the old maximum: keep accepting PDUs up to the
        // larger of the two.
        let tolerated = max(decoderLimits.maxPDataLength, updated.maxPDULength)
        configuration = updated
        acceptorPolicy = ServicePolicy.acceptorPolicy(for: updated)
        decoderLimits.maxPDataLength = tolerated
        return needRestart
    }

    /// Closes the listening socket: no new connections, open ones carry on. Part of a graceful
    /// shutdown; finish with ``shutdown(completion:)``.
    public func stopAccepting() {
        listener?.close()
        listener = nil
        tlsListener?.close()
        tlsListener = nil
    }
}
