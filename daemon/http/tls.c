/* TLS credentials of the HTTPS listener: load and check a certificate
 * chain, its key and an optional client CA; hand the current ones to every
 * new handshake through GnuTLS's certificate callback; verify a client's
 * chain against the client CA. See tls.h and docs/http.md, "HTTPS". */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "lib/fs.h"
#include "tls.h"

#define TLS_CHAIN_MAX 16          /* certificates in https.cert at most */
#define TLS_PEER_CHAIN_MAX 8      /* a client's chain is verified up to this length */
#define TLS_FILE_MAX (1u << 20)   /* a PEM file larger than 1 MiB is a mistake */

struct pp_tls_creds {
	gnutls_pcert_st pcert[TLS_CHAIN_MAX];
	unsigned n_pcert;
	gnutls_privkey_t key;
	gnutls_x509_trust_list_t ca; /* NULL: client certificates are not checked */
	char serial[80];
	char not_after[32];
	struct pp_tls_creds *retired; /* the list of everything installed */
};

/* The credentials new handshakes use (the certificate callback has no
 * closure argument, and there is one HTTPS listener per process), and every
 * set ever installed, freed together at shutdown. */
static _Atomic(struct pp_tls_creds *) tls_current;
static _Atomic(struct pp_tls_creds *) tls_all;

void pp_tls_creds_free(struct pp_tls_creds *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n_pcert; i++)
		gnutls_pcert_deinit(&c->pcert[i]);
	if (c->key)
		gnutls_privkey_deinit(c->key);
	if (c->ca)
		gnutls_x509_trust_list_deinit(c->ca, 1);
	free(c);
}

static int read_pem(const char *what, const char *path, char **buf, size_t *len,
		    struct pp_err *err)
{
	int rc = pp_file_read(path, TLS_FILE_MAX, buf, len, err);

	if (rc == PP_ENOENT)
		pp_err_set(err, "%s: %s: no such file", what, path);
	else if (rc != PP_OK && rc != PP_ENOMEM) {
		struct pp_err inner = *err;

		pp_err_set(err, "%s: %s", what, inner.msg);
	}
	return rc == PP_ENOENT ? PP_EINVAL : rc;
}

/* The certificate's serial (hex) and expiry, for the start/reload logs. */
static void describe(struct pp_tls_creds *c)
{
	gnutls_x509_crt_t crt;
	unsigned char ser[40];
	size_t n = sizeof(ser);
	time_t t;
	struct tm tm;

	snprintf(c->serial, sizeof(c->serial), "?");
	snprintf(c->not_after, sizeof(c->not_after), "?");
	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &c->pcert[0].cert, GNUTLS_X509_FMT_DER) == 0) {
		if (gnutls_x509_crt_get_serial(crt, ser, &n) == 0) {
			size_t o = 0;

			for (size_t i = 0; i < n && o + 3 < sizeof(c->serial); i++)
				o += (size_t)snprintf(c->serial + o, sizeof(c->serial) - o, "%02x",
						      ser[i]);
		}
		t = gnutls_x509_crt_get_expiration_time(crt);
		if (t != (time_t)-1 && gmtime_r(&t, &tm))
			strftime(c->not_after, sizeof(c->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	gnutls_x509_crt_deinit(crt);
}

/* Does the private key belong to the first certificate? */
static bool key_matches(struct pp_tls_creds *c)
{
	unsigned char a[64], b[64];
	size_t na = sizeof(a), nb = sizeof(b);
	gnutls_pubkey_t pub;
	bool ok = false;

	if (gnutls_pubkey_init(&pub) < 0)
		return false;
	if (gnutls_pubkey_import_privkey(pub, c->key, 0, 0) == 0 &&
	    gnutls_pubkey_get_key_id(pub, 0, a, &na) == 0 &&
	    gnutls_pubkey_get_key_id(c->pcert[0].pubkey, 0, b, &nb) == 0)
		ok = na == nb && memcmp(a, b, na) == 0;
	gnutls_pubkey_deinit(pub);
	return ok;
}

int pp_tls_load(const char *cert_file, const char *key_file, const char *ca_file,
		struct pp_tls_creds **out, struct pp_err *err)
{
	struct pp_tls_creds *c = calloc(1, sizeof(*c));
	char *buf = NULL;
	size_t len = 0;
	gnutls_datum_t d;
	int rc = PP_EINVAL, g;

	*out = NULL;
	if (!c) {
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	if ((rc = read_pem("https.cert", cert_file, &buf, &len, err)) != PP_OK)
		goto fail;
	rc = PP_EINVAL;
	d.data = (unsigned char *)buf;
	d.size = (unsigned)len;
	c->n_pcert = TLS_CHAIN_MAX;
	g = gnutls_pcert_list_import_x509_raw(c->pcert, &c->n_pcert, &d, GNUTLS_X509_FMT_PEM, 0);
	if (g == GNUTLS_E_SHORT_MEMORY_BUFFER) {
		c->n_pcert = 0;
		pp_err_set(err, "https.cert: %s: more than %d certificates in the chain", cert_file,
			   TLS_CHAIN_MAX);
		goto fail;
	}
	if (g < 0 || c->n_pcert == 0) {
		c->n_pcert = 0;
		pp_err_set(err, "https.cert: %s: not a PEM certificate chain (%s)", cert_file,
			   g < 0 ? gnutls_strerror(g) : "no certificate");
		goto fail;
	}
	free(buf);
	buf = NULL;
	if ((rc = read_pem("https.key", key_file, &buf, &len, err)) != PP_OK)
		goto fail;
	rc = PP_EINVAL;
	d.data = (unsigned char *)buf;
	d.size = (unsigned)len;
	if (gnutls_privkey_init(&c->key) < 0) {
		rc = PP_ENOMEM;
		pp_err_set(err, "out of memory");
		goto fail;
	}
	g = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g < 0) {
		pp_err_set(err, "https.key: %s: not an unencrypted PEM private key (%s)", key_file,
			   gnutls_strerror(g));
		goto fail;
	}
	if (!key_matches(c)) {
		pp_err_set(err, "https.key: %s does not belong to the certificate in https.cert %s",
			   key_file, cert_file);
		goto fail;
	}
	free(buf);
	buf = NULL;
	if (ca_file && ca_file[0]) {
		if ((rc = read_pem("https.client_ca", ca_file, &buf, &len, err)) != PP_OK)
			goto fail;
		rc = PP_EINVAL;
		d.data = (unsigned char *)buf;
		d.size = (unsigned)len;
		if (gnutls_x509_trust_list_init(&c->ca, 0) < 0) {
			c->ca = NULL;
			rc = PP_ENOMEM;
			pp_err_set(err, "out of memory");
			goto fail;
		}
		g = gnutls_x509_trust_list_add_trust_mem(c->ca, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
		if (g <= 0) {
			pp_err_set(err, "https.client_ca: %s: no PEM CA certificate in the file%s%s",
				   ca_file, g < 0 ? ": " : "", g < 0 ? gnutls_strerror(g) : "");
			goto fail;
		}
		free(buf);
		buf = NULL;
	}
	describe(c);
	*out = c;
	return PP_OK;
fail:
	free(buf);
	pp_tls_creds_free(c);
	return rc;
}

const char *pp_tls_serial(const struct pp_tls_creds *c)
{
	return c->serial;
}

const char *pp_tls_not_after(const struct pp_tls_creds *c)
{
	return c->not_after;
}

bool pp_tls_has_client_ca(const struct pp_tls_creds *c)
{
	return c->ca != NULL;
}

void pp_tls_install(struct pp_tls_creds *c)
{
	struct pp_tls_creds *head = atomic_load(&tls_all);

	do
		c->retired = head;
	while (!atomic_compare_exchange_weak(&tls_all, &head, c));
	atomic_store(&tls_current, c);
}

struct pp_tls_creds *pp_tls_current(void)
{
	return atomic_load(&tls_current);
}

void pp_tls_shutdown(void)
{
	struct pp_tls_creds *c = atomic_exchange(&tls_all, NULL);

	atomic_store(&tls_current, NULL);
	while (c) {
		struct pp_tls_creds *next = c->retired;

		pp_tls_creds_free(c);
		c = next;
	}
}

/* gnutls_certificate_retrieve_function2: every server handshake asks here
 * which chain and key to present. GnuTLS does not free what it is given:
 * the set stays allocated until pp_tls_shutdown. */
static int cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
		   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		   gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct pp_tls_creds *c = atomic_load(&tls_current);

	(void)s;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!c)
		return -1; /* no certificate: the handshake fails */
	*pcert = c->pcert;
	*pcert_length = c->n_pcert;
	*pkey = c->key;
	return 0;
}

void *pp_tls_cert_callback(void)
{
	gnutls_certificate_retrieve_function2 *f = cert_cb;

	return (void *)f;
}

int pp_tls_check_client(struct MHD_Connection *conn, const char **why)
{
	struct pp_tls_creds *c = atomic_load(&tls_current);
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crts[TLS_PEER_CHAIN_MAX];
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
					  .data = (void *)GNUTLS_KP_TLS_WWW_CLIENT };
	unsigned n = 0, ok = 0, status = 0;
	int rc = PP_EACCES;

	*why = "";
	if (!c || !c->ca)
		return PP_OK;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session) {
		*why = "no TLS session";
		return PP_EACCES;
	}
	peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (!peers || n == 0) {
		*why = "no client certificate";
		return PP_EACCES;
	}
	if (n > TLS_PEER_CHAIN_MAX)
		n = TLS_PEER_CHAIN_MAX;
	for (ok = 0; ok < n; ok++) {
		if (gnutls_x509_crt_init(&crts[ok]) < 0)
			break;
		if (gnutls_x509_crt_import(crts[ok], &peers[ok], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[ok]);
			break;
		}
	}
	if (ok < n)
		*why = "client certificate unreadable";
	else if (gnutls_x509_trust_list_verify_crt2(c->ca, crts, n, &purpose, 1, 0, &status,
						     NULL) < 0)
		*why = "client certificate not verifiable";
	else if (status != 0)
		*why = "client certificate not trusted by https.client_ca";
	else
		rc = PP_OK;
	for (unsigned i = 0; i < ok; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return rc;
}
