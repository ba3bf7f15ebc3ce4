// SPDX-License-Identifier: Apache-2.0
import HTTP1
import Testing

@testable import WebServer

struct NoHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, _ response: HTTPResponse) {}
}

@Suite("Route table, request targets, CORS, Accept")
struct RoutingTests {
    static func router() -> HTTPRouter {
        var r = HTTPRouter()
        r.add("GET", "/dicom-web/studies", name: "a", NoHandler())
        r.add("GET", "/dicom-web/studies/{study}/series", name: "b", NoHandler())
        r.add("POST", "/dicom-web/studies", name: "c", NoHandler())
        return r
    }

    @Test func lookupBindsParametersAndTellsMethodsApart() {
        let r = Self.router()
        guard case .found(1, let p) = r.lookup(method: "GET", path: "/dicom-web/studies/1.2.3/series") else {
            Issue.record("no match")
            return
        }
        #expect(p == ["study": "1.2.3"])
        guard case .found(0, _) = r.lookup(method: "HEAD", path: "/dicom-web/studies") else {
            Issue.record("HEAD must use the GET route")
            return
        }
        guard case .found(2, _) = r.lookup(method: "POST", path: "/dicom-web/studies") else {
            Issue.record("POST route")
            return
        }
        guard case .methodNotAllowed(let allowed) = r.lookup(method: "DELETE", path: "/dicom-web/studies") else {
            Issue.record("405 expected")
            return
        }
        #expect(allowed == ["GET", "HEAD", "POST", "OPTIONS"])
        guard case .notFound = r.lookup(method: "GET", path: "/dicom-web/studies/1/series/2") else {
            Issue.record("404 expected")
            return
        }
    }

    @Test func targetsAreDecoded() throws {
        let t = try #require(HTTPRequest.parseTarget("/dicom-web/studies?PatientName=D%C3%B6e%5E*&includefield=a,b&x"))
        #expect(t.path == "/dicom-web/studies")
        #expect(t.query.map(\.name) == ["PatientName", "includefield", "x"])
        #expect(t.query.map(\.value) == ["Döe^*", "a,b", ""])
        #expect(HTTPRequest.parseTarget("/a?b=c+d")?.query.first?.value == "c d")
        #expect(HTTPRequest.parseTarget("*") == nil)
        #expect(HTTPRequest.parseTarget("http://host/") == nil)
        #expect(HTTPRequest.parseTarget("/a%zz") == nil)
        #expect(HTTPRequest.parseTarget("/a?b=%FF") == nil, "not UTF-8")
    }

    @Test func corsAllowsConfiguredOriginsOnly() throws {
        let cors = CORSPolicy(origins: ["http://viewer"])
        #expect(cors.allowedOrigin("http://viewer") == "http://viewer")
        #expect(cors.allowedOrigin("http://other") == nil)
        let pre = try #require(cors.preflightFields(origin: "http://viewer", method: "GET", requestedHeaders: "accept"))
        #expect(pre["access-control-allow-headers"] == "accept")
        #expect(cors.preflightFields(origin: "http://viewer", method: "DELETE", requestedHeaders: nil) == nil)
        #expect(cors.preflightFields(origin: "http://viewer", method: "GET", requestedHeaders: "a b") == nil)
        #expect(CORSPolicy(origins: ["*"]).allowedOrigin("http://any") == "*")
        #expect(CORSPolicy(origins: []).responseFields(origin: "http://viewer").count == 0)
    }

    @Test func acceptNegotiation() {
        let json = MediaTypes.dicomJSON
        #expect(MediaTypes.accepts([:], json))
        #expect(MediaTypes.accepts(["Accept": "application/dicom+json"], json))
        #expect(MediaTypes.accepts(["Accept": "text/html, */*;q=0.8"], json))
        #expect(MediaTypes.accepts(["Accept": "application/*"], json))
        #expect(!MediaTypes.accepts(["Accept": "application/xml"], json))
        #expect(!MediaTypes.accepts(["Accept": "application/dicom+json;q=0"], json))
    }

    @Test func dateIsIMFFixdate() {
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func metricsKeysRoundTrip() {
        var m = HTTPMetrics()
        m.record(route: -1, status: 404, seconds: 0.001)
        m.record(route: 3, status: 200, seconds: 0.2)
        m.record(route: 3, status: 200, seconds: 0.3)
        #expect(m.requestCounts.map { "\($0.route) \($0.status) \($0.count)" } == ["-1 404 1", "3 200 2"])
        #expect(m.durations[3]?.count == 2)
    }
}
