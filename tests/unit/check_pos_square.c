/* The Square adapter's own parsing and requests (cs_pos_parse.h): Square's
 * published webhook signature vectors, the catalog mapping (variations,
 * location overrides, modifier lists, inventory counts), orders, events,
 * odd answers refused cleanly, and the HTTP calls through an injected
 * transport (no server). */
#include "unit.h"
#include "providers/pos/cs_pos_parse.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

#define LOC "L-MAIN"

/* ---- helpers ----------------------------------------------------------------- */

static cs_square_catalog_t *catalog(const char *page)
{
    cs_square_catalog_t *c = cs_pos_square_catalog_make(unit_pool, LOC,
                                                        apr_time_from_sec(1777000000));
    const char *cursor = "unset", *err = NULL;

    ck_assert_msg(cs_pos_square_parse_catalog_page(c, page, strlen(page), &cursor, &err)
                  == APR_SUCCESS, "page refused: %s", err ? err : "");
    ck_assert_ptr_null(cursor);
    return c;
}

static cs_menu_t *menu_of(const char *page)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    ck_assert_msg(cs_pos_square_build_menu(&m, catalog(page), unit_pool, &err) == APR_SUCCESS,
                  "menu refused: %s", err ? err : "");
    return m;
}

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

static const cs_menu_modifier_t *modifier(const cs_menu_group_t *g, int i)
{
    ck_assert_int_lt(i, g->modifiers->nelts);
    return &APR_ARRAY_IDX(g->modifiers, i, cs_menu_modifier_t);
}

static const cs_menu_stock_t *stock(const apr_array_header_t *a, const char *id)
{
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(a, i, cs_menu_stock_t).pos_id, id)) {
            return &APR_ARRAY_IDX(a, i, cs_menu_stock_t);
        }
    }
    return NULL;
}

#define CAT(id, name) \
    "{\"type\":\"CATEGORY\",\"id\":\"" id "\",\"category_data\":{\"name\":\"" name "\"}}"
#define VAR(id, item, name, cents, ord, extra) \
    "{\"type\":\"ITEM_VARIATION\",\"id\":\"" id "\",\"item_variation_data\":{\"item_id\":\"" item \
    "\",\"name\":\"" name "\",\"ordinal\":" #ord ",\"pricing_type\":\"FIXED_PRICING\"," \
    "\"price_money\":{\"amount\":" #cents ",\"currency\":\"USD\"}" extra "}}"
#define ITEM(id, name, cat, vars, extra) \
    "{\"type\":\"ITEM\",\"id\":\"" id "\",\"item_data\":{\"name\":\"" name "\"," \
    "\"categories\":[{\"id\":\"" cat "\"}],\"variations\":[" vars "]" extra "}}"
#define PAGE(...) "{\"objects\":[" __VA_ARGS__ "]}"

#define LATTE ITEM("I_LATTE", "Latte", "C_COFFEE", \
    VAR("V_20", "I_LATTE", "20 oz", 595, 3, "") "," \
    VAR("V_12", "I_LATTE", "12 oz", 450, 1, "") "," \
    VAR("V_16", "I_LATTE", "16 oz", 525, 2, ""), "")

/* ---- signatures -------------------------------------------------------------- */

/* square/square-python-sdk tests/integration/test_webhooks_helper.py */
#define SQ_VEC_BODY "{\"merchant_id\":\"MLEFBHHSJGVHD\",\"type\":\"webhooks.test_notification\"," \
    "\"event_id\":\"ac3ac95b-f97d-458c-a6e6-18981597e05f\"," \
    "\"created_at\":\"2022-07-13T20:30:59.037339943Z\",\"data\":{\"type\":\"webhooks\"," \
    "\"id\":\"bc368e64-01aa-407e-b46e-3231809b1129\"}}"
#define SQ_VEC_SIG  "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
#define SQ_VEC_KEY  "Ibxx_5AKakO-3qeNVR61Dw"
#define SQ_VEC_URL  "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
#define SQ_VEC2_BODY "{\"data\":{\"type\":\"webhooks\",\"id\":\">id<\"}}"

static apr_status_t verify(const char *key, const char *url, const char *body, const char *sig)
{
    cs_pos_conf_t conf;
    cs_pos_webhook_t w;
    const char *err = NULL;

    memset(&conf, 0, sizeof(conf));
    memset(&w, 0, sizeof(w));
    conf.kind = "square";
    conf.webhook_secret = key;
    conf.webhook_url = url;
    w.url = "https://proxy.internal/whatever";     /* Square signs the registered URL */
    w.body = body;
    w.body_len = strlen(body);
    w.headers = apr_table_make(unit_pool, 2);
    if (sig) {
        apr_table_set(w.headers, "X-Square-HmacSha256-Signature", sig);
    }
    return cs_pos_square.verify_webhook(&conf, &w, unit_pool, &err);
}

START_TEST(test_square_published_signature_vectors)
{
    ck_assert_str_eq(cs_pos_square_signature(unit_pool, SQ_VEC_KEY, SQ_VEC_URL, SQ_VEC_BODY,
                                             strlen(SQ_VEC_BODY)), SQ_VEC_SIG);
    ck_assert_str_eq(cs_pos_square_signature(unit_pool, "signature-key",
                                             "https://webhook.site/webhooks",
                                             SQ_VEC2_BODY, strlen(SQ_VEC2_BODY)),
                     "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=");
    ck_assert_int_eq(verify(SQ_VEC_KEY, SQ_VEC_URL, SQ_VEC_BODY, SQ_VEC_SIG), APR_SUCCESS);
}
END_TEST

START_TEST(test_square_signature_mismatches_are_refused)
{
    ck_assert_int_eq(verify(SQ_VEC_KEY, "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9",
                            SQ_VEC_BODY, SQ_VEC_SIG), APR_EACCES);
    ck_assert_int_eq(verify("MCmhFRxGX82xMwg5FsaoQA", SQ_VEC_URL, SQ_VEC_BODY, SQ_VEC_SIG),
                     APR_EACCES);
    ck_assert_int_eq(verify(SQ_VEC_KEY, SQ_VEC_URL, SQ_VEC_BODY,
                            "1z2n3DEJJiUPKcPzQo1ftvbxGdw="), APR_EACCES);
    /* the same JSON pretty-printed is another body */
    ck_assert_int_eq(verify(SQ_VEC_KEY, SQ_VEC_URL, "{\n  \"merchant_id\": \"MLEFBHHSJGVHD\"\n}",
                            SQ_VEC_SIG), APR_EACCES);
    ck_assert_int_eq(verify(SQ_VEC_KEY, SQ_VEC_URL, SQ_VEC_BODY, NULL), APR_EACCES);
    ck_assert_int_eq(verify(SQ_VEC_KEY, SQ_VEC_URL, SQ_VEC_BODY, ""), APR_EACCES);
    ck_assert_int_eq(verify("", SQ_VEC_URL, SQ_VEC_BODY, SQ_VEC_SIG), APR_EACCES);
    ck_assert_int_eq(verify(NULL, SQ_VEC_URL, SQ_VEC_BODY, SQ_VEC_SIG), APR_EACCES);
}
END_TEST

/* ---- the catalog --------------------------------------------------------------- */

START_TEST(test_square_variations_become_a_required_group_priced_from_the_cheapest)
{
    cs_menu_t *m = menu_of(PAGE(CAT("C_COFFEE", "Coffee") "," LATTE));
    const cs_menu_item_t *it = item(m, "I_LATTE");
    const cs_menu_group_t *g = group(m, "I_LATTE" CS_SQUARE_VARIATION_GROUP_SUFFIX);

    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(it->price_cents, 450);
    ck_assert_int_eq(it->sold_out, 0);
    ck_assert_int_eq(it->group_ids->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(it->group_ids, 0, const char *), g->pos_id);
    ck_assert_int_eq(g->min, 1);
    ck_assert_int_eq(g->max, 1);
    ck_assert_str_eq(g->name, CS_SQUARE_VARIATION_GROUP_NAME);
    ck_assert_int_eq(g->modifiers->nelts, 3);
    /* in Square's ordinal order, each priced above the cheapest */
    ck_assert_str_eq(modifier(g, 0)->pos_id, "V_12");
    ck_assert_str_eq(modifier(g, 0)->name, "12 oz");
    ck_assert_int_eq(modifier(g, 0)->price_cents, 0);
    ck_assert_str_eq(modifier(g, 1)->pos_id, "V_16");
    ck_assert_int_eq(modifier(g, 1)->price_cents, 75);
    ck_assert_str_eq(modifier(g, 2)->pos_id, "V_20");
    ck_assert_int_eq(modifier(g, 2)->price_cents, 145);
    ck_assert_str_eq(m->currency, "USD");
}
END_TEST

#define SOLD(loc) ",\"location_overrides\":[{\"location_id\":\"" loc "\",\"sold_out\":true}]"

START_TEST(test_square_item_is_sold_out_only_when_every_variation_is)
{
    const char *one = PAGE(CAT("C", "Coffee") "," ITEM("I", "Latte", "C",
        VAR("V1", "I", "S", 400, 1, SOLD(LOC)) "," VAR("V2", "I", "L", 500, 2, ""), ""));
    const char *all = PAGE(CAT("C", "Coffee") "," ITEM("I", "Latte", "C",
        VAR("V1", "I", "S", 400, 1, SOLD(LOC)) "," VAR("V2", "I", "L", 500, 2, SOLD(LOC)), ""));
    cs_menu_t *m = menu_of(one);
    const cs_menu_group_t *g = group(m, "I:variation");
    apr_array_header_t *st = cs_pos_square_build_stock(catalog(one), unit_pool);

    ck_assert_int_eq(item(m, "I")->sold_out, 0);
    ck_assert_int_eq(modifier(g, 0)->sold_out, 1);
    ck_assert_int_eq(modifier(g, 1)->sold_out, 0);
    ck_assert_int_eq(stock(st, "I")->sold_out, 0);
    ck_assert_int_eq(stock(st, "V1")->sold_out, 1);
    ck_assert_int_eq(stock(st, "V2")->sold_out, 0);
    ck_assert_int_eq(item(menu_of(all), "I")->sold_out, 1);
    /* sold out at another location is not sold out here */
    ck_assert_int_eq(item(menu_of(PAGE(CAT("C", "Coffee") "," ITEM("I", "Tea", "C",
                     VAR("V", "I", "R", 300, 1, SOLD("L-NORTH")), ""))), "I")->sold_out, 0);
}
END_TEST

START_TEST(test_square_sold_out_until_passed_is_over)
{
    /* the catalog's clock is 1777000000 (2026-04-24T03:06:40Z) */
    const char *past = PAGE(CAT("C", "Coffee") "," ITEM("I", "Tea", "C", VAR("V", "I", "R", 300,
        1, ",\"location_overrides\":[{\"location_id\":\"" LOC "\",\"sold_out\":true,"
        "\"sold_out_valid_until\":\"2026-04-24T03:00:00Z\"}]"), ""));
    const char *future = PAGE(CAT("C", "Coffee") "," ITEM("I", "Tea", "C", VAR("V", "I", "R",
        300, 1, ",\"location_overrides\":[{\"location_id\":\"" LOC "\",\"sold_out\":true,"
        "\"sold_out_valid_until\":\"2026-04-24T06:06:40+02:00\"}]"), ""));
    const cs_menu_stock_t *st;

    ck_assert_int_eq(item(menu_of(past), "I")->sold_out, 0);
    ck_assert_int_eq(item(menu_of(future), "I")->sold_out, 1);
    st = stock(cs_pos_square_build_stock(catalog(future), unit_pool), "I");
    ck_assert_int_eq(st->sold_out, 1);
    ck_assert(st->until == apr_time_from_sec(1777003600));
}
END_TEST

START_TEST(test_square_location_and_availability_rules)
{
    cs_menu_t *m = menu_of(PAGE(
        CAT("C", "Food") ","
        ITEM("I_PRICE", "Grilled cheese", "C", VAR("V_PRICE", "I_PRICE", "R", 895, 1,
             ",\"location_overrides\":[{\"location_id\":\"L-NORTH\",\"price_money\":"
             "{\"amount\":999,\"currency\":\"USD\"}},{\"location_id\":\"" LOC "\","
             "\"price_money\":{\"amount\":925,\"currency\":\"USD\"}}]"), "") ","
        ITEM("I_ARCH", "Old", "C", VAR("V_ARCH", "I_ARCH", "R", 100, 1, ""),
             ",\"is_archived\":true") ","
        ITEM("I_HIDDEN", "Staff", "C", VAR("V_HIDDEN", "I_HIDDEN", "R", 0, 1, ""),
             ",\"ecom_visibility\":\"HIDDEN\"") ","
        "{\"type\":\"ITEM\",\"id\":\"I_ELSEWHERE\",\"present_at_all_locations\":false,"
        "\"present_at_location_ids\":[\"L-NORTH\"],\"item_data\":{\"name\":\"North\","
        "\"variations\":[" VAR("V_E", "I_ELSEWHERE", "R", 100, 1, "") "]}},"
        "{\"type\":\"ITEM\",\"id\":\"I_ABSENT\",\"absent_at_location_ids\":[\"" LOC "\"],"
        "\"item_data\":{\"name\":\"Not here\",\"variations\":["
        VAR("V_A", "I_ABSENT", "R", 100, 1, "") "]}},"
        "{\"type\":\"ITEM\",\"id\":\"I_OPEN\",\"item_data\":{\"name\":\"Catering\","
        "\"variations\":[{\"type\":\"ITEM_VARIATION\",\"id\":\"V_O\",\"item_variation_data\":"
        "{\"item_id\":\"I_OPEN\",\"pricing_type\":\"VARIABLE_PRICING\"}}]}},"
        "{\"type\":\"ITEM\",\"id\":\"I_LOOSE\",\"item_data\":{\"name\":\"No category\","
        "\"description\":\"<b>x</b>\",\"description_plaintext\":\"x\",\"variations\":["
        VAR("V_L", "I_LOOSE", "R", 250, 1, "") "]}},"
        "{\"type\":\"TAX\",\"id\":\"T\",\"tax_data\":{\"name\":\"VAT\"}}"));

    ck_assert_int_eq(item(m, "I_PRICE")->price_cents, 925);
    ck_assert_ptr_null(item(m, "I_ARCH"));
    ck_assert_ptr_null(item(m, "I_ELSEWHERE"));
    ck_assert_ptr_null(item(m, "I_ABSENT"));
    ck_assert_ptr_null(item(m, "I_OPEN"));
    ck_assert_int_eq(item(m, "I_HIDDEN")->visible, 0);
    ck_assert_int_eq(item(m, "I_PRICE")->visible, 1);
    ck_assert_str_eq(item(m, "I_LOOSE")->category_id, CS_POS_NO_CATEGORY);
    ck_assert_str_eq(item(m, "I_LOOSE")->description, "x");
    ck_assert_int_eq(m->categories->nelts, 2);
    ck_assert_int_eq(m->items->nelts, 3);
}
END_TEST

#define LIST(id, name, extra, mods) \
    "{\"type\":\"MODIFIER_LIST\",\"id\":\"" id "\",\"modifier_list_data\":{\"name\":\"" name "\"" \
    extra ",\"modifiers\":[" mods "]}}"
#define MOD(id, list, name, cents, extra) \
    "{\"type\":\"MODIFIER\",\"id\":\"" id "\",\"modifier_data\":{\"name\":\"" name "\"," \
    "\"modifier_list_id\":\"" list "\",\"price_money\":{\"amount\":" #cents \
    ",\"currency\":\"USD\"}" \
    extra "}}"

START_TEST(test_square_modifier_lists_become_groups)
{
    cs_menu_t *m = menu_of(PAGE(
        CAT("C", "Coffee") ","
        LIST("ML_MILK", "Milk", ",\"min_selected_modifiers\":1,\"max_selected_modifiers\":1",
             MOD("M_WHOLE", "ML_MILK", "Whole", 0, "") ","
             MOD("M_OAT", "ML_MILK", "Oat", 75, "") ","
             MOD("M_ALMOND", "ML_MILK", "Almond", 75, SOLD(LOC))) ","
        LIST("ML_SYRUP", "Syrup", ",\"selection_type\":\"SINGLE\"",
             MOD("M_VAN", "ML_SYRUP", "Vanilla", 50, "")) ","
        LIST("ML_EXTRA", "Extras", ",\"selection_type\":\"MULTIPLE\"",
             MOD("M_SHOT", "ML_EXTRA", "Shot", 100, "") ","
             MOD("M_WHIP", "ML_EXTRA", "Whip", 0, "")) ","
        "{\"type\":\"MODIFIER_LIST\",\"id\":\"ML_TEXT\",\"modifier_list_data\":{\"name\":"
        "\"Name\",\"modifier_type\":\"TEXT\"}},"
        ITEM("I_LATTE", "Latte", "C", VAR("V", "I_LATTE", "R", 450, 1, ""),
             ",\"modifier_list_info\":[{\"modifier_list_id\":\"ML_MILK\"},"
             "{\"modifier_list_id\":\"ML_SYRUP\",\"enabled\":false},"
             "{\"modifier_list_id\":\"ML_EXTRA\"},{\"modifier_list_id\":\"ML_TEXT\"},"
             "{\"modifier_list_id\":\"ML_GONE\"}]") ","
        ITEM("I_CAPP", "Cappuccino", "C", VAR("V2", "I_CAPP", "R", 475, 1, ""),
             ",\"modifier_list_info\":[{\"modifier_list_id\":\"ML_EXTRA\","
             "\"min_selected_modifiers\":1,\"max_selected_modifiers\":2},"
             "{\"modifier_list_id\":\"ML_SYRUP\",\"max_selected_modifiers\":-1}]")));
    const cs_menu_item_t *latte = item(m, "I_LATTE"), *capp = item(m, "I_CAPP");
    const cs_menu_group_t *milk = group(m, "ML_MILK"), *extra = group(m, "ML_EXTRA");
    const cs_menu_group_t *own = group(m, "ML_EXTRA:I_CAPP"), *syrup = group(m, "ML_SYRUP");
    apr_array_header_t *st;

    ck_assert_int_eq(latte->group_ids->nelts, 2);     /* disabled, text and gone lists left out */
    ck_assert_str_eq(APR_ARRAY_IDX(latte->group_ids, 0, const char *), "ML_MILK");
    ck_assert_str_eq(APR_ARRAY_IDX(latte->group_ids, 1, const char *), "ML_EXTRA");
    ck_assert_int_eq(milk->min, 1);
    ck_assert_int_eq(milk->max, 1);
    ck_assert_int_eq(modifier(milk, 1)->price_cents, 75);
    ck_assert_int_eq(modifier(milk, 2)->sold_out, 1);
    ck_assert_int_eq(modifier(milk, 0)->sold_out, 0);
    ck_assert_int_eq(extra->min, 0);
    ck_assert_int_eq(extra->max, 0);
    /* the cappuccino's own bounds make its own copy; other items keep theirs */
    ck_assert_ptr_nonnull(own);
    ck_assert_int_eq(own->min, 1);
    ck_assert_int_eq(own->max, 2);
    ck_assert_int_eq(own->modifiers->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(capp->group_ids, 0, const char *), "ML_EXTRA:I_CAPP");
    ck_assert_str_eq(APR_ARRAY_IDX(capp->group_ids, 1, const char *), "ML_SYRUP");
    ck_assert_int_eq(syrup->max, 1);
    ck_assert_ptr_null(group(m, "ML_TEXT"));
    st = cs_pos_square_build_stock(catalog(PAGE(LIST("ML", "Milk", "",
                                   MOD("M_A", "ML", "Almond", 75, SOLD(LOC))))), unit_pool);
    ck_assert_int_eq(stock(st, "M_A")->sold_out, 1);
}
END_TEST

START_TEST(test_square_pages_accumulate_and_top_level_children_attach)
{
    cs_square_catalog_t *c = cs_pos_square_catalog_make(unit_pool, LOC, apr_time_now());
    const char *p1 = "{\"objects\":[" CAT("C", "Coffee") ","
        VAR("V_EARLY", "I", "Large", 600, 2, "") "],\"cursor\":\"abc==\"}";
    const char *p2 = PAGE(ITEM("I", "Latte", "C", VAR("V_NESTED", "I", "Small", 400, 1, ""),
                               ",\"modifier_list_info\":[{\"modifier_list_id\":\"ML\"}]") ","
                          MOD("M_EARLY", "ML", "Oat", 75, "") ","
                          "{\"type\":\"MODIFIER_LIST\",\"id\":\"ML\",\"modifier_list_data\":"
                          "{\"name\":\"Milk\"}}");
    const char *cursor = NULL, *err = NULL;
    cs_menu_t *m;

    ck_assert_int_eq(cs_pos_square_parse_catalog_page(c, p1, strlen(p1), &cursor, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(cursor, "abc==");
    ck_assert_int_eq(cs_pos_square_parse_catalog_page(c, p2, strlen(p2), &cursor, &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(cursor);
    ck_assert_int_eq(cs_pos_square_parse_catalog_page(c, "{}", 2, &cursor, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_pos_square_build_menu(&m, c, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(item(m, "I")->price_cents, 400);
    ck_assert_int_eq(group(m, "I:variation")->modifiers->nelts, 2);
    ck_assert_int_eq(modifier(group(m, "I:variation"), 1)->price_cents, 200);
    ck_assert_int_eq(group(m, "ML")->modifiers->nelts, 1);
}
END_TEST

START_TEST(test_square_zero_counts_of_tracked_variations_are_sold_out)
{
    cs_square_catalog_t *c = catalog(PAGE(CAT("C", "Bakery") ","
        ITEM("I_MUF", "Muffin", "C", VAR("V_MUF", "I_MUF", "R", 350, 1,
             ",\"track_inventory\":true"), "") ","
        ITEM("I_SCONE", "Scone", "C", VAR("V_SCONE", "I_SCONE", "R", 425, 1,
             ",\"location_overrides\":[{\"location_id\":\"" LOC "\",\"track_inventory\":true}]"),
             "") ","
        ITEM("I_BUN", "Bun", "C", VAR("V_BUN", "I_BUN", "R", 300, 1, ""), "")));
    apr_array_header_t *ids = cs_pos_square_tracked_variations(c, unit_pool);
    const char *req, *cursor = NULL, *err = NULL;
    const char *counts = "{\"counts\":["
        "{\"catalog_object_id\":\"V_MUF\",\"state\":\"IN_STOCK\",\"location_id\":\"" LOC "\","
        "\"quantity\":\"0.00000\"},"
        "{\"catalog_object_id\":\"V_SCONE\",\"state\":\"IN_STOCK\",\"location_id\":\"L-NORTH\","
        "\"quantity\":\"0\"},"
        "{\"catalog_object_id\":\"V_SCONE\",\"state\":\"IN_STOCK\",\"location_id\":\"" LOC "\","
        "\"quantity\":\"2.5\"},"
        "{\"catalog_object_id\":\"V_BUN\",\"state\":\"IN_STOCK\",\"quantity\":\"-1\"},"
        "{\"catalog_object_id\":\"V_MUF\",\"state\":\"WASTE\",\"quantity\":\"5\"}],"
        "\"cursor\":\"next\"}";
    const char *bad_qty = "{\"counts\":[{\"catalog_object_id\":\"V_MUF\",\"quantity\":\"1e3\"}]}";
    const char *num_qty = "{\"counts\":[{\"catalog_object_id\":\"V_MUF\",\"quantity\":5}]}";
    cs_menu_t *m;

    ck_assert_int_eq(ids->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(ids, 0, const char *), "V_MUF");
    ck_assert_str_eq(APR_ARRAY_IDX(ids, 1, const char *), "V_SCONE");
    req = cs_pos_square_counts_request(unit_pool, c, ids, 0, 100, "cur");
    ck_assert_str_eq(req, "{\"catalog_object_ids\":[\"V_MUF\",\"V_SCONE\"],\"location_ids\":"
                          "[\"L-MAIN\"],\"states\":[\"IN_STOCK\"],\"cursor\":\"cur\"}");
    ck_assert_int_eq(cs_pos_square_parse_counts_page(c, counts, strlen(counts), &cursor, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(cursor, "next");
    ck_assert_int_eq(cs_pos_square_build_menu(&m, c, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(item(m, "I_MUF")->sold_out, 1);
    ck_assert_int_eq(item(m, "I_SCONE")->sold_out, 0);
    ck_assert_int_eq(item(m, "I_BUN")->sold_out, 0);     /* not tracked: the count is noise */
    ck_assert_int_eq(cs_pos_square_parse_counts_page(c, bad_qty, strlen(bad_qty), &cursor, &err),
                     APR_EINVAL);
    ck_assert_int_eq(cs_pos_square_parse_counts_page(c, num_qty, strlen(num_qty), &cursor, &err),
                     APR_EINVAL);
    ck_assert_int_eq(cs_pos_square_parse_counts_page(c, "{\"counts\":{}}", 13, &cursor, &err),
                     APR_EINVAL);
}
END_TEST

/* ---- orders ---------------------------------------------------------------------- */

static cs_pos_order_t *order_of(const char *ext, const char *item_id, int qty,
                                const char *mod1, const char *mod2)
{
    cs_pos_order_t *o = apr_pcalloc(unit_pool, sizeof(*o));
    cs_pos_line_t *l;

    o->external_id = ext;
    o->customer_name = "Grace Hopper";
    o->customer_phone = "+15550001111";
    o->lines = apr_array_make(unit_pool, 1, sizeof(cs_pos_line_t));
    l = apr_array_push(o->lines);
    memset(l, 0, sizeof(*l));
    l->item_id = item_id;
    l->quantity = qty;
    l->note = "no foam";
    l->modifier_ids = apr_array_make(unit_pool, 2, sizeof(const char *));
    if (mod1) {
        APR_ARRAY_PUSH(l->modifier_ids, const char *) = mod1;
    }
    if (mod2) {
        APR_ARRAY_PUSH(l->modifier_ids, const char *) = mod2;
    }
    return o;
}

static json_object *json_of(const char *s)
{
    cs_json_t *doc;
    const char *err = NULL;

    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, s, strlen(s), &err), APR_SUCCESS);
    return cs_json_raw(doc);
}

START_TEST(test_square_order_names_the_chosen_variation_and_is_idempotent_by_our_id)
{
    cs_square_catalog_t *c = catalog(PAGE(LATTE));
    cs_pos_order_t *o = order_of("ord-42", "I_LATTE", 2, "M_OAT", "V_16");
    const char *body, *err = NULL;
    json_object *root, *ord, *li, *ful;

    ck_assert_int_eq(cs_pos_square_order_request(&body, o, LOC, c, unit_pool, &err), APR_SUCCESS);
    root = json_of(body);
    ck_assert_str_eq(cs_jstr(root, "idempotency_key"), "ord-42");
    ord = cs_jobj(root, "order");
    ck_assert_str_eq(cs_jstr(ord, "reference_id"), "ord-42");
    ck_assert_str_eq(cs_jstr(ord, "location_id"), LOC);
    li = cs_jat(cs_jarr(ord, "line_items"), 0);
    ck_assert_str_eq(cs_jstr(li, "catalog_object_id"), "V_16");
    ck_assert_str_eq(cs_jstr(li, "quantity"), "2");
    ck_assert_str_eq(cs_jstr(li, "note"), "no foam");
    ck_assert_int_eq((int)cs_jlen(cs_jarr(li, "modifiers")), 1);
    ck_assert_str_eq(cs_jstr(cs_jat(cs_jarr(li, "modifiers"), 0), "catalog_object_id"), "M_OAT");
    ful = cs_jat(cs_jarr(ord, "fulfillments"), 0);
    ck_assert_str_eq(cs_jstr(ful, "type"), "PICKUP");
    ck_assert_str_eq(cs_jstr(cs_jobj(ful, "pickup_details"), "schedule_type"), "ASAP");
    ck_assert_str_eq(cs_jstr(cs_jobj(cs_jobj(ful, "pickup_details"), "recipient"),
                             "display_name"), "Grace Hopper");

    /* no variation chosen: the cheapest; a set time is SCHEDULED */
    o = order_of("ord-43", "I_LATTE", 1, NULL, NULL);
    o->pickup_at = apr_time_from_sec(1777000000);
    ck_assert_int_eq(cs_pos_square_order_request(&body, o, LOC, c, unit_pool, &err), APR_SUCCESS);
    ord = cs_jobj(json_of(body), "order");
    ck_assert_str_eq(cs_jstr(cs_jat(cs_jarr(ord, "line_items"), 0), "catalog_object_id"), "V_12");
    ck_assert_str_eq(cs_jstr(cs_jobj(cs_jat(cs_jarr(ord, "fulfillments"), 0), "pickup_details"),
                             "pickup_at"), "2026-04-24T03:06:40Z");

    ck_assert_int_eq(cs_pos_square_order_request(&body, order_of("ord-44", "I_GONE", 1, NULL,
                     NULL), LOC, c, unit_pool, &err), APR_EINVAL);
    ck_assert_int_eq(cs_pos_square_order_request(&body, order_of("ord-45", "I_LATTE", 0, NULL,
                     NULL), LOC, c, unit_pool, &err), APR_EINVAL);
    ck_assert_int_eq(cs_pos_square_order_request(&body, order_of("", "I_LATTE", 1, NULL, NULL),
                     LOC, c, unit_pool, &err), APR_EINVAL);
}
END_TEST

static const char *state_of(const char *json)
{
    cs_pos_order_result_t *r = NULL;
    const char *err = NULL;

    if (cs_pos_square_parse_order(&r, json, strlen(json), unit_pool, &err) != APR_SUCCESS) {
        return NULL;
    }
    return r->status;
}

START_TEST(test_square_order_states_map_to_ours)
{
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"DRAFT\"}}"),
                     CS_POS_ORDER_PENDING);
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"OPEN\"}}"),
                     CS_POS_ORDER_ACCEPTED);
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"OPEN\",\"fulfillments\":"
                              "[{\"state\":\"PROPOSED\"}]}}"), CS_POS_ORDER_PENDING);
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"OPEN\",\"fulfillments\":"
                              "[{\"state\":\"RESERVED\"}]}}"), CS_POS_ORDER_ACCEPTED);
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"OPEN\",\"fulfillments\":"
                              "[{\"state\":\"PREPARED\"}]}}"), CS_POS_ORDER_READY);
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"COMPLETED\"}}"),
                     CS_POS_ORDER_COMPLETED);
    ck_assert_str_eq(state_of("{\"order\":{\"id\":\"O\",\"state\":\"CANCELED\"}}"),
                     CS_POS_ORDER_CANCELLED);
    ck_assert_ptr_null(state_of("{\"order\":{\"state\":\"OPEN\"}}"));
    ck_assert_ptr_null(state_of("{\"order\":{\"id\":7}}"));
    ck_assert_ptr_null(state_of("{\"id\":\"O\"}"));
    ck_assert_ptr_null(state_of("[]"));
}
END_TEST

/* ---- events --------------------------------------------------------------------- */

static cs_pos_event_t *event_of(const char *json)
{
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;

    if (cs_pos_square_parse_event(&ev, json, strlen(json), unit_pool, &err) != APR_SUCCESS) {
        return NULL;
    }
    return ev;
}

START_TEST(test_square_events_are_sorted_by_kind)
{
    cs_pos_event_t *ev;

    ev = event_of(SQ_VEC_BODY);
    ck_assert_str_eq(ev->event_id, "ac3ac95b-f97d-458c-a6e6-18981597e05f");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_OTHER);
    ev = event_of("{\"event_id\":\"e1\",\"type\":\"catalog.version.updated\",\"data\":{\"object\":"
                  "{\"catalog_version\":{\"updated_at\":\"2026-01-01T00:00:00Z\"}}}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_MENU);
    ev = event_of("{\"event_id\":\"e2\",\"type\":\"inventory.count.updated\",\"data\":{}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_STOCK);
    ck_assert_ptr_null(ev->stock);
    ev = event_of("{\"event_id\":\"e3\",\"type\":\"order.updated\",\"data\":{\"id\":\"ORD1\","
                  "\"object\":{\"order_updated\":{\"order_id\":\"ORD1\","
                  "\"state\":\"COMPLETED\"}}}}");
    ck_assert_int_eq(ev->kind, CS_POS_EVENT_ORDER);
    ck_assert_str_eq(ev->order_id, "ORD1");
    ck_assert_str_eq(ev->order_status, CS_POS_ORDER_COMPLETED);
    ev = event_of("{\"event_id\":\"e4\",\"type\":\"order.fulfillment.updated\","
                  "\"data\":{\"object\":"
                  "{\"order_fulfillment_updated\":{\"order_id\":\"ORD2\",\"state\":\"OPEN\","
                  "\"fulfillment_update\":[{\"old_state\":\"RESERVED\","
                  "\"new_state\":\"PREPARED\"}]}}}}");
    ck_assert_str_eq(ev->order_id, "ORD2");
    ck_assert_str_eq(ev->order_status, CS_POS_ORDER_READY);
    ck_assert_ptr_null(event_of("{\"type\":\"order.updated\"}"));
    ck_assert_ptr_null(event_of("{\"event_id\":\"e5\",\"type\":\"order.updated\",\"data\":{}}"));
    ck_assert_ptr_null(event_of("{\"event_id\":5,\"type\":\"x\"}"));
    ck_assert_ptr_null(event_of("not json"));
    ck_assert_ptr_null(event_of("[\"event_id\"]"));
}
END_TEST

/* ---- odd answers ------------------------------------------------------------------ */

START_TEST(test_square_odd_catalog_answers_are_refused_cleanly)
{
    static const char *const bad[] = {
        "", "not json", "[]", "{\"objects\":{}}", "{\"objects\":[7]}",
        "{\"objects\":[{\"id\":\"X\"}]}", "{\"cursor\":5}",
        "{\"objects\":[{\"type\":\"ITEM\",\"item_data\":{\"name\":\"A\"}}]}",
        "{\"objects\":[{\"type\":\"ITEM\",\"id\":\"A\"}]}",
        "{\"objects\":[{\"type\":\"ITEM\",\"id\":\"A\",\"item_data\":{\"name\":7}}]}",
        "{\"objects\":[{\"type\":\"ITEM\",\"id\":\"A\",\"item_data\":{\"name\":\"\"}}]}",
        "{\"objects\":[{\"type\":\"ITEM\",\"id\":\"A\",\"item_data\":{\"name\":\"A\","
        "\"variations\":{}}}]}",
        "{\"objects\":[{\"type\":\"ITEM\",\"id\":\"A\",\"item_data\":{\"name\":\"A\","
        "\"modifier_list_info\":[{\"min_selected_modifiers\":1}]}}]}",
        "{\"objects\":[" VAR("V", "I", "R", "450", 1, "") "]}",
        "{\"objects\":[" VAR("V", "I", "R", -1, 1, "") "]}",
        "{\"objects\":[" VAR("V", "I", "R", 1e30, 1, "") "]}",
        "{\"objects\":[" VAR("V", "I", "R", 99999999999999999999, 1, "") "]}",
        "{\"objects\":[" VAR("V", "I", "R", 100000001, 1, "") "]}",
        "{\"objects\":[" VAR("V", "I", "R", 100, "1", "") "]}",
        "{\"objects\":[" VAR("V", "I", "R", 100, 1, ",\"location_overrides\":{}") "]}",
        "{\"objects\":[" VAR("V", "I", "R", 100, 1, ",\"location_overrides\":[{\"location_id\":"
        "\"L-MAIN\",\"sold_out\":\"yes\"}]") "]}",
        "{\"objects\":[" VAR("V1", "I", "R", 100, 1, "") ",{\"type\":\"ITEM_VARIATION\",\"id\":"
        "\"V2\",\"item_variation_data\":{\"price_money\":{\"amount\":1,\"currency\":\"EUR\"}}}]}",
        "{\"objects\":[{\"type\":\"MODIFIER_LIST\",\"id\":\"L\",\"modifier_list_data\":{}}]}",
        "{\"objects\":[" LIST("L", "Milk", ",\"max_selected_modifiers\":\"2\"", "") "]}",
        "{\"objects\":[" LIST("L", "Milk", "", "{\"type\":\"MODIFIER\",\"id\":\"M\"}") "]}",
        "{\"objects\":[" MOD("M", "L", "Oat", 5.5, "") "]}",
        "{\"objects\":[{\"type\":\"CATEGORY\",\"id\":\"C\"}]}",
        "{\"objects\":[{\"type\":\"IMAGE\",\"id\":\"P\",\"image_data\":{\"url\":1}}]}",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cs_square_catalog_t *c = cs_pos_square_catalog_make(unit_pool, LOC, apr_time_now());
        const char *cursor = "x", *err = NULL;
        ck_assert_msg(cs_pos_square_parse_catalog_page(c, bad[i], strlen(bad[i]), &cursor, &err)
                      == APR_EINVAL, "accepted: %s", bad[i]);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_null(cursor);
    }
}
END_TEST

START_TEST(test_square_item_without_a_priced_variation_is_left_out_not_refused)
{
    cs_menu_t *m = menu_of(PAGE(CAT("C", "X") ","
        ITEM("I", "Nothing to sell", "C", "", "") ","
        ITEM("J", "Unsellable", "C", VAR("V", "J", "R", 100, 1, ",\"sellable\":false"), "")));

    ck_assert_int_eq(m->items->nelts, 0);
}
END_TEST

/* ---- the adapter over an injected transport ------------------------------------------- */

#define MAX_CALLS 16

static struct {
    int n, next;
    const char *url[MAX_CALLS], *method[MAX_CALLS], *body[MAX_CALLS], *bearer[MAX_CALLS];
    const char *headers[MAX_CALLS];
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
    char *h = "";
    int k;

    ck_assert_msg(i < tx.n, "unexpected request %s", req->url);
    tx.url[i] = apr_pstrdup(unit_pool, req->url);
    tx.method[i] = req->method ? req->method : (req->body ? "POST" : "GET");
    tx.body[i] = req->body ? apr_pstrdup(unit_pool, req->body) : NULL;
    tx.bearer[i] = req->bearer ? apr_pstrdup(unit_pool, req->bearer) : NULL;
    for (k = 0; req->headers && k < req->headers->nelts; k++) {
        h = apr_pstrcat(unit_pool, h, APR_ARRAY_IDX(req->headers, k, const char *), "\n", NULL);
    }
    tx.headers[i] = h;
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
    http_conf.kind = "square";
    http_conf.api_base = "https://sq.test";
    http_conf.location = LOC;
    http_conf.access_token = "EAAA-token";
    memset(&http_sess, 0, sizeof(http_sess));
    http_sess.conf = &http_conf;
    http_sess.send = scripted_send;
}

START_TEST(test_square_menu_follows_the_cursor_and_reads_counts)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    script(200, "{\"objects\":[" CAT("C", "Bakery") "],\"cursor\":\"c/2+\"}");
    script(200, PAGE(ITEM("I", "Muffin", "C", VAR("V", "I", "R", 350, 1,
                          ",\"track_inventory\":true"), "")));
    script(200, "{\"counts\":[{\"catalog_object_id\":\"V\",\"state\":\"IN_STOCK\","
                "\"location_id\":\"L-MAIN\",\"quantity\":\"0\"}]}");
    ck_assert_int_eq(cs_pos_square.fetch_menu(&m, &http_sess, unit_pool, &err), APR_SUCCESS);
    ck_assert_int_eq(tx.next, 3);
    ck_assert_str_eq(tx.url[0], "https://sq.test/v2/catalog/list?types=ITEM,CATEGORY,"
                                "MODIFIER_LIST,IMAGE");
    ck_assert_str_eq(tx.url[1], "https://sq.test/v2/catalog/list?types=ITEM,CATEGORY,"
                                "MODIFIER_LIST,IMAGE&cursor=c%2F2%2B");
    ck_assert_str_eq(tx.method[2], "POST");
    ck_assert_str_eq(tx.url[2], "https://sq.test/v2/inventory/counts/batch-retrieve");
    ck_assert_ptr_nonnull(strstr(tx.body[2], "\"catalog_object_ids\":[\"V\"]"));
    ck_assert_str_eq(tx.bearer[0], "EAAA-token");
    ck_assert_ptr_nonnull(strstr(tx.headers[0], "Square-Version: " CS_SQUARE_VERSION "\n"));
    ck_assert_int_eq(item(m, "I")->sold_out, 1);
}
END_TEST

START_TEST(test_square_a_repeated_cursor_is_refused)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    script(200, "{\"cursor\":\"same\"}");
    script(200, "{\"cursor\":\"same\"}");
    ck_assert_int_eq(cs_pos_square.fetch_menu(&m, &http_sess, unit_pool, &err), APR_EINVAL);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_square_refusals_are_sorted_and_named)
{
    cs_menu_t *m = NULL;
    const char *err = NULL;

    script(400, "{\"errors\":[{\"category\":\"INVALID_REQUEST_ERROR\",\"code\":\"BAD_REQUEST\"}]}");
    ck_assert_int_eq(cs_pos_square.fetch_menu(&m, &http_sess, unit_pool, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "BAD_REQUEST"));
    script(401, "{}");
    ck_assert_int_eq(cs_pos_square.fetch_menu(&m, &http_sess, unit_pool, &err), APR_EACCES);
    ck_assert_ptr_null(strstr(err, "EAAA"));
    http_conf.access_token = NULL;
    ck_assert_int_eq(cs_pos_square.fetch_menu(&m, &http_sess, unit_pool, &err), APR_EACCES);
    http_conf.access_token = "t";
    http_conf.location = "";
    ck_assert_int_eq(cs_pos_square.fetch_menu(&m, &http_sess, unit_pool, &err), APR_EINVAL);
    ck_assert_int_eq(tx.next, 2);   /* no request without a token or a location */
    ck_assert_int_eq(cs_pos_square.set_sold_out(&http_sess, "I", 1, unit_pool, &err),
                     APR_ENOTIMPL);
}
END_TEST

START_TEST(test_square_submit_reads_the_items_then_creates_the_order)
{
    cs_pos_order_result_t *r = NULL;
    const char *err = NULL;

    script(200, PAGE(LATTE));
    script(200, "{\"order\":{\"id\":\"ORD9\",\"state\":\"OPEN\",\"fulfillments\":"
                "[{\"state\":\"PROPOSED\"}]}}");
    script(200, "{\"order\":{\"id\":\"ORD9\",\"state\":\"COMPLETED\"}}");
    ck_assert_int_eq(cs_pos_square.submit_order(&r, &http_sess,
                     order_of("ord-7", "I_LATTE", 1, "V_20", NULL), unit_pool, &err), APR_SUCCESS);
    ck_assert_str_eq(r->pos_order_id, "ORD9");
    ck_assert_str_eq(r->status, CS_POS_ORDER_PENDING);
    ck_assert_str_eq(tx.url[0], "https://sq.test/v2/catalog/batch-retrieve");
    ck_assert_str_eq(tx.body[0],
                     "{\"object_ids\":[\"I_LATTE\"],\"include_related_objects\":false}");
    ck_assert_str_eq(tx.url[1], "https://sq.test/v2/orders");
    ck_assert_ptr_nonnull(strstr(tx.body[1], "\"idempotency_key\":\"ord-7\""));
    ck_assert_ptr_nonnull(strstr(tx.body[1], "\"catalog_object_id\":\"V_20\""));
    ck_assert_int_eq(cs_pos_square.order_status(&r, &http_sess, "ORD 9", unit_pool, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(tx.url[2], "https://sq.test/v2/orders/ORD%209");
    ck_assert_str_eq(r->status, CS_POS_ORDER_COMPLETED);
}
END_TEST

Suite *pos_square_suite(void)
{
    Suite *s = suite_create("pos_square");
    TCase *tc = tcase_create("square_parse");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_square_published_signature_vectors);
    tcase_add_test(tc, test_square_signature_mismatches_are_refused);
    tcase_add_test(tc, test_square_variations_become_a_required_group_priced_from_the_cheapest);
    tcase_add_test(tc, test_square_item_is_sold_out_only_when_every_variation_is);
    tcase_add_test(tc, test_square_sold_out_until_passed_is_over);
    tcase_add_test(tc, test_square_location_and_availability_rules);
    tcase_add_test(tc, test_square_modifier_lists_become_groups);
    tcase_add_test(tc, test_square_pages_accumulate_and_top_level_children_attach);
    tcase_add_test(tc, test_square_zero_counts_of_tracked_variations_are_sold_out);
    tcase_add_test(tc, test_square_order_names_the_chosen_variation_and_is_idempotent_by_our_id);
    tcase_add_test(tc, test_square_order_states_map_to_ours);
    tcase_add_test(tc, test_square_events_are_sorted_by_kind);
    tcase_add_test(tc, test_square_odd_catalog_answers_are_refused_cleanly);
    tcase_add_test(tc, test_square_item_without_a_priced_variation_is_left_out_not_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("square_http");
    tcase_add_checked_fixture(tc, http_setup, unit_pool_teardown);
    tcase_add_test(tc, test_square_menu_follows_the_cursor_and_reads_counts);
    tcase_add_test(tc, test_square_a_repeated_cursor_is_refused);
    tcase_add_test(tc, test_square_refusals_are_sorted_and_named);
    tcase_add_test(tc, test_square_submit_reads_the_items_then_creates_the_order);
    suite_add_tcase(s, tc);
    return s;
}
