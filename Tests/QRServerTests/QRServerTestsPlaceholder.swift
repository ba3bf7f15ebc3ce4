import Testing

@Test func QRServerPlaceholder() { #expect(Bool(true)) }
