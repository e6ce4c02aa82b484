/* Reading a form or JSON body within ConsultIntakeMaxBody. */
#include "intake_private.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "util_script.h"
#include <apr_strings.h>

#define LIMIT_FILTER "CONSULT_BODY_LIMIT"

static ap_filter_rec_t *limit_filter;

/* Counts body bytes and fails the read once the limit is passed, so a
 * chunked body (no Content-Length) is cut off as early as a declared one,
 * for ap_parse_form_data and our JSON reader alike. */
typedef struct {
    apr_off_t limit;
    apr_off_t seen;
    int exceeded;
} limit_ctx;

static apr_status_t limit_in(ap_filter_t *f, apr_bucket_brigade *bb,
                             ap_input_mode_t mode, apr_read_type_e block,
                             apr_off_t readbytes)
{
    limit_ctx *ctx = f->ctx;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);
    apr_off_t len = 0;

    if (rv != APR_SUCCESS || !ctx) {
        return rv;
    }
    apr_brigade_length(bb, 1, &len);
    ctx->seen += len;
    if (ctx->seen > ctx->limit) {
        ctx->exceeded = 1;
        apr_brigade_cleanup(bb);
        return APR_ENOSPC;
    }
    return APR_SUCCESS;
}

void intake_register_filter(void)
{
    limit_filter = ap_register_input_filter(LIMIT_FILTER, limit_in, NULL,
                                            AP_FTYPE_RESOURCE);
}

/* The whole body in memory (JSON, multipart), within @p limit. */
static int read_all(request_rec *r, apr_off_t limit, char **pbuf,
                     apr_size_t *plen)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    char *buf = apr_palloc(r->pool, (apr_size_t)limit + 1);
    apr_size_t len = 0;
    int seen_eos = 0;

    while (!seen_eos) {
        apr_bucket *b;
        apr_status_t rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                                         APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
                return HTTP_BAD_REQUEST;
            }
            if (len + n > (apr_size_t)limit) {
                return HTTP_REQUEST_ENTITY_TOO_LARGE;  /* filter bypassed */
            }
            memcpy(buf + len, data, n);
            len += n;
        }
        apr_brigade_cleanup(bb);
    }
    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
    return OK;
}

static int read_form(request_rec *r, apr_off_t limit, apr_array_header_t **ppairs)
{
    /* usize above the limit: our filter, not a silent truncation inside
     * ap_parse_form_data, decides when a body is too large. */
    return intake_core.read_form(r, CS_INTAKE_MAX_FIELDS + 1,
                                 (apr_size_t)limit * 2 + 1, ppairs);
}

static int multipart_pairs(request_rec *r, const intake_conf *conf, const char *ct,
                           const char *buf, apr_size_t len,
                           apr_array_header_t **ppairs, apr_array_header_t **pfiles,
                           const char **pwhy)
{
    cs_multipart_limits_t lim;
    apr_array_header_t *parts = NULL, *pairs, *files;
    const char *err = NULL;
    apr_off_t text = 0;
    apr_status_t rv;
    int i;

    lim.max_parts = CS_INTAKE_MAX_FIELDS + 16;
    lim.max_file_size = (apr_size_t)conf->max_file;
    lim.max_files_total = (apr_size_t)conf->max_files_total;
    lim.max_field_size = CS_INTAKE_MAX_VALUE_LEN;
    rv = cs_multipart_parse(&parts, r->pool, ct, buf, len, &lim, &err);
    if (rv == APR_ENOSPC) {
        *pwhy = err;
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (rv != APR_SUCCESS) {
        *pwhy = apr_pstrcat(r->pool, "malformed multipart body: ", err, NULL);
        return HTTP_BAD_REQUEST;
    }
    pairs = cs_pairs_make(r->pool);
    files = apr_array_make(r->pool, 2, sizeof(cs_part_t));
    for (i = 0; i < parts->nelts; i++) {
        cs_part_t *part = &APR_ARRAY_IDX(parts, i, cs_part_t);
        if (part->filename) {
            /* An empty file input sends a part with no name and no bytes. */
            if (part->len > 0) {
                *(cs_part_t *)apr_array_push(files) = *part;
            }
        }
        else {
            /* The fields alone obey ConsultIntakeMaxBody, as in any body. */
            text += part->len;
            if (text > (apr_off_t)conf->max_body) {
                *pwhy = "the form's fields are over the size limit";
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            cs_pairs_add(pairs, part->name,
                         apr_pstrmemdup(r->pool, part->data, part->len), part->len);
        }
    }
    *ppairs = pairs;
    *pfiles = files;
    return OK;
}

int intake_read_pairs(request_rec *r, const intake_conf *conf, int *pkind,
                      apr_array_header_t **ppairs, apr_array_header_t **pfiles,
                      apr_array_header_t *errors, const char **pwhy)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    char *type = ct ? ap_field_noparam(r->pool, ct) : NULL;
    apr_off_t limit = conf->max_body;
    limit_ctx *ctx;
    int st;

    *ppairs = NULL;
    *pfiles = NULL;
    if (type) {
        ap_str_tolower(type);
    }
    if (type && !strcmp(type, "application/x-www-form-urlencoded")) {
        *pkind = BODY_FORM;
    }
    else if (type && !strcmp(type, "application/json")) {
        *pkind = BODY_JSON;
    }
    else if (type && !strcmp(type, "multipart/form-data")) {
        *pkind = BODY_MULTIPART;
        /* Room for the files on top of the fields, and the part headers. */
        limit = conf->max_body + conf->max_files_total + 64 * 1024;
    }
    else {
        *pwhy = "send application/x-www-form-urlencoded, multipart/form-data "
                "or application/json";
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    if (cl && apr_atoi64(cl) > limit) {
        *pwhy = apr_psprintf(r->pool, "the body is larger than %" APR_OFF_T_FMT
                             " bytes", limit);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->limit = limit;
    ap_add_input_filter_handle(limit_filter, ctx, r, r->connection);

    if (*pkind == BODY_FORM) {
        st = read_form(r, limit, ppairs);
    }
    else {
        char *buf = NULL;
        apr_size_t len = 0;
        st = read_all(r, limit, &buf, &len);
        if (st == OK && *pkind == BODY_JSON
            && cs_intake_pairs_from_json(ppairs, r->pool, buf, len,
                                         errors) != APR_SUCCESS) {
            *pwhy = "invalid JSON body";
            return HTTP_BAD_REQUEST;
        }
        if (st == OK && *pkind == BODY_MULTIPART) {
            st = multipart_pairs(r, conf, ct, buf, len, ppairs, pfiles, pwhy);
            if (st != OK) {
                return st;
            }
        }
    }
    if (ctx->exceeded || st == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        *pwhy = apr_psprintf(r->pool, "the body is larger than %" APR_OFF_T_FMT
                             " bytes", limit);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (st != OK) {
        *pwhy = "the request body could not be read";
        return st;
    }
    return OK;
}
