// SPDX-License-Identifier: Apache-2.0
import DICOMNetwork
import Logging
import Reactor

/// Sending DIMSE messages through the driver (UpperLayerDriver+Output.swift), which holds them
/// back while a streamed data set goes out.
extension Association {
    func connectionWritable() {
        activeFind?.connectionWritable()
        activeRetrieve?.connectionWritable()
    }

    /// Sends a DIMSE message as P-DATA-TF PDUs no larger than the peer accepts.
    func sendMessage(contextID: UInt8, command: CommandSet, dataSet: [ArraySlice<UInt8>]? = nil) {
        if driver.canSendPData { noteResponse(command) }
        driver.sendMessage(contextID: contextID, command: command, dataSet: dataSet)
    }

    /// Sends P-DATA-TF PDUs framed elsewhere (a page of C-FIND responses) as one piece.
    func sendPData(_ pdus: [UInt8]) {
        driver.sendPData(pdus)
    }

    /// Whether queued output (held messages included) is at or above the connection's low-water
    /// mark: producers of responses (C-FIND pages) wait until it is not.
    var isOutputAboveLowWater: Bool { driver.isOutputAboveLowWater }

    /// Sends a command and the first stretch of its data set (the whole data set when `isLast`).
    /// Otherwise the data set goes on with ``continueStreamedMessage(contextID:_:isLast:)``, and
    /// other messages wait until it ends.
    func beginStreamedMessage(contextID: UInt8, command: CommandSet, firstPart: DataSetStretch, isLast: Bool) {
        driver.beginStreamedMessage(contextID: contextID, command: command, firstPart: firstPart, isLast: isLast)
    }

    /// The next stretch of a streamed data set; after the last one, held messages go out.
    func continueStreamedMessage(contextID: UInt8, _ part: DataSetStretch, isLast: Bool) {
        driver.continueStreamedMessage(contextID: contextID, part, isLast: isLast)
    }
}
