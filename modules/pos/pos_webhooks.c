/*
 * POST /webhooks/pos on a restaurant's vhost: the POS's signed deliveries.
 * The signature is checked by the adapter (constant time, with its
 * timestamp tolerance) before anything is stored; the event goes into
 * core's journal with its pos.event job in one statement, and the 200
 * goes out only after that committed. A redelivery answers 200 and writes
 * nothing; a forged, unsigned or stale one answers 401 and writes nothing.
 */
#include "pos_private.h"

#include "http_protocol.h"
#include "http_request.h"
#include "http_core.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_pos);

#define MAX_BODY (256 * 1024)
#define VERIFICATIONS_PER_HOUR 10

/* The URL the POS called: ConsultPOSWebhookURL, else this request's. */
static const char *called_url(request_rec *r, const pos_conf *c)
{
    return c->pos.webhook_url ? c->pos.webhook_url
                              : ap_construct_url(r->pool, r->unparsed_uri, r);
}

static int ok(request_rec *r, int duplicate)
{
    return pos_core.send_json(r, HTTP_OK, duplicate ? "{\"ok\":true,\"duplicate\":true}"
                                                    : "{\"ok\":true}");
}

/* Clover's verification POST is unsigned by nature (its code comes before
 * the auth code does), so anyone can send one: a few an hour per
 * restaurant, as many as staff clicking "Send Verification Code" make,
 * and past that a 429, so unsigned posts cannot fill the journal. */
static int verification_allowed(request_rec *r, const pos_conf *c)
{
    int retry = 0;

    if (pos_core.rate_limit(r, apr_pstrcat(r->pool, "pos-verification|", c->slug, NULL),
                            VERIFICATIONS_PER_HOUR, apr_time_from_sec(3600), &retry)) {
        return 1;
    }
    apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, retry));
    pos_core.send_error(r, HTTP_TOO_MANY_REQUESTS, "rate_limited",
                        "Too many verification codes this hour.");
    return 0;
}

int pos_webhook_handler(request_rec *r)
{
    pos_conf *c = pos_sconf(r->server);
    cs_pos_webhook_t w;
    cs_pos_event_t *ev = NULL;
    const char *err = NULL;
    char *body = NULL;
    apr_size_t len = 0;
    int st, dup = 0;
    apr_status_t rv;

    if (r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "POST");
        return pos_core.send_error(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "use POST");
    }
    if ((st = pos_core.read_body(r, MAX_BODY, &body, &len)) != OK) {
        return pos_core.send_error(r, st, st == HTTP_REQUEST_ENTITY_TOO_LARGE ? "too_large"
                                   : "bad_request", "The body could not be read.");
    }
    memset(&w, 0, sizeof(w));
    w.url = called_url(r, c);
    w.body = body;
    w.body_len = len;
    w.headers = r->headers_in;
    w.now = apr_time_now();
    if (c->adapter->verify_webhook(&c->pos, &w, r->pool, &err) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(06010)
                      "POS webhook for %s refused: %s", c->slug, err ? err : "bad signature");
        return pos_core.send_error(r, HTTP_UNAUTHORIZED, "bad_signature",
                                   "The signature is missing, wrong or stale.");
    }
    if (c->adapter->parse_webhook(&ev, &w, r->pool, &err) != APR_SUCCESS || !ev->event_id) {
        /* Signed but unreadable: nothing to journal it under. 400 tells
         * the POS (and its logs) that retrying will not help. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, CSLOGNO(06011)
                      "POS webhook for %s unreadable: %s", c->slug, err ? err : "no event id");
        return pos_core.send_error(r, HTTP_BAD_REQUEST, "bad_event", "The event cannot be read.");
    }
    if (ev->kind == CS_POS_EVENT_VERIFICATION && !verification_allowed(r, c)) {
        return OK;
    }
    rv = pos_core.journal_record(r, apr_pstrcat(r->pool, POS_PROVIDER_PREFIX, c->kind, NULL),
                                 ev->event_id, body, len, POS_JOB_EVENT, &dup);
    if (APR_STATUS_IS_NOTFOUND(rv)) {
        return pos_core.send_error(r, HTTP_NOT_FOUND, "not_found", "No such client.");
    }
    if (APR_STATUS_IS_EINVAL(rv)) {
        return pos_core.send_error(r, HTTP_BAD_REQUEST, "bad_event", "The event cannot be stored.");
    }
    if (rv != APR_SUCCESS) {
        /* No 2xx: the POS delivers again, and that is idempotent. */
        return pos_core.send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                                   "Try again shortly.");
    }
    return ok(r, dup);
}
