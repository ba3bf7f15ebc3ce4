// SPDX-License-Identifier: Apache-2.0
import Archive
import DICOM
import DICOMWeb
import Logging
import Reactor

/// One STOW-RS request body in progress, on the reactor thread. Parts are parsed with
/// ``MultipartStream`` as the body arrives; a part's bytes are copied once, into batches handed
/// to the request's serial lane, which writes them to the object's temporary file. Reading the
/// socket pauses while ``pauseAbove`` bytes wait for the lane, so a gigabyte body never sits in
/// memory.
final class STOWReceiver: HTTPBodyReceiver {
    /// Bytes handed to the lane per job (as for C-STORE).
    static let batchSize = 256 * 1024
    /// Reading pauses with this many bytes queued for the lane and resumes at half.
    private static let pauseAbove = 8 * 1024 * 1024

    enum Part {
        /// Collecting the first bytes until the File Meta Information is complete.
        case probing([UInt8])
        case writing(IncomingObject, Part10Preamble)
        /// Ignored until its end (already counted as failed).
        case skipping
    }

    let study: String?
    let base: String
    let storePath: (writer: StoreWriter, committer: StoreCommitter, uidPolicy: UIDPolicy)?
    let lane: SerialWorkQueue?
    let loop: EventLoop
    let response: HTTPResponse
    let logger: Logger
    /// Counts each instance once it is committed.
    let counter: DICOMWebInstanceCounter
    var stream: MultipartStream
    var part: Part?
    var batch: [UInt8] = []
    var queued = 0
    var paused = false
    var pending = 0
    var results: [STOWResult] = []
    /// Retrieve URLs of the stored instances, by SOP Instance UID.
    var instanceURLs: [String: String] = [:]
    var bodyEnded = false
    var malformed: String?
    var aborted = false
    /// A refusal decided before the body (answered once it has been read).
    var refusal: (status: Int, reason: String)?

    init(
        boundary: String, study: String?, base: String,
        storePath: (writer: StoreWriter, committer: StoreCommitter, uidPolicy: UIDPolicy)?,
        lane: SerialWorkQueue?, loop: EventLoop, response: HTTPResponse, logger: Logger,
        counter: DICOMWebInstanceCounter = DICOMWebInstanceCounter()
    ) {
        stream = MultipartStream(parser: MultipartParser(boundary: boundary))
        self.study = study
        self.base = base
        self.storePath = storePath
        self.lane = lane
        self.loop = loop
        self.response = response
        self.logger = logger
        self.counter = counter
    }

    /// A receiver that reads and drops the body, then answers `status`.
    static func refusing(_ response: HTTPResponse, loop: EventLoop, logger: Logger, status: Int, reason: String)
        -> STOWReceiver
    {
        let r = STOWReceiver(
            boundary: "x", study: nil, base: "", storePath: nil, lane: nil, loop: loop,
            response: response, logger: logger)
        r.refusal = (status, reason)
        return r
    }

    func receive(_ bytes: ArraySlice<UInt8>) {
        guard refusal == nil, malformed == nil else { return }
        stream.feed(bytes) { event in handle(event) }
    }

    private func handle(_ event: MultipartEvent) {
        switch event {
        case .partHead(let fields):
            let type = fields.first { $0.name.lowercased() == "content-type" }?.value
            if let type, MediaType(parsing: type)?.essence != "application/dicom" {
                fail(
                    reason: 0xC000, "a part of type \(type) (only application/dicom is stored)", sopClass: "",
                    sopInstance: "")
                part = .skipping
            } else {
                part = .probing([])
            }
        case .partBody(let bytes):
            body(bytes)
        case .partEnd:
            partEnded()
        case .end:
            break
        case .error(let reason):
            malformed = reason
        }
    }

    private func body(_ bytes: ArraySlice<UInt8>) {
        switch part {
        case .probing(var buffer)?:
            // Without the enum's reference the append grows the buffer in place instead of
            // copying it for every chunk; `probe` sets the part again on every path.
            part = nil
            buffer.append(contentsOf: bytes)
            probe(buffer, partEnded: false)
        case .writing?:
            batch.append(contentsOf: bytes)
            if batch.count >= Self.batchSize { flush() }
        case .skipping?, nil:
            break
        }
    }

    /// Starts the object once the File Meta Information (and, for `/studies/{study}`, the Study
    /// Instance UID) has arrived; refuses the part when it is not a Part 10 file or of another study.
    private func probe(_ buffer: [UInt8], partEnded: Bool) {
        do {
            guard let preamble = try Part10Preamble.parse(buffer[...]) else {
                if partEnded || buffer.count > Part10Preamble.maxLength {
                    throw DICOMError.invalidFile(partEnded ? "too short" : "File Meta Information too long")
                }
                part = .probing(buffer)
                return
            }
            if let study {
                let scan = StudyUIDScan.scan(
                    buffer[preamble.dataSetOffset...],
                    transferSyntax: TransferSyntax(uid: preamble.transferSyntaxUID))
                if scan == .needMoreBytes, !partEnded, buffer.count <= Part10Preamble.maxLength {
                    part = .probing(buffer)
                    return
                }
                if case .found(let uid) = scan, uid != study {
                    fail(
                        reason: 0xA900, "Study Instance UID \(uid ?? "(none)") differs from the request's \(study)",
                        sopClass: preamble.sopClassUID, sopInstance: preamble.sopInstanceUID)
                    part = .skipping
                    return
                }
            }
            start(preamble, firstBytes: Array(buffer[preamble.dataSetOffset...]))
        } catch {
            fail(reason: 0xC000, "not a DICOM Part 10 file: \(error)", sopClass: "", sopInstance: "")
            part = .skipping
        }
    }

    private func start(_ preamble: Part10Preamble, firstBytes: [UInt8]) {
        guard let storePath, let lane else { return }
        if let problem = UIDValidation.problem(preamble.sopInstanceUID, policy: storePath.uidPolicy) {
            fail(
                reason: 0xA900, "SOP Instance UID \(problem)", sopClass: preamble.sopClassUID,
                sopInstance: preamble.sopInstanceUID)
            part = .skipping
            return
        }
        let object = storePath.writer.incoming(
            sopClassUID: preamble.sopClassUID, sopInstanceUID: preamble.sopInstanceUID,
            transferSyntaxUID: preamble.transferSyntaxUID, sourceAETitle: nil)
        lane.run({ object.begin() }, on: loop) { _ in }
        part = .writing(object, preamble)
        batch = firstBytes
        if batch.count >= Self.batchSize { flush() }
    }

    /// Hands the batch to the lane, pausing the socket when too much is waiting.
    private func flush() {
        guard case .writing(let object, _)? = part, let lane, !batch.isEmpty else { return }
        let bytes = batch
        // The next batch grows to batchSize: reserved once instead of grown by reallocation.
        batch = []
        batch.reserveCapacity(Self.batchSize)
        queued += bytes.count
        if queued >= Self.pauseAbove, !paused {
            paused = true
            response.pauseReading()
        }
        lane.run({ object.append(bytes[...]) }, on: loop) { [self] _ in
            queued -= bytes.count
            if paused, queued <= Self.pauseAbove / 2, !aborted {
                paused = false
                response.resumeReading()
            }
        }
    }

    private func partEnded() {
        switch part {
        case .probing(let buffer)?:
            // A part shorter than its header probe: decide now, and store it if it may be.
            probe(buffer, partEnded: true)
            if case .writing? = part { partEnded() } else { part = nil }
            return
        case .writing(let object, let preamble)?:
            flush()
            guard let storePath, let lane else { break }
            let index = results.count
            results.append(
                STOWResult(
                    sopClassUID: preamble.sopClassUID, sopInstanceUID: preamble.sopInstanceUID,
                    outcome: .failed(reason: 0xA700, comment: "not committed")))
            pending += 1
            let done = LoopBound(
                { [self] (result: Result<StoreOutcome, StoreFailure>) in committed(index, result) }, loop: loop)
            let (committer, policy, loop) = (storePath.committer, storePath.uidPolicy, loop)
            lane.run(
                {
                    committer.submit(object, uidPolicy: policy) { result in loop.submit { done.value(result) } }
                }, on: loop
            ) { _ in }
        case .skipping?, nil:
            break
        }
        part = nil
    }

    private func committed(_ index: Int, _ result: Result<StoreOutcome, StoreFailure>) {
        pending -= 1
        switch result {
        case .success(let outcome):
            // Durable and indexed (a duplicate kept under the duplicate policy too, as C-STORE
            // counts it), whether or not the client is still there for the response.
            counter.stored()
            results[index].outcome = .stored
            instanceURLs[results[index].sopInstanceUID] =
                "\(base)/studies/\(outcome.studyInstanceUID)/series/"
                + "\(outcome.seriesInstanceUID)/instances/\(results[index].sopInstanceUID)"
            logger.info(
                "STOW-RS stored",
                metadata: [
                    "sop_instance_uid": "\(results[index].sopInstanceUID)",
                    "study_instance_uid": "\(outcome.studyInstanceUID)",
                    "disposition": "\(outcome.disposition)", "bytes": "\(outcome.size)",
                ])
        case .failure(let failure):
            let reason: UInt16 =
                switch failure.kind {
                case .outOfResources: 0xA700
                case .dataSetMismatch: 0xA900
                case .duplicate: 0x0111
                }
            results[index].outcome = .failed(reason: reason, comment: failure.comment)
            logger.warning(
                "STOW-RS part not stored",
                metadata: [
                    "sop_instance_uid": "\(results[index].sopInstanceUID)", "reason": "\(failure)",
                ])
        }
        finishIfDone()
    }

    private func fail(reason: UInt16, _ comment: String, sopClass: String, sopInstance: String) {
        results.append(
            STOWResult(
                sopClassUID: sopClass, sopInstanceUID: sopInstance,
                outcome: .failed(reason: reason, comment: comment)))
        logger.warning("STOW-RS part refused", metadata: ["reason": "\(comment)"])
    }

    func end() {
        bodyEnded = true
        if refusal == nil, malformed == nil, let event = stream.finish() {
            handle(event)
        }
        if malformed != nil, case .writing(let object, _)? = part, let lane {
            lane.run({ object.discard() }, on: loop) { _ in }
            part = nil
        }
        finishIfDone()
    }

    func abort() {
        aborted = true
        if case .writing(let object, _)? = part, let lane {
            lane.run({ object.discard() }, on: loop) { _ in }
        }
        part = nil
    }

    private func finishIfDone() {
        guard bodyEnded, pending == 0, !aborted, !response.hasBegun else { return }
        if let refusal {
            response.sendError(refusal.status, refusal.reason)
            return
        }
        if let malformed, results.isEmpty {
            response.sendError(400, "bad multipart body: \(malformed)")
            return
        }
        let status = STOWResult.status(results)
        if results.isEmpty {
            response.sendError(400, "no part in the multipart body")
            return
        }
        let base = self.base
        let json = STOWResult.responseJSON(results, studyURL: study.map { "\(base)/studies/\($0)" }) { [instanceURLs] in
            instanceURLs[$0.sopInstanceUID]
        }
        response.send(status: status, contentType: "application/dicom+json", body: json)
    }
}
