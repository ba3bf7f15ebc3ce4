// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMNetwork
import Reactor

/// The checks C-FIND, C-GET and C-MOVE make before any query runs (PS3.4 C.4): the
/// presentation context carries one of the service's SOP classes, the Affected SOP Class UID
/// agrees with it, the daemon has an index, and the identifier decodes and parses into the
/// service's request. One place, so that the three services refuse the same faults with the
/// same statuses and comments.
struct QueryRetrievePrelude<Request> {
    /// Why the request is refused: the status and Error Comment of the failure response, the
    /// Offending Elements, and what is known of the request for the completion log line.
    struct Refusal: Error {
        var status: DIMSEStatus
        var comment: String
        var offending: [Tag] = []
        var model = "-"
        var level = "-"
    }

    let model: QueryModel
    let transferSyntax: TransferSyntax
    let request: Request
    let store: any IndexStore
    let workers: WorkerPool

    /// Runs the checks for `message`, in the order a peer's mistakes are most usefully
    /// reported. `name` is the DIMSE command for comments ("C-GET"); a request without an
    /// identifier is refused with `missingIdentifier` (C-FIND answers "unable to process",
    /// C-GET and C-MOVE "identifier does not match SOP class").
    static func check(
        _ message: DIMSEMessage, on host: any DIMSEServiceHost, name: String,
        sopClasses: Set<String>, missingIdentifier: DIMSEStatus,
        parse: (QueryModel, DataSet) throws(QueryError) -> Request
    ) -> Result<Self, Refusal> {
        guard let context = host.negotiated?.contexts[message.contextID],
            sopClasses.contains(context.abstractSyntax),
            let model = QueryModel(sopClassUID: context.abstractSyntax)
        else {
            return .failure(
                Refusal(
                    status: .sopClassNotSupported,
                    comment: "\(name) is not supported on this presentation context"))
        }
        if let affected = message.command.affectedSOPClassUID, affected != context.abstractSyntax {
            return .failure(
                Refusal(
                    status: .sopClassNotSupported,
                    comment: "Affected SOP Class UID does not match the presentation context",
                    model: model.rawValue))
        }
        guard let store = host.index, let workers = host.workers else {
            return .failure(Refusal(status: .unableToProcess, comment: "no index", model: model.rawValue))
        }
        let transferSyntax = TransferSyntax(uid: context.transferSyntax)
        let identifier: DataSet
        do {
            guard let decoded = try message.decodedIdentifier(transferSyntax: transferSyntax) else {
                return .failure(
                    Refusal(
                        status: missingIdentifier, comment: "\(name)-RQ without identifier",
                        model: model.rawValue))
            }
            identifier = decoded
        } catch {
            return .failure(
                Refusal(
                    status: .unableToProcess, comment: "cannot decode identifier: \(error)",
                    model: model.rawValue))
        }
        do {
            let request = try parse(model, identifier)
            return .success(
                Self(
                    model: model, transferSyntax: transferSyntax, request: request, store: store,
                    workers: workers))
        } catch {
            return .failure(
                Refusal(
                    status: DIMSEStatus(error.status), comment: error.comment,
                    offending: error.offendingElements, model: model.rawValue,
                    level: identifier.string(.queryRetrieveLevel) ?? "-"))
        }
    }
}
