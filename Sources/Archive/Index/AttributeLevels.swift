// SPDX-License-Identifier: Apache-2.0
import DICOM

/// Which Query/Retrieve level (information entity) an attribute belongs to.
///
/// The unique, required and common optional keys follow PS3.4 C.6.1.1/C.6.2.1
/// (Tables C.6-1…C.6-5); the other attributes follow the module their IE owns in
/// PS3.3: Patient module (C.7.1.1) → PATIENT; General Study and Patient Study
/// modules (C.7.2.1, C.7.2.2) → STUDY; General Series, Frame of Reference and
/// General Equipment modules (C.7.3.1, C.7.4.1, C.7.5.1) → SERIES. Everything else
/// (including attributes we do not know) is kept at the IMAGE level.
enum AttributeLevels {
    /// Keys valid at every level (PS3.4 C.6.1.1.1/C.4.1.1.3): never matched, never
    /// "below the level".
    static let anyLevel: Set<Tag> = [
        Tag(0x0008, 0x0005),  // Specific Character Set
        Tag(0x0008, 0x0052),  // Query/Retrieve Level
        Tag(0x0008, 0x0053),  // Query/Retrieve View
        Tag(0x0008, 0x0054),  // Retrieve AE Title
        Tag(0x0008, 0x0056),  // Instance Availability
        Tag(0x0008, 0x0201),  // Timezone Offset From UTC
        Tag(0x0088, 0x0130),  // Storage Media File-Set ID
        Tag(0x0088, 0x0140),  // Storage Media File-Set UID
    ]

    private static let patientTags: Set<Tag> = [
        Tag(0x0008, 0x1120)  // Referenced Patient Sequence
    ]

    /// Group 0010 attributes that belong to the Patient Study module (study IE) or the
    /// General Series module.
    private static let group10Study: Set<UInt16> = [
        0x1010, 0x1020, 0x1021, 0x1022, 0x1023, 0x1030, 0x1080, 0x1081,
        0x2180, 0x21A0, 0x21B0, 0x21C0, 0x21D0, 0x2203,
    ]
    private static let group10Series: Set<UInt16> = [0x2210]  // Anatomical Orientation Type

    private static let studyTags: Set<Tag> = [
        Tag(0x0008, 0x0020), Tag(0x0008, 0x0030), Tag(0x0008, 0x0050), Tag(0x0008, 0x0051),
        Tag(0x0008, 0x0061), Tag(0x0008, 0x0062), Tag(0x0008, 0x0063),
        Tag(0x0008, 0x0090), Tag(0x0008, 0x0096), Tag(0x0008, 0x009C), Tag(0x0008, 0x009D),
        Tag(0x0008, 0x1030), Tag(0x0008, 0x1032), Tag(0x0008, 0x1048), Tag(0x0008, 0x1049),
        Tag(0x0008, 0x1060), Tag(0x0008, 0x1062), Tag(0x0008, 0x1080), Tag(0x0008, 0x1084),
        Tag(0x0008, 0x1110),
        Tag(0x0020, 0x000D), Tag(0x0020, 0x0010), Tag(0x0020, 0x1070),
        Tag(0x0020, 0x1206), Tag(0x0020, 0x1208),
        Tag(0x0032, 0x1032), Tag(0x0032, 0x1033), Tag(0x0032, 0x1034), Tag(0x0032, 0x1060), Tag(0x0032, 0x1064),
        Tag(0x0032, 0x1066), Tag(0x0032, 0x1067),
        Tag(0x0040, 0x1012),
    ]

    private static let seriesTags: Set<Tag> = [
        Tag(0x0008, 0x0021), Tag(0x0008, 0x0031), Tag(0x0008, 0x0060), Tag(0x0008, 0x0068),
        Tag(0x0008, 0x0070), Tag(0x0008, 0x0080), Tag(0x0008, 0x0081), Tag(0x0008, 0x0082),
        Tag(0x0008, 0x1010), Tag(0x0008, 0x103E), Tag(0x0008, 0x103F), Tag(0x0008, 0x1040),
        Tag(0x0008, 0x1050), Tag(0x0008, 0x1052), Tag(0x0008, 0x1070), Tag(0x0008, 0x1072),
        Tag(0x0008, 0x1090), Tag(0x0008, 0x1111), Tag(0x0008, 0x1250),
        Tag(0x0018, 0x0015), Tag(0x0018, 0x1000), Tag(0x0018, 0x1020), Tag(0x0018, 0x1030),
        Tag(0x0018, 0x5100),
        Tag(0x0020, 0x000E), Tag(0x0020, 0x0011), Tag(0x0020, 0x0052), Tag(0x0020, 0x0060),
        Tag(0x0020, 0x1040), Tag(0x0020, 0x1209),
        Tag(0x0028, 0x0108), Tag(0x0028, 0x0109),
        Tag(0x0040, 0x0244), Tag(0x0040, 0x0245), Tag(0x0040, 0x0253), Tag(0x0040, 0x0254),
        Tag(0x0040, 0x0260), Tag(0x0040, 0x0275), Tag(0x0040, 0x0280),
    ]

    /// The level an attribute belongs to; `isKnown` is false when the attribute is kept
    /// at IMAGE level only because it is not in any table above.
    static func level(of tag: Tag) -> (level: QueryLevel, isKnown: Bool) {
        if tag.group == 0x0010 {
            if group10Study.contains(tag.element) { return (.study, true) }
            if group10Series.contains(tag.element) { return (.series, true) }
            return (.patient, true)
        }
        if tag.group == 0x0020, tag.element == 0x1200 || tag.element == 0x1202 || tag.element == 0x1204 {
            return (.patient, true)
        }
        if patientTags.contains(tag) { return (.patient, true) }
        if studyTags.contains(tag) { return (.study, true) }
        if tag.group == 0x0038 { return (.study, true) }  // Patient Study / Visit attributes
        if seriesTags.contains(tag) { return (.series, true) }
        if imageTags.contains(tag) { return (.image, true) }
        return (.image, false)
    }

    /// IMAGE level attributes named in PS3.4 C.6 (and the SOP Common / General Image modules).
    private static let imageTags: Set<Tag> = [
        Tag(0x0008, 0x0008), Tag(0x0008, 0x0012), Tag(0x0008, 0x0013), Tag(0x0008, 0x0016), Tag(0x0008, 0x0018),
        Tag(0x0008, 0x0022), Tag(0x0008, 0x0023), Tag(0x0008, 0x002A), Tag(0x0008, 0x0032), Tag(0x0008, 0x0033),
        Tag(0x0008, 0x1140), Tag(0x0008, 0x2111),
        Tag(0x0020, 0x0012), Tag(0x0020, 0x0013), Tag(0x0020, 0x0020), Tag(0x0020, 0x0032), Tag(0x0020, 0x0037),
        Tag(0x0020, 0x4000),
        Tag(0x0028, 0x0002), Tag(0x0028, 0x0004), Tag(0x0028, 0x0008), Tag(0x0028, 0x0010), Tag(0x0028, 0x0011),
        Tag(0x0028, 0x0030), Tag(0x0028, 0x0100), Tag(0x0028, 0x0101), Tag(0x0028, 0x0102), Tag(0x0028, 0x0103),
        Tag(0x0040, 0xA043), Tag(0x0040, 0xA073), Tag(0x0040, 0xA491), Tag(0x0040, 0xA493), Tag(0x0040, 0xA730),
    ]

    /// Index of a level (PATIENT 0 … IMAGE 3).
    static func depth(_ level: QueryLevel) -> Int {
        switch level {
        case .patient: return 0
        case .study: return 1
        case .series: return 2
        case .image: return 3
        }
    }

    /// Whether an element of the file is worth keeping in an entity blob.
    static func keepsInBlob(_ e: DataElement) -> Bool {
        let t = e.tag
        if t.group < 0x0008 || t.isGroupLength || t.isPrivate { return false }
        if t == .specificCharacterSet || t.group == 0x7FE0 || t.group >= 0xFFFA { return false }
        if t == Tag(0x0088, 0x0200) { return false }  // Icon Image Sequence
        if t.group >= 0x6000 && t.group <= 0x60FF && t.group & 1 == 0 { return false }  // overlays
        if case .bytes(let b) = e.value, b.count > 4096 { return false }
        if case .fragments = e.value { return false }
        return true
    }
}
