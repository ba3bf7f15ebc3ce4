// SPDX-License-Identifier: Apache-2.0
import SystemCalls

/// Why a received object was not stored. The service maps ``kind`` to a C-STORE status
/// (PS3.4 Table B.2-1) and sends ``comment`` as Error Comment.
public struct StoreFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Disk full, I/O error, index unavailable: A700 "Refused: Out of Resources".
        case outOfResources
        /// Unparsable data set, or its SOP Class/Instance UID differs from the command, or a
        /// required UID is missing: A900 "Error: Data Set does not match SOP Class".
        case dataSetMismatch
        /// The SOP Instance UID is already stored and the policy is ``StoreDuplicatePolicy/reject``: 0111.
        case duplicate
    }

    public var kind: Kind
    public var comment: String
    /// The system error behind an ``Kind/outOfResources`` failure, if any.
    public var errno: Int32?

    public init(_ kind: Kind, _ comment: String, errno: Int32? = nil) {
        self.kind = kind
        self.comment = comment
        self.errno = errno
    }

    public var description: String { "\(kind): \(comment)" }
}

/// What happened to a received object that did not fail.
public struct StoreOutcome: Sendable, Hashable {
    public enum Disposition: Sendable, Hashable {
        /// A new instance, now in place and indexed.
        case stored
        /// An instance that was already stored, replaced by the new copy (``StoreDuplicatePolicy/replace``).
        case replaced
        /// An instance that was already stored; the stored copy was kept and the new one
        /// discarded (``StoreDuplicatePolicy/keep``).
        case keptExisting
    }

    public var disposition: Disposition
    /// Absolute path of the instance's file (the kept one for ``Disposition/keptExisting``).
    public var path: String
    /// Size of the received file (Part 10 header included).
    public var size: Int64
    public var studyInstanceUID: String
    public var seriesInstanceUID: String
}

/// Places in the write path where tests can inject a system error.
public enum StoreFaultPoint: Sendable, Hashable {
    case open, write, fsync, rename, directorySync, index
}

extension StoreFailure {
    /// The comment with the system error text appended.
    var described: StoreFailure {
        guard let errno else { return self }
        var copy = self
        copy.comment = "\(comment): \(StoreWriter.errorText(errno))"
        return copy
    }
}
