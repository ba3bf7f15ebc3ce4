import Archive
import DICOM

/// A stored instance ready to go out as the data set of a C-STORE-RQ.
struct LoadedInstance: Sendable {
    /// The data set bytes in the context's transfer syntax: a slice of the file as read (no
    /// copy) when the stored syntax is the one sent, else the converted encoding.
    var dataSet: ArraySlice<UInt8>
    /// Whether the data set was converted from the stored transfer syntax.
    var converted: Bool
}

/// Why a sub-operation could not be attempted (the instance counts as failed).
struct SubOperationFailure: Error, Sendable, CustomStringConvertible {
    var reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}

/// Reads stored files for C-GET/C-MOVE sub-operations. Blocking: runs on the worker pool.
enum InstanceLoader {
    /// Loads `instance` and encodes its data set in `transferSyntax`.
    ///
    /// The file's data set is sent unchanged when its syntax equals the target (FF-03); the
    /// native syntaxes are converted among themselves (EN-06); an encapsulated (compressed)
    /// object can only go out in its own syntax.
    static func load(_ instance: IndexedInstance, as target: TransferSyntax) throws(SubOperationFailure) -> LoadedInstance {
        let bytes: [UInt8]
        do {
            bytes = try DICOMFile.readBytes(instance.path)
        } catch {
            throw SubOperationFailure("cannot read \(instance.path): \(error)")
        }
        let header: DICOMFile.Header
        do {
            header = try DICOMFile.readHeader(bytes[...])
        } catch {
            throw SubOperationFailure("not a readable DICOM file \(instance.path): \(error)")
        }
        if let stored = header.meta.uid(.mediaStorageSOPInstanceUID), !stored.isEmpty,
           stored != instance.sopInstanceUID {
            throw SubOperationFailure("\(instance.path) now holds SOP instance \(stored), not \(instance.sopInstanceUID)")
        }
        guard header.dataSetOffset < bytes.count else {
            throw SubOperationFailure("\(instance.path) has no data set")
        }
        let source = header.transferSyntax
        let dataSet = bytes[header.dataSetOffset...]
        if source.uid == target.uid {
            return LoadedInstance(dataSet: dataSet, converted: false)
        }
        guard source.isNative, target.isNative else {
            throw SubOperationFailure("cannot convert \(source) to \(target) without a codec")
        }
        do {
            let parsed = try DataSetReader.read(dataSet, transferSyntax: source)
            let encoded = try DataSetWriter.write(parsed, transferSyntax: target)
            return LoadedInstance(dataSet: encoded[...], converted: true)
        } catch {
            throw SubOperationFailure("cannot convert \(instance.path) from \(source) to \(target): \(error)")
        }
    }

    /// The transfer syntax an instance stored in `stored` goes out in, among the syntaxes of
    /// the usable contexts: the stored one if offered (no conversion), else — for a native
    /// object — a native one (Explicit VR LE, then Implicit VR LE, then the others).
    static func choose(stored: String, offered: [String]) -> String? {
        if offered.contains(stored) { return stored }
        guard TransferSyntax(uid: stored).isNative else { return nil }
        let order = [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .explicitVRBigEndian,
                     .deflatedExplicitVRLittleEndian].map(\.uid)
        return order.first { offered.contains($0) }
    }
}
