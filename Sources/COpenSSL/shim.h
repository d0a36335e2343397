// The node controller's TLS: Debian's OpenSSL (libssl3), the library the
// node image updates with its packages. What Swift cannot call directly
// (macros, stacks) is wrapped here; no cryptography is written here.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/// Names the server for SNI (SSL_set_tlsext_host_name is a macro).
static inline int provisioner_tls_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// A client context: TLS 1.2 or later, the peer checked by
/// `provisioner_tls_verify_pinned` (not by a system trust store, which a
/// diskless node's site CA is not in), a close without close_notify read as
/// the end (the HTTP framing tells a cut answer). NULL when it cannot be made.
static inline SSL_CTX *provisioner_tls_client_context(void) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

/// The last OpenSSL error of this thread, as text (empty when none).
static inline void provisioner_tls_last_error(char *out, size_t len) {
    unsigned long e = ERR_get_error();
    if (len == 0) return;
    out[0] = 0;
    if (e != 0) ERR_error_string_n(e, out, len);
    ERR_clear_error();
}

/// Verifies the server of `ssl` after the handshake, before any request is
/// sent: one certificate of the chain it sent must have the SHA-256 `pin`
/// (32 bytes: the site CA the node was booted to trust); the leaf must chain
/// to it, be valid now, be meant for a TLS server, and name `host` (an IP
/// address or a DNS name).
/// Returns 0 when all of that holds, else -1 with the reason in `why`.
static inline int provisioner_tls_verify_pinned(SSL *ssl, const unsigned char *pin, const char *host, char *why, size_t whylen) {
    X509 *leaf = SSL_get1_peer_certificate(ssl);
    if (leaf == NULL) { snprintf(why, whylen, "the server sent no certificate"); return -1; }
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    X509 *anchor = NULL;
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (X509_digest(c, EVP_sha256(), md, &n) == 1 && n == 32 && CRYPTO_memcmp(md, pin, 32) == 0) { anchor = c; break; }
    }
    if (anchor == NULL) {
        X509_free(leaf);
        snprintf(why, whylen, "no certificate the server sent is the site CA this node trusts (provisioner.ca=)");
        return -1;
    }
    int rc = -1;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, anchor) != 1 || X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) {
        snprintf(why, whylen, "setting up the certificate check failed");
    } else {
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
        if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (X509_verify_cert(ctx) == 1) {
            rc = 0;
        } else {
            snprintf(why, whylen, "the server's certificate does not hold: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        }
    }
    if (ctx != NULL) X509_STORE_CTX_free(ctx);
    if (store != NULL) X509_STORE_free(store);
    X509_free(leaf);
    return rc;
}
