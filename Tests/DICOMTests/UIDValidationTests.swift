// SPDX-License-Identifier: Apache-2.0
import DICOM
import Testing

@Suite("UID syntax (PS3.5 §9.1)")
struct UIDValidationTests {
    @Test("valid UIDs pass under both policies")
    func valid() {
        for uid in [
            "1.2.840.10008.5.1.4.1.1.2", "0", "1.0.2", "2.25.329800735698586629295641978511506172918",
            String(repeating: "1.", count: 31) + "12",
        ] {
            #expect(UIDValidation.problem(uid) == nil, "\(uid)")
            #expect(UIDValidation.problem(uid, policy: .lenient) == nil, "\(uid)")
        }
        #expect((String(repeating: "1.", count: 31) + "12").count == 64)
    }

    @Test("strict refuses what breaks §9.1")
    func strict() {
        let cases: [(String, UIDProblem)] = [
            ("", .empty),
            ("1.2.ABC", .notDigitOrDot(offset: 4)),
            ("1.2/../etc", .notDigitOrDot(offset: 3)),
            ("1.2 3", .notDigitOrDot(offset: 3)),
            (".1.2", .emptyComponent),
            ("1..2", .emptyComponent),
            ("1.2.", .emptyComponent),
            ("1.02", .leadingZero),
            ("00", .leadingZero),
            (String(repeating: "1", count: 65), .tooLong(65)),
            ("1." + String(repeating: "2", count: 9_998), .tooLong(10_000)),
        ]
        for (uid, problem) in cases {
            #expect(UIDValidation.problem(uid) == problem, "\(uid.prefix(20))")
        }
    }

    @Test(
        "lenient takes letters, slashes, leading zeros and empty components, never controls, non-ASCII, backslash or length"
    )
    func lenient() {
        for uid in ["1.2.ABC", "1.02", "1..2", "1.2.", "1.2/3", "1.2 3"] {
            #expect(UIDValidation.problem(uid, policy: .lenient) == nil, "\(uid)")
        }
        let cases: [(String, UIDProblem)] = [
            ("1.2.3\u{0}evil", .controlCharacter(offset: 5)),
            ("1.2\n2026-01-01 info forged", .controlCharacter(offset: 3)),
            ("1.2\u{1B}[2J", .controlCharacter(offset: 3)),
            ("1.2\u{7F}", .controlCharacter(offset: 3)),
            ("1.2.é", .nonASCII(offset: 4)),
            ("1.2\\3.4", .backslash(offset: 3)),
            (String(repeating: "1", count: 65), .tooLong(65)),
            ("", .empty),
        ]
        for (uid, problem) in cases {
            #expect(UIDValidation.problem(uid, policy: .lenient) == problem, "\(uid.debugDescription)")
            #expect(UIDValidation.problem(uid, policy: .strict) != nil)
        }
        // A long value with a NUL is reported for the NUL.
        #expect(UIDValidation.problem(String(repeating: "1", count: 100) + "\u{0}") == .controlCharacter(offset: 100))
    }

    @Test("every problem's description fits an Error Comment (64 characters) with its attribute name")
    func descriptionsAreShort() {
        let problems: [UIDProblem] = [
            .empty, .tooLong(10_000_000), .controlCharacter(offset: 99_999), .nonASCII(offset: 99_999),
            .backslash(offset: 99_999), .notDigitOrDot(offset: 99_999), .emptyComponent, .leadingZero,
        ]
        for problem in problems {
            #expect("Series Instance UID invalid: \(problem)".count <= 64, "\(problem)")
        }
    }
}
