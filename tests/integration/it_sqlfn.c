/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQL functions and their C twins, on the test PostgreSQL:
 *   - the lock and member keys C computes (server/core/lockkey.h) equal the
 *     SQL functions' (ac_fp_lock_key, ac_type_lock_key, ac_member_key) over a
 *     set of inputs: if they drift, ingest and operators stop serializing;
 *   - migrations/functions.sql defines every function the migrated schema
 *     has, and migrate re-applies it when it changed (and only then);
 *   - the array literals the writer sends read back as the strings sent, and
 *     its binary arrays as the values sent;
 *   - the audit chain's canonical text is the one the chain began with;
 *   - the escalation timer's flush skips the windows of types a writer holds;
 *   - an alert inserted without its incident joins its group key's open
 *     incident or opens one (the row trigger); one inserted with its
 *     incident named (the writer's way) keeps it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/lockkey.h"
#include "server/core/mem.h"
#include "server/core/migrate.h"
#include "server/core/pg.h"
#include "tests/integration/harness.h"

static PGconn *db;

static int setup(void **state)
{
    char dsn[256];
    int applied = 0;

    (void)state;
    it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
    db = PQconnectdb(dsn);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    assert_int_equal(ac_migrate_run(db, &applied), 0);
    assert_true(applied > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(db);
    ac_lockkey_thread_done();
    return 0;
}

/* One bigint the query answers for the parameters (asserted). */
static long long q_ll(const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    long long v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    }
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* Inputs: ASCII, empty, UTF-8 (CJK, emoji), SQL and JSON metacharacters,
 * 128 characters, and generated ones. */
#define N_GEN 200
static const char *const fixed_inputs[] = {
    "",
    "PodSidecarNotReady",
    "ImagePullBackOff",
    "app-0001",
    "u:1",
    "type:",
    "a:b:c",
    "容器镜像拉取失败",
    "🔥 outage",
    "it's \"quoted\" \\ back",
    "  spaces  ",
    "x%_'; DROP",
    ("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
     "890123456789012345678901234567890123456789"), /* 128 characters */
};

static void test_sqlfn_lock_keys_equal(void **state)
{
    char buf[160], fp[65];
    const char *p[2];
    size_t nfixed = sizeof(fixed_inputs) / sizeof(fixed_inputs[0]);

    (void)state;
    srand(16707);
    for (size_t i = 0; i < nfixed + N_GEN; i++) {
        const char *in = buf;
        if (i < nfixed) {
            in = fixed_inputs[i];
        }
        else {
            snprintf(buf, sizeof(buf), "gen-%zu-%d-é%d", i, rand(), rand() % 1000);
        }
        p[0] = in;
        assert_int_equal(q_ll("SELECT ac_type_lock_key($1)", 1, p), ac_lockkey_type(in));
        p[0] = "a";
        p[1] = in;
        assert_int_equal(q_ll("SELECT ac_member_key($1, $2)", 2, p), ac_lockkey_member('a', in));
        p[0] = "u";
        assert_int_equal(q_ll("SELECT ac_member_key($1, $2)", 2, p), ac_lockkey_member('u', in));
        /* fingerprints are 64 lowercase hex digits; the high bit set makes
         * half of them negative keys */
        for (int k = 0; k < 64; k++) {
            fp[k] = "0123456789abcdef"[(unsigned)rand() % 16];
        }
        fp[64] = '\0';
        if (i == 0) {
            memset(fp, 'f', 64);
        }
        else if (i == 1) {
            memset(fp, '0', 64);
        }
        p[0] = fp;
        assert_int_equal(q_ll("SELECT ac_fp_lock_key($1)", 1, p), ac_lockkey_fp(fp));
    }
    /* the keys differ where the inputs do (a constant would pass the above
     * only if SQL returned the same constant) */
    assert_true(ac_lockkey_type("a") != ac_lockkey_type("b"));
    assert_true(ac_lockkey_member('a', "x") != ac_lockkey_member('u', "x"));
}

/* The array literal the writer sends its values in (ac_pg_array_add) reads
 * back in PostgreSQL as the same strings, in order, NULL as NULL: quotes,
 * backslashes, braces, commas, spaces, UTF-8 and a long run among them. */
static void test_sqlfn_array_literal(void **state)
{
    static const char *const more[] = {"{a,b}", "\\\"", "\"",        "\\",
                                       "NULL",  ",",    "x\"y\\z\"", "{\"k\": \"v \\\"q\\\"\"}"};
    size_t nfixed = sizeof(fixed_inputs) / sizeof(fixed_inputs[0]);
    size_t nmore = sizeof(more) / sizeof(more[0]);
    struct ac_buf b = {0};
    const char *p[1];
    PGresult *r;

    (void)state;
    for (size_t i = 0; i < nfixed + nmore; i++) {
        ac_pg_array_add(&b, i < nfixed ? fixed_inputs[i] : more[i - nfixed]);
        if (i == 3) {
            ac_pg_array_add(&b, NULL);
        }
    }
    ac_pg_array_close(&b);
    p[0] = b.data;
    r = PQexecParams(db,
                     "SELECT v, o FROM unnest($1::text[]) WITH ORDINALITY AS t(v, o) ORDER BY o", 1,
                     NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), (int)(nfixed + nmore + 1));
    for (int row = 0, i = 0; row < PQntuples(r); row++) {
        if (row == 4) {
            assert_true(PQgetisnull(r, row, 0));
            continue;
        }
        assert_false(PQgetisnull(r, row, 0));
        assert_string_equal(PQgetvalue(r, row, 0),
                            (size_t)i < nfixed ? fixed_inputs[i] : more[i - (int)nfixed]);
        i++;
    }
    PQclear(r);
    ac_buf_deinit(&b);
}

/* One binary array parameter (ac_pg_barray_*) into sql; the result, asserted ok. */
static PGresult *q_binary(const char *sql, const struct ac_buf *b, const char *text2)
{
    const char *v[2] = {b->data, text2};
    int len[2] = {(int)b->len, 0}, fmt[2] = {1, 0};
    PGresult *r = PQexecParams(db, sql, text2 ? 2 : 1, NULL, v, len, fmt, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    }
    return r;
}

/* The binary arrays the writer sends its largest statements' rows in
 * (ac_pg_barray_*) read back in PostgreSQL as the values sent, in order,
 * NULL as NULL, for every element type it uses (the next three tests): text,
 * bigint and smallint here. */
static void test_sqlfn_binary_text_and_integers(void **state)
{
    static const int64_t i64s[] = {1, -1, INT64_MIN, INT64_MAX, 1234567890123LL};
    static const int i16s[] = {-32768, 32767, 7, -1};
    size_t nfixed = sizeof(fixed_inputs) / sizeof(fixed_inputs[0]);
    struct ac_buf b = {0};
    char want[32];
    PGresult *r;

    (void)state;
    /* text, a NULL among them */
    ac_pg_barray_begin(&b, AC_PG_OID_TEXT);
    for (size_t i = 0; i < nfixed; i++) {
        ac_pg_barray_add(&b, fixed_inputs[i]);
        if (i == 2) {
            ac_pg_barray_add(&b, NULL);
        }
    }
    assert_int_equal(ac_pg_barray_count(&b), nfixed + 1);
    r = q_binary("SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, o) ORDER BY o", &b,
                 NULL);
    assert_int_equal(PQntuples(r), (int)nfixed + 1);
    for (int row = 0, i = 0; row < PQntuples(r); row++) {
        if (row == 3) {
            assert_true(PQgetisnull(r, row, 0));
            continue;
        }
        assert_string_equal(PQgetvalue(r, row, 0), fixed_inputs[i++]);
    }
    PQclear(r);

    /* bigint, zero as NULL */
    ac_pg_barray_begin(&b, AC_PG_OID_INT8);
    ac_pg_barray_add_i64(&b, 0, true);
    for (size_t i = 0; i < sizeof(i64s) / sizeof(i64s[0]); i++) {
        ac_pg_barray_add_i64(&b, i64s[i], true);
    }
    ac_pg_barray_add_i64(&b, 0, false);
    r = q_binary("SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS t(v, o) ORDER BY o", &b,
                 NULL);
    assert_int_equal(PQntuples(r), 7);
    assert_true(PQgetisnull(r, 0, 0));
    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "%lld", (long long)i64s[i]);
        assert_string_equal(PQgetvalue(r, i + 1, 0), want);
    }
    assert_string_equal(PQgetvalue(r, 6, 0), "0");
    PQclear(r);

    /* smallint */
    ac_pg_barray_begin(&b, AC_PG_OID_INT2);
    for (size_t i = 0; i < sizeof(i16s) / sizeof(i16s[0]); i++) {
        ac_pg_barray_add_i16(&b, i16s[i], true);
    }
    ac_pg_barray_add_i16(&b, 0, true);
    r = q_binary("SELECT v FROM unnest($1::smallint[]) WITH ORDINALITY AS t(v, o) ORDER BY o", &b,
                 NULL);
    assert_int_equal(PQntuples(r), 5);
    for (int i = 0; i < 4; i++) {
        snprintf(want, sizeof(want), "%d", i16s[i]);
        assert_string_equal(PQgetvalue(r, i, 0), want);
    }
    assert_true(PQgetisnull(r, 4, 0));
    PQclear(r);

    ac_buf_deinit(&b);
}

/* Timestamps, to the microsecond, before 1970 and 1900 too. */
static void test_sqlfn_binary_timestamps(void **state)
{
    /* Unix microseconds: the epoch, PostgreSQL's, just before the Unix
     * epoch, a microsecond precision date, one before 1900 */
    static const int64_t times[] = {1, 946684800000000LL, -1, 1796000000123456LL,
                                    -2500000000000001LL};
    struct ac_buf b = {0};
    char want[32];
    PGresult *r;

    (void)state;
    /* timestamptz: the same instant, to the microsecond */
    ac_pg_barray_begin(&b, AC_PG_OID_TIMESTAMPTZ);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        ac_pg_barray_add_time(&b, times[i], true);
    }
    ac_pg_barray_add_time(&b, 0, true);
    r = q_binary("SELECT (extract(epoch FROM v) * 1000000)::bigint FROM unnest($1::timestamptz[])"
                 " WITH ORDINALITY AS t(v, o) ORDER BY o",
                 &b, NULL);
    assert_int_equal(PQntuples(r), 6);
    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "%lld", (long long)times[i]);
        assert_string_equal(PQgetvalue(r, i, 0), want);
    }
    assert_true(PQgetisnull(r, 5, 0));
    PQclear(r);

    ac_buf_deinit(&b);
}

/* json and jsonb; bad JSON is still refused; an empty array is empty. */
static void test_sqlfn_binary_json(void **state)
{
    static const char *const docs[] = {"{\"a\":1}", "[1,2.50,\"x\"]",
                                       "{\"t\":\"容器 🔥 \\\"q\\\" \\\\ \\n\",\"n\":null}", "\"s\"",
                                       "{\"b\": {\"a\": [true, false]}, \"a\": 1e3}"};
    size_t ndocs = sizeof(docs) / sizeof(docs[0]);
    struct ac_buf b = {0}, t = {0};
    PGresult *r;

    (void)state;
    /* json keeps its text; jsonb equals the same text parsed */
    ac_pg_barray_begin(&b, AC_PG_OID_JSON);
    ac_buf_deinit(&t);
    for (size_t i = 0; i < ndocs; i++) {
        ac_pg_barray_add(&b, docs[i]);
        ac_pg_array_add(&t, docs[i]);
    }
    ac_pg_array_close(&t);
    r = q_binary("SELECT v::text FROM unnest($1::json[]) WITH ORDINALITY AS t(v, o) ORDER BY o", &b,
                 NULL);
    assert_int_equal(PQntuples(r), (int)ndocs);
    for (int i = 0; i < (int)ndocs; i++) {
        assert_string_equal(PQgetvalue(r, i, 0), docs[i]);
    }
    PQclear(r);
    ac_pg_barray_begin(&b, AC_PG_OID_JSONB);
    for (size_t i = 0; i < ndocs; i++) {
        ac_pg_barray_add_jsonb(&b, docs[i]);
    }
    ac_pg_barray_add_jsonb(&b, NULL);
    r = q_binary("SELECT count(*) FILTER (WHERE v = j::jsonb), count(*) FILTER (WHERE v IS NULL)"
                 " FROM unnest($1::jsonb[], $2::text[]) AS x(v, j)",
                 &b, t.data);
    assert_string_equal(PQgetvalue(r, 0, 0), "5");
    assert_string_equal(PQgetvalue(r, 0, 1), "1");
    PQclear(r);

    /* bad JSON is refused as from text, and an empty array is empty */
    ac_pg_barray_begin(&b, AC_PG_OID_JSON);
    ac_pg_barray_add(&b, "{\"a\":");
    {
        const char *v[1] = {b.data};
        int len[1] = {(int)b.len}, fmt[1] = {1};
        r = PQexecParams(db, "SELECT cardinality($1::json[])", 1, NULL, v, len, fmt, 0);
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_string_equal(ac_pg_sqlstate(r), "22P02");
        PQclear(r);
    }
    ac_pg_barray_begin(&b, AC_PG_OID_TEXT);
    r = q_binary("SELECT cardinality($1::text[])", &b, NULL);
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    ac_buf_deinit(&b);
    ac_buf_deinit(&t);
}

/* One row of text from db (asserted), "" for none. */
static char *q_text(const char *sql)
{
    PGresult *r = PQexec(db, sql);
    char *v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    }
    v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return v;
}

/* The escalation timer's flush skips a window whose type a writer has locked
 * (its transaction begun, its count not yet made): a flush in between would
 * be half seen by that count. The next flush, once the lock is gone, moves
 * the events. */
static void test_sqlfn_flush_skips_held_types(void **state)
{
    char dsn[256], *v;
    PGconn *writer;
    PGresult *r;

    (void)state;
    it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
    writer = PQconnectdb(dsn);
    assert_int_equal(PQstatus(writer), CONNECTION_OK);
    PQclear(PQexec(db, "INSERT INTO esc_windows (type, trace, events) VALUES"
                       " ('ItFlushFree', 'data', 5), ('ItFlushHeld', 'data', 7)"));
    r = PQexec(writer, "BEGIN; SELECT pg_advisory_xact_lock(ac_type_lock_key('ItFlushHeld'))");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    assert_int_equal(q_ll("SELECT ac_esc_flush()", 0, NULL), 1); /* the free one */
    v = q_text("SELECT string_agg(type || '=' || events, ',' ORDER BY type) FROM esc_buckets"
               " WHERE type LIKE 'ItFlush%'");
    assert_string_equal(v, "ItFlushFree=5");
    free(v);
    PQclear(PQexec(writer, "COMMIT"));
    assert_int_equal(q_ll("SELECT ac_esc_flush()", 0, NULL), 1); /* the held one, now free */
    v = q_text("SELECT string_agg(type || '=' || events, ',' ORDER BY type) FROM esc_buckets"
               " WHERE type LIKE 'ItFlush%'");
    assert_string_equal(v, "ItFlushFree=5,ItFlushHeld=7");
    free(v);
    PQfinish(writer);
}

/* The audit chain's canonical text is what jsonb_build_array(...)::text
 * gave when the chain began (the form it is now written in differs): chains
 * made before still verify. Entries with escapes, UTF-8, nested and unordered
 * objects, exact numbers and NULLs. */
static void test_sqlfn_audit_canonical_unchanged(void **state)
{
    (void)state;
    PQclear(PQexec(db, "INSERT INTO audit_log (actor, action, target_type, target_id, details,"
                       " before, after) VALUES"
                       " ('ü \"q\" \\ x', 'a.b', NULL, 'é\u2028',"
                       " '{\"z\": 1, \"a\": [1.50, \"x\", null, true, -0.0, 1e3],"
                       " \"n\": {\"k\": \"\\u00e9\\t\\u0001\"}}', '{\"status\": \"open\"}', NULL),"
                       " ('sqlfn', 'alert.open', 'alert', '42', '{}', NULL, '[]'),"
                       " ('容器', 'x', 't', '', NULL, '\"s\"', '{\"emoji\": \"🔥\"}')"));
    assert_int_equal(q_ll("SELECT count(*) FROM audit_log l WHERE l.actor IN"
                          " ('ü \"q\" \\ x', 'sqlfn', '容器') AND ac_audit_canonical(7, l) ="
                          " jsonb_build_array(7::bigint, l.id::text, ac_rfc3339(l.at), l.actor,"
                          " l.action, l.target_type, l.target_id, l.details, l.before,"
                          " l.after)::text",
                          0, NULL),
                     3);
}

/* The text of migrations/functions.sql (new). */
static char *functions_sql(void)
{
    FILE *f = fopen(AC_SOURCE_DIR "/migrations/functions.sql", "rb");
    char *s = calloc(1, 1 << 20);
    size_t n;

    assert_non_null(f);
    assert_non_null(s);
    n = fread(s, 1, (1 << 20) - 1, f);
    fclose(f);
    assert_true(n > 0);
    return s;
}

static void test_sqlfn_every_function_in_one_file(void **state)
{
    char *text = functions_sql(), def[160];
    PGresult *r;
    int n;

    (void)state;
    /* the embedded copy is the file */
    assert_int_equal(strlen(text), ac_sql_functions.len);
    assert_memory_equal(text, ac_sql_functions.sql, ac_sql_functions.len);
    r = PQexec(db, "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                   " WHERE n.nspname = 'public' ORDER BY 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    n = PQntuples(r);
    assert_true(n >= 20);
    for (int i = 0; i < n; i++) {
        snprintf(def, sizeof(def), "CREATE OR REPLACE FUNCTION %s(", PQgetvalue(r, i, 0));
        if (!strstr(text, def)) {
            fail_msg("function %s is not defined in migrations/functions.sql", PQgetvalue(r, i, 0));
        }
    }
    PQclear(r);
    /* and each definition there is one the schema has */
    for (const char *s = text; (s = strstr(s, "CREATE OR REPLACE FUNCTION ")); s++) {
        const char *name = s + strlen("CREATE OR REPLACE FUNCTION ");
        size_t len = strcspn(name, "(");
        const char *p[1];
        snprintf(def, sizeof(def), "%.*s", (int)len, name);
        p[0] = def;
        if (strchr(def, ' ')) {
            continue; /* the header's prose */
        }
        assert_int_equal(q_ll("SELECT count(*) FROM pg_proc WHERE proname = $1", 1, p), 1);
    }
    free(text);
}

/* How histories show addresses (ac_mask_address), masked and not. */
static void test_sqlfn_mask_address(void **state)
{
    static const char *const cases[][3] = {
        {"+8613800000001", "true", "+86*******0001"},
        {"alice@example.com", "true", "a****@example.com"},
        {"a@example.com", "true", "a*@example.com"},
        {"12345", "true", "***45"},
        {"+8613800000001", "false", "+8613800000001"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p[2] = {cases[i][0], cases[i][1]};
        PGresult *r =
            PQexecParams(db, "SELECT ac_mask_address($1, $2::boolean)", 2, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), cases[i][2]);
        PQclear(r);
    }
}

static void test_sqlfn_incident_trigger(void **state)
{
    static const char ins[] =
        "INSERT INTO alerts (fingerprint, type, source, trace, level, initial_level, status, count,"
        " first_seen, last_seen, created_at, updated_at, last_event_id, group_key, incident_id)"
        " VALUES ($1, 'SqlfnTrig', 'probe', 'data', 'P3', 'P3', 'firing', 1, now(), now(), now(),"
        " now(), 0, 'g1', $2::bigint) RETURNING incident_id";
    const char *p1[2] = {"sqlfn-trig-1", NULL}, *p2[2] = {"sqlfn-trig-2", NULL};
    char named[32];
    long long opened, incidents;

    (void)state;
    /* without an incident: the trigger opens the group key's */
    opened = q_ll(ins, 2, p1);
    assert_true(opened > 0);
    assert_int_equal(q_ll("SELECT alerts * 1000 + open_alerts FROM incidents"
                          " WHERE group_key = 'SqlfnTrig' || chr(31) || 'g1'",
                          0, NULL),
                     1001);
    incidents = q_ll("SELECT count(*) FROM incidents", 0, NULL);
    /* named: kept as it is, no incident touched or made */
    (void)snprintf(named, sizeof(named), "%lld", opened);
    p2[1] = named;
    assert_int_equal(q_ll(ins, 2, p2), opened);
    assert_int_equal(q_ll("SELECT alerts * 1000 + open_alerts FROM incidents"
                          " WHERE group_key = 'SqlfnTrig' || chr(31) || 'g1'",
                          0, NULL),
                     1001);
    assert_int_equal(q_ll("SELECT count(*) FROM incidents", 0, NULL), incidents);
}

static void test_sqlfn_reapplied_when_changed(void **state)
{
    int applied = -1;
    long long before;

    (void)state;
    /* unchanged: nothing is applied again */
    before = q_ll("SELECT extract(epoch FROM applied_at) * 1000000 FROM schema_migrations"
                  " WHERE name = 'functions.sql'",
                  0, NULL);
    assert_int_equal(ac_migrate_run(db, &applied), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(q_ll("SELECT extract(epoch FROM applied_at) * 1000000 FROM"
                          " schema_migrations WHERE name = 'functions.sql'",
                          0, NULL),
                     before);
    /* a database whose functions are older than the file gets the file's:
     * a drifted lock key comes back (the checksum says it last received
     * another text) */
    PQclear(PQexec(db, "CREATE OR REPLACE FUNCTION ac_type_lock_key(t text) RETURNS bigint"
                       " LANGUAGE sql IMMUTABLE AS $$ SELECT 42::bigint $$"));
    PQclear(PQexec(db, "UPDATE schema_migrations SET checksum = 'old'"
                       " WHERE name = 'functions.sql'"));
    assert_int_equal(q_ll("SELECT ac_type_lock_key('x')", 0, NULL), 42);
    assert_int_equal(ac_migrate_run(db, &applied), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(q_ll("SELECT ac_type_lock_key('x')", 0, NULL), ac_lockkey_type("x"));
    assert_int_equal(q_ll("SELECT count(*) FROM schema_migrations WHERE name = 'functions.sql'"
                          " AND checksum <> 'old'",
                          0, NULL),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlfn_lock_keys_equal),
        cmocka_unit_test(test_sqlfn_every_function_in_one_file),
        cmocka_unit_test(test_sqlfn_mask_address),
        cmocka_unit_test(test_sqlfn_incident_trigger),
        cmocka_unit_test(test_sqlfn_flush_skips_held_types),
        cmocka_unit_test(test_sqlfn_array_literal),
        cmocka_unit_test(test_sqlfn_binary_text_and_integers),
        cmocka_unit_test(test_sqlfn_binary_timestamps),
        cmocka_unit_test(test_sqlfn_binary_json),
        cmocka_unit_test(test_sqlfn_audit_canonical_unchanged),
        cmocka_unit_test(test_sqlfn_reapplied_when_changed),
    };
    int rc;

    it_init("sqlfn");
    rc = cmocka_run_group_tests_name("integration_sqlfn", tests, setup, teardown);
    it_fini();
    return rc;
}
