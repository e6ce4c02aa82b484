/* mod_consult_pos over real HTTP with the mock POS: the menu sync, signed
 * sold-out webhooks (once each, forged and stale ones refused), the poll
 * recovering what no webhook said, items leaving the menu, tenant
 * isolation, and the menu served from its snapshot while Postgres is down. */
#include "integ.h"
#include "providers/pos/cs_pos_mock.h"
#include "base/cs_file.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POS "pos.localhost"
#define OTHER "pos-other.localhost"

static const char *secret(const char *host)
{
    return getenv(strcmp(host, POS) ? "CS_TEST_POS_OTHER_SECRET" : "CS_TEST_POS_SECRET");
}

static const char *state_file(const char *host)
{
    return apr_psprintf(it_pool, "%s/pos/%s.state.json", getenv("CS_TEST_TMP"),
                        strcmp(host, POS) ? "pos-other" : "pos-client");
}

static it_resp_t *get(const char *host, const char *path, const char *inm)
{
    it_req_t req = { 0 };
    const char *hdr[2] = { inm ? apr_pstrcat(it_pool, "If-None-Match: ", inm, NULL) : NULL, NULL };
    req.host = host;
    req.path = path;
    req.headers = hdr;
    return it_http(&req);
}

static it_resp_t *webhook(const char *host, const char *key, apr_time_t t, const char *body)
{
    it_req_t req = { 0 };
    const char *hdr[2] = { NULL, NULL };
    if (key) {
        hdr[0] = apr_pstrcat(it_pool, CS_POS_MOCK_SIG_HEADER, ": ",
                             cs_pos_mock_sign(it_pool, key, t, body, strlen(body)), NULL);
    }
    req.host = host;
    req.path = "/webhooks/pos";
    req.method = "POST";
    req.content_type = "application/json";
    req.body = body;
    req.headers = hdr;
    return it_http(&req);
}

static const char *stock_body(const char *event, const char *item, int sold_out)
{
    return apr_psprintf(it_pool, "{\"event_id\":\"%s\",\"type\":\"stock.updated\","
                        "\"sold_out\":[{\"id\":\"%s\",\"sold_out\":%s}]}", event, item,
                        sold_out ? "true" : "false");
}

/* Poll @p path on @p host until its body contains (or, @p absent, lacks)
 * @p needle. */
static int wait_body(const char *host, const char *path, const char *needle, int absent,
                     int seconds)
{
    int i;
    for (i = 0; i < seconds * 5; i++) {
        it_resp_t *r = get(host, path, NULL);
        if (r->status == 200 && (strstr(r->body, needle) != NULL) != absent) return 1;
        usleep(200 * 1000);
    }
    return 0;
}

static void set_state(const char *host, const char *item, int sold_out)
{
    const char *err = NULL;
    ck_assert_msg(cs_pos_mock_set_state(state_file(host), item, sold_out, it_pool, &err)
                  == APR_SUCCESS, "%s", err ? err : "");
}

static void synced(const char *host)
{
    ck_assert_msg(wait_body(host, "/api/menu", "\"margherita\"", 0, 15),
                  "the menu of %s was never synced", host);
}

static const char *client_of(const char *host)
{
    return strcmp(host, POS) ? "pos-other" : "pos-client";
}

static long events(const char *host)
{
    const char *p[1] = { client_of(host) };
    return it_sql_long("SELECT count(*) FROM provider_events e JOIN clients c ON c.id = e.client_id"
                       " WHERE c.slug = $1", 1, p);
}

START_TEST(test_sync_imports_the_menu_with_cents_etag_and_304)
{
    it_resp_t *r;
    const char *etag;

    synced(POS);
    r = get(POS, "/api/menu", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "\"currency\":\"USD\""), "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"id\":\"margherita\",\"name\":\"Margherita\","
                                  "\"price_cents\":1400,\"price\":\"$14.00\""), "%s", r->body);
    ck_assert_msg(strstr(r->body, "{\"id\":\"size-16\",\"name\":\"16-inch\",\"price_cents\":500}"),
                  "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"min\":1,\"max\":1"), "%s", r->body);
    etag = apr_table_get(r->headers, "ETag");
    ck_assert_ptr_nonnull(etag);
    ck_assert_msg(etag[0] == '"' && etag[1] == 'v', "%s", etag);
    r = get(POS, "/api/menu", etag);
    ck_assert_int_eq(r->status, 304);
    r = get(POS, "/api/menu", "\"v999999\"");
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM menu_items i JOIN clients c ON c.id = i.client_id"
                            " WHERE c.slug = 'pos-client'", 0, NULL), "4");
    ck_assert_str_eq(it_sql("SELECT price_cents FROM menu_items WHERE pos_id = 'diavola'"
                            " AND client_id = (SELECT id FROM clients WHERE slug = 'pos-client')",
                            0, NULL), "1650");

    r = get(POS, "/menu", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "<h1>POS Test Kitchen</h1>"), "%s", r->body);
    ck_assert_msg(strstr(r->body, "Margherita $14.00 [Choose 1 12-inch 16-inch+$5.00]"), "%s", r->body);
    ck_assert_msg(!strstr(r->body, "menu as of"), "%s", r->body);
    r = get(POS, "/api/menu/availability", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_str_eq(apr_table_get(r->headers, "Cache-Control"), "no-cache");
    ck_assert_msg(strstr(r->body, "\"stale\":false"), "%s", r->body);
}
END_TEST

START_TEST(test_signed_webhook_marks_sold_out_and_a_redelivery_is_stored_once)
{
    const char *body = stock_body("evt-86-diavola", "diavola", 1);
    long before;
    it_resp_t *r;

    synced(POS);
    before = events(POS);
    set_state(POS, "diavola", 1);      /* as the POS would, then it tells us */
    r = webhook(POS, secret(POS), apr_time_now(), body);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(wait_body(POS, "/api/menu/availability", "\"diavola\"", 0, 5),
                  "diavola not sold out in time");
    r = webhook(POS, secret(POS), apr_time_now(), body);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "duplicate"), "%s", r->body);
    ck_assert_int_eq(events(POS), before + 1);
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM provider_events WHERE event_id = 'evt-86-diavola'"
                              " AND processed_at IS NOT NULL AND provider = 'pos.mock'", "1", 5),
                  "event not processed");
    ck_assert_msg(wait_body(POS, "/menu", "Sold out today", 0, 5), "page shows no sold-out mark");

    /* And back. */
    set_state(POS, "diavola", 0);
    ck_assert_int_eq(webhook(POS, secret(POS), apr_time_now(),
                             stock_body("evt-back-diavola", "diavola", 0))->status, 200);
    ck_assert_msg(wait_body(POS, "/api/menu/availability", "\"diavola\"", 1, 5),
                  "diavola still sold out");
}
END_TEST

START_TEST(test_forged_unsigned_and_stale_webhooks_are_401_and_store_nothing)
{
    long before;
    const char *body = stock_body("evt-forged", "margherita", 1);

    synced(POS);
    before = events(POS);
    ck_assert_int_eq(webhook(POS, "not-the-secret", apr_time_now(), body)->status, 401);
    ck_assert_int_eq(webhook(POS, NULL, 0, body)->status, 401);
    ck_assert_int_eq(webhook(POS, secret(POS), apr_time_now() - apr_time_from_sec(3600), body)->status,
                     401);
    ck_assert_int_eq(events(POS), before);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM item_availability WHERE item_id = 'margherita'",
                            0, NULL), "0");
}
END_TEST

START_TEST(test_the_poll_recovers_a_change_no_webhook_brought)
{
    const char *q = "SELECT last_poll_recovered FROM restaurants r JOIN clients c"
                    " ON c.id = r.client_id WHERE c.slug = 'pos-client'";
    long before;

    synced(POS);
    before = atol(it_sql(q, 0, NULL));
    set_state(POS, "lemonade", 1);
    ck_assert_msg(wait_body(POS, "/api/menu/availability", "\"lemonade\"", 0, 10),
                  "the poll did not find lemonade sold out");
    ck_assert_int_ge(atol(it_sql(q, 0, NULL)), before + 1);
    ck_assert_str_eq(it_sql("SELECT source FROM item_availability WHERE item_id = 'lemonade'",
                            0, NULL), "poll");
    set_state(POS, "lemonade", 0);
    ck_assert_msg(wait_body(POS, "/api/menu/availability", "\"lemonade\"", 1, 10),
                  "the poll did not bring lemonade back");
    ck_assert_int_ge(atol(it_sql(q, 0, NULL)), before + 2);
}
END_TEST

START_TEST(test_an_item_removed_from_the_menu_is_gone_after_the_next_sync)
{
    const char *path = apr_pstrcat(it_pool, getenv("CS_TEST_TMP"), "/pos/menu.json", NULL);
    char *buf = NULL, *at;
    apr_size_t len = 0;
    const char *item = "{\"id\": \"soda\", \"name\": \"Italian Soda\", \"price_cents\": 395}";
    const char *v1, *v2;

    synced(POS);
    v1 = apr_table_get(get(POS, "/api/menu", NULL)->headers, "ETag");
    ck_assert_int_eq(cs_file_read(&buf, &len, it_pool, path, 0), APR_SUCCESS);
    ck_assert_ptr_nonnull(at = strstr(buf, item));
    /* drop ",\n   {soda}" : the item and the comma before it */
    {
        char *comma = at;
        while (comma > buf && *comma != ',') comma--;
        memmove(comma, at + strlen(item), strlen(at + strlen(item)) + 1);
    }
    ck_assert_int_eq(cs_file_write_atomic(path, buf, strlen(buf), it_pool), APR_SUCCESS);
    ck_assert_int_eq(webhook(POS, secret(POS), apr_time_now(),
                             "{\"event_id\":\"evt-menu-1\",\"type\":\"menu.updated\"}")->status, 200);
    ck_assert_msg(wait_body(POS, "/api/menu", "\"soda\"", 1, 10), "soda still on the menu");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM menu_items WHERE pos_id = 'soda' AND client_id ="
                            " (SELECT id FROM clients WHERE slug = 'pos-client')", 0, NULL), "0");
    v2 = apr_table_get(get(POS, "/api/menu", NULL)->headers, "ETag");
    ck_assert_str_ne(v1, v2);
}
END_TEST

START_TEST(test_one_restaurants_secret_cannot_change_anothers_items)
{
    long before_other, before_pos;
    synced(POS);
    synced(OTHER);
    before_other = events(OTHER);
    before_pos = events(POS);
    /* Signed with pos-client's secret, sent to the other restaurant. */
    ck_assert_int_eq(webhook(OTHER, secret(POS), apr_time_now(),
                             stock_body("evt-cross", "margherita", 1))->status, 401);
    ck_assert_int_eq(events(OTHER), before_other);
    ck_assert_int_eq(events(POS), before_pos);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM item_availability a JOIN clients c"
                            " ON c.id = a.client_id WHERE c.slug = 'pos-other'", 0, NULL), "0");
    /* Its own secret works, and touches only its own menu. */
    set_state(OTHER, "margherita", 1);
    ck_assert_int_eq(webhook(OTHER, secret(OTHER), apr_time_now(),
                             stock_body("evt-own", "margherita", 1))->status, 200);
    ck_assert_msg(wait_body(OTHER, "/api/menu/availability", "\"margherita\"", 0, 5), "not applied");
    ck_assert_msg(!strstr(get(POS, "/api/menu/availability", NULL)->body, "\"margherita\""),
                  "leaked into the other tenant");
    set_state(OTHER, "margherita", 0);
}
END_TEST

START_TEST(test_postgres_down_serves_the_snapshot_never_a_5xx)
{
    const char *out;
    it_resp_t *r;
    int i;

    synced(POS);
    /* A snapshot exists once a sync or a change wrote it. */
    for (i = 0; i < 50; i++) {
        const char *p = apr_pstrcat(it_pool, getenv("CS_TEST_TMP"), "/pos/snapshots/pos-client.html", NULL);
        if (access(p, R_OK) == 0) break;
        usleep(100 * 1000);
    }
    ck_assert_msg(it_ctl("pg-stop", &out) == 0, "%s", out);
    /* At once: still the menu (a child trusts the version it read for up
     * to 250 ms, then asks Postgres, which is gone). */
    r = get(POS, "/api/menu", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "\"margherita\""), "%s", r->body);
    usleep(400 * 1000);
    for (i = 0; i < 3; i++) {
        r = get(POS, "/api/menu", NULL);
        ck_assert_int_eq(r->status, 200);
        ck_assert_ptr_nonnull(apr_table_get(r->headers, "X-Consult-Menu-Snapshot"));
        ck_assert_msg(strstr(r->body, "\"margherita\""), "%s", r->body);
        r = get(POS, "/menu", NULL);
        ck_assert_int_eq(r->status, 200);
        ck_assert_ptr_nonnull(apr_table_get(r->headers, "X-Consult-Menu-Snapshot"));
        ck_assert_msg(strstr(r->body, "menu as of"), "%s", r->body);
        r = get(POS, "/api/menu/availability", NULL);
        ck_assert_int_eq(r->status, 200);
        ck_assert_msg(strstr(r->body, "\"stale\":true"), "%s", r->body);
    }
    ck_assert_msg(it_ctl("pg-start", &out) == 0, "%s", out);
    ck_assert_msg(it_wait_health(200, 10), "health did not recover");
    r = get(POS, "/api/menu", NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_null(apr_table_get(r->headers, "X-Consult-Menu-Snapshot"));
}
END_TEST

Suite *suite_pos(void)
{
    Suite *s = suite_create("pos");
    TCase *tc = tcase_create("mock");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sync_imports_the_menu_with_cents_etag_and_304);
    tcase_add_test(tc, test_signed_webhook_marks_sold_out_and_a_redelivery_is_stored_once);
    tcase_add_test(tc, test_forged_unsigned_and_stale_webhooks_are_401_and_store_nothing);
    tcase_add_test(tc, test_the_poll_recovers_a_change_no_webhook_brought);
    tcase_add_test(tc, test_an_item_removed_from_the_menu_is_gone_after_the_next_sync);
    tcase_add_test(tc, test_one_restaurants_secret_cannot_change_anothers_items);
    /* Last: it stops and starts Postgres. */
    tcase_add_test(tc, test_postgres_down_serves_the_snapshot_never_a_5xx);
    suite_add_tcase(s, tc);
    return s;
}
