// SPDX-License-Identifier: Apache-2.0
import CLibssl
import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// A file among the trust anchors that held no usable certificate and was passed over.
public struct SkippedTrustAnchorFile: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The file as found (in the configured directory or the system's).
    public let path: String
    /// Why it was passed over: not readable, or no PEM certificate (with OpenSSL's reason).
    public let reason: String

    public var description: String { "\(path): \(reason)" }
}

/// Reads trust anchors whole into a context's certificate store while the context is built.
///
/// OpenSSL's own directory lookup (`SSL_CTX_load_verify_dir`, and the system directory behind
/// `SSL_CTX_set_default_verify_paths`) opens the hashed files lazily, during each handshake, which
/// would put disk reads on the reactor thread. Contexts are built on a worker (at start and on
/// reload), so every certificate is read there instead, and a handshake only looks in memory.
struct TrustAnchorLoader {
    /// The store the certificates go into (the context's `X509_STORE`).
    let store: OpaquePointer
    /// How many certificates were added (a certificate found under two names counts twice).
    private(set) var loaded = 0
    /// Files that were looked at and held no usable certificate.
    private(set) var skipped: [SkippedTrustAnchorFile] = []

    init(store: OpaquePointer) {
        self.store = store
    }

    /// Adds every PEM certificate in `path`; a file without one is noted in ``skipped``.
    /// Blocks in other PEM formats (CRLs, keys) between certificates are passed over.
    mutating func loadFile(_ path: String) {
        OpenSSLErrors.clear()
        guard let bio = BIO_new_file(path, "r") else {
            skipped.append(SkippedTrustAnchorFile(path: path, reason: String(cString: strerror(errno))))
            OpenSSLErrors.clear()
            return
        }
        defer { BIO_free(bio) }
        var found = 0
        var failure: String?
        // One certificate per round; a file is finite, the bound only guards against a loop.
        while found < 100_000, let certificate = PEM_read_bio_X509_AUX(bio, nil, nil, nil) {
            defer { X509_free(certificate) }
            guard X509_STORE_add_cert(store, certificate) == 1 else {
                failure = OpenSSLErrors.drain()
                break
            }
            found += 1
        }
        // The read that ends the file leaves "no start line" in the queue; it is not a failure.
        let reason = OpenSSLErrors.drain()
        loaded += found
        if found == 0 {
            skipped.append(SkippedTrustAnchorFile(path: path, reason: "no PEM certificate (\(failure ?? reason))"))
        }
    }

    /// Adds the certificates of every regular file in `directory` (any name: `*.pem`, `*.crt`,
    /// the `c_rehash` names `<hash>.0`, symbolic links to them), in name order. Hidden files
    /// and subdirectories are passed over; a directory that cannot be listed is noted in
    /// ``skipped``.
    mutating func loadDirectory(_ directory: String) {
        guard let stream = opendir(directory) else {
            skipped.append(SkippedTrustAnchorFile(path: directory, reason: String(cString: strerror(errno))))
            return
        }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(stream)
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names.sorted() {
            let path = base + name
            var status = stat()
            // stat, not lstat: the hashed names are usually symbolic links to the PEM files.
            guard stat(path, &status) == 0 else {
                skipped.append(SkippedTrustAnchorFile(path: path, reason: String(cString: strerror(errno))))
                continue
            }
            if status.st_mode & S_IFMT == S_IFREG { loadFile(path) }
        }
    }

    /// The system's trust anchors as OpenSSL would find them: the file and the directories
    /// (colon-separated) named by `SSL_CERT_FILE` and `SSL_CERT_DIR` when set, else the
    /// library's defaults (on Debian /usr/lib/ssl/cert.pem and /usr/lib/ssl/certs).
    ///
    /// - Returns: a description of where it looked, for an error when nothing was found.
    mutating func loadSystemDefaults(environment: [String: String]) -> String {
        let file =
            Self.setting(String(cString: X509_get_default_cert_file_env()), environment)
            ?? String(cString: X509_get_default_cert_file())
        let directories =
            Self.setting(String(cString: X509_get_default_cert_dir_env()), environment)
            ?? String(cString: X509_get_default_cert_dir())
        // A missing default is normal (a system may have only one of the two); it is not noted.
        if access(file, R_OK) == 0 { loadFile(file) }
        for directory in directories.split(separator: ":").map(String.init) where access(directory, R_OK | X_OK) == 0 {
            loadDirectory(directory)
        }
        return "\(file) and \(directories) (the system's)"
    }

    /// `name` from `environment`, else from the process environment; nil when unset or empty.
    private static func setting(_ name: String, _ environment: [String: String]) -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}
