// SPDX-License-Identifier: Apache-2.0
/// Errors while reassembling DIMSE messages from PDVs (PS3.8 Annex E; UL-19/UL-20).
/// Each maps to an A-ABORT (source 2) with ``abortReason``.
public enum DIMSEAssemblyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A PDV on a presentation context that was not accepted (UL-20).
    case unacceptedContext(UInt8)
    /// A data set PDV with no command before it (UL-20).
    case dataSetWithoutCommand(contextID: UInt8)
    /// A command PDV while the data set of the previous command was expected.
    case commandDuringDataSet(contextID: UInt8)
    /// A data set PDV while the command was still incomplete.
    case dataSetDuringCommand(contextID: UInt8)
    /// The command set grew beyond the configured limit.
    case commandTooLarge(contextID: UInt8, size: Int, limit: Int)
    /// The command set could not be decoded.
    case invalidCommand(contextID: UInt8, CommandSetDecodingError)
    /// An accumulated data set grew beyond ``DIMSEAssembler/maxAccumulatedDataSetLength``. Not a
    /// protocol error: the receiver gives up as service user (A-ABORT source 0, reason 0, Evt15).
    case dataSetTooLarge(contextID: UInt8, commandField: UInt16?, size: Int, limit: Int)

    public var description: String {
        switch self {
        case .unacceptedContext(let id): return "PDV on presentation context \(id), which was not accepted"
        case .dataSetWithoutCommand(let id): return "data set PDV without a command on context \(id)"
        case .commandDuringDataSet(let id): return "command PDV while a data set was expected on context \(id)"
        case .dataSetDuringCommand(let id): return "data set PDV before the command was complete on context \(id)"
        case .commandTooLarge(let id, let size, let limit):
            return "command set on context \(id) is \(size) bytes, over the limit \(limit)"
        case .invalidCommand(let id, let e): return "invalid command set on context \(id): \(e)"
        case .dataSetTooLarge(let id, _, let size, let limit):
            return "data set on context \(id) is at least \(size) bytes, over the limit \(limit)"
        }
    }

    /// The A-ABORT reason to send (PS3.8 Table 9-26): 6 invalid parameter value for a bad context
    /// or command, 2 unexpected PDU for out-of-order PDVs, 0 (not specified) for a data set over
    /// the receiver's own limit.
    public var abortReason: AbortReason {
        switch self {
        case .unacceptedContext, .commandTooLarge, .invalidCommand: return .invalidPDUParameterValue
        case .dataSetWithoutCommand, .commandDuringDataSet, .dataSetDuringCommand: return .unexpectedPDU
        case .dataSetTooLarge: return .notSpecified
        }
    }
}

/// What the assembler produces for a PDV.
public enum DIMSEAssemblerOutput: Sendable, Hashable {
    /// A complete message (in incremental mode: only for messages without data set).
    case message(DIMSEMessage)
    /// Incremental mode: a complete command whose data set follows as ``dataSetFragment(contextID:fragment:isLast:)``.
    case command(contextID: UInt8, CommandSet)
    /// Incremental mode: one data set fragment as it arrived.
    case dataSetFragment(contextID: UInt8, fragment: ArraySlice<UInt8>, isLast: Bool)
}

/// Which data sets a ``DIMSEAssembler`` hands on fragment by fragment instead of accumulating them.
public enum DataSetStreaming: Sendable, Hashable {
    /// Every data set is accumulated and delivered with its command as one message.
    case never
    /// Every data set is delivered fragment by fragment.
    case always
    /// Data sets of these commands are delivered fragment by fragment (a C-STORE-RQ's, so that
    /// it can be written as it arrives); all others are accumulated.
    case commands(Set<CommandField>)

    func streams(_ command: CommandSet) -> Bool {
        switch self {
        case .never: return false
        case .always: return true
        case .commands(let fields): return command.commandField.map(fields.contains) ?? false
        }
    }
}

/// Reassembles DIMSE messages from PDVs, per presentation context (PS3.8 Annex E, PS3.7 §6.3; UL-19).
///
/// Feed PDVs in arrival order. Command fragments are bounded by ``maxCommandLength``. Data set
/// fragments are either delivered one by one as they arrive (``streaming``, for C-STORE) or kept
/// as slices (no copy) until the data set is complete, bounded by ``maxAccumulatedDataSetLength``;
/// their size so far is exposed through ``accumulatedDataSetLength(contextID:)``.
public struct DIMSEAssembler: Sendable {
    private enum ContextState: Sendable {
        case command(fragments: [ArraySlice<UInt8>], size: Int)
        case dataSet(command: CommandSet, fragments: [ArraySlice<UInt8>], size: Int)
        case streamingDataSet(size: Int)
    }

    /// Accepted presentation context IDs; PDVs on other contexts are an error (UL-20).
    public var acceptedContextIDs: Set<UInt8>
    /// Upper bound on a reassembled command set (default 64 KiB).
    public var maxCommandLength: Int
    /// Which data sets are delivered as they arrive; the others are accumulated.
    public var streaming: DataSetStreaming
    /// Upper bound on an accumulated data set (nil: none); beyond it ``append(_:)`` throws
    /// ``DIMSEAssemblyError/dataSetTooLarge(contextID:commandField:size:limit:)``.
    public var maxAccumulatedDataSetLength: Int?

    private var contexts: [UInt8: ContextState] = [:]

    public init(
        acceptedContextIDs: Set<UInt8>, maxCommandLength: Int = 64 * 1024,
        deliverDataSetIncrementally: Bool = false
    ) {
        self.init(
            acceptedContextIDs: acceptedContextIDs, maxCommandLength: maxCommandLength,
            streaming: deliverDataSetIncrementally ? .always : .never, maxAccumulatedDataSetLength: nil)
    }

    public init(
        acceptedContextIDs: Set<UInt8>, maxCommandLength: Int = 64 * 1024, streaming: DataSetStreaming,
        maxAccumulatedDataSetLength: Int?
    ) {
        self.acceptedContextIDs = acceptedContextIDs
        self.maxCommandLength = maxCommandLength
        self.streaming = streaming
        self.maxAccumulatedDataSetLength = maxAccumulatedDataSetLength
    }

    /// Deliver every data set's fragments as they arrive instead of accumulating them.
    public var deliverDataSetIncrementally: Bool {
        get { streaming == .always }
        set { streaming = newValue ? .always : .never }
    }

    /// True when no message is partially received on any context.
    public var isIdle: Bool { contexts.isEmpty }

    /// True when a data set is being accumulated on some context (its command has arrived, its
    /// last fragment has not).
    public var isAccumulatingDataSet: Bool {
        contexts.values.contains { if case .dataSet = $0 { return true } else { return false } }
    }

    /// Bytes of data set received so far for the message in progress on a context.
    public func accumulatedDataSetLength(contextID: UInt8) -> Int {
        switch contexts[contextID] {
        case .dataSet(_, _, let size)?, .streamingDataSet(let size)?: return size
        default: return 0
        }
    }

    /// Feeds all PDVs of a P-DATA-TF; returns the outputs in order.
    public mutating func append(_ pData: PDataTF) throws(DIMSEAssemblyError) -> [DIMSEAssemblerOutput] {
        var out: [DIMSEAssemblerOutput] = []
        for pdv in pData.pdvs {
            if let o = try append(pdv) { out.append(o) }
        }
        return out
    }

    /// Feeds one PDV; returns an output when a message, command or (incremental) fragment is ready.
    public mutating func append(_ pdv: PDV) throws(DIMSEAssemblyError) -> DIMSEAssemblerOutput? {
        let id = pdv.contextID
        guard acceptedContextIDs.contains(id) else { throw .unacceptedContext(id) }
        let state = contexts[id]
        if pdv.isCommand {
            var fragments: [ArraySlice<UInt8>] = []
            var size = 0
            switch state {
            case nil: break
            case .command(let f, let s)?:
                fragments = f
                size = s
            case .dataSet?, .streamingDataSet?: throw .commandDuringDataSet(contextID: id)
            }
            size += pdv.fragment.count
            guard size <= maxCommandLength else {
                throw .commandTooLarge(contextID: id, size: size, limit: maxCommandLength)
            }
            let bytes: ArraySlice<UInt8>
            if fragments.isEmpty && pdv.isLast {
                bytes = pdv.fragment  // a command in one PDV, as commands almost always come
            } else {
                fragments.append(pdv.fragment)
                guard pdv.isLast else {
                    contexts[id] = .command(fragments: fragments, size: size)
                    return nil
                }
                bytes = ArraySlice(fragments.joined())
            }
            let command: CommandSet
            do {
                command = try CommandSet(decoding: bytes)
            } catch {
                throw .invalidCommand(contextID: id, error)
            }
            guard command.hasDataSet else {
                if state != nil { contexts[id] = nil }
                return .message(DIMSEMessage(contextID: id, command: command, dataSet: nil))
            }
            if streaming.streams(command) {
                contexts[id] = .streamingDataSet(size: 0)
                return .command(contextID: id, command)
            }
            contexts[id] = .dataSet(command: command, fragments: [], size: 0)
            return nil
        } else {
            switch state {
            case nil: throw .dataSetWithoutCommand(contextID: id)
            case .command?: throw .dataSetDuringCommand(contextID: id)
            case .streamingDataSet(let size)?:
                contexts[id] = pdv.isLast ? nil : .streamingDataSet(size: size + pdv.fragment.count)
                return .dataSetFragment(contextID: id, fragment: pdv.fragment, isLast: pdv.isLast)
            case .dataSet(let command, var fragments, let size)?:
                contexts[id] = nil  // release the array before appending (keeps it uniquely referenced)
                if let limit = maxAccumulatedDataSetLength, size + pdv.fragment.count > limit {
                    throw .dataSetTooLarge(
                        contextID: id, commandField: command.commandFieldValue,
                        size: size + pdv.fragment.count, limit: limit)
                }
                fragments.append(pdv.fragment)
                if pdv.isLast {
                    return .message(DIMSEMessage(contextID: id, command: command, dataSet: fragments))
                }
                contexts[id] = .dataSet(command: command, fragments: fragments, size: size + pdv.fragment.count)
                return nil
            }
        }
    }
}
