// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMWeb
import Logging
import Reactor

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Finding the stored instances a WADO-RS path names, and opening their files. Blocking parts
/// run on the worker pool.
struct WADOLookup: Sendable {
    let store: any IndexStore
    let workers: WorkerPool
    let loop: EventLoop
    let logger: Logger
    /// Counts the instances sent (WADO-RS retrieval, WADO-URI).
    let counter: DICOMWebInstanceCounter

    /// The instances under `{study}[/{series}[/{instance}]]` of the request's path, in series
    /// and instance number order; answers 404 itself (and calls nothing) when there are none,
    /// and 500 when the index fails.
    func instances(
        _ request: HTTPRequest, _ response: HTTPResponse,
        then: @escaping ([IndexedInstance]) -> Void
    ) {
        let study = request.parameter("study")
        let series = request.pathParameters["series"]
        let instance = request.pathParameters["instance"]
        guard let index = store as? any RetrieveIndex else {
            response.sendError(503, "no index")
            return
        }
        let level: QueryLevel = instance != nil ? .image : series != nil ? .series : .study
        let retrieve = RetrieveRequest(
            model: .studyRoot, level: level, studyInstanceUIDs: [study],
            seriesInstanceUIDs: series.map { [$0] } ?? [],
            sopInstanceUIDs: instance.map { [$0] } ?? [])
        workers.run({ () throws -> [IndexedInstance] in try index.instances(for: retrieve) }, on: loop) { result in
            guard !response.isAborted else { return }
            switch result {
            case .failure(let error): response.sendError(500, "the index query failed: \(error)")
            case .success(let found) where found.isEmpty:
                response.sendError(404, "no such \(level == .image ? "instance" : level.rawValue.lowercased())")
            case .success(let found): then(found)
            }
        }
    }

    /// Opens a stored file for `sendfile` and checks its size against the index (a file that
    /// changed since it was indexed is not sent). Blocking.
    static func open(_ instance: IndexedInstance) throws(WADOError) -> (file: OpenFile, size: Int) {
        let fd = Glibc.open(instance.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            // Gone behind the index's back (removed by hand): the instance is not there to send.
            throw WADOError(
                error == ENOENT ? 404 : 500,
                "cannot open the stored file of \(instance.sopInstanceUID) (errno \(error))")
        }
        let file = OpenFile(takingOwnershipOf: fd, name: instance.path)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WADOError(500, "cannot stat \(instance.path)") }
        guard Int64(st.st_size) == instance.size else {
            throw WADOError(500, "the stored file of \(instance.sopInstanceUID) changed since it was indexed")
        }
        return (file, Int(st.st_size))
    }

    /// Answers a failure to read a stored file: its status, logged with the reason (the request
    /// log line only carries the status).
    func fail(_ response: HTTPResponse, _ error: WADOError) {
        logger.warning(
            "WADO-RS cannot send a stored file",
            metadata: ["http_status": "\(error.status)", "reason": "\(error.reason)"])
        response.sendError(error.status, error.reason)
    }

    /// The request's Accept lines; the `accept` query parameter replaces them (PS3.18 §8.3.3.1).
    static func acceptValues(_ request: HTTPRequest) -> [String] {
        let query = request.queryValues("accept")
        return query.isEmpty ? request.head.fields.values("accept") : query
    }
}

/// A failure with the HTTP status to answer.
struct WADOError: Error, Sendable, CustomStringConvertible {
    let status: Int
    let reason: String
    init(_ status: Int, _ reason: String) {
        self.status = status
        self.reason = reason
    }
    var description: String { reason }
}
