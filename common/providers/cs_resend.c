#include "providers/cs_resend.h"
#include "base/cs_json.h"

#include <stdio.h>
#include <apr_strings.h>
#include <string.h>

/* The text, escaped, with its line breaks: never markup from anyone. */
static const char *html_of(apr_pool_t *p, const char *text)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = text; *c; c++) {
        n += *c == '\n' ? 4 : (*c == '&' || *c == '<' || *c == '>' || *c == '"'
                               || *c == '\'') ? 6 : 1;
    }
    out = apr_palloc(p, n + 64);
    o = out + sprintf(out, "<div style=\"white-space:pre-wrap\">");
    for (c = text; *c; c++) {
        const char *rep = *c == '\n' ? "<br>" : *c == '&' ? "&amp;" : *c == '<' ? "&lt;"
                        : *c == '>' ? "&gt;" : *c == '"' ? "&quot;" : *c == '\'' ? "&#39;"
                        : NULL;
        if (rep) {
            o = stpcpy(o, rep);
        }
        else {
            *o++ = *c;
        }
    }
    strcpy(o, "</div>");
    return out;
}

void cs_resend_build_send(cs_http_req_t *req, apr_pool_t *p,
                          const cs_resend_account_t *a, const cs_resend_email_t *e)
{
    cs_json_t *doc = cs_json_object(p), *to = cs_json_array(p);
    apr_array_header_t *hdrs = apr_array_make(p, 1, sizeof(const char *));
    int i;

    for (i = 0; e->to && i < e->to->nelts; i++) {
        json_object_array_add(cs_json_raw(to), json_object_new_string(
                                  APR_ARRAY_IDX(e->to, i, const char *)));
    }
    cs_json_set_obj(doc, "to", to);
    cs_json_set_str(doc, "from", e->from);
    cs_json_set_str(doc, "subject", e->subject);
    cs_json_set_str(doc, "text", e->text);
    cs_json_set_str(doc, "html", html_of(p, e->text));
    if (e->reply_to) {
        cs_json_set_str(doc, "reply_to", e->reply_to);
    }
    APR_ARRAY_PUSH(hdrs, const char *) = apr_pstrcat(p, "Idempotency-Key: ",
                                                     e->idempotency_key, NULL);
    memset(req, 0, sizeof(*req));
    req->method = "POST";
    req->url = apr_pstrcat(p, a->api_base, "/emails", NULL);
    req->body = cs_json_dump(doc, p);
    req->content_type = "application/json";
    req->bearer = a->key;
    req->headers = hdrs;
    req->timeout = a->timeout;
}

apr_status_t cs_resend_parse_answer(apr_pool_t *p, long status, const char *body,
                                    apr_size_t len, const char **pid, const char **pwhy,
                                    int *ppermanent)
{
    cs_json_t *ans = NULL;
    const char *err = NULL, *id, *name = NULL, *msg = NULL;

    *pid = NULL;
    *pwhy = NULL;
    *ppermanent = 0;
    if (body && cs_json_parse(&ans, p, body, len, &err) != APR_SUCCESS) {
        ans = NULL;
    }
    if (status / 100 == 2) {
        if (ans && (id = cs_json_get_str(ans, "id")) && *id) {
            *pid = apr_pstrdup(p, id);
            return APR_SUCCESS;
        }
        *pwhy = "Resend answered without an email id";
        return APR_EGENERAL;
    }
    if (ans) {
        name = cs_json_get_str(ans, "name");
        msg = cs_json_get_str(ans, "message");
    }
    *pwhy = apr_psprintf(p, "Resend %ld %s: %s", status, name ? name : "error",
                         msg ? msg : "no details");
    /* 429 and a concurrent request with our key are worth a retry; other
     * 4xx (a bad address, a bad key) are not. */
    *ppermanent = status / 100 == 4 && status != 429
                  && !(name && !strcmp(name, "concurrent_idempotent_requests"));
    return APR_EGENERAL;
}
