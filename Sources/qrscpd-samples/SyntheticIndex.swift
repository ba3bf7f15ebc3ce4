// SPDX-License-Identifier: Apache-2.0
import Archive
import ArgumentParser
import Foundation

/// An index without files: rows inserted straight into a SQLite index, to measure
/// queries at a scale (a million instances) that would take too long to write as files.
struct SyntheticIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthetic-index",
        abstract: "Inserts synthetic patient/study/series/instance rows into an index database (benchmarks).")

    @Argument(help: "Index database file (created if missing).")
    var database: String

    @Option(help: "Number of patients.")
    var patients: Int = 10_000

    @Option(name: .customLong("studies-per-patient"), help: "Studies per patient.")
    var studiesPerPatient: Int = 2

    @Option(name: .customLong("series-per-study"), help: "Series per study.")
    var seriesPerStudy: Int = 2

    @Option(name: .customLong("instances-per-series"), help: "Instances per series.")
    var instancesPerSeries: Int = 25

    func run() throws {
        let store = try SQLiteIndexStore(path: database)
        let started = Date()
        let shape = SyntheticShape(
            patients: patients, studiesPerPatient: studiesPerPatient,
            seriesPerStudy: seriesPerStudy, instancesPerSeries: instancesPerSeries)
        let inserted = try store.insertSynthetic(shape)
        try store.close()
        print(
            String(
                format: "synthetic-index: %d instances in %.1f s into %@", inserted,
                Date().timeIntervalSince(started), database))
    }
}
