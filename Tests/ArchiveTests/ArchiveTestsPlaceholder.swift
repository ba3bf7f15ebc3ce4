import Testing

@Test func ArchivePlaceholder() { #expect(Bool(true)) }
