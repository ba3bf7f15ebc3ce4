// SPDX-License-Identifier: Apache-2.0
/// Version and implementation identity of this build, sent in every A-ASSOCIATE-AC and
/// A-ASSOCIATE-RQ (PS3.7 D.3.3.2) and printed in the start-up banner.
public enum QRServerVersion {
    public static let string = "0.1.0"
    /// Implementation Class UID under the project's UID root.
    public static let implementationClassUID = "1.2.826.0.1.3680043.10.1489.1"
    /// Implementation Version Name (at most 16 characters).
    public static let implementationVersionName = "QRSCPD_010"
}
