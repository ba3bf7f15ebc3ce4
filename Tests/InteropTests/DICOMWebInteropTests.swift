// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// QIDO-RS with dicomweb-client against the daemon on the fixture archive, compared with what
/// C-FIND (DCMTK's findscu) returns for the same keys; /metrics parsed with prometheus_client
/// after a known sequence of DIMSE operations, then of STOW-RS, WADO-RS and WADO-URI.
@Suite(
    "DICOMweb QIDO-RS and /metrics (dicomweb-client, prometheus_client)", .serialized,
    .enabled(if: WebDaemon.enabled), .timeLimit(.minutes(5)))
struct DICOMWebInteropTests {
    /// A search both ways: dicomweb-client arguments and findscu keys (Study Root).
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var qido: [String]
        var cfind: [String]
        /// The unique key of the level, "GGGGEEEE".
        var uid: String
        /// Attributes compared value by value ("GGGGEEEE").
        var compared: [String]
        var description: String { name }
    }

    static let studyFields = ["00080020", "00080030", "00080050", "00200010", "00100020"]

    static func cases(_ truth: FixtureTruth) -> [Case] {
        let multi = truth.studies.first { $0.ModalitiesInStudy.count > 1 }!
        let series = truth.series(ofStudy: multi.StudyInstanceUID).first!
        let study: (String) -> [String] = {
            ["0008,0052=STUDY", "0020,000D", "0008,0020", "0008,0030", "0008,0050", "0020,0010", "0010,0020"] + [$0]
        }
        return [
            Case(
                name: "studies by PatientID", qido: ["studies", "-f", "PatientID=FX-0001"],
                cfind: study("0010,0020=FX-0001"), uid: "0020000D", compared: studyFields),
            Case(
                name: "studies by a date range", qido: ["studies", "-f", "StudyDate=20240101-20240229"],
                cfind: study("0008,0020=20240101-20240229"), uid: "0020000D", compared: studyFields),
            Case(
                name: "studies by a name wild card", qido: ["studies", "-f", "PatientName=DOE*"],
                cfind: study("0010,0010=DOE*"), uid: "0020000D", compared: studyFields),
            Case(
                name: "studies by fuzzy name (a case-insensitive prefix)",
                qido: ["studies", "-f", "PatientName=doe", "--fuzzy"],
                cfind: study("0010,0010=doe*"), uid: "0020000D", compared: studyFields),
            Case(
                name: "studies by tag 00080061 (Modalities in Study)", qido: ["studies", "-f", "00080061=MR"],
                cfind: study("0008,0061=MR"), uid: "0020000D", compared: studyFields),
            Case(
                name: "studies by a UID list",
                qido: [
                    "studies", "-f",
                    "StudyInstanceUID=\(truth.studies[0].StudyInstanceUID),\(truth.studies[1].StudyInstanceUID)",
                ],
                cfind: [
                    "0008,0052=STUDY",
                    "0020,000D=\(truth.studies[0].StudyInstanceUID)\\\(truth.studies[1].StudyInstanceUID)", "0008,0020",
                    "0008,0030", "0008,0050", "0020,0010", "0010,0020",
                ],
                uid: "0020000D", compared: studyFields),
            Case(
                name: "series of a study by modality",
                qido: ["series", "--study", multi.StudyInstanceUID, "-f", "Modality=MR", "--field", "0008103E"],
                cfind: [
                    "0008,0052=SERIES", "0020,000D=\(multi.StudyInstanceUID)", "0008,0060=MR", "0020,000E", "0020,0011",
                    "0008,103E",
                ],
                uid: "0020000E", compared: ["00080060", "00200011", "0008103E"]),
            Case(
                name: "instances of a series, includefield=all",
                qido: [
                    "instances", "--study", multi.StudyInstanceUID, "--series", series.SeriesInstanceUID, "--field",
                    "all",
                ],
                cfind: [
                    "0008,0052=IMAGE", "0020,000D=\(multi.StudyInstanceUID)", "0020,000E=\(series.SeriesInstanceUID)",
                    "0008,0018", "0008,0016", "0020,0013",
                ],
                uid: "00080018", compared: ["00080016", "00200013"]),
        ]
    }

    @Test("searches with filters and includefield return what C-FIND returns")
    func searchesMatchCFind() throws {
        let truth = try FixtureArchive.truth()
        let web = try WebDaemon(storageDirectory: try FixtureArchive.master(), expectedInstances: truth.instances.count)
        for c in Self.cases(truth) {
            let (result, json) = web.search(c.qido)
            let results = try #require(json?["results"] as? [[String: Any]], "\(c): \(result.transcript)")
            let found = FindRunner.run(
                .dcmtk, port: web.daemon.port, aeTitle: web.daemon.aeTitle, model: .studyRoot, keys: c.cfind)
            #expect(found.finalStatus == "0000", "\(c): \(found)")
            #expect(!found.matches.isEmpty, "\(c): the case must match something")
            let key = Self.findKey(c.uid)
            #expect(Set(results.map { "\($0[c.uid] ?? "")" }) == found.valueSet(key), "\(c)")
            #expect(results.count == found.matches.count, "\(c)")
            for match in found.matches {
                guard let r = results.first(where: { "\($0[c.uid] ?? "")" == match[key] }) else { continue }
                for attribute in c.compared {
                    #expect("\(r[attribute] ?? "")" == match[Self.findKey(attribute)] ?? "", "\(c): \(attribute)")
                }
                #expect(r["00081190"] != nil, "\(c): Retrieve URL")
            }
        }
    }

    @Test("series across studies, limit and offset, no match, bad keys")
    func pagingAndErrors() throws {
        let truth = try FixtureArchive.truth()
        let web = try WebDaemon(storageDirectory: try FixtureArchive.master(), expectedInstances: truth.instances.count)
        let (_, ct) = web.search(["series", "-f", "Modality=CT"])
        let ctSeries = try #require(ct?["results"] as? [[String: Any]])
        #expect(
            Set(ctSeries.map { "\($0["0020000E"] ?? "")" })
                == Set(truth.series.filter { $0.Modality == "CT" }.map(\.SeriesInstanceUID)))
        #expect(ctSeries.allSatisfy { $0["00100020"] != nil }, "a search across studies returns the study's attributes")

        var paged: [String] = []
        for offset in stride(from: 0, to: truth.studies.count + 5, by: 5) {
            let (_, page) = web.search(["studies", "--limit", "5", "--offset", "\(offset)"])
            let results = try #require(page?["results"] as? [[String: Any]])
            #expect(results.count <= 5)
            paged += results.map { "\($0["0020000D"] ?? "")" }
        }
        #expect(paged.count == truth.studies.count && Set(paged) == Set(truth.studies.map(\.StudyInstanceUID)))

        let (_, none) = web.search(["studies", "-f", "PatientID=NOBODY"])
        #expect((none?["results"] as? [Any])?.isEmpty == true, "no match: an empty result (204)")
        let empty = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/dicom-web/studies?PatientID=NOBODY")
        #expect(empty.stdout == "204")
        let zero = web.curl(["-o", "/dev/null", "-w", "%{http_code}"], path: "/dicom-web/studies?limit=0")
        #expect(zero.stdout == "204", "limit=0 returns nothing")

        for (query, words) in [
            ("Foo=1", "Foo"), ("SOPInstanceUID=1", "IMAGE level"), ("limit=-1", "limit"),
            ("00091001=x", "private"), ("fuzzymatching=maybe", "fuzzymatching"),
        ] {
            let bad = web.curl(["-w", "\n%{http_code}"], path: "/dicom-web/studies?\(query)")
            #expect(bad.stdout.hasSuffix("\n400") && bad.stdout.contains(words), "\(query): \(bad.transcript)")
        }
        let notJSON = web.curl(
            ["-o", "/dev/null", "-w", "%{http_code}", "-H", "Accept: application/xml"], path: "/dicom-web/studies")
        #expect(notJSON.stdout == "406")
    }

    @Test(
        "/metrics parses with prometheus_client and counts a known sequence of operations, the stored bytes and the start-up scan"
    )
    func metrics() throws {
        let truth = try FixtureArchive.truth()
        // The start-up scan finds three instances and one file that is not DICOM.
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qrscpd-metrics-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: storage) }
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        for (i, instance) in truth.instances[1...3].enumerated() {
            try FileManager.default.copyItem(
                at: try FixtureArchive.master().appendingPathComponent(instance.path),
                to: storage.appendingPathComponent("preloaded-\(i).dcm"))
        }
        try Data("not DICOM".utf8).write(to: storage.appendingPathComponent("notes.txt"))
        let web = try WebDaemon(storageDirectory: storage, expectedInstances: 3)
        let before = try web.scrape()
        #expect(before.contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(before.types["qrscpd_dimse_operations"] == "counter")
        #expect(before.types["qrscpd_dimse_operation_duration_seconds"] == "histogram")
        #expect(before.types["qrscpd_http_requests"] == "counter")
        #expect(before.types["qrscpd_tls_handshakes"] == "counter")
        #expect(before.types["qrscpd_index_stored_bytes"] == "gauge")
        #expect(before.value("qrscpd_scan_files", ["outcome": "indexed"]) == 3)
        #expect(before.value("qrscpd_scan_files", ["outcome": "skipped"]) == 1)
        #expect(before.value("qrscpd_scan_files", ["outcome": "unchanged"]) == 0)
        #expect(before.value("qrscpd_scan_removed_instances") == 0)
        let scanSeconds = try #require(before.value("qrscpd_scan_duration_seconds"))
        #expect(scanSeconds > 0 && scanSeconds.isFinite, "the scan took some time, measured in seconds")

        #expect(web.daemon.echoWithDCMTK().succeeded)
        #expect(web.daemon.echoWithDCMTK().succeeded)
        let ok = FindRunner.run(
            .dcmtk, port: web.daemon.port, aeTitle: web.daemon.aeTitle, model: .studyRoot,
            keys: ["0008,0052=STUDY", "0020,000D"])
        #expect(ok.finalStatus == "0000", "\(ok)")
        let refused = FindRunner.run(
            .dcmtk, port: web.daemon.port, aeTitle: web.daemon.aeTitle, model: .studyRoot,
            keys: ["0008,0052=BOGUS", "0020,000D"])
        #expect(refused.finalStatus == "A900", "\(refused)")
        let files = try [0, 4].map { try FixtureArchive.master().appendingPathComponent(truth.instances[$0].path).path }
        let store = ExternalTool.run(
            "/usr/bin/storescu", ["-aec", web.daemon.aeTitle, "127.0.0.1", "\(web.daemon.port)"] + files, timeout: 60)
        #expect(store.succeeded, "\(store.transcript)")
        let beforeWeb = try web.scrape()
        let webTraffic = try Self.dicomWebTraffic(web, truth: truth, excluding: Set(truth.instances[0...4].map(\.path)))

        let after = try web.scrape()
        func delta(_ name: String, _ labels: [String: String] = [:]) -> Double {
            (after.value(name, labels) ?? -1000) - (before.value(name, labels) ?? 0)
        }
        let ops = "qrscpd_dimse_operations_total"
        #expect(delta(ops, ["command": "C-ECHO", "status": "success"]) == 2)
        #expect(delta(ops, ["command": "C-FIND", "status": "success"]) == 1)
        #expect(delta(ops, ["command": "C-FIND", "status": "failure"]) == 1)
        #expect(delta(ops, ["command": "C-STORE", "status": "success"]) == 2)
        #expect(delta(ops, ["command": "C-GET", "status": "success"]) == 0)
        #expect(delta("qrscpd_dimse_operation_duration_seconds_count", ["command": "C-ECHO"]) == 2)
        #expect(delta("qrscpd_dimse_operation_duration_seconds_bucket", ["command": "C-FIND", "le": "+Inf"]) == 2)
        #expect(delta("qrscpd_associations_total", ["result": "accepted"]) == 5)
        #expect(delta("qrscpd_instances_received_total") == 2)
        #expect(delta("qrscpd_store_commit_duration_seconds_count") == 2)
        #expect(after.value("qrscpd_index_entities", ["level": "instance"]) == Double(5 + webTraffic.stored))
        #expect(after.value("qrscpd_associations_active") == 0)
        #expect(delta("qrscpd_received_bytes_total", ["listener": "dicom"]) > 0)
        #expect(delta("qrscpd_http_requests_total", ["route": "metrics", "code": "200"]) == 2, "the first two scrapes")
        // Stored bytes: the three scanned files and the ones stored by C-STORE and STOW-RS, as on disk.
        let onDisk = try Self.regularFileBytes(in: storage, excluding: ["notes.txt"])
        #expect(onDisk.count == 5 + webTraffic.stored)
        #expect(after.value("qrscpd_index_stored_bytes") == Double(onDisk.bytes))
        #expect(before.value("qrscpd_index_stored_bytes") ?? 0 > 0)
        #expect(after.value("qrscpd_scan_files", ["outcome": "indexed"]) == 3, "the last scan's figures stay")

        // DICOMweb's instances in their own families; the DIMSE ones above counted none of them.
        #expect(after.types["qrscpd_dicomweb_instances_received"] == "counter")
        #expect(after.types["qrscpd_dicomweb_instances_sent"] == "counter")
        #expect(delta("qrscpd_dicomweb_instances_received_total") == Double(webTraffic.stored))
        #expect(delta("qrscpd_dicomweb_instances_sent_total", ["service": "wado_rs"]) == Double(webTraffic.stored))
        #expect(delta("qrscpd_dicomweb_instances_sent_total", ["service": "wado_uri"]) == 1)
        #expect(delta("qrscpd_instances_sent_total") == 0)
        // HTTP bytes per listener: at least the STOW body in, the series' stored files and the
        // WADO-URI file out.
        func webDelta(_ name: String, _ labels: [String: String] = [:]) -> Double {
            (after.value(name, labels) ?? -1000) - (beforeWeb.value(name, labels) ?? 0)
        }
        let seriesBytes = webDelta("qrscpd_index_stored_bytes")
        #expect(seriesBytes > 0)
        #expect(webDelta("qrscpd_received_bytes_total", ["listener": "http"]) >= Double(webTraffic.stowBodyBytes))
        #expect(
            webDelta("qrscpd_sent_bytes_total", ["listener": "http"]) >= seriesBytes + Double(webTraffic.uriBytes))
    }

    @Test("a WADO-RS retrieval cut off counts only the instances written; a whole one counts every instance")
    func cutOffRetrievalCounts() throws {
        let storage = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qrscpd-metrics-cut-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: storage) }
        try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
        // Each file larger than twice what the kernel's send buffer may grow to, so the socket
        // cannot take a whole one while the client reads nothing.
        let sendBufferMax =
            (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? 4 << 20
        let mib = 2 * (sendBufferMax >> 20) + 4
        let count = 3
        let (made, json) = ExternalTool.pythonPeer(
            "dicomweb_retrieve_series.py", ["--make-series", storage.path, "\(count)", "\(mib)"])
        let series = try #require(json as? [String: Any], "\(made.transcript)")
        let study = try #require(series["study"] as? String)
        let seriesUID = try #require(series["series"] as? String)
        let web = try WebDaemon(storageDirectory: storage, expectedInstances: count)
        let before = try web.scrape()
        func delta(_ snapshot: MetricsSnapshot, _ name: String, _ labels: [String: String] = [:]) -> Double {
            (snapshot.value(name, labels) ?? -1000) - (before.value(name, labels) ?? 0)
        }

        // A client that reads the first bytes of the answer, then closes with the rest unread.
        var client: RawHTTPConnection? = try RawHTTPConnection(port: web.httpPort, timeout: 30, receiveBufferSize: 4096)
        try client!.send("GET /dicom-web/studies/\(study)/series/\(seriesUID) HTTP/1.1\r\nHost: t\r\n\r\n")
        var first = [UInt8](repeating: 0, count: 16)
        #expect(recv(client!.fd, &first, first.count, 0) > 0, "the answer began")
        client = nil
        // The daemon counts the request once it has seen the connection go (bounded wait).
        let requests = ["route": "wado_series", "code": "200"]
        var cut = try web.scrape()
        for _ in 0..<100 where delta(cut, "qrscpd_http_requests_total", requests) < 1 {
            Thread.sleep(forTimeInterval: 0.2)
            cut = try web.scrape()
        }
        #expect(delta(cut, "qrscpd_http_requests_total", requests) == 1, "\(web.daemon.log.suffix(2000))")
        #expect(
            delta(cut, "qrscpd_dicomweb_instances_sent_total", ["service": "wado_rs"]) == 0,
            "no part was written whole before the client left")

        let (retrieve, retrieved) = ExternalTool.pythonPeer(
            "dicomweb_retrieve_series.py", [web.dicomWeb, study, seriesUID], timeout: 120)
        let uids = (retrieved as? [String: Any])?["sop_instance_uids"] as? [String]
        #expect(uids?.count == count, "\(retrieve.transcript)")
        let after = try web.scrape()
        #expect(delta(after, "qrscpd_dicomweb_instances_sent_total", ["service": "wado_rs"]) == Double(count))
        #expect(delta(after, "qrscpd_sent_bytes_total", ["listener": "http"]) > Double(count * mib << 20))
    }

    /// What ``dicomWebTraffic(_:truth:excluding:)`` did.
    struct WebTraffic {
        /// Instances stored by STOW-RS, the same ones then retrieved by WADO-RS.
        var stored: Int
        var stowBodyBytes: Int
        var uriBytes: Int
    }

    /// A known DICOMweb sequence: a STOW-RS (curl) of every instance of a fixture series none of
    /// whose files are in `excluding`, with one more part that is not DICOM (refused: 202); that
    /// series retrieved with WADO-RS (dicomweb-client); one of its instances fetched by WADO-URI.
    static func dicomWebTraffic(_ web: WebDaemon, truth: FixtureTruth, excluding: Set<String>) throws -> WebTraffic {
        let series = try #require(
            truth.series.first { s in
                let members = truth.instances(ofSeries: s.SeriesInstanceUID)
                return (2...6).contains(members.count) && members.allSatisfy { !excluding.contains($0.path) }
            })
        let members = truth.instances(ofSeries: series.SeriesInstanceUID)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qrscpd-metrics-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        var body = Data()
        for member in members {
            body += Data("--metrics-b\r\nContent-Type: application/dicom\r\n\r\n".utf8)
            body += try Data(contentsOf: FixtureArchive.master().appendingPathComponent(member.path))
            body += Data("\r\n".utf8)
        }
        body += Data("--metrics-b\r\nContent-Type: application/dicom\r\n\r\nnot DICOM\r\n--metrics-b--\r\n".utf8)
        let bodyFile = scratch.appendingPathComponent("stow.body")
        try body.write(to: bodyFile)
        let stow = web.curl(
            [
                "-o", "/dev/null", "-w", "%{http_code}",
                "-H", "Content-Type: multipart/related; type=\"application/dicom\"; boundary=metrics-b",
                "--data-binary", "@\(bodyFile.path)",
            ], path: "/dicom-web/studies")
        #expect(stow.stdout == "202", "some stored, one refused: \(stow.transcript)")

        let (retrieve, json) = ExternalTool.pythonPeer(
            "dicomweb_retrieve_series.py", [web.dicomWeb, series.StudyInstanceUID, series.SeriesInstanceUID])
        let received = (json as? [String: Any])?["sop_instance_uids"] as? [String]
        #expect(received?.count == members.count, "\(retrieve.transcript)")
        #expect(received.map(Set.init) == Set(members.map(\.SOPInstanceUID)), "\(retrieve.transcript)")

        let object = members[0]
        let uriFile = scratch.appendingPathComponent("uri.dcm")
        let uri = web.curl(
            ["-o", uriFile.path, "-w", "%{http_code}"],
            path: "/wado?requestType=WADO&studyUID=\(object.StudyInstanceUID)&seriesUID=\(object.SeriesInstanceUID)"
                + "&objectUID=\(object.SOPInstanceUID)&contentType=application%2Fdicom")
        #expect(uri.stdout == "200", "\(uri.transcript)")
        let uriBytes = try Data(contentsOf: uriFile).count
        #expect(uriBytes > 0)
        return WebTraffic(stored: members.count, stowBodyBytes: body.count, uriBytes: uriBytes)
    }

    /// The number and total size of the regular files under `directory` (names starting with "."
    /// and those in `excluding` left out).
    static func regularFileBytes(in directory: URL, excluding: Set<String>) throws -> (count: Int, bytes: Int64) {
        var count = 0
        var bytes: Int64 = 0
        let walker = FileManager.default.enumerator(
            at: directory, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey], options: [.skipsHiddenFiles])
        while let url = walker?.nextObject() as? URL {
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
            guard values.isRegularFile == true, !excluding.contains(url.lastPathComponent) else { continue }
            count += 1
            bytes += Int64(values.fileSize ?? 0)
        }
        return (count, bytes)
    }

    /// "GGGGEEEE" as findscu's "GGGG,EEEE".
    static func findKey(_ tag: String) -> String { "\(tag.prefix(4)),\(tag.suffix(4))" }
}
