// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMJSON
import HTTP1
import Reactor

/// QIDO-RS searches (PS3.18 §10.6) at one level: the query becomes a `FindRequest`, pages of
/// matches come from the index on the worker pool exactly as C-FIND pages do, and each page is
/// encoded as `application/dicom+json` on the worker and streamed, the next page fetched only
/// once the client has taken the previous one.
public struct QIDOHandler: HTTPHandler {
    public let level: QueryLevel
    let store: any IndexStore
    let workers: WorkerPool
    let loop: EventLoop
    /// Matches per index page (one worker job, one read transaction).
    static let pageSize = 256

    public init(level: QueryLevel, store: any IndexStore, workers: WorkerPool, loop: EventLoop) {
        self.level = level
        self.store = store
        self.workers = workers
        self.loop = loop
    }

    public func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        guard MediaTypes.accepts(request.head.fields, MediaTypes.dicomJSON, alternatives: ["application/json"]) else {
            response.sendError(406, "search results are application/dicom+json only")
            return
        }
        let query: QIDOQuery
        do {
            query = try QIDOQuery(
                level: level, study: request.pathParameters["study"],
                series: request.pathParameters["series"], query: request.query)
        } catch {
            response.sendError(400, error.message)
            return
        }
        let search = QIDOSearch(
            query: query, store: store, workers: workers, loop: loop, response: response,
            retrieveBase: Self.retrieveBase(request))
        search.fetch()
    }

    /// "http://host/dicom-web" from the Host field, for Retrieve URL (0008,1190); nil when the
    /// field is absent or holds anything but host characters.
    static func retrieveBase(_ request: HTTPRequest) -> String? {
        guard let host = request.head.fields["host"], !host.isEmpty, host.utf8.count <= 255,
            host.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x3A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == 0x2E || b == 0x2D || b == 0x5B || b == 0x5D || b == 0x5F
            })
        else { return nil }
        return "http://\(host)\(DICOMWebRoutes.base)"
    }
}

/// One search in progress, loop-confined: paging state and the response.
final class QIDOSearch {
    let query: QIDOQuery
    let store: any IndexStore
    let workers: WorkerPool
    let loop: EventLoop
    let response: HTTPResponse
    let retrieveBase: String?
    private var token: ResumeToken?
    private var skip: Int
    private var remaining: Int?
    private var sentAny = false
    private var stopped = false

    init(
        query: QIDOQuery, store: any IndexStore, workers: WorkerPool, loop: EventLoop, response: HTTPResponse,
        retrieveBase: String?
    ) {
        self.query = query
        self.store = store
        self.workers = workers
        self.loop = loop
        self.response = response
        self.retrieveBase = retrieveBase
        skip = query.offset
        remaining = query.limit
        response.onAbort = { [weak self] in self?.stopped = true }
    }

    /// What a worker hands back for one index page.
    struct Page: Sendable {
        var json: [UInt8]
        var count: Int
        var skip: Int
        var remaining: Int?
        var next: ResumeToken?
        var unsupportedKeys: Bool
    }

    func fetch() {
        guard !stopped else { return }
        let (request, store, token, skip, remaining, base) = (
            query.request, store, token, skip, remaining, retrieveBase
        )
        workers.run(
            { () throws -> Page in
                try Self.page(request, store: store, after: token, skip: skip, remaining: remaining, retrieveBase: base)
            }, on: loop
        ) { [self] result in arrived(result) }
    }

    static func page(
        _ request: FindRequest, store: any IndexStore, after token: ResumeToken?, skip: Int,
        remaining: Int?, retrieveBase: String?
    ) throws -> Page {
        // limit=0 asks for nothing (and a limit of 0 would mean "no limit" to the index).
        if remaining == 0 {
            return Page(json: [], count: 0, skip: skip, remaining: 0, next: nil, unsupportedKeys: false)
        }
        let limit = min(QIDOHandler.pageSize, (remaining ?? Int.max - skip) + skip)
        let found = try store.find(request, after: token, limit: limit)
        var page = Page(
            json: [], count: 0, skip: skip, remaining: remaining, next: found.next,
            unsupportedKeys: found.hasUnsupportedOptionalKeys)
        let encoder = DICOMJSONEncoder()
        for var match in found.matches {
            if page.skip > 0 {
                page.skip -= 1
                continue
            }
            if page.remaining == 0 { break }
            _ = match.remove(.queryRetrieveLevel)
            if let url = retrieveURL(match, level: request.level, base: retrieveBase) {
                match.set(Tag(0x0008, 0x1190), vr: .UR, string: url)
            }
            if page.count > 0 { page.json.append(0x2C) }
            encoder.write(match, into: &page.json)
            page.count += 1
            if let r = page.remaining { page.remaining = r - 1 }
        }
        if page.remaining == 0 { page.next = nil }
        return page
    }

    private static func retrieveURL(_ match: DataSet, level: QueryLevel, base: String?) -> String? {
        guard let base, let study = match.string(Tag(0x0020, 0x000D)), !study.isEmpty else { return nil }
        var url = "\(base)/studies/\(study)"
        guard level != .study, level != .patient else { return url }
        guard let series = match.string(Tag(0x0020, 0x000E)), !series.isEmpty else { return url }
        url += "/series/\(series)"
        guard level == .image, let instance = match.string(Tag(0x0008, 0x0018)), !instance.isEmpty else { return url }
        return url + "/instances/\(instance)"
    }

    private func arrived(_ result: Result<Page, any Error>) {
        guard !stopped, !response.isAborted else { return }
        let page: Page
        switch result {
        case .failure(let error):
            if response.hasBegun {
                response.abortConnection()
            } else {
                response.sendError(500, "the index query failed: \(error)")
            }
            return
        case .success(let p):
            page = p
        }
        token = page.next
        skip = page.skip
        remaining = page.remaining
        if !response.hasBegun, page.count > 0 || page.next == nil {
            if page.count == 0 {
                // PS3.18 §8.3.4.4.1: no match is 204 (No Content) with an empty payload.
                response.send(status: 204)
                return
            }
            var fields = HTTP1.HTTPFields()
            if page.unsupportedKeys {
                fields.append(
                    name: "Warning",
                    value: "299 qrscpd \"some keys are not supported for matching and were returned empty\"")
            }
            response.begin(status: 200, contentType: MediaTypes.dicomJSON, contentLength: nil, fields: fields)
            response.write([0x5B])
        }
        if page.count > 0 {
            response.write(sentAny ? [0x2C] + page.json : page.json)
            sentAny = true
        }
        guard page.next != nil else {
            response.write([0x5D])
            response.end()
            return
        }
        response.whenWritable { [self] in fetch() }
    }
}
