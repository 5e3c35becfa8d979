/* TLS credentials of the HTTPS listener (GnuTLS through libmicrohttpd):
 * the server certificate chain and key, and the optional CA that client
 * certificates must chain to. libmicrohttpd cannot swap a certificate in a
 * running daemon, so the listener hands it a certificate callback instead
 * (MHD_OPTION_HTTPS_CERT_CALLBACK): each new handshake takes the credentials
 * that are current at that instant, and a SIGHUP only replaces which ones
 * are current. Connections already set up keep theirs: nothing is dropped.
 *
 * Library code: returns PP_* codes with detail in a pp_err, never logs. */
#ifndef PP_TLS_H
#define PP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/common.h"

struct pp_tls_creds;
struct MHD_Connection;

/* Read and check a PEM certificate chain (server certificate first), its
 * PEM private key and, when ca_file is not NULL or "", a PEM file of CA
 * certificates for client-certificate verification. Errors (PP_EINVAL /
 * PP_EIO / PP_ENOMEM) name the key and the file: "https.cert: PATH: no
 * PEM certificate in the file", "https.key: PATH does not match
 * https.cert", ... The result is owned by the caller (pp_tls_install or
 * pp_tls_creds_free). */
int pp_tls_load(const char *cert_file, const char *key_file, const char *ca_file,
		struct pp_tls_creds **out, struct pp_err *err);
void pp_tls_creds_free(struct pp_tls_creds *c);
/* The server certificate's serial number in hex and its expiry (UTC,
 * "2027-01-31T12:00:00Z"), for logs. Borrowed: lives as long as c. */
const char *pp_tls_serial(const struct pp_tls_creds *c);
const char *pp_tls_not_after(const struct pp_tls_creds *c);
bool pp_tls_has_client_ca(const struct pp_tls_creds *c);

/* Make c the credentials of every later handshake (takes ownership). The
 * ones it replaces stay allocated until pp_tls_shutdown: a connection set
 * up with them may still use them. Any thread. */
void pp_tls_install(struct pp_tls_creds *c);
/* The current credentials (borrowed, valid until pp_tls_shutdown), or NULL. */
struct pp_tls_creds *pp_tls_current(void);
/* Frees every installed credential: once no HTTPS connection is left. */
void pp_tls_shutdown(void);
/* The gnutls_certificate_retrieve_function2 for
 * MHD_OPTION_HTTPS_CERT_CALLBACK (typed void * here so that callers need
 * no GnuTLS header). */
void *pp_tls_cert_callback(void);

/* Client-certificate check of one request's connection against the
 * current client CA: PP_OK when the peer sent a chain that verifies for
 * TLS client use, else PP_EACCES with *why set to a static reason
 * ("no client certificate", "client certificate not trusted: ..."). */
int pp_tls_check_client(struct MHD_Connection *conn, const char **why);

#endif
