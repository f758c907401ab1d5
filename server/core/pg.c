/* SPDX-License-Identifier: Apache-2.0 */
/* Connections, error classification and the read pool. */
#include "server/core/pg.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/core/log.h"
#include "server/core/mem.h"

static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    ac_log(AC_LOG_DEBUG, "pg", "notice: %s", msg);
}

/* The role every connection takes (SET ROLE at start-up), or "". Set once,
 * before the threads that connect start. */
static char pg_role[64];

void ac_pg_set_role(const char *role)
{
    (void)snprintf(pg_role, sizeof(pg_role), "%s", role ? role : "");
}

PGconn *ac_pg_connect(const char *dsn)
{
    return ac_pg_connect_opts(dsn, NULL);
}

PGconn *ac_pg_connect_opts(const char *dsn, const char *options)
{
    static const char *const keys[] = {"dbname", "options", "application_name", NULL};
    char opts[640];
    const char *vals[] = {dsn, opts, "alertcenter", NULL};
    PGconn *conn;

    (void)snprintf(opts, sizeof(opts), "-c synchronous_commit=on -c TimeZone=UTC%s%s %s",
                   *pg_role ? " -c role=" : "", pg_role, options ? options : "");

    /* expand_dbname=1: the dsn may be a full conninfo string or a URI. */
    conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        ac_log(AC_LOG_ERROR, "pg", "connect failed: %s",
               conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, pg_notice, NULL);
    return conn;
}

int ac_pg_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    int rc = AC_OK;
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        ac_log(AC_LOG_ERROR, "pg", "statement failed: %s", PQerrorMessage(conn));
        rc = AC_EDB;
    }
    PQclear(res);
    return rc;
}

bool ac_pg_is_conn_error(PGconn *conn, const PGresult *res)
{
    const char *state;

    if (PQstatus(conn) != CONNECTION_OK || !res) {
        return true;
    }
    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    /* Class 08: connection exception; 57P01..57P03: admin shutdown, crash, cannot connect. */
    return state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0);
}

const char *ac_pg_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return s ? s : "";
}

void ac_pg_array_add(struct ac_buf *b, const char *s)
{
    size_t n;
    char *w;

    if (!s) {
        ac_buf_appends(b, b->len == 0 ? "{NULL" : ",NULL");
        return;
    }
    /* room for the worst case: every byte escaped, the separator and quotes */
    n = strlen(s);
    ac_buf_reserve(b, 2 * n + 3);
    w = b->data + b->len;
    *w++ = b->len == 0 ? '{' : ',';
    *w++ = '"';
    for (;;) { /* runs without a quote or backslash copied whole */
        size_t run = strcspn(s, "\"\\");
        memcpy(w, s, run);
        w += run;
        s += run;
        if (!*s) {
            break;
        }
        *w++ = '\\';
        *w++ = *s++;
    }
    *w++ = '"';
    *w = '\0';
    b->len = (size_t)(w - b->data);
}

void ac_pg_array_add_i64(struct ac_buf *b, int64_t v, bool zero_is_null)
{
    char num[24];

    if (zero_is_null && v == 0) {
        ac_pg_array_add(b, NULL);
        return;
    }
    (void)snprintf(num, sizeof(num), "%lld", (long long)v);
    ac_pg_array_add(b, num);
}

void ac_pg_array_close(struct ac_buf *b)
{
    if (b->len == 0) {
        ac_buf_append(b, "{", 1);
    }
    ac_buf_append(b, "}", 1);
}

/* array_send's layout: ndim, has-nulls flag, element type, then per
 * dimension its length and lower bound; then each element as its length
 * (-1: NULL) and bytes. All integers big-endian. */
#define PG_BARRAY_FLAGS 4
#define PG_BARRAY_DIM   12
#define PG_BARRAY_HEAD  20
/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC). */
#define PG_EPOCH_US 946684800000000LL

static void pg_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t pg_get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ac_pg_barray_begin(struct ac_buf *b, uint32_t elem_oid)
{
    unsigned char h[PG_BARRAY_HEAD];

    pg_put_be32(h, 1);
    pg_put_be32(h + PG_BARRAY_FLAGS, 0);
    pg_put_be32(h + 8, elem_oid);
    pg_put_be32(h + PG_BARRAY_DIM, 0);
    pg_put_be32(h + 16, 1);
    b->len = 0;
    ac_buf_append(b, h, sizeof(h));
}

size_t ac_pg_barray_count(const struct ac_buf *b)
{
    return pg_get_be32((const unsigned char *)b->data + PG_BARRAY_DIM);
}

/* Counts an element and makes room for its n bytes and length word;
 * returns where the bytes go (the length word is written). */
static unsigned char *pg_barray_elem(struct ac_buf *b, int32_t n)
{
    unsigned char *w;

    AC_ASSERT(b->len >= PG_BARRAY_HEAD);
    pg_put_be32((unsigned char *)b->data + PG_BARRAY_DIM, (uint32_t)ac_pg_barray_count(b) + 1);
    if (n < 0) {
        pg_put_be32((unsigned char *)b->data + PG_BARRAY_FLAGS, 1);
    }
    ac_buf_reserve(b, 4 + (n > 0 ? (size_t)n : 0) + 1);
    w = (unsigned char *)b->data + b->len;
    pg_put_be32(w, (uint32_t)n);
    b->len += 4 + (n > 0 ? (size_t)n : 0);
    b->data[b->len] = '\0';
    return w + 4;
}

void ac_pg_barray_add_len(struct ac_buf *b, const char *s, size_t n)
{
    if (!s) {
        (void)pg_barray_elem(b, -1);
        return;
    }
    AC_ASSERT(n < (size_t)INT32_MAX);
    memcpy(pg_barray_elem(b, (int32_t)n), s, n);
}

void ac_pg_barray_add(struct ac_buf *b, const char *s)
{
    ac_pg_barray_add_len(b, s, s ? strlen(s) : 0);
}

void ac_pg_barray_add_jsonb(struct ac_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    unsigned char *w;

    if (!s) {
        (void)pg_barray_elem(b, -1);
        return;
    }
    AC_ASSERT(n < (size_t)INT32_MAX - 1);
    w = pg_barray_elem(b, (int32_t)n + 1);
    w[0] = 1; /* jsonb_recv: the format's version */
    memcpy(w + 1, s, n);
}

void ac_pg_barray_add_i64(struct ac_buf *b, int64_t v, bool zero_is_null)
{
    unsigned char *w;

    if (zero_is_null && v == 0) {
        (void)pg_barray_elem(b, -1);
        return;
    }
    w = pg_barray_elem(b, 8);
    pg_put_be32(w, (uint32_t)((uint64_t)v >> 32));
    pg_put_be32(w + 4, (uint32_t)(uint64_t)v);
}

void ac_pg_barray_add_i16(struct ac_buf *b, int v, bool zero_is_null)
{
    unsigned char *w;

    if (zero_is_null && v == 0) {
        (void)pg_barray_elem(b, -1);
        return;
    }
    AC_ASSERT(v >= INT16_MIN && v <= INT16_MAX);
    w = pg_barray_elem(b, 2);
    w[0] = (unsigned char)((unsigned)v >> 8);
    w[1] = (unsigned char)v;
}

void ac_pg_barray_add_time(struct ac_buf *b, int64_t us, bool zero_is_null)
{
    if (zero_is_null && us == 0) {
        (void)pg_barray_elem(b, -1);
        return;
    }
    ac_pg_barray_add_i64(b, us - PG_EPOCH_US, false);
}

struct ac_pg_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *dsn;
    PGconn **idle; /* connected, not in use */
    int nidle;
    int size;
    int out; /* handed out */
};

struct ac_pg_pool *ac_pg_pool_create(const char *dsn, int size)
{
    struct ac_pg_pool *p = ac_xcalloc(1, sizeof(*p));

    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->dsn = ac_xstrdup(dsn);
    p->size = size;
    p->idle = ac_xcalloc((size_t)size, sizeof(PGconn *));
    return p;
}

void ac_pg_pool_destroy(struct ac_pg_pool *p)
{
    if (!p) {
        return;
    }
    for (int i = 0; i < p->nidle; i++) {
        PQfinish(p->idle[i]);
    }
    free(p->idle);
    free(p->dsn);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

PGconn *ac_pg_pool_acquire(struct ac_pg_pool *p, int timeout_ms)
{
    struct timespec deadline;
    PGconn *conn = NULL;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (p->nidle == 0 && p->out >= p->size) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->lock);
            ac_log(AC_LOG_WARN, "pg", "pool exhausted size=%d", p->size);
            return NULL;
        }
    }
    if (p->nidle > 0) {
        conn = p->idle[--p->nidle];
    }
    p->out++;
    pthread_mutex_unlock(&p->lock);

    /* Connect outside the lock: it may take the whole connect_timeout. */
    if (conn && PQstatus(conn) != CONNECTION_OK) {
        PQreset(conn);
        if (PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = NULL;
        }
    }
    if (!conn) {
        conn = ac_pg_connect(p->dsn);
    }
    if (!conn) {
        pthread_mutex_lock(&p->lock);
        p->out--;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
    return conn;
}

void ac_pg_pool_release(struct ac_pg_pool *p, PGconn *conn)
{
    if (conn && (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)) {
        PQfinish(conn);
        conn = NULL;
    }
    pthread_mutex_lock(&p->lock);
    if (conn) {
        p->idle[p->nidle++] = conn;
    }
    p->out--;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void ac_pg_leader_drop(struct ac_pg_leader *l)
{
    PQfinish(l->conn);
    l->conn = NULL;
    l->leader = false;
}

bool ac_pg_lead(struct ac_pg_leader *l, const char *dsn)
{
    char key[16];
    const char *p[1] = {key};
    PGresult *res;

    if (l->conn && PQstatus(l->conn) != CONNECTION_OK) {
        ac_pg_leader_drop(l);
    }
    if (!l->conn && (l->conn = ac_pg_connect(dsn)) == NULL) {
        return false;
    }
    if (l->leader) {
        return true;
    }
    (void)snprintf(key, sizeof(key), "%d", l->key);
    res = PQexecParams(l->conn, "SELECT pg_try_advisory_lock(16707, $1::int)", 1, NULL, p, NULL,
                       NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't') {
        l->leader = true;
        ac_log(AC_LOG_INFO, "pg", "this instance %s", l->duty);
    }
    else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ac_pg_leader_drop(l);
    }
    PQclear(res);
    return l->leader;
}

PGresult *ac_pg_query_bin(PGconn *c, const char *component, const char *sql, int n,
                          const char *const *p, const int *lens, const int *fmts)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, p, lens, fmts, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        return res;
    }
    if (component) {
        ac_log(AC_LOG_WARN, component, "statement failed: %s", PQerrorMessage(c));
    }
    PQclear(res);
    return NULL;
}

PGresult *ac_pg_query(PGconn *c, const char *component, const char *sql, int n,
                      const char *const *p)
{
    return ac_pg_query_bin(c, component, sql, n, p, NULL, NULL);
}

PGresult *ac_pg_query_or(PGconn *c, const char *sql, int n, const char *const *p, PGresult **failed)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    *failed = NULL;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        return res;
    }
    *failed = res;
    return NULL;
}

bool ac_pg_run(PGconn *c, const char *component, const char *sql, int n, const char *const *p)
{
    PGresult *res = ac_pg_query(c, component, sql, n, p);

    PQclear(res);
    return res != NULL;
}

bool ac_pg_begin(PGconn *c, const char *component)
{
    return ac_pg_run(c, component, "BEGIN", 0, NULL);
}

bool ac_pg_commit(PGconn *c, const char *component)
{
    PGresult *res = ac_pg_query(c, component, "COMMIT", 0, NULL);
    /* COMMIT of a failed transaction answers ROLLBACK, without an error */
    bool ok = res && strcmp(PQcmdStatus(res), "COMMIT") == 0;

    PQclear(res);
    if (!ok) {
        ac_pg_rollback(c);
    }
    return ok;
}

void ac_pg_rollback(PGconn *c)
{
    if (c && PQtransactionStatus(c) != PQTRANS_IDLE && PQtransactionStatus(c) != PQTRANS_UNKNOWN) {
        PQclear(PQexec(c, "ROLLBACK"));
    }
}
