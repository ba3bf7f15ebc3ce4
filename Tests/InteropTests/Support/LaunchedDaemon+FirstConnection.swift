// SPDX-License-Identifier: Apache-2.0
import Foundation

extension LaunchedDaemon {
    /// The first connection `connect` makes while the process runs, retried for at most
    /// `timeout` seconds: systemd-socket-activate binds first and execs qrscpd on the first
    /// connection, so the port may not be listening yet when the process has started.
    func firstConnection<Connection>(timeout: TimeInterval = 20, _ connect: () throws -> Connection) -> Connection? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && isRunning {
            if let connection = try? connect() { return connection }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }
}
