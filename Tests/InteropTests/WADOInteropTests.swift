// SPDX-License-Identifier: Apache-2.0
import DICOM
import DICOMFiles
import Foundation
import TestSupport
import Testing

/// The real daemon's DICOMweb services against dicomweb-client (PyPI), curl and DCMTK: STOW-RS
/// (chunked, with curl; then store_instances), objects stored over the web visible to C-FIND and
/// C-GET (pynetdicom), WADO-RS retrieval (bytes equal the stored files), metadata (equal to pydicom's
/// to_json_dict apart from bulk data as URIs), frames of native and JPEG-encapsulated
/// multi-frame images (equal to pydicom's frames), bulk data, 406 answers, and WADO-URI with curl.
@Suite(
    "DICOMweb interop (dicomweb-client, curl, DCMTK)", .serialized,
    .enabled(if: WebDaemon.enabled), .timeLimit(.minutes(5)))
struct WADOInteropTests {
    static let study = "1.2.826.0.1.3680043.10.1489.98.100"

    /// Runs scripts/pydicom-frames-reference.py with `arguments`; stdout, or nil after recording why.
    static func framesScript(_ arguments: [String]) -> String? {
        let r = ExternalTool.run(
            "/usr/bin/env",
            ["python3", PackagePaths.root.appendingPathComponent("scripts/pydicom-frames-reference.py").path]
                + arguments)
        guard r.succeeded else {
            Issue.record("pydicom-frames-reference.py failed: \(r.transcript)")
            return nil
        }
        return r.stdout
    }

    /// Waits (bounded) until `port` accepts connections.
    static func waitForHTTP(port: Int) -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let r = ExternalTool.run(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/metrics"],
                timeout: 5)
            if r.stdout == "200" { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// A multipart/related body of Part 10 files.
    static func stowBody(_ files: [URL], boundary: String) throws -> Data {
        var body = Data()
        for file in files {
            body += Data("--\(boundary)\r\nContent-Type: application/dicom\r\n\r\n".utf8)
            body += try Data(contentsOf: file)
            body += Data("\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return body
    }

    @Test(
        "STOW-RS with curl and dicomweb-client, then WADO-RS, metadata, frames, bulk data, C-FIND, C-GET and WADO-URI")
    func webServices() throws {
        guard ExternalTool.require("/usr/bin/curl"), ExternalTool.require("/usr/bin/findscu") else { return }
        guard ExternalTool.requirePython("dicomweb_client") else { return }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qrscpd-dicomweb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let fixtures = scratch.appendingPathComponent("fixtures")
        guard Self.framesScript(["--make-fixtures", fixtures.path]) != nil,
            let testDir = Self.framesScript(["--test-files-dir"])?.trimmingCharacters(in: .whitespacesAndNewlines)
        else { return }
        let made = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).sorted().map {
            fixtures.appendingPathComponent($0)
        }
        #expect(made.count == 6)
        let extra = ["SC_rgb_jpeg_dcmtk.dcm", "CT_small.dcm"].map {
            URL(fileURLWithPath: testDir).appendingPathComponent($0)
        }
        .filter { FileManager.default.fileExists(atPath: $0.path) }

        // A file over the metadata handler's whole-file limit, placed before start (the scan
        // indexes it): its metadata comes from its header alone.
        let storage = scratch.appendingPathComponent("storage")
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        guard Self.framesScript(["--make-large", storage.appendingPathComponent("large.dcm").path]) != nil else {
            return
        }
        let httpPort = try freeLoopbackPort()
        let daemon = try DaemonProcess(arguments: ["--http-port", "\(httpPort)"], storageDirectory: storage)
        #expect(Self.waitForHTTP(port: httpPort), "\(daemon.log)")
        let base = "http://127.0.0.1:\(httpPort)"

        // Chunked STOW-RS of the first two fixtures with curl.
        let body = scratch.appendingPathComponent("stow.body")
        try Self.stowBody(Array(made.prefix(2)), boundary: "qrscpd-test-boundary").write(to: body)
        let out = scratch.appendingPathComponent("stow.json")
        let stow = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", out.path, "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
                "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=qrscpd-test-boundary",
                "--data-binary", "@\(body.path)", "\(base)/dicom-web/studies/\(Self.study)",
            ])
        #expect(stow.stdout == "200", "\(stow.transcript)\n\(daemon.log)")
        let response = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
        let referenced = (response?["00081199"] as? [String: Any])?["Value"] as? [Any]
        #expect(referenced?.count == 2, "\(String(describing: response))")
        #expect(response?["00081198"] == nil)

        // A part larger than a write batch, sent chunked in small pieces: stored with its data set
        // unchanged (the Part 10 header is the archive's own, as for C-STORE).
        let mid = scratch.appendingPathComponent("mid.dcm")
        guard Self.framesScript(["--make-large", mid.path, "1", "8"]) != nil else { return }
        try Self.stowBody([mid], boundary: "mid-boundary").write(to: body)
        let midStow = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
                "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=mid-boundary",
                "--limit-rate", "4M", "--data-binary", "@\(body.path)", "\(base)/dicom-web/studies",
            ])
        #expect(midStow.stdout == "200", "\(midStow.transcript)\n\(daemon.log.suffix(2000))")
        let midBack = scratch.appendingPathComponent("mid-back.dcm")
        let midURI = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", midBack.path, "-w", "%{http_code}",
                "\(base)/wado?requestType=WADO&studyUID=1.2.826.0.1.3680043.10.1489.98.101&seriesUID=1.2.826.0.1.3680043.10.1489.98.200.8"
                    + "&objectUID=1.2.826.0.1.3680043.10.1489.98.8&contentType=application/dicom",
            ])
        #expect(midURI.stdout == "200")
        let sent = try DICOMFile.readBytes(mid.path)
        let back = try DICOMFile.readBytes(midBack.path)
        let sentStart = try DICOMFile.readHeader(sent[...]).dataSetOffset
        let backStart = try DICOMFile.readHeader(back[...]).dataSetOffset
        #expect(sent.count > 512 * 1024 && sent[sentStart...] == back[backStart...])

        // A body that is not multipart: 415; a part that is not DICOM: 409 with a Failed SOP Sequence.
        let notMultipart = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "Content-Type: application/dicom", "--data-binary", "x",
                "\(base)/dicom-web/studies",
            ])
        #expect(notMultipart.stdout == "415")
        let junk = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-w", "\n%{http_code}",
                "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b",
                "--data-binary", "--b\r\nContent-Type: application/dicom\r\n\r\nnot dicom\r\n--b--\r\n",
                "\(base)/dicom-web/studies",
            ])
        #expect(junk.stdout.hasSuffix("\n409") && junk.stdout.contains("00081198"), "\(junk.transcript)")

        // A part of another study than the path names: 409, Failure Reason A900, nothing stored.
        let other = scratch.appendingPathComponent("other.body")
        try Self.stowBody([made[2]], boundary: "b").write(to: other)
        let wrongStudy = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-w", "\n%{http_code}",
                "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=b",
                "--data-binary", "@\(other.path)", "\(base)/dicom-web/studies/1.2.3.999",
            ])
        #expect(
            wrongStudy.stdout.hasSuffix("\n409")
                && wrongStudy.stdout.contains("\"00081197\":{\"vr\":\"US\",\"Value\":[43264]}"),
            "\(wrongStudy.transcript)")

        // dicomweb-client: everything else (the two stored above come again: kept as duplicates).
        let files = (made + extra).map(\.path)
        let (peer, json) = ExternalTool.pythonPeer(
            "dicomweb_peer.py",
            [
                "\(base)/dicom-web", daemon.storageDirectory.path,
                "--preloaded", "1.2.826.0.1.3680043.10.1489.98.7",
                "--preloaded", "1.2.826.0.1.3680043.10.1489.98.8",
            ] + files,
            timeout: 180)
        let checks = (json as? [String: Any])?["checks"] as? [String: Bool] ?? [:]
        #expect(!checks.isEmpty, "\(peer.transcript)")
        for (name, passed) in checks.sorted(by: { $0.key < $1.key }) {
            #expect(passed, "\(name): \(String(describing: (json as? [String: Any])?["details"]))")
        }
        #expect(checks.count == 14)

        // Objects stored over the web are visible to C-FIND and C-GET.
        let find = ExternalTool.run(
            "/usr/bin/findscu",
            [
                "-v", "-S", "-aec", daemon.aeTitle, "-k", "QueryRetrieveLevel=SERIES",
                "-k", "StudyInstanceUID=\(Self.study)", "-k", "SeriesInstanceUID",
                "127.0.0.1", "\(daemon.port)",
            ])
        let transcript = find.stdout + find.stderr
        // Each fixture is a series of its own.
        let found = transcript.components(separatedBy: "(0020,000e) UI [").count - 1
        #expect(found == 6, "\(find.transcript)")
        // C-GET (pynetdicom, uncompressed storage contexts): the native instances arrive; the
        // JPEG ones fail, as the archive does not decompress.
        let getDir = scratch.appendingPathComponent("get")
        try FileManager.default.createDirectory(at: getDir, withIntermediateDirectories: true)
        let (outcome, final) = try daemon.retrieveWithPynetdicom(
            "get", model: "S", into: getDir, ["QueryRetrieveLevel=STUDY", "StudyInstanceUID=\(Self.study)"])
        #expect(final["NumberOfCompletedSuboperations"] as? Int == 2, "\(final)")
        #expect(final["NumberOfFailedSuboperations"] as? Int == 4, "\(final)")
        let received = Set(((outcome["received"] as? [[String: Any]]) ?? []).compactMap { $0["uid"] as? String })
        #expect(received == ["1.2.826.0.1.3680043.10.1489.98.1", "1.2.826.0.1.3680043.10.1489.98.2"])

        // WADO-URI with curl: the stored file's bytes.
        let series = "1.2.826.0.1.3680043.10.1489.98.200.3"
        let object = "1.2.826.0.1.3680043.10.1489.98.3"
        let wado = scratch.appendingPathComponent("wado.dcm")
        let uri = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", wado.path, "-w", "%{http_code} %{content_type}",
                "\(base)/wado?requestType=WADO&studyUID=\(Self.study)&seriesUID=\(series)&objectUID=\(object)&contentType=application%2Fdicom",
            ])
        #expect(uri.stdout == "200 application/dicom", "\(uri.transcript)")
        let stored = daemon.storageDirectory.appendingPathComponent("\(Self.study)/\(series)/\(object).dcm")
        #expect(try Data(contentsOf: wado) == Data(contentsOf: stored))
        let rendered = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "\(base)/wado?requestType=WADO&studyUID=\(Self.study)&seriesUID=\(series)&objectUID=\(object)",
            ])
        #expect(rendered.stdout == "406")
        let frame0 = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "\(base)/dicom-web/studies/\(Self.study)/series/\(series)/instances/\(object)/frames/0",
            ])
        #expect(frame0.stdout == "400")
        let frame9 = ExternalTool.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "\(base)/dicom-web/studies/\(Self.study)/series/\(series)/instances/\(object)/frames/9",
            ])
        #expect(frame9.stdout == "404")
        #expect(daemon.stop() == 0, "\(daemon.log)")
    }
}
