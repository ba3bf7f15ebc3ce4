// SPDX-License-Identifier: Apache-2.0
// OpenSSL 3 for the TLS module: the library's own functions come through CLibssl; this header adds
// real symbols, prefixed qrs_, for the function-like macros and compound option constants Swift
// cannot import, and small certificate-identity readers that would otherwise need OpenSSL's
// macro-generated stack API.
#ifndef COPENSSL_H
#define COPENSSL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/// SSL_CTX_set_min_proto_version (TLS1_2_VERSION, TLS1_3_VERSION). Returns 1 on success.
int qrs_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version);
/// SSL_CTX_set_max_proto_version. Returns 1 on success.
int qrs_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version);
/// Sets the options every qrscpd context carries: SSL_OP_ENABLE_KTLS (hand the keys to the kernel
/// when its `tls` module is there), SSL_OP_IGNORE_UNEXPECTED_EOF (a peer closing without
/// close_notify is an end of stream, not an error), SSL_OP_NO_RENEGOTIATION, and for a server
/// SSL_OP_CIPHER_SERVER_PREFERENCE. Returns the options now set.
uint64_t qrs_ssl_ctx_set_qrscpd_options(SSL_CTX *ctx, int is_server);
/// SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a non-blocking write
/// returns what was sent record by record, and a retry after WANT_WRITE may come from a
/// different (same-content) buffer.
void qrs_ssl_ctx_set_nonblocking_modes(SSL_CTX *ctx);
/// SSL_set_tlsext_host_name (SNI). Returns 1 on success.
int qrs_ssl_set_tlsext_host_name(SSL *ssl, const char *name);
/// A server selects ALPN "http/1.1" when the client offers it, and no protocol otherwise.
void qrs_ssl_ctx_select_alpn_http11(SSL_CTX *ctx);
/// BIO_get_ktls_send: 1 when the kernel encrypts what is written to this BIO's socket.
int qrs_bio_get_ktls_send(BIO *bio);
/// BIO_get_ktls_recv: 1 when the kernel decrypts what is read from this BIO's socket.
int qrs_bio_get_ktls_recv(BIO *bio);

/// Where the verify callback notes the first certificate that failed verification, so that a
/// refused handshake can name it (OpenSSL keeps no peer certificate after a failed check).
typedef struct qrs_verify_note {
    int recorded;
    int depth;
    char subject[512];
} qrs_verify_note;

/// SSL_CTX_set_verify(ctx, mode, callback) with a callback that changes no decision and records
/// the failing certificate's subject in the session's note (see qrs_ssl_set_verify_note).
void qrs_ssl_ctx_set_verify(SSL_CTX *ctx, int mode);
/// Attaches `note` (owned by the caller, outliving the SSL) to the session. Returns 1 on success.
int qrs_ssl_set_verify_note(SSL *ssl, qrs_verify_note *note);
/// The recorded subject, or NULL when no certificate failed.
const char *qrs_verify_note_subject(const qrs_verify_note *note);

/// Writes the subject's first commonName as UTF-8 into out (NUL-terminated, truncated to cap-1).
/// Returns its length, or -1 when the subject has none.
int qrs_x509_subject_common_name(X509 *cert, char *out, size_t cap);
/// The number of entries in the subjectAltName extension (0 when there is none).
int qrs_x509_alt_name_count(X509 *cert);
/// Entry `index` of subjectAltName as text into out (NUL-terminated): DNS names, e-mail
/// addresses and URIs as they are, IP addresses in their usual text form. *kind is 1 DNS,
/// 2 IP, 3 e-mail, 4 URI, 0 other (out is then empty). Returns the text length or -1.
int qrs_x509_alt_name(X509 *cert, int index, int *kind, char *out, size_t cap);

/// Names the subject of every certificate in the context's store (deduplicated) as the
/// acceptable issuers a server's CertificateRequest lists, replacing any list set before
/// (SSL_CTX_set_client_CA_list, which owns the new list). Returns the number of names, or -1
/// when memory ran out (the list is then left as it was).
int qrs_ssl_ctx_set_client_ca_list_from_store(SSL_CTX *ctx);

#endif
