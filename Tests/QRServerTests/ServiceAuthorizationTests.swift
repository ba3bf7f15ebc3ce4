// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork
import Foundation
import Testing

@testable import QRServer

/// Allowed calling AE titles per service: a caller allowed for some services but not this
/// one gets the operation refused with 0124 (not authorized) and an Error Comment, and the
/// association stays usable.
@Suite("Per-service calling AE policy")
struct ServiceAuthorizationTests {
    @Test("C-FIND from a caller allowed only for C-ECHO: 0124; C-ECHO still answered")
    func findRefused() throws {
        let server = try TestServer(store: FakeIndexStore(.init(totalMatches: 3))) { configuration in
            configuration.allowedCallingAETitles = [.find: ["VIEWER"], .echo: []]
        }
        defer { server.shutdown() }
        let contexts =
            findContexts() + [RequestedContext(abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE])]
        let scu = try TestSCU(port: server.port, contexts: contexts)
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.isEmpty)
        #expect(final.status == .notAuthorized)
        #expect(final.command.errorComment?.contains("TESTSCU") == true)
        let echoContext = try scu.contextID(UIDs.verification)
        try scu.sendMessage(contextID: echoContext, command: .cEchoRQ(messageID: 9))
        let echo = try scu.receiveMessage()
        #expect(echo.command.status == .success)
        #expect(echo.command.messageIDBeingRespondedTo == 9)
    }

    @Test("C-FIND from an allowed caller is answered")
    func findAllowed() throws {
        let server = try TestServer(store: FakeIndexStore(.init(totalMatches: 3))) { configuration in
            configuration.allowedCallingAETitles = [.find: ["TESTSCU"]]
        }
        defer { server.shutdown() }
        let scu = try TestSCU(port: server.port, contexts: findContexts())
        let (pending, final) = try scu.find(
            contextID: try scu.contextID(UIDs.studyRootFind),
            sopClass: UIDs.studyRootFind, identifier: studyQuery())
        #expect(pending.count == 3)
        #expect(final.status == .success)
    }
}
