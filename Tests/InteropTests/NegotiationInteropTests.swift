// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// Presentation-context negotiation as seen by pynetdicom proposing odd contexts.
@Suite("Negotiation with pynetdicom", .serialized, .enabled(if: ExternalTool.interopEnabled))
struct NegotiationInteropTests {
    @Test("Each context gets its own result: 4 for no transfer syntax, 3 for unknown SOP class, 0 otherwise (UL-10)")
    func mixedContexts() throws {
        let daemon = try DaemonProcess()
        let (result, json) = ExternalTool.pythonPeer(
            "negotiation_probe.py", ["127.0.0.1", "\(daemon.port)", daemon.aeTitle, "mixed"])
        let outcome = try #require(json as? [String: Any], "\(result.transcript)\n\(daemon.log)")
        #expect(outcome["established"] as? Bool == true)
        let contexts = try #require(outcome["contexts"] as? [[String: Any]])
        #expect(contexts.map { $0["id"] as? Int } == [1, 3, 5, 7])
        #expect(contexts.map { $0["result"] as? Int } == [4, 3, 0, 0])
        // Accepted contexts carry a transfer syntax the requester proposed.
        #expect(contexts[2]["transfer_syntax"] as? String == "1.2.840.10008.1.2.1")
        #expect(contexts[3]["transfer_syntax"] as? String == "1.2.840.10008.1.2")
        #expect(outcome["echo_statuses"] as? [Int] == [0])
        #expect(outcome["released"] as? Bool == true)
        #expect((outcome["implementation_class_uid"] as? String)?.isEmpty == false)
        #expect(daemon.stop() == 0)
    }

    @Test("128 proposed contexts are all answered and accepted")
    func manyContexts() throws {
        let daemon = try DaemonProcess()
        let (result, json) = ExternalTool.pythonPeer(
            "negotiation_probe.py", ["127.0.0.1", "\(daemon.port)", daemon.aeTitle, "many"])
        let outcome = try #require(json as? [String: Any], "\(result.transcript)\n\(daemon.log)")
        #expect(outcome["established"] as? Bool == true)
        let contexts = try #require(outcome["contexts"] as? [[String: Any]])
        #expect(contexts.count == 128)
        #expect(contexts.allSatisfy { $0["result"] as? Int == 0 })
        #expect(outcome["echo_statuses"] as? [Int] == [0])
        #expect(daemon.stop() == 0)
    }

    @Test("Over --max-assoc the next association is rejected transient, local limit exceeded (2/3/2)")
    func associationLimit() throws {
        let daemon = try DaemonProcess(arguments: ["--max-assoc", "2"])
        let (result, json) = ExternalTool.pythonPeer(
            "hold_associations.py", ["127.0.0.1", "\(daemon.port)", daemon.aeTitle, "3"])
        let outcomes = try #require(json as? [[String: Any]], "\(result.transcript)\n\(daemon.log)")
        #expect(outcomes.count == 3)
        #expect(outcomes.prefix(2).allSatisfy { $0["established"] as? Bool == true && $0["echo"] as? Int == 0 })
        let reject = try #require(outcomes.last?["reject"] as? [String: Any], "\(outcomes)")
        #expect(reject["result"] as? Int == 2)
        #expect(reject["source"] as? Int == 3)
        #expect(reject["reason"] as? Int == 2)
        // Once they are released, there is room again.
        #expect(daemon.echoWithDCMTK().succeeded, "\(daemon.log)")
        #expect(daemon.stop() == 0)
    }
}
