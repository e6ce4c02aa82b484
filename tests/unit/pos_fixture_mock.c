/* The mock POS for the shared contract suite: make_conf writes its menu
 * file and its state file (Fries sold out) into the test's folder. */
#include "pos_fixture.h"
#include "providers/pos/cs_pos_mock.h"

#include <apr_file_io.h>
#include <apr_strings.h>
#include <string.h>

#define MOCK_SECRET "mock-contract-secret"

static const char menu[] =
    "{\"currency\":\"USD\",\"modifier_groups\":["
    " {\"id\":\"size\",\"name\":\"Size\",\"min\":1,\"max\":1,\"modifiers\":["
    "  {\"id\":\"small\",\"name\":\"Small\",\"price_cents\":0},"
    "  {\"id\":\"large\",\"name\":\"Large\",\"price_cents\":300}]},"
    " {\"id\":\"extras\",\"name\":\"Extras\",\"min\":0,\"max\":3,\"modifiers\":["
    "  {\"id\":\"cheese\",\"name\":\"Cheese\",\"price_cents\":150}]}],"
    "\"categories\":["
    " {\"id\":\"pizzas\",\"name\":\"Pizzas\",\"items\":["
    "  {\"id\":\"margherita\",\"name\":\"Margherita\",\"price_cents\":1210,"
    "   \"modifier_groups\":[\"size\",\"extras\"]},"
    "  {\"id\":\"diavola\",\"name\":\"Diavola\",\"price_cents\":1500,"
    "   \"modifier_groups\":[\"size\"]},"
    "  {\"id\":\"bianca\",\"name\":\"Bianca\",\"price_cents\":1400},"
    "  {\"id\":\"staff\",\"name\":\"Staff pie\",\"price_cents\":0,\"visible\":false}]},"
    " {\"id\":\"sides\",\"name\":\"Sides\",\"items\":["
    "  {\"id\":\"fries\",\"name\":\"Fries\",\"price_cents\":500},"
    "  {\"id\":\"salad\",\"name\":\"Salad\",\"price_cents\":800},"
    "  {\"id\":\"wings\",\"name\":\"Wings\",\"price_cents\":1100}]},"
    " {\"id\":\"drinks\",\"name\":\"Drinks\",\"items\":["
    "  {\"id\":\"soda\",\"name\":\"Soda\",\"price_cents\":300},"
    "  {\"id\":\"water\",\"name\":\"Water\",\"price_cents\":200}]}]}";

static void put(apr_pool_t *p, const char *path, const char *text)
{
    apr_file_t *f;

    if (apr_file_open(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_TRUNCATE,
                      APR_FPROT_OS_DEFAULT, p) == APR_SUCCESS) {
        apr_file_write_full(f, text, strlen(text), NULL);
        apr_file_close(f);
    }
}

static void mock_make_conf(cs_pos_conf_t *conf, apr_pool_t *p, const char *base)
{
    memset(conf, 0, sizeof(*conf));
    conf->kind = "mock";
    conf->menu_file = apr_pstrcat(p, base, "/menu.json", NULL);
    conf->state_file = apr_pstrcat(p, base, "/state.json", NULL);
    conf->webhook_secret = MOCK_SECRET;
    put(p, conf->menu_file, menu);
    put(p, conf->state_file, "{\"sold_out\":{\"fries\":true}}");
}

static void mock_sign_webhook(cs_pos_webhook_t *w, const cs_pos_conf_t *conf,
                              apr_pool_t *p, apr_time_t now)
{
    apr_size_t len = w->body_len ? w->body_len : strlen(w->body);

    if (!w->headers) {
        w->headers = apr_table_make(p, 2);
    }
    apr_table_set(w->headers, CS_POS_MOCK_SIG_HEADER,
                  cs_pos_mock_sign(p, conf->webhook_secret, now, w->body, len));
}

const pos_fixture_t pos_fixture_mock = {
    "mock",
    NULL,
    mock_make_conf,
    mock_sign_webhook,
    "{\"event_id\":\"mock-evt-1\",\"type\":\"stock.updated\","
    "\"sold_out\":[{\"id\":\"fries\",\"sold_out\":true}]}",
    "mock-evt-1",
    1,
    8,
    "margherita",
    1210,
    "fries",
    "salad",
    "size",
    1,
};
