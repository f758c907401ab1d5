/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration tests of who is notified (DESIGN §6): /v1/contacts,
 * /v1/schedules (with /oncall), /v1/teams and /v1/routes through the real
 * server - validation, references that must exist and cannot be deleted
 * while used, unique names and the one default team, scopes, paging and the
 * audit log.
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

static struct it_server srv;

static int setup(void **state)
{
    (void)state;
    it_server_start(&srv, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(it_server_stop(&srv), 0);
    return 0;
}
static bool has_detail(const json_t *err, const char *needle)
{
    const json_t *details = json_object_get(json_object_get(err, "error"), "details");
    size_t i;
    json_t *d;

    json_array_foreach(details, i, d)
    {
        char *s = json_dumps(d, 0);
        bool hit = strstr(s, needle) != NULL;
        free(s);
        if (hit) {
            return true;
        }
    }
    return false;
}

static const char *err_msg(const json_t *err)
{
    return json_string_value(json_object_get(json_object_get(err, "error"), "message"));
}

static void test_oncall_objects_and_references(void **state)
{
    char *ann, *bob, *cat, *sched, *team, *route, body[1024], path[128];
    json_t *r = NULL;

    (void)state;
    ann = it_create(&srv, "/v1/contacts",
                    "{\"name\":\"ann\",\"phone\":\"+86 13800000001\","
                    "\"chat\":{\"dingtalk\":\"ann01\"}}");
    bob = it_create(&srv, "/v1/contacts", "{\"name\":\"bob\",\"phone\":\"+86 13800000002\"}");
    cat = it_create(&srv, "/v1/contacts", "{\"name\":\"cat\",\"email\":\"cat@example.com\"}");

    /* a name is unique */
    assert_int_equal(
        it_req_as(&srv, "POST", "/v1/contacts", IT_ADMIN_TOKEN, "{\"name\":\"ann\"}", &r), 409);
    json_decref(r);
    /* a bad document: 400 with every problem, nothing stored */
    assert_int_equal(it_req_as(&srv, "POST", "/v1/contacts", IT_ADMIN_TOKEN,
                               "{\"name\":\"dan\",\"phone\":\"x\",\"email\":\"y\"}", &r),
                     400);
    assert_true(has_detail(r, "$.phone"));
    assert_true(has_detail(r, "$.email"));
    json_decref(r);
    assert_int_equal(it_sql_ll("SELECT count(*) FROM contacts WHERE name = 'dan'"), 0);

    /* a schedule naming a contact that does not exist is refused */
    assert_int_equal(it_req_as(&srv, "POST", "/v1/schedules", IT_ADMIN_TOKEN,
                               "{\"name\":\"primary\",\"time_zone\":\"Asia/Shanghai\",\"layers\":[{"
                               "\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\",\"members\":"
                               "[\"999999\"]}]}",
                               &r),
                     400);
    assert_true(has_detail(r, "unknown contact ids {999999}"));
    json_decref(r);
    snprintf(body, sizeof(body),
             "{\"name\":\"primary\",\"time_zone\":\"Asia/Shanghai\",\"layers\":[{\"name\":"
             "\"daily\",\"start\":\"2026-01-05T09:00\",\"rotation\":\"daily\",\"members\":[\"%s\","
             "\"%s\"]}],\"overrides\":[{\"contact\":\"%s\",\"start\":\"2026-01-06T02:00:00Z\","
             "\"end\":\"2026-01-06T04:00:00Z\"}]}",
             ann, bob, cat);
    sched = it_create(&srv, "/v1/schedules", body);

    /* who is on call: Shanghai 09:00 hand-offs (01:00Z), the override over them */
    snprintf(path, sizeof(path), "/v1/schedules/%s/oncall?at=2026-01-05T05:00:00Z", sched);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "contact"), "name")),
                        "ann");
    assert_string_equal(json_string_value(json_object_get(r, "layer")), "daily");
    assert_string_equal(json_string_value(json_object_get(r, "until")),
                        "2026-01-06T01:00:00.000000Z");
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/schedules/%s/oncall?at=2026-01-06T01:00:00Z", sched);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "contact"), "name")),
                        "bob");
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/schedules/%s/oncall?at=2026-01-06T03:00:00Z", sched);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "contact"), "name")),
                        "cat");
    assert_true(json_is_true(json_object_get(r, "override")));
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/schedules/%s/oncall?at=2025-01-01T00:00:00Z", sched);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
    assert_true(json_is_null(json_object_get(r, "contact"))); /* before the first shift */
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/schedules/%s/oncall?at=yesterday", sched);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 400);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "GET", "/v1/schedules/424242/oncall", IT_READ_TOKEN, NULL, &r),
                     404);
    json_decref(r);

    /* a team: its chain names the schedule, then a contact, then the lead */
    snprintf(body, sizeof(body),
             "{\"name\":\"sre\",\"members\":[\"%s\",\"%s\"],\"lead\":\"%s\",\"chain\":["
             "{\"targets\":[{\"schedule\":\"%s\"}]},{\"targets\":[{\"contact\":\"%s\"}]},"
             "{\"targets\":[{\"lead\":true}]}],\"default\":true}",
             ann, bob, cat, sched, bob);
    team = it_create(&srv, "/v1/teams", body);
    /* only one default team */
    snprintf(body, sizeof(body),
             "{\"name\":\"dba\",\"chain\":[{\"targets\":[{\"contact\":\"%s\"}]}],"
             "\"default\":true}",
             ann);
    assert_int_equal(it_req_as(&srv, "POST", "/v1/teams", IT_ADMIN_TOKEN, body, &r), 409);
    assert_non_null(strstr(err_msg(r), "default"));
    json_decref(r);

    snprintf(body, sizeof(body),
             "{\"name\":\"db-alerts\",\"matchers\":[{\"name\":\"labels.team\",\"op\":\"=\","
             "\"value\":\"db\"}],\"team\":\"%s\"}",
             team);
    route = it_create(&srv, "/v1/routes", body);
    assert_int_equal(it_req_as(&srv, "GET", "/v1/routes", IT_READ_TOKEN, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r, "items"), 0), "position")),
                     10);
    json_decref(r);

    /* what is referred to cannot be deleted */
    snprintf(path, sizeof(path), "/v1/contacts/%s", cat);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, &r), 409);
    assert_non_null(strstr(err_msg(r), "schedule \"primary\""));
    assert_non_null(strstr(err_msg(r), "team \"sre\""));
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/teams/%s", team);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, &r), 409);
    assert_non_null(strstr(err_msg(r), "route"));
    json_decref(r);

    /* PUT replaces; the route goes, then the team can */
    snprintf(path, sizeof(path), "/v1/routes/%s", route);
    snprintf(body, sizeof(body),
             "{\"name\":\"db-alerts\",\"position\":5,\"matchers\":[],\"team\":\"%s\"}", team);
    assert_int_equal(it_req_as(&srv, "PUT", path, IT_ADMIN_TOKEN, body, &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 5);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, &r), 200);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 404);
    json_decref(r);
    snprintf(path, sizeof(path), "/v1/teams/%s", team);
    assert_int_equal(it_req_as(&srv, "DELETE", path, IT_ADMIN_TOKEN, NULL, &r), 200);
    json_decref(r);

    /* every change is in the audit log, with who made it */
    assert_int_equal(
        it_sql_ll("SELECT count(*) FROM audit_log WHERE action IN ('contact.create',"
                  " 'schedule.create', 'team.create', 'route.create',"
                  " 'route.update', 'route.delete', 'team.delete')"
                  " AND actor LIKE 'token:%'"),
        9); /* 3 contacts, a schedule, a team, a route, its update and delete, the team's delete */
    free(ann);
    free(bob);
    free(cat);
    free(sched);
    free(team);
    free(route);
}

static void test_oncall_scopes_and_paging(void **state)
{
    json_t *r = NULL, *items;
    char name[64], *cursor;

    (void)state;
    assert_int_equal(
        it_req_as(&srv, "POST", "/v1/contacts", IT_READ_TOKEN, "{\"name\":\"eve\"}", &r), 403);
    json_decref(r);
    assert_int_equal(it_req_as(&srv, "GET", "/v1/teams", NULL, NULL, &r), 401);
    json_decref(r);
    for (int i = 0; i < 5; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"name\":\"page-%d\"}", i);
        free(it_create(&srv, "/v1/contacts", body));
    }
    assert_int_equal(it_req_as(&srv, "GET", "/v1/contacts?limit=2", IT_READ_TOKEN, NULL, &r), 200);
    items = json_object_get(r, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_true(json_is_string(json_object_get(r, "next_cursor")));
    cursor = strdup(json_string_value(json_object_get(r, "next_cursor")));
    snprintf(name, sizeof(name), "%s",
             json_string_value(json_object_get(json_array_get(items, 1), "name")));
    json_decref(r);
    {
        char path[700];
        snprintf(path, sizeof(path), "/v1/contacts?limit=2&cursor=%s", cursor);
        assert_int_equal(it_req_as(&srv, "GET", path, IT_READ_TOKEN, NULL, &r), 200);
        assert_string_not_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(r, "items"), 0), "name")),
                                name);
        json_decref(r);
    }
    free(cursor);
    assert_int_equal(it_req_as(&srv, "GET", "/v1/contacts?colour=red", IT_READ_TOKEN, NULL, &r),
                     400);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oncall_objects_and_references),
        cmocka_unit_test(test_oncall_scopes_and_paging),
    };
    int rc;

    it_init("oncall");
    rc = cmocka_run_group_tests_name("integration_oncall", tests, setup, teardown);
    it_fini();
    return rc;
}
