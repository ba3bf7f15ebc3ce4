import DICOM
import GRDB

extension SQLiteIndexStore {
    public func find(_ request: FindRequest, after token: ResumeToken?, limit: Int) throws -> FindPage {
        throw QueryError(status: 0xC000, comment: "not implemented")
    }
}
