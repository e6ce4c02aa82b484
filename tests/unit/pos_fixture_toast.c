/* The Toast adapter against tests/fakes/fake_toast.py, for the shared POS
 * contract suite (pos_fixture.h). The ids are the fake's built-in catalog. */
#include "pos_fixture.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"
#include "providers/pos/cs_pos_parse.h"

#include <apr_strings.h>
#include <string.h>

#define TOAST_RESTAURANT   "6f1b8e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define TOAST_CLIENT_ID    "consult-fake-client"
#define TOAST_SECRET       "consult-fake-secret-0123456789"
#define TOAST_HOOK_SECRET  "toast-webhook-secret-for-tests"
#define TOAST_MARGHERITA   "30000000-0000-4000-8000-000000000001"   /* 12.10 */
#define TOAST_COFFEE       "30000000-0000-4000-8000-000000000007"
#define TOAST_SODA         "30000000-0000-4000-8000-000000000010"   /* sold out */
#define TOAST_SIZE_GROUP   "40000000-0000-4000-8000-000000000001"   /* choose 1 */
#define TOAST_EVENT        "e0000000-0000-4000-8000-0000000000a1"

static void toast_make_conf(cs_pos_conf_t *conf, apr_pool_t *p, const char *base)
{
    memset(conf, 0, sizeof(*conf));
    conf->kind = "toast";
    conf->api_base = apr_pstrdup(p, base);
    conf->location = TOAST_RESTAURANT;
    conf->client_id = TOAST_CLIENT_ID;
    conf->client_secret = TOAST_SECRET;
    conf->webhook_secret = TOAST_HOOK_SECRET;
    conf->timeout = apr_time_from_sec(5);
}

/* Toast signs body + the message's own timestamp: the body's "timestamp"
 * becomes @p now (so a stale signing time is a stale message), then
 * Toast-Signature = base64(HMAC-SHA256(secret, body + timestamp)). */
static void toast_sign_webhook(cs_pos_webhook_t *w, const cs_pos_conf_t *conf,
                               apr_pool_t *p, apr_time_t now)
{
    const char *err = NULL, *ts = cs_pos_toast_format_time(p, now), *body;
    unsigned char mac[CS_SHA256_LEN];
    cs_json_t *doc;
    char *msg;
    apr_size_t blen, tlen = strlen(ts);

    if (w->body && cs_json_parse(&doc, p, w->body, w->body_len ? w->body_len
                                 : strlen(w->body), &err) == APR_SUCCESS
        && json_object_is_type(cs_json_raw(doc), json_type_object)) {
        cs_json_set_str(doc, "timestamp", ts);
        body = cs_json_dump(doc, p);
        w->body = body;
        w->body_len = strlen(body);
    }
    blen = !w->body ? 0 : w->body_len ? w->body_len : strlen(w->body);
    msg = apr_palloc(p, blen + tlen + 1);
    if (blen) {
        memcpy(msg, w->body, blen);
    }
    memcpy(msg + blen, ts, tlen + 1);
    if (!w->headers) {
        w->headers = apr_table_make(p, 4);
    }
    if (cs_hmac_sha256(mac, conf->webhook_secret, strlen(conf->webhook_secret), msg,
                       blen + tlen) == APR_SUCCESS) {
        apr_table_set(w->headers, CS_TOAST_SIG_HEADER, cs_base64_encode(p, mac, sizeof(mac)));
    }
    apr_table_set(w->headers, "Toast-Event-Category", "stock");
    apr_table_set(w->headers, "Toast-Restaurant-External-ID", TOAST_RESTAURANT);
    apr_table_set(w->headers, "Content-Type", "application/json");
}

const pos_fixture_t pos_fixture_toast = {
    "toast",
    "tests/fakes/fake_toast.py",
    toast_make_conf,
    toast_sign_webhook,
    "{\"timestamp\":\"2024-05-01T12:00:00.000+0000\",\"eventCategory\":\"stock\","
    "\"eventType\":\"out_of_stock\",\"guid\":\"" TOAST_EVENT "\","
    "\"details\":{\"itemGuid\":\"" TOAST_SODA "\",\"restaurantGuid\":\""
    TOAST_RESTAURANT "\",\"status\":\"OUT_OF_STOCK\",\"quantity\":null,"
    "\"multiLocationId\":null,\"versionId\":\"" TOAST_SODA "\"}}",
    TOAST_EVENT,
    1,                      /* the signed timestamp is checked */
    11,                     /* visible items */
    TOAST_MARGHERITA,
    1210,                   /* Toast's 12.10 */
    TOAST_SODA,
    TOAST_COFFEE,
    TOAST_SIZE_GROUP,
    1,                      /* the stock API can mark items out of stock */
};
