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

    public var description: String {
        switch self {
        case .unacceptedContext(let id): return "PDV on presentation context \(id), which was not accepted"
        case .dataSetWithoutCommand(let id): return "data set PDV without a command on context \(id)"
        case .commandDuringDataSet(let id): return "command PDV while a data set was expected on context \(id)"
        case .dataSetDuringCommand(let id): return "data set PDV before the command was complete on context \(id)"
        case .commandTooLarge(let id, let size, let limit):
            return "command set on context \(id) is \(size) bytes, over the limit \(limit)"
        case .invalidCommand(let id, let e): return "invalid command set on context \(id): \(e)"
        }
    }

    /// The A-ABORT reason to send (PS3.8 Table 9-26): 6 invalid parameter value for a bad context
    /// or command, 2 unexpected PDU for out-of-order PDVs.
    public var abortReason: AbortReason {
        switch self {
        case .unacceptedContext, .commandTooLarge, .invalidCommand: return .invalidPDUParameterValue
        case .dataSetWithoutCommand, .commandDuringDataSet, .dataSetDuringCommand: return .unexpectedPDU
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

/// Reassembles DIMSE messages from PDVs, per presentation context (PS3.8 Annex E, PS3.7 §6.3; UL-19).
///
/// Feed PDVs in arrival order. Command fragments are bounded by ``maxCommandLength``; data set
/// fragments are kept as slices (no copy) and their size is exposed through
/// ``accumulatedDataSetLength(contextID:)`` so the caller can apply its own limit, or delivered one
/// by one when ``deliverDataSetIncrementally`` is set (for streaming C-STORE).
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
    /// Deliver data set fragments as they arrive instead of accumulating them.
    public var deliverDataSetIncrementally: Bool

    private var contexts: [UInt8: ContextState] = [:]

    public init(acceptedContextIDs: Set<UInt8>, maxCommandLength: Int = 64 * 1024,
                deliverDataSetIncrementally: Bool = false) {
        self.acceptedContextIDs = acceptedContextIDs
        self.maxCommandLength = maxCommandLength
        self.deliverDataSetIncrementally = deliverDataSetIncrementally
    }

    /// True when no message is partially received on any context.
    public var isIdle: Bool { contexts.isEmpty }

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
            case .command(let f, let s)?: fragments = f; size = s
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
            if deliverDataSetIncrementally {
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
