// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMWeb
import HTTP1
import Reactor

/// WADO-URI (PS3.18 §9): `GET /wado?requestType=WADO&studyUID=…&seriesUID=…&objectUID=…`
/// answered with the stored file as `application/dicom`, sent with `sendfile`. Only
/// `contentType=application/dicom` is served (the default, image/jpeg, would need rendering:
/// 406); `transferSyntax`, when given, must be the stored one (no transcoding).
struct WADOURIHandler: HTTPHandler {
    let lookup: WADOLookup

    func handle(_ request: HTTPRequest, _ response: HTTPResponse) {
        func value(_ name: String) -> String? { request.queryValues(name).first }
        guard value("requestType") == "WADO" else {
            response.sendError(400, "requestType=WADO is required")
            return
        }
        guard let study = value("studyUID"), let series = value("seriesUID"), let object = value("objectUID"),
            !study.isEmpty, !series.isEmpty, !object.isEmpty
        else {
            response.sendError(400, "studyUID, seriesUID and objectUID are required")
            return
        }
        let contentTypes = (value("contentType") ?? "").split(separator: ",").map { $0.trimmingWhitespace() }
        guard contentTypes.contains(where: { $0 == "application/dicom" || $0 == "*/*" }) else {
            response.sendError(406, "only contentType=application/dicom is served (no rendering)")
            return
        }
        var routed = request
        routed.pathParameters = ["study": study, "series": series, "instance": object]
        let wantedSyntax = value("transferSyntax")
        lookup.instances(routed, response) { instances in
            let instance = instances[0]
            if let wantedSyntax, wantedSyntax != instance.transferSyntaxUID {
                response.sendError(406, "the object is stored in \(instance.transferSyntaxUID); no transcoding")
                return
            }
            lookup.workers.run(
                { () throws(WADOError) -> (OpenFile, Int) in
                    let (file, size) = try WADOLookup.open(instance)
                    PageIn.makeResident(file, offset: 0, length: size)
                    return (file, size)
                }, on: lookup.loop
            ) { result in
                guard !response.isAborted else { return }
                switch result {
                case .failure(let error): response.sendError(error.status, error.reason)
                case .success(let (file, size)):
                    response.begin(status: 200, contentType: "application/dicom", contentLength: size)
                    response.write([.file(FileRegion(file: file, offset: 0, length: size))])
                    response.end()
                    // Handed whole to the connection (not for HEAD, which sends no body).
                    if !response.isHead { lookup.counter.sent(1, by: .wadoURI) }
                }
            }
        }
    }
}
