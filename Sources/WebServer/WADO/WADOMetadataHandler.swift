// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMFiles
import DICOMJSON
import DICOMWeb
import Reactor

/// WADO-RS metadata of a study, series or instance (PS3.18 §10.4.1.1.2): a JSON array with the
/// full `application/dicom+json` of each instance. Binary values over
/// ``inlineBinaryLimit`` bytes at the top level (Pixel Data above all) are BulkDataURIs to
/// the instance's `bulk/{tag}` resource; nested ones stay inline. Each instance's JSON comes
/// from ``MetadataCache`` when present, otherwise its file is walked on a worker (bulk values
/// skipped, not read) and cached.
struct WADOMetadataHandler: HTTPHandler {
    let lookup: WADOLookup
    let cache: MetadataCache
    /// Binary values longer than this are sent as BulkDataURI.
    static let inlineBinaryLimit = 1024
    /// Instances encoded per worker job.
    static let batch = 64

    func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        guard WADONegotiation.choose(.metadata, accept: WADOLookup.acceptValues(request)) == .dicomJSON else {
            response.sendError(406, "metadata is application/dicom+json only")
            return
        }
        let base = QIDOHandler.retrieveBase(request) ?? DICOMWebRoutes.base
        lookup.instances(request, response) { instances in
            MetadataStream(instances: instances, base: base, cache: cache, lookup: lookup, response: response).next()
        }
    }

    /// The JSON object of one instance (cached, or parsed now). Blocking.
    static func json(_ instance: IndexedInstance, base: String, cache: MetadataCache) throws -> [UInt8] {
        let key = MetadataCache.Key(
            path: instance.path, size: instance.size, modificationTime: instance.modificationTime,
            base: base)
        if let hit = cache.get(key) { return hit }
        let prefix =
            "\(base)/studies/\(instance.studyInstanceUID)/series/\(instance.seriesInstanceUID)/instances/\(instance.sopInstanceUID)/bulk/"
        let encoder = DICOMJSONEncoder(inlineBinaryLimit: inlineBinaryLimit) { reference in
            reference.path.isEmpty ? prefix + String(format8: reference.tag.value) : nil
        }
        let json = try storedJSON(instance, encoder: encoder)
        cache.put(key, json)
        return json
    }
}

extension WADOMetadataHandler {
    /// The JSON of a stored file read element by element (``StoredDataSet``): bulk values are
    /// skipped by their length, never read, and become BulkDataURIs; so a file costs the reads
    /// of its other values whatever its size and wherever its Pixel Data is. A deflated data
    /// set cannot be walked in the file and is read whole (up to
    /// ``WADOFramesHandler/maxHeaderProbe``). Blocking.
    static func storedJSON(_ instance: IndexedInstance, encoder: DICOMJSONEncoder) throws -> [UInt8] {
        let (file, size) = try WADOLookup.open(instance)
        let fd = FileDescriptor(rawValue: file.fd)
        return try withExtendedLifetime(file) {
            if TransferSyntax(uid: instance.transferSyntaxUID).isDeflated {
                guard size <= WADOFramesHandler.maxHeaderProbe else {
                    throw WADOError(500, "a deflated data set over \(WADOFramesHandler.maxHeaderProbe) bytes")
                }
                return encoder.encode(try DICOMFile(bytes: try fd.read(at: 0, count: size)[...]).dataSet)
            }
            let window = FileWindow(fileSize: size) { offset, count in try fd.read(at: offset, count: count) }
            let stored = try StoredDataSet(
                window, bulkLimit: inlineBinaryLimit, maxRead: WADOFramesHandler.maxHeaderProbe)
            // Each value left unread stands in as bytes just over the inline limit (the encoder
            // looks at nothing but their count), so the encoder writes its BulkDataURI.
            let placeholder = [UInt8](repeating: 0, count: inlineBinaryLimit + 1)
            var dataSet = stored.dataSet
            for bulk in stored.bulk { dataSet.set(DataElement(tag: bulk.tag, vr: bulk.vr, bytes: placeholder[...])) }
            return encoder.encode(dataSet)
        }
    }
}

/// One metadata response in progress, loop-confined: instances encoded in batches on workers.
final class MetadataStream {
    let instances: [IndexedInstance]
    let base: String
    let cache: MetadataCache
    let lookup: WADOLookup
    let response: HTTPResponse
    var done = 0
    var stopped = false

    init(instances: [IndexedInstance], base: String, cache: MetadataCache, lookup: WADOLookup, response: HTTPResponse) {
        self.instances = instances
        self.base = base
        self.cache = cache
        self.lookup = lookup
        self.response = response
        response.onAbort = { [weak self] in self?.stopped = true }
    }

    func next() {
        guard !stopped else { return }
        let slice = Array(instances[done..<min(done + WADOMetadataHandler.batch, instances.count)])
        let (base, cache, first) = (base, cache, done == 0)
        lookup.workers.run(
            { () throws -> [UInt8] in
                var out: [UInt8] = []
                for (i, instance) in slice.enumerated() {
                    if i > 0 || !first { out.append(0x2C) }
                    out += try WADOMetadataHandler.json(instance, base: base, cache: cache)
                }
                return out
            }, on: lookup.loop
        ) { [self] result in
            guard !stopped, !response.isAborted else { return }
            switch result {
            case .failure(let error):
                let failure = error as? WADOError ?? WADOError(500, "cannot read a stored file: \(error)")
                if response.hasBegun {
                    // Part of the array is out: only an incomplete response can say it failed.
                    lookup.logger.warning(
                        "WADO-RS metadata cut off: a stored file failed after the response began",
                        metadata: ["reason": "\(failure.reason)"])
                    response.abortConnection()
                } else {
                    lookup.fail(response, failure)
                }
            case .success(let json):
                if !response.hasBegun {
                    response.begin(status: 200, contentType: "application/dicom+json", contentLength: nil)
                    response.write([0x5B])
                }
                response.write(json)
                done += slice.count
                if done == instances.count {
                    response.write([0x5D])
                    response.end()
                } else {
                    response.whenWritable { [self] in next() }
                }
            }
        }
    }
}

extension String {
    /// A tag value as 8 uppercase hex digits.
    init(format8 value: UInt32) {
        let hex = String(value, radix: 16, uppercase: true)
        self = String(repeating: "0", count: 8 - hex.count) + hex
    }
}
