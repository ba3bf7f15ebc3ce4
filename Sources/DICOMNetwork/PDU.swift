// SPDX-License-Identifier: Apache-2.0
/// A decoded upper-layer PDU (PS3.8 §9.3).
public enum PDU: Sendable, Hashable {
    case associateRQ(AssociateRequest)
    case associateAC(AssociateAccept)
    case associateRJ(AssociateReject)
    case pData(PDataTF)
    case releaseRQ
    case releaseRP
    case abort(AbortPDU)

    /// The PDU type of this value.
    public var type: PDUType {
        switch self {
        case .associateRQ: return .associateRQ
        case .associateAC: return .associateAC
        case .associateRJ: return .associateRJ
        case .pData: return .pData
        case .releaseRQ: return .releaseRQ
        case .releaseRP: return .releaseRP
        case .abort: return .abort
        }
    }
}
