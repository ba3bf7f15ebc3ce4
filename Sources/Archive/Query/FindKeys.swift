// SPDX-License-Identifier: Apache-2.0
import DICOM

// The C-FIND keys the index answers from columns and from computed expressions.

/// The SQL column behind a key.
struct ColumnKey: Sendable {
    enum Kind: Sendable { case text, pn, uid, temporal, integer }
    let tag: Tag
    let level: QueryLevel
    let vr: VR
    let column: String
    let matchColumn: String
    let kind: Kind

    init(_ tag: Tag, _ level: QueryLevel, _ vr: VR, _ column: String, _ kind: Kind, match: String? = nil) {
        self.tag = tag
        self.level = level
        self.vr = vr
        self.column = column
        self.kind = kind
        matchColumn = match ?? column
    }

    static let all: [Tag: ColumnKey] = {
        let keys = [
            ColumnKey(Tag(0x0010, 0x0010), .patient, .PN, "p.name", .pn, match: "p.name_norm"),
            ColumnKey(Tag(0x0010, 0x0020), .patient, .LO, "p.patient_id", .text),
            ColumnKey(Tag(0x0010, 0x0021), .patient, .LO, "p.issuer", .text),
            ColumnKey(Tag(0x0010, 0x0030), .patient, .DA, "p.birth_date", .temporal),
            ColumnKey(Tag(0x0010, 0x0040), .patient, .CS, "p.sex", .text),
            ColumnKey(Tag(0x0020, 0x000D), .study, .UI, "s.study_uid", .uid),
            ColumnKey(Tag(0x0008, 0x0020), .study, .DA, "s.study_date", .temporal),
            ColumnKey(Tag(0x0008, 0x0030), .study, .TM, "s.study_time", .temporal),
            ColumnKey(Tag(0x0008, 0x0050), .study, .SH, "s.accession", .text),
            ColumnKey(Tag(0x0020, 0x0010), .study, .SH, "s.study_id", .text),
            ColumnKey(Tag(0x0008, 0x0090), .study, .PN, "s.ref_phys", .pn, match: "s.ref_phys_norm"),
            ColumnKey(Tag(0x0008, 0x1030), .study, .LO, "s.description", .text),
            ColumnKey(Tag(0x0020, 0x000E), .series, .UI, "se.series_uid", .uid),
            ColumnKey(Tag(0x0008, 0x0060), .series, .CS, "se.modality", .text),
            ColumnKey(Tag(0x0020, 0x0011), .series, .IS, "se.series_number", .integer),
            ColumnKey(Tag(0x0008, 0x0021), .series, .DA, "se.series_date", .temporal),
            ColumnKey(Tag(0x0008, 0x0031), .series, .TM, "se.series_time", .temporal),
            ColumnKey(Tag(0x0008, 0x0018), .image, .UI, "i.sop_uid", .uid),
            ColumnKey(Tag(0x0008, 0x0016), .image, .UI, "i.sop_class", .uid),
            ColumnKey(Tag(0x0020, 0x0013), .image, .IS, "i.instance_number", .integer),
        ]
        return Dictionary(uniqueKeysWithValues: keys.map { ($0.tag, $0) })
    }()
}

/// Keys computed from the index at query time (PS3.4 C.6.1.1.x, C.6.2.1.x).
struct ComputedKey: Sendable {
    let tag: Tag
    let level: QueryLevel
    let vr: VR
    /// Expression returning the value (a count, or a comma-separated distinct list).
    let select: String
    /// For list keys: EXISTS template with `%@` standing for the condition on `c.value`.
    let existsTemplate: String?
    /// The column inside `existsTemplate` the condition applies to.
    let existsColumn: String?

    init(
        _ tag: Tag, _ level: QueryLevel, _ vr: VR, select: String, existsTemplate: String? = nil,
        existsColumn: String? = nil
    ) {
        self.tag = tag
        self.level = level
        self.vr = vr
        self.select = select
        self.existsTemplate = existsTemplate
        self.existsColumn = existsColumn
    }

    static let all: [Tag: ComputedKey] = {
        let keys = [
            ComputedKey(
                Tag(0x0020, 0x1200), .patient, .IS,
                select: "(SELECT COUNT(*) FROM study c WHERE c.patient_ref = p.id)"),
            ComputedKey(
                Tag(0x0020, 0x1202), .patient, .IS,
                select: "(SELECT COUNT(*) FROM series c JOIN study d ON d.id = c.study_ref"
                    + " WHERE d.patient_ref = p.id)"),
            ComputedKey(
                Tag(0x0020, 0x1204), .patient, .IS,
                select: "(SELECT COUNT(*) FROM instance c JOIN study d ON d.id = c.study_ref"
                    + " WHERE d.patient_ref = p.id)"),
            ComputedKey(
                Tag(0x0020, 0x1206), .study, .IS,
                select: "(SELECT COUNT(*) FROM series c WHERE c.study_ref = s.id)"),
            ComputedKey(
                Tag(0x0020, 0x1208), .study, .IS,
                select: "(SELECT COUNT(*) FROM instance c WHERE c.study_ref = s.id)"),
            ComputedKey(
                Tag(0x0020, 0x1209), .series, .IS,
                select: "(SELECT COUNT(*) FROM instance c WHERE c.series_ref = se.id)"),
            ComputedKey(
                Tag(0x0008, 0x0061), .study, .CS,
                select: "(SELECT group_concat(DISTINCT c.modality) FROM series c WHERE c.study_ref = s.id)",
                existsTemplate: "EXISTS (SELECT 1 FROM series c WHERE c.study_ref = s.id AND %@)",
                existsColumn: "c.modality"),
            ComputedKey(
                Tag(0x0008, 0x0062), .study, .UI,
                select: "(SELECT group_concat(DISTINCT c.sop_class) FROM instance c WHERE c.study_ref = s.id)",
                existsTemplate: "EXISTS (SELECT 1 FROM instance c WHERE c.study_ref = s.id AND %@)",
                existsColumn: "c.sop_class"),
        ]
        return Dictionary(uniqueKeysWithValues: keys.map { ($0.tag, $0) })
    }()
}
