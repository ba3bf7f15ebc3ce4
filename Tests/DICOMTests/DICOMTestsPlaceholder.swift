import Testing

@Test func DICOMPlaceholder() { #expect(Bool(true)) }
