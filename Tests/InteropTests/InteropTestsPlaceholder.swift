import Testing

@Test func InteropPlaceholder() { #expect(Bool(true)) }
