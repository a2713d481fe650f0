#include "net/tls.h"

#include "obs/stats.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tls_ctx {
    SSL_CTX *ssl;
};

/* TLS 1.2 suites: ECDHE key exchange and AEAD only (TLS 1.3's defaults already are). */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

/* ALPN wire format: length-prefixed names, ours in order of preference. */
static const unsigned char alpn_protos[] = "\x02h2\x08http/1.1";

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, alpn_protos, sizeof(alpn_protos) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* no overlap: carry on without ALPN (HTTP/1.1) */
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

static void openssl_reason(char *out, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(out, len, "%s", reason ? reason : "unknown error");
    ERR_clear_error();
}

static int load_files(SSL_CTX *ssl, const char *cert_file, const char *key_file, char *err,
                      size_t errlen)
{
    char why[160];
    if (SSL_CTX_use_certificate_chain_file(ssl, cert_file) != 1) {
        openssl_reason(why, sizeof(why));
        snprintf(err, errlen, "TLS_CERT \"%s\": not a usable PEM certificate chain (%s)", cert_file,
                 why);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ssl, key_file, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            snprintf(err, errlen, "TLS_KEY \"%s\" does not match the certificate in TLS_CERT \"%s\"",
                     key_file, cert_file);
            return -1;
        }
        openssl_reason(why, sizeof(why));
        snprintf(err, errlen, "TLS_KEY \"%s\": not a usable PEM private key (%s)", key_file, why);
        return -1;
    }
    return 0;
}

struct tls_ctx *tls_ctx_create(const char *cert_file, const char *key_file, char *err,
                               size_t errlen)
{
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (!ssl) {
        snprintf(err, errlen, "TLS: cannot create an OpenSSL context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ssl, TLS1_3_VERSION);
    SSL_CTX_set_cipher_list(ssl, TLS12_CIPHERS);
    SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* Retrying a write with a buffer that grew or moved is fine; idle connections give their
       buffers back. */
    SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_alpn_select_cb(ssl, select_alpn, NULL);
    if (load_files(ssl, cert_file, key_file, err, errlen) < 0) {
        SSL_CTX_free(ssl);
        return NULL;
    }
    struct tls_ctx *ctx = malloc(sizeof(*ctx));
    if (!ctx) {
        SSL_CTX_free(ssl);
        snprintf(err, errlen, "TLS: out of memory");
        return NULL;
    }
    ctx->ssl = ssl;
    return ctx;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx->ssl);
    if (!ssl)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return (struct tls_conn *)ssl;
}

void tls_conn_free(struct tls_conn *t)
{
    SSL_free((SSL *)t);
}

/* Maps an OpenSSL result to the read(2) convention. */
static ssize_t io_result(SSL *ssl, int n)
{
    if (n > 0)
        return n;
    switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

int tls_handshake(struct tls_conn *t)
{
    SSL *ssl = (SSL *)t;
    int n = SSL_do_handshake(ssl);
    if (n == 1) {
        stats_count_tls_handshake(true);
        return 1;
    }
    /* Only a TLS error is a failed handshake: a peer that closes first (a TCP health check,
       a port scan) is not. Asked before io_result() clears OpenSSL's error queue. */
    bool refused = SSL_get_error(ssl, n) == SSL_ERROR_SSL &&
                   ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING;
    if (io_result(ssl, n) < 0 && errno == EAGAIN)
        return 0;
    if (refused)
        stats_count_tls_handshake(false);
    return -1;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t len)
{
    SSL *ssl = (SSL *)t;
    return io_result(ssl, SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len));
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len)
{
    SSL *ssl = (SSL *)t;
    return io_result(ssl, SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len));
}

void tls_shutdown(struct tls_conn *t)
{
    SSL_shutdown((SSL *)t);
    ERR_clear_error();
}

bool tls_alpn_h2(const struct tls_conn *t)
{
    const unsigned char *proto;
    unsigned len;
    SSL_get0_alpn_selected((const SSL *)t, &proto, &len);
    return len == 2 && memcmp(proto, "h2", 2) == 0;
}

const char *tls_version(const struct tls_conn *t)
{
    return SSL_get_version((const SSL *)t);
}
