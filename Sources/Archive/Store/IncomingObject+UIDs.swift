// SPDX-License-Identifier: Apache-2.0
import DICOM

extension IncomingObject {
    /// The UID check of a staged object (``stage()`` succeeded) under `policy`: its Study and
    /// Series Instance UIDs (PS3.5 §9.1, see ``UIDValidation``). Its SOP Class and Instance
    /// UIDs equal the command's (staging checks that), which the service checks before the
    /// first byte is written. Returns the failure, a ``StoreFailure/Kind/dataSetMismatch``
    /// whose comment names the attribute and the problem (at most 64 characters, an Error
    /// Comment's length), with the temporary file removed; or nil.
    public func refuseInvalidUIDs(policy: UIDPolicy) -> StoreFailure? {
        guard let staged else { return nil }
        for (name, uid) in [("Study", staged.studyInstanceUID), ("Series", staged.seriesInstanceUID)] {
            if let problem = UIDValidation.problem(uid, policy: policy) {
                committed()
                return StoreFailure(.dataSetMismatch, "\(name) Instance UID invalid: \(problem)")
            }
        }
        return nil
    }
}
