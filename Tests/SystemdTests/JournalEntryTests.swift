// SPDX-License-Identifier: Apache-2.0
import CSystemShims
import Logging
import Testing

@testable import Systemd

#if canImport(Glibc)
    import Glibc
#endif

private func event(
    _ level: Logger.Level = .info,
    _ message: Logger.Message = "hello",
    metadata: Logger.Metadata? = nil,
    error: (any Error)? = nil
) -> LogEvent {
    LogEvent(
        level: level, message: message, error: error, metadata: metadata, source: nil,
        file: "QRServer/Association.swift", function: "accept(_:)", line: 42
    )
}

private func dictionary(_ fields: [(String, String)]) -> [String: String] {
    Dictionary(fields, uniquingKeysWith: { first, _ in first })
}

@Suite struct JournalEntryTests {
    @Test func priorityMapping() {
        let expected: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, priority) in expected {
            #expect(JournalEntry.priority(for: level) == priority, "\(level)")
            let fields = dictionary(JournalEntry.fields(for: event(level)))
            #expect(fields["PRIORITY"] == String(priority))
        }
    }

    @Test func standardFieldsComeFirstInOrder() {
        let fields = JournalEntry.fields(for: event(.warning, "association rejected"), identifier: "qrscpd")
        #expect(fields.map(\.0) == ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC"])
        #expect(
            fields.map(\.1) == [
                "association rejected", "4", "qrscpd", "QRServer/Association.swift", "42", "accept(_:)",
            ])
    }

    @Test func identifierAndLabel() {
        let same = dictionary(JournalEntry.fields(for: event(), identifier: "qrscpd", label: "qrscpd"))
        #expect(same["SYSLOG_IDENTIFIER"] == "qrscpd")
        #expect(same["LOGGER"] == nil)
        let other = dictionary(JournalEntry.fields(for: event(), identifier: "pacs", label: "qrscpd.server"))
        #expect(other["SYSLOG_IDENTIFIER"] == "pacs")
        #expect(other["LOGGER"] == "qrscpd.server")
    }

    @Test func daemonMetadataKeysBecomeUpperCaseFields() {
        let metadata: Logger.Metadata = [
            "association_id": "17", "calling_ae": "MODALITY1", "called_ae": "QRSCPD",
            "peer_address": "127.0.0.1:50312", "dimse_command": "C-FIND-RQ",
            "sop_instance_uid": "1.2.840.10008.1.1", "status": .stringConvertible(0xA700),
        ]
        let fields = JournalEntry.fields(for: event(metadata: metadata))
        #expect(
            Array(fields.dropFirst(6).map(\.0)) == [
                "ASSOCIATION_ID", "CALLED_AE", "CALLING_AE", "DIMSE_COMMAND", "PEER_ADDRESS", "SOP_INSTANCE_UID",
                "STATUS",
            ])
        let byName = dictionary(fields)
        #expect(byName["CALLING_AE"] == "MODALITY1")
        #expect(byName["PEER_ADDRESS"] == "127.0.0.1:50312")
        #expect(byName["STATUS"] == "42752")
    }

    @Test func fieldNameSanitizing() {
        #expect(JournalEntry.sanitizedFieldName("calling_ae") == "CALLING_AE")
        #expect(JournalEntry.sanitizedFieldName("peer-address") == "PEER_ADDRESS")
        #expect(JournalEntry.sanitizedFieldName("error.message") == "ERROR_MESSAGE")
        #expect(JournalEntry.sanitizedFieldName("dicom msg id") == "DICOM_MSG_ID")
        #expect(JournalEntry.sanitizedFieldName("_trusted") == "TRUSTED")
        #expect(JournalEntry.sanitizedFieldName("__x1") == "X1")
        #expect(JournalEntry.sanitizedFieldName("2fa") == "FA")
        #expect(JournalEntry.sanitizedFieldName("ae_é") == "AE__")
        #expect(JournalEntry.sanitizedFieldName("") == nil)
        #expect(JournalEntry.sanitizedFieldName("_-.9") == nil)
        let long = String(repeating: "k", count: 100)
        #expect(JournalEntry.sanitizedFieldName(long) == String(repeating: "K", count: 64))
        for key in ["calling_ae", "peer-address", "_trusted", "2fa", "ae_é", long, "a.b.c", "Ünïcode"] {
            let name = JournalEntry.sanitizedFieldName(key)
            #expect(name.map(JournalEntry.isValidFieldName) == true, "\(key) → \(name ?? "nil")")
        }
    }

    @Test func validFieldNames() {
        #expect(JournalEntry.isValidFieldName("MESSAGE"))
        #expect(JournalEntry.isValidFieldName("DICOM_CALLING_AE2"))
        #expect(!JournalEntry.isValidFieldName("_PID"))
        #expect(!JournalEntry.isValidFieldName("1ABC"))
        #expect(!JournalEntry.isValidFieldName("lower"))
        #expect(!JournalEntry.isValidFieldName(""))
        #expect(!JournalEntry.isValidFieldName(String(repeating: "A", count: 65)))
    }

    @Test func metadataCannotOverrideRecordFields() {
        let fields = JournalEntry.fields(
            for: event(.info, "real", metadata: ["message": "fake", "priority": "0", "errno": "13"]))
        let names = fields.map(\.0)
        #expect(names.filter { $0 == "MESSAGE" }.count == 1)
        #expect(names.filter { $0 == "PRIORITY" }.count == 1)
        let byName = dictionary(fields)
        #expect(byName["MESSAGE"] == "real")
        #expect(byName["META_MESSAGE"] == "fake")
        #expect(byName["META_PRIORITY"] == "0")
        #expect(byName["ERRNO"] == "13", "non-reserved well-known fields pass through")
    }

    @Test func explicitMetadataWinsOverHandlerMetadata() {
        let byName = dictionary(
            JournalEntry.fields(
                for: event(metadata: ["calling_ae": "EXPLICIT"]),
                metadata: ["calling_ae": "HANDLER", "called_ae": "QRSCPD"]
            ))
        #expect(byName["CALLING_AE"] == "EXPLICIT")
        #expect(byName["CALLED_AE"] == "QRSCPD")
    }

    @Test func peerTextInMessageAndMetadataIsEscapedAndBounded() {
        let forged = "1.2.3\n2026-12-07T06:00:00.000Z info qrscpd: association accepted\u{1B}[2J"
        let fields = JournalEntry.fields(
            for: event(
                .info, "C-STORE \(forged)",
                metadata: ["sop_instance_uid": .string(forged), "long": .string(String(repeating: "9", count: 10_000))]
            ))
        let byName = dictionary(fields)
        let escaped = #"1.2.3\n2026-12-07T06:00:00.000Z info qrscpd: association accepted\x1b[2J"#
        #expect(byName["MESSAGE"] == "C-STORE " + escaped)
        #expect(byName["SOP_INSTANCE_UID"] == escaped)
        for (_, value) in fields {
            #expect(!value.utf8.contains { $0 < 0x20 || $0 == 0x7F }, "\(value.prefix(80))")
        }
        let long = try! #require(byName["LONG"])
        #expect(long.utf8.count <= LogText.maximumValueBytes + 32)
        #expect(long.hasSuffix("…[+\(10_000 - LogText.maximumValueBytes) bytes]"))
    }

    @Test func multiLineMessageAndStructuredValues() {
        let byName = dictionary(
            JournalEntry.fields(
                for: event(
                    .info, "line one\nline two\n",
                    metadata: ["contexts": ["1.2.840.10008.1.1", "1.2.840.10008.5.1.4.1.2.1.1"], "nested": ["k": "v"]]
                )))
        // One record is one line: the newlines are escaped, not sent raw.
        #expect(byName["MESSAGE"] == #"line one\nline two\n"#)
        // Non-string values are written as swift-log describes them.
        #expect(byName["CONTEXTS"] == #"["1.2.840.10008.1.1", "1.2.840.10008.5.1.4.1.2.1.1"]"#)
        #expect(byName["NESTED"] == #"["k": "v"]"#)
    }

    @Test func errorBecomesErrorFields() {
        struct StoreFailed: Error, CustomStringConvertible { var description: String { "disk full" } }
        let byName = dictionary(JournalEntry.fields(for: event(.error, "store failed", error: StoreFailed())))
        #expect(byName["ERROR_MESSAGE"] == "disk full")
        #expect(byName["ERROR_TYPE"]?.hasSuffix("StoreFailed") == true)
    }
}

@Suite struct JournalStreamDetectionTests {
    private func devIno(_ fd: Int32) -> String {
        var info = stat()
        #expect(fstat(fd, &info) == 0)
        return "\(info.st_dev):\(info.st_ino)"
    }

    @Test func matchesOnlyTheNamedStream() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        let stream = devIno(fds[1])
        #expect(JournaldLogHandler.isConnectedToJournal(fd: fds[1], journalStream: stream))
        #expect(!JournaldLogHandler.isConnectedToJournal(fd: fds[1], journalStream: nil))
        #expect(!JournaldLogHandler.isConnectedToJournal(fd: fds[1], journalStream: "garbage"))
        #expect(!JournaldLogHandler.isConnectedToJournal(fd: fds[1], journalStream: stream + ":1"))
        #expect(!JournaldLogHandler.isConnectedToJournal(fd: -1, journalStream: stream))

        // Both ends of a pipe share one inode: another pipe is another stream.
        var other: [Int32] = [0, 0]
        #expect(pipe(&other) == 0)
        defer { for fd in other { close(fd) } }
        #expect(!JournaldLogHandler.isConnectedToJournal(fd: other[1], journalStream: stream))
    }

    @Test func parsesDevColonInode() {
        #expect(JournaldLogHandler.parseJournalStream("8:12345")! == (8, 12345))
        #expect(JournaldLogHandler.parseJournalStream("8:") == nil)
        #expect(JournaldLogHandler.parseJournalStream(":1") == nil)
        #expect(JournaldLogHandler.parseJournalStream("a:b") == nil)
    }
}

@Suite struct SocketValidationTests {
    @Test func onlyListeningStreamSocketsPass() throws {
        let listener = qrs_listen_tcp("127.0.0.1", 0, 16)
        #expect(listener >= 0)
        defer { close(listener) }
        #expect(SocketActivation.isListeningStreamSocket(listener))

        let unbound = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(unbound) }
        #expect(!SocketActivation.isListeningStreamSocket(unbound))

        let datagram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(datagram) }
        #expect(!SocketActivation.isListeningStreamSocket(datagram))

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { for fd in fds { close(fd) } }
        #expect(!SocketActivation.isListeningStreamSocket(fds[0]))
        #expect(!SocketActivation.isListeningStreamSocket(-1))
    }

    @Test func fdNames() {
        #expect(SocketActivation.parseNames("dicom") == ["dicom"])
        #expect(SocketActivation.parseNames("dicom:tls") == ["dicom", "tls"])
        #expect(SocketActivation.parseNames("dicom::tls") == ["dicom", nil, "tls"])
    }
}
