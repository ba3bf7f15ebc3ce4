// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM

/// The attributes a QIDO-RS response carries without `includefield` (PS3.18 §10.6.3.3,
/// Tables 10.6.3-3 to -5), and those `includefield=all` adds.
enum QIDOReturnKeys {
    static let study: [Tag] = [
        Tag(0x0008, 0x0020), Tag(0x0008, 0x0030), Tag(0x0008, 0x0050), Tag(0x0008, 0x0056), Tag(0x0008, 0x0061),
        Tag(0x0008, 0x0090), Tag(0x0008, 0x0201), Tag(0x0008, 0x1030), Tag(0x0010, 0x0010), Tag(0x0010, 0x0020),
        Tag(0x0010, 0x0030), Tag(0x0010, 0x0040), Tag(0x0020, 0x000D), Tag(0x0020, 0x0010), Tag(0x0020, 0x1206),
        Tag(0x0020, 0x1208),
    ]
    static let series: [Tag] = [
        Tag(0x0008, 0x0060), Tag(0x0008, 0x0201), Tag(0x0008, 0x103E), Tag(0x0020, 0x000D), Tag(0x0020, 0x000E),
        Tag(0x0020, 0x0011), Tag(0x0020, 0x1209), Tag(0x0040, 0x0244), Tag(0x0040, 0x0245),
    ]
    static let instance: [Tag] = [
        Tag(0x0008, 0x0016), Tag(0x0008, 0x0018), Tag(0x0008, 0x0056), Tag(0x0008, 0x0201), Tag(0x0020, 0x000D),
        Tag(0x0020, 0x000E), Tag(0x0020, 0x0013), Tag(0x0028, 0x0008), Tag(0x0028, 0x0010), Tag(0x0028, 0x0011),
        Tag(0x0028, 0x0100),
    ]

    /// Defaults at `level`; a search across studies (series, instances) also returns the
    /// study's attributes, and one across series the series' (Table 10.6.3-5 notes).
    static func defaults(at level: QueryLevel, studyFixed: Bool, seriesFixed: Bool) -> [Tag] {
        switch level {
        case .patient, .study: return study
        case .series: return series + (studyFixed ? [] : study)
        case .image: return instance + (seriesFixed ? [] : series) + (studyFixed ? [] : study)
        }
    }

    /// `includefield=all`: every attribute the index keeps in columns or computes, at or above
    /// `level` (attributes only in the files' blobs are returned when asked for by name).
    static func all(at level: QueryLevel) -> [Tag] {
        let base = defaults(at: level, studyFixed: false, seriesFixed: false)
        let extra: [Tag] = [
            Tag(0x0010, 0x0021), Tag(0x0008, 0x0062), Tag(0x0020, 0x1200), Tag(0x0020, 0x1202), Tag(0x0020, 0x1204),
            Tag(0x0008, 0x0021), Tag(0x0008, 0x0031),
        ]
        return base
            + extra.filter {
                !FindRequest.isLevel(FindRequest.attributeLevel(of: $0, model: .studyRoot).level, below: level)
            }
    }
}
