// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry: the C-STORE path from peer-supplied UIDs to a file path under the storage
// directory (QR-29), for any layout template an administrator may configure.
//
// Input: fields separated by 0x00: the template, then Study, Series, SOP Instance and SOP Class
// UIDs (bytes decoded as UTF-8 with repair, as DataSet string values are). A template either
// is refused with an error or gives, for any UIDs, a relative path that cannot leave the
// storage directory: not absolute, no empty, "." or ".." segment, no NUL, no segment starting
// with "." (hidden from the scanner), the same segment count as the template, and a UID
// placed as is only when it is a safe UID. The C-STORE UID check (UIDValidation) runs on the
// same UIDs: strict accepts nothing lenient refuses, a strictly valid UID is placed as is, and
// no accepted UID carries a control character or non-ASCII byte.
import Archive
import DICOM

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoreLayout(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var fields = bytes.split(separator: 0, maxSplits: 4, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    while fields.count < 5 { fields.append("") }
    let layout: StoreLayout
    do {
        layout = try StoreLayout(fields[0])
    } catch {
        _ = error.description
        return 0
    }
    let uids = Array(fields[1...4])
    for uid in uids {
        let component = StoreLayout.pathComponent(forUID: uid)
        precondition(
            component == uid ? StoreLayout.isSafeUID(uid) : component.utf8.count == 65,
            "a UID placed as is that is not safe")
        precondition(!component.contains("/") && component != "." && component != "..", "a UID became a path")
        let strict = UIDValidation.isValid(uid, policy: .strict)
        let lenient = UIDValidation.isValid(uid, policy: .lenient)
        precondition(!strict || lenient, "strict accepts a UID lenient refuses")
        precondition(!strict || component == uid, "a strictly valid UID is not placed as is")
        precondition(
            !lenient || uid.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F },
            "an accepted UID with a control or non-ASCII byte")
    }
    let path = layout.relativePath(studyUID: uids[0], seriesUID: uids[1], sopInstanceUID: uids[2], sopClassUID: uids[3])
    precondition(!path.hasPrefix("/"), "an absolute path")
    precondition(!path.utf8.contains(0), "a path with NUL")
    let segments = path.split(separator: "/", omittingEmptySubsequences: false)
    precondition(
        segments.count == layout.template.split(separator: "/", omittingEmptySubsequences: false).count,
        "UIDs changed the number of path segments")
    for segment in segments {
        precondition(!segment.isEmpty && segment != "." && segment != "..", "an empty, '.' or '..' segment")
        precondition(!segment.hasPrefix("."), "a hidden segment")
    }
    return 0
}
