// SPDX-License-Identifier: Apache-2.0
import DICOM

/// How C-FIND response identifiers are to be encoded for the wire.
public struct IdentifierEncoding: Sendable, Hashable {
    /// The transfer syntax of the presentation context the responses go out on.
    public var transferSyntax: TransferSyntax
    /// Retrieve AE Title (0008,0054) to add to every identifier, or nil.
    public var retrieveAETitle: String?

    public init(transferSyntax: TransferSyntax, retrieveAETitle: String? = nil) {
        self.transferSyntax = transferSyntax
        self.retrieveAETitle = retrieveAETitle
    }

    /// The identifier as sent: `match` with Retrieve AE Title added, in the transfer
    /// syntax. This is the reference encoding the fast path reproduces byte for byte.
    public func encode(_ match: DataSet) throws -> [UInt8] {
        var match = match
        if let retrieveAETitle { match.set(Self.retrieveAETitleTag, vr: .AE, string: retrieveAETitle) }
        return try DataSetWriter.write(match, transferSyntax: transferSyntax)
    }

    /// Retrieve AE Title (0008,0054).
    public static let retrieveAETitleTag = Tag(0x0008, 0x0054)
}

/// One page of C-FIND matches as encoded response identifiers (see ``FindPage``), all
/// in one buffer so that a page costs a handful of allocations, not several per match.
public struct EncodedFindPage: Sendable {
    /// The identifiers, one after the other.
    public var bytes: [UInt8]
    /// End offset in `bytes` of each identifier; identifier `i` starts where `i - 1` ends.
    public var ends: [Int]
    /// Where to resume; nil when this was the last page.
    public var next: ResumeToken?
    /// True when the request held optional keys the index cannot match on (status FF01).
    public var hasUnsupportedOptionalKeys: Bool

    public init(
        bytes: [UInt8] = [], ends: [Int] = [], next: ResumeToken? = nil, hasUnsupportedOptionalKeys: Bool = false
    ) {
        self.bytes = bytes
        self.ends = ends
        self.next = next
        self.hasUnsupportedOptionalKeys = hasUnsupportedOptionalKeys
    }

    /// Number of identifiers (matches).
    public var count: Int { ends.count }

    /// The encoded identifier of match `i`.
    public func identifier(_ i: Int) -> ArraySlice<UInt8> {
        bytes[(i == 0 ? 0 : ends[i - 1])..<ends[i]]
    }

    /// Encodes a page of data sets with the reference encoder.
    public init(_ page: FindPage, encoding: IdentifierEncoding) throws(IdentifierEncodingError) {
        self.init(next: page.next, hasUnsupportedOptionalKeys: page.hasUnsupportedOptionalKeys)
        ends.reserveCapacity(page.matches.count)
        for match in page.matches {
            do {
                bytes += try encoding.encode(match)
            } catch {
                throw IdentifierEncodingError(description: "\(error)")
            }
            ends.append(bytes.count)
        }
    }
}

/// A response identifier could not be encoded (a value too long for its length field).
public struct IdentifierEncodingError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

extension IndexStore {
    /// One page of C-FIND matches, encoded for the wire (see `find(_:after:limit:)`).
    /// This default encodes the data sets of `find`; stores may encode from their rows.
    public func findEncoded(
        _ request: FindRequest, after token: ResumeToken?, limit: Int,
        encoding: IdentifierEncoding
    ) throws -> EncodedFindPage {
        try EncodedFindPage(find(request, after: token, limit: limit), encoding: encoding)
    }
}
