/* The dashboard's Menu page over HTTP, with the mock POS of pos.localhost:
 * staff see items and the POS's health; an 86 is live on the restaurant's
 * /api/menu/availability at once, audited, and pushed to the POS by the
 * pos.item.push job (the mock's state file changes); "for today" ends at
 * midnight in the restaurant's zone; CSRF and tenant isolation; and a POS
 * whose API cannot mark items (Square) keeping the mark as Consult's own
 * override, and Clover's one-time verification code shown to staff. */
#include "integ.h"
#include "base/cs_file.h"
#include "providers/pos/cs_pos_mock.h"

#include <apr_strings.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADMIN "admin.localhost"
#define POS "pos.localhost"
#define FORM "application/x-www-form-urlencoded"

#define KITCHEN "kitchen%40pos.example", "kitchen+password+1"
#define CHEF "chef%40pos-other.example", "chef+password+1"
#define SQUARE_STAFF "till%40pos-square.example", "till+password+1"

typedef struct {
    const char *cookie;
    const char *csrf;
} sess_t;

/* A dashboard request: a form post when @p body is set, with the session's
 * cookie, its CSRF token when @p with_csrf, and HX-Request when @p htmx. */
static it_resp_t *req(const char *method, const char *path, const sess_t *s,
                      const char *body, int with_csrf, int htmx)
{
    it_req_t q = { 0 };
    const char *hdrs[5];
    int n = 0;
    q.host = ADMIN;
    q.method = method;
    q.path = path;
    q.accept = "text/html";
    if (body) {
        q.body = body;
        q.content_type = FORM;
    }
    if (!s && body && !strcmp(path, "/login")) {
        const char *field, *cookie;
        it_login_token(ADMIN, &field, &cookie);
        q.body = apr_pstrcat(it_pool, body, "&", field, NULL);
        hdrs[n++] = apr_pstrcat(it_pool, "Cookie: ", cookie, NULL);
    }
    if (s) hdrs[n++] = apr_pstrcat(it_pool, "Cookie: ", s->cookie, NULL);
    if (s && with_csrf) hdrs[n++] = apr_pstrcat(it_pool, "X-CSRF-Token: ", s->csrf, NULL);
    if (htmx) hdrs[n++] = "HX-Request: true";
    hdrs[n] = NULL;
    q.headers = hdrs;
    return it_http(&q);
}

static const char *csrf_of(const char *body)
{
    const char *at = strstr(body, "\"X-CSRF-Token\": \""), *end;
    if (!at) return "";
    at += strlen("\"X-CSRF-Token\": \"");
    end = strchr(at, '"');
    return apr_pstrmemdup(it_pool, at, end - at);
}

static sess_t *login(const char *email, const char *password)
{
    sess_t *s = apr_pcalloc(it_pool, sizeof(*s));
    it_resp_t *r = req("POST", "/login", NULL, apr_psprintf(
        it_pool, "email=%s&password=%s", email, password), 0, 0);
    const char *set = apr_table_get(r->headers, "Set-Cookie");
    ck_assert_msg(r->status == 303, "login %s: %ld", email, r->status);
    ck_assert_msg(set && !strncmp(set, "consult_session=", 16), "no session cookie");
    s->cookie = apr_pstrmemdup(it_pool, set, strcspn(set, ";"));
    s->csrf = csrf_of(req("GET", "/", s, NULL, 0, 0)->body);
    ck_assert_msg(*s->csrf, "no CSRF token on the page");
    return s;
}

static int admin_cmd(const char *args)
{
    return system(apr_psprintf(it_pool, "%s/consult-admin --db '%s' %s >/dev/null",
                               getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"), args));
}

/* A staff user of @p slug, made once (user-add again would end sessions). */
static void ensure_member(const char *email, const char *name, const char *password,
                          const char *slug, const char *role)
{
    const char *p[1] = { email };
    if (!it_sql_long("SELECT count(*) FROM staff_users WHERE email = $1", 1, p)) {
        /* The password on stdin: user-add takes none on the command line. */
        ck_assert_int_eq(system(apr_psprintf(it_pool, "printf '%%s\\n' '%s' | %s/consult-admin --db '%s'"
                                             " user-add %s '%s' --password-stdin >/dev/null", password,
                                             getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"),
                                             email, name)), 0);
    }
    ck_assert_int_eq(admin_cmd(apr_psprintf(it_pool, "member-add %s %s %s", email, slug, role)), 0);
}

static void ensure_users(void)
{
    ensure_member("kitchen@pos.example", "Kit Kitchen", "kitchen password 1", "pos-client", "staff");
    ensure_member("chef@pos-other.example", "Cy Chef", "chef password 1", "pos-other", "staff");
}

static it_resp_t *get(const char *host, const char *path)
{
    it_req_t q = { 0 };
    q.host = host;
    q.path = path;
    return it_http(&q);
}

static int sold_out_on_api(const char *item)
{
    it_resp_t *r = get(POS, "/api/menu/availability");
    ck_assert_int_eq(r->status, 200);
    return strstr(r->body, apr_psprintf(it_pool, "\"%s\"", item)) != NULL;
}

/* The menu of @p host synced (its first request makes its jobs). */
static void synced_on(const char *host)
{
    int i;
    for (i = 0; i < 75; i++) {
        it_resp_t *r = get(host, "/api/menu");
        if (r->status == 200 && strstr(r->body, "\"margherita\"")) return;
        usleep(200 * 1000);
    }
    ck_abort_msg("the menu of %s was never synced", host);
}

static void synced(void)
{
    synced_on(POS);
}

/* Whether the mock POS's own state has @p item sold out. */
static int sold_out_at_pos(const char *item)
{
    const char *path = apr_psprintf(it_pool, "%s/pos/pos-client.state.json", getenv("CS_TEST_TMP"));
    char *buf = NULL;
    apr_size_t len = 0;
    json_object *root, *so, *v;
    int out = 0;

    if (cs_file_read(&buf, &len, it_pool, path, 1 << 20) != APR_SUCCESS) return 0;
    root = json_tokener_parse(buf);
    if (root && json_object_object_get_ex(root, "sold_out", &so)
        && json_object_object_get_ex(so, item, &v)) {
        out = json_object_get_boolean(v);
    }
    json_object_put(root);
    return out;
}

static int wait_pos_state(const char *item, int want, int seconds)
{
    int i;
    for (i = 0; i < seconds * 10; i++) {
        if (sold_out_at_pos(item) == want) return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* Everything that tells whether a change happened, as one string. */
static const char *footprint(void)
{
    return it_sql("SELECT (SELECT count(*) FROM item_availability WHERE source = 'staff')"
                  " || '/' || (SELECT count(*) FROM audit_log WHERE target_type = 'menu_item')"
                  " || '/' || (SELECT count(*) FROM jobs WHERE kind = 'pos.item.push')"
                  " || '/' || (SELECT string_agg(menu_version::text, ',' ORDER BY id)"
                  "            FROM restaurants)", 0, NULL);
}

static const char *item_id(const char *slug, const char *pos_id)
{
    const char *p[2] = { slug, pos_id };
    return it_sql("SELECT i.id FROM menu_items i JOIN clients c ON c.id = i.client_id"
                  " WHERE c.slug = $1 AND i.pos_id = $2", 2, p);
}

/* The <li> of item @p id in a menu page, up to its end. */
static const char *item_html(const char *body, const char *id)
{
    const char *at = strstr(body, apr_psprintf(it_pool, "id=\"menu-item-%s\"", id)), *end;
    ck_assert_msg(at != NULL, "item %s not on the page", id);
    end = strstr(at, "</li>");
    return apr_pstrmemdup(it_pool, at, end ? (apr_size_t)(end - at) : strlen(at));
}

START_TEST(test_staff_see_the_menu_with_items_and_the_pos_health)
{
    sess_t *s;
    it_resp_t *r;

    ensure_users();
    synced();
    s = login(KITCHEN);
    r = req("GET", "/menu", s, NULL, 0, 0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "<h1>Menu</h1>"), "%s", r->body);
    ck_assert_msg(strstr(r->body, "<a href=\"/menu\" aria-current=\"page\">Menu</a>"), "no nav link");
    /* Items by category, with their price and state. */
    ck_assert_msg(strstr(r->body, "<h3>Pizza</h3>") && strstr(r->body, "<h3>Drinks</h3>"), "%s", r->body);
    ck_assert_msg(strstr(item_html(r->body, item_id("pos-client", "margherita")),
                         "Margherita</span> <span class=\"menu-item-price\">$14.00</span>"), "%s", r->body);
    ck_assert_msg(strstr(item_html(r->body, item_id("pos-client", "margherita")), "data-state=\"available\""),
                  "%s", r->body);
    ck_assert_msg(strstr(r->body, "action=\"/menu/items/margherita/86\""), "%s", r->body);
    /* The POS's health: kind, a sync that happened, the poll. */
    ck_assert_msg(strstr(r->body, "Mock POS (demo)"), "%s", r->body);
    ck_assert_msg(!strstr(r->body, "Not synced yet"), "%s", r->body);
    ck_assert_msg(strstr(r->body, "Last sold-out check"), "%s", r->body);
    ck_assert_msg(strstr(r->body, "Times in "), "%s", r->body);
}
END_TEST

START_TEST(test_86_until_undone_is_live_audited_pushed_and_restored)
{
    sess_t *s;
    it_resp_t *r;
    const char *id, *p[1], *etag, *before;

    ensure_users();
    synced();
    s = login(KITCHEN);
    id = item_id("pos-client", "diavola");
    p[0] = id;
    ck_assert_msg(!sold_out_on_api("diavola"), "diavola sold out before the test");
    etag = apr_table_get(get(POS, "/api/menu")->headers, "ETag");
    before = it_sql("SELECT count(*) FROM audit_log WHERE action = 'item_86'", 0, NULL);

    /* A form post without JavaScript: 303 back to the item. */
    r = req("POST", "/menu/items/diavola/86", s, "until=undone", 1, 0);
    ck_assert_int_eq(r->status, 303);
    ck_assert_str_eq(apr_table_get(r->headers, "Location"), apr_pstrcat(it_pool, "/menu#menu-item-", id, NULL));
    /* Live on the restaurant's site at once, and the menu's version moved. */
    ck_assert_msg(sold_out_on_api("diavola"), "not sold out on /api/menu/availability");
    ck_assert_str_ne(apr_table_get(get(POS, "/api/menu")->headers, "ETag"), etag);
    ck_assert_str_eq(it_sql("SELECT source || ' ' || (until IS NULL) || ' ' || (set_by ="
                            " (SELECT id::text FROM staff_users WHERE email = 'kitchen@pos.example'))"
                            " FROM item_availability a JOIN clients c ON c.id = a.client_id"
                            " WHERE c.slug = 'pos-client' AND a.item_id = 'diavola'", 0, NULL),
                     "staff true true");
    /* Audited, by whom and on what. */
    ck_assert_int_eq(it_sql_long("SELECT count(*) FROM audit_log WHERE action = 'item_86'", 0, NULL),
                     atol(before) + 1);
    ck_assert_str_eq(it_sql("SELECT u.email || ' ' || a.target_type || ' ' || (a.detail->>'until')"
                            " FROM audit_log a JOIN staff_users u ON u.id = a.user_id"
                            " WHERE a.action = 'item_86' AND a.target_id = $1::bigint"
                            " ORDER BY a.id DESC LIMIT 1", 1, p),
                     "kitchen@pos.example menu_item undone");
    /* The job ran: the mock POS has it sold out too. */
    ck_assert_msg(it_wait_sql("SELECT string_agg(state, ',') FROM jobs WHERE kind = 'pos.item.push'"
                              " AND payload->>'pos_id' = 'diavola' AND (payload->>'sold_out')::boolean",
                              "done", 15), "the push job did not run");
    ck_assert_msg(wait_pos_state("diavola", 1, 5), "the mock POS does not have diavola sold out");
    ck_assert_str_eq(it_sql("SELECT coalesce(pushed, 'null') FROM item_availability"
                            " WHERE item_id = 'diavola' AND source = 'staff'", 0, NULL), "pos");
    r = req("GET", "/menu", s, NULL, 0, 0);
    ck_assert_msg(strstr(item_html(r->body, id), "86&#39;d until undone"), "%s", item_html(r->body, id));
    ck_assert_msg(strstr(item_html(r->body, id), "Pushed to the POS"), "%s", item_html(r->body, id));
    ck_assert_msg(strstr(item_html(r->body, id), "By Kit Kitchen"), "%s", item_html(r->body, id));
    ck_assert_msg(strstr(item_html(r->body, id), "action=\"/menu/items/diavola/restore\""),
                  "%s", item_html(r->body, id));
    /* The poll (every 2 s here) leaves a staff mark alone, whatever the
     * POS says: even with the item back on at the POS. */
    {
        const char *err = NULL;
        const char *path = apr_psprintf(it_pool, "%s/pos/pos-client.state.json", getenv("CS_TEST_TMP"));
        ck_assert_int_eq(cs_pos_mock_set_state(path, "diavola", 0, it_pool, &err), APR_SUCCESS);
    }
    {
        const char *t[1] = { it_sql("SELECT now()::text", 0, NULL) };
        int i, polled = 0;
        for (i = 0; i < 100 && !polled; i++) {
            polled = it_sql_long("SELECT count(*) FROM restaurants r JOIN clients c ON c.id = r.client_id"
                                 " WHERE c.slug = 'pos-client' AND r.last_poll_at > $1::timestamptz",
                                 1, t) == 1;
            if (!polled) usleep(100 * 1000);
        }
        ck_assert_msg(polled, "no poll ran");
    }
    ck_assert_str_eq(it_sql("SELECT source FROM item_availability WHERE item_id = 'diavola'"
                            " AND client_id = (SELECT id FROM clients WHERE slug = 'pos-client')",
                            0, NULL), "staff");
    ck_assert_msg(sold_out_on_api("diavola"), "the poll undid a staff 86");

    /* Back on, as htmx posts it: the page comes back with the item available. */
    r = req("POST", "/menu/items/diavola/restore", s, "", 1, 1);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(item_html(r->body, id), "data-state=\"available\""), "%s", item_html(r->body, id));
    ck_assert_msg(!sold_out_on_api("diavola"), "still sold out on /api/menu/availability");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM item_availability WHERE item_id = 'diavola'"
                            " AND source = 'staff'", 0, NULL), "0");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE action = 'item_restore'"
                            " AND target_id = $1::bigint", 1, p), "1");
    ck_assert_msg(wait_pos_state("diavola", 0, 10), "the mock POS still has diavola sold out");
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM item_availability WHERE item_id = 'diavola'"
                              " AND client_id = (SELECT id FROM clients WHERE slug = 'pos-client')",
                              "0", 10), "a mark of diavola is left");
    ck_assert_msg(!sold_out_on_api("diavola"), "sold out again");
    /* A second click changes nothing more. */
    ck_assert_int_eq(req("POST", "/menu/items/diavola/restore", s, "", 1, 0)->status, 303);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE action = 'item_restore'"
                            " AND target_id = $1::bigint", 1, p), "1");
}
END_TEST

START_TEST(test_86_for_today_ends_at_midnight_in_the_restaurants_time_zone)
{
    sess_t *s;
    it_resp_t *r;
    const char *id;

    ensure_users();
    synced();
    it_sql("UPDATE restaurants SET time_zone = 'America/Chicago' WHERE client_id ="
           " (SELECT id FROM clients WHERE slug = 'pos-client')", 0, NULL);
    s = login(KITCHEN);
    id = item_id("pos-client", "lemonade");
    r = req("POST", "/menu/items/lemonade/86", s, "until=eod", 1, 0);
    ck_assert_int_eq(r->status, 303);
    ck_assert_msg(sold_out_on_api("lemonade"), "not sold out");
    /* Until the next midnight in Chicago: later today or tomorrow there. */
    ck_assert_str_eq(it_sql("SELECT to_char(until AT TIME ZONE 'America/Chicago', 'HH24:MI:SS')"
                            " || ' ' || (until > now()) || ' ' || (until <= now() + interval '1 day')"
                            " || ' ' || ((until AT TIME ZONE 'America/Chicago')::date"
                            "            = (now() AT TIME ZONE 'America/Chicago')::date + 1)"
                            " FROM item_availability WHERE item_id = 'lemonade' AND source = 'staff'",
                            0, NULL), "00:00:00 true true true");
    /* The POS is told again when the day ends. */
    ck_assert_str_eq(it_sql("SELECT count(*) FROM jobs j, item_availability a"
                            " WHERE j.kind = 'pos.item.push' AND j.payload->>'pos_id' = 'lemonade'"
                            " AND (j.payload->>'expire')::boolean AND j.state = 'queued'"
                            " AND j.run_at = a.until AND a.item_id = 'lemonade' AND a.source = 'staff'",
                            0, NULL), "1");
    ck_assert_msg(wait_pos_state("lemonade", 1, 10), "the mock POS does not have lemonade sold out");
    r = req("GET", "/menu", s, NULL, 0, 0);
    ck_assert_msg(strstr(item_html(r->body, id), "86&#39;d for today"), "%s", item_html(r->body, id));
    ck_assert_msg(strstr(item_html(r->body, id), "12:00 AM"), "%s", item_html(r->body, id));
    ck_assert_msg(strstr(r->body, "Times in America/Chicago."), "%s", r->body);

    /* The day ends: the item is back at once, and the POS hears of it. */
    it_sql("UPDATE item_availability SET until = now() - interval '1 second'"
           " WHERE item_id = 'lemonade' AND source = 'staff'", 0, NULL);
    ck_assert_msg(!sold_out_on_api("lemonade"), "still sold out after its day");
    r = req("GET", "/menu", s, NULL, 0, 0);
    ck_assert_msg(strstr(item_html(r->body, id), "data-state=\"available\""), "%s", item_html(r->body, id));
    it_sql("UPDATE jobs SET run_at = now() WHERE kind = 'pos.item.push' AND state = 'queued'"
           " AND payload->>'pos_id' = 'lemonade'", 0, NULL);
    ck_assert_msg(wait_pos_state("lemonade", 0, 10), "the mock POS still has lemonade sold out");
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM item_availability WHERE item_id = 'lemonade'"
                              " AND client_id = (SELECT id FROM clients WHERE slug = 'pos-client')",
                              "0", 10), "the expired mark is left");
    it_sql("UPDATE restaurants SET time_zone = 'UTC' WHERE client_id ="
           " (SELECT id FROM clients WHERE slug = 'pos-client')", 0, NULL);
}
END_TEST

START_TEST(test_an_86_without_the_csrf_token_is_403_and_changes_nothing)
{
    sess_t *s;
    const char *before;

    ensure_users();
    synced();
    s = login(KITCHEN);
    before = footprint();
    ck_assert_int_eq(req("POST", "/menu/items/margherita/86", s, "until=undone", 0, 0)->status, 403);
    ck_assert_int_eq(req("POST", "/menu/items/margherita/86", s, "until=undone&_csrf=forged",
                         0, 0)->status, 403);
    ck_assert_int_eq(req("POST", "/menu/items/margherita/86", s, "until=undone", 0, 1)->status, 403);
    ck_assert_int_eq(req("POST", "/menu/items/margherita/restore", s, "", 0, 0)->status, 403);
    ck_assert_str_eq(footprint(), before);
    ck_assert_msg(!sold_out_on_api("margherita"), "sold out without a token");
    /* Nor does a GET or a bad value change anything. */
    ck_assert_int_eq(req("GET", "/menu/items/margherita/86", s, NULL, 0, 0)->status, 405);
    ck_assert_int_eq(req("POST", "/menu/items/margherita/86", s, "until=forever", 1, 0)->status, 400);
    ck_assert_int_eq(req("POST", "/menu/items/margherita/eat", s, "", 1, 0)->status, 404);
    ck_assert_str_eq(footprint(), before);
}
END_TEST

START_TEST(test_another_clients_staff_get_404_and_change_nothing)
{
    sess_t *chef, *coffee;
    it_resp_t *r;
    const char *before;

    ensure_users();
    synced();
    synced_on("pos-other.localhost");
    /* An item only pos-client has (the two test menus are alike). */
    it_sql("INSERT INTO menu_items (client_id, pos_id, category, name, price_cents)"
           " SELECT id, 'chefs-special', 'pizza', 'Chef''s Special', 2100 FROM clients"
           " WHERE slug = 'pos-client' ON CONFLICT DO NOTHING", 0, NULL);
    chef = login(CHEF);
    before = footprint();
    r = req("GET", "/menu", chef, NULL, 0, 0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "Margherita"), "pos-other's own menu is not shown");
    ck_assert_msg(!strstr(r->body, "chefs-special") && !strstr(r->body, "Chef&#39;s Special"),
                  "pos-client's item shown to pos-other");
    ck_assert_int_eq(req("POST", "/menu/items/chefs-special/86", chef, "until=undone", 1, 0)->status, 404);
    ck_assert_int_eq(req("POST", "/menu/items/chefs-special/86", chef, "until=eod", 1, 1)->status, 404);
    ck_assert_int_eq(req("POST", "/menu/items/chefs-special/restore", chef, "", 1, 0)->status, 404);
    ck_assert_str_eq(footprint(), before);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM item_availability WHERE item_id = 'chefs-special'",
                            0, NULL), "0");

    /* A client that is no restaurant: a friendly page, and 404s. */
    coffee = login("staff%40coffee.example", "staff+password+1");
    r = req("GET", "/menu", coffee, NULL, 0, 0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "This client has no menu"), "%s", r->body);
    ck_assert_msg(!strstr(r->body, "Margherita"), "another client's menu shown");
    ck_assert_int_eq(req("POST", "/menu/items/margherita/86", coffee, "until=undone", 1, 0)->status, 404);
    ck_assert_int_eq(req("POST", "/menu/items/margherita/restore", coffee, "", 1, 0)->status, 404);
    ck_assert_str_eq(footprint(), before);
    ck_assert_msg(!sold_out_on_api("margherita"), "another client's staff 86'd it");
    it_sql("DELETE FROM menu_items WHERE pos_id = 'chefs-special'", 0, NULL);
}
END_TEST

START_TEST(test_an_admin_sees_the_menu_of_the_client_they_chose)
{
    sess_t *a;
    it_resp_t *r;

    synced();
    a = login("admin%40agency.example", "agency+password+1");
    ck_assert_int_eq(req("POST", "/switch", a, "client=pos-client", 1, 0)->status, 303);
    r = req("GET", "/menu", a, NULL, 0, 0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "Margherita") && strstr(r->body, "Point of sale"), "%s", r->body);
    ck_assert_int_eq(req("POST", "/switch", a, "client=coffee-shop", 1, 0)->status, 303);
    ck_assert_msg(strstr(req("GET", "/menu", a, NULL, 0, 0)->body, "This client has no menu"),
                  "the menu followed the wrong client");
}
END_TEST

/* square-pos.localhost (harness.sh) is a Square restaurant whose API is
 * never called: Square's API cannot mark items sold out, so the adapter
 * answers APR_ENOTIMPL without a request. Its menu is written here. */
START_TEST(test_a_pos_that_cannot_take_an_86_keeps_it_as_consults_override)
{
    sess_t *s;
    it_resp_t *r;
    const char *id;

    it_sql("INSERT INTO restaurants (client_id, pos_kind, pos_location) SELECT id, 'square', 'LSQTEST1'"
           " FROM clients WHERE slug = 'pos-square' ON CONFLICT (client_id) DO NOTHING", 0, NULL);
    it_sql("INSERT INTO menu_categories (client_id, pos_id, name) SELECT id, 'CATPIZZA', 'Pies'"
           " FROM clients WHERE slug = 'pos-square' ON CONFLICT DO NOTHING", 0, NULL);
    it_sql("INSERT INTO menu_items (client_id, pos_id, category, name, price_cents) SELECT id,"
           " 'SQITEMFUNGHI', 'CATPIZZA', 'Funghi', 1500 FROM clients WHERE slug = 'pos-square'"
           " ON CONFLICT DO NOTHING", 0, NULL);
    ensure_member("till@pos-square.example", "Tilly Till", "till password 1", "pos-square", "owner");
    s = login(SQUARE_STAFF);
    id = item_id("pos-square", "SQITEMFUNGHI");
    ck_assert_int_eq(req("POST", "/menu/items/SQITEMFUNGHI/86", s, "until=undone", 1, 0)->status, 303);
    ck_assert_msg(it_wait_sql("SELECT coalesce(pushed, 'null') FROM item_availability"
                              " WHERE item_id = 'SQITEMFUNGHI' AND source = 'staff'", "local", 15),
                  "the mark was not kept as Consult's own");
    ck_assert_str_eq(it_sql("SELECT state FROM jobs WHERE kind = 'pos.item.push'"
                            " AND payload->>'pos_id' = 'SQITEMFUNGHI'", 0, NULL), "done");
    ck_assert_msg(strstr(it_sql("SELECT push_error FROM item_availability WHERE item_id = 'SQITEMFUNGHI'",
                                0, NULL), "Square"), "no reason kept");
    r = req("GET", "/menu", s, NULL, 0, 0);
    ck_assert_msg(strstr(item_html(r->body, id), "Kept as Consult&#39;s override"), "%s",
                  item_html(r->body, id));
    ck_assert_msg(strstr(r->body, "<dd>Square</dd>"), "%s", r->body);
    /* And undone: nothing to tell Square either. */
    ck_assert_int_eq(req("POST", "/menu/items/SQITEMFUNGHI/restore", s, "", 1, 0)->status, 303);
    ck_assert_msg(it_wait_sql("SELECT string_agg(state, ',') FROM jobs WHERE kind = 'pos.item.push'"
                              " AND payload->>'pos_id' = 'SQITEMFUNGHI'", "done,done", 15),
                  "the un-86 job did not finish");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM item_availability WHERE item_id = 'SQITEMFUNGHI'",
                            0, NULL), "0");
}
END_TEST

/* clover-pos.localhost (harness.sh): Clover's one-time verification POST
 * is unsigned by nature; its code is kept on the restaurant's row for the
 * Menu page, and a second one replaces it. */
START_TEST(test_clovers_verification_code_is_kept_and_shown_on_the_menu_page)
{
    const char *code = "ce7643c1-83ea-4218-abe6-da876c9c7a0a";
    it_req_t w = { 0 };
    sess_t *s;
    it_resp_t *r;

    ensure_users();
    w.host = "clover-pos.localhost";
    w.path = "/webhooks/pos";
    w.content_type = "application/json";
    w.body = apr_psprintf(it_pool, "{\"verificationCode\":\"%s\"}", code);
    ck_assert_int_eq(it_http(&w)->status, 200);
    ck_assert_msg(it_wait_sql("SELECT r.pos_verification_code FROM restaurants r JOIN clients c"
                              " ON c.id = r.client_id WHERE c.slug = 'pos-clover'", code, 10),
                  "the verification code was not kept");
    ensure_member("clover@pos-clover.example", "Cleo Clover", "clover password 1", "pos-clover", "owner");
    s = login("clover%40pos-clover.example", "clover+password+1");
    r = req("GET", "/menu", s, NULL, 0, 0);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "<dd>Clover</dd>"), "%s", r->body);
    ck_assert_msg(strstr(r->body, apr_psprintf(it_pool, "<code class=\"verification-code\">%s</code>",
                                               code)), "%s", r->body);
    /* Only Clover shows one; a mock restaurant's page has none. */
    ck_assert_msg(!strstr(req("GET", "/menu", login(KITCHEN), NULL, 0, 0)->body, "verification code"),
                  "a verification code on a mock POS's page");
}
END_TEST

/* clover-pos.localhost: X-Clover-Auth is Clover's auth code itself, so a
 * delivery's journal row keeps its other headers but never that one; and
 * the unsigned verification POST, which anyone can send, is bounded (a
 * 429 past a few an hour, not journaled) and does not pass for the
 * webhook's health on the Menu page. */
START_TEST(test_clovers_auth_code_is_not_journaled_and_unsigned_codes_are_bounded)
{
    const char *auth[] = { "X-Clover-Auth: clover-test-auth-code", NULL };
    const char *slug_sql = " FROM restaurants r JOIN clients c ON c.id = r.client_id"
                           " WHERE c.slug = 'pos-clover'";
    const char *last_seen, *refused = NULL, *id;
    it_req_t w = { 0 };
    it_resp_t *r = NULL;
    int i, accepted = 0;

    w.host = "clover-pos.localhost";
    w.path = "/webhooks/pos";
    w.content_type = "application/json";
    w.headers = auth;
    id = apr_psprintf(it_pool, "CUST%ld", (long)getpid());
    w.body = apr_psprintf(it_pool, "{\"appId\":\"APPCLOVER\",\"merchants\":{\"MCLOVERTEST1\":"
                          "[{\"objectId\":\"C:%s\",\"type\":\"CREATE\",\"ts\":1700000000000}]}}", id);
    ck_assert_int_eq(it_http(&w)->status, 200);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT processed_at IS NOT NULL FROM provider_events"
                                           " WHERE provider = 'pos.clover' AND event_id LIKE '%%C:%s/%%'", id),
                              "t", 15), "the delivery was not processed");
    ck_assert_msg(!strstr(it_sql(apr_psprintf(it_pool, "SELECT headers::text FROM provider_events"
                                              " WHERE provider = 'pos.clover' AND event_id LIKE '%%C:%s/%%'",
                                              id), 0, NULL), "clover-test-auth-code"),
                  "the auth code was journaled");
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT headers ? 'Content-Type' FROM provider_events"
                                         " WHERE provider = 'pos.clover' AND event_id LIKE '%%C:%s/%%'", id),
                            0, NULL), "t");
    last_seen = it_sql(apr_pstrcat(it_pool, "SELECT last_webhook_at::text", slug_sql, NULL), 0, NULL);
    ck_assert_msg(*last_seen, "a signed delivery did not count as the webhook's health");

    /* Unsigned codes until one is refused (at most 10 an hour: 22 posts
     * reach a 429 even across an hour's turn). */
    w.headers = NULL;
    for (i = 0; i < 22; i++) {
        const char *code = apr_psprintf(it_pool, "vt-%ld-%d", (long)getpid(), i);
        w.body = apr_psprintf(it_pool, "{\"verificationCode\":\"%s\"}", code);
        r = it_http(&w);
        if (r->status == 429) {
            refused = code;
            break;
        }
        ck_assert_int_eq(r->status, 200);
        accepted++;
    }
    ck_assert_msg(refused, "22 unsigned verification posts in a row were all taken");
    ck_assert_msg(apr_table_get(r->headers, "Retry-After"), "a 429 without Retry-After");
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT count(*) FROM provider_events"
                                         " WHERE provider = 'pos.clover' AND event_id = 'verification:%s'",
                                         refused), 0, NULL), "0");
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM provider_events"
                                           " WHERE provider = 'pos.clover' AND event_id LIKE 'verification:vt-%ld-%%'"
                                           " AND processed_at IS NOT NULL", (long)getpid()),
                              apr_itoa(it_pool, accepted), 15), "the accepted codes were not all processed");
    ck_assert_str_eq(it_sql(apr_pstrcat(it_pool, "SELECT last_webhook_at::text", slug_sql, NULL), 0, NULL),
                     last_seen);
}
END_TEST

/* A journaled POS event its parser cannot read (a parser changed since
 * it came, or the POS kind) is kept with the reason and marked processed,
 * and the worker lives on to run the next job. */
START_TEST(test_an_unreadable_journaled_pos_event_is_kept_with_its_reason)
{
    const char *eid, *jid;

    eid = it_sql(apr_psprintf(it_pool, "INSERT INTO provider_events (provider, client_id, event_id, payload)"
                              " SELECT 'pos.clover', id, 'unreadable-%ld', '{\"merchants\": 7}'"
                              " FROM clients WHERE slug = 'pos-clover' RETURNING id", (long)getpid()), 0, NULL);
    ck_assert(*eid);
    jid = it_sql(apr_psprintf(it_pool, "INSERT INTO jobs (kind, payload) VALUES ('pos.event',"
                              " jsonb_build_object('event', %s)) RETURNING id", eid), 0, NULL);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobs WHERE id = %s", jid), "done", 15),
                  "the job is %s", it_sql(apr_psprintf(it_pool, "SELECT state || ' ' || attempts || ' '"
                                          " || coalesce(last_error, '') FROM jobs WHERE id = %s", jid), 0, NULL));
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT processed_at IS NOT NULL AND last_error <> ''"
                                         " FROM provider_events WHERE id = %s", eid), 0, NULL), "t");
}
END_TEST

Suite *suite_menu_dashboard(void)
{
    Suite *s = suite_create("menu_dashboard");
    TCase *tc = tcase_create("menu");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_staff_see_the_menu_with_items_and_the_pos_health);
    tcase_add_test(tc, test_86_until_undone_is_live_audited_pushed_and_restored);
    tcase_add_test(tc, test_86_for_today_ends_at_midnight_in_the_restaurants_time_zone);
    tcase_add_test(tc, test_an_86_without_the_csrf_token_is_403_and_changes_nothing);
    tcase_add_test(tc, test_another_clients_staff_get_404_and_change_nothing);
    tcase_add_test(tc, test_an_admin_sees_the_menu_of_the_client_they_chose);
    tcase_add_test(tc, test_a_pos_that_cannot_take_an_86_keeps_it_as_consults_override);
    tcase_add_test(tc, test_clovers_verification_code_is_kept_and_shown_on_the_menu_page);
    tcase_add_test(tc, test_clovers_auth_code_is_not_journaled_and_unsigned_codes_are_bounded);
    tcase_add_test(tc, test_an_unreadable_journaled_pos_event_is_kept_with_its_reason);
    suite_add_tcase(s, tc);
    return s;
}
