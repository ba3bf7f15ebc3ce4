// SPDX-License-Identifier: Apache-2.0
/// The DICOM upper layer association state machine (PS3.8 §9.2, Tables 9-1…9-10) as a pure value:
/// events in, outputs out. No sockets and no clocks: ARTIM is represented by ``Output/startARTIM``
/// and ``Output/stopARTIM``; its expiry is the input ``Event/artimExpired`` (Evt18).
///
/// Both paths are supported: acceptor (Sta1 → Evt5 → Sta2 → Evt6 → Sta3 → Evt7 → Sta6) and
/// requestor (Sta1 → Evt1 → Sta4 → Evt2 → Sta5 → Evt3 → Sta6), with release, release collision
/// (Sta9–12) and abort. The transitions are the table in `AssociationStateMachine+Table.swift`.
///
/// AE-6 simplification: on Evt6 the machine always stops ARTIM and indicates the request (Sta3); the
/// caller negotiates and answers with Evt7 (accept) or Evt8 (reject → AE-8: send RJ, start ARTIM,
/// Sta13), which is the same wire behaviour as AE-6's "not acceptable" branch.
public struct AssociationStateMachine: Sendable {
    /// States Sta1…Sta13 (PS3.8 Table 9-1).
    public enum State: Int, Sendable, Hashable, CaseIterable {
        /// Idle.
        case sta1 = 1
        /// Transport connection open, awaiting A-ASSOCIATE-RQ PDU.
        case sta2
        /// Awaiting local A-ASSOCIATE response primitive.
        case sta3
        /// Awaiting transport connection opening to complete.
        case sta4
        /// Awaiting A-ASSOCIATE-AC or -RJ PDU.
        case sta5
        /// Association established, ready for data transfer.
        case sta6
        /// Awaiting A-RELEASE-RP PDU.
        case sta7
        /// Awaiting local A-RELEASE response primitive.
        case sta8
        /// Release collision requestor side: awaiting A-RELEASE response primitive.
        case sta9
        /// Release collision acceptor side: awaiting A-RELEASE-RP PDU.
        case sta10
        /// Release collision requestor side: awaiting A-RELEASE-RP PDU.
        case sta11
        /// Release collision acceptor side: awaiting A-RELEASE response primitive.
        case sta12
        /// Awaiting transport connection close indication.
        case sta13
    }

    /// Events Evt1…Evt19 (PS3.8 Table 9-2), with the data they carry.
    public enum Event: Sendable, Hashable {
        /// Evt1: A-ASSOCIATE request (local user).
        case associateRequest(AssociateRequest)
        /// Evt2: transport connect confirmation.
        case transportConnectConfirm
        /// Evt3: A-ASSOCIATE-AC PDU received.
        case associateACReceived(AssociateAccept)
        /// Evt4: A-ASSOCIATE-RJ PDU received.
        case associateRJReceived(AssociateReject)
        /// Evt5: transport connection indication (incoming connection accepted).
        case transportConnectIndication
        /// Evt6: A-ASSOCIATE-RQ PDU received.
        case associateRQReceived(AssociateRequest)
        /// Evt7: A-ASSOCIATE response primitive (accept).
        case associateAcceptResponse(AssociateAccept)
        /// Evt8: A-ASSOCIATE response primitive (reject).
        case associateRejectResponse(AssociateReject)
        /// Evt9: P-DATA request primitive.
        case pDataRequest(PDataTF)
        /// Evt10: P-DATA-TF PDU received.
        case pDataReceived(PDataTF)
        /// Evt11: A-RELEASE request primitive.
        case releaseRequest
        /// Evt12: A-RELEASE-RQ PDU received.
        case releaseRQReceived
        /// Evt13: A-RELEASE-RP PDU received.
        case releaseRPReceived
        /// Evt14: A-RELEASE response primitive.
        case releaseResponse
        /// Evt15: A-ABORT request primitive.
        case abortRequest
        /// Evt16: A-ABORT PDU received.
        case abortReceived(AbortPDU)
        /// Evt17: transport connection closed indication.
        case transportClosed
        /// Evt18: ARTIM timer expired.
        case artimExpired
        /// Evt19: unrecognized or invalid PDU received; the reason goes into the A-ABORT we send.
        case invalidPDU(AbortReason)

        /// The event for a received PDU (Evt3, 4, 6, 10, 12, 13, 16).
        public init(received pdu: PDU) {
            switch pdu {
            case .associateRQ(let rq): self = .associateRQReceived(rq)
            case .associateAC(let ac): self = .associateACReceived(ac)
            case .associateRJ(let rj): self = .associateRJReceived(rj)
            case .pData(let p): self = .pDataReceived(p)
            case .releaseRQ: self = .releaseRQReceived
            case .releaseRP: self = .releaseRPReceived
            case .abort(let a): self = .abortReceived(a)
            }
        }

        /// The event number 1…19.
        public var number: Int {
            switch self {
            case .associateRequest: return 1
            case .transportConnectConfirm: return 2
            case .associateACReceived: return 3
            case .associateRJReceived: return 4
            case .transportConnectIndication: return 5
            case .associateRQReceived: return 6
            case .associateAcceptResponse: return 7
            case .associateRejectResponse: return 8
            case .pDataRequest: return 9
            case .pDataReceived: return 10
            case .releaseRequest: return 11
            case .releaseRQReceived: return 12
            case .releaseRPReceived: return 13
            case .releaseResponse: return 14
            case .abortRequest: return 15
            case .abortReceived: return 16
            case .transportClosed: return 17
            case .artimExpired: return 18
            case .invalidPDU: return 19
            }
        }
    }

    /// Actions of PS3.8 Tables 9-6…9-9.
    public enum Action: String, Sendable, Hashable, CaseIterable {
        case ae1 = "AE-1"
        case ae2 = "AE-2"
        case ae3 = "AE-3"
        case ae4 = "AE-4"
        case ae5 = "AE-5"
        case ae6 = "AE-6"
        case ae7 = "AE-7"
        case ae8 = "AE-8"
        case dt1 = "DT-1"
        case dt2 = "DT-2"
        case ar1 = "AR-1"
        case ar2 = "AR-2"
        case ar3 = "AR-3"
        case ar4 = "AR-4"
        case ar5 = "AR-5"
        case ar6 = "AR-6"
        case ar7 = "AR-7"
        case ar8 = "AR-8"
        case ar9 = "AR-9"
        case ar10 = "AR-10"
        case aa1 = "AA-1"
        case aa2 = "AA-2"
        case aa3 = "AA-3"
        case aa4 = "AA-4"
        case aa5 = "AA-5"
        case aa6 = "AA-6"
        case aa7 = "AA-7"
        case aa8 = "AA-8"
    }

    /// Why the association ended abnormally, as indicated to the local user.
    public enum AbortIndication: Sendable, Hashable {
        /// A-ABORT PDU received from the peer (A-ABORT or A-P-ABORT indication, per its source).
        case peer(AbortPDU)
        /// We aborted because of a protocol error (A-P-ABORT; the A-ABORT we sent had this reason).
        case protocolError(AbortReason)
        /// The transport closed unexpectedly (A-P-ABORT, AA-4).
        case transportClosed
    }

    /// What the caller must do, in order.
    public enum Output: Sendable, Hashable {
        /// AE-1: open the transport connection to the peer.
        case openTransport
        /// Send this PDU (for P-DATA use ``PDataTF/encodedPieces()`` for zero copy).
        case sendPDU(PDU)
        /// AE-6: an A-ASSOCIATE indication; answer with Evt7 or Evt8.
        case indicateAssociateRequest(AssociateRequest)
        /// AE-3: A-ASSOCIATE confirmation (accept).
        case indicateAssociateAccept(AssociateAccept)
        /// AE-4: A-ASSOCIATE confirmation (reject).
        case indicateAssociateReject(AssociateReject)
        /// DT-2 / AR-6: P-DATA indication.
        case indicatePData(PDataTF)
        /// AR-2 / AR-8: A-RELEASE indication (`collision` for AR-8); answer with Evt14.
        case indicateRelease(collision: Bool)
        /// AR-3 / AR-10: A-RELEASE confirmation.
        case confirmRelease
        /// AA-3 / AA-4 / AA-8: A-ABORT or A-P-ABORT indication.
        case indicateAbort(AbortIndication)
        case startARTIM
        case stopARTIM
        /// Close the transport connection.
        case closeTransport
    }

    public private(set) var state: State
    /// True when this side requested the association (AE-1); decides AR-8's next state.
    public private(set) var isRequestor: Bool
    /// Whether the ARTIM timer should be running.
    public private(set) var isARTIMRunning: Bool
    /// The action taken for the last event; `nil` when the event was not valid in that state.
    public private(set) var lastAction: Action?
    private var pendingRequest: AssociateRequest?

    /// A machine in Sta1 (idle).
    public init() {
        state = .sta1
        isRequestor = false
        isARTIMRunning = false
    }

    /// True in Sta6 and Sta8, where P-DATA may be sent (DT-1, AR-7; UL-23).
    public var canSendPData: Bool { state == .sta6 || state == .sta8 }

    /// Applies an event and returns the outputs of the action of Table 9-10.
    ///
    /// An event with no entry in the table for the current state is ignored in Sta1, Sta4 and Sta13,
    /// and elsewhere handled as AA-8 (A-ABORT source 2, A-P-ABORT indication, ARTIM, Sta13).
    public mutating func handle(_ event: Event) -> [Output] {
        guard let action = Self.transition(event: event.number, state: state) else {
            lastAction = nil
            switch state {
            case .sta1, .sta4, .sta13: return []
            default: return perform(.aa8, event)
            }
        }
        lastAction = action
        return perform(action, event)
    }

    private func abortReason(for event: Event) -> AbortReason {
        if case .invalidPDU(let r) = event { return r }
        return .unexpectedPDU
    }

    private mutating func startARTIM() -> Output {
        isARTIMRunning = true
        return .startARTIM
    }

    private mutating func stopARTIM() -> [Output] {
        guard isARTIMRunning else { return [] }
        isARTIMRunning = false
        return [.stopARTIM]
    }

    private mutating func perform(_ action: Action, _ event: Event) -> [Output] {
        switch action {
        case .ae1:
            isRequestor = true
            if case .associateRequest(let rq) = event { pendingRequest = rq }
            state = .sta4
            return [.openTransport]
        case .ae2:
            state = .sta5
            guard let rq = pendingRequest else { return [] }
            pendingRequest = nil
            return [.sendPDU(.associateRQ(rq))]
        case .ae3:
            state = .sta6
            guard case .associateACReceived(let ac) = event else { return [] }
            return [.indicateAssociateAccept(ac)]
        case .ae4:
            state = .sta1
            guard case .associateRJReceived(let rj) = event else { return [.closeTransport] }
            return [.indicateAssociateReject(rj), .closeTransport]
        case .ae5:
            isRequestor = false
            state = .sta2
            return [startARTIM()]
        case .ae6:
            state = .sta3
            guard case .associateRQReceived(let rq) = event else { return stopARTIM() }
            return stopARTIM() + [.indicateAssociateRequest(rq)]
        case .ae7:
            state = .sta6
            guard case .associateAcceptResponse(let ac) = event else { return [] }
            return [.sendPDU(.associateAC(ac))]
        case .ae8:
            state = .sta13
            guard case .associateRejectResponse(let rj) = event else { return [startARTIM()] }
            return [.sendPDU(.associateRJ(rj)), startARTIM()]
        case .dt1, .ar7:
            state = action == .dt1 ? .sta6 : .sta8
            guard case .pDataRequest(let p) = event else { return [] }
            return [.sendPDU(.pData(p))]
        case .dt2, .ar6:
            state = action == .dt2 ? .sta6 : .sta7
            guard case .pDataReceived(let p) = event else { return [] }
            return [.indicatePData(p)]
        case .ar1:
            state = .sta7
            return [.sendPDU(.releaseRQ)]
        case .ar2:
            state = .sta8
            return [.indicateRelease(collision: false)]
        case .ar3:
            state = .sta1
            return [.confirmRelease, .closeTransport]
        case .ar4:
            state = .sta13
            return [.sendPDU(.releaseRP), startARTIM()]
        case .ar5:
            state = .sta1
            return stopARTIM()
        case .ar8:
            state = isRequestor ? .sta9 : .sta10
            return [.indicateRelease(collision: true)]
        case .ar9:
            state = .sta11
            return [.sendPDU(.releaseRP)]
        case .ar10:
            state = .sta12
            return [.confirmRelease]
        case .aa1:
            state = .sta13
            let pdu: AbortPDU =
                event == .abortRequest
                ? AbortPDU(source: .serviceUser, reason: .notSpecified)
                : AbortPDU(source: .serviceProvider, reason: abortReason(for: event))
            isARTIMRunning = true
            return [.sendPDU(.abort(pdu)), .startARTIM]
        case .aa2:
            state = .sta1
            return stopARTIM() + [.closeTransport]
        case .aa3:
            state = .sta1
            guard case .abortReceived(let a) = event else { return [.closeTransport] }
            return [.indicateAbort(.peer(a)), .closeTransport]
        case .aa4:
            state = .sta1
            return stopARTIM() + [.indicateAbort(.transportClosed)]
        case .aa5:
            state = .sta1
            return stopARTIM()
        case .aa6:
            state = .sta13
            return []
        case .aa7:
            state = .sta13
            return [.sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: abortReason(for: event))))]
        case .aa8:
            state = .sta13
            let reason = abortReason(for: event)
            isARTIMRunning = true
            return [
                .sendPDU(.abort(AbortPDU(source: .serviceProvider, reason: reason))),
                .indicateAbort(.protocolError(reason)), .startARTIM,
            ]
        }
    }
}
