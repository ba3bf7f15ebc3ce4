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
        let key = MetadataCache.Key(
            path: instance.path, size: instance.size, modificationTime: instance.modificationTime,
            base: base)
        if let hit = cache.get(key) { return hit }
        let prefix =
            "\(base)/studies/\(instance.studyInstanceUID)/series/\(instance.seriesInstanceUID)/instances/\(instance.sopInstanceUID)/bulk/"
        let encoder = DICOMJSONEncoder(inlineBinaryLimit: inlineBinaryLimit) { reference in
            reference.path.isEmpty ? prefix + String(format8: reference.tag.value) : nil
        }
        let json: [UInt8]
        if let header = try headerOnlyJSON(instance, encoder: encoder, bulkPrefix: prefix) {
            json = header
        } else {
            let bytes = try DICOMFile.readBytes(instance.path)
            json = encoder.encode(try DICOMFile(bytes: bytes[...]).dataSet)
        }
        cache.put(key, json)
        return json
    }
}

extension WADOMetadataHandler {
    /// The JSON of a stored file from its header and Pixel Data's element header, without
    /// reading the pixel data: Pixel Data becomes a BulkDataURI. nil when that would differ from
    /// encoding the whole data set — something follows Pixel Data, or its value is short enough
    /// to go inline, or the syntax is deflated or big endian — and the caller reads the whole
    /// file. Blocking.
    private static func headerOnlyJSON(_ instance: IndexedInstance, encoder: DICOMJSONEncoder, bulkPrefix: String)
        throws -> [UInt8]?
    {
        let (file, size) = try WADOLookup.open(instance)
        let fd = FileDescriptor(rawValue: file.fd)
        func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
            guard offset < size, count > 0 else { return [] }
            return try fd.read(at: offset, count: min(count, size - offset))
        }
        var probe = min(size, WADOFramesHandler.headerProbe)
        var parsed: DICOMFile?
        while parsed == nil {
            do {
                let candidate = try DICOMFile(bytes: try read(0, probe)[...], options: .init(stopBeforePixelData: true))
                if candidate.pixelDataOffset == nil, probe < size {
                    throw DICOMError.invalidFile("header longer than read")
                }
                parsed = candidate
            } catch  where probe < min(size, WADOFramesHandler.maxHeaderProbe) {
                probe = min(size, WADOFramesHandler.maxHeaderProbe)
            }
        }
        guard let header = parsed, let at = header.pixelDataOffset, !header.transferSyntax.isDeflated,
            !header.transferSyntax.isBigEndian
        else { return nil }
        let explicit = header.transferSyntax.isExplicitVR
        let h = try read(at, explicit ? 12 : 8)
        guard h.count == (explicit ? 12 : 8) else { return nil }
        let length =
            Int(h[h.count - 4]) | Int(h[h.count - 3]) << 8 | Int(h[h.count - 2]) << 16 | Int(h[h.count - 1]) << 24
        var end: Int
        var storedLength: Int
        if length == 0xFFFF_FFFF {
            let items = try FrameLocator.walkItems(from: at + h.count, fileSize: size, read: read)
            let itemsEnd = items.last?.value.upperBound ?? at + h.count
            end = itemsEnd + 8
            storedLength = itemsEnd - (at + h.count)  // the items with their headers, as the encoder counts
        } else {
            end = at + h.count + length
            storedLength = length
        }
        guard end == size, storedLength > inlineBinaryLimit else { return nil }
        let vr =
            explicit
            ? String(decoding: h[4..<6], as: UTF8.self)
            : (header.dataSet.int(Tag(0x0028, 0x0100)) ?? 16 > 8 ? "OW" : "OB")
        var json = encoder.encode(header.dataSet)
        guard json.last == 0x7D else { return nil }
        json.removeLast()
        if json.count > 1 { json.append(0x2C) }
        json += Array("\"7FE00010\":{\"vr\":\"\(vr)\",\"BulkDataURI\":\"\(bulkPrefix)7FE00010\"}}".utf8)
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
                if response.hasBegun {
                    response.abortConnection()
                } else {
                    response.sendError(500, "cannot read a stored file: \(error)")
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
