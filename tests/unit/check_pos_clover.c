/* The Clover adapter's own parsing and requests (cs_pos_parse.h): the
 * one-time verification code, the X-Clover-Auth check, merchant events
 * and their ids, the inventory mapping (price, hidden, available,
 * autoManage stock, groups), atomic orders, odd answers refused cleanly,
 * and the HTTP calls through an injected transport (no server). */
#include "unit.h"
#include "providers/pos/cs_pos_parse.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

#define VERIFY_BODY "{\"verificationCode\":\"ce7643c1-83ea-4218-abe6-da876c9c7a0a\"}"
#define AUTH "0307e264-b33a-4913-88aa-37b10014a0b8"

/* ---- webhooks ------------------------------------------------------------- */

static apr_status_t verify(const char *secret, const char *body, const char *header)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;
    const char *err = NULL;

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    conf.kind = "clover";
    conf.webhook_secret = secret;
    w.body = body;
    w.body_len = strlen(body);
    w.headers = apr_table_make(unit_pool, 2);
    if (header) {
        apr_table_set(w.headers, "x-clover-auth", header);
    }
    return cs_pos_clover.verify_webhook(&conf, &w, unit_pool, &err);
}

static cs_pos_event_t *event_of(const char *json)
{
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;

    if (cs_pos_clover_parse_event(&ev, json, strlen(json), unit_pool, &err) != APR_SUCCESS) {
        ck_assert_ptr_nonnull(err);
        return NULL;
    }
    return ev;
}

static const char *vcode(const char *body)
{
    return cs_pos_clover_verification_code(body, strlen(body), unit_pool);
}

START_TEST(test_clover_verification_code_is_stored_and_unsigned_by_nature)
{
    cs_pos_event_t *ev = event_of(VERIFY_BODY);

    ck_assert_int_eq(ev->kind, CS_POS_EVENT_VERIFICATION);
    ck_assert_str_eq(ev->verification_code, "ce7643c1-83ea-4218-abe6-da876c9c7a0a");
    ck_assert_str_eq(ev->event_id, "verification:ce7643c1-83ea-4218-abe6-da876c9c7a0a");
    /* it comes before anyone knows the auth code: accepted without one */
    ck_assert_int_eq(verify(NULL, VERIFY_BODY, NULL), APR_SUCCESS);
    ck_assert_int_eq(verify(AUTH, VERIFY_BODY, NULL), APR_SUCCESS);
    ck_assert_int_eq(verify(AUTH, VERIFY_BODY, "wrong"), APR_SUCCESS);
    /* but only that exact shape */
    ck_assert_ptr_null(vcode("{\"verificationCode\":\"abc\",\"merchants\":{}}"));
    ck_assert_ptr_null(vcode("{\"verificationCode\":\"<script>\"}"));
    ck_assert_ptr_null(vcode("{\"verificationCode\":7}"));
    ck_assert_ptr_null(vcode("{\"verificationCode\":\"\"}"));
    ck_assert_int_eq(verify(AUTH, "{\"verificationCode\":\"abc\",\"merchants\":{}}", NULL),
                     APR_EACCES);
}
END_TEST

#define STOCK_BODY "{\"appId\":\"APP\",\"merchants\":{\"M1\":[{\"objectId\":\"I:ITEM1\"," \
                   "\"type\":\"UPDATE\",\"ts\":1717000000000}]}}"

START_TEST(test_clover_auth_code_is_compared_exactly)
{
    ck_assert_int_eq(verify(AUTH, STOCK_BODY, AUTH), APR_SUCCESS);
    ck_assert_int_eq(verify(AUTH, STOCK_BODY, "0307e264-b33a-4913-88aa-37b10014a0b9"), APR_EACCES);
    ck_assert_int_eq(verify(AUTH, STOCK_BODY, AUTH "x"), APR_EACCES);
    ck_assert_int_eq(verify(AUTH, STOCK_BODY, ""), APR_EACCES);
    ck_assert_int_eq(verify(AUTH, STOCK_BODY, NULL), APR_EACCES);
    ck_assert_int_eq(verify(NULL, STOCK_BODY, AUTH), APR_EACCES);
    ck_assert_int_eq(verify("", STOCK_BODY, ""), APR_EACCES);
}
END_TEST

START_TEST(test_clover_events_have_stable_ids_and_kinds)
{
    cs_pos_event_t *ev = event_of(STOCK_BODY);
    char *many;
    int i;

    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    ck_assert_ptr_null(ev->stock);
    ck_assert_str_eq(ev->event_id, "M1/I:ITEM1/UPDATE/1717000000000");
    ck_assert_str_eq(ev->type, "I:UPDATE");
    ck_assert_str_eq(event_of(STOCK_BODY)->event_id, ev->event_id);    /* redelivery */
    ck_assert_str_ne(event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"I:ITEM1\",\"type\":"
                              "\"UPDATE\",\"ts\":1717000000001}]}}")->event_id, ev->event_id);

    ev = event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"I:ITEM2\",\"type\":\"CREATE\","
                  "\"ts\":1}]}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_MENU);
    ev = event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"IM:MOD1\",\"type\":\"UPDATE\","
                  "\"ts\":1}]}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_MENU);
    ev = event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"O:ORDER7\",\"type\":\"UPDATE\","
                  "\"ts\":2}]}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_ORDER);
    ck_assert_str_eq(ev->order_id, "ORDER7");
    ck_assert_ptr_null(ev->order_status);
    ev = event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"P:PAY1\",\"type\":\"CREATE\","
                  "\"ts\":2}]}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_OTHER);
    /* mixed: a menu change wins (it resyncs sold-out states too) */
    ev = event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"O:ORDER7\",\"type\":\"UPDATE\","
                  "\"ts\":2},"
                  "{\"objectId\":\"I:ITEM1\",\"type\":\"UPDATE\",\"ts\":3}],"
                  "\"M2\":[{\"objectId\":\"I:ITEM9\",\"type\":\"DELETE\",\"ts\":4}]}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_MENU);
    ck_assert_str_eq(ev->event_id, "M1/O:ORDER7/UPDATE/2,M1/I:ITEM1/UPDATE/3,M2/I:ITEM9/DELETE/4");
    /* many updates: a digest of them, still stable */
    many = "";
    for (i = 0; i < 20; i++) {
        many = apr_psprintf(unit_pool, "%s%s{\"objectId\":\"I:ITEM%d\",\"type\":\"UPDATE\","
                            "\"ts\":%d}", many, i ? "," : "", i, i);
    }
    many = apr_psprintf(unit_pool, "{\"merchants\":{\"M1\":[%s]}}", many);
    ev = event_of(many);
    ck_assert_int_eq((int)strlen(ev->event_id), 7 + 64);
    ck_assert(!strncmp(ev->event_id, "sha256:", 7));
    ck_assert_str_eq(event_of(many)->event_id, ev->event_id);
}
END_TEST

START_TEST(test_clover_odd_events_are_refused)
{
    ck_assert_ptr_null(event_of(""));
    ck_assert_ptr_null(event_of("not json"));
    ck_assert_ptr_null(event_of("[]"));
    ck_assert_ptr_null(event_of("{\"appId\":\"A\"}"));
    ck_assert_ptr_null(event_of("{\"merchants\":[]}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":{}}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":[7]}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"ITEM1\",\"type\":"
                                "\"UPDATE\",\"ts\":1}]}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"I:\",\"type\":"
                                "\"UPDATE\",\"ts\":1}]}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"I:X\",\"type\":"
                                "\"UPDATE\",\"ts\":\"1\"}]}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"I:X\",\"type\":"
                                "\"UPDATE\",\"ts\":1.5}]}}"));
    ck_assert_ptr_null(event_of("{\"merchants\":{\"M1\":[{\"objectId\":\"I:X\",\"ts\":1}]}}"));
}
END_TEST

/* ---- the inventory ---------------------------------------------------------- */

static const cs_menu_item_t *item(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->items->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(m->items, i, cs_menu_item_t).pos_id, id)) {
            return &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        }
    }
    return NULL;
}

static const cs_menu_group_t *group(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->groups->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(m->groups, i, cs_menu_group_t).pos_id, id)) {
            return &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        }
    }
    return NULL;
}

static const cs_menu_category_t *category(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->categories->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(m->categories, i, cs_menu_category_t).pos_id, id)) {
            return &APR_ARRAY_IDX(m->categories, i, cs_menu_category_t);
        }
    }
    return NULL;
}

#define CATS(id, name, sort) ",\"categories\":{\"elements\":[{\"id\":\"" id "\",\"name\":\"" name \
                             "\",\"sortOrder\":" #sort "}]}"
#define GROUPS(ids) ",\"modifierGroups\":{\"elements\":[" ids "]}"
#define GREF(id, name) "{\"id\":\"" id "\",\"name\":\"" name "\"}"
#define ITEMC(id, name, price, extra) \
    "{\"id\":\"" id "\",\"name\":\"" name "\",\"price\":" #price extra "}"

static const char *const ITEMS_PAGE = "{\"elements\":["
    ITEMC("TACOS", "Street tacos", 1050, CATS("C_TACOS", "Tacos", 1)
          GROUPS(GREF("G_PROT", "Protein") "," GREF("G_SALSA", "Salsas"))) ","
    ITEMC("FISH", "Fish tacos", 1295, CATS("C_TACOS", "Tacos", 1)) ","
    ITEMC("HORCHATA", "Horchata", 450, ",\"available\":false" CATS("C_DRINKS", "Drinks", 3)) ","
    ITEMC("JARRITOS", "Jarritos", 375, ",\"autoManage\":true,\"itemStock\":{\"quantity\":0.0}"
          CATS("C_DRINKS", "Drinks", 3)) ","
    ITEMC("COKE", "Coke", 300, ",\"autoManage\":true,\"itemStock\":{\"quantity\":12}") ","
    ITEMC("WATER", "Water", 200, ",\"autoManage\":false,\"itemStock\":{\"quantity\":0}") ","
    ITEMC("OLD", "Old soda", 200, ",\"autoManage\":true,\"itemStock\":{\"stockCount\":0}") ","
    ITEMC("STAFF", "Staff meal", 0, ",\"hidden\":true") ","
    ITEMC("TRAY", "Catering tray", 0, ",\"priceType\":\"VARIABLE\"") ","
    ITEMC("GONE", "Deleted", 100, ",\"deletedTime\":1717000000000") ","
    ITEMC("LB", "Carnitas by the pound", 1800, ",\"priceType\":\"PER_UNIT\"")
    "],\"href\":\"x\"}";

static const char *const GROUPS_PAGE = "{\"elements\":["
    "{\"id\":\"G_PROT\",\"name\":\"Protein\",\"minRequired\":1,\"maxAllowed\":1,\"modifiers\":"
    "{\"elements\":[{\"id\":\"M_CARN\",\"name\":\"Carnitas\",\"price\":0},"
    "{\"id\":\"M_ASADA\",\"name\":\"Carne asada\",\"price\":150},"
    "{\"id\":\"M_VEG\",\"name\":\"Veggies\",\"price\":0,\"available\":false}]}},"
    "{\"id\":\"G_SALSA\",\"name\":\"Salsas\",\"minRequired\":1,\"modifiers\":{\"elements\":["
    "{\"id\":\"M_VERDE\",\"name\":\"Verde\"},{\"id\":\"M_ROJA\",\"name\":\"Roja\",\"price\":25}]}},"
    "{\"id\":\"G_UNUSED\",\"name\":\"Unused\",\"modifiers\":{\"elements\":[]}}"
    "]}";

static cs_clover_catalog_t *clover_catalog(void)
{
    cs_clover_catalog_t *c = cs_pos_clover_catalog_make(unit_pool);
    const char *err = NULL;
    int n = -1;

    ck_assert_msg(cs_pos_clover_parse_items_page(c, ITEMS_PAGE, strlen(ITEMS_PAGE), &n, &err)
                  == APR_SUCCESS, "%s", err ? err : "");
    ck_assert_int_eq(n, 11);
    ck_assert_msg(cs_pos_clover_parse_groups_page(c, GROUPS_PAGE, strlen(GROUPS_PAGE), &n, &err)
                  == APR_SUCCESS, "%s", err ? err : "");
    ck_assert_int_eq(n, 3);
    return c;
}

START_TEST(test_clover_items_map_price_visibility_and_sold_out)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_pos_clover_build_menu(&m, clover_catalog(), unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(item(m, "FISH")->price_cents, 1295);
    ck_assert_int_eq(item(m, "FISH")->sold_out, 0);
    ck_assert_int_eq(item(m, "HORCHATA")->sold_out, 1);
    ck_assert_int_eq(item(m, "JARRITOS")->sold_out, 1);     /* autoManage, none left */
    ck_assert_int_eq(item(m, "COKE")->sold_out, 0);
    ck_assert_int_eq(item(m, "WATER")->sold_out, 0);        /* stock not managed */
    ck_assert_int_eq(item(m, "OLD")->sold_out, 1);          /* the deprecated count */
    ck_assert_int_eq(item(m, "STAFF")->visible, 0);
    ck_assert_int_eq(item(m, "FISH")->visible, 1);
    ck_assert_ptr_null(item(m, "TRAY"));
    ck_assert_ptr_null(item(m, "GONE"));
    ck_assert_int_eq(item(m, "LB")->price_cents, 1800);
    ck_assert_int_eq(m->items->nelts, 9);
    ck_assert_str_eq(item(m, "TACOS")->category_id, "C_TACOS");
    ck_assert_str_eq(item(m, "COKE")->category_id, CS_POS_NO_CATEGORY);
    ck_assert_int_eq(category(m, "C_DRINKS")->sort, 3);
    ck_assert_str_eq(category(m, "C_DRINKS")->name, "Drinks");
    ck_assert_ptr_nonnull(category(m, CS_POS_NO_CATEGORY));
    ck_assert_int_eq(m->categories->nelts, 3);
}
END_TEST

START_TEST(test_clover_groups_take_bounds_and_modifiers_from_the_listing)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;
    const cs_menu_group_t *prot, *salsa;
    apr_array_header_t *st;
    int i, veg = -1, tacos = -1;

    ck_assert_int_eq(cs_pos_clover_build_menu(&m, clover_catalog(), unit_pool, &err), APR_SUCCESS);
    prot = group(m, "G_PROT");
    salsa = group(m, "G_SALSA");
    ck_assert_int_eq(prot->min, 1);
    ck_assert_int_eq(prot->max, 1);
    ck_assert_int_eq(prot->modifiers->nelts, 3);
    ck_assert_int_eq(APR_ARRAY_IDX(prot->modifiers, 1, cs_menu_modifier_t).price_cents, 150);
    ck_assert_int_eq(APR_ARRAY_IDX(prot->modifiers, 2, cs_menu_modifier_t).sold_out, 1);
    /* minRequired 1 and no maxAllowed: up to all of them */
    ck_assert_int_eq(salsa->min, 1);
    ck_assert_int_eq(salsa->max, 2);
    ck_assert_int_eq(APR_ARRAY_IDX(salsa->modifiers, 1, cs_menu_modifier_t).price_cents, 25);
    ck_assert_ptr_null(group(m, "G_UNUSED"));
    ck_assert_int_eq(item(m, "TACOS")->group_ids->nelts, 2);
    st = cs_pos_clover_build_stock(clover_catalog(), unit_pool);
    for (i = 0; i < st->nelts; i++) {
        const cs_menu_stock_t *s = &APR_ARRAY_IDX(st, i, cs_menu_stock_t);
        if (!strcmp(s->pos_id, "M_VEG")) {
            veg = s->sold_out;
        }
        if (!strcmp(s->pos_id, "TACOS")) {
            tacos = s->sold_out;
        }
    }
    ck_assert_int_eq(veg, 1);
    ck_assert_int_eq(tacos, 0);
}
END_TEST

START_TEST(test_clover_odd_inventory_answers_are_refused_cleanly)
{
    static const char *const bad[] = {
        "", "nope", "[]", "{\"elements\":{}}", "{\"elements\":[7]}",
        "{\"elements\":[{\"name\":\"No id\"}]}",
        "{\"elements\":[{\"id\":\"A\"}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":5}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"price\":\"450\"}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"price\":4.5}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"price\":-1}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"price\":99999999999999999999}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"price\":1e300}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"available\":\"no\"}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"itemStock\":{\"quantity\":\"0\"}}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"itemStock\":7}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"categories\":[]}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"categories\":{\"elements\":[{}]}}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"modifierGroups\":{\"elements\":"
        "[{\"id\":\"G\",\"minRequired\":-1}]}}]}",
        "{\"elements\":[{\"id\":\"A\",\"name\":\"A\",\"modifierGroups\":{\"elements\":"
        "[{\"id\":\"G\",\"maxAllowed\":\"3\"}]}}]}",
    };
    static const char *const bad_groups[] = {
        "{\"elements\":[{\"id\":\"G\",\"modifiers\":{\"elements\":[{\"id\":\"M\"}]}}]}",
        "{\"elements\":[{\"id\":\"G\",\"modifiers\":{\"elements\":[{\"id\":\"M\",\"name\":\"M\","
        "\"price\":1000000000000}]}}]}",
        "{\"elements\":[{\"id\":\"G\",\"modifiers\":[]}]}",
        "{\"elements\":[{\"id\":\"G\",\"minRequired\":100000}]}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cs_clover_catalog_t *c = cs_pos_clover_catalog_make(unit_pool);
        const char *err = NULL;
        int n;
        ck_assert_msg(cs_pos_clover_parse_items_page(c, bad[i], strlen(bad[i]), &n, &err)
                      == APR_EINVAL, "accepted: %s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    for (i = 0; i < sizeof(bad_groups) / sizeof(bad_groups[0]); i++) {
        cs_clover_catalog_t *c = cs_pos_clover_catalog_make(unit_pool);
        const char *err = NULL;
        int n;
        ck_assert_msg(cs_pos_clover_parse_groups_page(c, bad_groups[i], strlen(bad_groups[i]),
                                                      &n, &err) == APR_EINVAL,
                      "accepted: %s", bad_groups[i]);
    }
}
END_TEST

/* ---- orders ------------------------------------------------------------------ */

static cs_pos_order_t *order_of(const char *ext, int qty)
{
    cs_pos_order_t *o = apr_pcalloc(unit_pool, sizeof(*o));
    cs_pos_line_t *l;

    o->external_id = ext;
    o->customer_name = "Grace Hopper";
    o->customer_phone = "+15550001111";
    o->lines = apr_array_make(unit_pool, 1, sizeof(cs_pos_line_t));
    l = apr_array_push(o->lines);
    memset(l, 0, sizeof(*l));
    l->item_id = "TACOS";
    l->quantity = qty;
    l->note = "extra lime";
    l->modifier_ids = apr_array_make(unit_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(l->modifier_ids, const char *) = "M_CARN";
    APR_ARRAY_PUSH(l->modifier_ids, const char *) = "M_VERDE";
    return o;
}

static json_object *json_of(const char *s)
{
    cs_json_t *doc;
    const char *err = NULL;

    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, s, strlen(s), &err), APR_SUCCESS);
    return cs_json_raw(doc);
}

START_TEST(test_clover_atomic_order_has_a_line_item_per_unit_and_our_reference)
{
    const char *body, *err = NULL;
    json_object *cart, *lines, *li;

    ck_assert_int_eq(cs_pos_clover_order_request(&body, order_of("ord-9", 2), unit_pool, &err),
                     APR_SUCCESS);
    cart = cs_jobj(json_of(body), "orderCart");
    ck_assert_str_eq(cs_jstr(cart, "externalReferenceId"), "ord-9");
    ck_assert_str_eq(cs_jstr(cart, "title"), "Grace Hopper");
    ck_assert_ptr_nonnull(strstr(cs_jstr(cart, "note"), "ord-9"));
    lines = cs_jarr(cart, "lineItems");
    ck_assert_int_eq((int)cs_jlen(lines), 2);
    li = cs_jat(lines, 1);
    ck_assert_str_eq(cs_jstr(cs_jobj(li, "item"), "id"), "TACOS");
    ck_assert_str_eq(cs_jstr(li, "note"), "extra lime");
    ck_assert_int_eq((int)cs_jlen(cs_jarr(li, "modifications")), 2);
    ck_assert_str_eq(cs_jstr(cs_jobj(cs_jat(cs_jarr(li, "modifications"), 1), "modifier"), "id"),
                     "M_VERDE");
    ck_assert_int_eq(cs_pos_clover_order_request(&body, order_of("ord-9", 0), unit_pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(cs_pos_clover_order_request(&body, order_of("ord-9", 101), unit_pool, &err),
                     APR_EINVAL);
    ck_assert_int_eq(cs_pos_clover_order_request(&body, order_of("", 1), unit_pool, &err),
                     APR_EINVAL);
}
END_TEST

static const char *state_of(const char *json)
{
    cs_pos_order_result_t *r = NULL;
    const char *err = NULL;

    if (cs_pos_clover_parse_order(&r, json, strlen(json), unit_pool, &err) != APR_SUCCESS) {
        return NULL;
    }
    return r->status;
}

START_TEST(test_clover_order_states_and_lookups)
{
    cs_pos_order_result_t *r = (void *)1;
    const char *err = NULL;

    ck_assert_str_eq(state_of("{\"id\":\"O1\",\"state\":\"open\"}"), CS_POS_ORDER_ACCEPTED);
    ck_assert_str_eq(state_of("{\"id\":\"O1\",\"state\":\"locked\"}"), CS_POS_ORDER_COMPLETED);
    ck_assert_str_eq(state_of("{\"id\":\"O1\"}"), CS_POS_ORDER_PENDING);
    ck_assert_str_eq(state_of("{\"id\":\"O1\",\"state\":\"open\",\"deletedTime\":5}"),
                     CS_POS_ORDER_CANCELLED);
    ck_assert_ptr_null(state_of("{\"state\":\"open\"}"));
    ck_assert_ptr_null(state_of("{\"id\":1}"));
    ck_assert_ptr_null(state_of("[]"));
    ck_assert_int_eq(cs_pos_clover_parse_order_list(&r, "{\"elements\":[]}", 15, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(cs_pos_clover_parse_order_list(&r, "{\"elements\":[{\"id\":\"O2\"}]}", 26,
                                                    unit_pool, &err), APR_SUCCESS);
    ck_assert_str_eq(r->pos_order_id, "O2");
    ck_assert_int_eq(cs_pos_clover_parse_order_list(&r, "{\"elements\":{}}", 15, unit_pool, &err),
                     APR_EINVAL);
}
END_TEST

/* ---- the adapter over an injected transport ---------------------------------------- */

#define MAX_CALLS 16

static struct {
    int n, next;
    const char *url[MAX_CALLS], *method[MAX_CALLS], *body[MAX_CALLS], *bearer[MAX_CALLS];
    long status[MAX_CALLS];
    const char *answer[MAX_CALLS];
} tx;

static void script(long status, const char *answer)
{
    ck_assert_int_lt(tx.n, MAX_CALLS);
    tx.status[tx.n] = status;
    tx.answer[tx.n++] = answer;
}

static apr_status_t scripted_send(cs_http_resp_t **presp, apr_pool_t *p,
                                  const cs_http_req_t *req, const char **perr)
{
    cs_http_resp_t *r;
    int i = tx.next++;

    ck_assert_msg(i < tx.n, "unexpected request %s", req->url);
    tx.url[i] = apr_pstrdup(unit_pool, req->url);
    tx.method[i] = req->method ? req->method : (req->body ? "POST" : "GET");
    tx.body[i] = req->body ? apr_pstrdup(unit_pool, req->body) : NULL;
    tx.bearer[i] = req->bearer ? apr_pstrdup(unit_pool, req->bearer) : NULL;
    r = apr_pcalloc(p, sizeof(*r));
    r->status = tx.status[i];
    r->body = tx.answer[i];
    r->len = strlen(r->body);
    r->headers = apr_table_make(p, 1);
    *presp = r;
    return APR_SUCCESS;
}

static cs_pos_conf_t http_conf;
static cs_pos_session_t http_sess;

static void http_setup(void)
{
    unit_pool_setup();
    memset(&tx, 0, sizeof(tx));
    memset(&http_conf, 0, sizeof(http_conf));
    http_conf.kind = "clover";
    http_conf.api_base = "https://clover.test";
    http_conf.location = "MID1";
    http_conf.access_token = "clv-token";
    memset(&http_sess, 0, sizeof(http_sess));
    http_sess.conf = &http_conf;
    http_sess.send = scripted_send;
}

#define EL(id) "{\"id\":\"" id "\",\"name\":\"" id "\",\"price\":100}"

START_TEST(test_clover_pages_until_a_page_shorter_than_the_ones_before)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    /* a server giving 2 per page, whatever the limit asked */
    script(200, "{\"elements\":[" EL("A") "," EL("B") "]}");
    script(200, "{\"elements\":[" EL("C") "," EL("D") "]}");
    script(200, "{\"elements\":[" EL("E") "]}");
    script(200, "{\"elements\":[]}");
    ck_assert_int_eq(cs_pos_clover.fetch_menu(&m, &http_sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(tx.next, 4);
    ck_assert_str_eq(tx.url[0], "https://clover.test/v3/merchants/MID1/items?expand=categories,"
                                "modifierGroups,itemStock&limit=100&offset=0");
    ck_assert_str_eq(tx.url[1], "https://clover.test/v3/merchants/MID1/items?expand=categories,"
                                "modifierGroups,itemStock&limit=100&offset=2");
    ck_assert_str_eq(tx.url[2], "https://clover.test/v3/merchants/MID1/items?expand=categories,"
                                "modifierGroups,itemStock&limit=100&offset=4");
    ck_assert_str_eq(tx.url[3], "https://clover.test/v3/merchants/MID1/modifier_groups?"
                                "expand=modifiers&limit=100&offset=0");
    ck_assert_str_eq(tx.bearer[0], "clv-token");
    ck_assert_int_eq(m->items->nelts, 5);
}
END_TEST

START_TEST(test_clover_submit_finds_an_earlier_order_before_creating_one)
{
    cs_pos_order_result_t *r = NULL;
    const char *err = NULL;

    script(200, "{\"elements\":[{\"id\":\"ORD1\",\"state\":\"open\"}]}");
    ck_assert_int_eq(cs_pos_clover.submit_order(&r, &http_sess, order_of("ord 1", 1), unit_pool,
                                                &err), APR_SUCCESS);
    ck_assert_str_eq(r->pos_order_id, "ORD1");
    ck_assert_int_eq(tx.next, 1);
    ck_assert_str_eq(tx.url[0], "https://clover.test/v3/merchants/MID1/orders?filter="
                                "externalReferenceId%3Dord%201");

    script(200, "{\"elements\":[]}");
    script(200, "{\"id\":\"ORD2\",\"state\":\"open\"}");
    ck_assert_int_eq(cs_pos_clover.submit_order(&r, &http_sess, order_of("ord-2", 1), unit_pool,
                                                &err), APR_SUCCESS);
    ck_assert_str_eq(r->pos_order_id, "ORD2");
    ck_assert_str_eq(tx.method[2], "POST");
    ck_assert_str_eq(tx.url[2], "https://clover.test/v3/merchants/MID1/atomic_order/orders");
    ck_assert_ptr_nonnull(strstr(tx.body[2], "\"externalReferenceId\":\"ord-2\""));
}
END_TEST

START_TEST(test_clover_set_sold_out_posts_available)
{
    const char *err = NULL;

    script(200, "{\"id\":\"TACOS\",\"available\":false}");
    script(404, "{\"message\":\"Not Found\"}");
    ck_assert_int_eq(cs_pos_clover.set_sold_out(&http_sess, "TACOS", 1, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(tx.url[0], "https://clover.test/v3/merchants/MID1/items/TACOS");
    ck_assert_str_eq(tx.body[0], "{\"available\":false}");
    ck_assert_int_eq(cs_pos_clover.set_sold_out(&http_sess, "NOPE", 0, unit_pool, &err),
                     APR_EINVAL);
    ck_assert_str_eq(tx.body[1], "{\"available\":true}");
    http_conf.access_token = "";
    ck_assert_int_eq(cs_pos_clover.set_sold_out(&http_sess, "TACOS", 0, unit_pool, &err),
                     APR_EACCES);
    ck_assert_int_eq(tx.next, 2);
}
END_TEST

Suite *pos_clover_suite(void)
{
    Suite *s = suite_create("pos_clover");
    TCase *tc = tcase_create("clover_parse");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_clover_verification_code_is_stored_and_unsigned_by_nature);
    tcase_add_test(tc, test_clover_auth_code_is_compared_exactly);
    tcase_add_test(tc, test_clover_events_have_stable_ids_and_kinds);
    tcase_add_test(tc, test_clover_odd_events_are_refused);
    tcase_add_test(tc, test_clover_items_map_price_visibility_and_sold_out);
    tcase_add_test(tc, test_clover_groups_take_bounds_and_modifiers_from_the_listing);
    tcase_add_test(tc, test_clover_odd_inventory_answers_are_refused_cleanly);
    tcase_add_test(tc, test_clover_atomic_order_has_a_line_item_per_unit_and_our_reference);
    tcase_add_test(tc, test_clover_order_states_and_lookups);
    suite_add_tcase(s, tc);

    tc = tcase_create("clover_http");
    tcase_add_checked_fixture(tc, http_setup, unit_pool_teardown);
    tcase_add_test(tc, test_clover_pages_until_a_page_shorter_than_the_ones_before);
    tcase_add_test(tc, test_clover_submit_finds_an_earlier_order_before_creating_one);
    tcase_add_test(tc, test_clover_set_sold_out_posts_available);
    suite_add_tcase(s, tc);
    return s;
}
