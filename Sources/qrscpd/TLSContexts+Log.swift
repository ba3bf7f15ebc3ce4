// SPDX-License-Identifier: Apache-2.0
import Logging
import QRServer
import TLS

extension TLSContexts {
    /// Logs the trust anchor files the contexts passed over, each once (the server and the
    /// client context read the same anchors).
    func logSkippedTrustAnchorFiles(_ logger: Logger) {
        var logged: Set<SkippedTrustAnchorFile> = []
        for file in [server, client].compactMap({ $0 }).flatMap(\.skippedTrustAnchorFiles)
        where logged.insert(file).inserted {
            logger.warning(
                "TLS trust anchor file skipped", metadata: ["file": "\(file.path)", "reason": "\(file.reason)"])
        }
    }
}
