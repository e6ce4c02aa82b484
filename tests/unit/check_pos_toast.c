/* The Toast adapter: exact decimal prices, the menus v2, stock and webhook
 * parsers, the Toast-Signature check against a vector computed outside
 * this code base, and the adapter against tests/fakes/fake_toast.py:
 * machine-client login and token refresh (before expiry, after a 401),
 * menus, stock, marking items out of stock, idempotent orders. */
#include "unit.h"
#include "pos_fixture.h"
#include "base/cs_json.h"
#include "http/cs_http.h"
#include "providers/pos/cs_pos_parse.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define SODA       "30000000-0000-4000-8000-000000000010"
#define COFFEE     "30000000-0000-4000-8000-000000000007"
#define MARGHERITA "30000000-0000-4000-8000-000000000001"
#define TIRAMISU   "30000000-0000-4000-8000-000000000012"
#define PARTY_TRAY "30000000-0000-4000-8000-000000000013"
#define SIZE_GROUP "40000000-0000-4000-8000-000000000001"
#define LARGE      "50000000-0000-4000-8000-000000000011"
#define LOGIN_PATH "/authentication/v1/authentication/login"

/* ---- pure parsers ------------------------------------------------------------ */

static json_object *parse(const char *text)
{
    cs_json_t *doc = NULL;
    const char *err = NULL;

    ck_assert_msg(cs_json_parse(&doc, unit_pool, text, strlen(text), &err) == APR_SUCCESS,
                  "%s: %s", text, err ? err : "?");
    return cs_json_raw(doc);
}

static apr_status_t price_of(const char *json_value, apr_int64_t *pcents)
{
    json_object *o = parse(apr_pstrcat(unit_pool, "{\"price\":", json_value, "}", NULL));
    json_object *v = NULL;

    json_object_object_get_ex(o, "price", &v);
    return cs_pos_toast_price_cents(pcents, v);
}

START_TEST(test_decimal_prices_become_exact_cents)
{
    static const struct { const char *json; apr_int64_t cents; } ok[] = {
        { "12.10", 1210 }, { "12.1", 1210 }, { "12", 1200 }, { "\"0.50\"", 50 },
        { "0.5", 50 }, { "9", 900 }, { "0", 0 }, { "0.07", 7 }, { "19.99", 1999 },
        { "12.100", 1210 }, { "\"12.10\"", 1210 }, { "99999999.99", 9999999999LL },
    };
    static const char *const bad[] = {
        "0.005", "-1", "-0.5", "1e3", "1E3", "1.5e2", "null", "true", "\"\"",
        "\"12,10\"", "\" 12\"", "\"12.1.0\"", "\"abc\"", "[]", "{}", "123456789012",
        "18446744073709551616",
    };
    apr_int64_t c;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        c = -1;
        ck_assert_msg(price_of(ok[i].json, &c) == APR_SUCCESS, "%s refused", ok[i].json);
        ck_assert_msg(c == ok[i].cents, "%s: %" APR_INT64_T_FMT " cents", ok[i].json, c);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(price_of(bad[i], &c) == APR_EINVAL, "%s accepted", bad[i]);
        ck_assert_int_eq(c, 0);
    }
    ck_assert_int_eq(cs_pos_toast_price_cents(&c, NULL), APR_EINVAL);
}
END_TEST

/* A menus v2 answer, written the way Toast writes one. */
#define ITEM(guid, name, price, refs, vis) \
    "{\"guid\":\"" guid "\",\"name\":\"" name "\",\"description\":\"\",\"image\":null," \
    "\"price\":" price ",\"visibility\":" vis ",\"modifierGroupReferences\":" refs "}"
#define ALL "[\"POS\",\"ORDERING_PARTNERS\"]"

static const char *nested_menu(void)
{
    return "{\"restaurantGuid\":\"r\",\"menus\":[{\"guid\":\"m1\",\"name\":\"All day\","
        "\"visibility\":" ALL ",\"menuGroups\":["
        "{\"guid\":\"g-drinks\",\"name\":\"Drinks\",\"visibility\":" ALL ","
        " \"menuItems\":[" ITEM("i-water", "Water", "1", "[]", ALL) "],"
        " \"menuGroups\":["
        "  {\"guid\":\"g-hot\",\"name\":\"Hot\",\"visibility\":null,\"menuItems\":[],"
        "   \"menuGroups\":["
        "    {\"guid\":\"g-tea\",\"name\":\"Tea\",\"menuGroups\":[],\"menuItems\":["
               ITEM("i-green", "Green tea", "2.5", "[2]", ALL) ","
               ITEM("i-black", "Black tea", "2.25", "[2]", "[\"POS\"]") "]}]},"
        "  {\"guid\":\"g-cold\",\"name\":\"Cold\",\"menuGroups\":[],\"menuItems\":["
             ITEM("i-soda", "Soda", "2", "[]", ALL) "]}]},"
        "{\"guid\":\"g-food\",\"name\":\"Food\",\"visibility\":[\"POS\"],\"menuGroups\":[],"
        " \"menuItems\":[" ITEM("i-pie", "Pie", "5.10", "[1,1,2]", ALL) ","
                          ITEM("i-open", "Open price", "null", "[]", ALL) ","
                          ITEM("i-water", "Water again", "1", "[]", ALL) "]}]}],"
        "\"modifierGroupReferences\":{"
        " \"1\":{\"referenceId\":1,\"guid\":\"mg-size\",\"name\":\"Size\","
        "  \"minSelections\":0,\"maxSelections\":null,\"requiredMode\":\"REQUIRED\","
        "  \"isMultiSelect\":false,\"modifierOptionReferences\":[10,11,12]},"
        " \"2\":{\"referenceId\":2,\"guid\":\"mg-extra\",\"name\":\"Extras\","
        "  \"minSelections\":0,\"maxSelections\":null,\"requiredMode\":\"OPTIONAL\","
        "  \"isMultiSelect\":true,\"modifierOptionReferences\":[12,13]}},"
        "\"modifierOptionReferences\":{"
        " \"10\":{\"referenceId\":10,\"guid\":\"o-small\",\"name\":\"Small\",\"price\":0},"
        " \"11\":{\"referenceId\":11,\"guid\":\"o-large\",\"name\":\"Large\",\"price\":1.5},"
        " \"12\":{\"referenceId\":12,\"guid\":\"o-honey\",\"name\":\"Honey\",\"price\":0.25},"
        " \"13\":{\"referenceId\":13,\"guid\":\"o-lemon\",\"name\":\"Lemon\",\"price\":null}},"
        "\"preModifierGroupReferences\":{}}";
}

static const cs_menu_item_t *item(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->items->nelts; i++) {
        const cs_menu_item_t *it = &APR_ARRAY_IDX(m->items, i, cs_menu_item_t);
        if (!strcmp(it->pos_id, id)) {
            return it;
        }
    }
    return NULL;
}

static const cs_menu_category_t *category(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->categories->nelts; i++) {
        const cs_menu_category_t *c = &APR_ARRAY_IDX(m->categories, i, cs_menu_category_t);
        if (!strcmp(c->pos_id, id)) {
            return c;
        }
    }
    return NULL;
}

static const cs_menu_group_t *group(const cs_menu_t *m, const char *id)
{
    int i;

    for (i = 0; i < m->groups->nelts; i++) {
        const cs_menu_group_t *g = &APR_ARRAY_IDX(m->groups, i, cs_menu_group_t);
        if (!strcmp(g->pos_id, id)) {
            return g;
        }
    }
    return NULL;
}

START_TEST(test_nested_menu_groups_are_flattened_in_order)
{
    const char *body = nested_menu(), *err = NULL;
    cs_menu_t *m = NULL;
    const cs_menu_category_t *c;

    ck_assert_msg(cs_pos_toast_parse_menu(&m, body, strlen(body), unit_pool, &err)
                  == APR_SUCCESS, "%s", err ? err : "?");
    /* Groups with items of their own, depth first; "Hot" holds none. */
    ck_assert_int_eq(m->categories->nelts, 4);
    c = &APR_ARRAY_IDX(m->categories, 0, cs_menu_category_t);
    ck_assert_str_eq(c->pos_id, "g-drinks");
    ck_assert_str_eq(c->name, "Drinks");
    c = &APR_ARRAY_IDX(m->categories, 1, cs_menu_category_t);
    ck_assert_str_eq(c->pos_id, "g-tea");
    ck_assert_str_eq(c->name, "Drinks / Hot / Tea");
    ck_assert_int_eq(c->sort, 1);
    c = &APR_ARRAY_IDX(m->categories, 2, cs_menu_category_t);
    ck_assert_str_eq(c->name, "Drinks / Cold");
    ck_assert_int_eq(c->sort, 2);
    ck_assert_ptr_null(category(m, "g-hot"));
    ck_assert_str_eq(category(m, "g-food")->name, "Food");
    ck_assert_int_eq(category(m, "g-food")->sort, 3);

    ck_assert_str_eq(item(m, "i-green")->category_id, "g-tea");
    ck_assert_int_eq(item(m, "i-green")->price_cents, 250);
    ck_assert_int_eq(item(m, "i-black")->sort, 1);
    ck_assert_int_eq(item(m, "i-pie")->price_cents, 510);
    /* Water stays in its first place; an open price is not sold here. */
    ck_assert_str_eq(item(m, "i-water")->category_id, "g-drinks");
    ck_assert_str_eq(item(m, "i-water")->name, "Water");
    ck_assert_ptr_null(item(m, "i-open"));
    ck_assert_int_eq(m->items->nelts, 5);
    ck_assert_ptr_null(item(m, "i-water")->description);

    /* Visibility: ORDERING_PARTNERS on the item and every parent. */
    ck_assert_int_eq(item(m, "i-green")->visible, 1);
    ck_assert_int_eq(item(m, "i-black")->visible, 0);
    ck_assert_int_eq(item(m, "i-pie")->visible, 0);      /* group is POS only */
    ck_assert_int_eq(item(m, "i-soda")->visible, 1);
    ck_assert_int_eq(item(m, "i-soda")->prep_points, 1);
}
END_TEST

START_TEST(test_modifier_groups_resolve_references_and_selection_rules)
{
    const char *body = nested_menu(), *err = NULL;
    cs_menu_t *m = NULL;
    const cs_menu_group_t *size, *extra;
    const cs_menu_item_t *pie;

    ck_assert_int_eq(cs_pos_toast_parse_menu(&m, body, strlen(body), unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(m->groups->nelts, 2);
    size = group(m, "mg-size");
    /* REQUIRED forces a choice; isMultiSelect false with no maximum is one. */
    ck_assert_int_eq(size->min, 1);
    ck_assert_int_eq(size->max, 1);
    ck_assert_int_eq(size->modifiers->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(size->modifiers, 1, cs_menu_modifier_t).pos_id, "o-large");
    ck_assert_int_eq(APR_ARRAY_IDX(size->modifiers, 1, cs_menu_modifier_t).price_cents, 150);
    extra = group(m, "mg-extra");
    /* Optional, no maximum: any number; the unpriced option is left out. */
    ck_assert_int_eq(extra->min, 0);
    ck_assert_int_eq(extra->max, 0);
    ck_assert_int_eq(extra->modifiers->nelts, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(extra->modifiers, 0, cs_menu_modifier_t).price_cents, 25);
    /* The same option in two groups is one modifier in each. */
    ck_assert_str_eq(APR_ARRAY_IDX(extra->modifiers, 0, cs_menu_modifier_t).pos_id, "o-honey");

    pie = item(m, "i-pie");
    ck_assert_int_eq(pie->group_ids->nelts, 2);      /* [1,1,2]: no repeat */
    ck_assert_str_eq(APR_ARRAY_IDX(pie->group_ids, 0, const char *), "mg-size");
    ck_assert_str_eq(APR_ARRAY_IDX(pie->group_ids, 1, const char *), "mg-extra");
}
END_TEST

static apr_status_t menu_from(const char *body, cs_menu_t **pm, const char **perr)
{
    *perr = NULL;
    return cs_pos_toast_parse_menu(pm, body, strlen(body), unit_pool, perr);
}

START_TEST(test_broken_menus_are_refused)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;
    char *deep;
    int i;

    ck_assert_int_eq(menu_from("{\"menus\":[", &m, &err), APR_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(menu_from("[]", &m, &err), APR_EINVAL);
    ck_assert_int_eq(menu_from("{\"restaurantGuid\":\"r\"}", &m, &err), APR_EINVAL);
    /* an item naming a group the answer lacks */
    ck_assert_int_eq(menu_from("{\"menus\":[{\"menuGroups\":[{\"guid\":\"g\",\"name\":\"G\","
                               "\"menuItems\":[" ITEM("i", "I", "1", "[7]", ALL) "]}]}],"
                               "\"modifierGroupReferences\":{}}", &m, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "7"));
    /* prices Toast never writes */
    ck_assert_int_eq(menu_from("{\"menus\":[{\"menuGroups\":[{\"guid\":\"g\",\"name\":\"G\","
                               "\"menuItems\":[" ITEM("i", "I", "1.005", "[]", ALL) "]}]}]}",
                               &m, &err), APR_EINVAL);
    ck_assert_int_eq(menu_from("{\"menus\":[{\"menuGroups\":[{\"guid\":\"g\",\"name\":\"G\","
                               "\"menuItems\":[" ITEM("i", "I", "-2", "[]", ALL) "]}]}]}",
                               &m, &err), APR_EINVAL);
    ck_assert_int_eq(menu_from("{\"menus\":[{\"menuGroups\":[{\"guid\":\"g\",\"name\":\"G\","
                               "\"menuItems\":[" ITEM("i", "I", "2e1", "[]", ALL) "]}]}]}",
                               &m, &err), APR_EINVAL);
    /* a group without a guid */
    ck_assert_int_eq(menu_from("{\"menus\":[{\"menuGroups\":[{\"name\":\"G\"}]}]}", &m, &err),
                     APR_EINVAL);
    /* nesting beyond any real menu */
    deep = "{\"guid\":\"g0\",\"name\":\"G\",\"menuGroups\":[]}";
    for (i = 1; i < 40; i++) {
        deep = apr_psprintf(unit_pool, "{\"guid\":\"g%d\",\"name\":\"G\",\"menuGroups\":[%s]}",
                            i, deep);
    }
    ck_assert_int_eq(menu_from(apr_pstrcat(unit_pool, "{\"menus\":[{\"menuGroups\":[", deep,
                                           "]}]}", NULL), &m, &err), APR_EINVAL);
    /* an empty restaurant is an empty, valid menu */
    ck_assert_int_eq(menu_from("{\"menus\":[]}", &m, &err), APR_SUCCESS);
    ck_assert_int_eq(m->items->nelts, 0);
}
END_TEST

START_TEST(test_required_group_without_sellable_options_hides_its_items)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    ck_assert_msg(menu_from("{\"menus\":[{\"menuGroups\":[{\"guid\":\"g\",\"name\":\"G\","
                            "\"menuItems\":[" ITEM("i", "I", "3", "[1]", ALL) ","
                            ITEM("j", "J", "3", "[]", ALL) "]}]}],"
                            "\"modifierGroupReferences\":{\"1\":{\"guid\":\"mg\",\"name\":\"M\","
                            "\"minSelections\":1,\"maxSelections\":1,"
                            "\"modifierOptionReferences\":[5]}},"
                            "\"modifierOptionReferences\":{\"5\":{\"guid\":\"o\",\"name\":\"O\","
                            "\"price\":1,\"visibility\":[\"POS\"]}}}", &m, &err)
                  == APR_SUCCESS, "%s", err ? err : "?");
    ck_assert_int_eq(item(m, "i")->visible, 0);
    ck_assert_int_eq(item(m, "j")->visible, 1);
    ck_assert_int_eq(group(m, "mg")->min, 0);
}
END_TEST

START_TEST(test_stock_answers_become_sold_out_states)
{
    const char *body =
        "[{\"guid\":\"a\",\"itemGuidValidity\":\"VALID\",\"status\":\"OUT_OF_STOCK\",\"quantity\":null},"
        "{\"guid\":\"b\",\"itemGuidValidity\":\"VALID\",\"status\":\"QUANTITY\",\"quantity\":0},"
        "{\"guid\":\"c\",\"itemGuidValidity\":\"VALID\",\"status\":\"QUANTITY\",\"quantity\":2.5},"
        "{\"guid\":\"d\",\"status\":\"IN_STOCK\"},"
        "{\"guid\":\"e\",\"itemGuidValidity\":\"INVALID\",\"status\":\"OUT_OF_STOCK\"},"
        "{\"guid\":\"f\",\"status\":\"SOMETHING_NEW\"},"
        "{\"status\":\"OUT_OF_STOCK\"},"
        "{\"guid\":\"g\",\"status\":\"QUANTITY\",\"quantity\":0.0}]";
    apr_array_header_t *st = NULL;
    const char *err = NULL;
    cs_menu_stock_t *e;

    ck_assert_int_eq(cs_pos_toast_parse_stock(&st, body, strlen(body), unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(st->nelts, 5);
    e = &APR_ARRAY_IDX(st, 0, cs_menu_stock_t);
    ck_assert_str_eq(e->pos_id, "a");
    ck_assert_int_eq(e->sold_out, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(st, 1, cs_menu_stock_t).sold_out, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(st, 2, cs_menu_stock_t).sold_out, 0);
    ck_assert_str_eq(APR_ARRAY_IDX(st, 3, cs_menu_stock_t).pos_id, "d");
    ck_assert_int_eq(APR_ARRAY_IDX(st, 3, cs_menu_stock_t).sold_out, 0);
    ck_assert_str_eq(APR_ARRAY_IDX(st, 4, cs_menu_stock_t).pos_id, "g");
    ck_assert_int_eq(APR_ARRAY_IDX(st, 4, cs_menu_stock_t).sold_out, 1);

    ck_assert_int_eq(cs_pos_toast_parse_stock(&st, "{}", 2, unit_pool, &err), APR_EINVAL);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(cs_pos_toast_parse_stock(&st, "[", 1, unit_pool, &err), APR_EINVAL);
}
END_TEST

static cs_pos_event_t *event_of(const char *body, apr_status_t want)
{
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_pos_toast_parse_event(&ev, body, strlen(body), unit_pool, &err), want);
    return ev;
}

START_TEST(test_webhook_bodies_become_events)
{
    cs_pos_event_t *ev;

    ev = event_of("{\"timestamp\":\"2024-05-01T12:00:00Z\",\"eventCategory\":\"stock\","
                  "\"eventType\":\"out_of_stock\",\"guid\":\"ev-1\",\"details\":{"
                  "\"itemGuid\":\"" SODA "\",\"status\":\"OUT_OF_STOCK\",\"quantity\":null}}",
                  APR_SUCCESS);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    ck_assert_str_eq(ev->event_id, "ev-1");
    ck_assert_str_eq(ev->type, "out_of_stock");
    ck_assert_int_eq(ev->stock->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(ev->stock, 0, cs_menu_stock_t).pos_id, SODA);
    ck_assert_int_eq(APR_ARRAY_IDX(ev->stock, 0, cs_menu_stock_t).sold_out, 1);

    ev = event_of("{\"eventCategory\":\"stock\",\"eventType\":\"in_stock\",\"guid\":\"ev-2\","
                  "\"details\":{\"itemGuid\":\"x\",\"status\":\"IN_STOCK\"}}", APR_SUCCESS);
    ck_assert_int_eq(APR_ARRAY_IDX(ev->stock, 0, cs_menu_stock_t).sold_out, 0);
    ev = event_of("{\"eventCategory\":\"stock\",\"eventType\":\"low_quantity\",\"guid\":\"ev-3\","
                  "\"details\":{\"itemGuid\":\"x\",\"status\":\"QUANTITY\",\"quantity\":4}}",
                  APR_SUCCESS);
    ck_assert_int_eq(APR_ARRAY_IDX(ev->stock, 0, cs_menu_stock_t).sold_out, 0);
    /* a stock event we cannot read item by item: poll */
    ev = event_of("{\"eventCategory\":\"stock\",\"eventType\":\"out_of_stock\",\"guid\":\"ev-4\"}",
                  APR_SUCCESS);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    ck_assert_ptr_null(ev->stock);

    ev = event_of("{\"eventCategory\":\"menus\",\"eventType\":\"menus_updated\",\"guid\":\"ev-5\","
                  "\"details\":{\"restaurantGuid\":\"r\",\"publishedDate\":\"x\"}}", APR_SUCCESS);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_MENU);

    ev = event_of("{\"eventCategory\":\"orders\",\"eventType\":\"order_updated\",\"guid\":\"ev-6\","
                  "\"details\":{\"restaurantGuid\":\"r\",\"order\":{\"guid\":\"o-1\","
                  "\"approvalStatus\":\"APPROVED\",\"checks\":[{\"selections\":["
                  "{\"fulfillmentStatus\":\"READY\"},{\"fulfillmentStatus\":\"SENT\","
                  "\"voided\":true}]}]}}}", APR_SUCCESS);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_ORDER);
    ck_assert_str_eq(ev->order_id, "o-1");
    ck_assert_str_eq(ev->order_status, CS_POS_ORDER_READY);
    /* the Order as details itself */
    ev = event_of("{\"eventCategory\":\"orders\",\"eventType\":\"order_updated\",\"guid\":\"ev-7\","
                  "\"details\":{\"guid\":\"o-2\",\"entityType\":\"Order\",\"voided\":true}}",
                  APR_SUCCESS);
    ck_assert_str_eq(ev->order_id, "o-2");
    ck_assert_str_eq(ev->order_status, CS_POS_ORDER_CANCELLED);

    ev = event_of("{\"eventCategory\":\"partners\",\"eventType\":\"partner_added\","
                  "\"guid\":\"ev-8\",\"details\":{}}", APR_SUCCESS);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_OTHER);
    ck_assert_str_eq(ev->type, "partner_added");

    event_of("{\"eventCategory\":\"menus\"}", APR_EINVAL);               /* no guid */
    event_of("{\"eventCategory\":\"orders\",\"guid\":\"e\",\"details\":{}}", APR_EINVAL);
    event_of("[1]", APR_EINVAL);
    event_of("not json", APR_EINVAL);
}
END_TEST

static const char *state_of(const char *order)
{
    return cs_pos_toast_order_state(parse(order));
}

START_TEST(test_order_states_map_to_ours)
{
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"NEEDS_APPROVAL\"}"), CS_POS_ORDER_PENDING);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"FUTURE\"}"), CS_POS_ORDER_PENDING);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"NOT_APPROVED\"}"), CS_POS_ORDER_CANCELLED);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"APPROVED\",\"checks\":[{\"selections\":"
                              "[{\"fulfillmentStatus\":\"SENT\"}]}]}"), CS_POS_ORDER_ACCEPTED);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"APPROVED\",\"checks\":[{\"selections\":"
                              "[{\"fulfillmentStatus\":\"READY\"},{\"fulfillmentStatus\":"
                              "\"READY\"}]}]}"), CS_POS_ORDER_READY);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"APPROVED\",\"voided\":true}"),
                     CS_POS_ORDER_CANCELLED);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"APPROVED\",\"deleted\":true}"),
                     CS_POS_ORDER_CANCELLED);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"APPROVED\",\"deliveryInfo\":"
                              "{\"deliveryState\":\"DELIVERED\"}}"), CS_POS_ORDER_COMPLETED);
    ck_assert_str_eq(state_of("{\"approvalStatus\":\"APPROVED\",\"guestOrderStatus\":"
                              "\"CLOSED\"}"), CS_POS_ORDER_COMPLETED);
    ck_assert_str_eq(state_of("{}"), CS_POS_ORDER_PENDING);
    ck_assert_str_eq(cs_pos_toast_order_state(NULL), CS_POS_ORDER_PENDING);
}
END_TEST

START_TEST(test_timestamps_parse_in_toast_formats)
{
    apr_time_t t;
    const apr_time_t base = apr_time_from_sec(1714564800);   /* 2024-05-01T12:00:00Z */

    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T12:00:00Z"), APR_SUCCESS);
    ck_assert(t == base);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T12:00:00.250Z"), APR_SUCCESS);
    ck_assert(t == base + apr_time_from_msec(250));
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T14:00:00.000+0200"), APR_SUCCESS);
    ck_assert(t == base);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T07:30:00-04:30"), APR_SUCCESS);
    ck_assert(t == base);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T12:00:00"), APR_SUCCESS);
    ck_assert(t == base);
    ck_assert_str_eq(cs_pos_toast_format_time(unit_pool, base + apr_time_from_msec(7)),
                     "2024-05-01T12:00:00.007+0000");
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01"), APR_EINVAL);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-13-01T12:00:00Z"), APR_EINVAL);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T12:00:00Zjunk"), APR_EINVAL);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "2024-05-01T12:00:00."), APR_EINVAL);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, "1714564800"), APR_EINVAL);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, ""), APR_EINVAL);
    ck_assert_int_eq(cs_pos_toast_parse_time(&t, NULL), APR_EINVAL);
}
END_TEST

/* ---- Toast-Signature ---------------------------------------------------------- */

#define HOOK_SECRET "toast-webhook-secret-for-tests"
#define HOOK_BODY "{\"timestamp\":\"2024-05-01T12:00:00.000Z\",\"eventCategory\":\"menus\"," \
    "\"eventType\":\"menus_updated\",\"guid\":\"e0000000-0000-4000-8000-0000000000b2\"," \
    "\"details\":{\"restaurantGuid\":\"6f1b8e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b\"," \
    "\"publishedDate\":\"2024-05-01T11:59:00.000+0000\"}}"
/* python3 -c 'import hmac,hashlib,base64; ts="2024-05-01T12:00:00.000Z";
 *   print(base64.b64encode(hmac.new(b"toast-webhook-secret-for-tests",
 *         (BODY + ts).encode(), hashlib.sha256).digest()).decode())' */
#define HOOK_SIG "z+VJw2szNEUeOCLM1FBhvzHx8INRRbyXaN3RlH6kXpY="
#define HOOK_TIME apr_time_from_sec(1714564800)

static apr_status_t verify(const char *body, const char *sig, apr_time_t now,
                           const char *secret, const char **perr)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    conf.kind = "toast";
    conf.webhook_secret = secret;
    w.url = "https://example.com/webhooks/pos/toast";
    w.body = body;
    w.body_len = strlen(body);
    w.headers = apr_table_make(unit_pool, 4);
    if (sig) {
        apr_table_set(w.headers, "toast-signature", sig);   /* any case */
    }
    w.now = now;
    *perr = NULL;
    return cs_pos_toast.verify_webhook(&conf, &w, unit_pool, perr);
}

START_TEST(test_signature_matches_an_independent_vector)
{
    const char *err = NULL;

    ck_assert_str_eq(cs_pos_toast_sign(unit_pool, HOOK_SECRET, HOOK_BODY, strlen(HOOK_BODY),
                                       "2024-05-01T12:00:00.000Z"), HOOK_SIG);
    ck_assert_msg(verify(HOOK_BODY, HOOK_SIG, HOOK_TIME + apr_time_from_sec(30), HOOK_SECRET,
                         &err) == APR_SUCCESS, "%s", err ? err : "?");
    /* unpadded is the same signature */
    ck_assert_int_eq(verify(HOOK_BODY, "z+VJw2szNEUeOCLM1FBhvzHx8INRRbyXaN3RlH6kXpY",
                            HOOK_TIME, HOOK_SECRET, &err), APR_SUCCESS);
    /* Toast's last resend comes 15 minutes after the first try. */
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, HOOK_TIME + apr_time_from_sec(16 * 60),
                            HOOK_SECRET, &err), APR_SUCCESS);
}
END_TEST

START_TEST(test_forged_or_missing_signatures_are_refused)
{
    const char *err = NULL, *forged = "z+VJw2szNEUeOCLM1FBhvzHx8INRRbyXaN3RlH6kXqY=";
    /* the same bytes spelled another way (non-zero padding bits) */
    const char *respelled = "z+VJw2szNEUeOCLM1FBhvzHx8INRRbyXaN3RlH6kXpZ=";
    apr_time_t now = HOOK_TIME + apr_time_from_sec(5);
    char *body = apr_pstrdup(unit_pool, HOOK_BODY);

    ck_assert_int_eq(verify(HOOK_BODY, forged, now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(verify(HOOK_BODY, respelled, now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, NULL, now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, "", now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, "not base64!", now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, "z+VJw2szNEUe", now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, now, "another-secret", &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, now, NULL, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, now, "", &err), APR_EACCES);
    /* one changed byte of the body */
    body[strlen(body) - 3] = 'X';
    ck_assert_int_eq(verify(body, HOOK_SIG, now, HOOK_SECRET, &err), APR_EACCES);
    /* the signature over the body alone (no timestamp) is not Toast's */
    ck_assert_int_eq(verify(HOOK_BODY, cs_pos_toast_sign(unit_pool, HOOK_SECRET, HOOK_BODY,
                                                         strlen(HOOK_BODY), NULL),
                            now, HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify("not json", HOOK_SIG, now, HOOK_SECRET, &err), APR_EACCES);
}
END_TEST

START_TEST(test_stale_or_future_timestamps_are_refused)
{
    const char *err = NULL;

    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, HOOK_TIME + apr_time_from_sec(3600),
                            HOOK_SECRET, &err), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(err, "stale"));
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, HOOK_TIME + CS_TOAST_TOLERANCE
                            + apr_time_from_sec(1), HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, HOOK_TIME - apr_time_from_sec(600),
                            HOOK_SECRET, &err), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_BODY, HOOK_SIG, HOOK_TIME - apr_time_from_sec(60),
                            HOOK_SECRET, &err), APR_SUCCESS);
    /* no timestamp at all: nothing to check the age of */
    {
        const char *b = "{\"eventCategory\":\"menus\",\"guid\":\"x\"}";
        ck_assert_int_eq(verify(b, cs_pos_toast_sign(unit_pool, HOOK_SECRET, b, strlen(b), ""),
                                HOOK_TIME, HOOK_SECRET, &err), APR_EACCES);
    }
}
END_TEST

START_TEST(test_fixture_signs_what_the_adapter_verifies)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;
    apr_time_t now = apr_time_now();

    pos_fixture_toast.make_conf(&conf, unit_pool, "http://127.0.0.1:9");
    memset(&w, 0, sizeof(w));
    w.body = pos_fixture_toast.stock_webhook_body;
    w.body_len = strlen(w.body);
    pos_fixture_toast.sign_webhook(&w, &conf, unit_pool, now);
    w.now = now;
    ck_assert_msg(cs_pos_toast.verify_webhook(&conf, &w, unit_pool, &err) == APR_SUCCESS,
                  "%s", err ? err : "?");
    ck_assert_int_eq(cs_pos_toast.parse_webhook(&ev, &w, unit_pool, &err), APR_SUCCESS);
    ck_assert_str_eq(ev->event_id, pos_fixture_toast.webhook_event_id);
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    ck_assert_str_eq(APR_ARRAY_IDX(ev->stock, 0, cs_menu_stock_t).pos_id,
                     pos_fixture_toast.sold_out_item);
    /* signed an hour ago: stale */
    memset(&w, 0, sizeof(w));
    w.body = pos_fixture_toast.stock_webhook_body;
    w.body_len = strlen(w.body);
    pos_fixture_toast.sign_webhook(&w, &conf, unit_pool, now - apr_time_from_sec(3600));
    w.now = now;
    ck_assert_int_eq(cs_pos_toast.verify_webhook(&conf, &w, unit_pool, &err), APR_EACCES);
}
END_TEST

/* ---- against the fake ----------------------------------------------------------- */

static unit_fake_t fake;

static void fake_start(void)
{
    unit_fake_start(&fake, "tests/fakes/fake_toast.py");
}

static void fake_stop(void)
{
    unit_fake_stop(&fake);
}

static cs_http_resp_t *control(const char *method, const char *path, const char *body)
{
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = apr_pstrcat(unit_pool, fake.base, path, NULL);
    req.body = body;
    req.content_type = body ? "application/json" : NULL;
    ck_assert_msg(cs_http_perform(&resp, unit_pool, &req, &err) == APR_SUCCESS, "%s %s: %s",
                  method, path, err ? err : "?");
    ck_assert_msg(resp->status == 200, "%s %s: %ld %s", method, path, resp->status,
                  resp->body);
    return resp;
}

static void fake_state(const char *json)
{
    control("POST", "/_control/state", json);
}

static json_object *control_json(const char *path)
{
    cs_http_resp_t *resp = control("GET", path, NULL);
    return parse(resp->body);
}

/* How many logged API requests went to @p path. */
static int requests_to(const char *path)
{
    json_object *all = control_json("/_control/requests");
    int i, n = 0;

    for (i = 0; i < (int)cs_jlen(all); i++) {
        n += !strcmp(cs_jstr(cs_jat(all, i), "path"), path);
    }
    return n;
}

static cs_pos_conf_t conf;
static cs_pos_session_t sess;

static void setup(void)
{
    unit_pool_setup();
    cs_http_global_init();
    control("POST", "/_control/reset", NULL);
    control("DELETE", "/_control/requests", NULL);
    pos_fixture_toast.make_conf(&conf, unit_pool, fake.base);
    memset(&sess, 0, sizeof(sess));
    sess.conf = &conf;
    sess.token_pool = unit_pool;
}

START_TEST(test_fake_menu_has_exact_prices_and_nested_groups)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;
    int i, visible = 0;

    ck_assert_msg(cs_pos_toast.fetch_menu(&m, &sess, unit_pool, &err) == APR_SUCCESS, "%s",
                  err ? err : "?");
    for (i = 0; i < m->items->nelts; i++) {
        visible += APR_ARRAY_IDX(m->items, i, cs_menu_item_t).visible;
    }
    ck_assert_int_eq(visible, pos_fixture_toast.visible_items);
    ck_assert_int_eq(item(m, MARGHERITA)->price_cents, 1210);
    ck_assert_int_eq(item(m, "30000000-0000-4000-8000-000000000006")->price_cents, 50);
    ck_assert_int_eq(item(m, "30000000-0000-4000-8000-000000000004")->price_cents, 900);
    ck_assert_int_eq(item(m, "30000000-0000-4000-8000-000000000003")->price_cents, 1300);
    ck_assert_str_eq(item(m, MARGHERITA)->image_url, "https://images.example.com/margherita.jpg");
    ck_assert_int_eq(item(m, TIRAMISU)->visible, 0);
    ck_assert_ptr_null(item(m, PARTY_TRAY));
    ck_assert_int_eq(item(m, SODA)->sold_out, 1);
    ck_assert_int_eq(item(m, COFFEE)->sold_out, 0);
    ck_assert_str_eq(category(m, "20000000-0000-4000-8000-000000000004")->name,
                     "Drinks / Hot drinks");
    ck_assert_int_eq(m->categories->nelts, 6);
    ck_assert_int_eq(group(m, SIZE_GROUP)->min, 1);
    ck_assert_int_eq(group(m, SIZE_GROUP)->max, 1);
    ck_assert_int_eq(APR_ARRAY_IDX(group(m, SIZE_GROUP)->modifiers, 1,
                                   cs_menu_modifier_t).price_cents, 450);
    ck_assert_int_eq(group(m, "40000000-0000-4000-8000-000000000003")->max, 0);
    /* every call named the restaurant and carried the token */
    {
        json_object *all = control_json("/_control/requests");
        json_object *last = cs_jat(all, cs_jlen(all) - 1);
        json_object *h = cs_jobj(last, "headers");
        ck_assert_str_eq(cs_jstr(h, "toast-restaurant-external-id"),
                         "6f1b8e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
        ck_assert_ptr_nonnull(strstr(cs_jstr(h, "authorization"), "Bearer fake."));
    }
}
END_TEST

START_TEST(test_login_sends_machine_client_credentials)
{
    const char *err = NULL;
    json_object *req, *body;

    ck_assert_int_eq(cs_pos_toast.authenticate(&sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(sess.token);
    req = cs_jat(control_json("/_control/requests"), 0);
    ck_assert_str_eq(cs_jstr(req, "method"), "POST");
    ck_assert_str_eq(cs_jstr(req, "path"), LOGIN_PATH);
    body = parse(cs_jstr(req, "body"));
    ck_assert_str_eq(cs_jstr(body, "clientId"), "consult-fake-client");
    ck_assert_str_eq(cs_jstr(body, "userAccessType"), "TOAST_MACHINE_CLIENT");
    /* a second call with a fresh token does not log in again */
    ck_assert_int_eq(cs_pos_toast.authenticate(&sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(requests_to(LOGIN_PATH), 1);
}
END_TEST

START_TEST(test_token_is_refreshed_only_when_it_nears_expiry)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL, *first;
    apr_time_t t0 = apr_time_now();

    fake_state("{\"token_ttl\": 3600}");
    sess.now = t0;
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert(sess.token_expires == t0 + apr_time_from_sec(3600));
    first = sess.token;
    sess.now = t0 + apr_time_from_sec(1800);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    sess.now = t0 + apr_time_from_sec(3600 - 120);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(requests_to(LOGIN_PATH), 1);
    ck_assert_ptr_eq(sess.token, first);
    /* within the last minute: a new login before the call */
    sess.now = t0 + apr_time_from_sec(3600 - 30);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(requests_to(LOGIN_PATH), 2);
    ck_assert_str_ne(sess.token, first);
    ck_assert_int_eq(requests_to("/stock/v1/inventory"), 4);
}
END_TEST

START_TEST(test_a_failed_refresh_keeps_a_token_that_still_works)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL, *first;
    apr_time_t t0 = apr_time_now();

    fake_state("{\"token_ttl\": 3600}");
    sess.now = t0;
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    first = sess.token;
    fake_state("{\"fail\": {\"status\": 503, \"times\": 1, \"path\": \"/authentication/*\"}}");
    sess.now = t0 + apr_time_from_sec(3600 - 30);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_ptr_eq(sess.token, first);
    ck_assert_int_eq(requests_to(LOGIN_PATH), 2);
    /* expired, and Toast still down: a transient failure, no token */
    fake_state("{\"fail\": {\"status\": 503, \"times\": 1, \"path\": \"/authentication/*\"}}");
    sess.now = t0 + apr_time_from_sec(3601);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_EAGAIN);
    ck_assert_ptr_null(sess.token);
    ck_assert_int_eq(requests_to("/stock/v1/inventory"), 2);
}
END_TEST

START_TEST(test_a_401_logs_in_once_more_and_retries)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL, *first;
    json_object *all;

    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    first = apr_pstrdup(unit_pool, sess.token);
    fake_state("{\"expire_tokens\": true}");
    ck_assert_msg(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err) == APR_SUCCESS,
                  "%s", err ? err : "?");
    ck_assert_str_ne(sess.token, first);
    ck_assert_int_eq(requests_to(LOGIN_PATH), 2);
    all = control_json("/_control/requests");
    ck_assert_int_eq((int)cs_jlen(all), 5);   /* login, stock, stock (401), login, stock */
    ck_assert_str_eq(cs_jstr(cs_jat(all, 3), "path"), LOGIN_PATH);
    ck_assert_ptr_nonnull(strstr(cs_jstr(cs_jobj(cs_jat(all, 4), "headers"), "authorization"),
                                 sess.token));
}
END_TEST

START_TEST(test_a_second_401_is_eacces)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL;

    fake_state("{\"fail\": {\"status\": 401, \"times\": 2, \"path\": \"/stock/*\"}}");
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_EACCES);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(requests_to(LOGIN_PATH), 2);
    ck_assert_int_eq(requests_to("/stock/v1/inventory"), 2);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "fake."));
}
END_TEST

START_TEST(test_wrong_secret_is_eacces_without_the_secret)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL;

    conf.client_secret = "wrong-secret-do-not-print";
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_EACCES);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(strstr(err, "wrong-secret"));
    ck_assert_ptr_null(sess.token);
    ck_assert_int_eq(requests_to("/stock/v1/inventory"), 0);
    conf.client_secret = NULL;
    ck_assert_int_eq(cs_pos_toast.authenticate(&sess, unit_pool, &err), APR_EACCES);
}
END_TEST

START_TEST(test_failures_sort_into_eagain_and_einval)
{
    apr_array_header_t *st = NULL;
    cs_menu_t *m = NULL;
    const char *err = NULL;

    fake_state("{\"fail\": {\"status\": 503, \"times\": 1, \"retry_after\": 7,"
               " \"path\": \"/stock/*\"}}");
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_EAGAIN);
    ck_assert(sess.retry_after == apr_time_from_sec(7));
    fake_state("{\"fail\": {\"status\": 429, \"times\": 1, \"retry_after\": 2,"
               " \"path\": \"/menus/*\"}}");
    ck_assert_int_eq(cs_pos_toast.fetch_menu(&m, &sess, unit_pool, &err), APR_EAGAIN);
    ck_assert(sess.retry_after == apr_time_from_sec(2));
    ck_assert_ptr_null(m);
    fake_state("{\"malformed\": 1}");
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_EINVAL);
    fake_state("{\"fail\": {\"status\": 400, \"times\": 1, \"path\": \"/menus/*\"}}");
    ck_assert_int_eq(cs_pos_toast.fetch_menu(&m, &sess, unit_pool, &err), APR_EINVAL);
    /* and then it works again */
    ck_assert_int_eq(cs_pos_toast.fetch_menu(&m, &sess, unit_pool, &err), APR_SUCCESS);
}
END_TEST

START_TEST(test_removed_and_sold_out_items_follow_the_pos)
{
    cs_menu_t *m = NULL;
    apr_array_header_t *st = NULL;
    const char *err = NULL;
    int i, soda = 0, coffee = 0;

    fake_state("{\"remove_item\": \"" MARGHERITA "\", \"sold_out\": [\"" COFFEE "\", \""
               LARGE "\"], \"quantity\": {\"" SODA "\": 0}}");
    ck_assert_int_eq(cs_pos_toast.fetch_menu(&m, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_ptr_null(item(m, MARGHERITA));
    ck_assert_int_eq(item(m, COFFEE)->sold_out, 1);
    ck_assert_int_eq(item(m, SODA)->sold_out, 1);          /* QUANTITY 0 */
    ck_assert_int_eq(APR_ARRAY_IDX(group(m, SIZE_GROUP)->modifiers, 1,
                                   cs_menu_modifier_t).sold_out, 1);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    for (i = 0; i < st->nelts; i++) {
        const cs_menu_stock_t *e = &APR_ARRAY_IDX(st, i, cs_menu_stock_t);
        soda |= !strcmp(e->pos_id, SODA) && e->sold_out;
        coffee |= !strcmp(e->pos_id, COFFEE) && e->sold_out;
    }
    ck_assert(soda && coffee);
}
END_TEST

START_TEST(test_set_sold_out_writes_the_stock_api)
{
    apr_array_header_t *st = NULL;
    const char *err = NULL;
    json_object *all, *body;

    ck_assert_int_eq(cs_pos_toast.set_sold_out(&sess, COFFEE, 1, unit_pool, &err),
                     APR_SUCCESS);
    all = control_json("/_control/requests");
    ck_assert_str_eq(cs_jstr(cs_jat(all, 1), "method"), "PUT");
    ck_assert_str_eq(cs_jstr(cs_jat(all, 1), "path"), "/stock/v1/inventory/update");
    body = parse(cs_jstr(cs_jat(all, 1), "body"));
    ck_assert_str_eq(cs_jstr(cs_jat(body, 0), "guid"), COFFEE);
    ck_assert_str_eq(cs_jstr(cs_jat(body, 0), "status"), "OUT_OF_STOCK");
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st->nelts, 3);
    ck_assert_int_eq(cs_pos_toast.set_sold_out(&sess, COFFEE, 0, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_pos_toast.set_sold_out(&sess, SODA, 0, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_pos_toast.fetch_availability(&st, &sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(st->nelts, 1);                        /* Cannoli's QUANTITY */
    ck_assert_int_eq(APR_ARRAY_IDX(st, 0, cs_menu_stock_t).sold_out, 0);
    ck_assert_int_eq(cs_pos_toast.set_sold_out(&sess, "no-such-item", 1, unit_pool, &err),
                     APR_EINVAL);
}
END_TEST

static cs_pos_order_t *an_order(const char *external_id)
{
    cs_pos_order_t *o = apr_pcalloc(unit_pool, sizeof(*o));
    cs_pos_line_t *l;

    o->external_id = external_id;
    o->customer_name = "Ada Lovelace King";
    o->customer_phone = "+15555550123";
    o->customer_email = "ada@example.com";
    o->lines = apr_array_make(unit_pool, 2, sizeof(cs_pos_line_t));
    l = apr_array_push(o->lines);
    memset(l, 0, sizeof(*l));
    l->item_id = MARGHERITA;
    l->quantity = 2;
    l->modifier_ids = apr_array_make(unit_pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(l->modifier_ids, const char *) = LARGE;
    l->unit_price_cents = 1660;
    l = apr_array_push(o->lines);
    memset(l, 0, sizeof(*l));
    l->item_id = COFFEE;
    l->quantity = 1;
    l->unit_price_cents = 275;
    o->subtotal_cents = o->total_cents = 2 * 1660 + 275;
    return o;
}

START_TEST(test_orders_are_idempotent_by_external_id)
{
    cs_pos_order_result_t *r1 = NULL, *r2 = NULL;
    const char *err = NULL;
    json_object *orders, *req, *check, *cust, *sel;

    /* one dining option per page: the takeout one is on the last page */
    fake_state("{\"page_size\": 1}");
    ck_assert_msg(cs_pos_toast.submit_order(&r1, &sess, an_order("ord-1001"), unit_pool, &err)
                  == APR_SUCCESS, "%s", err ? err : "?");
    ck_assert_ptr_nonnull(r1->pos_order_id);
    ck_assert_str_eq(r1->status, CS_POS_ORDER_ACCEPTED);
    ck_assert_int_eq(requests_to("/config/v2/diningOptions"), 4);
    /* the second submission (a retried job) finds the first order */
    ck_assert_msg(cs_pos_toast.submit_order(&r2, &sess, an_order("ord-1001"), unit_pool, &err)
                  == APR_SUCCESS, "%s", err ? err : "?");
    ck_assert_str_eq(r2->pos_order_id, r1->pos_order_id);
    orders = control_json("/_control/orders");
    ck_assert_int_eq((int)cs_jlen(orders), 1);
    req = cs_jobj(cs_jat(orders, 0), "request");
    ck_assert_str_eq(cs_jstr(req, "externalId"), CS_TOAST_EXTERNAL_PREFIX "ord-1001");
    ck_assert_str_eq(cs_jstr(cs_jobj(req, "diningOption"), "guid"),
                     "60000000-0000-4000-8000-000000000004");
    check = cs_jat(cs_jarr(req, "checks"), 0);
    cust = cs_jobj(check, "customer");
    ck_assert_str_eq(cs_jstr(cust, "firstName"), "Ada");
    ck_assert_str_eq(cs_jstr(cust, "lastName"), "Lovelace King");
    ck_assert_str_eq(cs_jstr(cust, "phone"), "5555550123");
    ck_assert_str_eq(cs_jstr(cust, "email"), "ada@example.com");
    sel = cs_jat(cs_jarr(check, "selections"), 0);
    ck_assert_str_eq(cs_jstr(cs_jobj(sel, "item"), "guid"), MARGHERITA);
    ck_assert_str_eq(cs_jstr(cs_jobj(cs_jat(cs_jarr(sel, "modifiers"), 0), "item"), "guid"),
                     LARGE);
    /* no money travels: Toast prices the order itself */
    ck_assert_ptr_null(strstr(json_object_to_json_string(req), "16.6"));
    /* a different order is a second order */
    ck_assert_int_eq(cs_pos_toast.submit_order(&r2, &sess, an_order("ord-1002"), unit_pool,
                                               &err), APR_SUCCESS);
    ck_assert_str_ne(r2->pos_order_id, r1->pos_order_id);
    ck_assert_int_eq((int)cs_jlen(control_json("/_control/orders")), 2);
}
END_TEST

START_TEST(test_refused_orders_are_einval)
{
    cs_pos_order_result_t *r = NULL;
    cs_pos_order_t *o = an_order("ord-2001");
    const char *err = NULL;

    APR_ARRAY_IDX(o->lines, 1, cs_pos_line_t).item_id = SODA;     /* sold out */
    ck_assert_int_eq(cs_pos_toast.submit_order(&r, &sess, o, unit_pool, &err), APR_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_int_eq((int)cs_jlen(control_json("/_control/orders")), 0);
    o->external_id = "";
    ck_assert_int_eq(cs_pos_toast.submit_order(&r, &sess, o, unit_pool, &err), APR_EINVAL);
    fake_state("{\"fail\": {\"status\": 502, \"times\": 1, \"path\": \"/orders/*\"}}");
    ck_assert_int_eq(cs_pos_toast.submit_order(&r, &sess, an_order("ord-2002"), unit_pool,
                                               &err), APR_EAGAIN);
}
END_TEST

START_TEST(test_order_status_follows_the_kitchen)
{
    cs_pos_order_result_t *r = NULL, *st = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_pos_toast.submit_order(&r, &sess, an_order("ord-3001"), unit_pool,
                                               &err), APR_SUCCESS);
    ck_assert_int_eq(cs_pos_toast.order_status(&st, &sess, r->pos_order_id, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(st->status, CS_POS_ORDER_ACCEPTED);
    fake_state(apr_pstrcat(unit_pool, "{\"order_state\": {\"id\": \"", r->pos_order_id,
                           "\", \"fulfillmentStatus\": \"READY\"}}", NULL));
    ck_assert_int_eq(cs_pos_toast.order_status(&st, &sess, r->pos_order_id, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(st->status, CS_POS_ORDER_READY);
    ck_assert_str_eq(st->pos_order_id, r->pos_order_id);
    fake_state(apr_pstrcat(unit_pool, "{\"order_state\": {\"id\": \"", r->pos_order_id,
                           "\", \"voided\": true}}", NULL));
    ck_assert_int_eq(cs_pos_toast.order_status(&st, &sess, r->pos_order_id, unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(st->status, CS_POS_ORDER_CANCELLED);
    ck_assert_int_eq(cs_pos_toast.order_status(&st, &sess, "no-such-order", unit_pool, &err),
                     APR_EINVAL);
}
END_TEST

Suite *pos_toast_suite(void)
{
    Suite *s = suite_create("pos_toast");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_decimal_prices_become_exact_cents);
    tcase_add_test(tc, test_nested_menu_groups_are_flattened_in_order);
    tcase_add_test(tc, test_modifier_groups_resolve_references_and_selection_rules);
    tcase_add_test(tc, test_broken_menus_are_refused);
    tcase_add_test(tc, test_required_group_without_sellable_options_hides_its_items);
    tcase_add_test(tc, test_stock_answers_become_sold_out_states);
    tcase_add_test(tc, test_webhook_bodies_become_events);
    tcase_add_test(tc, test_order_states_map_to_ours);
    tcase_add_test(tc, test_timestamps_parse_in_toast_formats);
    tcase_add_test(tc, test_signature_matches_an_independent_vector);
    tcase_add_test(tc, test_forged_or_missing_signatures_are_refused);
    tcase_add_test(tc, test_stale_or_future_timestamps_are_refused);
    tcase_add_test(tc, test_fixture_signs_what_the_adapter_verifies);
    suite_add_tcase(s, tc);

    tc = tcase_create("fake");
    tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
    tcase_add_checked_fixture(tc, setup, unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fake_menu_has_exact_prices_and_nested_groups);
    tcase_add_test(tc, test_login_sends_machine_client_credentials);
    tcase_add_test(tc, test_token_is_refreshed_only_when_it_nears_expiry);
    tcase_add_test(tc, test_a_failed_refresh_keeps_a_token_that_still_works);
    tcase_add_test(tc, test_a_401_logs_in_once_more_and_retries);
    tcase_add_test(tc, test_a_second_401_is_eacces);
    tcase_add_test(tc, test_wrong_secret_is_eacces_without_the_secret);
    tcase_add_test(tc, test_failures_sort_into_eagain_and_einval);
    tcase_add_test(tc, test_removed_and_sold_out_items_follow_the_pos);
    tcase_add_test(tc, test_set_sold_out_writes_the_stock_api);
    tcase_add_test(tc, test_orders_are_idempotent_by_external_id);
    tcase_add_test(tc, test_refused_orders_are_einval);
    tcase_add_test(tc, test_order_status_follows_the_kitchen);
    suite_add_tcase(s, tc);
    return s;
}
