// SPDX-License-Identifier: Apache-2.0
/// Incremental PDU framing over a byte stream (PS3.8 §9.3.1; UL-01, UL-04).
///
/// Limits are checked on the 6-byte header, before the body is buffered:
/// - A-ASSOCIATE-RQ/AC: body length ≤ ``maxAssociatePDULength`` (default 256 KiB).
/// - P-DATA-TF: length ≤ ``maxPDataLength`` + ``pDataTolerance``. Our advertised Maximum Length
///   (51H) bounds the P-DATA-TF PDU length field (PS3.8 D.1). **Tolerance policy:** by default we
///   accept 6 extra bytes, because some peers wrongly apply the maximum to the PDV fragment and then
///   exceed it by the 4-byte item length and 2 PDV header bytes. `maxPDataLength == 0` means no limit
///   of our own (only the 32-bit field).
/// - A-ASSOCIATE-RJ, A-RELEASE-RQ/RP, A-ABORT: length must be 4.
/// - An unknown PDU type is invalid immediately (Evt19, A-ABORT reason 1).
public struct PDUStreamDecoder: Sendable {
    /// The result of one decoding step.
    public enum Outcome: Sendable, Hashable {
        /// Not enough bytes yet for a whole PDU; read more and call again.
        case needMoreBytes
        /// A whole PDU was decoded from the first `consumed` bytes.
        case pdu(PDU, consumed: Int)
        /// The stream is invalid (Evt19); abort the association with `reason.abortReason`.
        case invalid(PDUDecodingError)
    }

    public var maxPDataLength: UInt32
    public var pDataTolerance: UInt32
    public var maxAssociatePDULength: UInt32

    public init(maxPDataLength: UInt32, pDataTolerance: UInt32 = 6, maxAssociatePDULength: UInt32 = 256 * 1024) {
        self.maxPDataLength = maxPDataLength
        self.pDataTolerance = pDataTolerance
        self.maxAssociatePDULength = maxAssociatePDULength
    }

    /// The largest acceptable body length for a PDU of this type byte, or `nil` for unknown types.
    public func limit(forType type: UInt8) -> UInt32? {
        switch PDUType(rawValue: type) {
        case .associateRQ?, .associateAC?: return maxAssociatePDULength
        case .pData?:
            if maxPDataLength == 0 { return UInt32.max }
            let (sum, overflow) = maxPDataLength.addingReportingOverflow(pDataTolerance)
            return overflow ? UInt32.max : sum
        case .associateRJ?, .releaseRQ?, .releaseRP?, .abort?: return 4
        case nil: return nil
        }
    }

    /// Checks a header against the limits; `nil` when acceptable.
    public func validate(_ header: PDUHeader) -> PDUDecodingError? {
        guard let limit = limit(forType: header.type) else { return .unknownPDUType(header.type) }
        if header.length > limit {
            return .pduTooLarge(type: header.type, length: header.length, limit: limit)
        }
        if limit == 4 && header.length != 4 {
            return .invalidLength(context: "PDU type 0x\(String(header.type, radix: 16))", length: Int(header.length))
        }
        return nil
    }

    /// One framing step over a connection's readable input.
    public enum Step: Sendable, Hashable {
        /// Not enough bytes yet for a whole PDU; nothing was consumed.
        case needMoreBytes
        /// A whole PDU, consumed from the input; `length` is its header's length field.
        case pdu(PDU, length: UInt32)
        /// The stream is invalid (Evt19): the header broke our limits (`inHeader`, nothing was
        /// consumed) or the body did not decode (the PDU was consumed).
        case invalid(PDUDecodingError, inHeader: Bool)
    }

    /// Cuts the next PDU out of `input`: the one framing every reader runs (the server over its
    /// receive buffer, ``decode(_:)`` over plain bytes). The header is checked against the
    /// limits before the body is waited for, so a hostile length never turns into an allocation;
    /// the body is a slice of the input (no copy when the input holds it in one piece).
    @inlinable
    public func next<Input: PDUInput>(from input: inout Input) -> Step {
        guard let headerBytes = input.peek(PDUHeader.size), let header = PDUHeader.peek(headerBytes) else {
            return .needMoreBytes
        }
        if let error = validate(header) { return .invalid(error, inHeader: true) }
        guard input.readableBytes >= PDUHeader.size + Int(header.length) else { return .needMoreBytes }
        _ = input.readSlice(PDUHeader.size)
        let body = input.readSlice(Int(header.length)) ?? []
        do {
            return .pdu(try PDU.decode(type: header.type, body: body), length: header.length)
        } catch {
            return .invalid(error, inHeader: false)
        }
    }

    /// Tries to decode one PDU from the start of `bytes` (the readable bytes of the connection),
    /// with ``next(from:)``.
    public func decode(_ bytes: ArraySlice<UInt8>) -> Outcome {
        var input = bytes
        switch next(from: &input) {
        case .needMoreBytes: return .needMoreBytes
        case .pdu(let pdu, let length): return .pdu(pdu, consumed: PDUHeader.size + Int(length))
        case .invalid(let error, _): return .invalid(error)
        }
    }
}

/// Bytes received and not yet consumed, as a PDU reader sees them: the reactor's receive buffer,
/// or a plain slice of bytes.
public protocol PDUInput {
    /// Number of bytes not yet consumed.
    var readableBytes: Int { get }
    /// The next `count` bytes without consuming them, or nil if fewer are readable.
    func peek(_ count: Int) -> ArraySlice<UInt8>?
    /// Consumes and returns the next `count` bytes, or nil (consuming nothing) if fewer are readable.
    mutating func readSlice(_ count: Int) -> ArraySlice<UInt8>?
}

extension ArraySlice: PDUInput where Element == UInt8 {
    @inlinable public var readableBytes: Int { count }

    @inlinable public func peek(_ count: Int) -> ArraySlice<UInt8>? {
        count <= self.count ? prefix(count) : nil
    }

    @inlinable public mutating func readSlice(_ count: Int) -> ArraySlice<UInt8>? {
        guard let slice = peek(count) else { return nil }
        removeFirst(count)
        return slice
    }
}
