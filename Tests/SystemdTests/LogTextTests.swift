// SPDX-License-Identifier: Apache-2.0
import Logging
import Testing

@testable import Systemd

@Suite struct LogTextTests {
    @Test("plain text is returned as it is")
    func plainTextUnchanged() {
        for text in ["", "1.2.840.10008.5.1.4.1.1.2", "STORESCU", "/var/lib/qrscpd/1.2/3.4.dcm", "Müller^Jörg 山田"] {
            #expect(LogText.escaped(text) == text)
        }
    }

    @Test("C0 controls, DEL, backslash, C1 controls, line separators and bidi overrides are escaped")
    func controlsAreEscaped() {
        let cases: [(String, String)] = [
            ("a\nb", #"a\nb"#),
            ("a\r\nb", #"a\r\nb"#),
            ("a\tb", #"a\tb"#),
            ("1.2\u{0}3", #"1.2\x003"#),
            ("\u{1B}[31mred", #"\x1b[31mred"#),
            ("\u{7F}", #"\x7f"#),
            ("\u{1F}", #"\x1f"#),
            (#"C:\dir"#, #"C:\\dir"#),
            (#"\n"#, #"\\n"#),
            ("next\u{85}line", #"next\u{85}line"#),
            ("\u{9B}2J", #"\u{9b}2J"#),
            ("a\u{2028}b\u{2029}c", #"a\u{2028}b\u{2029}c"#),
            ("\u{202E}txt.exe", #"\u{202e}txt.exe"#),
            ("\u{2066}x\u{2069}", #"\u{2066}x\u{2069}"#),
            ("é\u{1}", #"é\x01"#),
        ]
        for (input, expected) in cases {
            #expect(LogText.escaped(input) == expected, "\(input.debugDescription)")
        }
    }

    @Test("the output never holds a control character or a line break")
    func noControlsSurvive() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let scalars = (0..<64).compactMap { _ in Unicode.Scalar(UInt32.random(in: 0..<0x2100, using: &generator)) }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            let out = LogText.escaped(text)
            #expect(
                !out.unicodeScalars.contains {
                    $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029
                })
        }
    }

    @Test("values are bounded; the cut is marked with the bytes left out")
    func bounded() {
        let long = String(repeating: "1.", count: 5_000)
        let out = LogText.escaped(long)
        #expect(out.hasPrefix("1.1.1."))
        #expect(out.hasSuffix("…[+\(10_000 - LogText.maximumValueBytes) bytes]"))
        #expect(out.utf8.count <= LogText.maximumValueBytes + "…[+10000 bytes]".utf8.count)
        // An escape is never cut in half.
        let escapes = String(repeating: "\n", count: 3)
        #expect(LogText.escaped(escapes, limit: 5) == #"\n\n"# + "…[+1 bytes]")
        // Multi-byte characters are not split.
        #expect(LogText.escaped("ééé", limit: 5) == "éé…[+2 bytes]")
    }

    @Test("metadata values of every kind are escaped")
    func metadataValues() {
        #expect(LogText.escaped(Logger.MetadataValue.string("a\nb")) == #"a\nb"#)
        #expect(LogText.escaped(Logger.MetadataValue.stringConvertible(0xA700)) == "42752")
        let array = LogText.escaped(Logger.MetadataValue.array([.string("x\u{1B}")]))
        #expect(!array.utf8.contains(0x1B))
    }
}
