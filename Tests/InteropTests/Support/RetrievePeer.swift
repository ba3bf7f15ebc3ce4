// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

extension DaemonProcess {
    /// Runs the pynetdicom retrieve peer (retrieve_peer.py) against this daemon and returns the
    /// JSON outcome it printed and, in it, the final C-GET / C-MOVE response.
    ///
    /// A peer that printed no outcome, or an outcome without a final response, fails the test
    /// with the peer's transcript and the end of the daemon's log.
    /// - Parameters:
    ///   - mode: "get" or "move".
    ///   - model: "P" (Patient Root) or "S" (Study Root).
    ///   - directory: where a C-GET's objects are written (unused by a C-MOVE).
    ///   - options: the peer's options (`--dest`, `--cancel-after`, `--implicit-only`) and keys
    ///     (`Keyword=value`).
    func retrieveWithPynetdicom(
        _ mode: String, model: String, into directory: URL, _ options: [String], timeout: TimeInterval = 60,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (outcome: [String: Any], final: [String: Any]) {
        let (result, json) = ExternalTool.pythonPeer(
            "retrieve_peer.py", ["127.0.0.1", "\(port)", aeTitle, mode, model, directory.path] + options,
            timeout: timeout)
        let outcome = try #require(
            json as? [String: Any], "\(result.transcript)\n\(log.suffix(2000))",
            sourceLocation: sourceLocation)
        let final = try #require(
            outcome["final"] as? [String: Any], "no final response: \(outcome)\n\(log.suffix(2000))",
            sourceLocation: sourceLocation)
        return (outcome, final)
    }
}
