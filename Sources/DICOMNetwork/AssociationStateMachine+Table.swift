// SPDX-License-Identifier: Apache-2.0
/// The state transition table of PS3.8 Table 9-10: (event, state) → action. Blank cells are absent.
extension AssociationStateMachine {
    private typealias S = State

    /// Rows of Table 9-10 by event number; each maps states to the action of that cell.
    private static let table: [Int: [State: Action]] = {
        let sta3to12: [S] = [.sta3, .sta5, .sta6, .sta7, .sta8, .sta9, .sta10, .sta11, .sta12]
        let sta6to12: [S] = [.sta6, .sta7, .sta8, .sta9, .sta10, .sta11, .sta12]
        func row(_ pairs: [(S, Action)], _ rest: [S] = [], _ restAction: Action? = nil) -> [State: Action] {
            var r: [State: Action] = [:]
            if let restAction { for s in rest { r[s] = restAction } }
            for (s, a) in pairs { r[s] = a }
            return r
        }
        return [
            1: row([(.sta1, .ae1)]),
            2: row([(.sta4, .ae2)]),
            3: row([(.sta2, .aa1), (.sta3, .aa8), (.sta5, .ae3), (.sta13, .aa6)], sta6to12, .aa8),
            4: row([(.sta2, .aa1), (.sta3, .aa8), (.sta5, .ae4), (.sta13, .aa6)], sta6to12, .aa8),
            5: row([(.sta1, .ae5)]),
            6: row([(.sta2, .ae6), (.sta3, .aa8), (.sta5, .aa8), (.sta13, .aa7)], sta6to12, .aa8),
            7: row([(.sta3, .ae7)]),
            8: row([(.sta3, .ae8)]),
            9: row([(.sta6, .dt1), (.sta8, .ar7)]),
            10: row(
                [(.sta2, .aa1), (.sta3, .aa8), (.sta5, .aa8), (.sta6, .dt2), (.sta7, .ar6), (.sta13, .aa6)],
                sta6to12, .aa8),
            11: row([(.sta6, .ar1)]),
            12: row(
                [(.sta2, .aa1), (.sta3, .aa8), (.sta5, .aa8), (.sta6, .ar2), (.sta7, .ar8), (.sta13, .aa6)],
                sta6to12, .aa8),
            13: row(
                [
                    (.sta2, .aa1), (.sta3, .aa8), (.sta5, .aa8), (.sta7, .ar3), (.sta10, .ar10), (.sta11, .ar3),
                    (.sta13, .aa6),
                ], sta6to12, .aa8),
            14: row([(.sta8, .ar4), (.sta9, .ar9), (.sta12, .ar4)]),
            15: row([(.sta4, .aa2)], sta3to12, .aa1),
            16: row([(.sta2, .aa2), (.sta13, .aa2)], sta3to12, .aa3),
            17: row([(.sta2, .aa5), (.sta4, .aa4), (.sta13, .ar5)], sta3to12, .aa4),
            18: row([(.sta2, .aa2), (.sta13, .aa2)]),
            19: row([(.sta2, .aa1), (.sta13, .aa7)], sta3to12, .aa8),
        ]
    }()

    /// The action of Table 9-10 for event number `event` (1…19) in `state`; `nil` for a blank cell.
    public static func transition(event: Int, state: State) -> Action? {
        table[event]?[state]
    }
}
