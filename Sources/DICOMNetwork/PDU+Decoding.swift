// SPDX-License-Identifier: Apache-2.0
/// Decoding of PDU bodies (PS3.8 §9.3). All integers are big-endian; reserved fields are not
/// checked (UL-03); items may come in any order (UL-07).
extension PDU {
    /// Decodes a PDU body (the bytes after the 6-byte header).
    ///
    /// - Parameters:
    ///   - type: the PDU type byte from the header.
    ///   - body: exactly the `length` bytes following the header.
    /// - Returns: the PDU; P-DATA fragments are slices of `body`.
    /// - Throws: ``PDUDecodingError/unknownPDUType(_:)`` for a type outside 01…07 (Evt19), or
    ///   another ``PDUDecodingError`` for malformed content.
    public static func decode(type: UInt8, body: ArraySlice<UInt8>) throws(PDUDecodingError) -> PDU {
        guard let t = PDUType(rawValue: type) else { throw .unknownPDUType(type) }
        switch t {
        case .associateRQ:
            return .associateRQ(try AssociateRequest(decodingBody: body))
        case .associateAC:
            return .associateAC(try AssociateAccept(decodingBody: body))
        case .associateRJ:
            let f = try fixedFourByteBody(body, context: "A-ASSOCIATE-RJ")
            return .associateRJ(
                AssociateReject(
                    result: .init(rawValue: f[f.startIndex + 1]),
                    source: .init(rawValue: f[f.startIndex + 2]),
                    reason: .init(rawValue: f[f.startIndex + 3])))
        case .pData:
            return .pData(try PDataTF(decodingBody: body))
        case .releaseRQ:
            _ = try fixedFourByteBody(body, context: "A-RELEASE-RQ")
            return .releaseRQ
        case .releaseRP:
            _ = try fixedFourByteBody(body, context: "A-RELEASE-RP")
            return .releaseRP
        case .abort:
            let f = try fixedFourByteBody(body, context: "A-ABORT")
            return .abort(
                AbortPDU(
                    source: .init(rawValue: f[f.startIndex + 2]),
                    reason: .init(rawValue: f[f.startIndex + 3])))
        }
    }

    private static func fixedFourByteBody(_ body: ArraySlice<UInt8>, context: String)
        throws(PDUDecodingError) -> ArraySlice<UInt8>
    {
        guard body.count == 4 else { throw .invalidLength(context: context, length: body.count) }
        return body
    }
}

/// A raw item or sub-item: type, and its value (slice of the input).
struct RawItem {
    var type: UInt8
    var value: ArraySlice<UInt8>
}

/// Splits a sequence of items (type, reserved, 2-byte big-endian length, value).
func splitItems(_ bytes: ArraySlice<UInt8>, context: String) throws(PDUDecodingError) -> [RawItem] {
    var r = ByteReader(bytes)
    var items: [RawItem] = []
    while !r.isEmpty {
        guard r.count >= 4 else { throw .truncated(context: "\(context) item header", needed: 4, available: r.count) }
        let type = r.readUInt8()!
        _ = r.readUInt8()  // reserved (or sub-item version for 57H)
        let length = Int(r.readUInt16BigEndian()!)  // item length: big-endian
        guard let value = r.readSlice(length) else {
            throw .truncated(
                context: "\(context) item 0x\(String(type, radix: 16))", needed: length, available: r.count)
        }
        items.append(RawItem(type: type, value: value))
    }
    return items
}

/// Reads a 2-byte big-endian length followed by that many bytes.
private func readLengthPrefixed(_ r: inout ByteReader, context: String) throws(PDUDecodingError) -> ArraySlice<UInt8> {
    guard let n = r.readUInt16BigEndian() else {  // big-endian
        throw .truncated(context: context, needed: 2, available: r.count)
    }
    guard let s = r.readSlice(Int(n)) else { throw .truncated(context: context, needed: Int(n), available: r.count) }
    return s
}

/// The fixed part shared by A-ASSOCIATE-RQ and -AC (PS3.8 Table 9-11 / 9-17).
private struct AssociateFixedPart {
    var protocolVersion: UInt16
    var called: String
    var calling: String
    var items: [RawItem]

    init(_ body: ArraySlice<UInt8>, context: String) throws(PDUDecodingError) {
        var r = ByteReader(body)
        guard r.count >= 68 else { throw .truncated(context: context, needed: 68, available: r.count) }
        protocolVersion = r.readUInt16BigEndian()!  // big-endian
        _ = r.readSlice(2)  // reserved
        called = DICOMText.aeTitle(r.readSlice(16)!)
        calling = DICOMText.aeTitle(r.readSlice(16)!)
        _ = r.readSlice(32)  // reserved
        items = try splitItems(r.readRest(), context: context)
    }
}

extension AssociateFixedPart {
    /// The variable items shared by A-ASSOCIATE-RQ and -AC (PS3.8 §9.3.2–9.3.3): one
    /// application context, presentation context items of `contextItemType` (20H in the RQ,
    /// 21H in the AC) and one user information item, in any order (UL-07).
    func decodeItems<Context>(
        context ctx: String, contextItemType: UInt8,
        decodeContext: (ArraySlice<UInt8>) throws(PDUDecodingError) -> Context
    ) throws(PDUDecodingError) -> (applicationContext: String, contexts: [Context], userInformation: UserInformation) {
        var appContext: String?
        var contexts: [Context] = []
        var userInfo: UserInformation?
        for item in items {
            switch item.type {
            case 0x10:
                guard appContext == nil else { throw .duplicateItem(context: "\(ctx) application context") }
                appContext = DICOMText.uid(item.value)
            case contextItemType:
                contexts.append(try decodeContext(item.value))
            case 0x50:
                guard userInfo == nil else { throw .duplicateItem(context: "\(ctx) user information") }
                userInfo = try UserInformation(decoding: item.value)
            default:
                throw .unexpectedItem(type: item.type, context: ctx)
            }
        }
        guard let appContext else { throw .missingItem(context: "\(ctx) application context (10H)") }
        guard let userInfo else { throw .missingItem(context: "\(ctx) user information (50H)") }
        return (appContext, contexts, userInfo)
    }
}

extension AssociateRequest {
    init(decodingBody body: ArraySlice<UInt8>) throws(PDUDecodingError) {
        let ctx = "A-ASSOCIATE-RQ"
        let fixed = try AssociateFixedPart(body, context: ctx)
        let items = try fixed.decodeItems(context: ctx, contextItemType: 0x20) { value throws(PDUDecodingError) in
            try PresentationContextProposal(decoding: value)
        }
        guard !items.contexts.isEmpty else { throw .missingItem(context: "\(ctx) presentation context (20H)") }
        self.init(
            protocolVersion: fixed.protocolVersion, calledAETitle: fixed.called, callingAETitle: fixed.calling,
            applicationContextName: items.applicationContext, presentationContexts: items.contexts,
            userInformation: items.userInformation)
    }
}

extension AssociateAccept {
    init(decodingBody body: ArraySlice<UInt8>) throws(PDUDecodingError) {
        let ctx = "A-ASSOCIATE-AC"
        let fixed = try AssociateFixedPart(body, context: ctx)
        let items = try fixed.decodeItems(context: ctx, contextItemType: 0x21) { value throws(PDUDecodingError) in
            try PresentationContextResult(decoding: value)
        }
        self.init(
            protocolVersion: fixed.protocolVersion, calledAETitle: fixed.called, callingAETitle: fixed.calling,
            applicationContextName: items.applicationContext, presentationContexts: items.contexts,
            userInformation: items.userInformation)
    }
}

extension PresentationContextProposal {
    /// Decodes the value of a 20H item.
    init(decoding value: ArraySlice<UInt8>) throws(PDUDecodingError) {
        let ctx = "presentation context (20H)"
        var r = ByteReader(value)
        guard r.count >= 4 else { throw .truncated(context: ctx, needed: 4, available: r.count) }
        let id = r.readUInt8()!
        _ = r.readSlice(3)  // reserved
        var abstract: String?
        let subItems = try splitItems(r.readRest(), context: ctx)
        var ts: [String] = []
        ts.reserveCapacity(subItems.count)
        for sub in subItems {
            switch sub.type {
            case 0x30:
                guard abstract == nil else { throw .duplicateItem(context: "\(ctx) abstract syntax") }
                abstract = DICOMText.uid(sub.value)
            case 0x40:
                ts.append(DICOMText.uid(sub.value))
            default:
                throw .unexpectedItem(type: sub.type, context: ctx)
            }
        }
        guard let abstract else { throw .missingItem(context: "\(ctx) abstract syntax (30H)") }
        guard !ts.isEmpty else { throw .missingItem(context: "\(ctx) transfer syntax (40H)") }
        self.init(id: id, abstractSyntax: abstract, transferSyntaxes: ts)
    }
}

extension PresentationContextResult {
    /// Decodes the value of a 21H item. A missing 40H is tolerated (empty transfer syntax)
    /// for rejected contexts.
    init(decoding value: ArraySlice<UInt8>) throws(PDUDecodingError) {
        let ctx = "presentation context (21H)"
        var r = ByteReader(value)
        guard r.count >= 4 else { throw .truncated(context: ctx, needed: 4, available: r.count) }
        let id = r.readUInt8()!
        _ = r.readUInt8()  // reserved
        let result = PresentationContextResultReason(rawValue: r.readUInt8()!)
        _ = r.readUInt8()  // reserved
        var ts: String?
        for sub in try splitItems(r.readRest(), context: ctx) {
            switch sub.type {
            case 0x40:
                guard ts == nil else { throw .duplicateItem(context: "\(ctx) transfer syntax") }
                ts = DICOMText.uid(sub.value)
            default:
                throw .unexpectedItem(type: sub.type, context: ctx)
            }
        }
        if ts == nil && result.isAccepted { throw .missingItem(context: "\(ctx) transfer syntax (40H)") }
        self.init(id: id, result: result, transferSyntax: ts ?? "")
    }
}

extension UserInformation {
    /// Decodes the value of a 50H item. Unknown sub-items are preserved in ``unknownSubItems`` (UL-09).
    init(decoding value: ArraySlice<UInt8>) throws(PDUDecodingError) {
        self.init()
        for sub in try splitItems(value, context: "user information (50H)") {
            var r = ByteReader(sub.value)
            switch sub.type {
            case 0x51:
                guard sub.value.count == 4 else {
                    throw .invalidLength(context: "maximum length (51H)", length: sub.value.count)
                }
                maxPDULength = r.readUInt32BigEndian()!  // big-endian
            case 0x52:
                implementationClassUID = DICOMText.uid(sub.value)
            case 0x55:
                implementationVersionName = DICOMText.withoutPadding(sub.value)
            case 0x53:
                guard sub.value.count == 4 else {
                    throw .invalidLength(context: "asynchronous operations window (53H)", length: sub.value.count)
                }
                asyncOperationsWindow = AsyncOperationsWindow(
                    maxOperationsInvoked: r.readUInt16BigEndian()!,  // big-endian
                    maxOperationsPerformed: r.readUInt16BigEndian()!)
            case 0x54:
                let ctx = "role selection (54H)"
                let uid = try readLengthPrefixed(&r, context: ctx)
                guard let scu = r.readUInt8(), let scp = r.readUInt8() else {
                    throw .truncated(context: ctx, needed: 2, available: r.count)
                }
                roleSelections.append(
                    RoleSelection(sopClassUID: DICOMText.uid(uid), scuRole: scu != 0, scpRole: scp != 0))
            case 0x56:
                let uid = try readLengthPrefixed(&r, context: "SOP class extended negotiation (56H)")
                extendedNegotiations.append(
                    SOPClassExtendedNegotiation(
                        sopClassUID: DICOMText.uid(uid), applicationInformation: Array(r.readRest())))
            case 0x57:
                let ctx = "SOP class common extended negotiation (57H)"
                let uid = try readLengthPrefixed(&r, context: ctx)
                let service = try readLengthPrefixed(&r, context: ctx)
                var related: [String] = []
                if !r.isEmpty {
                    var rr = ByteReader(try readLengthPrefixed(&r, context: ctx))
                    while !rr.isEmpty {
                        related.append(DICOMText.uid(try readLengthPrefixed(&rr, context: ctx)))
                    }
                }
                commonExtendedNegotiations.append(
                    SOPClassCommonExtendedNegotiation(
                        sopClassUID: DICOMText.uid(uid), serviceClassUID: DICOMText.uid(service),
                        relatedGeneralSOPClassUIDs: related))
            case 0x58:
                let ctx = "user identity (58H)"
                guard let type = r.readUInt8(), let positive = r.readUInt8() else {
                    throw .truncated(context: ctx, needed: 2, available: r.count)
                }
                let primary = try readLengthPrefixed(&r, context: ctx)
                let secondary = r.isEmpty ? [] : try readLengthPrefixed(&r, context: ctx)
                userIdentityRequest = UserIdentityRequest(
                    identityType: .init(rawValue: type), positiveResponseRequested: positive == 1,
                    primaryField: Array(primary), secondaryField: Array(secondary))
            case 0x59:
                let response = try readLengthPrefixed(&r, context: "user identity (59H)")
                userIdentityResponse = UserIdentityResponse(serverResponse: Array(response))
            default:
                unknownSubItems.append(UnknownSubItem(type: sub.type, value: Array(sub.value)))
            }
        }
    }
}

extension PDataTF {
    /// Decodes a P-DATA-TF body: one or more PDV items (UL-17). Fragments are slices of `body`.
    init(decodingBody body: ArraySlice<UInt8>) throws(PDUDecodingError) {
        let ctx = "P-DATA-TF PDV item"
        var r = ByteReader(body)
        var pdvs: [PDV] = []
        while !r.isEmpty {
            guard let length = r.readUInt32BigEndian() else {  // PDV item length: big-endian
                throw .truncated(context: ctx, needed: 4, available: r.count)
            }
            guard length >= 2 else { throw .invalidLength(context: ctx, length: Int(length)) }
            guard Int(length) <= r.count else {
                throw .truncated(context: ctx, needed: Int(length), available: r.count)
            }
            let id = r.readUInt8()!
            let mch = r.readUInt8()!
            let fragment = r.readSlice(Int(length) - 2)!
            pdvs.append(PDV(contextID: id, isCommand: mch & 0x01 != 0, isLast: mch & 0x02 != 0, fragment: fragment))
        }
        guard !pdvs.isEmpty else { throw .missingItem(context: "P-DATA-TF presentation data value") }
        self.init(pdvs: pdvs)
    }
}
