/* mod_consult_orders over real HTTP, against the fake Stripe and the mock
 * and fake Square POS: the whole order, prices from the server only, the
 * same checkout posted again making one order and one PaymentIntent,
 * Stripe's webhooks verified and applied once in any order, items selling
 * out before payment and after it, a POS that refuses or is down for a
 * while, tenants kept apart, and a rush for one pickup slot. */
#include "integ.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"
#include "base/cs_file.h"
#include "providers/pos/cs_pos_mock.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define SHOP "shop.localhost"
#define OTHER "shop-other.localhost"
#define SQUARE "shop-sq.localhost"
#define ADMIN "admin.localhost"

typedef struct {
    const char *host, *cookie, *csrf;
} guest_t;

static const char *between(const char *s, const char *a, const char *b)
{
    const char *p = s ? strstr(s, a) : NULL, *q;
    if (!p) return NULL;
    p += strlen(a);
    q = strstr(p, b);
    return q ? apr_pstrndup(it_pool, p, q - p) : NULL;
}

static guest_t *guest(const char *host)
{
    guest_t *g = apr_pcalloc(it_pool, sizeof(*g));
    it_req_t req = { 0 };
    it_resp_t *r;
    const char *set;
    /* The restaurant's menu, synced from its POS when Apache started. */
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) > 0 FROM menu_items m JOIN clients c"
                                       " ON c.id = m.client_id WHERE c.slug = '%s'",
                                       !strcmp(host, SHOP) ? "shop-client" : !strcmp(host, OTHER)
                                       ? "shop-other" : "shop-square"), "t", 20));
    req.host = host;
    req.path = "/order";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 200);
    set = apr_table_get(r->headers, "Set-Cookie");
    ck_assert_ptr_nonnull(set);
    ck_assert_ptr_nonnull(strstr(set, "HttpOnly"));
    ck_assert_ptr_nonnull(strstr(set, "SameSite=Lax"));
    g->host = host;
    g->cookie = apr_pstrndup(it_pool, set, strcspn(set, ";"));
    g->csrf = between(r->body, "name=\"csrf\" value=\"", "\"");
    ck_assert_ptr_nonnull(g->csrf);
    return g;
}

static it_resp_t *post(const guest_t *g, const char *path, const char *form)
{
    it_req_t req = { 0 };
    const char *hdr[3] = { apr_pstrcat(it_pool, "Cookie: ", g->cookie, NULL), NULL, NULL };
    req.host = g->host;
    req.path = path;
    req.method = "POST";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = apr_pstrcat(it_pool, "csrf=", g->csrf, "&", form, NULL);
    req.accept = "application/json";
    req.headers = hdr;
    return it_http(&req);
}

static json_object *json_of(const it_resp_t *r)
{
    cs_json_t *j = NULL;
    ck_assert_msg(cs_json_parse(&j, it_pool, r->body, r->len, NULL) == APR_SUCCESS,
                  "not JSON: %s", r->body);
    return cs_json_raw(j);
}

static json_object *json_of_str(const char *s)
{
    cs_json_t *j = NULL;
    ck_assert(cs_json_parse(&j, it_pool, s, strlen(s), NULL) == APR_SUCCESS);
    return cs_json_raw(j);
}

static apr_int64_t jint(json_object *o, const char *k)
{
    apr_int64_t v = -1;
    ck_assert_msg(cs_jint(o, k, &v), "no %s", k);
    return v;
}

static it_resp_t *add(const guest_t *g, const char *form)
{
    return post(g, "/order/cart", apr_pstrcat(it_pool, "action=add&", form, NULL));
}

static json_object *checkout(const guest_t *g, const char *extra)
{
    it_resp_t *r = post(g, "/order/checkout",
                        apr_pstrcat(it_pool, "name=Gina+Guest&email=gina%40guest.example&pickup=asap",
                                    extra ? extra : "", NULL));
    ck_assert_msg(r->status == 200, "checkout answered %ld: %s", r->status, r->body);
    return json_of(r);
}

static it_resp_t *stripe(const char *method, const char *path, const char *body)
{
    it_req_t req = { 0 };
    const char *hdr[2] = { "Authorization: Bearer sk_test_integration", NULL };
    req.base = getenv("CS_TEST_STRIPE_URL");
    req.method = method;
    req.path = path;
    req.body = body;
    if (body) req.content_type = "application/x-www-form-urlencoded";
    req.headers = hdr;
    return it_http(&req);
}

/* A fake's control API (@p env names its base URL): POST @p path with
 * the JSON @p body (or none); the fake's answer. */
static it_resp_t *fake_control(const char *env, const char *path, const char *body)
{
    it_req_t req = { 0 };
    req.base = getenv(env);
    req.method = "POST";
    req.path = path;
    req.body = body;
    if (body) req.content_type = "application/json";
    return it_http(&req);
}

/* The orders the Square fake made with reference @p pub; the line count
 * of the last in *plines. */
static int square_orders(const char *pub, int *plines)
{
    it_req_t req = { 0 };
    json_object *orders;
    apr_size_t i;
    int n = 0;
    req.base = getenv("CS_TEST_SQUARE_URL");
    req.path = "/_control/orders";
    orders = json_of(it_http(&req));
    for (i = 0; i < cs_jlen(orders); i++) {
        const char *ref = cs_jstr(cs_jat(orders, i), "reference_id");
        if (ref && !strcmp(ref, pub)) {
            n++;
            if (plines) *plines = (int)cs_jlen(cs_jarr(cs_jat(orders, i), "line_items"));
        }
    }
    return n;
}

/* The guest's card at Stripe (what Stripe.js does on the pay page). */
static void pay(const char *pi, const char *card)
{
    it_resp_t *r = stripe("POST", apr_psprintf(it_pool, "/v1/payment_intents/%s/confirm", pi),
                          apr_pstrcat(it_pool, "payment_method=", card, NULL));
    ck_assert_msg(r->status == 200 || r->status == 402, "confirm: %ld %s", r->status, r->body);
}

/* The event of @p type about @p object the fake Stripe made, as Stripe
 * would deliver it. */
static const char *event_body(const char *type, const char *object)
{
    it_resp_t *r = stripe("GET", "/v1/events", NULL);
    json_object *list = cs_jarr(json_of(r), "data");
    apr_size_t i;
    for (i = 0; i < cs_jlen(list); i++) {
        json_object *e = cs_jat(list, i), *o = cs_jobj(cs_jobj(e, "data"), "object");
        const char *id = cs_jstr(o, "id"), *pi = cs_jstr(o, "payment_intent");
        if (!strcmp(cs_jstr(e, "type"), type)
            && ((id && !strcmp(id, object)) || (pi && !strcmp(pi, object)))) {
            return apr_pstrdup(it_pool, json_object_to_json_string_ext(e, JSON_C_TO_STRING_PRETTY));
        }
    }
    ck_abort_msg("no %s event for %s", type, object);
    return NULL;
}

static const char *sign(const char *secret, apr_time_t t, const char *body)
{
    unsigned char mac[CS_SHA256_LEN];
    char hex[2 * CS_SHA256_LEN + 1];
    const char *msg = apr_psprintf(it_pool, "%" APR_INT64_T_FMT ".%s", (apr_int64_t)apr_time_sec(t), body);
    cs_hmac_sha256(mac, secret, strlen(secret), msg, strlen(msg));
    cs_hex_encode(hex, mac, CS_SHA256_LEN);
    hex[2 * CS_SHA256_LEN] = '\0';
    return apr_psprintf(it_pool, "t=%" APR_INT64_T_FMT ",v1=%s", (apr_int64_t)apr_time_sec(t), hex);
}

static it_resp_t *deliver_signed(const char *host, const char *sig, const char *body)
{
    it_req_t req = { 0 };
    const char *hdr[2] = { sig ? apr_pstrcat(it_pool, "Stripe-Signature: ", sig, NULL) : NULL, NULL };
    req.host = host;
    req.path = "/webhooks/stripe";
    req.method = "POST";
    req.content_type = "application/json";
    req.body = body;
    req.headers = hdr;
    return it_http(&req);
}

static it_resp_t *deliver(const char *host, const char *body)
{
    return deliver_signed(host, sign(getenv("CS_TEST_STRIPE_WHSEC"), apr_time_now(), body), body);
}

static const char *state_of(const char *pub)
{
    const char *p[1] = { pub };
    return it_sql("SELECT state FROM orders WHERE public_id = $1", 1, p);
}

static int wait_state(const char *pub, const char *want, int seconds)
{
    return it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM orders WHERE public_id = '%s'", pub),
                       want, seconds);
}

/* Orders the mock POS of shop.localhost holds with this external id. */
static int pos_has(const char *pub)
{
    char *buf = NULL;
    apr_size_t len = 0;
    cs_json_t *j = NULL;
    const char *path = apr_psprintf(it_pool, "%s/pos/shop-client.state.json", getenv("CS_TEST_TMP"));
    if (cs_file_read(&buf, &len, it_pool, path, 1 << 22) != APR_SUCCESS
        || cs_json_parse(&j, it_pool, buf, len, NULL) != APR_SUCCESS) {
        return 0;
    }
    return cs_jobj(cs_jobj(cs_json_raw(j), "orders"), pub) != NULL;
}

/* A paid order on shop.localhost: margherita 16" x2 and a lemonade. */
static json_object *paid_order(const guest_t *g)
{
    json_object *o;
    ck_assert_int_eq(add(g, "item=margherita&mod=size-16&qty=2&price_cents=1")->status, 200);
    ck_assert_int_eq(add(g, "item=lemonade")->status, 200);
    o = checkout(g, NULL);
    pay(cs_jstr(o, "payment_intent"), "pm_card_visa");
    return o;
}

START_TEST(test_a_whole_order_reaches_the_kitchen_priced_by_the_server)
{
    guest_t *g = guest(SHOP);
    json_object *o = paid_order(g);
    const char *pub = cs_jstr(o, "order"), *pi = cs_jstr(o, "payment_intent"), *p[1] = { pub };
    it_resp_t *r;

    /* 2 x (14.00 + 5.00) + 4.50 = 42.50; tax 8.25 % = 3.50625 -> 3.51 (half up): 46.01.
     * The price_cents the browser sent is ignored. */
    ck_assert_int_eq(jint(o, "total_cents"), 4601);
    ck_assert_str_eq(it_sql("SELECT amount FROM (SELECT 1) x, LATERAL (SELECT total_cents::text"
                            " AS amount FROM orders WHERE public_id = $1) y", 1, p), "4601");
    ck_assert_str_eq(state_of(pub), "pending_payment");
    r = deliver(SHOP, event_body("payment_intent.succeeded", pi));
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(wait_state(pub, "sent_to_pos", 15), "order is %s", state_of(pub));
    ck_assert(pos_has(pub));
    /* The order joins the guest's thread, and the guest's status page says so. */
    ck_assert_str_eq(it_sql("SELECT count(*) FROM messages m JOIN orders o ON o.conversation_id ="
                            " m.conversation_id WHERE o.public_id = $1 AND m.channel = 'order'",
                            1, p), "1");
    {
        it_req_t req = { 0 };
        req.host = SHOP;
        req.path = apr_pstrcat(it_pool, "/api/order/", pub, NULL);
        r = it_http(&req);
        ck_assert_int_eq(r->status, 200);
        ck_assert_str_eq(cs_jstr(json_of(r), "state"), "sent_to_pos");
        req.path = apr_pstrcat(it_pool, "/order/status/", pub, NULL);
        r = it_http(&req);
        ck_assert_ptr_nonnull(strstr(r->body, "Sent to the kitchen"));
    }
    ck_assert_str_eq(it_sql("SELECT string_agg(coalesce(from_state, '-') || '>' || to_state, ' '"
                            " ORDER BY e.id) FROM order_events e JOIN orders o ON o.id = e.order_id"
                            " WHERE o.public_id = $1 AND to_state IS NOT NULL", 1, p),
                     "->pending_payment pending_payment>paid paid>sent_to_pos");
}
END_TEST

START_TEST(test_the_same_checkout_twice_is_one_order_and_one_payment_intent)
{
    guest_t *g = guest(SHOP);
    json_object *a, *b, *c;
    const char *p[1];
    ck_assert_int_eq(add(g, "item=diavola&mod=size-12")->status, 200);
    a = checkout(g, NULL);
    b = checkout(g, NULL);                  /* the double click */
    c = checkout(g, NULL);                  /* a second tab */
    ck_assert_str_eq(cs_jstr(a, "order"), cs_jstr(b, "order"));
    ck_assert_str_eq(cs_jstr(a, "order"), cs_jstr(c, "order"));
    ck_assert_str_eq(cs_jstr(a, "payment_intent"), cs_jstr(c, "payment_intent"));
    p[0] = cs_jstr(a, "order");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM orders WHERE cart_id = (SELECT cart_id FROM orders"
                            " WHERE public_id = $1)", 1, p), "1");
    /* Stripe made one intent: the key was the order's each time. */
    {
        json_object *all = json_of(stripe("GET", "/_control/intents", NULL));
        apr_size_t i;
        int n = 0;
        for (i = 0; i < cs_jlen(all); i++) {
            const char *oid = cs_jstr(cs_jobj(cs_jat(all, i), "metadata"), "order_id");
            if (oid && !strcmp(oid, p[0])) n++;
        }
        ck_assert_int_eq(n, 1);
    }
    /* A changed cart is a new order; the old one is let go at once: its
     * PaymentIntent cancelled at Stripe (an open pay page can no longer
     * charge it) and its pickup points given back. */
    ck_assert_int_eq(add(g, "item=soda")->status, 200);
    ck_assert_str_ne(cs_jstr(checkout(g, NULL), "order"), p[0]);
    ck_assert_msg(wait_state(p[0], "cancelled", 15), "the old order is %s", state_of(p[0]));
    ck_assert_str_eq(it_sql("SELECT holds_capacity::text FROM orders WHERE public_id = $1", 1, p), "false");
    ck_assert_str_eq(cs_jstr(json_of(stripe("GET", apr_pstrcat(it_pool, "/v1/payment_intents/",
                                                               cs_jstr(a, "payment_intent"), NULL), NULL)),
                             "status"), "canceled");
}
END_TEST

START_TEST(test_webhooks_are_verified_and_applied_once_in_any_order)
{
    guest_t *g = guest(SHOP);
    json_object *o = paid_order(g);
    const char *pub = cs_jstr(o, "order"), *pi = cs_jstr(o, "payment_intent"), *p[1] = { pub };
    const char *ok = event_body("payment_intent.succeeded", pi), *charge = event_body("charge.succeeded", pi);
    it_resp_t *r;

    /* Forged, unsigned and stale deliveries change nothing. */
    ck_assert_int_eq(deliver_signed(SHOP, sign("whsec_wrong", apr_time_now(), ok), ok)->status, 400);
    ck_assert_int_eq(deliver_signed(SHOP, NULL, ok)->status, 400);
    ck_assert_int_eq(deliver_signed(SHOP, sign(getenv("CS_TEST_STRIPE_WHSEC"),
                                               apr_time_now() - apr_time_from_sec(400), ok), ok)->status, 400);
    sleep(1);
    ck_assert_str_eq(state_of(pub), "pending_payment");
    /* Another type first (recorded, 2xx), then the payment, three times;
     * the second signature of a rotation is enough. */
    ck_assert_int_eq(deliver(SHOP, charge)->status, 200);
    r = deliver_signed(SHOP, apr_pstrcat(it_pool, sign("whsec_old_rolled", apr_time_now(), ok), ",v1=",
                                         strstr(sign(getenv("CS_TEST_STRIPE_WHSEC"), apr_time_now(), ok),
                                                "v1=") + 3, NULL), ok);
    ck_assert_int_eq(r->status, 200);
    ck_assert_int_eq(deliver(SHOP, ok)->status, 200);
    ck_assert_int_eq(deliver(SHOP, ok)->status, 200);
    ck_assert(wait_state(pub, "sent_to_pos", 15));
    sleep(1);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM order_events e JOIN orders o ON o.id = e.order_id"
                            " WHERE o.public_id = $1 AND e.to_state = 'paid'", 1, p), "1");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM jobs WHERE kind = 'pos.order.submit'"
                            " AND payload->>'order_id' = (SELECT id::text FROM orders WHERE public_id = $1)",
                            1, p), "1");
    /* Out of order: the refund's event before the payment's. The order ends
     * refunded and the kitchen never gets it. */
    {
        guest_t *h = guest(SHOP);
        json_object *o2;
        const char *pub2, *pi2, *q[1];
        ck_assert_int_eq(add(h, "item=soda")->status, 200);
        o2 = checkout(h, NULL);
        pub2 = cs_jstr(o2, "order");
        pi2 = cs_jstr(o2, "payment_intent");
        q[0] = pub2;
        pay(pi2, "pm_card_visa");
        ck_assert_int_eq(stripe("POST", "/v1/refunds", apr_pstrcat(it_pool, "payment_intent=", pi2, NULL))
                         ->status, 200);
        ck_assert_int_eq(deliver(SHOP, event_body("charge.refunded", pi2))->status, 200);
        ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT refunded_cents > 0 FROM orders WHERE"
                                           " public_id = '%s'", pub2), "t", 10));
        ck_assert_int_eq(deliver(SHOP, event_body("payment_intent.succeeded", pi2))->status, 200);
        ck_assert_msg(wait_state(pub2, "refunded", 10), "order is %s", state_of(pub2));
        sleep(1);
        ck_assert_str_eq(it_sql("SELECT count(*) FROM jobs WHERE kind = 'pos.order.submit' AND"
                                " payload->>'order_id' = (SELECT id::text FROM orders WHERE public_id = $1)",
                                1, q), "0");
        ck_assert(!pos_has(pub2));
    }
    /* An event for a PaymentIntent we never made: recorded, answered 2xx. */
    {
        const char *stray = "{\"id\": \"evt_stray_1\", \"object\": \"event\", \"type\": \"payment_intent.succeeded\","
            " \"created\": 1, \"livemode\": false, \"data\": {\"object\": {\"id\": \"pi_unknown_1\","
            " \"object\": \"payment_intent\", \"status\": \"succeeded\", \"amount\": 999,"
            " \"amount_received\": 999, \"currency\": \"usd\", \"metadata\": {}}}}";
        ck_assert_int_eq(deliver(SHOP, stray)->status, 200);
        ck_assert(it_wait_sql("SELECT processed_at IS NOT NULL FROM provider_events"
                              " WHERE event_id = 'evt_stray_1'", "t", 10));
    }
}
END_TEST

/* A signed mock POS webhook to shop.localhost. */
static void pos_webhook(const char *body)
{
    it_req_t req = { 0 };
    const char *hdr[2] = { apr_pstrcat(it_pool, CS_POS_MOCK_SIG_HEADER, ": ",
                                       cs_pos_mock_sign(it_pool, getenv("CS_TEST_POS_SECRET"),
                                                        apr_time_now(), body, strlen(body)), NULL),
                           NULL };
    req.host = SHOP;
    req.path = "/webhooks/pos";
    req.method = "POST";
    req.content_type = "application/json";
    req.body = body;
    req.headers = hdr;
    ck_assert_int_eq(it_http(&req)->status, 200);
}

/* The mock POS says an item sold out. */
static void pos_86(const char *item, int sold_out)
{
    static int n;
    pos_webhook(apr_psprintf(it_pool, "{\"event_id\":\"evt-ord-%s-%d-%d-%d\","
                             "\"type\":\"stock.updated\",\"sold_out\":[{\"id\":\"%s\","
                             "\"sold_out\":%s}]}", item, sold_out, (int)getpid(), ++n, item,
                             sold_out ? "true" : "false"));
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) > 0 FROM item_availability a JOIN clients c"
                                       " ON c.id = a.client_id WHERE c.slug = 'shop-client'"
                                       " AND a.item_id = '%s' AND a.sold_out", item),
                          sold_out ? "t" : "f", 10));
}

START_TEST(test_an_item_that_sells_out_before_payment_stops_checkout_and_after_is_refunded)
{
    guest_t *g = guest(SHOP), *h = guest(SHOP);
    json_object *o;
    it_resp_t *r;
    const char *pub, *pi, *p[1];

    /* Added, then 86'd: checkout refuses before any charge exists. */
    ck_assert_int_eq(add(g, "item=soda")->status, 200);
    pos_86("soda", 1);
    r = post(g, "/order/checkout", "name=Gina&email=gina%40guest.example&pickup=asap");
    ck_assert_int_eq(r->status, 409);
    ck_assert_ptr_nonnull(strstr(r->body, "Italian Soda"));
    r = add(g, "item=soda");
    ck_assert_int_eq(r->status, 422);
    pos_86("soda", 0);

    /* Paid, then 86'd before the kitchen got it: the rest goes through and
     * the lemonade (4.50 + its 8.25 % tax) is refunded. */
    ck_assert_int_eq(add(h, "item=margherita&mod=size-12")->status, 200);
    ck_assert_int_eq(add(h, "item=lemonade")->status, 200);
    o = checkout(h, NULL);
    pub = cs_jstr(o, "order");
    pi = cs_jstr(o, "payment_intent");
    p[0] = pub;
    pay(pi, "pm_card_visa");
    pos_86("lemonade", 1);
    ck_assert_int_eq(deliver(SHOP, event_body("payment_intent.succeeded", pi))->status, 200);
    ck_assert(wait_state(pub, "sent_to_pos", 15));
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT f.state || ':' || amount_cents FROM order_refunds f"
                                       " JOIN orders o ON o.id = f.order_id WHERE o.public_id = '%s'", pub),
                          "succeeded:487", 15));
    ck_assert_str_eq(it_sql("SELECT string_agg(item_id || '=' || dropped, ' ' ORDER BY n) FROM order_lines"
                            " WHERE order_id = (SELECT id FROM orders WHERE public_id = $1)", 1, p),
                     "margherita=false lemonade=true");
    ck_assert(pos_has(pub));
    pos_86("lemonade", 0);
}
END_TEST

START_TEST(test_a_pos_that_refuses_refunds_and_one_that_comes_back_gets_the_order_once)
{
    it_req_t req = { 0 };
    guest_t *g;
    json_object *o;
    const char *pub, *pi, *p[1];

    /* The Square menu is synced from the fake at start. */
    ck_assert(it_wait_sql("SELECT count(*) > 0 FROM menu_items m JOIN clients c ON c.id = m.client_id"
                          " WHERE c.slug = 'shop-square'", "t", 20));
    g = guest(SQUARE);
    {
        const char *page, *item;
        req.host = SQUARE;
        req.path = "/order";
        page = it_http(&req)->body;
        item = between(page, "name=\"item\" value=\"", "\"");
        ck_assert_ptr_nonnull(item);
        /* An item without required choices: the first one listed may have them. */
        ck_assert_int_eq(add(g, apr_pstrcat(it_pool, "item=", it_sql("SELECT m.pos_id FROM menu_items m"
            " JOIN clients c ON c.id = m.client_id WHERE c.slug = 'shop-square' AND m.visible"
            " AND NOT EXISTS (SELECT 1 FROM menu_item_groups g WHERE g.client_id = m.client_id"
            " AND g.item_id = m.pos_id) ORDER BY m.pos_id LIMIT 1", 0, NULL), NULL))->status, 200);
    }
    /* Down three times, then back: one order at the POS. */
    ck_assert_int_eq(fake_control("CS_TEST_SQUARE_URL", "/_control/state",
                                  "{\"fail\": {\"status\": 503, \"times\": 3, \"path\": \"/v2/orders\"}}")
                     ->status, 200);
    o = checkout(g, NULL);
    pub = cs_jstr(o, "order");
    pi = cs_jstr(o, "payment_intent");
    p[0] = pub;
    pay(pi, "pm_card_visa");
    ck_assert_int_eq(deliver(SQUARE, event_body("payment_intent.succeeded", pi))->status, 200);
    ck_assert_msg(wait_state(pub, "sent_to_pos", 20), "order is %s", state_of(pub));
    ck_assert_int_eq(square_orders(pub, NULL), 1);

    /* Refusing (a 400 each time): failed, refunded in full, staff see why. */
    {
        guest_t *h = guest(SQUARE);
        ck_assert_int_eq(add(h, apr_pstrcat(it_pool, "item=", it_sql("SELECT item_id FROM order_lines"
            " WHERE order_id = (SELECT id FROM orders WHERE public_id = $1)", 1, p), NULL))->status, 200);
        ck_assert_int_eq(fake_control("CS_TEST_SQUARE_URL", "/_control/state", "{\"fail\": {\"status\":"
                                      " 400, \"times\": 50, \"path\": \"/v2/orders\"}}")->status, 200);
        o = checkout(h, NULL);
        pub = cs_jstr(o, "order");
        pi = cs_jstr(o, "payment_intent");
        p[0] = pub;
        pay(pi, "pm_card_visa");
        ck_assert_int_eq(deliver(SQUARE, event_body("payment_intent.succeeded", pi))->status, 200);
        ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT f.state FROM order_refunds f JOIN orders o"
                                               " ON o.id = f.order_id WHERE o.public_id = '%s'", pub),
                                  "succeeded", 20), "no refund; order is %s", state_of(pub));
        ck_assert(wait_state(pub, "refunded", 10));
        ck_assert_ptr_nonnull(strstr(it_sql("SELECT problem FROM orders WHERE public_id = $1", 1, p),
                                     "refused"));
        /* Its refusals end with it (a rule of times 0 would only add one). */
        ck_assert_int_eq(fake_control("CS_TEST_SQUARE_URL", "/_control/reset", NULL)->status, 200);
    }
}
END_TEST

/* Square at shop-square.localhost: a line sold out after payment is left
 * out and refunded before the first call; the call times out (a 503), the
 * item is back on the menu by the retry, and the retry still sends the
 * very order the first call did (one line, under the same id), so the
 * refund the guest was told of matches what the kitchen makes. */
START_TEST(test_a_retry_sends_the_kitchen_the_lines_the_first_try_did)
{
    guest_t *g;
    json_object *o;
    const char *pub, *pi, *p[1], *keep, *gone, *oid;
    int lines = -1;

    ck_assert(it_wait_sql("SELECT count(*) > 1 FROM menu_items m JOIN clients c ON c.id = m.client_id"
                          " WHERE c.slug = 'shop-square'", "t", 20));
#define PLAIN_ITEM(off) it_sql("SELECT m.pos_id FROM menu_items m JOIN clients c ON c.id = m.client_id" \
        " WHERE c.slug = 'shop-square' AND m.visible AND NOT EXISTS (SELECT 1 FROM menu_item_groups g" \
        " WHERE g.client_id = m.client_id AND g.item_id = m.pos_id) AND NOT EXISTS (SELECT 1 FROM" \
        " item_availability a WHERE a.client_id = m.client_id AND a.item_id = m.pos_id AND a.sold_out)" \
        " ORDER BY m.pos_id LIMIT 1 OFFSET " off, \
        0, NULL)
    keep = PLAIN_ITEM("0");
    gone = PLAIN_ITEM("1");
#undef PLAIN_ITEM
    ck_assert(*keep && *gone);
    g = guest(SQUARE);
    ck_assert_int_eq(add(g, apr_pstrcat(it_pool, "item=", keep, NULL))->status, 200);
    ck_assert_int_eq(add(g, apr_pstrcat(it_pool, "item=", gone, NULL))->status, 200);
    o = checkout(g, NULL);
    pub = cs_jstr(o, "order");
    pi = cs_jstr(o, "payment_intent");
    p[0] = pub;
    pay(pi, "pm_card_visa");
    oid = it_sql("SELECT id FROM orders WHERE public_id = $1", 1, p);
    /* Staff 86 the second item after payment; Square's next order call fails. */
    it_sql(apr_psprintf(it_pool, "INSERT INTO item_availability (client_id, item_id, sold_out, source, set_by)"
                        " SELECT id, '%s', true, 'staff', 'test' FROM clients WHERE slug = 'shop-square'",
                        gone), 0, NULL);
    /* No failure rule left by another test; then Square down until told. */
    ck_assert_int_eq(fake_control("CS_TEST_SQUARE_URL", "/_control/reset", NULL)->status, 200);
    ck_assert_int_eq(fake_control("CS_TEST_SQUARE_URL", "/_control/state",
                                  "{\"fail\": {\"status\": 503, \"times\": 1000, \"path\": \"/v2/orders\"}}")
                     ->status, 200);
    ck_assert_int_eq(deliver(SQUARE, event_body("payment_intent.succeeded", pi))->status, 200);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT attempts >= 1 AND last_error IS NOT NULL FROM jobs"
                                           " WHERE kind = 'pos.order.submit' AND payload->>'order_id' = '%s'",
                                           oid), "t", 20), "the first call did not fail: order is %s (%s; %s)",
                  state_of(pub), it_sql("SELECT coalesce(problem, '-') FROM orders WHERE public_id = $1", 1, p),
                  it_sql("SELECT string_agg(item_id || '=' || dropped, ' ' ORDER BY n) FROM order_lines"
                         " WHERE order_id = (SELECT id FROM orders WHERE public_id = $1)", 1, p));
    /* Back on the menu, then Square back: every call that gets through
     * comes after the item's return. */
    it_sql(apr_psprintf(it_pool, "DELETE FROM item_availability WHERE item_id = '%s' AND client_id ="
                        " (SELECT id FROM clients WHERE slug = 'shop-square')", gone), 0, NULL);
    ck_assert_int_eq(fake_control("CS_TEST_SQUARE_URL", "/_control/reset", NULL)->status, 200);
    it_sql(apr_psprintf(it_pool, "UPDATE jobs SET run_at = now() WHERE kind = 'pos.order.submit'"
                        " AND state = 'queued' AND payload->>'order_id' = '%s'", oid), 0, NULL);
    ck_assert_msg(wait_state(pub, "sent_to_pos", 20), "order is %s", state_of(pub));
    ck_assert_int_eq(square_orders(pub, &lines), 1);
    ck_assert_int_eq(lines, 1);
    ck_assert_str_eq(it_sql("SELECT string_agg(dropped::text, ' ' ORDER BY n) FROM order_lines"
                            " WHERE order_id = (SELECT id FROM orders WHERE public_id = $1)", 1, p),
                     "false true");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM order_refunds WHERE cause = 'sold_out_lines'"
                            " AND order_id = (SELECT id FROM orders WHERE public_id = $1)", 1, p), "1");
}
END_TEST

/* An unpaid order's expiry on its last attempt while Stripe is away: it
 * asks again later rather than dying, so the order does not keep its
 * pickup time for good; once Stripe answers, the order is cancelled. */
START_TEST(test_an_expiry_that_cannot_reach_stripe_asks_again_later)
{
    guest_t *g = guest(SHOP);
    json_object *o;
    const char *pub, *oid, *p[1];

    ck_assert_int_eq(add(g, "item=lemonade")->status, 200);
    o = checkout(g, NULL);
    pub = cs_jstr(o, "order");
    p[0] = pub;
    oid = it_sql("SELECT id FROM orders WHERE public_id = $1", 1, p);
    ck_assert_int_eq(fake_control("CS_TEST_STRIPE_URL", "/_control/state", "{\"fail\": {\"status\": 503,"
                                  " \"times\": 1, \"path\": \"/v1/payment_intents/*\"}}")->status, 200);
    /* Its expiry now, as its last attempt. */
    it_sql(apr_psprintf(it_pool, "UPDATE jobs SET run_at = now(), max_attempts = 1 WHERE kind = 'order.expire'"
                        " AND state = 'queued' AND payload->>'order_id' = '%s'", oid), 0, NULL);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM jobs WHERE kind = 'order.expire'"
                                           " AND state = 'queued' AND run_at > now() + interval '10 minutes'"
                                           " AND payload->>'order_id' = '%s'", oid), "1", 20),
                  "no later expiry: %s", it_sql(apr_psprintf(it_pool, "SELECT string_agg(state || ' '"
                  " || attempts || ' ' || coalesce(last_error, ''), '; ') FROM jobs WHERE kind = 'order.expire'"
                  " AND payload->>'order_id' = '%s'", oid), 0, NULL));
    ck_assert_str_eq(state_of(pub), "pending_payment");
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT count(*) FROM jobs WHERE kind = 'order.expire'"
                                         " AND state = 'dead' AND payload->>'order_id' = '%s'", oid), 0, NULL),
                     "0");
    /* Stripe is back by the time it asks again. */
    it_sql(apr_psprintf(it_pool, "UPDATE jobs SET run_at = now() WHERE kind = 'order.expire'"
                        " AND state = 'queued' AND payload->>'order_id' = '%s'", oid), 0, NULL);
    ck_assert_msg(wait_state(pub, "cancelled", 20), "the order is %s", state_of(pub));
}
END_TEST

START_TEST(test_an_order_is_seen_only_on_its_own_restaurant)
{
    guest_t *g = guest(SHOP);
    json_object *o;
    it_req_t req = { 0 };
    const char *pub;
    ck_assert_int_eq(add(g, "item=soda")->status, 200);
    o = checkout(g, NULL);
    pub = cs_jstr(o, "order");
    req.host = OTHER;
    req.path = apr_pstrcat(it_pool, "/api/order/", pub, NULL);
    ck_assert_int_eq(it_http(&req)->status, 404);
    req.path = apr_pstrcat(it_pool, "/order/pay/", pub, NULL);
    ck_assert_int_eq(it_http(&req)->status, 404);
    /* Its payment delivered to the other restaurant (signed with that one's
     * secret) is recorded there and moves nothing. */
    pay(cs_jstr(o, "payment_intent"), "pm_card_visa");
    {
        const char *ok = event_body("payment_intent.succeeded", cs_jstr(o, "payment_intent"));
        ck_assert_int_eq(deliver_signed(OTHER, sign("whsec_test_orders_other", apr_time_now(), ok), ok)
                         ->status, 200);
        ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT last_error FROM provider_events e JOIN clients c"
                                           " ON c.id = e.client_id WHERE c.slug = 'shop-other'"
                                           " AND e.event_id = '%s'", cs_jstr(json_of_str(ok), "id")),
                              "no order of this client has this PaymentIntent", 10));
        ck_assert_str_eq(state_of(pub), "pending_payment");
    }
    /* The card form is only for the browser whose cart made the order. */
    {
        guest_t *h = guest(SHOP);
        it_req_t q = { 0 };
        const char *hdr[2] = { apr_pstrcat(it_pool, "Cookie: ", h->cookie, NULL), NULL };
        q.host = SHOP;
        q.path = apr_pstrcat(it_pool, "/order/pay/", pub, NULL);
        q.headers = hdr;
        ck_assert_int_eq(it_http(&q)->status, 403);
        hdr[0] = apr_pstrcat(it_pool, "Cookie: ", g->cookie, NULL);
        ck_assert_int_eq(it_http(&q)->status, 200);
    }
    /* The cart cookie of one restaurant is not a cart at the other. */
    {
        guest_t other = *g;
        other.host = OTHER;
        ck_assert_int_eq(post(&other, "/order/cart", "action=add&item=soda")->status, 403);
    }
}
END_TEST

/* Many guests at once for one slot that holds 20 points: exactly 20 get it. */
START_TEST(test_a_rush_for_one_slot_never_overbooks_it)
{
    enum { GUESTS = 120 };
    guest_t *g[GUESTS];
    const char *slot, *page;
    it_req_t req = { 0 };
    pid_t pids[GUESTS];
    int i, won = 0, status;

    for (i = 0; i < GUESTS; i++) {
        g[i] = guest(SHOP);
        ck_assert_int_eq(add(g[i], "item=margherita&mod=size-12")->status, 200);
    }
    req.host = SHOP;
    req.path = "/order/checkout";
    {
        const char *hdr[2] = { apr_pstrcat(it_pool, "Cookie: ", g[0]->cookie, NULL), NULL };
        req.headers = hdr;
        page = it_http(&req)->body;
    }
    /* The last slot listed: no earlier test took any of it. */
    slot = NULL;
    {
        const char *p = page, *v;
        while ((v = between(p, "name=\"pickup\" value=\"", "\"")) != NULL) {
            if (strcmp(v, "asap")) slot = v;
            p = strstr(p, "name=\"pickup\" value=\"") + 20;
        }
    }
    ck_assert_ptr_nonnull(slot);
    for (i = 0; i < GUESTS; i++) {
        if ((pids[i] = fork()) == 0) {
            it_resp_t *r = post(g[i], "/order/checkout",
                                apr_pstrcat(it_pool, "name=Rush&phone=%2B15035550100&pickup=", slot, NULL));
            if (r->status == 200) _exit(0);
            /* Lost: filled between the plan and the taking, or already full. */
            if (r->status == 409 && (strstr(r->body, "slot_full") || strstr(r->body, "slot_gone"))) {
                _exit(1);
            }
            fprintf(stderr, "rush checkout: %ld %s\n", r->status, r->body);
            _exit(2);
        }
    }
    for (i = 0; i < GUESTS; i++) {
        waitpid(pids[i], &status, 0);
        ck_assert_int_ne(WEXITSTATUS(status), 2);
        if (WEXITSTATUS(status) == 0) won++;
    }
    ck_assert_int_eq(won, 20);
    {
        const char *p[1] = { slot };
        ck_assert_str_eq(it_sql("SELECT points FROM pickup_load WHERE slot_start = to_timestamp($1::bigint)"
                                " AND client_id = (SELECT id FROM clients WHERE slug = 'shop-client')", 1, p), "20");
        ck_assert_str_eq(it_sql("SELECT count(*) FROM orders WHERE slot_start = to_timestamp($1::bigint)"
                                " AND client_id = (SELECT id FROM clients WHERE slug = 'shop-client')", 1, p), "20");
    }
}
END_TEST

START_TEST(test_staff_see_a_new_order_loudly_and_move_it_to_picked_up)
{
    guest_t *g = guest(SHOP);
    json_object *o = paid_order(g);
    const char *pub = cs_jstr(o, "order"), *p[1] = { pub }, *id;
    it_session_t *owner = it_dash_login(ADMIN, "owner%40shop.example", "shop+password+1");
    it_session_t *staff = it_dash_login(ADMIN, "staff%40shop.example", "shopstaff+password+1");
    it_session_t *other = it_dash_login(ADMIN, "owner%40shop-other.example", "shopother+password+1");
    it_resp_t *r;

    ck_assert_int_eq(deliver(SHOP, event_body("payment_intent.succeeded", cs_jstr(o, "payment_intent")))
                     ->status, 200);
    ck_assert(wait_state(pub, "sent_to_pos", 15));
    id = apr_pstrdup(it_pool, it_sql("SELECT id FROM orders WHERE public_id = $1", 1, p));

    /* The alert shows until someone acknowledges the order. */
    r = it_dash(ADMIN, "GET", "/orders", staff, NULL);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(r->body, apr_psprintf(it_pool, "id=\"order-%s\" class=\"order-card state-sent_to_pos is-new\"", id)));
    ck_assert_ptr_null(strstr(r->body, "id=\"orders-alert\" class=\"orders-alert\" data-new=\"0\""));
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/ack", id), staff, "x=1")->status, 303);
    r = it_dash(ADMIN, "GET", "/orders", staff, NULL);
    ck_assert_ptr_null(strstr(r->body, apr_psprintf(it_pool, "id=\"order-%s\" class=\"order-card state-sent_to_pos is-new\"", id)));

    /* Another restaurant's owner cannot see or move it. */
    r = it_dash(ADMIN, "GET", "/orders", other, NULL);
    ck_assert_ptr_null(strstr(r->body, apr_psprintf(it_pool, "id=\"order-%s\"", id)));
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/ready", id), other, "x=1")->status, 404);
    /* No CSRF token: refused. */
    {
        it_session_t nocsrf = *staff;
        nocsrf.csrf = "wrong";
        ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/ready", id), &nocsrf,
                                 "x=1")->status, 403);
    }
    /* The kitchen's buttons, forward only; the guest's page follows. */
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/accept", id), staff, "x=1")->status, 303);
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/ready", id), staff, "x=1")->status, 303);
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/accept", id), staff, "x=1")->status, 303);
    ck_assert_str_eq(state_of(pub), "ready");
    {
        it_req_t req = { 0 };
        req.host = SHOP;
        req.path = apr_pstrcat(it_pool, "/api/order/", pub, NULL);
        ck_assert_str_eq(cs_jstr(json_of(it_http(&req)), "state"), "ready");
    }
    /* Ready is told to the guest; this test client can neither text nor
     * email, so the order's history says so for staff to call. */
    ck_assert_str_eq(it_sql("SELECT count(*) FROM order_events WHERE order_id = (SELECT id FROM orders"
                            " WHERE public_id = $1) AND reason LIKE 'Guest not told%'", 1, p), "1");
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/picked_up", id), staff, "x=1")->status, 303);
    ck_assert_str_eq(state_of(pub), "picked_up");

    /* Refunds are for owners, and audited. */
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/refund", id), staff, "x=1")->status, 403);
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/refund", id), owner, "x=1")->status, 303);
    ck_assert_int_eq(it_dash(ADMIN, "POST", apr_psprintf(it_pool, "/orders/%s/refund", id), owner, "x=1")->status, 303);
    ck_assert(wait_state(pub, "refunded", 15));
    ck_assert_str_eq(it_sql("SELECT count(*) || ':' || sum(amount_cents) FROM order_refunds WHERE order_id ="
                            " (SELECT id FROM orders WHERE public_id = $1)", 1, p), "1:4601");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM audit_log WHERE action = 'order_refund' AND target_id ="
                            " (SELECT id FROM orders WHERE public_id = $1)", 1, p), "1");
}
END_TEST

START_TEST(test_paused_ordering_says_when_it_reopens_and_takes_no_order)
{
    guest_t *g = guest(SHOP);
    it_session_t *owner = it_dash_login(ADMIN, "owner%40shop.example", "shop+password+1");
    it_req_t req = { 0 };
    it_resp_t *r;
    const char *hdr[2] = { NULL, NULL };

    ck_assert_int_eq(add(g, "item=soda")->status, 200);
    ck_assert_int_eq(it_dash(ADMIN, "POST", "/orders/pause", owner, "action=pause&minutes=30")->status, 303);
    hdr[0] = apr_pstrcat(it_pool, "Cookie: ", g->cookie, NULL);
    req.host = SHOP;
    req.path = "/order";
    req.headers = hdr;
    r = it_http(&req);
    ck_assert_ptr_nonnull(strstr(r->body, "reopens"));
    r = post(g, "/order/checkout", "name=Gina&email=gina%40guest.example&pickup=asap");
    ck_assert_int_eq(r->status, 409);
    /* Resumed, with 25 minutes added to every quote. */
    ck_assert_int_eq(it_dash(ADMIN, "POST", "/orders/pause", owner, "action=resume")->status, 303);
    ck_assert_int_eq(it_dash(ADMIN, "POST", "/orders/pause", owner, "action=extra&minutes=25")->status, 303);
    r = it_http(&req);
    ck_assert_msg(strstr(r->body, "about 40 minutes") != NULL, "no 15 + 25 minute quote in %s",
                  between(r->body, "class=\"order-plan", "</p>"));
    ck_assert_int_eq(it_dash(ADMIN, "POST", "/orders/pause", owner, "action=extra&minutes=0")->status, 303);
}
END_TEST

START_TEST(test_the_pos_saying_ready_moves_the_order_forward_only)
{
    guest_t *g = guest(SHOP);
    json_object *o = paid_order(g);
    const char *pub = cs_jstr(o, "order"), *p[1] = { pub }, *pos_id;
    ck_assert_int_eq(deliver(SHOP, event_body("payment_intent.succeeded", cs_jstr(o, "payment_intent")))
                     ->status, 200);
    ck_assert(wait_state(pub, "sent_to_pos", 15));
    pos_id = apr_pstrdup(it_pool, it_sql("SELECT pos_order_id FROM orders WHERE public_id = $1", 1, p));
    pos_webhook(apr_psprintf(it_pool, "{\"event_id\":\"evt-ord-ready-%s\",\"type\":\"order.updated\","
                             "\"order\":{\"id\":\"%s\",\"status\":\"ready\"}}", pub, pos_id));
    ck_assert_msg(wait_state(pub, "ready", 10), "order is %s", state_of(pub));
    /* A late "accepted" from the POS does not take it back. */
    pos_webhook(apr_psprintf(it_pool, "{\"event_id\":\"evt-ord-acc-%s\",\"type\":\"order.updated\","
                             "\"order\":{\"id\":\"%s\",\"status\":\"accepted\"}}", pub, pos_id));
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT processed_at IS NOT NULL FROM provider_events"
                                       " WHERE event_id = 'evt-ord-acc-%s'", pub), "t", 10));
    ck_assert_str_eq(state_of(pub), "ready");
    ck_assert_str_eq(it_sql("SELECT actor FROM order_events WHERE order_id = (SELECT id FROM orders"
                            " WHERE public_id = $1) AND to_state = 'ready'", 1, p), "pos");
}
END_TEST

Suite *suite_orders(void)
{
    Suite *s = suite_create("orders");
    TCase *tc = tcase_create("orders");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_a_whole_order_reaches_the_kitchen_priced_by_the_server);
    tcase_add_test(tc, test_the_same_checkout_twice_is_one_order_and_one_payment_intent);
    tcase_add_test(tc, test_webhooks_are_verified_and_applied_once_in_any_order);
    tcase_add_test(tc, test_an_item_that_sells_out_before_payment_stops_checkout_and_after_is_refunded);
    tcase_add_test(tc, test_a_pos_that_refuses_refunds_and_one_that_comes_back_gets_the_order_once);
    tcase_add_test(tc, test_a_retry_sends_the_kitchen_the_lines_the_first_try_did);
    tcase_add_test(tc, test_an_expiry_that_cannot_reach_stripe_asks_again_later);
    tcase_add_test(tc, test_an_order_is_seen_only_on_its_own_restaurant);
    tcase_add_test(tc, test_the_pos_saying_ready_moves_the_order_forward_only);
    tcase_add_test(tc, test_staff_see_a_new_order_loudly_and_move_it_to_picked_up);
    tcase_add_test(tc, test_paused_ordering_says_when_it_reopens_and_takes_no_order);
    tcase_add_test(tc, test_a_rush_for_one_slot_never_overbooks_it);
    suite_add_tcase(s, tc);
    return s;
}
