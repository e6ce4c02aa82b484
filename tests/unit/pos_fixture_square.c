/* The Square adapter's fixture for the contract suite: its fake is
 * tests/fakes/fake_square.py (location L-MAIN, token sq-test-token). */
#include "pos_fixture.h"
#include "providers/pos/cs_pos_parse.h"

#include <apr_strings.h>
#include <string.h>

#define SQUARE_TOKEN    "sq-test-token"
#define SQUARE_KEY      "sq-contract-signature-key"
#define SQUARE_HOOK_URL "https://consult.example/webhooks/pos/square"

static void square_conf(cs_pos_conf_t *conf, apr_pool_t *p, const char *base)
{
    memset(conf, 0, sizeof(*conf));
    conf->kind = "square";
    conf->api_base = apr_pstrdup(p, base);
    conf->location = "L-MAIN";
    conf->access_token = SQUARE_TOKEN;
    conf->webhook_secret = SQUARE_KEY;
    conf->webhook_url = SQUARE_HOOK_URL;
    conf->timeout = apr_time_from_sec(10);
}

/* Square signs the subscription's notification URL and the raw body;
 * no timestamp. */
static void square_sign(cs_pos_webhook_t *w, const cs_pos_conf_t *conf, apr_pool_t *p,
                        apr_time_t now)
{
    apr_size_t len = w->body_len ? w->body_len : strlen(w->body);
    const char *sig = cs_pos_square_signature(p, conf->webhook_secret, conf->webhook_url,
                                              w->body, len);

    (void)now;
    apr_table_set(w->headers, CS_SQUARE_SIG_HEADER, sig ? sig : "");
}

const pos_fixture_t pos_fixture_square = {
    "square",
    "tests/fakes/fake_square.py",
    square_conf,
    square_sign,
    "{\"merchant_id\":\"MLFAKEMERCHANT\",\"type\":\"inventory.count.updated\","
    "\"event_id\":\"5d2f3d9e-6a2c-4c57-9a8b-3c0e7d1f2a10\","
    "\"created_at\":\"2026-05-01T12:00:00Z\",\"data\":{\"type\":\"inventory_counts\","
    "\"id\":\"VAR_COLD_BREW\",\"object\":{\"inventory_counts\":[{\"catalog_object_id\":"
    "\"VAR_COLD_BREW\",\"catalog_object_type\":\"ITEM_VARIATION\",\"state\":\"IN_STOCK\","
    "\"location_id\":\"L-MAIN\",\"quantity\":\"0\","
    "\"calculated_at\":\"2026-05-01T12:00:00Z\"}]}}}",
    "5d2f3d9e-6a2c-4c57-9a8b-3c0e7d1f2a10",
    0,                      /* Square signs no timestamp */
    9,
    "ITEM_BLT", 1095,
    "ITEM_COLD_BREW",
    "ITEM_DRIP",
    "ML_MILK",
    0,                      /* sold_out is read-only for apps */
};
