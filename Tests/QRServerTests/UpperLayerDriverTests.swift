// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Foundation
import Reactor
import TestSupport
import Testing

@testable import QRServer

/// The upper-layer driver on a real event loop, against a scripted peer over a loopback TCP
/// connection: as acceptor and as requestor, what reaches the delegate and what reaches the wire.
@Suite("Upper-layer driver with a scripted peer")
struct UpperLayerDriverTests {
    static let ctImage = "1.2.840.10008.5.1.4.1.1.2"
    static let policy = AcceptorPolicy(
        aeTitle: "DRIVER",
        supported: [
            UIDs.verification: [UIDs.implicitLE],
            UIDs.studyRootFind: [UIDs.explicitLE],
            ctImage: [UIDs.explicitLE],
        ],
        maxPDULength: 16384, implementationClassUID: "1.2.826.0.1.3680043.10.1489.98")

    static func request(calledAE: String = "DRIVER") -> AssociateRequest {
        AssociateRequest.requestor(
            callingAETitle: "PEER", calledAETitle: calledAE,
            contexts: [
                RequestedContext(abstractSyntax: UIDs.verification, transferSyntaxes: [UIDs.implicitLE]),
                RequestedContext(abstractSyntax: UIDs.studyRootFind, transferSyntaxes: [UIDs.explicitLE]),
                RequestedContext(abstractSyntax: ctImage, transferSyntaxes: [UIDs.explicitLE]),
            ],
            maxPDULength: 16384, implementationClassUID: "1.2.826.0.1.3680043.10.1489.99")
    }

    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    /// An acceptor driver with an established association; returns the context IDs by abstract syntax.
    static func associated(_ harness: DriverHarness) throws -> (RecordingDelegate, ScriptedPeer, [String: UInt8]) {
        let (delegate, peer) = try harness.acceptor(policy: policy)
        let request = request()
        try peer.send(.associateRQ(request))
        guard case .associateAC(let ac)? = try peer.receivePDU() else { throw TestFailure("no A-ASSOCIATE-AC") }
        let negotiated = NegotiatedAssociation(requestor: request, accept: ac)
        var ids: [String: UInt8] = [:]
        for context in negotiated.contexts.values { ids[context.abstractSyntax] = context.id }
        #expect(delegate.events == [.associateRequest(callingAE: "PEER")])
        return (delegate, peer, ids)
    }

    @Test("acceptor: a C-STORE-RQ data set is delivered as fragments, as they arrive")
    func streamedStore() throws {
        let harness = try DriverHarness()
        defer { harness.stop() }
        let (delegate, peer, ids) = try Self.associated(harness)
        let context = try #require(ids[Self.ctImage])
        let dataSet = Self.pattern(40_000)
        let command = CommandSet.cStoreRQ(
            messageID: 1, affectedSOPClassUID: Self.ctImage, affectedSOPInstanceUID: "1.2.3.4")
        try peer.sendMessage(contextID: context, command: command, dataSet: dataSet)
        #expect(eventually { delegate.events.contains { if case .fragment(_, _, true) = $0 { true } else { false } } })

        let events = delegate.events.dropFirst()
        #expect(events.first == .command(contextID: context, field: .cStoreRQ))
        var received: [UInt8] = []
        var fragments = 0
        for case .fragment(let id, let bytes, let isLast) in events {
            #expect(id == context)
            received += bytes
            fragments += 1
            #expect(isLast == (received.count == dataSet.count))
        }
        #expect(fragments >= 3)  // 40 000 bytes in PDUs of at most 16 KiB
        #expect(received == dataSet)
        #expect(!events.contains { if case .message = $0 { true } else { false } })
    }

    @Test("acceptor: a C-FIND identifier is accumulated and delivered as one message")
    func accumulatedFind() throws {
        let harness = try DriverHarness()
        defer { harness.stop() }
        let (delegate, peer, ids) = try Self.associated(harness)
        let context = try #require(ids[UIDs.studyRootFind])
        let identifier = Self.pattern(40_000)
        try peer.sendMessage(
            contextID: context, command: .cFindRQ(messageID: 2, affectedSOPClassUID: UIDs.studyRootFind),
            dataSet: identifier)
        #expect(eventually { delegate.events.count == 2 })
        #expect(delegate.events.last == .message(contextID: context, field: .cFindRQ, dataSet: identifier))
        #expect(try harness.onLoop { !(delegate.driver?.isAccumulatingDataSet ?? true) })
    }

    @Test("acceptor: an accumulated data set over 16 MiB ends the association with an A-ABORT")
    func oversizedAccumulated() throws {
        let harness = try DriverHarness()
        defer { harness.stop() }
        let (delegate, peer, ids) = try Self.associated(harness)
        let context = try #require(ids[UIDs.studyRootFind])
        // The last PDU carries the byte over the limit, so the driver has read everything sent
        // when it gives up.
        let identifier = [UInt8](repeating: 0x20, count: UpperLayerDriver.maxAccumulatedDataSet + 1)
        try peer.sendMessage(
            contextID: context, command: .cFindRQ(messageID: 3, affectedSOPClassUID: UIDs.studyRootFind),
            dataSet: identifier, maxPDULength: 1 << 20)
        let answer = try peer.receivePDU()
        #expect(answer == .abort(AbortPDU(source: .serviceUser, reason: .notSpecified)))
        #expect(try peer.receivePDU() == nil)  // and the driver closes
        #expect(eventually { delegate.events.last == .ended })
        #expect(!delegate.events.contains { if case .message = $0 { true } else { false } })
        #expect(
            harness.logs.all.contains {
                $0.level == .warning && $0.message.contains("request data set too large")
                    && $0.metadata["limit"] == "\(UpperLayerDriver.maxAccumulatedDataSet)"
            })
    }

    @Test("acceptor: after the A-RELEASE-RP, ARTIM closes the connection the peer keeps open")
    func artimAfterRelease() throws {
        let harness = try DriverHarness()
        defer { harness.stop() }
        let (delegate, peer, _) = try Self.associated(harness)
        try peer.send(.releaseRQ)
        #expect(try peer.receivePDU() == .releaseRP)
        // The peer does not close; the driver waits for ARTIM, then closes.
        #expect(try peer.receivePDU() == nil)
        #expect(eventually { delegate.events.last == .ended })
        #expect(delegate.events.dropFirst() == [.releaseRequested, .ended])
        #expect(harness.logs.all.contains { $0.message == "ARTIM expired" && $0.metadata["state"] == "sta13" })
    }

    @Test("requestor: a message sent while a data set streams out is held until the data set ends")
    func outputHeldDuringStream() throws {
        let harness = try DriverHarness()
        defer { harness.stop() }
        let request = Self.request(calledAE: "PEERSCP")
        let (delegate, peer) = try harness.requestor(request)
        guard case .associateRQ(let received)? = try peer.receivePDU() else { throw TestFailure("no A-ASSOCIATE-RQ") }
        #expect(received == request)
        var policy = Self.policy
        policy.aeTitle = "PEERSCP"
        guard case .accept(let ac, let negotiated) = negotiate(received, policy: policy) else {
            throw TestFailure("the peer's policy refused")
        }
        try peer.send(.associateAC(ac))
        #expect(eventually { delegate.events == [.accepted(contexts: 3)] })

        let store = try #require(negotiated.context(abstractSyntax: Self.ctImage)?.id)
        let echo = try #require(negotiated.context(abstractSyntax: UIDs.verification)?.id)
        let dataSet = Self.pattern(50_000)
        let held = try harness.onLoop { () -> Int in
            guard let driver = delegate.driver else { return -1 }
            let command = CommandSet.cStoreRQ(
                messageID: 1, affectedSOPClassUID: Self.ctImage,
                affectedSOPInstanceUID: "1.2.3.5")
            driver.beginStreamedMessage(
                contextID: store, command: command,
                firstPart: .bytes(dataSet[..<20_000]), isLast: false)
            driver.sendMessage(contextID: echo, command: .cEchoRQ(messageID: 2))
            return driver.isStreamingMessage ? driver.heldBytes : 0
        }
        #expect(held > 0)
        let isLastDataSetPDV: (PDV) -> Bool = { $0.contextID == store && !$0.isCommand && $0.isLast }
        // Until the data set ends, nothing of the held C-ECHO reaches the wire.
        var pdvs = try peer.receivePDVs { $0.filter { !$0.isCommand }.reduce(0) { $0 + $1.fragment.count } >= 20_000 }
        #expect(!pdvs.contains { $0.contextID == echo })
        try harness.onLoop {
            delegate.driver?.continueStreamedMessage(contextID: store, .bytes(dataSet[20_000...]), isLast: true)
        }
        pdvs += try peer.receivePDVs { $0.contains { $0.contextID == echo && $0.isCommand && $0.isLast } }
        let lastData = try #require(pdvs.firstIndex(where: isLastDataSetPDV))
        let firstEcho = try #require(pdvs.firstIndex { $0.contextID == echo })
        #expect(firstEcho > lastData)
        #expect(pdvs.filter { $0.contextID == store && !$0.isCommand }.flatMap { Array($0.fragment) } == dataSet)
        #expect(eventually { delegate.events.last == .streamEnded })
        #expect(try harness.onLoop { delegate.driver.map { $0.heldBytes == 0 && !$0.isStreamingMessage } ?? false })

        // A-RELEASE: the peer answers, the driver confirms and closes.
        try harness.onLoop { delegate.driver?.requestRelease() }
        #expect(try peer.receivePDU() == .releaseRQ)
        try peer.send(.releaseRP)
        #expect(try peer.receivePDU() == nil)
        #expect(eventually { delegate.events.suffix(2) == [.releaseConfirmed, .ended] })
    }
}
