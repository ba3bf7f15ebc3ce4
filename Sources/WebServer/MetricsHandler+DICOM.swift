// SPDX-License-Identifier: Apache-2.0
import PrometheusText
import QRServer

/// The DICOM server's part of /metrics: associations, DIMSE operations and
/// their durations, C-STORE commits, instances moved.
extension MetricsHandler {
    func renderDICOM(_ dicom: DICOMServer, into w: inout PrometheusTextWriter) {
        let s = dicom.statistics
        w.gauge(
            "qrscpd_associations_active", help: "DICOM associations established and not yet ended.",
            samples: [([], Double(dicom.activeAssociationCount))])
        w.counter(
            "qrscpd_associations", help: "DICOM associations by outcome (aborted ones were accepted first).",
            samples: [
                ([("result", "accepted")], UInt64(s.associationsAccepted)),
                ([("result", "rejected")], UInt64(s.associationsRejected)),
                ([("result", "aborted")], UInt64(s.associationsAborted)),
            ])
        let m = dicom.metrics
        var operations: [(labels: [Label], value: UInt64)] = []
        for (c, command) in DIMSEMetrics.commands.enumerated() {
            for (k, status) in DIMSEMetrics.statusClasses.enumerated() {
                operations.append(([("command", command), ("status", status)], m.count(command: c, statusClass: k)))
            }
        }
        w.counter(
            "qrscpd_dimse_operations", help: "DIMSE operations answered, by command and final status class.",
            samples: operations)
        w.histogram(
            "qrscpd_dimse_operation_duration_seconds",
            help: "Time from a DIMSE request to its final response, by command.",
            series: DIMSEMetrics.commands.enumerated().map { ([("command", $0.element)], m.durations[$0.offset]) })
        w.histogram(
            "qrscpd_store_commit_duration_seconds",
            help: "C-STORE: from an object's last byte received to its durable, indexed commit.",
            series: [([], m.storeCommits)])
        w.counter(
            "qrscpd_instances_received", help: "Instances stored by C-STORE.", samples: [([], UInt64(s.storesReceived))]
        )
        w.counter(
            "qrscpd_instances_sent", help: "Instances sent by C-GET and C-MOVE.", samples: [([], UInt64(s.imagesSent))])
    }
}
