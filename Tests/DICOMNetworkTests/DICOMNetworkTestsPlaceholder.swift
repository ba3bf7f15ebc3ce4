import Testing

@Test func DICOMNetworkPlaceholder() { #expect(Bool(true)) }
