// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import WebServer

@Suite("DICOMweb instance counts: parts counted once written, or when the response ends")
struct InstanceCountTests {
    @Test func partsCountOnceTheSocketTookTheirLastByte() {
        var tally = SentPartTally()
        tally.queued(endingAt: 1000)
        tally.queued(endingAt: 2500)
        tally.queued(endingAt: 4000)
        #expect(tally.written(upTo: 999) == 0, "the first part's last byte is still queued")
        #expect(tally.written(upTo: 1000) == 1)
        #expect(tally.written(upTo: 1000) == 0, "a part counts once")
        #expect(tally.written(upTo: 3999) == 1)
        tally.queued(endingAt: 5000)
        #expect(tally.all() == 2, "the response ended complete: the queued parts count")
        #expect(tally.all() == 0)
        #expect(tally.written(upTo: 10_000) == 0)
    }

    @Test func aCutOffResponseCountsOnlyWhatWasWritten() {
        var tally = SentPartTally()
        for end in [100, 200, 300] { tally.queued(endingAt: end) }
        // The connection closed having written 250 bytes: the third part never left.
        #expect(tally.written(upTo: 250) == 2)
    }

    @Test func countersByService() {
        var m = HTTPMetrics()
        m.instanceStored()
        m.instanceStored()
        m.instancesSent(3, by: .wadoRS)
        m.instancesSent(1, by: .wadoURI)
        m.instancesSent(2, by: .wadoRS)
        #expect(m.instancesStored == 2)
        #expect(m.instancesSent == [5, 1])
        #expect(DICOMWebService.allCases.map(\.label) == ["wado_rs", "wado_uri"])
    }
}
