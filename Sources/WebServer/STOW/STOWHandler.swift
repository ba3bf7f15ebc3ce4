// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMWeb
import HTTP1
import Logging
import Reactor

/// STOW-RS (PS3.18 §10.5): `POST /dicom-web/studies[/{study}]` with a
/// `multipart/related; type="application/dicom"` body. Each part is streamed into the C-STORE
/// path as it arrives (``STOWReceiver``): temporary file, fdatasync, rename, group commit and
/// index, with the same UID and duplicate policies; the response is sent once every part is
/// durable or has failed.
struct STOWHandler: HTTPHandler {
    let workers: WorkerPool
    let loop: EventLoop
    let storePath: (writer: StoreWriter, committer: StoreCommitter, uidPolicy: UIDPolicy)?
    let logger: Logger
    let counter: DICOMWebInstanceCounter

    /// Answers requests whose body is not taken by a receiver (a wrong Content-Type).
    func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        response.sendError(415, "STOW-RS takes multipart/related; type=\"application/dicom\" with a boundary")
    }

    func bodyReceiver(for request: HTTPRequest, _ response: HTTPResponse) -> (any HTTPBodyReceiver)? {
        guard let contentType = request.head.fields["content-type"], let media = MediaType(parsing: contentType),
            media.essence == "multipart/related", let boundary = media.parameter("boundary"),
            (1...70).contains(boundary.utf8.count),
            media.parameter("type").map({ MediaType(parsing: $0)?.essence == "application/dicom" }) ?? true
        else {
            return nil
        }
        guard let storePath else {
            return STOWReceiver.refusing(
                response, loop: loop, logger: logger, status: 503,
                reason: "storing is disabled (no index or store.enabled off)")
        }
        let study = request.pathParameters["study"]
        let base = QIDOHandler.retrieveBase(request) ?? DICOMWebRoutes.base
        return STOWReceiver(
            boundary: boundary, study: study, base: base, storePath: storePath,
            lane: SerialWorkQueue(pool: workers), loop: loop, response: response, logger: logger, counter: counter)
    }
}
