/*
 * Form tokens stamped into the pages a client vhost serves: every
 * INTAKE_TOKEN_PLACEHOLDER in an HTML response becomes a fresh signed token
 * (see cs_token.h), so the site's plain HTML form carries one with
 * JavaScript off and without server-side templates.
 */
#include "intake_private.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include <apr_strings.h>

#define TOKEN_FILTER "CONSULT_FORM_TOKEN"
/* Pages are small; anything bigger passes through untouched. */
#define MAX_PAGE (1024 * 1024)

static ap_filter_rec_t *token_filter;

typedef struct {
    apr_bucket_brigade *held;
    apr_off_t len;
} token_ctx;

static apr_status_t pass_held(ap_filter_t *f, token_ctx *ctx, apr_bucket_brigade *bb)
{
    APR_BRIGADE_CONCAT(ctx->held, bb);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, ctx->held);
}

static apr_status_t token_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    token_ctx *ctx = f->ctx;
    const char *slug, *token;
    const unsigned char *key;
    apr_size_t keylen, len, plen = strlen(INTAKE_TOKEN_PLACEHOLDER);
    char *page, *hit;
    struct { char *buf; apr_size_t len, cap; } out = { NULL, 0, 0 };
    apr_bucket *b;
    apr_off_t add = 0;
    int eos = 0;

    if (!ctx) {
        if (!r->content_type || strncasecmp(r->content_type, "text/html", 9)
            || r->status != HTTP_OK) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        ctx = f->ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ctx->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = APR_BUCKET_NEXT(b)) {
        if (APR_BUCKET_IS_EOS(b)) {
            eos = 1;
        }
    }
    apr_brigade_length(bb, 1, &add);
    ctx->len += add;
    if (ctx->len > MAX_PAGE) {
        return pass_held(f, ctx, bb);
    }
    if (ap_save_brigade(f, &ctx->held, &bb, r->pool) != APR_SUCCESS) {
        return pass_held(f, ctx, apr_brigade_create(r->pool, f->c->bucket_alloc));
    }
    if (!eos) {
        return APR_SUCCESS;
    }

    len = (apr_size_t)ctx->len;
    page = apr_palloc(r->pool, len + 1);
    apr_brigade_flatten(ctx->held, page, &len);
    page[len] = '\0';
    if (!strstr(page, INTAKE_TOKEN_PLACEHOLDER)) {
        return pass_held(f, ctx, apr_brigade_create(r->pool, f->c->bucket_alloc));
    }

    slug = intake_core.client_slug(r->server);
    intake_core.server_secret(r->server, &key, &keylen);
    token = cs_form_token_issue(r->pool, key, keylen, slug ? slug : "",
                                apr_time_now());
    if (!token) {
        /* No randomness or MAC: stamp nothing rather than a weak token; the
         * post is then judged as one without a token. */
        token = "";
    }
    out.cap = len + 256;
    out.buf = apr_palloc(r->pool, out.cap);
    for (hit = strstr(page, INTAKE_TOKEN_PLACEHOLDER); hit;
         hit = strstr(page, INTAKE_TOKEN_PLACEHOLDER)) {
        apr_size_t pre = (apr_size_t)(hit - page), tl = strlen(token);
        if (out.len + pre + tl + 1 > out.cap) {
            char *nb = apr_palloc(r->pool, out.cap = (out.cap + pre + tl) * 2);
            memcpy(nb, out.buf, out.len);
            out.buf = nb;
        }
        memcpy(out.buf + out.len, page, pre);
        memcpy(out.buf + out.len + pre, token, tl);
        out.len += pre + tl;
        page = hit + plen;
    }
    len = strlen(page);
    if (out.len + len + 1 > out.cap) {
        char *nb = apr_palloc(r->pool, out.cap = out.len + len + 1);
        memcpy(nb, out.buf, out.len);
        out.buf = nb;
    }
    memcpy(out.buf + out.len, page, len);
    out.len += len;

    /* Each page view gets its own token: never cache or revalidate it. */
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "ETag");
    apr_table_unset(r->headers_out, "Last-Modified");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, out.len);

    apr_brigade_cleanup(ctx->held);
    APR_BRIGADE_INSERT_TAIL(ctx->held, apr_bucket_pool_create(out.buf, out.len,
                                                              r->pool, f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(ctx->held, apr_bucket_eos_create(f->c->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, ctx->held);
}

void intake_register_token_filter(void)
{
    token_filter = ap_register_output_filter(TOKEN_FILTER, token_out, NULL,
                                             AP_FTYPE_RESOURCE);
}

void intake_insert_token_filter(request_rec *r)
{
    const intake_conf *conf = intake_sconf(r->server);

    if (conf->enabled == 1 && conf->token_mode != TOKEN_OFF
        && (r->method_number == M_GET) && !r->main) {
        ap_add_output_filter_handle(token_filter, NULL, r, r->connection);
    }
}
