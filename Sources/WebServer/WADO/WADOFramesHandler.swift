// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMFiles
import DICOMWeb
import HTTP1
import Reactor

/// WADO-RS frames (PS3.18 §10.4.1.1.3) and bulk data (§10.4.1.1.5) of one instance as
/// `multipart/related`, one part per frame or value. The parts are byte ranges of the stored
/// file located from element and item headers (``FrameLocator``): native frames cut from
/// Pixel Data by offset, encapsulated frames as their fragments' values. They go out with
/// `sendfile` after a worker made them resident; no pixel data passes through our memory.
struct WADOFramesHandler: HTTPHandler {
    let lookup: WADOLookup
    let layouts: FrameLayoutCache
    /// True for `bulk/{tag}` (the value of one top-level element), false for `frames/{list}`.
    let bulk: Bool

    /// Bytes read first to find Pixel Data; a header longer than that is read in full (up to
    /// ``maxHeaderProbe``).
    static let headerProbe = 64 * 1024
    static let maxHeaderProbe = 64 * 1024 * 1024

    func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        let accept = WADOLookup.acceptValues(request)
        var frameNumbers: [Int] = []
        var tag: Tag?
        if bulk {
            guard let value = UInt32(request.parameter("tag"), radix: 16), request.parameter("tag").count == 8 else {
                response.sendError(404, "bulk data is addressed by an 8-hex-digit tag")
                return
            }
            tag = Tag(value)
        } else {
            guard let list = Self.frameList(request.parameter("frames")) else {
                response.sendError(400, "frames are a comma-separated list of numbers from 1")
                return
            }
            frameNumbers = list
        }
        let (tagWanted, framesWanted, layouts) = (tag, frameNumbers, layouts)
        lookup.instances(request, response) { instances in
            let instance = instances[0]
            lookup.workers.run(
                { () throws(WADOError) -> Ranges in
                    try Self.locate(instance, tag: tagWanted, frames: framesWanted, layouts: layouts)
                }, on: lookup.loop
            ) { result in
                guard !response.isAborted else { return }
                switch result {
                case .failure(let error): response.sendError(error.status, error.reason)
                case .success(let ranges):
                    Self.send(ranges, accept: accept, bulk: tagWanted != nil && tagWanted != .pixelData, response)
                }
            }
        }
    }

    /// The parts of the answer: each one or more ranges of the open file.
    struct Ranges: Sendable {
        var file: OpenFile
        var storedSyntax: String
        var parts: [[Range<Int>]]
    }

    static func send(_ ranges: Ranges, accept: [String], bulk: Bool, _ response: HTTPResponse) {
        let resource: WADONegotiation.Resource = bulk ? .bulkData : .frames(stored: ranges.storedSyntax)
        guard let representation = WADONegotiation.choose(resource, accept: accept),
            let partType = representation.partContentType,
            case .multipartBulk(let type, let syntax) = representation
        else {
            response.sendError(
                406,
                "frames are sent as multipart/related in their stored transfer syntax (application/octet-stream, or the image media type of a compressed syntax); no transcoding"
            )
            return
        }
        var writer = MultipartWriter(partType: type)
        var pieces: [OutputPiece] = []
        for part in ranges.parts {
            pieces.append(.bytes(writer.partHeader(contentType: partType)[...]))
            for r in part where !r.isEmpty {
                pieces.append(.file(FileRegion(file: ranges.file, offset: r.lowerBound, length: r.count)))
            }
        }
        pieces.append(.bytes(writer.closing[...]))
        let length = pieces.reduce(0) { $0 + $1.count }
        let extra: [(String, String)] = syntax.map { [("transfer-syntax", $0)] } ?? []
        response.begin(status: 200, contentType: writer.contentType(extraParameters: extra), contentLength: length)
        response.write(pieces)
        response.end()
    }

    /// "1,2,3" → [1, 2, 3]; nil for anything else (PS3.18 §8.1.1: uintList).
    private static func frameList(_ text: String) -> [Int]? {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        guard !items.isEmpty, items.count <= 65536 else { return nil }
        var out: [Int] = []
        for item in items {
            guard let n = Int(item.trimmingWhitespace()), n >= 1 else { return nil }
            out.append(n)
        }
        return out
    }

    /// Opens the file and locates the requested frames or element value. Blocking.
    static func locate(_ instance: IndexedInstance, tag: Tag?, frames: [Int], layouts: FrameLayoutCache)
        throws(WADOError) -> Ranges
    {
        let (file, size) = try WADOLookup.open(instance)
        let fd = FileDescriptor(rawValue: file.fd)
        func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
            guard offset < size, count > 0 else { return [] }
            return try fd.read(at: offset, count: min(count, size - offset))
        }
        do {
            if let tag, tag != .pixelData {
                // Any other top-level element: its value's range, found by walking element
                // headers (values before it skipped by their length, not read).
                guard !TransferSyntax(uid: instance.transferSyntaxUID).isDeflated else {
                    throw WADOError(404, "bulk data of a deflated data set is not served")
                }
                let window = FileWindow(fileSize: size) { offset, count in try fd.read(at: offset, count: count) }
                guard let element = try ElementWalker.find(tag, in: window, maxProbe: maxHeaderProbe),
                    let length = element.length, element.vr != .SQ
                else {
                    throw WADOError(404, "no bulk data value \(tag) in this instance")
                }
                if length > 0 { PageIn.makeResident(file, offset: element.valueOffset, length: length) }
                return Ranges(
                    file: file, storedSyntax: instance.transferSyntaxUID,
                    parts: [[element.valueOffset..<element.valueOffset + length]])
            }
            let key = FrameLayoutCache.Key(
                path: instance.path, size: instance.size, modificationTime: instance.modificationTime)
            let layout: FrameLayoutCache.Layout
            if let cached = layouts.get(key) {
                layout = cached
            } else {
                var located: StoredFrames
                var probe = min(size, headerProbe)
                while true {
                    do {
                        located = try StoredFrames(prefix: try read(0, probe)[...], fileSize: size, read: read)
                        break
                    } catch let error as FrameLocationError {
                        throw WADOError(404, "no frames: \(error.reason)")
                    } catch  where probe < min(size, maxHeaderProbe) {
                        probe = min(size, maxHeaderProbe)
                    }
                }
                layout = FrameLayoutCache.Layout(transferSyntax: located.transferSyntax.uid, frames: located.frames)
                layouts.put(key, layout)
            }
            let all = layout.frames
            let wanted = tag == .pixelData ? Array(1...all.count) : frames
            if let beyond = wanted.first(where: { $0 > all.count }) {
                throw WADOError(404, "frame \(beyond) is beyond the \(all.count) frames of this instance")
            }
            let parts = wanted.map { all[$0 - 1] }
            if let first = parts.first?.first, let last = parts.last?.last, last.upperBound > first.lowerBound {
                PageIn.makeResident(file, offset: first.lowerBound, length: last.upperBound - first.lowerBound)
            }
            return Ranges(file: file, storedSyntax: layout.transferSyntax, parts: parts)
        } catch let error as WADOError {
            throw error
        } catch {
            throw WADOError(500, "cannot read the stored file of \(instance.sopInstanceUID): \(error)")
        }
    }
}
