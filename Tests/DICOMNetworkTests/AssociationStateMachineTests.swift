// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DICOMNetwork

typealias SM = AssociationStateMachine

/// Table 9-10 transcribed independently, one line per event: "state action" cells (blank cells omitted).
private let table910: [Int: String] = [
    1: "1 AE-1",
    2: "4 AE-2",
    3: "2 AA-1, 3 AA-8, 5 AE-3, 6 AA-8, 7 AA-8, 8 AA-8, 9 AA-8, 10 AA-8, 11 AA-8, 12 AA-8, 13 AA-6",
    4: "2 AA-1, 3 AA-8, 5 AE-4, 6 AA-8, 7 AA-8, 8 AA-8, 9 AA-8, 10 AA-8, 11 AA-8, 12 AA-8, 13 AA-6",
    5: "1 AE-5",
    6: "2 AE-6, 3 AA-8, 5 AA-8, 6 AA-8, 7 AA-8, 8 AA-8, 9 AA-8, 10 AA-8, 11 AA-8, 12 AA-8, 13 AA-7",
    7: "3 AE-7",
    8: "3 AE-8",
    9: "6 DT-1, 8 AR-7",
    10: "2 AA-1, 3 AA-8, 5 AA-8, 6 DT-2, 7 AR-6, 8 AA-8, 9 AA-8, 10 AA-8, 11 AA-8, 12 AA-8, 13 AA-6",
    11: "6 AR-1",
    12: "2 AA-1, 3 AA-8, 5 AA-8, 6 AR-2, 7 AR-8, 8 AA-8, 9 AA-8, 10 AA-8, 11 AA-8, 12 AA-8, 13 AA-6",
    13: "2 AA-1, 3 AA-8, 5 AA-8, 6 AA-8, 7 AR-3, 8 AA-8, 9 AA-8, 10 AR-10, 11 AR-3, 12 AA-8, 13 AA-6",
    14: "8 AR-4, 9 AR-9, 12 AR-4",
    15: "3 AA-1, 4 AA-2, 5 AA-1, 6 AA-1, 7 AA-1, 8 AA-1, 9 AA-1, 10 AA-1, 11 AA-1, 12 AA-1",
    16: "2 AA-2, 3 AA-3, 5 AA-3, 6 AA-3, 7 AA-3, 8 AA-3, 9 AA-3, 10 AA-3, 11 AA-3, 12 AA-3, 13 AA-2",
    17: "2 AA-5, 3 AA-4, 4 AA-4, 5 AA-4, 6 AA-4, 7 AA-4, 8 AA-4, 9 AA-4, 10 AA-4, 11 AA-4, 12 AA-4, 13 AR-5",
    18: "2 AA-2, 13 AA-2",
    19: "2 AA-1, 3 AA-8, 5 AA-8, 6 AA-8, 7 AA-8, 8 AA-8, 9 AA-8, 10 AA-8, 11 AA-8, 12 AA-8, 13 AA-7",
]

private let rq = Fixtures.associateRQValue
private let ac = Fixtures.associateACValue
private let pdata = PDataTF(pdvs: [PDV(contextID: 1, isCommand: true, isLast: true, fragment: [1, 2])])

/// A machine driven into `state` along the acceptor (or requestor) path.
private func machine(acceptorIn state: SM.State) -> SM {
    var m = SM()
    let path: [SM.Event] = [.transportConnectIndication, .associateRQReceived(rq), .associateAcceptResponse(ac)]
    switch state {
    case .sta1: break
    case .sta2: _ = m.handle(path[0])
    case .sta3: for e in path.prefix(2) { _ = m.handle(e) }
    case .sta6: for e in path { _ = m.handle(e) }
    case .sta7: for e in path + [.releaseRequest] { _ = m.handle(e) }
    case .sta8: for e in path + [.releaseRQReceived] { _ = m.handle(e) }
    case .sta10: for e in path + [.releaseRequest, .releaseRQReceived] { _ = m.handle(e) }
    case .sta12: for e in path + [.releaseRequest, .releaseRQReceived, .releaseRPReceived] { _ = m.handle(e) }
    case .sta13: for e in path.prefix(2) + [.associateRejectResponse(.noReasonGiven)] { _ = m.handle(e) }
    case .sta4: _ = m.handle(.associateRequest(rq))
    case .sta5: for e in [SM.Event.associateRequest(rq), .transportConnectConfirm] { _ = m.handle(e) }
    case .sta9, .sta11:
        for e in [
            SM.Event.associateRequest(rq), .transportConnectConfirm, .associateACReceived(ac), .releaseRequest,
            .releaseRQReceived,
        ] { _ = m.handle(e) }
        if state == .sta11 { _ = m.handle(.releaseResponse) }
    }
    #expect(m.state == state)
    return m
}

private func sampleEvent(_ n: Int) -> SM.Event {
    switch n {
    case 1: return .associateRequest(rq)
    case 2: return .transportConnectConfirm
    case 3: return .associateACReceived(ac)
    case 4: return .associateRJReceived(.noReasonGiven)
    case 5: return .transportConnectIndication
    case 6: return .associateRQReceived(rq)
    case 7: return .associateAcceptResponse(ac)
    case 8: return .associateRejectResponse(.noReasonGiven)
    case 9: return .pDataRequest(pdata)
    case 10: return .pDataReceived(pdata)
    case 11: return .releaseRequest
    case 12: return .releaseRQReceived
    case 13: return .releaseRPReceived
    case 14: return .releaseResponse
    case 15: return .abortRequest
    case 16: return .abortReceived(AbortPDU(source: .serviceUser))
    case 17: return .transportClosed
    case 18: return .artimExpired
    default: return .invalidPDU(.unrecognizedPDU)
    }
}

@Suite("Association state machine (PS3.8 §9.2, Table 9-10)")
struct AssociationStateMachineTests {
    @Test("transition table matches Table 9-10 cell by cell")
    func tableMatches() {
        for event in 1...19 {
            var expected: [SM.State: String] = [:]
            for cell in table910[event]!.split(separator: ",") {
                let parts = cell.split(separator: " ")
                expected[SM.State(rawValue: Int(parts[0])!)!] = String(parts[1])
            }
            for state in SM.State.allCases {
                #expect(
                    SM.transition(event: event, state: state)?.rawValue == expected[state],
                    "Evt\(event) Sta\(state.rawValue)")
            }
        }
    }

    @Test(
        "every (state, event) pair is handled by the action of the table, never traps",
        arguments: SM.State.allCases)
    func everyCell(state: SM.State) {
        for event in 1...19 {
            var m = machine(acceptorIn: state)
            let out = m.handle(sampleEvent(event))
            #expect(m.lastAction == SM.transition(event: event, state: state))
            if m.lastAction == nil && ![.sta1, .sta4, .sta13].contains(state) {
                #expect(m.state == .sta13)  // blank cell → AA-8
                #expect(out.first == .sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: .unexpectedPDU))))
            }
        }
    }

    @Test("UL-24 acceptor: Evt5 AE-5, Evt6 AE-6, Evt7 AE-7")
    func acceptorAccept() {
        var m = SM()
        #expect(m.handle(.transportConnectIndication) == [.startARTIM])
        #expect(m.state == .sta2 && m.isARTIMRunning)
        #expect(m.handle(.associateRQReceived(rq)) == [.stopARTIM, .indicateAssociateRequest(rq)])
        #expect(m.state == .sta3 && !m.isARTIMRunning)
        #expect(m.handle(.associateAcceptResponse(ac)) == [.sendPDU(.associateAC(ac))])
        #expect(m.state == .sta6 && m.canSendPData)
    }

    @Test("UL-24 acceptor reject: Evt8 AE-8 sends RJ, starts ARTIM, Sta13; ARTIM expiry closes (UL-26)")
    func acceptorReject() {
        var m = machine(acceptorIn: .sta3)
        #expect(
            m.handle(.associateRejectResponse(.calledAETitleNotRecognized))
                == [.sendPDU(.associateRJ(.calledAETitleNotRecognized)), .startARTIM])
        #expect(m.state == .sta13)
        #expect(m.handle(.artimExpired) == [.stopARTIM, .closeTransport])
        #expect(m.state == .sta1)
    }

    @Test("UL-25 data, release, close")
    func acceptorRelease() {
        var m = machine(acceptorIn: .sta6)
        #expect(m.handle(.pDataReceived(pdata)) == [.indicatePData(pdata)])
        #expect(m.lastAction == .dt2 && m.state == .sta6)
        #expect(m.handle(.pDataRequest(pdata)) == [.sendPDU(.pData(pdata))])
        #expect(m.handle(.releaseRQReceived) == [.indicateRelease(collision: false)])
        #expect(m.state == .sta8)
        // UL-23: AR-7, P-DATA may still be sent in Sta8
        #expect(m.handle(.pDataRequest(pdata)) == [.sendPDU(.pData(pdata))])
        #expect(m.lastAction == .ar7 && m.state == .sta8)
        #expect(m.handle(.releaseResponse) == [.sendPDU(.releaseRP), .startARTIM])
        #expect(m.state == .sta13)
        #expect(m.handle(.transportClosed) == [.stopARTIM])
        #expect(m.lastAction == .ar5 && m.state == .sta1)
    }

    @Test("UL-26 ARTIM expiry while waiting for the first RQ")
    func artimSta2() {
        var m = machine(acceptorIn: .sta2)
        #expect(m.handle(.artimExpired) == [.stopARTIM, .closeTransport])
        #expect(m.lastAction == .aa2 && m.state == .sta1)
    }

    @Test("UL-27 unexpected or invalid PDU in Sta2 → AA-1", arguments: [3, 4, 10, 12, 13, 19])
    func sta2Unexpected(event: Int) {
        var m = machine(acceptorIn: .sta2)
        let out = m.handle(sampleEvent(event))
        let reason: AbortReason = event == 19 ? .unrecognizedPDU : .unexpectedPDU
        #expect(out == [.sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: reason))), .startARTIM])
        #expect(m.lastAction == .aa1 && m.state == .sta13)
    }

    @Test("UL-27 unexpected or invalid PDU in Sta3/6/8 → AA-8", arguments: [3, 4, 6, 19])
    func aa8(event: Int) {
        for state in [SM.State.sta3, .sta6, .sta8] {
            var m = machine(acceptorIn: state)
            let out = m.handle(sampleEvent(event))
            let reason: AbortReason = event == 19 ? .unrecognizedPDU : .unexpectedPDU
            #expect(
                out == [
                    .sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: reason))),
                    .indicateAbort(.protocolError(reason)), .startARTIM,
                ])
            #expect(m.lastAction == .aa8 && m.state == .sta13)
        }
    }

    @Test("UL-28 A-ABORT received and transport closed", arguments: SM.State.allCases)
    func abortInEachState(state: SM.State) {
        var m = machine(acceptorIn: state)
        let a = AbortPDU(source: .serviceUser)
        let out = m.handle(.abortReceived(a))
        switch state {
        case .sta1, .sta4:
            #expect(m.lastAction == nil && out.isEmpty)
        case .sta2, .sta13:
            #expect(m.lastAction == .aa2 && out == [.stopARTIM, .closeTransport] && m.state == .sta1)
        default:
            #expect(m.lastAction == .aa3 && out == [.indicateAbort(.peer(a)), .closeTransport] && m.state == .sta1)
        }
        var m2 = machine(acceptorIn: state)
        let out2 = m2.handle(.transportClosed)
        switch state {
        case .sta1: #expect(out2.isEmpty)
        case .sta2: #expect(m2.lastAction == .aa5 && out2 == [.stopARTIM])
        case .sta13: #expect(m2.lastAction == .ar5 && out2 == [.stopARTIM])
        default: #expect(m2.lastAction == .aa4 && out2 == [.indicateAbort(.transportClosed)])
        }
        #expect(m2.state == .sta1)
    }

    @Test("local abort: AA-1 sends A-ABORT source 0; Sta4 AA-2")
    func localAbort() {
        var m = machine(acceptorIn: .sta6)
        #expect(m.handle(.abortRequest) == [.sendPDU(.abort(AbortPDU(source: .serviceUser))), .startARTIM])
        #expect(m.state == .sta13)
        var r = machine(acceptorIn: .sta4)
        #expect(r.handle(.abortRequest) == [.closeTransport])
        #expect(r.lastAction == .aa2 && r.state == .sta1)
    }

    @Test("UL-29 Sta13 ignores P-DATA/release/AC/RJ (AA-6); RQ or invalid → AA-7")
    func sta13() {
        for event in [3, 4, 10, 12, 13] {
            var m = machine(acceptorIn: .sta13)
            #expect(m.handle(sampleEvent(event)) == [])
            #expect(m.lastAction == .aa6 && m.state == .sta13)
        }
        var m = machine(acceptorIn: .sta13)
        #expect(
            m.handle(.associateRQReceived(rq)) == [
                .sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: .unexpectedPDU)))
            ])
        #expect(m.lastAction == .aa7 && m.state == .sta13)
        #expect(
            m.handle(.invalidPDU(.unrecognizedPDU)) == [
                .sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: .unrecognizedPDU)))
            ])
    }

    @Test("UL-30 requestor: connect, RQ, AC, data, release")
    func requestorPath() {
        var m = SM()
        #expect(m.handle(.associateRequest(rq)) == [.openTransport])
        #expect(m.state == .sta4 && m.isRequestor)
        #expect(m.handle(.transportConnectConfirm) == [.sendPDU(.associateRQ(rq))])
        #expect(m.state == .sta5)
        #expect(m.handle(.associateACReceived(ac)) == [.indicateAssociateAccept(ac)])
        #expect(m.state == .sta6)
        #expect(m.handle(.releaseRequest) == [.sendPDU(.releaseRQ)])
        #expect(m.state == .sta7)
        #expect(m.handle(.pDataReceived(pdata)) == [.indicatePData(pdata)])  // AR-6
        #expect(m.lastAction == .ar6 && m.state == .sta7)
        #expect(m.handle(.releaseRPReceived) == [.confirmRelease, .closeTransport])
        #expect(m.lastAction == .ar3 && m.state == .sta1)
    }

    @Test("UL-30 requestor: RJ → AE-4 → Sta1; transport failure in Sta4 → AA-4")
    func requestorRejected() {
        var m = machine(acceptorIn: .sta5)
        #expect(
            m.handle(.associateRJReceived(.localLimitExceeded)) == [
                .indicateAssociateReject(.localLimitExceeded), .closeTransport,
            ])
        #expect(m.state == .sta1)
        var n = machine(acceptorIn: .sta4)
        #expect(n.handle(.transportClosed) == [.indicateAbort(.transportClosed)])
        #expect(n.state == .sta1)
    }

    @Test("release collision, requestor side: Sta7 → Sta9 → Sta11 → Sta1")
    func collisionRequestor() {
        var m = machine(acceptorIn: .sta5)
        _ = m.handle(.associateACReceived(ac))
        _ = m.handle(.releaseRequest)
        #expect(m.handle(.releaseRQReceived) == [.indicateRelease(collision: true)])
        #expect(m.lastAction == .ar8 && m.state == .sta9)
        #expect(m.handle(.releaseResponse) == [.sendPDU(.releaseRP)])
        #expect(m.lastAction == .ar9 && m.state == .sta11)
        #expect(m.handle(.releaseRPReceived) == [.confirmRelease, .closeTransport])
        #expect(m.state == .sta1)
    }

    @Test("release collision, acceptor side: Sta7 → Sta10 → Sta12 → Sta13")
    func collisionAcceptor() {
        var m = machine(acceptorIn: .sta7)
        #expect(m.handle(.releaseRQReceived) == [.indicateRelease(collision: true)])
        #expect(m.state == .sta10)
        #expect(m.handle(.releaseRPReceived) == [.confirmRelease])
        #expect(m.lastAction == .ar10 && m.state == .sta12)
        #expect(m.handle(.releaseResponse) == [.sendPDU(.releaseRP), .startARTIM])
        #expect(m.state == .sta13)
        #expect(m.handle(.transportClosed) == [.stopARTIM])
        #expect(m.state == .sta1)
    }

    @Test("Event(received:) maps PDUs to Evt3/4/6/10/12/13/16")
    func eventFromPDU() {
        #expect(SM.Event(received: .associateRQ(rq)).number == 6)
        #expect(SM.Event(received: .associateAC(ac)).number == 3)
        #expect(SM.Event(received: .associateRJ(.noReasonGiven)).number == 4)
        #expect(SM.Event(received: .pData(pdata)).number == 10)
        #expect(SM.Event(received: .releaseRQ).number == 12)
        #expect(SM.Event(received: .releaseRP).number == 13)
        #expect(SM.Event(received: .abort(AbortPDU(source: .serviceUser))).number == 16)
    }
}
