// SPDX-License-Identifier: Apache-2.0
import Archive
import QRServer
import Reactor

extension DICOMWebRoutes {
    /// Bytes of instance JSON kept by the metadata cache.
    private static let metadataCacheBytes = 16 * 1024 * 1024

    /// Adds WADO-RS (retrieve, metadata, frames, bulk data), WADO-URI and STOW-RS.
    static func installWADO(on server: HTTPServer, store: any IndexStore, workers: WorkerPool, dicom: DICOMServer?) {
        let counter = DICOMWebInstanceCounter(server: server)
        let lookup = WADOLookup(
            store: store, workers: workers, loop: server.loop, logger: server.logger, counter: counter)
        let cache = MetadataCache(capacity: metadataCacheBytes)
        let layouts = FrameLayoutCache(capacity: 4096)
        let study = "\(base)/studies/{study}"
        let series = "\(study)/series/{series}"
        let instance = "\(series)/instances/{instance}"
        server.add("GET", study, name: "wado_study", WADORetrieveHandler(lookup: lookup))
        server.add("GET", series, name: "wado_series", WADORetrieveHandler(lookup: lookup))
        server.add("GET", instance, name: "wado_instance", WADORetrieveHandler(lookup: lookup))
        server.add(
            "GET", "\(study)/metadata", name: "wado_study_metadata", WADOMetadataHandler(lookup: lookup, cache: cache))
        server.add(
            "GET", "\(series)/metadata", name: "wado_series_metadata", WADOMetadataHandler(lookup: lookup, cache: cache)
        )
        server.add(
            "GET", "\(instance)/metadata", name: "wado_instance_metadata",
            WADOMetadataHandler(lookup: lookup, cache: cache))
        server.add(
            "GET", "\(instance)/frames/{frames}", name: "wado_frames",
            WADOFramesHandler(lookup: lookup, layouts: layouts, bulk: false))
        server.add(
            "GET", "\(instance)/bulk/{tag}", name: "wado_bulk",
            WADOFramesHandler(lookup: lookup, layouts: layouts, bulk: true))
        server.add("GET", "/wado", name: "wado_uri", WADOURIHandler(lookup: lookup))
        let stow = STOWHandler(
            workers: workers, loop: server.loop, storePath: dicom?.sharedStorePath, logger: server.logger,
            counter: counter)
        server.add("POST", "\(base)/studies", name: "stow", stow)
        server.add("POST", study, name: "stow_study", stow)
    }
}
