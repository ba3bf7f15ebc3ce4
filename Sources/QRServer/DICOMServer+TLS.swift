import Logging
import Reactor
import TLS

/// DICOM over TLS (PS3.15 Annex B): the second listener, its contexts and their reload.
extension DICOMServer {
    /// Takes contexts built from reloaded files: connections accepted (or opened for C-MOVE)
    /// from now on use them; open ones keep the contexts they started with.
    public func replaceTLSContexts(_ contexts: TLSContexts) {
        tlsContexts = contexts
    }
}
