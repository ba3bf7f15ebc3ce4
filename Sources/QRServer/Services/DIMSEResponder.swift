// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Logging

/// Answers the requests of every DIMSE service: the fields a response carries beside its
/// status (Error Comment, Offending Element), the refusal of a request no service takes, and
/// the completion log line (`dimse_command`, `status` in four hex digits, `duration_ms`,
/// `error_comment`, and what the service adds).
///
/// The line is written before the response is sent, so that it exists once the peer has the
/// answer.
struct DIMSEResponder {
    let host: any DIMSEServiceHost
    let contextID: UInt8
    /// The DIMSE command named in log lines ("C-FIND").
    let commandName: String
    /// When the request came: the completion line reports the time since; nil reports none.
    let started: ContinuousClock.Instant?

    /// Longest Error Comment (0000,0902): its VR is LO, at most 64 characters (PS3.5 §6.2).
    private static let maxErrorCommentLength = 64

    /// `command` with the Error Comment (cut to 64 characters) and Offending Element
    /// (0000,0901) of a failure or warning.
    static func annotated(_ command: CommandSet, comment: String?, offending: [Tag] = []) -> CommandSet {
        var response = command
        if let comment { response.errorComment = String(comment.prefix(maxErrorCommentLength)) }
        if !offending.isEmpty { response.offendingElements = offending.map(\.value) }
        return response
    }

    /// Logs the completion line, then sends `command` with its Error Comment and Offending
    /// Element and, if given, its data set.
    func respond(
        _ command: CommandSet, status: DIMSEStatus, comment: String? = nil, offending: [Tag] = [],
        dataSet: [ArraySlice<UInt8>]? = nil, level: Logger.Level = .info,
        _ details: @autoclosure () -> Logger.Metadata = [:]
    ) {
        logCompletion(status: status, comment: comment, level: level, details())
        host.sendMessage(
            contextID: contextID, command: Self.annotated(command, comment: comment, offending: offending),
            dataSet: dataSet)
    }

    /// The completion line: `message` (the command name unless given), the command, the status,
    /// the duration when timed, the Error Comment when there is one, and `details`. Built only
    /// when the logger writes `level`: a busy ingest node logging at warning pays nothing.
    func logCompletion(
        status: DIMSEStatus, comment: String? = nil, level: Logger.Level = .info,
        message: String? = nil, _ details: @autoclosure () -> Logger.Metadata = [:]
    ) {
        let logger = host.logger
        guard logger.logLevel <= level else { return }
        var metadata = details()
        metadata["dimse_command"] = "\(commandName)"
        metadata["status"] = "\(Self.hex(status.rawValue))"
        if let started { metadata["duration_ms"] = "\(Self.milliseconds(since: started))" }
        if let comment { metadata["error_comment"] = "\(comment)" }
        logger.log(level: level, "\(message ?? commandName)", metadata: metadata)
    }

    /// Refuses a request on a context we accepted that no service takes here, or that the
    /// calling AE may not use: a response with the request's command field and bit 15 set, no
    /// data set, the status and an Error Comment, logged as "operation refused".
    static func refuse(
        _ message: DIMSEMessage, field: CommandField, status: DIMSEStatus, comment: String,
        on host: any DIMSEServiceHost
    ) {
        guard let messageID = message.command.messageID,
            let responseField = CommandField(rawValue: field.rawValue | 0x8000)
        else { return }
        var response = CommandSet()
        response.setUS(CommandSet.Tag.commandField, responseField.rawValue)
        response.setUI(CommandSet.Tag.affectedSOPClassUID, message.command.affectedSOPClassUID)
        response.setUS(CommandSet.Tag.messageIDBeingRespondedTo, messageID)
        response.setUS(CommandSet.Tag.commandDataSetType, CommandSet.noDataSet)
        response.status = status
        let responder = DIMSEResponder(host: host, contextID: message.contextID, commandName: "\(field)", started: nil)
        responder.logCompletion(status: status, level: .notice, message: "operation refused", ["reason": "\(comment)"])
        host.sendMessage(contextID: message.contextID, command: annotated(response, comment: comment))
    }

    /// A status as four upper-case hex digits ("A700"), as log lines show it.
    static func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// Whole milliseconds since `start`, rounded.
    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(
            (Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15).rounded())
    }
}
