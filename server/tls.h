/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listener's TLS certificate (libmicrohttpd over GnuTLS): a chain and
 * key read from PEM files, handed to each handshake by a callback, and
 * replaced on SIGHUP without a restart. A reload that fails (unreadable
 * file, a key that does not fit the certificate) keeps the certificate in
 * use and says why. Sets once loaded are kept until the server stops (a
 * handshake may be using one), which costs a few kilobytes per reload.
 */
#ifndef AC_SERVER_TLS_H
#define AC_SERVER_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>

struct ac_tls;

/* Loads cert_file (the chain, leaf first) and key_file. Returns new, or
 * NULL (logged). Only one may exist at a time (GnuTLS's callback has no
 * context). */
struct ac_tls *ac_tls_create(const char *cert_file, const char *key_file);
/* Reads both files again; false (logged, the old ones kept) on failure. */
bool ac_tls_reload(struct ac_tls *t);
/* For MHD_OPTION_HTTPS_CERT_CALLBACK: the set in use, at each handshake. */
int ac_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);
/* The subject of the certificate in use (new), for logs. */
char *ac_tls_subject(struct ac_tls *t);
void ac_tls_destroy(struct ac_tls *t);

#endif
