// SPDX-License-Identifier: Apache-2.0
import DICOM

extension FindRequest {
    /// The query level `tag` is a key of in `model` (Study Root: patient attributes are STUDY
    /// level keys), as the C-FIND checks use it; `isKnown` is false for attributes kept at the
    /// IMAGE level only because no table names them. DICOMweb (QIDO-RS) checks its keys with it.
    public static func attributeLevel(of tag: Tag, model: QueryModel) -> (level: QueryLevel, isKnown: Bool) {
        keyLevel(of: tag, model: model)
    }

    /// Whether `level` is above `other` (PATIENT above STUDY above SERIES above IMAGE).
    public static func isLevel(_ level: QueryLevel, below other: QueryLevel) -> Bool {
        AttributeLevels.depth(level) > AttributeLevels.depth(other)
    }
}
