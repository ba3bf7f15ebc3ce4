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
            InstanceStream(instances: instances, syntax: syntax, lookup: lookup, response: response).start()
        }
    }
}

/// One retrieval in progress, loop-confined.
final class InstanceStream {
    let instances: [IndexedInstance]
    /// The native syntax to convert to, nil to send each file as stored.
    let syntax: String?
    let lookup: WADOLookup
    let response: HTTPResponse
    var writer = MultipartWriter(partType: "application/dicom")
    var next = 0
    var stopped = false
    /// Parts queued and not yet counted in `qrscpd_dicomweb_instances_sent_total`.
    var unsent = SentPartTally()

    /// `instances` is not empty (the lookup answers 404 itself otherwise).
    init(instances: [IndexedInstance], syntax: String?, lookup: WADOLookup, response: HTTPResponse) {
        self.instances = instances
        self.syntax = syntax
        self.lookup = lookup
        self.response = response
        response.onAbort = { [weak self] in
            self?.stopped = true
            self?.countWritten()
        }
    }

    enum Part: Sendable {
        case file(OpenFile, size: Int, syntax: String)
        case bytes([UInt8], syntax: String)
    }

    /// Loads the first part before anything is sent: until then a failure (a file removed or
    /// changed behind the index's back) can still be answered with its own status.
    func start() {
        load(instances[0]) { [self] result in
            switch result {
            case .failure(let error):
                lookup.fail(response, error)
            case .success(let part):
                response.begin(status: 200, contentType: writer.contentType(), contentLength: nil)
                send(part)
            }
        }
    }

    /// Loads the next instance, or ends the body after the last.
    func produce() {
        guard !stopped else { return }
        countWritten()
        guard next < instances.count else {
            response.write(writer.closing)
            response.end()
            lookup.counter.sent(unsent.all(), by: .wadoRS)
            return
        }
        load(instances[next]) { [self] result in
            switch result {
            case .failure(let error):
                // The status went out with the first part: no other can follow it. The connection
                // is cut without the closing boundary (and, chunked, without the last chunk), so
                // the client sees an incomplete response rather than a shorter valid one.
                lookup.logger.warning(
                    "WADO-RS retrieval cut off: a stored file failed after the response began",
                    metadata: ["reason": "\(error.reason)"])
                countWritten()
                response.abortConnection()
            case .success(let part):
                send(part)
            }
        }
    }

    /// Opens (and pages in, or converts) one instance on a worker; `then` runs on the loop unless
    /// the client has gone.
    private func load(_ instance: IndexedInstance, then: @escaping (Result<Part, WADOError>) -> Void) {
        let syntax = syntax
        next += 1
        lookup.workers.run({ () throws(WADOError) -> Part in try Self.load(instance, as: syntax) }, on: lookup.loop) {
            [self] result in
            guard !stopped, !response.isAborted else { return }
            then(result)
        }
    }

    /// Sends one part, then produces the next once the client has taken enough of it.
    private func send(_ part: Part) {
        let contentType = "application/dicom; transfer-syntax=\(partSyntax(part))"
        let header = writer.partHeader(contentType: contentType)
        switch part {
        case .file(let file, let size, _):
            response.write([.bytes(header[...]), .file(FileRegion(file: file, offset: 0, length: size))])
        case .bytes(let bytes, _):
            response.write([.bytes(header[...]), .bytes(bytes[...])])
        }
        if let output = response.connectionOutput { unsent.queued(endingAt: output.queuedEnd) }
        response.whenWritable { [self] in produce() }
    }

    /// Counts the parts the connection has written to the socket.
    private func countWritten() {
        guard let output = response.connectionOutput else { return }
        lookup.counter.sent(unsent.written(upTo: output.written), by: .wadoRS)
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
        // Missing or changed: the same answer as for a file sent as stored; the bytes converted
        // are read through the descriptor whose size was checked.
        let (file, size) = try WADOLookup.open(instance)
        do {
            let bytes = try FileDescriptor(rawValue: file.fd).read(at: 0, count: size)
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
