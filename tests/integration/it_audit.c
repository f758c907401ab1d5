/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of the audit log (issue 17): GET /v1/audit with its
 * filters and paging, before/after of configuration changes, the hash
 * chain across two instances appending at once, `alertcenter audit
 * verify`, the grants of serve's role, and a superuser's edit found.
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

#include "tests/integration/harness.h"

static struct it_server srv, srv2;

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    it_server_start(&srv2, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv2), 0);
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* `alertcenter audit verify` on the suite's database: its exit status and
 * output (new) in *out. */
static int verify(char **out)
{
    char cmd[768], dsn[256];

    it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
    snprintf(cmd, sizeof(cmd), "AC_PG_DSN='%s' %s audit verify", dsn, getenv("AC_TEST_BINARY"));
    return it_run(cmd, out);
}

/* A rule created, updated and deleted: three entries with actor, object,
 * before and after; filters and paging select them. */
static void test_audit_before_after_and_filters(void **state)
{
    char path[160], *id;
    json_t *page, *e, *r = NULL;
    const char *cursor;
    int n = 0;

    (void)state;
    id = it_create(&srv, "/v1/rules",
                   "{\"name\":\"it-audit-drop\",\"action\":\"drop\",\"matchers\":[{\"name\":"
                   "\"type\",\"op\":\"=\",\"value\":\"ItAuditNoise\"}]}");
    snprintf(path, sizeof(path), "/v1/rules/%s", id);
    assert_int_equal(it_req(&srv, "PUT", path,
                            "{\"name\":\"it-audit-drop2\",\"action\":\"drop\",\"matchers\":[{"
                            "\"name\":\"type\",\"op\":\"=\",\"value\":\"ItAuditNoise\"}]}",
                            &r),
                     200);
    json_decref(r);
    assert_int_equal(it_req(&srv, "DELETE", path, NULL, &r), 200);
    json_decref(r);

    snprintf(path, sizeof(path), "/v1/audit?target_type=rule&target_id=%s", id);
    page = it_get(&srv, path);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 3);
    e = json_array_get(json_object_get(page, "items"), 0); /* newest first */
    assert_string_equal(str(e, "action"), "rule.delete");
    assert_string_equal(str(e, "actor"), "token:admin");
    assert_string_equal(str(json_object_get(e, "before"), "name"), "it-audit-drop2");
    assert_true(json_is_null(json_object_get(e, "after")));
    e = json_array_get(json_object_get(page, "items"), 1);
    assert_string_equal(str(e, "action"), "rule.update");
    assert_string_equal(str(json_object_get(e, "before"), "name"), "it-audit-drop");
    assert_string_equal(str(json_object_get(e, "after"), "name"), "it-audit-drop2");
    e = json_array_get(json_object_get(page, "items"), 2);
    assert_string_equal(str(e, "action"), "rule.create");
    assert_true(json_is_null(json_object_get(e, "before")));
    assert_string_equal(str(json_object_get(e, "after"), "name"), "it-audit-drop");
    /* each carries its chain link */
    assert_int_equal(strlen(str(json_object_get(e, "chain"), "hash")), 64);
    json_decref(page);

    page = it_get(&srv, "/v1/audit?action=rule.update&actor=token:admin");
    assert_true(json_array_size(json_object_get(page, "items")) >= 1);
    json_decref(page);
    page = it_get(&srv, "/v1/audit?target_type=rule&until=2000-01-01T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);
    page = it_get(&srv, "/v1/audit?actor=nobody");
    assert_int_equal(json_array_size(json_object_get(page, "items")), 0);
    json_decref(page);

    /* paging: one entry a page, three pages */
    snprintf(path, sizeof(path), "/v1/audit?target_type=rule&target_id=%s&limit=1", id);
    page = it_get(&srv, path);
    while (page) {
        char next[512];
        n += (int)json_array_size(json_object_get(page, "items"));
        cursor = str(page, "next_cursor");
        if (!cursor) {
            json_decref(page);
            break;
        }
        snprintf(next, sizeof(next), "/v1/audit?target_type=rule&target_id=%s&limit=1&cursor=%s",
                 id, cursor);
        json_decref(page);
        page = it_get(&srv, next);
    }
    assert_int_equal(n, 3);
    free(id);
}

/* An incident's own state changes are audited: opened by the pipeline,
 * acknowledged as a consequence of its last firing alert's ack (by that
 * person), resolved when its alerts are; a person's resolve is one entry,
 * not two. */
static void test_audit_incident_state_changes(void **state)
{
    json_t *r, *page;
    char path[160], *acts;
    const char *id;
    long long inc;

    (void)state;
    r = it_post_events(&srv, "{\"source\":\"probe\",\"type\":\"ItAuditInc\",\"title\":\"t\"}", 200);
    id = str(json_array_get(json_object_get(r, "items"), 0), "alert_id");
    inc = it_sql_llf("SELECT incident_id FROM alerts WHERE id = %s", id);
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    assert_int_equal(it_req(&srv, "POST", path, "{\"by\":\"bo\"}", NULL), 200);
    json_decref(it_post_events(
        &srv,
        "{\"source\":\"probe\",\"type\":\"ItAuditInc\",\"title\":\"t\",\"status\":\"resolved\"}",
        200));
    snprintf(path, sizeof(path), "/v1/audit?target_type=incident&target_id=%lld", inc);
    page = it_get(&srv, path);
    {
        json_t *tmp = json_pack("{s:O}", "timeline", json_object_get(page, "items"));
        acts = it_timeline_actions(tmp);
        json_decref(tmp);
    }
    assert_string_equal(acts, "incident.resolved,incident.acknowledged,incident.opened");
    free(acts);
    assert_string_equal(str(json_array_get(json_object_get(page, "items"), 1), "actor"), "user:bo");
    assert_string_equal(
        str(json_object_get(json_array_get(json_object_get(page, "items"), 0), "after"), "status"),
        "resolved");
    json_decref(page);
    json_decref(r);

    /* a person's resolve: the one entry that says who */
    r = it_post_events(&srv, "{\"source\":\"probe\",\"type\":\"ItAuditInc2\",\"title\":\"t\"}",
                       200);
    inc = it_sql_llf("SELECT incident_id FROM alerts WHERE id = %s",
                     str(json_array_get(json_object_get(r, "items"), 0), "alert_id"));
    snprintf(path, sizeof(path), "/v1/incidents/%lld/resolve", inc);
    assert_int_equal(it_req(&srv, "POST", path, "{\"by\":\"cy\"}", NULL), 200);
    snprintf(path, sizeof(path), "/v1/audit?target_type=incident&target_id=%lld", inc);
    page = it_get(&srv, path);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
    assert_string_equal(str(json_array_get(json_object_get(page, "items"), 0), "action"),
                        "incident.resolve");
    assert_string_equal(str(json_array_get(json_object_get(page, "items"), 0), "actor"), "user:cy");
    json_decref(page);
    json_decref(r);
}

/* Two instances append at once (rules through both, alerts opened through
 * both): every entry is in one unbroken chain, and verify says so. */
static void test_audit_chain_two_instances(void **state)
{
    char cmd[2048], *out = NULL;
    long long entries, links, seqs;

    (void)state;
    snprintf(cmd, sizeof(cmd),
             "for s in %d %d; do for i in $(seq 1 40); do"
             " echo \"$s $i\"; done; done | xargs -P 8 -n 2 sh -c 'curl -fsS -o /dev/null"
             " -H \"Authorization: Bearer %s\" -H \"Content-Type: application/json\""
             " http://127.0.0.1:$0/v1/rules -d \"{\\\"name\\\":\\\"it-chain-$0-$1\\\","
             "\\\"action\\\":\\\"drop\\\",\\\"matchers\\\":[{\\\"name\\\":\\\"type\\\","
             "\\\"op\\\":\\\"=\\\",\\\"value\\\":\\\"ItChain$1\\\"}]}\" && curl -fsS -o /dev/null"
             " -H \"Authorization: Bearer %s\" -H \"Content-Type: application/json\""
             " http://127.0.0.1:$0/v1/events -d \"{\\\"source\\\":\\\"probe\\\",\\\"type\\\":"
             "\\\"ItChainOpen\\\",\\\"title\\\":\\\"t\\\",\\\"app_id\\\":\\\"a$0-$1\\\"}\"'",
             srv.port, srv2.port, IT_ADMIN_TOKEN, IT_ADMIN_TOKEN);
    assert_int_equal(it_run(cmd, &out), 0);
    free(out);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE action = 'rule.create'"
                               " AND target_id IN (SELECT id::text FROM filter_rules"
                               " WHERE name LIKE 'it-chain-%')"),
                     80);
    assert_int_equal(
        it_sql_ll("SELECT count(*) FROM alerts WHERE type = 'ItChainOpen' AND count = 1"), 80);
    /* one link per entry, seq 1..n without a gap */
    entries = it_sql_ll("SELECT count(*) FROM audit_log");
    links = it_sql_ll("SELECT count(*) FROM audit_chain");
    seqs = it_sql_ll("SELECT max(seq) - min(seq) + 1 FROM audit_chain");
    assert_int_equal(links, entries);
    assert_int_equal(seqs, entries);
    out = NULL;
    assert_int_equal(verify(&out), 0);
    assert_non_null(strstr(out, "audit chain OK"));
    printf("# %s", out);
    free(out);
    /* every entry so far says the object's state before or after */
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE before IS NULL AND after IS"
                               " NULL AND action NOT LIKE 'it.%'"),
                     0);
}

/* serve's role reads and appends, and cannot change, delete or truncate the
 * log or write its chain - not through a partition either. */
static void test_audit_role_cannot_change_it(void **state)
{
    static const char *const refused[] = {
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "INSERT INTO audit_chain SELECT * FROM audit_chain LIMIT 1",
        "UPDATE audit_chain SET hash = prev_hash",
        NULL,
    };
    char sql[256];
    char *part = NULL;

    (void)state;
    for (int i = 0; refused[i]; i++) {
        snprintf(sql, sizeof(sql), "SET ROLE alertcenter_app; %s", refused[i]);
        if (it_sql_ok(sql)) {
            fail_msg("serve's role may: %s", refused[i]);
        }
    }
    assert_true(it_sql_ok("SET ROLE alertcenter_app; SELECT count(*) FROM audit_log"));
    assert_true(it_sql_ok("SET ROLE alertcenter_app; INSERT INTO audit_log (actor, action)"
                          " VALUES ('it', 'it.append')"));
    /* a partition, named directly */
    {
        char cmd[512], dsn[256];
        it_dsn_for_port(it_pg_port(), dsn, sizeof(dsn));
        snprintf(cmd, sizeof(cmd),
                 "psql '%s' -qAt -c \"SELECT c.relname FROM pg_inherits i JOIN pg_class c ON"
                 " c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass ORDER BY 1"
                 " DESC LIMIT 1\"",
                 dsn);
        assert_int_equal(it_run(cmd, &part), 0);
        part[strcspn(part, "\n")] = '\0';
        snprintf(sql, sizeof(sql), "SET ROLE alertcenter_app; DELETE FROM %s", part);
        assert_false(it_sql_ok(sql));
        free(part);
    }
    /* and a running server acts as it */
    {
        char cmd[512], *log = NULL;
        snprintf(cmd, sizeof(cmd), "grep -c 'serving as role=alertcenter_app' %s", srv.log);
        assert_int_equal(it_run(cmd, &log), 0);
        free(log);
    }
}

/* An alert's ack: before/after are its status. */
static void test_audit_transition_before_after(void **state)
{
    json_t *r, *page, *e;
    char path[160];
    const char *id;

    (void)state;
    r = it_post_events(&srv, "{\"source\":\"probe\",\"type\":\"ItAuditAck\",\"title\":\"t\"}", 200);
    id = str(json_array_get(json_object_get(r, "items"), 0), "alert_id");
    snprintf(path, sizeof(path), "/v1/alerts/%s/ack", id);
    assert_int_equal(it_req(&srv, "POST", path, "{\"by\":\"ann\"}", NULL), 200);
    snprintf(path, sizeof(path), "/v1/audit?target_type=alert&target_id=%s&action=alert.ack", id);
    page = it_get(&srv, path);
    e = json_array_get(json_object_get(page, "items"), 0);
    assert_string_equal(str(e, "actor"), "user:ann");
    assert_string_equal(str(json_object_get(e, "before"), "status"), "firing");
    assert_string_equal(str(json_object_get(e, "after"), "status"), "acknowledged");
    json_decref(page);
    json_decref(r);
}

/* Retention drops whole partitions - the events of old days, the audit log
 * and its chain of old months - and the chain stays verifiable from the
 * last dropped link. serve's role runs it (through the owner's function)
 * but may not drop a partition itself. */
static void test_audit_retention_drops_partitions(void **state)
{
    long long entries0, old_events, kept_events;
    char *out = NULL;

    (void)state;
    /* partitions ahead, made at start */
    assert_true(it_sql_ll("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass"
                          " AND ac_partition_upper(inhrelid) > now() + interval '6 days'") >= 1);
    /* old months of the audit log, and entries in them (written now: their
     * links come after today's) */
    assert_true(it_sql_ok(
        "SELECT ac_partitions_ensure('audit_log', 'month', now() - interval '5 months', now());"
        "SELECT ac_partitions_ensure('audit_chain', 'month', now() - interval '5 months', now());"
        "INSERT INTO audit_log (at, actor, action) SELECT now() - interval '100 days', 'it',"
        " 'it.old' FROM generate_series(1, 5)"));
    assert_true(it_sql_ok("INSERT INTO audit_log (actor, action) VALUES ('it', 'it.after')"));
    /* events of 40 days ago */
    assert_true(it_sql_ok(
        "INSERT INTO events (id, source, type, level, trace, status, fingerprint, occurred_at,"
        " received_at, doc) SELECT nextval('events_id_seq'), 'probe', 'ItOld', 'P4', 'runtime',"
        " 'firing', 'old' || g, now() - interval '40 days', now() - interval '40 days', '{}'"
        " FROM generate_series(1, 3) g"));
    entries0 = it_sql_ll("SELECT count(*) FROM audit_log");
    old_events = it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItOld'");
    kept_events = it_sql_ll("SELECT count(*) FROM events WHERE received_at >= current_date");
    assert_int_equal(old_events, 3);
    assert_int_equal(verify(&out), 0);
    free(out);

    /* as serve's role: events older than today (0 days), history older than 60 days */
    assert_true(it_sql_ok("SET ROLE alertcenter_app; SELECT ac_retention_run(0, 60, 1000)"));
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE type = 'ItOld'"), 0);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM events WHERE received_at >= current_date"),
                     kept_events);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log WHERE action = 'it.old'"), 0);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_log"), entries0 - 5);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM audit_anchor"), 1);
    out = NULL;
    assert_int_equal(verify(&out), 0);
    assert_non_null(strstr(out, "older links dropped by retention"));
    printf("# %s", out);
    free(out);
    /* a change after it chains on */
    assert_true(it_sql_ok("INSERT INTO audit_log (actor, action) VALUES ('it', 'it.later')"));
    out = NULL;
    assert_int_equal(verify(&out), 0);
    free(out);
    /* the role cannot drop a partition itself */
    assert_false(it_sql_ok("SET ROLE alertcenter_app; DROP TABLE audit_chain"));
    {
        long long n = it_sql_ll("SELECT count(*) FROM pg_inherits WHERE inhparent ="
                                " 'audit_log'::regclass");
        assert_false(it_sql_ok("SET ROLE alertcenter_app; DO $$ DECLARE p regclass; BEGIN"
                               " SELECT inhrelid::regclass INTO p FROM pg_inherits WHERE"
                               " inhparent = 'audit_log'::regclass LIMIT 1; EXECUTE 'DROP TABLE '"
                               " || p; END $$"));
        assert_int_equal(it_sql_ll("SELECT count(*) FROM pg_inherits WHERE inhparent ="
                                   " 'audit_log'::regclass"),
                         n);
    }
}

/* The superuser edits one entry (around the append-only trigger): verify
 * names it. Runs last: it leaves the chain broken. */
static void test_audit_verify_finds_an_edit(void **state)
{
    long long victim;
    char sql[256], want[64], *out = NULL;

    (void)state;
    victim = it_sql_ll("SELECT min(id) FROM audit_log WHERE action = 'rule.update'");
    snprintf(sql, sizeof(sql),
             "SET session_replication_role = replica; UPDATE audit_log SET details ="
             " details || '{\"comment\":\"forged\"}' WHERE id = %lld",
             victim);
    assert_true(it_sql_ok(sql));
    assert_int_equal(verify(&out), 1);
    snprintf(want, sizeof(want), "BROKEN at entry %lld ", victim);
    if (!strstr(out, want) || !strstr(out, "does not match its hash")) {
        fail_msg("verify said: %s", out);
    }
    printf("# %s", out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_before_after_and_filters),
        cmocka_unit_test(test_audit_transition_before_after),
        cmocka_unit_test(test_audit_incident_state_changes),
        cmocka_unit_test(test_audit_chain_two_instances),
        cmocka_unit_test(test_audit_role_cannot_change_it),
        cmocka_unit_test(test_audit_retention_drops_partitions),
        cmocka_unit_test(test_audit_verify_finds_an_edit),
    };
    int rc;

    it_init("audit");
    rc = cmocka_run_group_tests_name("integration_audit", tests, setup, teardown);
    it_fini();
    return rc;
}
