// SPDX-License-Identifier: Apache-2.0
#include "COpenSSL.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>

int qrs_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

int qrs_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

uint64_t qrs_ssl_ctx_set_qrscpd_options(SSL_CTX *ctx, int is_server) {
    uint64_t options = SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION;
#ifdef SSL_OP_ENABLE_KTLS
    options |= SSL_OP_ENABLE_KTLS;
#endif
    if (is_server) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    return (uint64_t)SSL_CTX_set_options(ctx, options);
}

void qrs_ssl_ctx_set_nonblocking_modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

int qrs_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static const unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

static int select_alpn_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                              unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    unsigned char *selected = NULL;
    // Our list first: OpenSSL picks the first of ours the client also offers.
    if (SSL_select_next_proto(&selected, outlen, alpn_http11, sizeof alpn_http11, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

void qrs_ssl_ctx_select_alpn_http11(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn_http11, NULL);
}

int qrs_bio_get_ktls_send(BIO *bio) {
#ifndef OPENSSL_NO_KTLS
    return bio != NULL && BIO_get_ktls_send(bio) ? 1 : 0;
#else
    (void)bio;
    return 0;
#endif
}

int qrs_bio_get_ktls_recv(BIO *bio) {
#ifndef OPENSSL_NO_KTLS
    return bio != NULL && BIO_get_ktls_recv(bio) ? 1 : 0;
#else
    (void)bio;
    return 0;
#endif
}

static int note_index = -1;
static pthread_once_t note_index_once = PTHREAD_ONCE_INIT;

static void make_note_index(void) {
    note_index = SSL_get_ex_new_index(0, "qrs_verify_note", NULL, NULL, NULL);
}

static int verify_note_index(void) {
    pthread_once(&note_index_once, make_note_index);
    return note_index;
}

static int note_verify_failure(int ok, X509_STORE_CTX *store) {
    if (ok) return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    int index = verify_note_index();
    qrs_verify_note *note = (ssl != NULL && index >= 0) ? SSL_get_ex_data(ssl, index) : NULL;
    X509 *certificate = X509_STORE_CTX_get_current_cert(store);
    if (note != NULL && !note->recorded && certificate != NULL) {
        X509_NAME_oneline(X509_get_subject_name(certificate), note->subject, (int)sizeof note->subject);
        note->depth = X509_STORE_CTX_get_error_depth(store);
        note->recorded = 1;
    }
    return ok;
}

void qrs_ssl_ctx_set_verify(SSL_CTX *ctx, int mode) {
    SSL_CTX_set_verify(ctx, mode, note_verify_failure);
}

int qrs_ssl_set_verify_note(SSL *ssl, qrs_verify_note *note) {
    int index = verify_note_index();
    return index >= 0 ? SSL_set_ex_data(ssl, index, note) : 0;
}

const char *qrs_verify_note_subject(const qrs_verify_note *note) {
    return note->recorded ? note->subject : NULL;
}

/// Copies `len` bytes of `data` into out as a NUL-terminated string, truncating to cap-1.
static int copy_text(const unsigned char *data, int len, char *out, size_t cap) {
    if (cap == 0) return -1;
    size_t n = len < 0 ? 0 : (size_t)len;
    if (n > cap - 1) n = cap - 1;
    memcpy(out, data, n);
    out[n] = 0;
    return (int)n;
}

int qrs_x509_subject_common_name(X509 *cert, char *out, size_t cap) {
    X509_NAME *subject = X509_get_subject_name(cert);
    if (subject == NULL) return -1;
    int position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (position < 0) return -1;
    ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, position));
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len < 0) return -1;
    int written = copy_text(utf8, len, out, cap);
    OPENSSL_free(utf8);
    return written;
}

int qrs_x509_alt_name_count(X509 *cert) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return 0;
    int count = sk_GENERAL_NAME_num(names);
    GENERAL_NAMES_free(names);
    return count;
}

int qrs_x509_alt_name(X509 *cert, int index, int *kind, char *out, size_t cap) {
    *kind = 0;
    if (cap == 0) return -1;
    out[0] = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return -1;
    int result = -1;
    if (index >= 0 && index < sk_GENERAL_NAME_num(names)) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
        switch (name->type) {
        case GEN_DNS:
            *kind = 1;
            result = copy_text(ASN1_STRING_get0_data(name->d.dNSName), ASN1_STRING_length(name->d.dNSName), out, cap);
            break;
        case GEN_IPADD: {
            const unsigned char *bytes = ASN1_STRING_get0_data(name->d.iPAddress);
            int len = ASN1_STRING_length(name->d.iPAddress);
            int family = len == 4 ? AF_INET : (len == 16 ? AF_INET6 : 0);
            if (family != 0 && inet_ntop(family, bytes, out, (socklen_t)cap) != NULL) {
                *kind = 2;
                result = (int)strlen(out);
            }
            break;
        }
        case GEN_EMAIL:
            *kind = 3;
            result = copy_text(ASN1_STRING_get0_data(name->d.rfc822Name), ASN1_STRING_length(name->d.rfc822Name),
                               out, cap);
            break;
        case GEN_URI:
            *kind = 4;
            result = copy_text(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier),
                               ASN1_STRING_length(name->d.uniformResourceIdentifier), out, cap);
            break;
        default:
            result = 0;
            break;
        }
    }
    GENERAL_NAMES_free(names);
    return result;
}

static int compare_names(const X509_NAME *const *a, const X509_NAME *const *b) {
    return X509_NAME_cmp(*a, *b);
}

int qrs_ssl_ctx_set_client_ca_list_from_store(SSL_CTX *ctx) {
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509) *certificates = store != NULL ? X509_STORE_get1_all_certs(store) : NULL;
    if (certificates == NULL) return -1;
    STACK_OF(X509_NAME) *all = sk_X509_NAME_new(compare_names);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    int failed = all == NULL || names == NULL;
    for (int i = 0; !failed && i < sk_X509_num(certificates); i++) {
        // The store owns the subject; the list gets a copy of its own.
        X509_NAME *name = X509_NAME_dup(X509_get_subject_name(sk_X509_value(certificates, i)));
        if (name == NULL || !sk_X509_NAME_push(all, name)) {
            X509_NAME_free(name);
            failed = 1;
        }
    }
    sk_X509_pop_free(certificates, X509_free);
    if (!failed) {
        // Two anchors may share a subject (a renewed CA): each name is sent once.
        sk_X509_NAME_sort(all);
        for (int i = 0; !failed && i < sk_X509_NAME_num(all); i++) {
            X509_NAME *name = sk_X509_NAME_value(all, i);
            if (i > 0 && X509_NAME_cmp(sk_X509_NAME_value(all, i - 1), name) == 0) continue;
            X509_NAME *copy = X509_NAME_dup(name);
            if (copy == NULL || !sk_X509_NAME_push(names, copy)) {
                X509_NAME_free(copy);
                failed = 1;
            }
        }
    }
    sk_X509_NAME_pop_free(all, X509_NAME_free);
    if (failed) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return -1;
    }
    int count = sk_X509_NAME_num(names);
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership of the list and its names
    return count;
}
