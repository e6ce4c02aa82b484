/* What the POS adapters share (cs_pos_util.h). */
#include "providers/pos/cs_pos_util.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <string.h>

/* ---- strict member access -------------------------------------------------- */

json_object *cs_pos_member(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) {
        return NULL;
    }
    return v;
}

int cs_pos_get(json_object *o, const char *key, json_type t, json_object **pv)
{
    json_object *v = cs_pos_member(o, key);

    *pv = NULL;
    if (!v) {
        return 0;
    }
    if (!json_object_is_type(v, t)) {
        return -1;
    }
    *pv = v;
    return 1;
}

int cs_pos_get_str(json_object *o, const char *key, const char **pout)
{
    json_object *v;
    int rc = cs_pos_get(o, key, json_type_string, &v);

    *pout = rc == 1 ? json_object_get_string(v) : NULL;
    return rc;
}

int cs_pos_get_int(json_object *o, const char *key, apr_int64_t *pout)
{
    json_object *v;
    int rc = cs_pos_get(o, key, json_type_int, &v);

    if (rc == 1) {
        *pout = json_object_get_int64(v);
    }
    return rc;
}

int cs_pos_get_bool(json_object *o, const char *key, int *pout)
{
    json_object *v;
    int rc = cs_pos_get(o, key, json_type_boolean, &v);

    if (rc == 1) {
        *pout = json_object_get_boolean(v);
    }
    return rc;
}

int cs_pos_jarr_has(json_object *arr, const char *s)
{
    apr_size_t i;

    for (i = 0; i < cs_jlen(arr); i++) {
        json_object *v = cs_jat(arr, i);
        if (json_object_is_type(v, json_type_string)
            && !strcmp(json_object_get_string(v), s)) {
            return 1;
        }
    }
    return 0;
}

const char *cs_pos_nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

int cs_pos_streq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

apr_status_t cs_pos_object_id(const char **pid, json_object *o, const char *name,
                              const char *what, apr_pool_t *p, const char **perr)
{
    const char *id;

    if (cs_pos_get_str(o, "id", &id) != 1 || !*id || strlen(id) > CS_POS_MAX_ID) {
        CS_POS_FAIL(APR_EINVAL, "%s sent %s without a usable id", name, what);
    }
    *pid = apr_pstrdup(p, id);
    return APR_SUCCESS;
}

/* ---- answers ------------------------------------------------------------------ */

apr_status_t cs_pos_json_root(json_object **proot, apr_pool_t *p, const char *body,
                              apr_size_t len, json_type want, const char **pwhy)
{
    cs_json_t *doc;
    const char *err = NULL;

    *proot = NULL;
    *pwhy = NULL;
    if (!body || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS) {
        *pwhy = err;
        return APR_EINVAL;
    }
    if (want != CS_POS_JSON_ANY && !json_object_is_type(cs_json_raw(doc), want)) {
        return APR_EINVAL;
    }
    *proot = cs_json_raw(doc);
    return APR_SUCCESS;
}

cs_pos_order_result_t *cs_pos_order_result(apr_pool_t *p, const char *id,
                                           const char *status)
{
    cs_pos_order_result_t *res = apr_pcalloc(p, sizeof(*res));

    res->pos_order_id = apr_pstrdup(p, id);
    res->status = status;
    return res;
}

/* ---- requests ------------------------------------------------------------------ */

const char *cs_pos_urlenc(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            *o++ = (char)ch;
        }
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *cs_pos_api_base(const cs_pos_session_t *s, const char *dflt)
{
    return s->conf->api_base && *s->conf->api_base ? s->conf->api_base : dflt;
}

apr_status_t cs_pos_require_token(const cs_pos_session_t *s, const char *name,
                                  const char *token, const char *location,
                                  apr_pool_t *p, const char **perr)
{
    if (!s || !s->conf) {
        CS_POS_FAIL(APR_EINVAL, "%s is not configured", name);
    }
    if (!s->conf->access_token || !*s->conf->access_token) {
        CS_POS_FAIL(APR_EACCES, "no %s %s is configured", name, token);
    }
    if (!s->conf->location || !*s->conf->location) {
        CS_POS_FAIL(APR_EINVAL, "no %s %s is configured", name, location);
    }
    return APR_SUCCESS;
}

cs_http_req_t cs_pos_json_request(apr_pool_t *p, const char *method, const char *url,
                                  const char *header, const char *body)
{
    cs_http_req_t r;

    memset(&r, 0, sizeof(r));
    r.method = method;
    r.url = url;
    r.headers = apr_array_make(p, 2, sizeof(const char *));
    if (header) {
        APR_ARRAY_PUSH(r.headers, const char *) = header;
    }
    APR_ARRAY_PUSH(r.headers, const char *) = "Accept: application/json";
    r.body = body;
    r.content_type = body ? "application/json" : NULL;
    return r;
}

apr_status_t cs_pos_send_scratch(cs_pos_session_t *s, const cs_http_req_t *req,
                                 cs_pos_call_fn call, cs_pos_read_fn read, void *ctx,
                                 apr_pool_t *p, const char **perr)
{
    apr_pool_t *sp;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    if (apr_pool_create(&sp, p) != APR_SUCCESS) {
        CS_POS_FAIL(APR_ENOMEM, "out of memory");
    }
    rv = (call ? call : cs_pos_send)(&resp, s, req, sp, &err);
    if (rv == APR_SUCCESS) {
        rv = read(ctx, resp->body, resp->len, &err);
    }
    if (rv != APR_SUCCESS) {
        *perr = apr_pstrdup(p, err ? err : "the POS failed");
    }
    apr_pool_destroy(sp);
    return rv;
}

apr_status_t cs_pos_order_call(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                               const cs_http_req_t *req, cs_pos_call_fn call,
                               cs_pos_order_fn parse, apr_pool_t *p, const char **perr)
{
    cs_http_resp_t *resp;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = (call ? call : cs_pos_send)(&resp, s, req, p, perr)) != APR_SUCCESS) {
        return rv;
    }
    return parse(pout, resp->body, resp->len, p, perr);
}

/* ---- building a menu ------------------------------------------------------------ */

void cs_pos_group_bounds(int *pmin, int *pmax, int n)
{
    if (*pmin > n) {
        *pmin = n;
    }
    if (*pmax == 0 && *pmin > 0) {
        *pmax = n;
    }
    if (*pmax > 0 && *pmax < *pmin) {
        *pmax = *pmin;
    }
}

void cs_pos_push_unique(apr_array_header_t *ids, const char *id)
{
    int i;

    for (i = 0; i < ids->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(ids, i, const char *), id)) {
            return;
        }
    }
    APR_ARRAY_PUSH(ids, const char *) = id;
}

void cs_pos_push_stock(apr_array_header_t *stock, const char *id, int sold_out,
                       apr_time_t until)
{
    cs_menu_stock_t *st = apr_array_push(stock);

    st->pos_id = id;
    st->sold_out = sold_out;
    st->until = sold_out ? until : 0;
}

void cs_pos_add_other_category(cs_menu_t *m, int sort)
{
    cs_menu_category_t *cat = apr_array_push(m->categories);

    memset(cat, 0, sizeof(*cat));
    cat->pos_id = CS_POS_NO_CATEGORY;
    cat->name = CS_POS_NO_CATEGORY_NAME;
    cat->sort = sort;
}

apr_status_t cs_pos_menu_done(cs_menu_t **pout, cs_menu_t *m, const char *name,
                              apr_pool_t *p, const char **perr)
{
    *pout = NULL;
    if (cs_menu_validate(m, p, perr) != APR_SUCCESS) {
        CS_POS_FAIL(APR_EINVAL, "the %s menu is not usable: %s", name, *perr);
    }
    *pout = m;
    return APR_SUCCESS;
}

/* ---- order bodies ------------------------------------------------------------------ */

void cs_pos_jput_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

void cs_pos_jput_opt(json_object *o, const char *key, const char *v)
{
    if (v && *v) {
        json_object_object_add(o, key, json_object_new_string(v));
    }
}

json_object *cs_pos_jref(const char *key, const char *id)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, key, json_object_new_string(id));
    return o;
}

/* ---- webhooks, signatures and time ---------------------------------------------- */

const char *cs_pos_webhook_header(const cs_pos_webhook_t *w, const char *name)
{
    return w->headers ? apr_table_get(w->headers, name) : NULL;
}

apr_size_t cs_pos_webhook_len(const cs_pos_webhook_t *w)
{
    return w->body ? w->body_len : 0;
}

const char *cs_pos_hmac_b64(apr_pool_t *p, const char *key, const char *a, apr_size_t alen,
                            const char *b, apr_size_t blen)
{
    unsigned char mac[CS_SHA256_LEN];
    char *msg;

    if (!key) {
        return NULL;
    }
    msg = apr_palloc(p, alen + blen + 1);
    if (alen) {
        memcpy(msg, a, alen);
    }
    if (blen) {
        memcpy(msg + alen, b, blen);
    }
    if (cs_hmac_sha256(mac, key, strlen(key), msg, alen + blen) != APR_SUCCESS) {
        return NULL;
    }
    return cs_base64_encode(p, mac, sizeof(mac));
}

