// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMNetwork

extension DIMSEMessage {
    /// The data set of a request whose identifier is small (C-FIND, C-GET, C-MOVE): its
    /// fragments joined and decoded in the presentation context's transfer syntax.
    func decodedIdentifier(transferSyntax: TransferSyntax) throws -> DataSet? {
        guard let fragments = dataSet else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(dataSetLength)
        for fragment in fragments { bytes.append(contentsOf: fragment) }
        return try DataSetReader.read(bytes[...], transferSyntax: transferSyntax)
    }
}
