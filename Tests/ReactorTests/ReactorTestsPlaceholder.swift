import Testing

@Test func ReactorPlaceholder() { #expect(Bool(true)) }
