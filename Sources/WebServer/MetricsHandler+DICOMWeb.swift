// SPDX-License-Identifier: Apache-2.0
import PrometheusText

/// Instances stored and sent over DICOMweb. Families of their own beside the DIMSE ones
/// (`qrscpd_instances_received_total`, `qrscpd_instances_sent_total`), which keep their series
/// unchanged for the dashboards and rules that read them (docs/METRICS.md).
extension MetricsHandler {
    func renderDICOMWeb(into w: inout PrometheusTextWriter) {
        var stored: UInt64 = 0
        var sent = [UInt64](repeating: 0, count: DICOMWebService.allCases.count)
        for listener in listeners {
            guard let server = listener.server else { continue }
            stored += server.metrics.instancesStored
            for service in DICOMWebService.allCases {
                sent[service.rawValue] += server.metrics.instancesSent[service.rawValue]
            }
        }
        w.counter(
            "qrscpd_dicomweb_instances_received", help: "Instances stored by STOW-RS (durably committed).",
            samples: [([], stored)])
        w.counter(
            "qrscpd_dicomweb_instances_sent",
            help: "Instances sent by WADO-RS retrieval and WADO-URI, by service.",
            samples: DICOMWebService.allCases.map { ([("service", $0.label)], sent[$0.rawValue]) })
    }
}
