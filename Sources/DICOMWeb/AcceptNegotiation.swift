// SPDX-License-Identifier: Apache-2.0
import DICOM
import HTTP1

/// One media range of an `Accept` field with its weight (RFC 9110 §12.5.1).
public struct AcceptedRange: Sendable, Hashable {
    public var mediaType: MediaType
    /// The `q` parameter, 0…1 (1 when absent).
    public var quality: Double

    /// The ranges of every `Accept` line, ordered by quality (highest first, ties in the order
    /// sent), without q=0 ranges; malformed elements are left out (RFC 9110 §12.5.1 lets a
    /// server ignore what it cannot parse). An empty or missing field is `*/*`.
    public static func parse(_ values: [String]) -> [AcceptedRange] {
        var ranges: [AcceptedRange] = []
        for value in values {
            for element in MediaType.splitOutsideQuotes(Substring(value), on: ",") {
                guard !element.trimmingWhitespace().isEmpty, var media = MediaType(parsing: element) else { continue }
                var q = 1.0
                if let i = media.parameters.firstIndex(where: { $0.name == "q" }) {
                    guard let v = Double(media.parameters[i].value), (0...1).contains(v) else { continue }
                    q = v
                    // Parameters after q are accept-ext (RFC 9110 §12.5.1 obsolete form); dropped.
                    media.parameters.removeSubrange(i...)
                }
                if q > 0 { ranges.append(AcceptedRange(mediaType: media, quality: q)) }
            }
        }
        if values.allSatisfy({ $0.trimmingWhitespaceString().isEmpty }) {
            return [AcceptedRange(mediaType: MediaType(type: "*", subtype: "*"), quality: 1)]
        }
        return ranges.enumerated().sorted { a, b in
            a.element.quality != b.element.quality ? a.element.quality > b.element.quality : a.offset < b.offset
        }.map(\.element)
    }
}

/// What a WADO-RS response is to be (PS3.18 §8.7): the representation chosen by
/// ``WADONegotiation``.
public enum WADORepresentation: Sendable, Hashable {
    /// `multipart/related; type="application/dicom"`: each instance as a Part 10 file, in its
    /// stored transfer syntax (nil) or converted to this native one.
    case multipartDICOM(transferSyntax: String?)
    /// `application/dicom+json`.
    case dicomJSON
    /// `multipart/related; type="<partType>"` with one part per frame or bulk value; each part's
    /// Content-Type carries `transfer-syntax` when given.
    case multipartBulk(partType: String, transferSyntax: String?)

    /// The Content-Type of one part (nil for dicom+json, which is not multipart).
    public var partContentType: String? {
        switch self {
        case .multipartDICOM(let ts):
            return "application/dicom" + (ts.map { "; transfer-syntax=\($0)" } ?? "")
        case .dicomJSON: return nil
        case .multipartBulk(let type, let ts):
            return type + (ts.map { "; transfer-syntax=\($0)" } ?? "")
        }
    }
}

/// Accept negotiation for the WADO-RS resources (PS3.18 §8.7.3, §8.7.4). The archive does not
/// transcode compressed data: a request for a transfer syntax other than the stored one is
/// acceptable only when both are native (uncompressed) and the conversion is a reordering of
/// bytes; otherwise the next acceptable range is tried, and with none left the answer is 406.
public enum WADONegotiation {
    /// The kind of WADO-RS resource.
    public enum Resource: Sendable, Hashable {
        /// Study, series or instance retrieval; the transfer syntaxes the instances are stored in.
        case instances(stored: Set<String>)
        /// Study, series or instance metadata.
        case metadata
        /// Frames of one instance stored in this transfer syntax.
        case frames(stored: String)
        /// A bulk data value other than Pixel Data (always sent as stored little endian bytes).
        case bulkData
    }

    /// Explicit VR Little Endian, the default of `application/dicom` and
    /// `application/octet-stream` without a transfer-syntax parameter (PS3.18 §8.7.3.5.2).
    public static let defaultSyntax = TransferSyntax.explicitVRLittleEndian.uid

    /// The compressed-pixel media types of PS3.18 Table 8.7.3-5: the transfer syntaxes each
    /// carries, its default first.
    public static let pixelMediaTypes: [String: [String]] = [
        "image/jpeg": [
            "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
            "1.2.840.10008.1.2.4.70",
        ],
        "image/jls": ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"],
        "image/jp2": ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"],
        "image/jpx": ["1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93"],
        "image/jphc": ["1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"],
        "image/dicom-rle": ["1.2.840.10008.1.2.5"],
        // Names used before PS3.18 registered the ones above, still sent by clients.
        "image/x-dicom-rle": ["1.2.840.10008.1.2.5"],
        "image/x-jls": ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"],
    ]

    /// The representation to send for `resource` given the request's `Accept` lines (the
    /// `accept` query parameter, when present, replaces them: PS3.18 §8.3.3.1); nil means 406.
    public static func choose(_ resource: Resource, accept: [String]) -> WADORepresentation? {
        for range in AcceptedRange.parse(accept) {
            if let r = representation(resource, for: range.mediaType) { return r }
        }
        return nil
    }

    static func representation(_ resource: Resource, for m: MediaType) -> WADORepresentation? {
        let anything = m.type == "*" || (m.type == "multipart" && m.subtype == "*")
        let related = m.type == "multipart" && m.subtype == "related"
        // A multipart range's part type, or nil for "any part type".
        var partType: MediaType? = related ? m.parameter("type").flatMap { MediaType(parsing: $0) } : nil
        if related, m.parameter("type") != nil, partType == nil { return nil }
        // type="*/*" (dicomweb-client's default) leaves the part type to the server.
        if partType?.type == "*" { partType = nil }
        let requestedSyntax = m.parameter("transfer-syntax") ?? partType?.parameter("transfer-syntax")
        switch resource {
        case .metadata:
            if anything || (m.type == "application" && ["dicom+json", "json", "*"].contains(m.subtype)) {
                return .dicomJSON
            }
            return nil
        case .instances(let stored):
            guard anything || (related && (partType == nil || partType!.essence == "application/dicom")) else {
                return nil
            }
            // Without a part type or a syntax the sender chooses: the stored syntaxes.
            let wanted = requestedSyntax ?? (partType == nil ? "*" : defaultSyntax)
            if wanted == "*" { return .multipartDICOM(transferSyntax: nil) }
            guard stored.allSatisfy({ convertible(from: $0, to: wanted) }) else { return nil }
            return .multipartDICOM(transferSyntax: stored == [wanted] ? nil : wanted)
        case .bulkData:
            guard anything || (related && (partType == nil || partType!.essence == "application/octet-stream")) else {
                return nil
            }
            return .multipartBulk(partType: "application/octet-stream", transferSyntax: nil)
        case .frames(let stored):
            return frames(
                stored: stored, anything: anything || (related && partType == nil),
                partType: related ? partType?.essence : nil, requestedSyntax: requestedSyntax)
        }
    }

    static func frames(stored: String, anything: Bool, partType: String?, requestedSyntax: String?)
        -> WADORepresentation?
    {
        let storedIsNative = TransferSyntax(uid: stored).isNative && TransferSyntax(uid: stored).isKnown
        let storedPixelType = pixelMediaTypes.first { !$0.key.hasPrefix("image/x-") && $0.value.contains(stored) }?.key
        if anything {
            if storedIsNative,
                let r = frames(
                    stored: stored, anything: false, partType: "application/octet-stream",
                    requestedSyntax: "*")
            {
                return r
            }
            return .multipartBulk(partType: storedPixelType ?? "application/octet-stream", transferSyntax: stored)
        }
        guard let partType else { return nil }
        let wanted =
            requestedSyntax
            ?? (partType == "application/octet-stream"
                ? defaultSyntax
                : pixelMediaTypes[partType]?.first)
        guard let wanted else { return nil }
        if partType == "application/octet-stream" {
            // Native little endian frames are the same bytes in either VR form; big endian ones
            // would need swapping, which is left to a request with "*".
            let little = storedIsNative && !TransferSyntax(uid: stored).isBigEndian
            if wanted == "*" {
                return .multipartBulk(partType: partType, transferSyntax: little ? defaultSyntax : stored)
            }
            if wanted == stored
                || (little && TransferSyntax(uid: wanted).isNative && !TransferSyntax(uid: wanted).isBigEndian
                    && !TransferSyntax(uid: wanted).isDeflated && TransferSyntax(uid: wanted).isKnown)
            {
                return .multipartBulk(partType: partType, transferSyntax: wanted)
            }
            return nil
        }
        guard let syntaxes = pixelMediaTypes[partType], syntaxes.contains(stored) else { return nil }
        if wanted == "*" || wanted == stored || (requestedSyntax == nil && syntaxes.contains(stored)) {
            return .multipartBulk(partType: partType, transferSyntax: stored)
        }
        return nil
    }

    /// Whether an instance stored in `stored` can be sent in `wanted` without transcoding pixels:
    /// the same syntax, or both native and known (a re-encoding of the data set only).
    public static func convertible(from stored: String, to wanted: String) -> Bool {
        if stored == wanted { return true }
        let s = TransferSyntax(uid: stored)
        let w = TransferSyntax(uid: wanted)
        return s.isKnown && w.isKnown && s.isNative && w.isNative && !w.isDeflated
    }
}

extension String {
    func trimmingWhitespaceString() -> String { String(Substring(self).trimmingWhitespace()) }
}
