// SPDX-License-Identifier: Apache-2.0
/// Encoding of PDUs (PS3.8 §9.3). All integers big-endian; reserved fields zero (UL-03).
extension PDU {
    /// The complete PDU (header and body) as one array. For P-DATA without copying fragments
    /// use ``PDataTF/encodedPieces()``.
    public func encoded() -> [UInt8] {
        switch self {
        case .associateRQ(let rq): return rq.encoded()
        case .associateAC(let ac): return ac.encoded()
        case .associateRJ(let rj): return rj.encoded()
        case .pData(let p): return p.encoded()
        case .releaseRQ: return wrapPDU(.releaseRQ, body: [0, 0, 0, 0])
        case .releaseRP: return wrapPDU(.releaseRP, body: [0, 0, 0, 0])
        case .abort(let a): return a.encoded()
        }
    }
}

/// Prepends the 6-byte PDU header to a body.
func wrapPDU(_ type: PDUType, body: [UInt8]) -> [UInt8] {
    var b = PDUHeader(type: type.rawValue, length: UInt32(body.count)).encoded()
    b += body
    return b
}

extension Array where Element == UInt8 {
    /// Appends an item or sub-item: type, reserved (or `second`), 2-byte big-endian length, value.
    /// Item values larger than 65535 bytes are a programming error.
    mutating func appendItem(_ type: UInt8, second: UInt8 = 0, _ value: [UInt8]) {
        precondition(value.count <= 0xFFFF, "item value too long")
        append(type)
        append(second)
        appendBigEndian(UInt16(value.count))  // item length: big-endian
        self += value
    }

    /// Appends a 2-byte big-endian length followed by the bytes.
    mutating func appendLengthPrefixed(_ value: [UInt8]) {
        precondition(value.count <= 0xFFFF, "field too long")
        appendBigEndian(UInt16(value.count))  // big-endian
        self += value
    }
}

private func associateBody(version: UInt16, called: String, calling: String, items: [UInt8]) -> [UInt8] {
    var b: [UInt8] = []
    b.reserveCapacity(68 + items.count)
    b.appendBigEndian(version)  // protocol version: big-endian
    b += [0, 0]  // reserved
    b += DICOMText.aeTitleField(called)
    b += DICOMText.aeTitleField(calling)
    b += [UInt8](repeating: 0, count: 32)  // reserved
    b += items
    return b
}

extension AssociateRequest {
    /// The complete A-ASSOCIATE-RQ PDU. Items: 10H, 20H…, 50H.
    public func encoded() -> [UInt8] {
        var items: [UInt8] = []
        items.appendItem(0x10, Array(applicationContextName.utf8))
        for pc in presentationContexts { items.appendItem(0x20, pc.encodedValue()) }
        items.appendItem(0x50, userInformation.encodedValue())
        return wrapPDU(
            .associateRQ,
            body: associateBody(
                version: protocolVersion, called: calledAETitle, calling: callingAETitle, items: items))
    }
}

extension AssociateAccept {
    /// The complete A-ASSOCIATE-AC PDU. Items: 10H, 21H…, 50H.
    public func encoded() -> [UInt8] {
        var items: [UInt8] = []
        items.appendItem(0x10, Array(applicationContextName.utf8))
        for pc in presentationContexts { items.appendItem(0x21, pc.encodedValue()) }
        items.appendItem(0x50, userInformation.encodedValue())
        return wrapPDU(
            .associateAC,
            body: associateBody(
                version: protocolVersion, called: calledAETitle, calling: callingAETitle, items: items))
    }
}

extension PresentationContextProposal {
    func encodedValue() -> [UInt8] {
        var b: [UInt8] = [id, 0, 0, 0]
        b.appendItem(0x30, Array(abstractSyntax.utf8))
        for ts in transferSyntaxes { b.appendItem(0x40, Array(ts.utf8)) }
        return b
    }
}

extension PresentationContextResult {
    func encodedValue() -> [UInt8] {
        var b: [UInt8] = [id, 0, result.rawValue, 0]
        b.appendItem(0x40, Array(transferSyntax.utf8))  // present even when rejected (UL-10)
        return b
    }
}

extension UserInformation {
    func encodedValue() -> [UInt8] {
        var b: [UInt8] = []
        if let maxPDULength {
            var v: [UInt8] = []
            v.appendBigEndian(maxPDULength)  // big-endian
            b.appendItem(0x51, v)
        }
        if let implementationClassUID { b.appendItem(0x52, Array(implementationClassUID.utf8)) }
        if let w = asyncOperationsWindow {
            var v: [UInt8] = []
            v.appendBigEndian(w.maxOperationsInvoked)  // big-endian
            v.appendBigEndian(w.maxOperationsPerformed)
            b.appendItem(0x53, v)
        }
        for rs in roleSelections {
            var v: [UInt8] = []
            v.appendLengthPrefixed(Array(rs.sopClassUID.utf8))
            v.append(rs.scuRole ? 1 : 0)
            v.append(rs.scpRole ? 1 : 0)
            b.appendItem(0x54, v)
        }
        if let implementationVersionName { b.appendItem(0x55, Array(implementationVersionName.utf8.prefix(16))) }
        for en in extendedNegotiations {
            var v: [UInt8] = []
            v.appendLengthPrefixed(Array(en.sopClassUID.utf8))
            v += en.applicationInformation
            b.appendItem(0x56, v)
        }
        for cen in commonExtendedNegotiations {
            var v: [UInt8] = []
            v.appendLengthPrefixed(Array(cen.sopClassUID.utf8))
            v.appendLengthPrefixed(Array(cen.serviceClassUID.utf8))
            var related: [UInt8] = []
            for uid in cen.relatedGeneralSOPClassUIDs { related.appendLengthPrefixed(Array(uid.utf8)) }
            v.appendLengthPrefixed(related)
            b.appendItem(0x57, second: 0, v)  // byte 2 is the sub-item version, 0
        }
        if let id = userIdentityRequest {
            var v: [UInt8] = [id.identityType.rawValue, id.positiveResponseRequested ? 1 : 0]
            v.appendLengthPrefixed(id.primaryField)
            v.appendLengthPrefixed(id.secondaryField)
            b.appendItem(0x58, v)
        }
        if let r = userIdentityResponse {
            var v: [UInt8] = []
            v.appendLengthPrefixed(r.serverResponse)
            b.appendItem(0x59, v)
        }
        for u in unknownSubItems { b.appendItem(u.type, u.value) }
        return b
    }
}

extension AssociateReject {
    /// The complete 10-byte A-ASSOCIATE-RJ PDU.
    public func encoded() -> [UInt8] {
        wrapPDU(.associateRJ, body: [0, result.rawValue, source.rawValue, reason.rawValue])
    }
}

extension AbortPDU {
    /// The complete 10-byte A-ABORT PDU.
    public func encoded() -> [UInt8] {
        wrapPDU(.abort, body: [0, 0, source.rawValue, reason.rawValue])
    }
}

extension PDataTF {
    /// The complete P-DATA-TF PDU as one array (copies fragments; see ``encodedPieces()``).
    public func encoded() -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(6 + pduLength)
        for p in encodedPieces() { b += p }
        return b
    }
}
