#include "providers/cs_stripe.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

/* ---- form bodies -------------------------------------------------------- */

/* Append one form-encoded byte string: unreserved bytes as they are, every
 * other byte %XX (space too: %20, as the SDK's encoder does). Brackets in a
 * name are written by the callers, never through this. */
static char *enc(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    return o;
}

/* A form body being built: name=value pairs joined by '&'. */
typedef struct {
    apr_pool_t *p;
    const char *body;
} form_t;

/* Add @p name (already in wire form: "amount", "metadata[order_id]") with
 * @p value encoded; a NULL value adds nothing. */
static void form_add(form_t *f, const char *name, const char *value)
{
    char *v, *end;

    if (!value) {
        return;
    }
    v = apr_palloc(f->p, strlen(value) * 3 + 1);
    end = enc(v, value);
    *end = '\0';
    f->body = apr_pstrcat(f->p, f->body, *f->body ? "&" : "", name, "=", v, NULL);
}

/* metadata[<key>]=<value>, the key encoded between the brackets. */
static void form_add_meta(form_t *f, const char *key, const char *value)
{
    char *k = apr_palloc(f->p, strlen(key) * 3 + 1), *end;

    end = enc(k, key);
    *end = '\0';
    form_add(f, apr_pstrcat(f->p, "metadata[", k, "]", NULL), value);
}

/* Characters (UTF-8 code points) of @p s: Stripe's limits count those. */
static apr_size_t chars(const char *s)
{
    apr_size_t n = 0;

    for (; *s; s++) {
        n += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return n;
}

/* Stripe's metadata limits, for order_id (when set) and the extra pairs. */
static const char *check_metadata(apr_pool_t *p, const char *order_id,
                                  const apr_array_header_t *extra)
{
    int i, n = extra ? extra->nelts : 0;

    if (order_id && chars(order_id) > 500) {
        return "order_id is longer than Stripe's 500 characters";
    }
    if (n + (order_id ? 1 : 0) > CS_STRIPE_MAX_METADATA) {
        return "more than 50 metadata keys";
    }
    for (i = 0; i < n; i++) {
        const cs_pair_t *kv = &APR_ARRAY_IDX(extra, i, cs_pair_t);

        if (!kv->key || !*kv->key || chars(kv->key) > 40 || strpbrk(kv->key, "[]")) {
            return "a metadata key is empty, longer than 40 characters or has '[' or ']'";
        }
        if (!strcmp(kv->key, "order_id")) {
            return "metadata order_id is the order_id field's";
        }
        if (kv->value && chars(kv->value) > 500) {
            return apr_psprintf(p, "metadata %s is longer than 500 characters", kv->key);
        }
    }
    return NULL;
}

static void add_metadata(form_t *f, const char *order_id, const apr_array_header_t *extra)
{
    int i;

    if (order_id) {
        form_add_meta(f, "order_id", order_id);
    }
    for (i = 0; extra && i < extra->nelts; i++) {
        const cs_pair_t *kv = &APR_ARRAY_IDX(extra, i, cs_pair_t);

        form_add_meta(f, kv->key, kv->value ? kv->value : "");
    }
}

/* 1..255 visible ASCII characters: Stripe's limit, and nothing a header
 * line could be split by. */
static int key_ok(const char *k)
{
    apr_size_t n = 0;

    if (!k) {
        return 0;
    }
    for (; k[n]; n++) {
        if ((unsigned char)k[n] < 0x21 || (unsigned char)k[n] > 0x7e) {
            return 0;
        }
    }
    return n >= 1 && n <= CS_STRIPE_MAX_KEY;
}

/* A Stripe object id: pi_..., re_... (letters, digits, '_'), so it can be
 * put in a path as it is. */
static int id_ok(const char *id)
{
    apr_size_t n = 0;

    if (!id) {
        return 0;
    }
    for (; id[n]; n++) {
        if (!apr_isalnum(id[n]) && id[n] != '_') {
            return 0;
        }
    }
    return n >= 1 && n <= 255;
}

static int amount_ok(apr_int64_t v)
{
    return v >= 1 && v <= CS_STRIPE_MAX_AMOUNT;
}

/* The common part of every request: URL, auth, version, timeout. */
static void base_req(cs_http_req_t *req, apr_pool_t *p, const cs_stripe_account_t *a,
                     const char *method, const char *path, const char *idem_key)
{
    apr_array_header_t *hdrs = apr_array_make(p, 2, sizeof(const char *));
    const char *version = a->api_version ? a->api_version : CS_STRIPE_API_VERSION;

    memset(req, 0, sizeof(*req));
    req->method = method;
    req->url = apr_pstrcat(p, a->api_base && *a->api_base ? a->api_base : CS_STRIPE_API_BASE,
                           path, NULL);
    req->bearer = a->secret_key;
    req->timeout = a->timeout;
    if (*version) {
        APR_ARRAY_PUSH(hdrs, const char *) = apr_pstrcat(p, "Stripe-Version: ", version, NULL);
    }
    if (idem_key) {
        APR_ARRAY_PUSH(hdrs, const char *) = apr_pstrcat(p, "Idempotency-Key: ", idem_key,
                                                         NULL);
    }
    req->headers = hdrs;
}

static apr_status_t refuse(const char **pwhy, const char *why)
{
    if (pwhy) {
        *pwhy = why;
    }
    return APR_EINVAL;
}

apr_status_t cs_stripe_build_create_intent(cs_http_req_t *req, apr_pool_t *p,
                                           const cs_stripe_account_t *a,
                                           const cs_stripe_intent_req_t *in,
                                           const char **pwhy)
{
    form_t f = { p, "" };
    const char *why;
    char cur[4];
    int i;

    memset(req, 0, sizeof(*req));
    if (pwhy) {
        *pwhy = NULL;
    }
    if (!amount_ok(in->amount)) {
        return refuse(pwhy, "amount is not 1 to 99999999 (integer, smallest unit)");
    }
    if (!in->currency || strlen(in->currency) != 3) {
        return refuse(pwhy, "currency is not a three-letter ISO code");
    }
    for (i = 0; i < 3; i++) {
        if (!apr_isalpha(in->currency[i])) {
            return refuse(pwhy, "currency is not a three-letter ISO code");
        }
        cur[i] = (char)apr_tolower(in->currency[i]);
    }
    cur[3] = '\0';
    if (!in->order_id || !*in->order_id) {
        return refuse(pwhy, "no order_id");
    }
    if ((why = check_metadata(p, in->order_id, in->metadata))) {
        return refuse(pwhy, why);
    }
    if (!key_ok(in->idempotency_key)) {
        return refuse(pwhy, "the Idempotency-Key is not 1 to 255 visible ASCII characters");
    }
    form_add(&f, "amount", apr_psprintf(p, "%" APR_INT64_T_FMT, in->amount));
    form_add(&f, "currency", cur);
    form_add(&f, "automatic_payment_methods[enabled]", "true");
    /* "" is left out: to Stripe an empty value means "unset". */
    form_add(&f, "description", in->description && *in->description ? in->description : NULL);
    form_add(&f, "receipt_email", in->receipt_email && *in->receipt_email ? in->receipt_email
                                                                         : NULL);
    add_metadata(&f, in->order_id, in->metadata);

    base_req(req, p, a, "POST", "/v1/payment_intents", in->idempotency_key);
    req->body = f.body;
    req->content_type = "application/x-www-form-urlencoded";
    return APR_SUCCESS;
}

apr_status_t cs_stripe_build_retrieve_intent(cs_http_req_t *req, apr_pool_t *p,
                                             const cs_stripe_account_t *a,
                                             const char *intent_id)
{
    memset(req, 0, sizeof(*req));
    if (!id_ok(intent_id)) {
        return APR_EINVAL;
    }
    base_req(req, p, a, "GET", apr_pstrcat(p, "/v1/payment_intents/", intent_id, NULL), NULL);
    return APR_SUCCESS;
}

apr_status_t cs_stripe_build_cancel_intent(cs_http_req_t *req, apr_pool_t *p,
                                           const cs_stripe_account_t *a,
                                           const char *intent_id)
{
    memset(req, 0, sizeof(*req));
    if (!id_ok(intent_id)) {
        return APR_EINVAL;
    }
    /* Cancelling twice is harmless at Stripe; the key makes a retry a replay. */
    base_req(req, p, a, "POST", apr_pstrcat(p, "/v1/payment_intents/", intent_id, "/cancel", NULL),
             apr_pstrcat(p, "consult-cancel-", intent_id, NULL));
    req->body = "cancellation_reason=abandoned";
    req->content_type = "application/x-www-form-urlencoded";
    return APR_SUCCESS;
}

apr_status_t cs_stripe_build_refund(cs_http_req_t *req, apr_pool_t *p,
                                    const cs_stripe_account_t *a,
                                    const cs_stripe_refund_req_t *in, const char **pwhy)
{
    form_t f = { p, "" };
    const char *why;

    memset(req, 0, sizeof(*req));
    if (pwhy) {
        *pwhy = NULL;
    }
    if (!id_ok(in->payment_intent)) {
        return refuse(pwhy, "payment_intent is not a Stripe id");
    }
    if (in->amount != 0 && !amount_ok(in->amount)) {
        return refuse(pwhy, "amount is not 0 (all) or 1 to 99999999");
    }
    if (in->reason && strcmp(in->reason, "duplicate") && strcmp(in->reason, "fraudulent")
        && strcmp(in->reason, "requested_by_customer")) {
        return refuse(pwhy, "reason is not duplicate, fraudulent or requested_by_customer");
    }
    if (in->order_id && !*in->order_id) {
        return refuse(pwhy, "order_id is empty");
    }
    if ((why = check_metadata(p, in->order_id, in->metadata))) {
        return refuse(pwhy, why);
    }
    if (!key_ok(in->idempotency_key)) {
        return refuse(pwhy, "the Idempotency-Key is not 1 to 255 visible ASCII characters");
    }
    form_add(&f, "payment_intent", in->payment_intent);
    if (in->amount) {
        form_add(&f, "amount", apr_psprintf(p, "%" APR_INT64_T_FMT, in->amount));
    }
    form_add(&f, "reason", in->reason);
    add_metadata(&f, in->order_id, in->metadata);

    base_req(req, p, a, "POST", "/v1/refunds", in->idempotency_key);
    req->body = f.body;
    req->content_type = "application/x-www-form-urlencoded";
    return APR_SUCCESS;
}

/* ---- answers ------------------------------------------------------------ */

/* A copy of @p s fit for one log line: control bytes become spaces, and at
 * most 300 bytes are kept. */
static const char *one_line(apr_pool_t *p, const char *s)
{
    apr_size_t n = strlen(s), i;
    char *o;

    if (n > 300) {
        n = 300;
    }
    o = apr_pstrmemdup(p, s, n);
    for (i = 0; i < n; i++) {
        if ((unsigned char)o[i] < 0x20 || o[i] == 0x7f) {
            o[i] = ' ';
        }
    }
    return o;
}

/* A member that holds either an id or the expanded object: its id. */
static const char *id_of(json_object *o, const char *key)
{
    const char *s = cs_jstr(o, key);

    return s ? s : cs_jstr(cs_jobj(o, key), "id");
}

/* The parsed body when it is a JSON object, else NULL. */
static json_object *parse_object(apr_pool_t *p, const char *body, apr_size_t len)
{
    cs_json_t *doc = NULL;
    const char *err = NULL;

    if (!body || !len || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        return NULL;
    }
    return cs_json_raw(doc);
}

/* An empty string says no more than an absent one. */
static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

static void clear_error(cs_stripe_error_t *e)
{
    memset(e, 0, sizeof(*e));
}

void cs_stripe_parse_error(apr_pool_t *p, long status, apr_table_t *headers,
                           const char *body, apr_size_t len, cs_stripe_error_t *e)
{
    json_object *root = parse_object(p, body, len), *err = cs_jobj(root, "error");
    const char *should = headers ? apr_table_get(headers, "Stripe-Should-Retry") : NULL;
    const char *what;

    clear_error(e);
    e->status = status;
    e->request_id = headers ? apr_table_get(headers, "Request-Id") : NULL;
    if (err) {
        e->type = nz(cs_jstr(err, "type"));
        e->code = nz(cs_jstr(err, "code"));
        e->decline_code = nz(cs_jstr(err, "decline_code"));
        e->message = nz(cs_jstr(err, "message"));
        e->param = nz(cs_jstr(err, "param"));
        e->payment_intent = nz(id_of(err, "payment_intent"));
    }
    else if (cs_jstr(root, "error")) {
        /* The OAuth endpoints' shape: {"error": "...", "error_description"}. */
        e->type = nz(cs_jstr(root, "error"));
        e->message = nz(cs_jstr(root, "error_description"));
    }

    /* The status first where it decides alone: a 409 is our own key still
     * in flight at Stripe (nothing was saved for this request), a 5xx is
     * Stripe's trouble, whatever type the body names. */
    if (status / 100 == 2) {
        e->kind = CS_STRIPE_ERR_UNREADABLE;     /* a 2xx the caller could not read */
    }
    else if (status == 409) {
        e->kind = CS_STRIPE_ERR_CONFLICT;
    }
    else if (status >= 500 || status == 424) {
        e->kind = CS_STRIPE_ERR_UNAVAILABLE;
    }
    else if (status == 429 || (e->code && (!strcmp(e->code, "rate_limit")
                                           || !strcmp(e->code, "lock_timeout")))
             || (e->type && !strcmp(e->type, "rate_limit_error"))) {
        e->kind = CS_STRIPE_ERR_RATE_LIMIT;
    }
    else if (e->type && !strcmp(e->type, "idempotency_error")) {
        e->kind = CS_STRIPE_ERR_IDEMPOTENCY;
    }
    else if (status == 402 || (e->type && !strcmp(e->type, "card_error"))) {
        e->kind = CS_STRIPE_ERR_CARD;
    }
    else if (status == 401 || status == 403
             || (e->type && !strcmp(e->type, "authentication_error"))) {
        e->kind = CS_STRIPE_ERR_AUTH;
    }
    else {
        e->kind = CS_STRIPE_ERR_INVALID;
    }
    e->retry = e->kind == CS_STRIPE_ERR_UNAVAILABLE || e->kind == CS_STRIPE_ERR_RATE_LIMIT
               || e->kind == CS_STRIPE_ERR_CONFLICT;
    /* Stripe knows best whether the same request can still do anything
     * (stripe-node's _shouldRetry defers to this header first). */
    if (should && !strcmp(should, "true")) {
        e->retry = 1;
    }
    else if (should && !strcmp(should, "false")) {
        e->retry = 0;
    }

    what = e->type ? e->type : "error";
    if (e->code && e->decline_code) {
        what = apr_psprintf(p, "%s/%s/%s", what, e->code, e->decline_code);
    }
    else if (e->code) {
        what = apr_psprintf(p, "%s/%s", what, e->code);
    }
    e->why = apr_psprintf(p, "Stripe %ld %s: %s%s%s", status, one_line(p, what),
                          e->message ? one_line(p, e->message) : "no details",
                          e->request_id ? " (request " : "",
                          e->request_id ? apr_pstrcat(p, one_line(p, e->request_id), ")",
                                                      NULL) : "");
}

void cs_stripe_transport_error(apr_pool_t *p, apr_status_t rv, const char *msg,
                               cs_stripe_error_t *e)
{
    clear_error(e);
    if (rv == APR_EINVAL) {
        e->kind = CS_STRIPE_ERR_INVALID;
        e->why = apr_pstrcat(p, "Stripe request refused before sending: ",
                             msg ? one_line(p, msg) : "invalid request", NULL);
        return;
    }
    if (rv == APR_ENOSPC) {
        e->kind = CS_STRIPE_ERR_UNREADABLE;
        e->why = apr_pstrcat(p, "Stripe's answer is over the size limit: ",
                             msg ? one_line(p, msg) : "too large", NULL);
        return;
    }
    e->kind = CS_STRIPE_ERR_TRANSPORT;
    e->retry = 1;
    e->why = apr_pstrcat(p, rv == APR_TIMEUP ? "no answer from Stripe in time: "
                         : rv == APR_ECONNREFUSED ? "Stripe unreachable: "
                         : "no answer from Stripe: ", msg ? one_line(p, msg) : "", NULL);
}

/* For a 2xx that is not the object expected. */
static apr_status_t unreadable(apr_pool_t *p, long status, apr_table_t *headers,
                               const char *what, cs_stripe_error_t *e)
{
    if (e) {
        clear_error(e);
        e->kind = CS_STRIPE_ERR_UNREADABLE;
        e->status = status;
        e->request_id = headers ? apr_table_get(headers, "Request-Id") : NULL;
        e->why = apr_psprintf(p, "Stripe %ld: the answer is not %s", status, what);
    }
    return APR_EGENERAL;
}

/* The object of @p type in @p root (a non-empty id, a status, an integer
 * amount), or NULL. */
static json_object *expect(json_object *root, const char *type, apr_int64_t *pamount)
{
    const char *obj = cs_jstr(root, "object"), *id = cs_jstr(root, "id");
    const char *st = cs_jstr(root, "status");

    if (!obj || strcmp(obj, type) || !id || !*id || !st || !*st
        || !cs_jint(root, "amount", pamount)) {
        return NULL;
    }
    return root;
}

static void read_intent(json_object *o, cs_stripe_intent_t *pi)
{
    json_object *lpe = cs_jobj(o, "last_payment_error");

    pi->id = cs_jstr(o, "id");
    pi->status = cs_jstr(o, "status");
    cs_jint(o, "amount", &pi->amount);
    cs_jint(o, "amount_received", &pi->amount_received);
    pi->currency = cs_jstr(o, "currency");
    pi->client_secret = cs_jstr(o, "client_secret");
    pi->order_id = cs_jstr(cs_jobj(o, "metadata"), "order_id");
    pi->latest_charge = id_of(o, "latest_charge");
    pi->error_code = cs_jstr(lpe, "code");
    pi->error_decline_code = cs_jstr(lpe, "decline_code");
    pi->error_message = cs_jstr(lpe, "message");
    cs_jint(o, "created", &pi->created);
    pi->livemode = cs_jbool(o, "livemode", 0);
}

apr_status_t cs_stripe_parse_intent(apr_pool_t *p, long status, apr_table_t *headers,
                                    const char *body, apr_size_t len,
                                    cs_stripe_intent_t *pi, cs_stripe_error_t *e)
{
    json_object *root;
    apr_int64_t amount;

    memset(pi, 0, sizeof(*pi));
    if (e) {
        clear_error(e);
    }
    if (status / 100 != 2) {
        if (e) {
            cs_stripe_parse_error(p, status, headers, body, len, e);
        }
        return APR_EGENERAL;
    }
    root = parse_object(p, body, len);
    if (!expect(root, "payment_intent", &amount)) {
        return unreadable(p, status, headers, "a PaymentIntent", e);
    }
    read_intent(root, pi);
    return APR_SUCCESS;
}

apr_status_t cs_stripe_parse_refund(apr_pool_t *p, long status, apr_table_t *headers,
                                    const char *body, apr_size_t len,
                                    cs_stripe_refund_t *r, cs_stripe_error_t *e)
{
    json_object *root;

    memset(r, 0, sizeof(*r));
    if (e) {
        clear_error(e);
    }
    if (status / 100 != 2) {
        if (e) {
            cs_stripe_parse_error(p, status, headers, body, len, e);
        }
        return APR_EGENERAL;
    }
    root = parse_object(p, body, len);
    if (!expect(root, "refund", &r->amount)) {
        r->amount = 0;
        return unreadable(p, status, headers, "a Refund", e);
    }
    r->id = cs_jstr(root, "id");
    r->status = cs_jstr(root, "status");
    r->currency = cs_jstr(root, "currency");
    r->payment_intent = id_of(root, "payment_intent");
    r->charge = id_of(root, "charge");
    r->order_id = cs_jstr(cs_jobj(root, "metadata"), "order_id");
    r->reason = cs_jstr(root, "reason");
    r->failure_reason = cs_jstr(root, "failure_reason");
    return APR_SUCCESS;
}

/* ---- Stripe-Signature --------------------------------------------------- */

/* Most v1 entries looked at: Stripe sends one per active secret. Past this
 * the header is not Stripe's, and a bound keeps the work bounded. */
#define MAX_V1 16

const char *cs_stripe_sig_reason(cs_stripe_sig_t v)
{
    switch (v) {
    case CS_STRIPE_SIG_OK:        return "valid signature";
    case CS_STRIPE_SIG_NO_HEADER: return "no Stripe-Signature header";
    case CS_STRIPE_SIG_MALFORMED:
        return "malformed Stripe-Signature header (t= missing, repeated or not a number)";
    case CS_STRIPE_SIG_NO_V1:     return "no v1 signature in the Stripe-Signature header";
    case CS_STRIPE_SIG_NO_MATCH:  return "no v1 signature matches the body under our secrets";
    case CS_STRIPE_SIG_STALE:     return "signature timestamp older than the tolerance";
    case CS_STRIPE_SIG_NO_SECRET: return "no webhook signing secret configured";
    }
    return "unknown verdict";
}

cs_stripe_sig_t cs_stripe_verify_signature(apr_pool_t *p, const char *header,
                                           const char *body, apr_size_t len,
                                           const char *const *secrets, int nsecrets,
                                           apr_int64_t tolerance, apr_time_t now)
{
    const char *v1[MAX_V1], *item, *tstr;
    apr_size_t v1len[MAX_V1], tlen;
    apr_int64_t t = -1;
    int nv1 = 0, usable = 0, found = 0, i, j;
    char *msg;

    for (i = 0; secrets && i < nsecrets; i++) {
        usable += secrets[i] && *secrets[i];
    }
    if (!usable) {
        return CS_STRIPE_SIG_NO_SECRET;
    }
    if (!header || !*header) {
        return CS_STRIPE_SIG_NO_HEADER;
    }
    /* Items split on ',', each on its first '='; no trimming (the SDKs do
     * none, and Stripe sends no spaces). */
    for (item = header; ; item++) {
        apr_size_t n = strcspn(item, ","), klen;
        const char *eq = memchr(item, '=', n);

        klen = eq ? (apr_size_t)(eq - item) : n;
        if (klen == 1 && item[0] == 't') {
            const char *d;
            apr_size_t vlen = eq ? n - klen - 1 : 0;

            if (t >= 0 || !eq || vlen == 0 || vlen > 15) {
                return CS_STRIPE_SIG_MALFORMED;     /* two t=, or t= not a number */
            }
            t = 0;
            for (d = eq + 1; d < item + n; d++) {
                if (!apr_isdigit(*d)) {
                    return CS_STRIPE_SIG_MALFORMED;
                }
                t = t * 10 + (*d - '0');
            }
        }
        else if (klen == 2 && item[0] == 'v' && item[1] == '1' && nv1 < MAX_V1) {
            v1[nv1] = eq ? eq + 1 : item + n;
            v1len[nv1] = eq ? n - klen - 1 : 0;
            nv1++;
        }
        item += n;
        if (!*item) {
            break;
        }
    }
    if (t < 0) {
        return CS_STRIPE_SIG_MALFORMED;
    }
    if (!nv1) {
        return CS_STRIPE_SIG_NO_V1;
    }

    /* The signed payload is the timestamp as a number (as the SDKs print
     * it after parsing), '.', then the raw bytes. */
    tstr = apr_psprintf(p, "%" APR_INT64_T_FMT ".", t);
    tlen = strlen(tstr);
    msg = apr_palloc(p, tlen + len + 1);
    memcpy(msg, tstr, tlen);
    if (len) {
        memcpy(msg + tlen, body, len);
    }
    for (i = 0; i < nsecrets; i++) {
        unsigned char md[CS_SHA256_LEN];
        char want[2 * CS_SHA256_LEN + 1];

        if (!secrets[i] || !*secrets[i]
            || cs_hmac_sha256(md, secrets[i], strlen(secrets[i]), msg, tlen + len)
               != APR_SUCCESS) {
            continue;
        }
        cs_hex_encode(want, md, sizeof(md));
        /* Every candidate is compared, matched or not: the time taken does
         * not say which secret or which entry matched. The length of a
         * valid signature (64) is public. */
        for (j = 0; j < nv1; j++) {
            if (v1len[j] == 2 * CS_SHA256_LEN
                && cs_ct_equal(want, v1[j], 2 * CS_SHA256_LEN)) {
                found = 1;
            }
        }
    }
    if (!found) {
        return CS_STRIPE_SIG_NO_MATCH;
    }
    if (tolerance <= 0) {
        tolerance = CS_STRIPE_TOLERANCE;
    }
    /* One-sided, as in the SDKs: only an old signature is refused. */
    if (apr_time_sec(now) - t > tolerance) {
        return CS_STRIPE_SIG_STALE;
    }
    return CS_STRIPE_SIG_OK;
}

/* ---- events ------------------------------------------------------------- */

static const struct {
    const char *type;
    cs_stripe_event_kind_t kind;
    const char *object;         /* what data.object must be */
} event_types[] = {
    { "payment_intent.succeeded", CS_STRIPE_EV_INTENT_SUCCEEDED, "payment_intent" },
    { "payment_intent.payment_failed", CS_STRIPE_EV_INTENT_FAILED, "payment_intent" },
    { "charge.refunded", CS_STRIPE_EV_CHARGE_REFUNDED, "charge" },
    { "charge.dispute.created", CS_STRIPE_EV_DISPUTE_CREATED, "dispute" },
};

static apr_status_t bad_event(const char **pwhy, const char *why)
{
    if (pwhy) {
        *pwhy = why;
    }
    return APR_EINVAL;
}

apr_status_t cs_stripe_parse_event(apr_pool_t *p, const char *body, apr_size_t len,
                                   cs_stripe_event_t *ev, const char **pwhy)
{
    json_object *root, *obj;
    const char *object, *want = NULL;
    apr_size_t i;

    memset(ev, 0, sizeof(*ev));
    if (pwhy) {
        *pwhy = NULL;
    }
    if (!(root = parse_object(p, body, len))) {
        return bad_event(pwhy, "the event is not a JSON object");
    }
    object = cs_jstr(root, "object");
    ev->id = cs_jstr(root, "id");
    ev->type = cs_jstr(root, "type");
    if ((object && strcmp(object, "event")) || !ev->id || !*ev->id || !ev->type
        || !*ev->type) {
        ev->id = ev->type = NULL;
        return bad_event(pwhy, "not a Stripe event (no id or type, or another object)");
    }
    cs_jint(root, "created", &ev->created);
    ev->livemode = cs_jbool(root, "livemode", 0);
    for (i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++) {
        if (!strcmp(ev->type, event_types[i].type)) {
            ev->kind = event_types[i].kind;
            want = event_types[i].object;
        }
    }
    if (ev->kind == CS_STRIPE_EV_OTHER) {
        return APR_SUCCESS;     /* recorded by type only */
    }

    obj = cs_jobj(cs_jobj(root, "data"), "object");
    ev->object_type = cs_jstr(obj, "object");
    ev->object_id = cs_jstr(obj, "id");
    if (!ev->object_type || strcmp(ev->object_type, want) || !ev->object_id
        || !*ev->object_id) {
        ev->object_type = ev->object_id = NULL;
        return bad_event(pwhy, apr_psprintf(p, "%s without a %s in data.object", ev->type,
                                            want));
    }
    if (!cs_jint(obj, "amount", &ev->amount)) {
        return bad_event(pwhy, apr_psprintf(p, "%s: data.object has no integer amount",
                                            ev->type));
    }
    ev->status = cs_jstr(obj, "status");
    ev->currency = cs_jstr(obj, "currency");
    ev->order_id = cs_jstr(cs_jobj(obj, "metadata"), "order_id");

    switch (ev->kind) {
    case CS_STRIPE_EV_INTENT_SUCCEEDED:
    case CS_STRIPE_EV_INTENT_FAILED: {
        json_object *lpe = cs_jobj(obj, "last_payment_error");

        ev->payment_intent = ev->object_id;
        ev->charge = id_of(obj, "latest_charge");
        cs_jint(obj, "amount_received", &ev->amount_received);
        ev->failure_code = cs_jstr(lpe, "decline_code");
        if (!ev->failure_code) {
            ev->failure_code = cs_jstr(lpe, "code");
        }
        ev->failure_message = cs_jstr(lpe, "message");
        break;
    }
    case CS_STRIPE_EV_CHARGE_REFUNDED:
        ev->charge = ev->object_id;
        cs_jint(obj, "amount_refunded", &ev->amount_refunded);
        break;
    case CS_STRIPE_EV_DISPUTE_CREATED:
        ev->charge = id_of(obj, "charge");
        ev->failure_code = cs_jstr(obj, "reason");
        break;
    case CS_STRIPE_EV_OTHER:
        break;
    }
    if (ev->kind == CS_STRIPE_EV_CHARGE_REFUNDED || ev->kind == CS_STRIPE_EV_DISPUTE_CREATED) {
        ev->payment_intent = id_of(obj, "payment_intent");
        if (!ev->payment_intent || !*ev->payment_intent) {
            ev->payment_intent = NULL;
            return bad_event(pwhy, apr_psprintf(p, "%s: the %s is not linked to a "
                                                "PaymentIntent", ev->type, want));
        }
    }
    return APR_SUCCESS;
}
