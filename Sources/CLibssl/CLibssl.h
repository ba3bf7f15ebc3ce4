// SPDX-License-Identifier: Apache-2.0
// System library target: lets SwiftPM find OpenSSL 3 (libssl, libcrypto) through pkg-config
// `openssl`. COpenSSL adds the qrs_ wrappers for what Swift cannot call (macros).
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
