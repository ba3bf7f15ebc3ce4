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
/// from ``MetadataCache`` when present, otherwise its file is parsed on a worker and cached.
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
        let key = MetadataCache.Key(path: instance.path, size: instance.size, modificationTime: instance.modificationTime,
                                    base: base)
        if let hit = cache.get(key) { return hit }
        let bytes = try DICOMFile.readBytes(instance.path)
        let file = try DICOMFile(bytes: bytes[...])
        let prefix = "\(base)/studies/\(instance.studyInstanceUID)/series/\(instance.seriesInstanceUID)/instances/\(instance.sopInstanceUID)/bulk/"
        let encoder = DICOMJSONEncoder(inlineBinaryLimit: inlineBinaryLimit) { reference in
            reference.path.isEmpty ? prefix + String(format8: reference.tag.value) : nil
        }
        let json = encoder.encode(file.dataSet)
        cache.put(key, json)
        return json
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
        lookup.workers.run({ () throws -> [UInt8] in
            var out: [UInt8] = []
            for (i, instance) in slice.enumerated() {
                if i > 0 || !first { out.append(0x2C) }
                out += try WADOMetadataHandler.json(instance, base: base, cache: cache)
            }
            return out
        }, on: lookup.loop) { [self] result in
            guard !stopped, !response.isAborted else { return }
            switch result {
            case .failure(let error):
                if response.hasBegun { response.abortConnection() } else { response.sendError(500, "cannot read a stored file: \(error)") }
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
