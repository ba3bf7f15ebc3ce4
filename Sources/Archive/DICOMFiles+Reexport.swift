// SPDX-License-Identifier: Apache-2.0
// Archive reads and writes Part 10 files by path; modules above it (QRServer, the tests) use the same
// conveniences (`DICOMFile(contentsOf:)`, `DICOMFile.readBytes`) through Archive.
@_exported import DICOMFiles
