// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMFiles
import DICOMWeb
import Reactor

/// WADO-RS study, series and instance retrieval (PS3.18 §10.4.1.1.1): a
/// `multipart/related; type="application/dicom"` body, one part per instance. A file sent in
/// its stored transfer syntax goes out whole from the page cache with `sendfile` (each part is
/// exactly the stored file); one converted to another native syntax is re-encoded in memory on a
/// worker. Parts are produced one at a time, the next once the client has taken the previous.
struct WADORetrieveHandler: HTTPHandler {
    let lookup: WADOLookup

    func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        let accept = WADOLookup.acceptValues(request)
        lookup.instances(request, response) { instances in
            let stored = Set(instances.map(\.transferSyntaxUID))
            guard let representation = WADONegotiation.choose(.instances(stored: stored), accept: accept),
                case .multipartDICOM(let syntax) = representation
            else {
                response.sendError(
                    406,
                    "instances are sent as multipart/related; type=\"application/dicom\" in their stored transfer syntax or a native one (no transcoding of compressed data)"
                )
                return
            }
            InstanceStream(
                instances: instances, syntax: syntax, workers: lookup.workers, loop: lookup.loop,
                response: response
            ).start()
        }
    }
}

/// One retrieval in progress, loop-confined.
final class InstanceStream {
    let instances: [IndexedInstance]
    /// The native syntax to convert to, nil to send each file as stored.
    let syntax: String?
    let workers: WorkerPool
    let loop: EventLoop
    let response: HTTPResponse
    var writer = MultipartWriter(partType: "application/dicom")
    var next = 0
    var stopped = false

    init(instances: [IndexedInstance], syntax: String?, workers: WorkerPool, loop: EventLoop, response: HTTPResponse) {
        self.instances = instances
        self.syntax = syntax
        self.workers = workers
        self.loop = loop
        self.response = response
        response.onAbort = { [weak self] in self?.stopped = true }
    }

    enum Part: Sendable {
        case file(OpenFile, size: Int, syntax: String)
        case bytes([UInt8], syntax: String)
    }

    func start() {
        response.begin(status: 200, contentType: writer.contentType(), contentLength: nil)
        produce()
    }

    /// Loads the next instance on a worker (opened and paged in, or converted).
    func produce() {
        guard !stopped else { return }
        guard next < instances.count else {
            response.write(writer.closing)
            response.end()
            return
        }
        let instance = instances[next]
        let syntax = syntax
        next += 1
        workers.run({ () throws(WADOError) -> Part in try Self.load(instance, as: syntax) }, on: loop) {
            [self] result in
            guard !stopped, !response.isAborted else { return }
            switch result {
            case .failure:
                // The status went out with the first part: the client sees a truncated body.
                response.abortConnection()
            case .success(let part):
                let contentType = "application/dicom; transfer-syntax=\(partSyntax(part))"
                let header = writer.partHeader(contentType: contentType)
                switch part {
                case .file(let file, let size, _):
                    response.write([.bytes(header[...]), .file(FileRegion(file: file, offset: 0, length: size))])
                case .bytes(let bytes, _):
                    response.write([.bytes(header[...]), .bytes(bytes[...])])
                }
                response.whenWritable { [self] in produce() }
            }
        }
    }

    private func partSyntax(_ part: Part) -> String {
        switch part {
        case .file(_, _, let s), .bytes(_, let s): return s
        }
    }

    static func load(_ instance: IndexedInstance, as syntax: String?) throws(WADOError) -> Part {
        if syntax == nil || syntax == instance.transferSyntaxUID {
            let (file, size) = try WADOLookup.open(instance)
            PageIn.makeResident(file, offset: 0, length: size)
            return .file(file, size: size, syntax: instance.transferSyntaxUID)
        }
        do {
            let bytes = try DICOMFile.readBytes(instance.path)
            let file = try DICOMFile(bytes: bytes[...])
            let target = TransferSyntax(uid: syntax!)
            let encoded = try DICOMFile.encode(
                dataSet: file.dataSet, transferSyntax: target,
                sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID)
            return .bytes(encoded, syntax: target.uid)
        } catch {
            throw WADOError(500, "cannot convert \(instance.sopInstanceUID): \(error)")
        }
    }
}
