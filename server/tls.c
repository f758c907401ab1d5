/* SPDX-License-Identifier: Apache-2.0 */
/* The listener's certificate: loaded from PEM files, swapped on reload. */
#include "server/tls.h"

#include <gnutls/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/err.h"
#include "server/core/log.h"
#include "server/core/mem.h"

#define TLS_CHAIN_MAX 8

struct tls_set {
    struct tls_set *older;
    gnutls_pcert_st pcert[TLS_CHAIN_MAX];
    unsigned n;
    gnutls_privkey_t key;
};

struct ac_tls {
    char *cert_file, *key_file;
    struct tls_set *cur; /* and, through ->older, every set loaded before */
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ac_tls *tls_active; /* the one the callback serves */

static void tls_set_free(struct tls_set *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        gnutls_pcert_deinit(&s->pcert[i]);
    }
    if (s->key) {
        gnutls_privkey_deinit(s->key);
    }
    free(s);
}

/* Whether key is the private half of the leaf's public key. */
static bool tls_key_fits(gnutls_pcert_st *leaf, gnutls_privkey_t key)
{
    gnutls_pubkey_t pub;
    unsigned char a[64], b[64];
    size_t al = sizeof(a), bl = sizeof(b);
    bool ok;

    if (gnutls_pubkey_init(&pub) < 0) {
        return false;
    }
    ok = gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
         gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &al) >= 0 &&
         gnutls_pubkey_get_key_id(leaf->pubkey, GNUTLS_KEYID_USE_SHA256, b, &bl) >= 0 && al == bl &&
         memcmp(a, b, al) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* Reads both files into a new set; NULL (logged) on failure. */
static struct tls_set *tls_load(const char *cert_file, const char *key_file)
{
    struct tls_set *s = ac_xcalloc(1, sizeof(*s));
    gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
    const char *why = NULL;
    int rc;

    s->n = TLS_CHAIN_MAX;
    if (gnutls_load_file(cert_file, &cert) < 0) {
        why = "cannot read the certificate file";
    }
    else if (gnutls_load_file(key_file, &key) < 0) {
        why = "cannot read the key file";
    }
    else if ((rc = gnutls_pcert_list_import_x509_raw(s->pcert, &s->n, &cert, GNUTLS_X509_FMT_PEM,
                                                     0)) < 0 ||
             s->n == 0) {
        s->n = 0;
        why = "the certificate file holds no PEM certificate (or more than 8)";
    }
    else if (gnutls_privkey_init(&s->key) < 0 ||
             gnutls_privkey_import_x509_raw(s->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
        why = "the key file holds no unencrypted PEM private key";
    }
    else if (!tls_key_fits(&s->pcert[0], s->key)) {
        why = "the key does not belong to the certificate";
    }
    if (key.data) {
        gnutls_memset(key.data, 0, key.size);
        gnutls_free(key.data);
    }
    gnutls_free(cert.data);
    if (why) {
        ac_log(AC_LOG_ERROR, "tls", "%s (cert %s, key %s)", why, cert_file, key_file);
        tls_set_free(s);
        return NULL;
    }
    return s;
}

struct ac_tls *ac_tls_create(const char *cert_file, const char *key_file)
{
    struct ac_tls *t;
    struct tls_set *s = tls_load(cert_file, key_file);

    if (!s) {
        return NULL;
    }
    t = ac_xcalloc(1, sizeof(*t));
    t->cert_file = ac_xstrdup(cert_file);
    t->key_file = ac_xstrdup(key_file);
    t->cur = s;
    pthread_mutex_lock(&tls_lock);
    AC_ASSERT(tls_active == NULL);
    tls_active = t;
    pthread_mutex_unlock(&tls_lock);
    return t;
}

bool ac_tls_reload(struct ac_tls *t)
{
    struct tls_set *s = tls_load(t->cert_file, t->key_file);

    if (!s) {
        ac_log(AC_LOG_WARN, "tls", "still serving the certificate loaded before");
        return false;
    }
    pthread_mutex_lock(&tls_lock);
    s->older = t->cur;
    t->cur = s;
    pthread_mutex_unlock(&tls_lock);
    return true;
}

int ac_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    int rc = -1;

    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&tls_lock);
    if (tls_active) {
        *pcert = tls_active->cur->pcert;
        *pcert_length = tls_active->cur->n;
        *pkey = tls_active->cur->key;
        rc = 0;
    }
    pthread_mutex_unlock(&tls_lock);
    return rc;
}

char *ac_tls_subject(struct ac_tls *t)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t dn = {NULL, 0};
    char *out = NULL;

    if (gnutls_x509_crt_init(&crt) < 0) {
        return ac_xstrdup("?");
    }
    pthread_mutex_lock(&tls_lock);
    if (gnutls_x509_crt_import(crt, &t->cur->pcert[0].cert, GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
        out = ac_xstrndup((const char *)dn.data, dn.size);
    }
    pthread_mutex_unlock(&tls_lock);
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);
    return out ? out : ac_xstrdup("?");
}

void ac_tls_destroy(struct ac_tls *t)
{
    struct tls_set *s, *older;

    if (!t) {
        return;
    }
    pthread_mutex_lock(&tls_lock);
    if (tls_active == t) {
        tls_active = NULL;
    }
    pthread_mutex_unlock(&tls_lock);
    for (s = t->cur; s; s = older) {
        older = s->older;
        tls_set_free(s);
    }
    free(t->cert_file);
    free(t->key_file);
    free(t);
}
