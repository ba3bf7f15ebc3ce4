// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// WADO-RS against stored files that are not what the index says (removed or changed behind
/// its back) or that are unusual (elements after Pixel Data, a large value other than Pixel
/// Data), made with pydicom (Peers/wado_files.py) and placed in the storage directory before
/// the daemon starts (its scan indexes them).
@Suite("WADO-RS and stored files (curl, raw sockets, pydicom)", .serialized, .enabled(if: WebDaemon.enabled))
struct WADOStoredFileTests {
    /// A scratch storage directory, removed when the test ends.
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("qrscpd-wadofiles-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
    }

    /// Runs Peers/wado_files.py; its JSON, or nil after recording why.
    static func files(_ arguments: [String], timeout: TimeInterval = 120) -> [String: Any]? {
        let (result, json) = ExternalTool.pythonPeer("wado_files.py", arguments, timeout: timeout)
        guard let object = json as? [String: Any] else {
            Issue.record("wado_files.py \(arguments.first ?? "") failed: \(result.transcript)")
            return nil
        }
        return object
    }

    @Test(
        "a series whose first file is gone is answered 404, one whose file changed 500, and one whose later file is gone is cut off, not ended",
        .timeLimit(.minutes(3)))
    func missingFiles() throws {
        let scratch = try Scratch()
        guard let made = Self.files(["series", scratch.url.path]),
            let study = made["study"] as? String, let series = made["series"] as? [String],
            let paths = made["instances"] as? [[String]]
        else { return }
        let web = try WebDaemon(storageDirectory: scratch.url, expectedInstances: 4)
        let seriesPath = { (i: Int) in "/dicom-web/studies/\(study)/series/\(series[i])" }

        // The first file of series 1 removed: no 200 goes out before it is opened.
        try FileManager.default.removeItem(atPath: paths[0][0])
        let gone = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: seriesPath(0))
        #expect(gone.stdout == "404", "\(gone.transcript)\n\(web.daemon.log.suffix(2000))")
        let goneMetadata = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "\(seriesPath(0))/metadata")
        #expect(goneMetadata.stdout == "404", "\(goneMetadata.transcript)")

        // The other file of series 1 grown since it was indexed: 500.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: paths[0][1]))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0]))
        try handle.close()
        let changed = web.curl(
            ["-o", "/dev/null", "-w", "%{http_code}"],
            path: "\(seriesPath(0))/instances/1.2.826.0.1.3680043.10.1489.97.3.1.2")
        #expect(changed.stdout == "500", "\(changed.transcript)")

        // The second file of series 2 removed: the status went out with the first part, so the
        // connection is cut without the last chunk (no valid-looking shorter body).
        try FileManager.default.removeItem(atPath: paths[1][1])
        let c = try RawHTTPConnection(port: web.httpPort)
        try c.send("GET \(seriesPath(1)) HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(c.readResponse() == nil, "an incomplete response")
        let cut = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: seriesPath(1))
        #expect(cut.exitCode != 0 && cut.stdout == "200", "curl sees a transfer cut off: \(cut.transcript)")

        let log = web.daemon.log
        #expect(
            log.contains("WADO-RS cannot send a stored file") && log.contains("http_status=404"), "\(log.suffix(3000))")
        #expect(log.contains("WADO-RS retrieval cut off"), "\(log.suffix(3000))")
    }

    @Test(
        "metadata of a file with elements after Pixel Data and of a file with a value larger than 64 MiB equals pydicom's; that value is served as bulk data from the file, with the daemon's peak memory growing far less than it",
        .timeLimit(.minutes(5)))
    func walkedFiles() throws {
        let scratch = try Scratch()
        let trailing = scratch.url.appendingPathComponent("trailing.dcm")
        let large = scratch.url.appendingPathComponent("large.dcm")
        let mib = 70
        guard let t = Self.files(["trailing", trailing.path]), let tUIDs = t["uids"] as? [String],
            let l = Self.files(["large-bulk", large.path, "\(mib)"]), let lUIDs = l["uids"] as? [String],
            let offset = l["offset"] as? Int, let length = l["length"] as? Int
        else { return }
        let web = try WebDaemon(storageDirectory: scratch.url, expectedInstances: 2)
        let instancePath = { (u: [String]) in "/dicom-web/studies/\(u[0])/series/\(u[1])/instances/\(u[2])" }
        // Peak memory from here on (VmHWM reset by clear_refs, Linux 4.0), so the scan that
        // indexed the files does not count.
        try "5".write(toFile: "/proc/\(web.daemon.processIdentifier)/clear_refs", atomically: false, encoding: .utf8)
        let peakBefore = web.daemon.peakResidentKiB

        for (file, uids) in [(trailing, tUIDs), (large, lUIDs)] {
            guard let compared = Self.files(["metadata", file.path, "\(web.base)\(instancePath(uids))/metadata"]) else {
                continue
            }
            #expect(
                compared["equal"] as? Bool == true,
                "\(file.lastPathComponent): ours \(String(describing: compared["ours"]))\npydicom \(String(describing: compared["pydicom"]))\n\(web.daemon.log.suffix(2000))"
            )
        }

        let body = scratch.url.appendingPathComponent("bulk.out")
        let bulk = web.curl(
            ["-o", body.path, "-w", "%{http_code}"], path: "\(instancePath(lUIDs))/bulk/60003000")
        #expect(bulk.stdout == "200", "\(bulk.transcript)\n\(web.daemon.log.suffix(2000))")
        let peakAfter = web.daemon.peakResidentKiB
        let got = try Data(contentsOf: body)
        let stored = try FileHandle(forReadingFrom: large)
        defer { try? stored.close() }
        try stored.seek(toOffset: UInt64(offset))
        let value = try stored.read(upToCount: length) ?? Data()
        // One part: its header, the value, then the closing delimiter.
        if let headerEnd = got.range(of: Data("\r\n\r\n".utf8)) {
            let part = got[headerEnd.upperBound...].prefix(length)
            #expect(part.count == length && part == value, "bulk data bytes differ from the stored value")
            #expect(got[(headerEnd.upperBound + length)...].starts(with: Data("\r\n--".utf8)))
        } else {
            Issue.record("no multipart part in the bulk data response (\(got.count) bytes)")
        }
        #expect(
            peakAfter - peakBefore < mib * 1024 / 4,
            "peak RSS grew from \(peakBefore) KiB to \(peakAfter) KiB for a \(mib) MiB value")
    }
}
