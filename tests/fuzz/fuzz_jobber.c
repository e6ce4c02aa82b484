/* cs_jobber: every answer reader, the webhook check and payload reader, and
 * cs_open over what would be a sealed Jobber token.
 *
 * Input: byte 0 picks the HTTP status (200, 201, 400, 401, 403, 404, 429,
 * 500, 502 or 503), the rest is the body of a token answer and of every
 * GraphQL answer (find, create client, create request, note), with its
 * first line as a Retry-After header. The rest is also a webhook: its first
 * line the presented X-Jobber-Hmac-SHA256 over what follows (which is also
 * verified with its own correct signature, which must pass); both it and
 * the whole rest are parsed as a webhook body. And the rest is a sealed
 * value to open. */
#include "fuzz_common.h"
#include "providers/cs_jobber.h"
#include "base/cs_crypto.h"

FUZZ_APR_INIT

#define SECRET "consult-jobber-secret-0123456789"

/* What every reader promises: a reason unless it succeeded, a wait when
 * it says "again", the status it was given. */
static void check_result(apr_status_t rv, const cs_jobber_result_t *res, long status,
                         int out_set)
{
    if ((rv == APR_SUCCESS) != out_set || (rv == APR_SUCCESS) == (res->why != NULL)
        || res->status != status || (rv == APR_EAGAIN && res->retry_after <= 0)
        || res->retry_after < 0 || res->retry_after > apr_time_from_sec(600)) {
        abort();
    }
    if (rv != APR_SUCCESS && rv != APR_EACCES && rv != APR_EAGAIN && rv != APR_EINVAL
        && rv != APR_ENOENT && rv != APR_EGENERAL) {
        abort();
    }
    fuzz_touch_str(res->why);
    fuzz_touch_str(res->version);
    fuzz_touch_str(res->version_warning);
}

static void answers(apr_pool_t *p, const cs_http_resp_t *r)
{
    cs_jobber_result_t res;
    cs_jobber_tokens_t *t;
    cs_jobber_client_t *c;
    json_object *data;
    const char *id;
    apr_status_t rv;

    rv = cs_jobber_parse_token(&t, p, r, apr_time_from_sec(1714564800), &res);
    check_result(rv, &res, r->status, t != NULL);
    if (t) {
        if (!t->access || !*t->access || (t->refresh && !*t->refresh)) {
            abort();
        }
        fuzz_touch_str(t->access);
        fuzz_touch_str(t->refresh);
    }
    rv = cs_jobber_parse_graphql(&data, p, r, &res);
    check_result(rv, &res, r->status, data != NULL);
    rv = cs_jobber_parse_find_client(&c, p, r, "ana@example.com", "+15035550142", &res);
    check_result(rv, &res, r->status, c != NULL);
    if (c) {
        fuzz_touch_str(c->id);
        fuzz_touch_str(c->name);
    }
    rv = cs_jobber_parse_find_client(&c, p, r, NULL, "(503) 555-0142", &res);
    check_result(rv, &res, r->status, c != NULL);
    rv = cs_jobber_parse_create_client(&c, p, r, &res);
    check_result(rv, &res, r->status, c != NULL);
    if (c && !c->id) {
        abort();
    }
    rv = cs_jobber_parse_create_request(&id, p, r, &res);
    check_result(rv, &res, r->status, id != NULL);
    fuzz_touch_str(id);
    rv = cs_jobber_parse_request_note(&id, p, r, &res);
    check_result(rv, &res, r->status, id != NULL);
    fuzz_touch_str(id);
    {
        cs_jobber_account_t *a = NULL;
        const char *note = NULL;
        rv = cs_jobber_parse_account(&a, p, r, &res);
        check_result(rv, &res, r->status, a != NULL);
        if (a && !a->id) {
            abort();
        }
        rv = cs_jobber_parse_client_requests(&id, &note, p, r, "(Consult ref 7)", &res);
        if (rv != APR_SUCCESS && (id || note)) {
            abort();        /* nothing found on an error */
        }
        if (note && !id) {
            abort();        /* a note only inside a request of ours */
        }
        fuzz_touch_str(id);
        fuzz_touch_str(note);
    }
    {
        static const char *const topics[] = { "CLIENT_UPDATE", "REQUEST_CREATE", "QUOTE_SENT",
                                              "JOB_CLOSED" };
        size_t k;
        for (k = 0; k < sizeof(topics) / sizeof(topics[0]); k++) {
            cs_jobber_item_t *it = NULL;
            memset(&res, 0, sizeof(res));
            rv = cs_jobber_parse_fetch_item(&it, p, r, topics[k], &res);
            check_result(rv, &res, r->status, it != NULL);
            if (it && (!it->id || !it->kind)) {
                abort();
            }
            if (it) {
                fuzz_touch_str(it->client_id);
                fuzz_touch_str(it->status);
                fuzz_touch_str(it->title);
            }
        }
    }
}

static void parse_webhook(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *body = fuzz_exact(data, size);
    cs_jobber_webhook_t *w = NULL;
    const char *why = NULL;
    apr_status_t rv = cs_jobber_parse_webhook(&w, p, body, size, &why);

    if ((rv == APR_SUCCESS) != (w != NULL) || (rv == APR_SUCCESS) == (why != NULL)) {
        abort();
    }
    if (w) {
        if (!w->topic || !w->account_id || !w->event_id) {
            abort();
        }
        fuzz_touch_str(w->topic);
        fuzz_touch_str(w->account_id);
        fuzz_touch_str(w->app_id);
        fuzz_touch_str(w->item_id);
        fuzz_touch_str(w->event_id);
    }
    free(body);
}

static void webhook(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *sig = fuzz_take_line(p, &rest, &rest_len), *why = NULL;
    char *body = fuzz_exact(rest, rest_len);
    unsigned char md[CS_SHA256_LEN];
    apr_status_t rv;

    rv = cs_jobber_verify_webhook(p, sig, body, rest_len, SECRET, &why);
    if ((rv == APR_SUCCESS) == (why != NULL) || (rv != APR_SUCCESS && rv != APR_EACCES)) {
        abort();
    }
    if (cs_hmac_sha256(md, SECRET, sizeof(SECRET) - 1, body, rest_len) != APR_SUCCESS
        || cs_jobber_verify_webhook(p, cs_base64_encode(p, md, sizeof(md)), body, rest_len,
                                    SECRET, NULL) != APR_SUCCESS
        || cs_jobber_verify_webhook(p, cs_base64_encode(p, md, sizeof(md)), body, rest_len,
                                    "", NULL) != APR_EACCES) {
        abort();
    }
    free(body);
    parse_webhook(p, rest, rest_len);
    parse_webhook(p, data, size);
}

static void sealed(apr_pool_t *p, const uint8_t *data, size_t size)
{
    apr_array_header_t *ring = apr_array_make(p, 1, sizeof(cs_seal_key_t));
    cs_seal_key_t *k = &APR_ARRAY_PUSH(ring, cs_seal_key_t);
    const char *s = fuzz_cstr(p, data, size), *err = NULL, *again;
    unsigned char *plain = NULL, *back;
    apr_size_t n = 0, m;
    apr_status_t rv;

    k->key_id = "k1";
    memset(k->key, 0x5a, sizeof(k->key));
    rv = cs_open(p, ring, s, &plain, &n, &err);
    if ((rv == APR_SUCCESS) != (plain != NULL) || (rv == APR_SUCCESS) == (err != NULL)) {
        abort();
    }
    if (plain) {
        fuzz_touch(plain, n + 1);
    }
    /* whatever the input, sealed under the key it opens to itself */
    again = cs_seal(p, k->key, "k1", s, strlen(s));
    if (!again || cs_open(p, ring, again, &back, &m, NULL) != APR_SUCCESS || m != strlen(s)
        || memcmp(back, s, m) || strcmp(cs_sealed_key_id(p, again), "k1")) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 201, 400, 401, 403, 404, 429, 500, 502, 503 };
    apr_pool_t *p = fuzz_pool();
    const uint8_t *rest = size ? data + 1 : data, *line_end = rest;
    size_t rest_len = size ? size - 1 : 0, line_len = rest_len;
    cs_http_resp_t r;
    char *body = fuzz_exact(rest, rest_len);
    const char *ra = fuzz_take_line(p, &line_end, &line_len);

    memset(&r, 0, sizeof(r));
    r.status = size ? statuses[data[0] % 10] : 200;
    r.body = body;
    r.len = rest_len;
    r.headers = apr_table_make(p, 1);
    apr_table_set(r.headers, "Retry-After", apr_pstrndup(p, ra, 16));
    answers(p, &r);
    r.headers = NULL;
    r.status = 200;
    answers(p, &r);
    free(body);
    webhook(p, rest, rest_len);
    sealed(p, rest, rest_len);
    apr_pool_destroy(p);
    return 0;
}
