/*
 * TLS with OpenSSL 3, non-blocking inside the event loop: TLS 1.2 and 1.3 only, forward-secret
 * AEAD ciphers for 1.2 (1.3 has only such suites), ALPN "h2" then "http/1.1", session tickets,
 * no renegotiation. Reads and writes follow read(2)/write(2): -1 with errno EAGAIN means "try
 * again when the socket is ready" (whichever direction OpenSSL needs).
 */
#ifndef KILN_NET_TLS_H
#define KILN_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tls_ctx;
struct tls_conn;

/* Loads the certificate chain and key. NULL with one line in `err` when they are unusable. */
struct tls_ctx *tls_ctx_create(const char *cert_file, const char *key_file, char *err,
                               size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd);
void tls_conn_free(struct tls_conn *t);

/* 1 = handshake done, 0 = in progress (wait for the socket), -1 = failed. */
int tls_handshake(struct tls_conn *t);
/* > 0 bytes, 0 = the peer closed, -1 with errno (EAGAIN: wait). */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len);
ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len);
/* Sends close_notify (best effort). */
void tls_shutdown(struct tls_conn *t);

/* The protocol chosen by ALPN is "h2". */
bool tls_alpn_h2(const struct tls_conn *t);
/* The negotiated version, OpenSSL's name: "TLSv1.3" or "TLSv1.2" (a static string). */
const char *tls_version(const struct tls_conn *t);

#endif
