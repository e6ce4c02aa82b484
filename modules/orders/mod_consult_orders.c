/*
 * mod_consult_orders: online ordering on a restaurant's vhost
 * (`ConsultOrders On`, next to its ConsultPOS): a server-side cart priced
 * from the POS's menu, pickup times from the kitchen's capacity, Stripe
 * payments, and paid orders sent to the POS through the job queue.
 *
 *   GET  /order                  the menu with "Add" buttons and the cart
 *   POST /order/cart             add / change quantity / remove / tip
 *   GET  /order/checkout         totals, pickup time, contact details
 *   POST /order/checkout         the order and its PaymentIntent
 *   GET  /order/pay/PUBLIC_ID    the payment page (Stripe.js)
 *   GET  /order/status/PUBLIC_ID the guest's status page (live)
 *   GET  /api/order/PUBLIC_ID    the same, as JSON
 *   POST /webhooks/stripe        Stripe's signed events
 */
#include "orders_private.h"
#include "base/cs_conf.h"
#include "domain/cs_hours.h"

#include "http_request.h"
#include "http_protocol.h"
#include <apr_strings.h>
#include <apr_hash.h>

cs_core_t orders_core;
APR_OPTIONAL_FN_TYPE(cs_pos_menu) *orders_pos_menu;
APR_OPTIONAL_FN_TYPE(cs_pos_submit) *orders_pos_submit;
static apr_hash_t *by_slug;

#define UNSET (-1)

orders_conf *orders_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &consult_orders_module);
}

orders_conf *orders_conf_for_slug(const char *slug)
{
    return slug && by_slug ? apr_hash_get(by_slug, slug, APR_HASH_KEY_STRING) : NULL;
}

static void *create_server(apr_pool_t *p, server_rec *s)
{
    orders_conf *c = apr_pcalloc(p, sizeof(*c));
    c->enabled = UNSET;
    c->slot_min = c->capacity = c->lead_min = c->last_order_min = UNSET;
    c->days = c->max_slots = UNSET;
    c->ntips = UNSET;
    c->pos_give_up = c->unpaid_expiry = UNSET;
    c->stripe.timeout = UNSET;
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
#define MERGE_NUM(f) c->f = add->f != UNSET ? add->f : base->f
static void *merge_server(apr_pool_t *p, void *basev, void *addv)
{
    orders_conf *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    MERGE_NUM(enabled);
    MERGE_PTR(templates);
    MERGE_PTR(hours);
    MERGE_PTR(holidays);
    MERGE_NUM(slot_min);
    MERGE_NUM(capacity);
    MERGE_NUM(lead_min);
    MERGE_NUM(last_order_min);
    MERGE_NUM(days);
    MERGE_NUM(max_slots);
    if (add->ntips != UNSET) {
        memcpy(c->tips, add->tips, sizeof(c->tips));
        c->ntips = add->ntips;
    }
    else {
        memcpy(c->tips, base->tips, sizeof(c->tips));
        c->ntips = base->ntips;
    }
    c->fees = add->fees_set ? add->fees : base->fees;
    c->fees_set = add->fees_set || base->fees_set;
    MERGE_NUM(pos_give_up);
    MERGE_NUM(unpaid_expiry);
    MERGE_PTR(stripe.api_base);
    MERGE_PTR(stripe.secret_key);
    MERGE_NUM(stripe.timeout);
    MERGE_PTR(publishable_key);
    MERGE_PTR(webhook_secrets);
    return c;
}

static const char *set_on(cmd_parms *cmd, void *dc, int on)
{
    orders_sconf(cmd->server)->enabled = on;
    return NULL;
}

static const char *set_templates(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *dir = ap_server_root_relative(cmd->pool, arg);
    if (!dir || !*arg) {
        return apr_psprintf(cmd->pool, "ConsultOrderTemplates: expected a folder, got '%s'", arg);
    }
    orders_sconf(cmd->server)->templates = dir;
    return NULL;
}

static const char *add_hours(cmd_parms *cmd, void *dc, const char *arg)
{
    orders_conf *c = orders_sconf(cmd->server);
    cs_hours_t *h = NULL;
    const char *err = NULL;
    apr_array_header_t *one = apr_array_make(cmd->temp_pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(one, const char *) = arg;
    /* Checked one entry at a time, so the error names the bad one. */
    if (cs_hours_parse(&h, cmd->temp_pool, one, &err) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "ConsultOrderHours: ", err ? err : "bad entry", NULL);
    }
    if (!c->hours) c->hours = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c->hours, const char *) = arg;
    return NULL;
}

static const char *add_holiday(cmd_parms *cmd, void *dc, const char *arg)
{
    orders_conf *c = orders_sconf(cmd->server);
    cs_hours_t *h = NULL;
    const char *err = NULL;
    if (cs_hours_parse(&h, cmd->temp_pool, NULL, &err) != APR_SUCCESS
        || cs_hours_add_holiday(h, arg, &err) != APR_SUCCESS) {
        return apr_pstrcat(cmd->pool, "ConsultOrderHoliday: ", err ? err : "bad date", NULL);
    }
    if (!c->holidays) c->holidays = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c->holidays, const char *) = arg;
    return NULL;
}

enum { N_SLOT, N_CAPACITY, N_LEAD, N_LAST, N_DAYS, N_SLOTS };

static const char *set_num(cmd_parms *cmd, void *dc, const char *arg)
{
    orders_conf *c = orders_sconf(cmd->server);
    long v = 0;
    const char *err;
    switch ((int)(intptr_t)cmd->info) {
    case N_SLOT:
        if ((err = cs_conf_parse_int(cmd->pool, arg, 5, 60, &v))) return cs_directive_error(cmd, err);
        if (60 % v) {
            return apr_psprintf(cmd->pool, "ConsultOrderSlotMinutes: expected a divisor of 60 "
                                "(5, 10, 12, 15, 20, 30, 60), got '%s'", arg);
        }
        c->slot_min = (int)v;
        return NULL;
    case N_CAPACITY:
        if ((err = cs_conf_parse_int(cmd->pool, arg, 1, 100000, &v))) return cs_directive_error(cmd, err);
        c->capacity = (int)v;
        return NULL;
    case N_LEAD:
        if ((err = cs_conf_parse_int(cmd->pool, arg, 0, 1440, &v))) return cs_directive_error(cmd, err);
        c->lead_min = (int)v;
        return NULL;
    case N_LAST:
        if ((err = cs_conf_parse_int(cmd->pool, arg, 0, 720, &v))) return cs_directive_error(cmd, err);
        c->last_order_min = (int)v;
        return NULL;
    case N_DAYS:
        if ((err = cs_conf_parse_int(cmd->pool, arg, 1, CS_SLOTS_MAX_DAYS, &v))) {
            return cs_directive_error(cmd, err);
        }
        c->days = (int)v;
        return NULL;
    default:
        if ((err = cs_conf_parse_int(cmd->pool, arg, 1, CS_SLOTS_MAX_COUNT, &v))) {
            return cs_directive_error(cmd, err);
        }
        c->max_slots = (int)v;
        return NULL;
    }
}

/* "15 18 20" (percent; "18.5" too): the tip buttons, besides none and custom. */
static const char *set_tips(cmd_parms *cmd, void *dc, const char *arg)
{
    orders_conf *c = orders_sconf(cmd->server);
    apr_int64_t ppm = 0;
    if (c->ntips == UNSET) c->ntips = 0;
    if (c->ntips >= ORDERS_MAX_TIPS) {
        return apr_psprintf(cmd->pool, "ConsultOrderTips: at most %d presets", ORDERS_MAX_TIPS);
    }
    if (cs_cart_parse_percent(arg, &ppm) != APR_SUCCESS || ppm % 100 || ppm > 500000) {
        return apr_psprintf(cmd->pool, "ConsultOrderTips: expected percentages from 0 to 50 "
                            "with at most two decimals, like 15 18 20, got '%s'", arg);
    }
    c->tips[c->ntips++] = (int)(ppm / 100);
    return NULL;
}

/* ConsultOrderFee AMOUNT [PERCENT%] [taxable]: "0.50", "0 3%", "1.00 2.5% taxable". */
static const char *set_fee(cmd_parms *cmd, void *dc, const char *args)
{
    orders_conf *c = orders_sconf(cmd->server);
    const char *w, *bad = NULL;
    int n = 0;
    memset(&c->fees, 0, sizeof(c->fees));
    while (*(w = ap_getword_conf(cmd->temp_pool, &args))) {
        apr_size_t len = strlen(w);
        apr_int64_t v = 0;
        if (!strcasecmp(w, "taxable")) c->fees.taxable = 1;
        else if (n == 0 && cs_menu_decimal_to_cents(&v, w, 0) == APR_SUCCESS && v <= 10000) {
            c->fees.fixed_cents = v;
        }
        else if (len > 1 && w[len - 1] == '%'
                 && cs_cart_parse_percent(apr_pstrmemdup(cmd->temp_pool, w, len - 1), &v)
                    == APR_SUCCESS && v % 100 == 0 && v <= 200000) {
            c->fees.percent_bp = (int)(v / 100);
        }
        else bad = w;
        if (bad) {
            return apr_psprintf(cmd->pool, "ConsultOrderFee: expected AMOUNT [PERCENT%%] "
                                "[taxable], like 0.50 3%% taxable, got '%s'", bad);
        }
        n++;
    }
    c->fees_set = 1;
    return NULL;
}

static const char *set_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    orders_conf *c = orders_sconf(cmd->server);
    switch ((int)(intptr_t)cmd->info) {
    case 0:
        return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
            apr_time_from_sec(1), apr_time_from_sec(86400), &c->pos_give_up));
    case 1:
        return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
            apr_time_from_sec(5), apr_time_from_sec(86400), &c->unpaid_expiry));
    default:
        return cs_directive_error(cmd, cs_conf_parse_duration(cmd->pool, arg,
            apr_time_from_msec(100), apr_time_from_sec(120), &c->stripe.timeout));
    }
}

enum { S_SECRET, S_WEBHOOK, S_PUBLISHABLE, S_BASE };

static const char *set_stripe(cmd_parms *cmd, void *dc, const char *arg)
{
    orders_conf *c = orders_sconf(cmd->server);
    const char *val = NULL, *err;
    apr_size_t len = 0;
    int which = (int)(intptr_t)cmd->info;

    if (which == S_BASE) {
        apr_size_t n = strlen(arg);
        if ((strncmp(arg, "https://", 8) && strncmp(arg, "http://", 7)) || n < 9
            || arg[n - 1] == '/' || strpbrk(arg, " \t\r\n")) {
            return apr_psprintf(cmd->pool, "ConsultStripeAPIBase: expected a URL like "
                                "https://api.stripe.com (no trailing slash), got '%s'", arg);
        }
        c->stripe.api_base = arg;
        return NULL;
    }
    if (which == S_PUBLISHABLE) {
        if (strncmp(arg, "pk_", 3) || strlen(arg) > 255 || strpbrk(arg, " \t\"'<>&")) {
            return apr_psprintf(cmd->pool, "ConsultStripePublishableKey: expected pk_live_... "
                                "or pk_test_..., got '%s'", arg);
        }
        c->publishable_key = arg;
        return NULL;
    }
    if ((err = cs_conf_secret(cmd->pool, arg, &val, &len))) {
        return cs_directive_error(cmd, err);
    }
    if (!len) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": the secret is empty", NULL);
    }
    if (which == S_SECRET) {
        if (strncmp(val, "sk_", 3) && strncmp(val, "rk_", 3)) {
            /* Never echo the value: it may be a live key pasted in the wrong place. */
            return "ConsultStripeSecretKey: expected a secret key (sk_... or rk_...)";
        }
        c->stripe.secret_key = val;
        return NULL;
    }
    if (!c->webhook_secrets) c->webhook_secrets = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(c->webhook_secrets, const char *) = val;
    return NULL;
}

#define NUM(name, which, help) \
    AP_INIT_TAKE1(name, set_num, (void *)(intptr_t)(which), RSRC_CONF, help)
#define STRIPE(name, which, help) \
    AP_INIT_TAKE1(name, set_stripe, (void *)(intptr_t)(which), RSRC_CONF, help)
static const command_rec cmds[] = {
    AP_INIT_FLAG("ConsultOrders", set_on, NULL, RSRC_CONF,
                 "On: online ordering on this restaurant's vhost (needs ConsultPOS)"),
    AP_INIT_TAKE1("ConsultOrderTemplates", set_templates, NULL, RSRC_CONF,
                  "folder of the ordering pages' templates"),
    AP_INIT_ITERATE("ConsultOrderHours", add_hours, NULL, RSRC_CONF,
                    "when orders are taken: \"Mon-Fri 11:00-22:00\" \"Sun closed\" ... (default: always)"),
    AP_INIT_ITERATE("ConsultOrderHoliday", add_holiday, NULL, RSRC_CONF,
                    "dates (YYYY-MM-DD) without online ordering"),
    NUM("ConsultOrderSlotMinutes", N_SLOT, "length of a pickup slot (default 15)"),
    NUM("ConsultKitchenCapacity", N_CAPACITY, "prep points the kitchen makes per slot (default 20)"),
    NUM("ConsultOrderLeadMinutes", N_LEAD, "kitchen time for an order, in minutes (default 20)"),
    NUM("ConsultOrderLastOrderMinutes", N_LAST, "last order this many minutes before closing (default 15)"),
    NUM("ConsultOrderDays", N_DAYS, "days of pickup times offered ahead (default 1: today)"),
    NUM("ConsultOrderSlotCount", N_SLOTS, "pickup times listed at most (default 12)"),
    AP_INIT_ITERATE("ConsultOrderTips", set_tips, NULL, RSRC_CONF,
                    "tip presets in percent (default 15 18 20)"),
    AP_INIT_RAW_ARGS("ConsultOrderFee", set_fee, NULL, RSRC_CONF,
                     "a fee on every order: AMOUNT [PERCENT%] [taxable] (default none)"),
    AP_INIT_TAKE1("ConsultOrderPOSGiveUp", set_duration, (void *)0, RSRC_CONF,
                  "how long a paid order may wait for a POS that is down before it is refunded (default 15m)"),
    AP_INIT_TAKE1("ConsultOrderUnpaidExpiry", set_duration, (void *)1, RSRC_CONF,
                  "how long an unpaid order holds its pickup time (default 30m)"),
    AP_INIT_TAKE1("ConsultStripeTimeout", set_duration, (void *)2, RSRC_CONF,
                  "deadline of a Stripe API call (default 10s)"),
    STRIPE("ConsultStripeSecretKey", S_SECRET, "Stripe secret key: env:NAME, file:PATH or the value"),
    AP_INIT_TAKE1("ConsultStripeWebhookSecret", set_stripe, (void *)(intptr_t)S_WEBHOOK, RSRC_CONF,
                  "a webhook signing secret (whsec_...); give it twice while rolling secrets"),
    STRIPE("ConsultStripePublishableKey", S_PUBLISHABLE, "Stripe publishable key (pk_...)"),
    STRIPE("ConsultStripeAPIBase", S_BASE, "Stripe's API base URL (tests and the demo point it at a stand-in)"),
    { NULL }
};

/* Stripe.js from Stripe's own origin, or the stand-in's small script when
 * the API base is a stand-in (offline demo and tests): never a copy. */
static void resolve_stripe(orders_conf *c, apr_pool_t *p)
{
    const char *base = c->stripe.api_base;
    if (!base || !strcmp(base, CS_STRIPE_API_BASE)) {
        c->stripe.api_base = CS_STRIPE_API_BASE;
        c->stripe_js = "https://js.stripe.com/v3/";
        c->csp = "default-src 'self'; script-src 'self' https://js.stripe.com; "
                 "frame-src https://js.stripe.com https://hooks.stripe.com; "
                 "connect-src 'self' https://api.stripe.com; img-src 'self' data: https:; "
                 "style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'";
        return;
    }
    c->stripe_js = apr_pstrcat(p, base, "/v3/", NULL);
    c->csp = apr_psprintf(p, "default-src 'self'; script-src 'self' %s; frame-src %s; "
                          "connect-src 'self' %s; img-src 'self' data:; "
                          "style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'",
                          base, base, base);
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int have_core = cs_core_retrieve(&orders_core);

    by_slug = apr_hash_make(pconf);
    for (v = s; v; v = v->next) {
        orders_conf *c = orders_sconf(v);
        const char *err = NULL, *need = NULL;
        int i;
        if (c->enabled != 1) continue;
        c->defn = apr_psprintf(pconf, "%s:%d", v->defn_name ? v->defn_name : "?",
                               v->defn_line_number);
        if (!have_core) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, CSLOGNO(08001)
                         "mod_consult_orders needs mod_consult_core loaded first");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!(c->slug = orders_core.client_slug(v))) need = "ConsultClient";
        else if (!c->templates) need = "ConsultOrderTemplates";
        else if (!c->stripe.secret_key) need = "ConsultStripeSecretKey";
        else if (!c->publishable_key) need = "ConsultStripePublishableKey";
        else if (!c->webhook_secrets) need = "ConsultStripeWebhookSecret";
        if (need) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(08002)
                         "ConsultOrders On (%s) needs %s", c->defn, need);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!strncmp(c->stripe.secret_key, "sk_live_", 8) != !strncmp(c->publishable_key, "pk_live_", 8)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(08003)
                         "ConsultOrders (%s): the Stripe secret and publishable keys are not "
                         "both live or both test keys", c->defn);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (cs_hours_parse(&c->h, pconf, c->hours, &err) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(08004)
                         "ConsultOrderHours (%s): %s", c->defn, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        for (i = 0; c->holidays && i < c->holidays->nelts; i++) {
            cs_hours_add_holiday(c->h, APR_ARRAY_IDX(c->holidays, i, const char *), NULL);
        }
        if (c->slot_min == UNSET) c->slot_min = CS_SLOTS_DEFAULT_MIN;
        if (c->capacity == UNSET) c->capacity = 20;
        if (c->lead_min == UNSET) c->lead_min = 20;
        if (c->last_order_min == UNSET) c->last_order_min = 15;
        if (c->days == UNSET) c->days = 1;
        if (c->max_slots == UNSET) c->max_slots = 12;
        if (c->ntips == UNSET) {
            c->tips[0] = 1500; c->tips[1] = 1800; c->tips[2] = 2000;
            c->ntips = 3;
        }
        if (c->pos_give_up == UNSET) c->pos_give_up = apr_time_from_sec(15 * 60);
        if (c->unpaid_expiry == UNSET) c->unpaid_expiry = apr_time_from_sec(30 * 60);
        if (c->stripe.timeout == UNSET) c->stripe.timeout = apr_time_from_sec(10);
        resolve_stripe(c, pconf);
        if (cs_tmpl_set_create(&c->tmpl, pconf) != APR_SUCCESS
            || cs_tmpl_load_dir(c->tmpl, c->templates, &err) != APR_SUCCESS
            || cs_tmpl_finalize(c->tmpl, &err) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(08005)
                         "ConsultOrderTemplates %s: %s", c->templates, err ? err : "cannot load");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (orders_conf_for_slug(c->slug)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(08006)
                         "ConsultOrders (%s): client '%s' takes orders on another vhost already",
                         c->defn, c->slug);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_hash_set(by_slug, c->slug, APR_HASH_KEY_STRING, c);
    }
    return OK;
}

/* After every module's check_config: the POS's functions and the
 * client's time zone (ConsultTimeZone) are known by then. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    cs_core_retrieve(&orders_core);
    orders_pos_menu = APR_RETRIEVE_OPTIONAL_FN(cs_pos_menu);
    orders_pos_submit = APR_RETRIEVE_OPTIONAL_FN(cs_pos_submit);
    for (v = s; v; v = v->next) {
        orders_conf *c = orders_sconf(v);
        const char *err = NULL;
        apr_status_t rv;
        if (c->enabled != 1 || !c->slug || c->zone) continue;
        if (!orders_pos_menu || !orders_pos_submit) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, v, CSLOGNO(08007)
                         "ConsultOrders (%s) needs mod_consult_pos loaded", c->defn);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        c->zone_name = orders_core.client_time_zone ? orders_core.client_time_zone(c->slug) : "UTC";
        if ((rv = cs_slots_zone_load(&c->zone, pconf, NULL, c->zone_name, &err)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, rv, v, CSLOGNO(08008)
                         "ConsultOrders (%s): time zone %s: %s", c->defn, c->zone_name,
                         err ? err : "cannot be read");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    cs_http_global_init();
}

static int is_orders_uri(const char *uri)
{
    return !strcmp(uri, "/order") || !strncmp(uri, "/order/", 7)
        || !strncmp(uri, "/api/order/", 11) || !strcmp(uri, "/webhooks/stripe");
}

static int map_to_storage(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    return c->enabled == 1 && c->slug && is_orders_uri(r->uri) ? OK : DECLINED;
}

static int method_is(request_rec *r, int m)
{
    if (r->method_number == m) return 1;
    apr_table_setn(r->headers_out, "Allow", m == M_POST ? "POST" : "GET");
    return 0;
}

static int handler(request_rec *r)
{
    orders_conf *c = orders_sconf(r->server);
    const char *u = r->uri;

    if (c->enabled != 1 || !c->slug || !is_orders_uri(u)) {
        return DECLINED;
    }
    if (!strcmp(u, "/webhooks/stripe")) {
        return method_is(r, M_POST) ? orders_stripe_webhook(r) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strcmp(u, "/order") || !strcmp(u, "/order/")) {
        return method_is(r, M_GET) ? orders_menu_page(r) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strcmp(u, "/order/cart")) {
        return method_is(r, M_POST) ? orders_cart_post(r) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strcmp(u, "/order/checkout")) {
        if (r->method_number == M_POST) return orders_checkout_post(r);
        return method_is(r, M_GET) ? orders_checkout_page(r) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strncmp(u, "/order/pay/", 11)) {
        return method_is(r, M_GET) ? orders_pay_page(r, u + 11) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strncmp(u, "/order/status/", 14)) {
        return method_is(r, M_GET) ? orders_status_page(r, u + 14, 0) : HTTP_METHOD_NOT_ALLOWED;
    }
    if (!strncmp(u, "/api/order/", 11)) {
        return method_is(r, M_GET) ? orders_status_page(r, u + 11, 1) : HTTP_METHOD_NOT_ALLOWED;
    }
    return HTTP_NOT_FOUND;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_pos[] = { "mod_consult_pos.c", "mod_consult_twilio.c", NULL };
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, after_pos, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
    CS_REGISTER_JOB_HANDLER(orders_run_job);
}

AP_DECLARE_MODULE(consult_orders) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    create_server,
    merge_server,
    cmds,
    register_hooks,
    0
};
