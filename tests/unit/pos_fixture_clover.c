/* The Clover adapter's fixture for the contract suite: its fake is
 * tests/fakes/fake_clover.py (merchant MFAKECLOVER01, token
 * clover-test-token). */
#include "pos_fixture.h"
#include "providers/pos/cs_pos_parse.h"

#include <apr_strings.h>
#include <string.h>

#define CLOVER_TOKEN    "clover-test-token"
#define CLOVER_AUTH     "5f1c9a2e-7b3d-4e8f-a6c1-2d9b8e7f6a50"
#define CLOVER_HOOK_URL "https://consult.example/webhooks/pos/clover"

static void clover_conf(cs_pos_conf_t *conf, apr_pool_t *p, const char *base)
{
    memset(conf, 0, sizeof(*conf));
    conf->kind = "clover";
    conf->api_base = apr_pstrdup(p, base);
    conf->location = "MFAKECLOVER01";
    conf->access_token = CLOVER_TOKEN;
    conf->webhook_secret = CLOVER_AUTH;
    conf->webhook_url = CLOVER_HOOK_URL;
    conf->timeout = apr_time_from_sec(10);
}

/* Clover sends the app's auth code as is: no HMAC, no timestamp. */
static void clover_sign(cs_pos_webhook_t *w, const cs_pos_conf_t *conf, apr_pool_t *p,
                        apr_time_t now)
{
    (void)p;
    (void)now;
    apr_table_set(w->headers, CS_CLOVER_AUTH_HEADER, conf->webhook_secret);
}

const pos_fixture_t pos_fixture_clover = {
    "clover",
    "tests/fakes/fake_clover.py",
    clover_conf,
    clover_sign,
    "{\"appId\":\"APPFAKE000001\",\"merchants\":{\"MFAKECLOVER01\":[{\"objectId\":"
    "\"I:HORCHATA00001\",\"type\":\"UPDATE\",\"ts\":1717000000000}]}}",
    "MFAKECLOVER01/I:HORCHATA00001/UPDATE/1717000000000",
    0,                      /* the auth code is static */
    10,
    "FISHTACOS0001", 1295,
    "HORCHATA00001",
    "CHIPSGUAC0001",
    "MGPROTEIN0001",
    1,
};
