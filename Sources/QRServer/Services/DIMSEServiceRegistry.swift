// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging

/// What a host does with the DIMSE requests that run for a while: it queues C-FINDs (one
/// answered at a time), holds the running C-GET or C-MOVE, and routes C-CANCEL and the
/// requester's C-STORE-RSPs to them (`Association+FindQueue.swift`, `Association+Retrieve.swift`).
protocol DIMSEOperationScheduler: DIMSEServiceHost {
    /// A C-FIND-RQ: answered now, or queued behind the running one.
    func enqueueFind(_ message: DIMSEMessage)
    /// A C-CANCEL-RQ for the running or a queued operation.
    func cancelOperation(_ message: DIMSEMessage)
    /// A C-GET-RQ or C-MOVE-RQ.
    func startRetrieve(_ message: DIMSEMessage, field: CommandField)
    /// A C-STORE-RSP from the requester: the answer to a C-GET sub-operation.
    func retrieveStoreResponse(_ message: DIMSEMessage)
}

/// The DIMSE services of a host, keyed by command field: each complete message received (a
/// C-STORE-RQ with its data set streams to ``StoreService`` instead) goes to the service its
/// command field names, once the calling AE title is allowed to use that service.
struct DIMSEServiceRegistry<Host: DIMSEServiceHost> {
    /// How one command field is served.
    struct Entry {
        /// The service whose calling-AE allow-list applies (`ServerConfiguration.isAllowed`);
        /// nil for responses and C-CANCEL, which belong to an operation already allowed.
        var service: DICOMService?
        var handle: (DIMSEMessage, CommandField, Host) -> Void
    }

    private let entries: [CommandField: Entry]

    init(_ entries: [CommandField: Entry]) { self.entries = entries }

    /// Passes `message` to its service. A calling AE not allowed the service gets 0124 with an
    /// Error Comment; an unknown command field, or a response no operation waits for, is logged
    /// and otherwise ignored.
    func dispatch(_ message: DIMSEMessage, on host: Host) {
        host.statistics.record { $0.messagesProcessed += 1 }
        guard let field = message.command.commandField else {
            host.logger.warning(
                "unknown DIMSE command field",
                metadata: [
                    "command_field": "\(message.command.commandFieldValue.map { String($0, radix: 16) } ?? "none")"
                ])
            return
        }
        guard let entry = entries[field] else {
            host.logger.warning("unexpected DIMSE response from peer", metadata: ["dimse_command": "\(field)"])
            return
        }
        if let service = entry.service, let calling = host.negotiated?.callingAETitle,
            !host.configuration.isAllowed(callingAE: calling, service: service)
        {
            DIMSEResponder.refuse(
                message, field: field, status: .notAuthorized,
                comment: "calling AE \(calling) is not allowed to use \(service.rawValue)", on: host)
            return
        }
        entry.handle(message, field, host)
    }
}

extension DIMSEServiceRegistry where Host: DIMSEOperationScheduler {
    /// The services of this build: Verification, Query/Retrieve FIND, GET and MOVE (with
    /// C-CANCEL and the C-STORE-RSPs of C-GET sub-operations). A C-STORE-RQ that reaches
    /// here came without a data set on a context no storage service takes: refused 0122.
    static var standard: Self {
        Self([
            .cEchoRQ: Entry(service: .echo) { message, _, host in VerificationService.handle(message, on: host) },
            .cFindRQ: Entry(service: .find) { message, _, host in host.enqueueFind(message) },
            .cCancelRQ: Entry(service: nil) { message, _, host in host.cancelOperation(message) },
            .cGetRQ: Entry(service: .get) { message, field, host in host.startRetrieve(message, field: field) },
            .cMoveRQ: Entry(service: .move) { message, field, host in host.startRetrieve(message, field: field) },
            .cStoreRSP: Entry(service: nil) { message, _, host in host.retrieveStoreResponse(message) },
            .cStoreRQ: Entry(service: .store) { message, field, host in
                DIMSEResponder.refuse(
                    message, field: field, status: .sopClassNotSupported,
                    comment: "service not provided by this server", on: host)
            },
        ])
    }
}
